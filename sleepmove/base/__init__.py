"""What every layer shares and that belongs to none: the error type, atomic writes, the clock.

The one place `sensor`, `detection` and `reports` may import from the `sleepmove` package;
it imports nothing of the project itself.
"""
