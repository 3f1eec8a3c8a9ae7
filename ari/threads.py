"""Two thread chores every layer shares: join threads by a deadline, call a user's callback safely.

Its one job is those two helpers, so that the dispatcher, the worker pool, the event stream
and the callback forms of calls and ``connect`` end threads and isolate callbacks the same way.
It must not start threads, hold state or import anything of ``ari``: it is the bottom layer.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable, List


def join_by(threads: Iterable[threading.Thread], deadline: float) -> List[threading.Thread]:
    """Join each of ``threads`` (but the calling one) until the ``time.monotonic()`` ``deadline``.

    Returns the threads still alive after it, for the caller to log in its own words: a thread
    blocked in a user's handler is left to finish (it is a daemon) rather than waited for.
    """
    current = threading.current_thread()
    late: List[threading.Thread] = []
    for thread in threads:
        if thread is current:
            continue  # a handler that stops its own client: joining itself would raise
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            late.append(thread)
    return late


def call_guarded(logger: logging.Logger, what: str, function: Callable[..., Any], *args: Any) -> None:
    """Call a user's ``function(*args)``; an exception it raises is logged on ``logger``, never raised.

    ``what`` names the callback in the log line (``"callback"``, ``"connect callback"``).  Only
    ``Exception`` is caught: ``KeyboardInterrupt`` and ``SystemExit`` still end the thread.
    """
    try:
        function(*args)
    except Exception:
        logger.exception("%s %r raised", what, function)
