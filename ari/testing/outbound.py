"""The simulator connecting out: Asterisk's outbound ARI WebSockets, played against an application.

Its one job is the client side of ``ari.conf`` ``type = outbound_websocket`` as Asterisk 22
plays it (observed on 22.10.1, see tests/fixtures/outbound): on each connect and reconnect
``ApplicationRegistered`` per application; events and ``RESTResponse`` answers on that
socket; ``RESTRequest`` answered exactly as on an inbound events socket (``server.py``
answers them).

- ``persistent``: one connection for ``apps``, made at start; the apps stay registered while
  it is down (Stasis() still succeeds), events queue and go out on reconnect, before the new
  ``ApplicationRegistered``; it retries every ``reconnect_interval`` for ever.
- ``per_call``: each Stasis(app) registers the temporary app ``<app>:<channel name>`` and opens
  a connection: ``ApplicationRegistered``, then 0.5 s later StasisStart; closed with 1000
  3 s after StasisEnd; a connection the application drops mid-call is reopened (no new
  StasisStart); a connection that cannot be made fails the call (it is hung up).

Times are simulated seconds (the simulator's ``speed``).  It runs on the simulator's loop
thread and must hold no call logic (``state.calls`` does) nor answer requests itself.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl as ssl_module
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Set

import aiohttp

from . import framing
from .events_socket import EventSocket
from .server import LoopbackServer

log = logging.getLogger(__name__)

MODES = ("persistent", "per_call")
REGISTERED_TO_START = 0.5  # per call: ApplicationRegistered, then StasisStart this much later
END_TO_CLOSE = 3.0  # per call: the socket closes this long after StasisEnd (3.5 s measured)


@dataclass(frozen=True)
class Outbound:
    """One ``websocket_client.conf`` connection: where Asterisk connects, for which apps, how.

    ``apps``: the applications it carries (``persistent``: required; ``per_call``: the apps
    whose Stasis() opens a connection, every app no inbound socket holds when empty).
    """

    url: str
    apps: Sequence[str] = ()
    mode: str = "persistent"
    username: Optional[str] = None
    password: Optional[str] = None
    subprotocol: Optional[str] = "ari"
    reconnect_interval: float = 1.0
    ssl: Any = None  # an SSLContext, or False not to verify, for wss://

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.mode == "persistent" and not self.apps:
            raise ValueError("a persistent outbound connection needs its apps")
        if not self.url.startswith(("ws://", "wss://")):
            raise ValueError(f"an outbound url is ws:// or wss://, not {self.url!r}")
        if isinstance(self.apps, str):
            object.__setattr__(self, "apps", tuple(a for a in self.apps.split(",") if a))


class _OutSocket(EventSocket):
    """An events socket that the simulator opened: outlives its connections (persistent ones)."""

    __slots__ = ("spec", "names", "ended", "channel", "lock", "on_end")

    def __init__(self, spec: Outbound, names: List[str]) -> None:
        super().__init__(None, None, names[0], {})
        self.spec = spec
        self.names = names
        self.ended = False  # per call: StasisEnd went out, nothing more follows
        self.channel: Any = None
        self.lock = asyncio.Lock()
        self.on_end: Any = None

    def push(self, text: str) -> None:
        if self.closed or self.ended:
            return
        self.outbox.append(text)
        self.wakeup.set()
        if self.channel is not None and '"type":"StasisEnd"' in text and self.on_end is not None:
            self.ended = True  # Asterisk sent this temporary app nothing after StasisEnd
            self.on_end(self)


class OutboundConnections:
    """The simulator's outbound connections; also the state model's ``stasis_gate`` for per-call apps."""

    def __init__(self, server: LoopbackServer, world: Any, specs: Sequence[Outbound]) -> None:
        self.server = server
        self.world = world
        self.specs = list(specs)
        self._sockets: Set[_OutSocket] = set()
        self._tasks: Set[asyncio.Task] = set()
        self._session: Optional[aiohttp.ClientSession] = None
        self._stopping = False
        #: connections made (reconnects included), per url
        self.connects: Dict[str, int] = {}

    # -- lifecycle (from any thread) --------------------------------------------------------
    def start(self) -> None:
        self.server.call_in_loop(self._start)

    def stop(self, timeout: float = 5.0) -> None:
        try:
            future = self.server.call_in_loop(self._begin_stop)
        except RuntimeError:
            return  # the loop is gone: nothing left to close
        try:
            future.result(timeout)
        except Exception as exc:
            log.debug("closing the outbound connections: %r", exc)

    def takes(self, app: str) -> bool:
        """Whether Stasis(``app``) opens a per-call connection (called on the loop)."""
        return self._per_call_spec(app) is not None

    # -- on the loop -------------------------------------------------------------------------
    def _start(self) -> None:
        self._session = aiohttp.ClientSession()
        self.world.stasis_gate = self
        for spec in self.specs:
            if spec.mode == "persistent":
                sock = _OutSocket(spec, list(spec.apps))
                for app in spec.apps:  # registered at load; Stasis() works while disconnected
                    self.server.events.hold(sock, [app])
                self._spawn(self._run(sock))

    def _begin_stop(self) -> Any:
        self._stopping = True
        self.world.stasis_gate = None
        return asyncio.run_coroutine_threadsafe(self._stop(), asyncio.get_running_loop())

    async def _stop(self) -> None:
        for sock in list(self._sockets):
            sock.closed = True
            sock.wakeup.set()
            ws = sock.ws
            if ws is not None and not ws.closed:
                try:
                    await asyncio.wait_for(ws.close(code=1001), 1.0)
                except Exception as exc:
                    log.debug("closing an outbound socket: %r", exc)
            self.server.events.release(sock)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        if self._session is not None:
            await self._session.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _per_call_spec(self, app: str) -> Optional[Outbound]:
        if self._stopping or ":" in app:
            return None
        for spec in self.specs:
            if spec.mode == "per_call" and (app in spec.apps or (not spec.apps and not self.world.registered(app))):
                return spec
        return None

    def enter(self, ch: Any, app: str, args: List[str]) -> None:
        """Stasis(``app``) of a per-call app: the temporary app and its connection."""
        spec = self._per_call_spec(app)
        assert spec is not None
        temporary = f"{app}:{ch.name}"
        sock = _OutSocket(spec, [temporary])
        sock.channel = ch
        sock.on_end = self._ended
        self.server.events.hold(sock, [temporary])
        data = ",".join([app] + list(args))  # Asterisk shows the configured app, not the temporary one

        def started() -> None:
            if ch.id in self.world.channels and not sock.closed:
                self.world.calls.enter_stasis(ch, temporary, list(args), app_data=data)

        def failed() -> None:
            self.server.events.release(sock)
            if ch.id in self.world.channels:
                log.warning("outbound connection for %s failed: the call leaves Stasis (FAILED)", temporary)
                self.world.calls.hangup(ch, 16, soft=False, request=False)

        self._spawn(self._run(sock, started, failed))

    def _ended(self, sock: _OutSocket) -> None:
        def close() -> None:
            self._spawn(self._close(sock, 1000))

        self.world.later(END_TO_CLOSE, close)

    async def _close(self, sock: _OutSocket, code: int) -> None:
        sock.closed = True
        await self._flush(sock)
        ws = sock.ws
        if ws is not None and not ws.closed:
            await ws.close(code=code)
        self.server.events.release(sock)

    async def _run(self, sock: _OutSocket, started: Any = None, failed: Any = None) -> None:
        """Connect, and reconnect while the socket is wanted; read the application's requests."""
        spec, first = sock.spec, True
        self._sockets.add(sock)
        writer = asyncio.get_running_loop().create_task(self._write_loop(sock))
        try:
            while not sock.closed and not self._stopping:
                try:
                    ws = await self._connect(spec)
                except Exception as exc:
                    log.info("outbound connection to %s failed: %s", spec.url, exc)
                    if first and failed is not None:
                        failed()
                        return
                    await asyncio.sleep(spec.reconnect_interval / self.server.speed)
                    continue
                self.connects[spec.url] = self.connects.get(spec.url, 0) + 1
                sock.ws = ws
                if started is None or not first:
                    await self._flush(sock)  # what queued while down goes first
                for name in sock.names:
                    await ws.send_str(self._registered(name))
                if first and started is not None:
                    self.world.later(REGISTERED_TO_START, started)
                first = False
                await self._flush(sock)
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        self.server.events.answer(sock, message.data)
                        await self._flush(sock)
                sock.ws = None
                if not sock.closed and not self._stopping:
                    log.info("outbound connection to %s lost: reconnecting", spec.url)
                    await asyncio.sleep(spec.reconnect_interval / self.server.speed)
        finally:
            writer.cancel()
            self._sockets.discard(sock)

    async def _connect(self, spec: Outbound) -> Any:
        assert self._session is not None
        headers = {}
        if spec.username is not None:  # as websocket_client.conf's username / password
            token = base64.b64encode(f"{spec.username}:{spec.password or ''}".encode()).decode()
            headers["Authorization"] = "Basic " + token
        ssl: Any = spec.ssl if isinstance(spec.ssl, ssl_module.SSLContext) or spec.ssl is False else True
        return await self._session.ws_connect(
            spec.url,
            protocols=(spec.subprotocol,) if spec.subprotocol else (),
            headers=headers,
            ssl=ssl,
            autoping=True,
            max_msg_size=0,
            timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
        )

    def _registered(self, app: str) -> str:
        return framing.encode(
            {
                "type": "ApplicationRegistered",
                "timestamp": self.world.timestamp(),
                "application": app,
                "asterisk_id": self.server.asterisk_id,
            }
        )

    async def _write_loop(self, sock: _OutSocket) -> None:
        while True:
            await sock.wakeup.wait()
            sock.wakeup.clear()
            await self._flush(sock)

    @staticmethod
    async def _flush(sock: _OutSocket) -> None:
        """Send the outbox in order while connected; what cannot go stays for the next connection."""
        async with sock.lock:
            outbox = sock.outbox
            while outbox:
                ws = sock.ws
                if ws is None or ws.closed:
                    return
                try:
                    await ws.send_str(outbox[0])
                except Exception as exc:
                    log.debug("outbound socket closed while sending: %r", exc)
                    return
                outbox.popleft()


__all__ = ["MODES", "Outbound", "OutboundConnections"]
