"""When the event socket has data to read: for its reader, and for callers reading it in turn.

The stream's reader waits for data without holding the link's read token, so that a caller
waiting for a REST answer may take the token and read the socket itself (leader/follower,
stream.py).  While a caller reads, the reader need not wake for the bytes the caller takes: on
Linux the reader waits in an epoll set that the caller mutes while it holds the token and
unmutes when it lets go (data left over then wakes the reader at once).  Elsewhere the reader
polls and wakes for those bytes too, which costs a wake, never a message.

It must not read or write the socket (stream.Link does).
"""

from __future__ import annotations

import select
from typing import Any, Callable

_EPOLL = getattr(select, "epoll", None)


def _none() -> int:
    return 0


def _ready(fileno: int, timeout: float) -> bool:
    """One look at ``fileno`` (a fresh poll object: two threads may look at once)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fileno, select.POLLIN)
        return bool(poller.poll(timeout * 1000.0))
    return bool(select.select([fileno], [], [], timeout)[0])  # Windows


class Readiness:
    """Whether the socket ``sock`` has data: ``wait`` for its reader, ``ready`` for the token's holder."""

    __slots__ = ("_fileno", "_pending", "_epoll")

    def __init__(self, sock: Any) -> None:
        self._fileno: int = sock.fileno()
        pending = getattr(sock, "pending", None)
        #: over TLS, bytes already decrypted wait in the SSL object, where poll cannot see them
        self._pending: Callable[[], int] = pending if pending is not None else _none
        self._epoll: Any = None
        if _EPOLL is not None:
            self._epoll = _EPOLL()
            self._epoll.register(self._fileno, select.EPOLLIN)

    def wait(self, timeout: float) -> bool:
        """The stream's reader: True when data is there (or the socket ended) within ``timeout``."""
        if self._pending():
            return True
        try:
            if self._epoll is not None:
                return bool(self._epoll.poll(timeout))
            return _ready(self._fileno, timeout)
        except (OSError, ValueError):  # closed under us: the read says how
            return True

    def ready(self, timeout: float = 0.0) -> bool:
        """The token's holder: True when data is there (or the socket ended) within ``timeout``."""
        if self._pending():
            return True
        try:
            return _ready(self._fileno, timeout)
        except (OSError, ValueError):
            return True

    def mute(self) -> None:
        """A caller holds the token and reads: the reader's ``wait`` sleeps through its bytes.

        The end of the socket (hang-up, error) still wakes the reader.
        """
        self._modify(0)

    def unmute(self) -> None:
        """The caller lets the token go: data it left wakes the reader at once."""
        self._modify(select.EPOLLIN if self._epoll is not None else 0)

    def _modify(self, events: int) -> None:
        if self._epoll is None:
            return
        try:
            self._epoll.modify(self._fileno, events)
        except (OSError, ValueError):  # the link closed meanwhile: nothing to wake
            pass

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()
