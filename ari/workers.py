"""A bounded pool of daemon threads running calls in the background, with futures for their results.

Its one job is the callback and ``_async`` variants' threads (and the two small thread helpers
every part shares: ``join_all``, a bounded join, and ``call_safely``, a user callback whose
exception is logged, never raised).  Unlike
``concurrent.futures.ThreadPoolExecutor``, whose threads the interpreter waits for at exit
(a callback blocked forever would hang it), these are daemons, made on demand up to the
bound, and ``shutdown`` ends them with a bounded join.  It knows nothing of ARI.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Iterable, List, Optional, Tuple

log = logging.getLogger(__name__)


def join_all(threads: Iterable[threading.Thread], timeout: float) -> List[threading.Thread]:
    """Join every thread (but the calling one) within ``timeout`` in all; return those still alive."""
    deadline = time.monotonic() + timeout
    current = threading.current_thread()
    alive = []
    for thread in threads:
        if thread is not current:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                alive.append(thread)
    return alive


def call_safely(callback: Callable[..., Any], *args: Any) -> None:
    """Call a user's callback; its exception is logged with its traceback, never raised."""
    try:
        callback(*args)
    except Exception:
        log.exception("callback %r raised", callback)

_Work = Optional[Tuple["Future[Any]", Callable[[], Any]]]


class WorkerPool:
    def __init__(self, size: int, name: str = "ari-worker") -> None:
        if size < 1:
            raise ValueError("workers must be >= 1")
        self.size = size
        self.name = name
        self._queue: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)  # released by a worker that waits for work
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("client is closed")
            self._queue.put((future, fn))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self.size:
                thread = threading.Thread(target=self._work, name=f"{self.name}-{len(self._threads) + 1}", daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def shutdown(self, timeout: float = 2.0) -> None:
        """Cancel what has not started, let running calls finish, end the threads (bounded join)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        while True:
            try:
                work = self._queue.get_nowait()
            except queue.Empty:
                break
            if work is not None:
                work[0].cancel()
        for _ in threads:
            self._queue.put(None)
        for thread in join_all(threads, timeout):
            log.warning("%s is still running a call after %.1fs; left to finish", thread.name, timeout)

    def _work(self) -> None:
        get = self._queue.get
        while True:
            work = get()
            if work is None:
                return
            future, fn = work
            if future.set_running_or_notify_cancel():
                try:
                    result = fn()
                except BaseException as exc:  # the future carries it to the caller
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del work, future, fn  # drop references before waiting again
            self._idle.release()
