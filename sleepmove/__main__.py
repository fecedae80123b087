"""`python -m sleepmove`: the same command as `sleepmove`."""

import sys

from sleepmove.cli import main

sys.exit(main())
