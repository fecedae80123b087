"""How a recording's time column relates to the wall clock: the three kinds, named once."""

CLOCK_UNIX = "unix"  # absolute instants (Unix seconds, or ISO with a zone)
CLOCK_NAIVE = "naive"  # wall-clock times without a zone (kept as written)
CLOCK_RELATIVE = "relative"  # seconds from the start; no clock time known
CLOCKS = (CLOCK_UNIX, CLOCK_NAIVE, CLOCK_RELATIVE)
# What a time column of clock times without a date (`23:52:00.000`) gives a reader: seconds
# from the midnight before its first time. A recording holds it as `relative`, with
# `time_of_day` set (sensor.recording.Recording).
CLOCK_TIME_OF_DAY = "time of day"
# Above a parsed stamp's rounding (0.2 us for Unix seconds): two stamps written exactly 1.000 s
# apart may differ by 1.0000000000000018 once parsed, so a bound on a step or a duration
# allows this much.
STAMP_ROUNDING_S = 1e-6
