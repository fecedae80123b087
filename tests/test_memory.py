"""The analysis process keeps freed arrays for reuse instead of faulting fresh pages."""

import subprocess
import sys

import pytest

PROBE = """
import sys
import numpy as np
from sleepmove.memory import reuse_freed_memory
applied = reuse_freed_memory() if sys.argv[1] == "reuse" else False

def resident_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20

before = resident_mb()
arrays = [np.ones(2_500_000) for _ in range(3)]  # 20 MB each: under the 32 MB heap ceiling
del arrays
print(applied, resident_mb() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_arrays_stay_in_the_process_for_the_next_one():
    def run(mode: str) -> tuple[bool, float]:
        out = subprocess.run(
            [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
        ).stdout.split()
        return out[0] == "True", float(out[1])

    applied, kept_mb = run("reuse")
    if not applied:
        pytest.skip("not glibc")
    _, kept_by_default_mb = run("default")
    assert kept_mb > 30  # the freed 60 MB of arrays stay mapped for reuse
    assert kept_by_default_mb < 5  # glibc's default hands large blocks straight back


class _CountingPool:
    def __init__(self) -> None:
        self.releases = 0

    def release_unused(self) -> None:
        self.releases += 1


def test_parse_memory_is_held_between_two_files_and_released_after(monkeypatch, tmp_path):
    from sleepmove import prefetch
    from sleepmove.base.errors import InputError
    from sleepmove.sensor import parse_memory

    pool = _CountingPool()
    monkeypatch.setattr("pyarrow.default_memory_pool", lambda: pool)
    parse_memory.hold_parse_memory(True)
    parse_memory.release_parse_memory()  # after the first file: kept for the second's parse
    assert pool.releases == 0
    parse_memory.hold_parse_memory(False)
    parse_memory.release_parse_memory()
    assert pool.releases == 1
    # Two files read by the CLI's prefetch: held while reading, handed back even on a refusal.
    missing = {"left": str(tmp_path / "a.csv"), "right": str(tmp_path / "b.csv")}
    futures = prefetch.start_reading(missing, "auto")
    with pytest.raises(InputError):
        prefetch.finish_reading(futures)
    parse_memory.release_parse_memory()
    assert pool.releases == 2
