"""Run night tasks: one process, a local process pool, or a Dask cluster."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sleepmove.batch import NightTask, run_task

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


def run_task_on_one_core(
    task: NightTask, parse_threads: int = 1, pool_worker: bool = False
) -> list[dict]:
    """`run_task` for a worker that shares the machine with other nights: the analysis then
    keeps to its own thread, which a second one would only contend with, and the parse to
    its share of the cores (`parse_threads`); see `settle_worker`."""
    from sleepmove.detection.parallel import use_threads

    use_threads(False)
    settle_worker(parse_threads, pool_worker)
    return run_task(task)


_settled: tuple[int, bool] | None = None


def settle_worker(parse_threads: int, keep_memory: bool) -> None:
    """Once per worker process: the parse on `parse_threads` threads, and with `keep_memory`
    (our own pool's workers, not Dask's, which watches its workers' memory) freed memory
    kept for the next night.

    Arrow's pool otherwise starts a thread per core in every worker: 4 parse threads for 2
    workers on 2 cores (8 nights of 8 h at 50 Hz, 2 workers, loaded 2-core VM, 6 runs each:
    CPU median 3.18 -> 2.96 s, peak memory 263 -> 227 MB). A worker parses night after
    night, and each night's parse memory (Arrow's pool) and arrays (the heap, trimmed) went
    back to the kernel, to be zeroed again for the next (sleepmove.memory,
    sensor.parse_memory.keep_parse_memory). Nights 2-8 of 8-h 50 Hz nights, per night: one worker
    alone 6.5 k -> 0.7 k page faults, system CPU 0.071 -> 0.016 s, wall 0.358 -> 0.306 s
    (best of 3 each); two workers side by side 6.8 k -> 0.9 k faults, system CPU 0.044 ->
    0.023 s, wall best 0.325 -> 0.313 s (median 0.40 -> 0.33 on a loaded machine); peak
    memory +40-110 MB per worker."""
    global _settled
    if _settled == (parse_threads, keep_memory):
        return
    import pyarrow

    if pyarrow.cpu_count() != parse_threads:
        pyarrow.set_cpu_count(parse_threads)
    if keep_memory:
        from sleepmove.memory import reuse_freed_memory
        from sleepmove.sensor.parse_memory import keep_parse_memory

        reuse_freed_memory()
        keep_parse_memory()
    _settled = (parse_threads, keep_memory)


def parse_threads_per_worker(workers: int) -> int:
    return max(1, default_workers() // max(workers, 1))


def run_in_child(tasks: list[NightTask]) -> Iterator[list[dict]]:
    """The nights one after the other, each with every core (--workers 1), in one child
    process kept for all of them: a night that kills its process (a crash in native code,
    a signal) costs that night alone, an error row saying how the process ended, and the
    rest go on in a new child. Run here, it ended the batch, its table of nights unwritten.

    One fork for the batch, each night's rows sent back through a pipe: 7-18 ms a batch (6
    empty nights); 6 nights of 1 h at 25 Hz, 2-core VM, 8 runs each: CPU median 0.66 ->
    0.69 s (best 0.61 both), wall within the machine's noise."""
    from sleepmove.batch import crashed_row

    queue = list(reversed(tasks))  # popped from the end: in the order given
    fresh_deaths = 0  # children found dead before a night began, in a row
    while queue:  # a loop over children: one more after each night that kills one
        child = _NightChild()
        try:
            while queue:  # a loop over nights
                started = time.perf_counter()
                rows = child.run(queue[-1])
                if rows is NOT_BEGUN and fresh_deaths < CHILD_RETRIES:
                    # Died between nights (the memory killer, say): the night never began
                    # there, so it is not blamed; a new child takes it.
                    fresh_deaths += 1
                    break
                task = queue.pop()
                if rows is NOT_BEGUN:
                    rows = None  # child after child died before it: this night's row says so
                if rows is None:
                    yield [crashed_row(task, child.ending(), time.perf_counter() - started)]
                    break
                fresh_deaths = 0
                yield rows
        except BaseException:
            # Ctrl-C (or the caller gone): the night in hand is cut short, and done again by
            # the next run (its key is written last).
            child.stop()
            raise
        child.close()


CHILD_RETRIES = 3  # children that die before a night begins, in a row, before it is blamed
NOT_BEGUN = object()  # _NightChild.run: the child was gone before the night began


