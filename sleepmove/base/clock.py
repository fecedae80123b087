"""How a recording's time column relates to the wall clock: the three kinds, named once."""

CLOCK_UNIX = "unix"  # absolute instants (Unix seconds, or ISO with a zone)
CLOCK_NAIVE = "naive"  # wall-clock times without a zone (kept as written)
CLOCK_RELATIVE = "relative"  # seconds from the start; no clock time known
CLOCKS = (CLOCK_UNIX, CLOCK_NAIVE, CLOCK_RELATIVE)
