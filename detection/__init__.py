"""Vectorized detection and scoring: arrays in, events out, no I/O."""
