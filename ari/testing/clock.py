"""Simulated time on the loopback server's event loop, and Asterisk's timestamps.

Its one job is the ``backend.Scheduler`` the server hands its backend: ``speed`` simulated
seconds per real second, ``call_later`` in simulated seconds, and the
``2026-11-26T03:47:35.123+0000`` timestamps Asterisk puts in events and answers.  It must
not know sockets, requests or any resource.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Callable

from ..threads import call_guarded

log = logging.getLogger(__name__)


def asterisk_timestamp(epoch: float) -> str:
    """``2026-11-26T03:47:35.123+0000`` (UTC) for ``epoch`` seconds."""
    secs = int(epoch)
    ms = int((epoch - secs) * 1000)
    return _second(secs) + f".{ms:03d}+0000"


@functools.lru_cache(maxsize=4)
def _second(secs: int) -> str:
    # Every event and answer carries a timestamp; strftime once a second is plenty.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))


class LoopScheduler:
    """Simulated time on the server's loop: ``speed`` simulated seconds per real second.

    Use only on the loop thread (backend code and its callbacks are already there).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, speed: float) -> None:
        self.speed = speed
        self._loop = loop
        self._t0 = loop.time()
        self._wall0 = time.time()

    def call_later(self, sim_seconds: float, fn: Callable[[], None]) -> asyncio.TimerHandle:
        return self._loop.call_later(max(0.0, sim_seconds) / self.speed, self._guard, fn)

    @staticmethod
    def _guard(fn: Callable[[], None]) -> None:
        call_guarded(log, "scheduled callback", fn)

    def now(self) -> float:
        return (self._loop.time() - self._t0) * self.speed

    def timestamp(self) -> str:
        return asterisk_timestamp(self._wall0 + self.now())
