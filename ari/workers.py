"""A bounded pool of daemon threads running calls in the background, with futures for their results.

Its one job is the callback and ``_async`` variants' threads.  Unlike
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
from typing import Any, Callable, List, Optional, Tuple

from .threads import join_by

log = logging.getLogger(__name__)


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
        for thread in join_by(threads, time.monotonic() + timeout):
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
