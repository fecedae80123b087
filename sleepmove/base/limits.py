"""Limits shared by the commands that make recordings (simulate, record)."""

from __future__ import annotations

# Sample rates a recording may have: the analysis needs 10 Hz, and no supported sensor
# streams above 1000.
RATES_HZ = (10.0, 1000.0)
