"""One thread that serves the sockets and the pacing of any number of media sessions.

Its one job is the I/O loop of ``LoopSession`` s: a selector over their sockets and one
wake-up pair, a heap of the time each session's next frame is due, and the closing of each
session's transport without holding up the others.  Every session's frames are written when
they are due, by deadline, from this one thread; each readable socket is read once per
wake-up.  It must not speak a protocol or pace frames itself (the sessions' ``_pump`` says
when the next frame is due), and never runs a user's callback.

A session opened without a loop gets a loop of its own (one thread per session); sessions
given the same ``MediaLoop`` share one thread, which is what keeps the pacing of many calls
steady: one thread woken at each deadline instead of one thread per call competing for the
interpreter.  The thread (``ari-media-<name>``, a daemon) starts with the first session and
ends once the last one has closed, so a loop needs no stopping; ``close()`` closes every
session it serves.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import selectors
import socket
import threading
import time
from typing import Any, Dict, List, Optional, Set, Tuple

from ..errors import MediaError

log = logging.getLogger(__name__)

#: seconds a closing session may wait for its far end's half of the closing handshake
CLOSE_WAIT = 2.0


class MediaLoop:
    """One ``ari-media-<name>`` thread serving every session opened with ``loop=`` this object."""

    def __init__(self, name: str = "loop") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._sessions: Set[Any] = set()  # served, closing ones included
        self._new: List[Any] = []  # added, not yet registered by the loop's thread
        self._kicked: Set[Any] = set()  # something for their writer: commands, audio, XON, closing
        self._wake_w: Optional[socket.socket] = None
        self._wake_pending = False
        self._thread: Optional[threading.Thread] = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<MediaLoop {self.name} {len(self._sessions)} sessions>"

    @property
    def sessions(self) -> int:
        """How many sessions it serves now."""
        return len(self._sessions)

    @property
    def thread(self) -> Optional[threading.Thread]:
        """The thread serving the sessions now (None while it serves none)."""
        return self._thread

    def on_thread(self) -> bool:
        """True when called from the loop's own thread."""
        return self._thread is not None and threading.current_thread() is self._thread

    # -- from any thread ------------------------------------------------------------------

    def add(self, session: Any) -> None:
        """Serve ``session`` (a ``LoopSession`` with its socket connected) from now on."""
        with self._lock:
            if self._closed:
                raise MediaError(f"{self!r} is closed")
            self._sessions.add(session)
            self._new.append(session)
            if self._thread is not None:
                self._signal()
                return
            wake_r, self._wake_w = socket.socketpair()
            wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            self._wake_pending = False
            thread = self._thread = threading.Thread(
                target=self._run, args=(wake_r,), name=f"ari-media-{self.name}", daemon=True
            )
        thread.start()

    def kick(self, session: Any) -> None:
        """``session`` has something for its writer (may be called under the session's lock)."""
        with self._lock:
            self._kicked.add(session)
            self._signal()

    def _signal(self) -> None:
        """Under the lock: wake the loop's thread, once until it has looked (never from itself)."""
        if self._wake_pending or self._wake_w is None or threading.current_thread() is self._thread:
            return
        self._wake_pending = True
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full of wake-ups already: it will look
            pass

    def close(self, timeout: float = 2.0) -> None:
        """Close every session it serves (hanging their calls up) and end its thread."""
        with self._lock:
            self._closed = True
            sessions = list(self._sessions)
            thread = self._thread
        deadline = time.monotonic() + timeout
        for session in sessions:
            session.close(max(0.0, deadline - time.monotonic()))
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> MediaLoop:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the loop's thread ----------------------------------------------------------------

    def _run(self, wake: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(wake, selectors.EVENT_READ, None)
        due: List[Tuple[float, int, Any]] = []  # (when, entry number, session): a heap
        entry: Dict[Any, int] = {}  # each session's live heap entry; older ones are skipped
        closing: Dict[Any, float] = {}  # sessions waiting for their far end to close, by deadline
        counter = itertools.count()
        try:
            while True:
                with self._lock:
                    new, self._new = self._new, []
                    kicked, self._kicked = self._kicked, set()
                    if not self._sessions:
                        self._thread = None  # the next add() starts a new thread
                        if self._wake_w is not None:
                            self._wake_w.close()
                            self._wake_w = None
                        return
                for session in new:
                    try:
                        selector.register(session._sock, selectors.EVENT_READ, session)
                    except (OSError, ValueError) as error:  # closed before the loop saw it
                        session._closed_by("remote", None, f"connection lost ({error})")
                    kicked.add(session)
                now = time.monotonic()
                while due and due[0][0] <= now:
                    _, number, session = heapq.heappop(due)
                    if entry.get(session) == number:
                        del entry[session]
                        kicked.add(session)
                for session in kicked:
                    if session in closing or session not in self._sessions:
                        continue
                    when = self._serve(session)
                    if when is None:
                        entry.pop(session, None)
                        if session._closed:
                            self._begin_closing(selector, session, closing)
                    else:
                        number = next(counter)
                        entry[session] = number
                        heapq.heappush(due, (when, number, session))
                now = time.monotonic()
                for session, deadline in list(closing.items()):
                    if deadline <= now:
                        del closing[session]
                        self._done(selector, session)
                with self._lock:
                    waiting = bool(self._kicked or self._new or not self._sessions)
                soonest: Optional[float] = due[0][0] if due else None
                for deadline in closing.values():
                    soonest = deadline if soonest is None else min(soonest, deadline)
                if waiting:
                    timeout: Optional[float] = 0.0
                else:
                    timeout = None if soonest is None else max(0.0, soonest - now)
                for key, _ in selector.select(timeout):
                    session = key.data
                    if session is None:
                        # Drain first, then clear: a kick sent in between is not lost, as the
                        # loop looks at the kicked sessions before it selects again.
                        try:
                            wake.recv(4096)
                        except OSError:
                            pass
                        with self._lock:
                            self._wake_pending = False
                    elif session in closing:
                        if session._on_closing_readable():
                            del closing[session]
                            self._done(selector, session)
                    elif not self._read(session):
                        entry.pop(session, None)
                        self._begin_closing(selector, session, closing)
        except BaseException:  # noqa: B036 - never a dead loop without a word: its sessions close and say why
            log.exception("%r failed", self)
            with self._lock:
                sessions = list(self._sessions)
            for session in sessions:
                session._closed_by("remote", None, "media loop failed")
                self._done(selector, session)
            with self._lock:
                self._thread = None
                if self._wake_w is not None:
                    self._wake_w.close()
                    self._wake_w = None
        finally:
            selector.close()
            wake.close()

    def _serve(self, session: Any) -> Optional[float]:
        """Send what ``session`` has due; when its next frame is due (None: nothing queued, or closed)."""
        try:
            session._flush_commands()  # first: a command asked for before a mark goes before it
            when = session._pump()
        except MediaError as error:
            if not session._closed:
                log.warning("%r: %s", session, error)
            session._closed_by("remote", None, str(error))
            return None
        except Exception:
            log.exception("%r: the media writer failed", session)
            session._closed_by("remote", None, "media loop failed")
            return None
        return None if session._closed else when

    def _read(self, session: Any) -> bool:
        """Read what ``session``'s socket has; False once the session is over."""
        try:
            alive = session._on_readable()
            pending = getattr(session._sock, "pending", None)  # TLS: bytes already decrypted wait there
            while alive and pending is not None and pending():
                alive = session._on_readable()
        except MediaError as error:
            if not session._closed:
                log.warning("%r: %s", session, error)
            session._closed_by("remote", None, str(error))
            return False
        except Exception:
            log.exception("%r: the media reader failed", session)
            session._closed_by("remote", None, "media loop failed")
            return False
        return alive and not session._closed

    def _begin_closing(self, selector: Any, session: Any, closing: Dict[Any, float]) -> None:
        try:
            wait = session._begin_finish()
        except Exception:  # closing never raises for a far end already gone
            log.debug("%r: closing failed", session, exc_info=True)
            wait = False
        if wait:
            closing[session] = time.monotonic() + CLOSE_WAIT
        else:
            self._done(selector, session)

    def _done(self, selector: Any, session: Any) -> None:
        """``session``'s transport is closed: it leaves the loop."""
        try:
            selector.unregister(session._sock)
        except (KeyError, ValueError, OSError):  # never registered, or already gone
            pass
        try:
            session._end_finish()
        except Exception:
            log.debug("%r: closing its socket failed", session, exc_info=True)
        with self._lock:
            self._sessions.discard(session)
            self._kicked.discard(session)
        session._finished.set()
