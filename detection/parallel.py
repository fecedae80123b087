"""Independent whole-array steps on a second core.

After the parse, the analysis of one sensor would use one core of two: numpy releases the GIL
on large arrays, so a step that does not depend on its neighbour runs on a worker thread
meanwhile. A background step must not wait for another background step (one worker).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_enabled = (os.cpu_count() or 1) > 1


def use_threads(enabled: bool) -> None:
    """Background steps on a worker thread (True) or at once, on the caller's (False): a
    batch already runs a night per core, where a second thread per night would only contend."""
    global _enabled
    _enabled = enabled


def in_background(step: Callable[..., T], *args: object) -> Future[T]:
    """Start `step(*args)`; `.result()` gives its value or raises its exception. At once on
    the caller's thread where background steps are off, or where the caller is not the main
    thread: two sensors' legs already run a thread each, and their steps queued behind each
    other on the one worker left each leg waiting on the other's."""
    if not _enabled or threading.current_thread() is not threading.main_thread():
        done: Future[T] = Future()
        try:
            done.set_result(step(*args))
        except BaseException as error:  # raised where the result is asked for, as on a thread
            done.set_exception(error)
        return done
    return _worker().submit(step, *args)


def _forget_worker() -> None:
    """In a forked child: the worker thread stayed in the parent, and steps queued for it
    would wait forever (a batch's night process forked after an analysis in the parent)."""
    global _lock, _pool
    _lock, _pool = threading.Lock(), None


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_worker)


def _worker() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect")
        return _pool


def on_own_thread(step: Callable[..., T], *args: object) -> Future[T]:
    """Start a long `step(*args)` on a thread of its own rather than the worker, whose short
    steps the caller's meanwhile wait on; at once, on the caller's thread, where background
    steps are off."""
    if not _enabled:
        return in_background(step, *args)
    done: Future[T] = Future()

    def run() -> None:
        try:
            done.set_result(step(*args))
        except BaseException as error:  # raised where the result is asked for
            done.set_exception(error)

    threading.Thread(target=run, name="detect-long", daemon=True).start()
    return done
