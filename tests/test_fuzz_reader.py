"""Fuzzed files through `sleepmove analyze FILE --out DIR --no-report` (issue 18, acceptance).

Whatever the file holds, the command exits 0, or exits 2 with exactly one line on stderr and
nothing written; never a traceback, and never more memory than a stated bound. The files are
a clean 11-minute night (10 Hz, 6600 rows) with a few mutations each: cells replaced by junk,
NaN, huge or flipped-digit values, rows deleted, repeated or swapped, the clock shifted for
good or scaled to other units, the header changed, the text cut short or garbled.

The commands run in one worker process (the imports are paid once) whose address space is
capped: a runaway allocation fails there instead of taking the machine's memory, and its
peak resident memory, the high-water mark of every example so far, is held to the bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# The bound: the grid holds at most 4 points per sample plus 4 Mi points (detection.grid),
# about 300 MB of analysis for these files, on top of the interpreter and its libraries.
MAX_RSS_MB = 1024
ADDRESS_SPACE_GB = 6  # threads and allocators reserve more address space than they touch
# A longer, random search: SLEEPMOVE_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_reader.py
EXAMPLES = int(os.environ.get("SLEEPMOVE_FUZZ_EXAMPLES", "0"))

WORKER = textwrap.dedent(
    """
    import contextlib, io, json, os, resource, sys, traceback, warnings
    warnings.simplefilter("always")  # each example shows its warnings, not just the first
    limit = int(sys.argv[1]) << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from sleepmove.cli import main
    answer = sys.stdout
    for line in sys.stdin:
        path, out = json.loads(line)
        err = io.StringIO()
        crash = None
        with contextlib.redirect_stderr(err), open(os.devnull, "w") as quiet:
            with contextlib.redirect_stdout(quiet):
                try:
                    rc = main(["analyze", path, "--out", out, "--no-report"])
                except SystemExit as exit:
                    rc = exit.code
                except BaseException:
                    rc, crash = None, traceback.format_exc()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        answer.write(json.dumps([rc, err.getvalue(), crash, peak]) + "\\n")
        answer.flush()
    """
)

ROWS = 6600


def _base_rows() -> list[list[str]]:
    rng = np.random.default_rng(0)
    t = 1_741_991_400.0 + np.arange(ROWS) / 10.0
    xyz = np.tile([0.1, -0.2, 0.97], (ROWS, 1)) + rng.normal(0, 0.004, (ROWS, 3))
    xyz[1200::300, 1] += 0.25  # brief movements
    return [[f"{a:.3f}", f"{b:.4f}", f"{c:.4f}", f"{d:.4f}"] for a, (b, c, d) in zip(t, xyz)]


BASE = _base_rows()
CELLS = [
    "",
    "nan",
    "inf",
    "-inf",
    "oops",
    "1e308",
    "-1e308",
    "0",
    "-1",
    "99999999999999999999999",
    "2025-03-14T22:30:00Z",
    "1,5",
    '"',
    "\u00e9",
    " ",
]
row_index = st.integers(0, ROWS - 1)
mutation = st.one_of(
    st.tuples(st.just("cell"), row_index, st.integers(0, 3), st.sampled_from(CELLS)),
    st.tuples(
        st.just("digit"), row_index, st.integers(0, 3), st.integers(0, 13), st.integers(0, 9)
    ),
    st.tuples(st.just("delete"), row_index, st.integers(1, 3000)),
    st.tuples(st.just("repeat"), row_index, st.integers(1, 2000)),
    st.tuples(st.just("double_rows"), st.integers(0, 1)),
    st.tuples(st.just("swap"), row_index, row_index),
    st.tuples(
        st.just("shift"), row_index, st.sampled_from([-1e9, -1e7, -3600, -2, 0.5, 5, 1e7, 1e9])
    ),
    st.tuples(st.just("scale"), st.sampled_from([1e-3, 1e3, 1e6, 1e9, 60.0])),
    st.tuples(st.just("relative"), st.sampled_from([1.0, 1e3, 1e6])),
    st.tuples(
        st.just("header"),
        st.sampled_from(
            ["", "time, x, y, z", "\ufefftime,x,y,z", "time,x,y", "t,ax,ay,az", "a,b,c,d"]
        ),
    ),
    st.tuples(st.just("fields"), row_index, st.integers(1, 6)),
    st.tuples(st.just("cut"), st.integers(1, 200_000)),
    st.tuples(st.just("bytes"), st.integers(0, 200_000), st.binary(min_size=1, max_size=40)),
)


def _mutated(mutations: list[tuple]) -> bytes:
    rows = [list(r) for r in BASE]
    header = "time,x,y,z"
    cut = None
    garbage = []
    for kind, *args in mutations:
        n = len(rows)
        if kind == "cell" and n and args[1] < len(rows[args[0] % n]):
            rows[args[0] % n][args[1]] = args[2]
        elif kind == "digit" and n and args[1] < len(rows[args[0] % n]):
            cell = rows[args[0] % n][args[1]]
            at = args[2] % max(len(cell), 1)
            rows[args[0] % n][args[1]] = cell[:at] + str(args[3]) + cell[at + 1 :]
        elif kind == "delete":
            del rows[args[0] : args[0] + args[1]]
        elif kind == "repeat" and n:
            start = args[0] % n
            rows[start:start] = [list(r) for r in rows[start : start + args[1]]]
        elif kind == "double_rows":
            rows = [list(r) for r in rows for _ in (0, 1)] if args[0] else rows + rows
        elif kind == "swap" and n:
            i, j = args[0] % n, args[1] % n
            rows[i], rows[j] = rows[j], rows[i]
        elif kind in ("shift", "scale", "relative"):
            for r in rows[args[0] :] if kind == "shift" else rows:
                try:
                    value = float(r[0])
                except ValueError:
                    continue
                if kind == "shift":
                    value += args[1]
                elif kind == "scale":
                    value *= args[0]
                else:
                    value = (value - 1_741_991_400.0) * args[0]
                r[0] = f"{value:.0f}" if abs(value) >= 1e11 else f"{value:.3f}"
        elif kind == "header":
            header = args[0]
        elif kind == "fields" and n:
            rows[args[0] % n] = (rows[args[0] % n] * 2)[: args[1]]
        elif kind == "cut":
            cut = args[0]
        elif kind == "bytes":
            garbage.append((args[0], args[1]))
    text = ((header + "\n") if header else "") + "".join(",".join(r) + "\n" for r in rows)
    data = text.encode()
    for at, junk in garbage:
        data = data[:at] + junk + data[at:]
    return data[:cut] if cut else data


@pytest.fixture(scope="module")
def worker():
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(ADDRESS_SPACE_GB)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    yield process
    process.stdin.close()
    process.wait(timeout=30)


def _run(worker, path: Path, out: Path) -> tuple:
    worker.stdin.write(json.dumps([str(path), str(out)]) + "\n")
    worker.stdin.flush()
    line = worker.stdout.readline()
    assert line, "the worker died (killed for memory?)"
    return tuple(json.loads(line))


@settings(
    max_examples=EXAMPLES or 60,
    deadline=None,  # one example is one analysis: its time is bounded by the bound on memory
    derandomize=not EXAMPLES,  # the same files on every run, unless searching further
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_any_file_gives_results_or_one_clear_line(worker, tmp_path, mutations):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(_mutated(mutations))
    out = tmp_path / "out"
    if out.exists():
        for child in out.iterdir():
            child.unlink()
        out.rmdir()
    rc, err, crash, peak_mb = _run(worker, path, out)
    assert crash is None, crash
    assert "Traceback" not in err
    assert peak_mb < MAX_RSS_MB, f"peak resident memory {peak_mb} MB"
    if rc == 0:
        assert (out / "summary.json").exists()
    else:
        assert rc == 2, (rc, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("sleepmove: error: "), err
        assert str(path) in lines[0]
        assert not out.exists()


def test_the_worker_catches_a_runaway(worker, tmp_path):
    # The grid's bound, not the cap, is what keeps memory down: a clock that jumps 31 years
    # is refused in one line, with the peak far under the bound.
    data = _mutated([("shift", 3000, 31 * 365.25 * 86400)])
    path = tmp_path / "jump.csv"
    path.write_bytes(data)
    rc, err, crash, peak_mb = _run(worker, path, tmp_path / "out")
    assert crash is None and rc == 2 and "the time stamps span" in err
    assert peak_mb < MAX_RSS_MB
