"""Start reading the recordings before the analysis modules are imported.

Importing pandas and the detection code takes about as long as parsing a night's CSV, and
the parse runs in Arrow's threads without holding the GIL: on a thread, the read and the
imports overlap instead of following each other. This module imports only the reader.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from sensor.readers import read_recording
from sensor.recording import Recording


def start_reading(inputs: dict[str, str], units: str) -> dict[str, Future[Recording]]:
    """One future per side; `.result()` returns the recording or raises its InputError."""
    # One file after the other: each parse already uses every core, and two parses at once
    # would hold both files' parse buffers together (a third more peak memory, no faster).
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read")
    futures = {side: pool.submit(read_recording, path, units) for side, path in inputs.items()}
    pool.shutdown(wait=False)
    return futures
