"""Run night tasks: one process, a local process pool, or a Dask cluster."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

from sleepmove.batch import NightTask, run_task


def run_task_on_one_core(task: NightTask, parse_threads: int = 1) -> list[dict]:
    """`run_task` for a worker that shares the machine with other nights: the analysis then
    keeps to its own thread, which a second one would only contend with, and the parse to
    its share of the cores (`parse_threads`). Arrow's pool otherwise starts a thread per
    core in every worker: 4 parse threads for 2 workers on 2 cores (8 nights of 8 h at 50 Hz,
    2 workers, loaded 2-core VM, 6 runs each: CPU median 3.18 -> 2.96 s, peak memory 263 ->
    227 MB; wall best 1.67 -> 1.59 s in a quieter spell)."""
    from detection.parallel import use_threads

    use_threads(False)
    _limit_parse_threads(parse_threads)
    return run_task(task)


def _limit_parse_threads(threads: int) -> None:
    import pyarrow

    if pyarrow.cpu_count() != threads:
        pyarrow.set_cpu_count(threads)


def parse_threads_per_worker(workers: int) -> int:
    return max(1, default_workers() // max(workers, 1))


def run_serial(tasks: list[NightTask]) -> Iterator[list[dict]]:
    for task in tasks:
        yield run_task(task)


def run_local(tasks: list[NightTask], workers: int) -> Iterator[list[dict]]:
    if workers <= 1 or len(tasks) <= 1:
        yield from run_serial(tasks)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(
        max_workers=workers, initializer=die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        threads = parse_threads_per_worker(workers)
        futures = [pool.submit(run_task_on_one_core, task, threads) for task in tasks]
        for future in as_completed(futures):
            yield future.result()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(batch_pid: int) -> None:
    """Pool worker initializer: end this worker when the batch process dies.

    A batch killed with -9 runs no cleanup, and its workers would go on finishing nights
    nobody collects, then wait forever holding memory. On Linux the kernel sends SIGKILL
    when the parent goes (PR_SET_PDEATHSIG); everywhere a thread also checks every second
    that the parent is the same and the batch still runs. A night cut short is done again
    by the next run: its key is written last."""
    parent = os.getppid()  # the batch, or the fork server that started this worker
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watching thread still ends the worker, a second later
    if not _parent_alive(parent, batch_pid):  # it died before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent, batch_pid), daemon=True).start()


def _watch_parent(parent: int, batch_pid: int) -> None:
    while _parent_alive(parent, batch_pid):
        time.sleep(1.0)
    os._exit(1)  # no cleanup: the batch that would collect the result is gone


def _parent_alive(parent: int, batch_pid: int) -> bool:
    if os.getppid() != parent:  # orphaned: adopted by init or a subreaper
        return False
    try:
        os.kill(batch_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, under another user (the pid was reused): the parent check decides
    return True


def run_dask(tasks: list[NightTask], address: str) -> Iterator[list[dict]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        from sensor.errors import InputError

        raise InputError(
            "--scheduler", "Dask is not installed", expected="pip install 'sleepmove[cluster]'"
        ) from None
    with Client(address) as client:
        # pure=False: a night is never computed twice, not even from a cache
        futures = client.map(run_task_on_one_core, tasks, pure=False)
        for future in as_completed(futures):
            yield future.result()


class Progress:
    """A progress line with ETA on a terminal; plain log lines otherwise."""

    def __init__(self, total: int, stream=None, write: Callable[[str], None] | None = None):
        self.total = total
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self.stream = stream or sys.stderr
        self.terminal = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, rows: list[dict]) -> None:
        """One task finished (a multi-day file gives several rows)."""
        row = next((r for r in rows if r["status"] == "error"), rows[0])
        self.done += 1
        self.failed += row["status"] == "error"
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        status = "ok" if row["status"] == "ok" else f"{row['status']}: {row['error']}"
        if self.terminal:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            mark = "FAILED" if row["status"] == "error" else ""
            line = (
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                f"ETA {_clock(eta)} {row['id'][:30]:30} {mark}"
            )
            self.stream.write(line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(
                f"{self.done}/{self.total} {row['id']} {status} "
                f"({row['seconds']:.1f} s, ETA {_clock(eta)})\n"
            )
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
