"""The events WebSockets of the loopback server: which socket holds which application, and what each sends.

Its one job is Asterisk's events socket once the upgrade is done: one socket per application
(a newer socket takes an application over and the old one gets ``ApplicationReplaced``), an
ordered outbox per socket drained by one writer task, events from the backend (it is the
backend's ``EventSink``), and the ``RESTRequest`` frames a client sends on it, answered with
``RESTResponse`` (framed by ``framing``) queued ahead of the events the request caused.  It
must not import aiohttp (``server.py`` does the upgrade and reads the frames) nor route or
check requests itself (the ``serve`` callable it is given does).

Everything here but ``connected_apps`` and the ``wait_for_*`` methods runs on the server's
loop thread.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Set

from . import framing
from .backend import Backend, SimResponse

log = logging.getLogger(__name__)

#: Routes, checks and answers one REST request made on a socket: ``(method, path under /ari,
#: query, body, the socket's upgrade headers)``; None for the events socket itself.
Serve = Callable[[str, str, Dict[str, str], Any, Mapping[str, str]], Optional[SimResponse]]


class EventSocket:
    """One events WebSocket: its apps and an ordered outbox drained by one writer task."""

    __slots__ = ("ws", "transport", "apps", "first_app", "headers", "outbox", "wakeup", "writer", "sending", "closed")

    def __init__(self, ws: Any, transport: Any, first_app: str, headers: Mapping[str, str]) -> None:
        self.ws = ws  # the server's WebSocket response: send_str() and close()
        self.transport = transport  # abort() cuts the connection without a close frame
        self.first_app = first_app  # Asterisk names it in every RESTResponse
        self.headers = headers  # the upgrade request's, passed to REST requests made here
        self.apps: Set[str] = set()
        self.outbox: Deque[str] = collections.deque()
        self.wakeup = asyncio.Event()
        self.writer: Optional[asyncio.Task[None]] = None
        self.sending = False  # a coroutine is draining the outbox: one at a time keeps the order
        self.closed = False

    def push(self, text: str) -> None:
        if not self.closed:
            self.outbox.append(text)
            self.wakeup.set()


class EventSockets:
    """The open events sockets of one server, and the backend's ``EventSink``."""

    def __init__(self, backend: Backend, asterisk_id: str, timestamp: Callable[[], str], serve: Serve) -> None:
        self.backend = backend
        self.asterisk_id = asterisk_id
        self._timestamp = timestamp
        self._serve = serve
        self._apps: Dict[str, EventSocket] = {}
        self._sockets: Set[EventSocket] = set()
        self._connected: Set[str] = set()  # mirror of _apps' keys, readable from any thread
        self._connected_cond = threading.Condition()

    # -- any thread ------------------------------------------------------------------------

    def connected_apps(self) -> Set[str]:
        with self._connected_cond:
            return set(self._connected)

    def wait_for_app(self, app: str, timeout: float) -> bool:
        with self._connected_cond:
            return self._connected_cond.wait_for(lambda: app in self._connected, timeout)

    def wait_for_no_app(self, app: str, timeout: float) -> bool:
        with self._connected_cond:
            return self._connected_cond.wait_for(lambda: app not in self._connected, timeout)

    # -- the EventSink ---------------------------------------------------------------------

    def send(self, app: str, event: Dict[str, Any]) -> None:
        """Deliver ``event`` (compact JSON) to the socket holding ``app``."""
        sock = self._apps.get(app)
        if sock is not None:
            sock.push(framing.encode(event))

    def send_text(self, app: str, text: str) -> None:
        """Send ``text`` as it is (it need not be JSON)."""
        sock = self._apps.get(app)
        if sock is not None:
            sock.push(text)

    # -- sockets ---------------------------------------------------------------------------

    def open(
        self, ws: Any, transport: Any, apps: List[str], subscribe_all: bool, headers: Mapping[str, str]
    ) -> EventSocket:
        """A socket whose upgrade succeeded: register its ``apps`` and start its writer."""
        sock = EventSocket(ws, transport, apps[0], headers)
        self._sockets.add(sock)
        sock.writer = asyncio.get_running_loop().create_task(self._write_loop(sock))
        for app in apps:
            self._register(sock, app, subscribe_all)
        return sock

    async def received(self, sock: EventSocket, text: str) -> None:
        """A text frame from the client: answer it, and send the answer now."""
        self._request(sock, text)
        if not sock.sending:
            await self._drain(sock)  # the answer now, not a loop turn later

    def closed(self, sock: EventSocket) -> None:
        """The socket's reader ended."""
        self._unregister(sock)
        sock.closed = True
        sock.wakeup.set()
        self._sockets.discard(sock)

    def drop_all(self) -> int:
        """Abruptly close every socket (no close frame); returns how many."""
        socks = list(self._sockets)
        for sock in socks:
            self._unregister(sock)
            if sock.transport is not None:
                sock.transport.abort()
        return len(socks)

    async def close_all(self) -> None:
        """A close frame (1001) to every socket at once, bounded; whoever lingers is cut off."""
        socks = list(self._sockets)
        for sock in socks:
            self._unregister(sock)
        if not socks:
            return
        closing = [asyncio.ensure_future(s.ws.close(code=1001, message=b"shutdown")) for s in socks]
        await asyncio.wait(closing, timeout=1.0)
        for sock, task in zip(socks, closing):
            if task.done():
                if not task.cancelled() and task.exception() is not None:
                    log.debug("closing an events socket failed: %s", task.exception())
                continue
            task.cancel()
            if sock.transport is not None:
                sock.transport.abort()

    # -- sockets the simulator opened itself (outbound.py: Asterisk connecting out) ------------

    def hold(self, sock: EventSocket, apps: List[str]) -> None:
        """``sock``, made and written by its owner, takes ``apps`` (outlives its connections)."""
        for app in apps:
            self._register(sock, app, False)

    def answer(self, sock: EventSocket, text: str) -> None:
        """Answer a frame read on such a socket: the answer is queued in its outbox."""
        self._request(sock, text)

    def release(self, sock: EventSocket) -> None:
        """Such a socket gives its apps up."""
        self._unregister(sock)

    # -- REST over the socket --------------------------------------------------------------

    def _request(self, sock: EventSocket, text: str) -> None:
        """Answer one frame as Asterisk's ari_websocket_requests.c does."""
        mark = len(sock.outbox)  # events the request causes are queued behind its answer
        try:
            call = framing.read_request(text)
        except framing.RefusedFrame as refused:
            answer = refused.response
        else:
            served = self._serve(call.method, "/" + call.uri, call.query, call.body, sock.headers)
            if served is None:
                return  # the events socket itself: Asterisk sends nothing back
            if served.raw is not None:
                answer = framing.response(call, framing.NOT_ACCEPTABLE)  # no binary here
            else:
                answer = framing.response(call, served.status, None if served.status == 204 else served.body)
        app = sock.first_app
        if not getattr(self.backend, "event_allowed", lambda a, t: True)(app, "RESTResponse"):
            return  # Asterisk filters its answers like any event
        framing.stamp(answer, app, self._timestamp(), self.asterisk_id)
        if not sock.closed:
            # No wakeup: the socket's reader drains the outbox next, or a drain under way does.
            sock.outbox.insert(mark, framing.encode(answer))

    # -- writing ---------------------------------------------------------------------------

    async def _write_loop(self, sock: EventSocket) -> None:
        while not sock.closed:
            if not sock.sending:
                await self._drain(sock)
            if sock.closed:
                return
            sock.wakeup.clear()
            if not sock.outbox or sock.sending:
                await sock.wakeup.wait()

    @staticmethod
    async def _drain(sock: EventSocket) -> None:
        outbox, ws = sock.outbox, sock.ws
        sock.sending = True
        try:
            while outbox:
                await ws.send_str(outbox.popleft())
        except Exception as e:  # a socket dying mid-send must not become a stray task error
            log.debug("events socket closed while sending: %r", e)
            sock.closed = True
        finally:
            sock.sending = False

    # -- applications ----------------------------------------------------------------------

    def _register(self, sock: EventSocket, app: str, subscribe_all: bool) -> None:
        old = self._apps.get(app)
        if old is not None and old is not sock:
            old.apps.discard(app)
            old.push(
                framing.encode(
                    {
                        "type": "ApplicationReplaced",
                        "timestamp": self._timestamp(),
                        "application": app,
                        "asterisk_id": self.asterisk_id,
                    }
                )
            )
        self._apps[app] = sock
        sock.apps.add(app)
        with self._connected_cond:
            self._connected.add(app)
            self._connected_cond.notify_all()
        try:
            self.backend.app_connected(app, subscribe_all)
        except Exception:
            log.exception("the backend failed on app_connected(%r)", app)

    def _unregister(self, sock: EventSocket) -> None:
        gone: List[str] = []
        for app in sock.apps:
            if self._apps.get(app) is sock:
                del self._apps[app]
                gone.append(app)
        sock.apps.clear()
        if not gone:
            return
        with self._connected_cond:
            self._connected.difference_update(gone)
            self._connected_cond.notify_all()
        for app in gone:
            try:
                self.backend.app_disconnected(app)
            except Exception:
                log.exception("the backend failed on app_disconnected(%r)", app)
