"""Start reading the recordings before the analysis modules are imported.

The parse runs in Arrow's threads without holding the GIL, a device file's decode in
actfast's: on a thread, the read overlaps the import of the detection code instead of
following it. This module imports only the formats' recognizers: a CSV's reader brings
pyarrow (0.1 s) when it is one, so a device file's decode starts without it.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from sleepmove.sensor.formats import read_recording
from sleepmove.sensor.parse_memory import hold_parse_memory, release_parse_memory
from sleepmove.sensor.recording import Recording


def start_reading(
    inputs: dict[str, str], units: str, timezone: str | None = None
) -> dict[str, Future[Recording]]:
    """One future per side; `.result()` returns the recording or raises its InputError."""
    # One file after the other: each parse already uses every core, and two parses at once
    # would hold both files' parse buffers together (a third more peak memory, no faster).
    hold_parse_memory(len(inputs) > 1)  # the second parse reuses the first's memory
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read")
    futures = {
        side: pool.submit(read_recording, path, units, timezone) for side, path in inputs.items()
    }
    pool.shutdown(wait=False)
    return futures


def finish_reading(futures: dict[str, Future[Recording]]) -> dict[str, Recording]:
    """Every side's recording (or its InputError), the parse's memory handed back."""
    try:
        # Popped: a finished future would otherwise keep the samples for the whole analysis.
        recordings = {side: futures.pop(side).result() for side in list(futures)}
    finally:
        hold_parse_memory(False)
    release_parse_memory()  # from this thread: see release_parse_memory
    return recordings
