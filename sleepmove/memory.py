"""Keep freed memory in the process for the next array instead of handing it to the kernel.

The analysis allocates and frees whole-night arrays of a few sizes in turn. By default glibc
maps each large one fresh and unmaps it when freed, so every array pays for the kernel
zeroing its pages again. With arrays under 32 MB (one axis of a night) served from the heap,
and the heap never trimmed, grid and detection took 0.23 s instead of 0.28 s on an 8-hour
100 Hz night (2-core VM).

Called once the files are read: set before, it slowed the parse's threads. Two sensors'
grids and legs run on threads, whose malloc arenas map heaps of their own: there it first
measured no gain, but once the second file's parse reused the first's memory
(`parse_memory.hold_parse_memory`) it took 8-h 100 Hz two-sensor nights from 37-40 k page faults
to 28-30 k, at the same peak (about 515 MB). Batch pool workers keep it across nights
(sleepmove.runners.settle_worker), and a batch that analyzes its nights itself keeps it for
the run only (`give_back_freed_memory`). A long-running recorder should give memory back.
"""

from __future__ import annotations

import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGEST_HEAP_ALLOCATION = 32 * 1024 * 1024  # glibc's ceiling for M_MMAP_THRESHOLD (64-bit)
NEVER_TRIM = 2**31 - 1  # mallopt takes an int
GLIBC_DEFAULT_THRESHOLD = 128 * 1024  # both thresholds' default (mallopt(3))


def reuse_freed_memory() -> bool:
    """Tell glibc's malloc to keep and reuse freed memory; False where it cannot (not glibc)."""
    return _set_thresholds(LARGEST_HEAP_ALLOCATION, NEVER_TRIM)


def give_back_freed_memory() -> bool:
    """Undo `reuse_freed_memory`: the default thresholds again, and what the heap kept handed
    back to the kernel now. (Fixed at the defaults: once set, glibc no longer adapts them.)"""
    if not _set_thresholds(GLIBC_DEFAULT_THRESHOLD, GLIBC_DEFAULT_THRESHOLD):
        return False
    import ctypes

    ctypes.CDLL(None).malloc_trim(0)
    return True


def _set_thresholds(mmap_threshold: int, trim_threshold: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return all(
        mallopt(option, value) == 1
        for option, value in (
            (M_MMAP_THRESHOLD, mmap_threshold),
            (M_TRIM_THRESHOLD, trim_threshold),
        )
    )
