"""`python -m sleepmove`: the same command as `sleepmove`."""

from sleepmove.cli import entry

entry()