class _NightChild:
    """The process `run_in_child` sends nights to (`_serve_nights`), over a pipe."""

    def __init__(self) -> None:
        import multiprocessing

        self.connection, theirs = multiprocessing.Pipe()
        self.process = multiprocessing.Process(
            target=_serve_nights, args=(theirs, os.getpid()), name="sleepmove-nights"
        )
        self.process.start()
        theirs.close()  # the child's end held only there: its death reads as the pipe's end

    def run(self, task: NightTask) -> list[dict] | None | object:
        """The night's rows; None when the process died on it; NOT_BEGUN when it was dead
        before it said the night had begun."""
        try:
            self.connection.send(task)
            self.connection.recv()  # "begun": sent before the analysis starts
        except (EOFError, OSError):  # OSError: gone before it could take the night
            self.process.join()
            return NOT_BEGUN
        try:
            return self.connection.recv()
        except (EOFError, OSError):
            self.process.join()
            return None

    def ending(self) -> str:
        """How the process ended, as a night's error row says it."""
        code = self.process.exitcode
        if code is None or code >= 0:
            return f"exit status {code}" if code else ""
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:  # a signal Python has no name for
            return f"killed by signal {-code}"

    def close(self) -> None:
        try:
            self.connection.send(None)  # no more nights
        except OSError:
            pass  # already gone (the night it died on has its row)
        self.process.join()
        self.connection.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()
        self.connection.close()


