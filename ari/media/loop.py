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
        self._last_thread: Optional[threading.Thread] = None  # the latest started: close() joins it
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
            thread = self._thread = self._last_thread = threading.Thread(
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
            thread = self._last_thread  # ending, maybe: it lets go of ``_thread`` just before it returns
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
        state = _State(self, selectors.DefaultSelector())
        state.selector.register(wake, selectors.EVENT_READ, None)
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
                    state.register(session)
                    kicked.add(session)
                now = time.monotonic()
                kicked.update(state.due_by(now))
                for session in kicked:
                    if session not in state.closing and session in self._sessions:
                        state.serve(session)
                now = time.monotonic()
                state.end_late_closings(now)
                with self._lock:
                    busy = bool(self._kicked or self._new or not self._sessions)
                for key, events in state.selector.select(0.0 if busy else state.timeout(now)):
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
                    else:
                        state.ready(session, events)
                        # A burst of reads (every call's frame arriving at once) does not hold
                        # up a frame that came due meanwhile.
                        for late in state.due_by(time.monotonic()):
                            if late not in state.closing and late in self._sessions:
                                state.serve(late)
        except BaseException:  # noqa: B036 - never a dead loop without a word: its sessions close and say why
            log.exception("%r failed", self)
            with self._lock:
                sessions = list(self._sessions)
            for session in sessions:
                session._closed_by("remote", None, "media loop failed")
                state.done(session)
            with self._lock:
                self._thread = None
                if self._wake_w is not None:
                    self._wake_w.close()
                    self._wake_w = None
        finally:
            state.selector.close()
            wake.close()

    def _left(self, session: Any) -> None:
        """``session``'s transport is closed: it leaves the loop."""
        with self._lock:
            self._sessions.discard(session)
            self._kicked.discard(session)
        session._finished.set()


class _State:
    """What one run of a loop's thread keeps: the selector, the due frames, the closing sessions."""

    def __init__(self, loop: MediaLoop, selector: Any) -> None:
        self.loop = loop
        self.selector = selector
        self.due: List[Tuple[float, int, Any]] = []  # (when, entry number, session): a heap
        self.entry: Dict[Any, int] = {}  # each session's live heap entry; older ones are skipped
        self.closing: Dict[Any, float] = {}  # sessions waiting for their far end to close, by deadline
        self.masks: Dict[Any, int] = {}  # what the selector watches each session's socket for
        self.counter = itertools.count()

    def register(self, session: Any) -> None:
        try:
            self.selector.register(session._sock, selectors.EVENT_READ, session)
        except (OSError, ValueError) as error:  # closed before the loop saw it
            session._closed_by("remote", None, f"connection lost ({error})")
            return
        self.masks[session] = selectors.EVENT_READ

    def watch(self, session: Any) -> None:
        """Watch the socket for writing too while bytes wait for it."""
        mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if session._wants_write() else 0)
        if session in self.masks and self.masks[session] != mask:
            self.selector.modify(session._sock, mask, session)
            self.masks[session] = mask

    def due_by(self, now: float) -> List[Any]:
        """The sessions whose next frame is due."""
        out = []
        while self.due and self.due[0][0] <= now:
            _, number, session = heapq.heappop(self.due)
            if self.entry.get(session) == number:
                del self.entry[session]
                out.append(session)
        return out

    def timeout(self, now: float) -> Optional[float]:
        soonest: Optional[float] = self.due[0][0] if self.due else None
        for deadline in self.closing.values():
            soonest = deadline if soonest is None else min(soonest, deadline)
        return None if soonest is None else max(0.0, soonest - now)

    def serve(self, session: Any) -> None:
        """Send what ``session`` has due, and note when its next frame is."""
        when = self._guarded(session, "writer", _serve)
        self.entry.pop(session, None)
        if session._closed:
            self.begin_closing(session)
            return
        if when is not None:
            number = next(self.counter)
            self.entry[session] = number
            heapq.heappush(self.due, (when, number, session))
        self.watch(session)

    def ready(self, session: Any, events: int) -> None:
        """``session``'s socket can be written (``events``) or read."""
        if events & selectors.EVENT_WRITE:
            self._guarded(session, "writer", _writable)
            if not session._wants_write() and session not in self.closing:
                self.loop.kick(session)  # the writer waited for the socket: it goes on
        if session in self.closing:
            if events & selectors.EVENT_READ and session._on_closing_readable():
                del self.closing[session]
                self.done(session)
            else:
                self.watch(session)
            return
        if events & selectors.EVENT_READ and not session._closed:
            self._guarded(session, "reader", _read)
        if session._closed:
            self.entry.pop(session, None)
            self.begin_closing(session)
        else:
            self.watch(session)

    def _guarded(self, session: Any, what: str, step: Any) -> Any:
        """``step(session)``; a failure closes that session, never the loop."""
        try:
            return step(session)
        except MediaError as error:
            if not session._closed:
                log.warning("%r: %s", session, error)
            session._closed_by("remote", None, str(error))
        except Exception:
            log.exception("%r: the media %s failed", session, what)
            session._closed_by("remote", None, "media loop failed")
        return None

    def begin_closing(self, session: Any) -> None:
        try:
            wait = session._begin_finish()
        except Exception:  # closing never raises for a far end already gone
            log.debug("%r: closing failed", session, exc_info=True)
            wait = False
        if wait:
            self.closing[session] = time.monotonic() + CLOSE_WAIT
            self.watch(session)
        else:
            self.done(session)

    def end_late_closings(self, now: float) -> None:
        for session, deadline in list(self.closing.items()):
            if deadline <= now:
                del self.closing[session]
                self.done(session)

    def done(self, session: Any) -> None:
        self.entry.pop(session, None)  # a heap entry left behind is skipped when it comes due
        if session in self.masks:
            del self.masks[session]
            try:
                self.selector.unregister(session._sock)
            except (KeyError, ValueError, OSError):  # already gone
                pass
        try:
            session._end_finish()
        except Exception:
            log.debug("%r: closing its socket failed", session, exc_info=True)
        self.loop._left(session)


def _serve(session: Any) -> Optional[float]:
    """Send what ``session`` has due; when its next frame is due (None: nothing queued, or closed)."""
    session._flush_commands()  # first: a command asked for before a mark goes before it
    return session._pump()


def _writable(session: Any) -> None:
    session._on_writable()


def _read(session: Any) -> None:
    """Read what ``session``'s socket has (a transport returns False once the far end is gone)."""
    alive = session._on_readable()
    pending = getattr(session._sock, "pending", None)  # TLS: bytes already decrypted wait there
    while alive and pending is not None and pending():
        alive = session._on_readable()
    if not alive:
        session._closed_by("remote", None, "hung up")  # once: a transport may have said why already
