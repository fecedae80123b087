"""Whether Arrow's parse memory is handed back after a read, or kept for the next parse.

Kept apart from the CSV reader: a device file's read never imports pyarrow, and handing
back memory no parse took needs none."""

from __future__ import annotations

import sys

_keep_parse_memory = False
_held_for_next_read = False


def hold_parse_memory(held: bool) -> None:
    """While held, `release_parse_memory` keeps the parse's memory: when a second file is
    parsed right after the first (two sensors), its parse reuses the first's pages instead of
    having the kernel zero fresh ones (measured: ~90 fewer 2 MB pages, no higher peak). The
    reader that holds it releases it once every file is read (`sleepmove.prefetch`)."""
    global _held_for_next_read
    _held_for_next_read = held


def keep_parse_memory() -> None:
    """From now on, keep the parse's memory in Arrow's pool: for a process that parses file
    after file (a batch worker), where the next night's parse reuses it instead of having
    the kernel zero fresh pages again (see sleepmove.runners.settle_worker)."""
    global _keep_parse_memory
    _keep_parse_memory = True


def release_parse_memory() -> None:
    """Hand the parse's memory back: Arrow's allocator keeps freed blocks for its own reuse,
    and the analysis, which allocates with numpy, would never use them (a third of the peak).

    Called on a reading thread it may hand back nothing (measured: 280 MB kept): a program
    that reads on a thread calls it again from the main thread once the read is done."""
    if _keep_parse_memory or _held_for_next_read or "pyarrow" not in sys.modules:
        return  # no Arrow parse in this process: nothing to hand back
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