def _serve_nights(connection: Connection, batch_pid: int) -> None:
    """The child of `run_in_child`: nights from `connection`, their rows sent back, until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's, which ends this one
    die_with_parent(batch_pid)
    # Every core for the parse; freed memory kept for the next night, and never given back:
    # the process ends with the nights.
    settle_worker(default_workers(), keep_memory=True)
    while (task := connection.recv()) is not None:
        connection.send("begun")  # a death from here on is this night's
        connection.send(run_task(task))


def run_local(tasks: list[NightTask], workers: int) -> Iterator[list[dict]]:
    """The nights on a pool of `workers` processes; for one worker or one night, one after
    the other in a child process (`run_in_child`).

    A worker that dies (a crash in native code: a decoder's failed allocation, a signal)
    breaks the pool and every night in it. The pool is fed at most `workers + 1` nights at
    a time, so that on a break only those are in doubt: each is done again alone, in a
    process of its own, where the one that kills it gets an error row; the rest go on in a
    new pool. Before, the batch ended in a traceback, its table of nights unwritten."""
    if workers <= 1 or len(tasks) <= 1:
        yield from run_in_child(tasks)
        return
    workers = min(workers, len(tasks))  # a forked pool starts every worker at once
    queue = list(reversed(tasks))  # popped from the end: in the order given
    while queue:  # a loop over pools: one more after each break
        in_doubt = yield from _run_pool(queue, workers, parse_threads_per_worker(workers))
        for task in in_doubt:  # a loop over the few nights a broken pool held
            yield _run_alone(task)


def _new_pool(workers: int):  # -> ProcessPoolExecutor
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=workers, initializer=die_with_parent, initargs=(os.getpid(),)
    )


def _run_pool(queue: list[NightTask], workers: int, threads: int) -> Iterator[list[dict]]:
    """Nights from the end of `queue` on a new pool until it is empty (returns []) or the
    pool breaks (returns the nights it held, unfinished)."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    pool = _new_pool(workers)
    running: dict = {}  # future -> task
    try:
        while queue or running:  # a loop over completions
            while queue and len(running) < workers + 1:
                task = queue.pop()
                running[pool.submit(run_task_on_one_core, task, threads, True)] = task
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:  # a loop over the nights just finished
                try:
                    rows = future.result()
                except BrokenProcessPool:
                    in_doubt = list(running.values())
                    pool.shutdown(wait=True, cancel_futures=True)
                    return in_doubt
                del running[future]
                yield rows
    except BaseException:
        # Ctrl-C (or the caller gone): the queued nights are dropped and the workers ended
        # now. Left to the pool's own exit, it waited for every queued night: Ctrl-C ran the
        # batch to its end. A night cut short is done again by the next run (its key is
        # written last).
        pool.shutdown(wait=False, cancel_futures=True)
        import multiprocessing

        for worker in multiprocessing.active_children():  # a loop over the pool's workers
            worker.terminate()
        raise
    pool.shutdown(wait=True)
    return []


def _run_alone(task: NightTask) -> list[dict]:
    """One night in a process of its own: its rows, or an error row if the process dies."""
    from concurrent.futures.process import BrokenProcessPool

    from sleepmove.batch import crashed_row

    pool = _new_pool(1)
    try:
        return pool.submit(run_task_on_one_core, task, default_workers(), True).result()
    except BrokenProcessPool:
        return [crashed_row(task)]
    finally:
        pool.shutdown(wait=True)


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


SCHEDULER_TIMEOUT_S = 30.0  # as Dask's own wait for a scheduler (comm.timeouts.connect)
GREETING_BYTES = 1 << 16  # a scheduler's greeting is some 60 bytes


def run_dask(tasks: list[NightTask], address: str) -> Iterator[list[dict]]:
    """The nights' rows as a Dask cluster finishes them; connected before this returns, so
    that a scheduler that cannot be reached is refused before the batch changes anything."""
    client, as_completed = _dask_client(address)
    return _dask_results(client, as_completed, tasks)


def _dask_client(address: str) -> tuple[Any, Any]:
    from sleepmove.base.errors import InputError

    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError(
            "--scheduler", "Dask is not installed", expected="pip install 'sleepmove[cluster]'"
        ) from None
    check_scheduler(address)
    try:
        client = Client(address)
    except (OSError, ValueError) as error:  # no scheduler there, or no address Dask reads
        reason = " ".join(str(error).split()) or type(error).__name__
        raise InputError(
            "--scheduler", f"cannot connect to {address} ({reason})", expected=EXPECTED_SCHEDULER
        ) from None
    except Exception as error:  # a peer's bytes Dask misread (MemoryError...)
        raise InputError(
            "--scheduler",
            f"{address} is not a Dask scheduler (its answer could not be read: "
            f"{type(error).__name__})",
            expected=EXPECTED_SCHEDULER,
        ) from None
    return client, as_completed


def _dask_results(client: Any, as_completed: Any, tasks: list[NightTask]) -> Iterator[list[dict]]:
    with client:
        # pure=False: a night is never computed twice, not even from a cache
        futures = client.map(run_task_on_one_core, tasks, pure=False)
        for future in as_completed(futures):
            yield future.result()


EXPECTED_SCHEDULER = "the address of a running Dask scheduler, e.g. tcp://host:8786"


def check_scheduler(address: str, timeout_s: float | None = None) -> None:
    """Refuse (InputError, one line) a TCP address whose listener is not a Dask scheduler,
    reading at most its first `GREETING_BYTES`, within `timeout_s` in all.

    Dask's Client bounds only the TCP connect: it then waits for the peer's handshake with
    no time limit (a silent listener hung the batch forever) and sizes a buffer from the
    peer's first 8 bytes (an SSH banner asked for 3 EiB: a traceback). A scheduler speaks
    first, one small framed message, so a look of our own settles it. A TCP connection that
    fails is left to Dask, which retries while a scheduler starts and says why it gave up;
    other schemes (tls://, ...) are left to Dask too."""
    from sleepmove.base.errors import InputError

    scheme, _, location = address.rpartition("://")
    host, _, port = location.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # an IPv6 address, tcp://[::1]:8786
    if (scheme or "tcp") != "tcp" or not host or not port.isdigit() or int(port) > 65535:
        return
    timeout_s = SCHEDULER_TIMEOUT_S if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    try:
        peer = socket.create_connection((host, int(port)), timeout=timeout_s)
    except OSError:
        return
    with peer:
        said, ended = _greeting(peer, deadline)
    if _frames_message(said):
        return
    if not said:
        why = (
            "it closed the connection without a word"
            if ended
            else f"it took the connection but said nothing in {timeout_s:g} s"
        )
        raise InputError(
            "--scheduler", f"cannot connect to {address} ({why})", expected=EXPECTED_SCHEDULER
        )
    first = said.split(b"\n", 1)[0].strip()[:40]
    shown = f": {first.decode()!r}" if first.isascii() and first.decode().isprintable() else ""
    raise InputError(
        "--scheduler",
        f"{address} is not a Dask scheduler (it answered in another protocol{shown})",
        expected=EXPECTED_SCHEDULER,
    )


def _greeting(peer: socket.socket, deadline: float) -> tuple[bytes, bool]:
    """What the peer says first, until `deadline`: up to the end of its first message as
    Dask frames one, or only its first 8 bytes where they give no length a greeting has;
    and whether it closed the connection."""
    said = b""
    wanted = 8
    while len(said) < wanted:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        peer.settimeout(left)
        try:
            more = peer.recv(wanted - len(said))
        except TimeoutError:
            break
        except OSError:  # reset by the peer
            return said, True
        if not more:
            return said, True
        said += more
        if len(said) == 8:  # the message's length: read it whole if a greeting's size
            length = int.from_bytes(said, "little")
            if not 16 <= length <= GREETING_BYTES:  # another protocol: its first line, to say
                return said + _more(peer, min(deadline - time.monotonic(), 0.5)), False
            wanted = 8 + length
    return said, False


def _more(peer: socket.socket, wait_s: float) -> bytes:
    """What else the peer has sent within `wait_s`, up to a line's worth."""
    try:
        peer.settimeout(max(wait_s, 0.001))
        return peer.recv(72)
    except OSError:  # TimeoutError too: nothing more
        return b""


def _frames_message(said: bytes) -> bool:
    """Whether `said` begins with one message as Dask's TCP comm frames it: its length, its
    number of frames, each frame's length, the frames (distributed.comm.tcp)."""
    if len(said) < 24:
        return False
    total, count = int.from_bytes(said[:8], "little"), int.from_bytes(said[8:16], "little")
    if not 1 <= count <= (total - 8) // 8 or 8 + total > len(said):
        return False
    lengths = [int.from_bytes(said[16 + 8 * i : 24 + 8 * i], "little") for i in range(count)]
    return 8 + 8 * count + sum(lengths) == total


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
        if self.stream is None:  # nobody reads it any more
            return
        try:
            self._write(row, status, eta)
        except (OSError, ValueError):  # a terminal closed (EIO), a `| head` gone (EPIPE)
            # The batch goes on, its nights.csv written: the first failed write left the
            # night child waiting and --workers 1 never ended.
            self.stream = None

    def _write(self, row: dict, status: str, eta: float) -> None:
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
