"""The loopback ARI server: Asterisk's HTTP + WebSocket surface on one local port.

Its one job is the server's life and its HTTP side: the ``ari-sim`` thread and its asyncio
loop, the listening socket, HTTP Basic / ``api_key`` auth, serving the description under
``/ari/api-docs``, routing each REST request by the carried description, having
``checks.py`` check its parameters and the backend (``backend.py``) answer it, and turning
the backend's ``SimResponse`` into HTTP.  The events WebSocket at ``/ari/events`` is upgraded
here and then handed to ``events_socket.py`` (registration, outboxes, RESTRequest answers
framed by ``framing.py``); simulated time is ``clock.py``'s.  It knows nothing of channels or
bridges.

It is the only module that imports aiohttp.  Everything runs on one asyncio loop in one
daemon thread named ``ari-sim``; the backend, the scheduler and the event sink are only ever
used on that thread (``call_in_loop`` gets there from others).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import json
import logging
import ssl
import threading
import time
import uuid
from typing import Any, Callable, Dict, Mapping, Optional, Set, TypeVar
from urllib.parse import unquote

from aiohttp import web

from . import description as _description
from .backend import Backend, SimRequest, SimResponse
from .checks import OperationChecks
from .clock import LoopScheduler, asterisk_timestamp
from .events_socket import EventSockets
from .framing import JSON, encode

log = logging.getLogger(__name__)

T = TypeVar("T")

_REALM = 'Basic realm="Asterisk REST Interface"'


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, body=encode({"message": message}).encode(), headers={"Content-Type": JSON})


def _unauthorised() -> web.Response:
    return web.Response(
        status=401,
        body=b'{"message":"Authentication required"}',
        headers={"Content-Type": JSON, "WWW-Authenticate": _REALM},
    )


def _without_credentials(headers: Mapping[str, str]) -> Dict[str, str]:
    # A backend never needs them, and a recorded request must not show them.
    return {k: v for k, v in headers.items() if k.lower() != "authorization"}


class LoopbackServer:
    """An ARI server on a local port, answering from ``backend``.

    ``start()`` returns once listening (``port=0`` picks a free port, see ``url``); ``stop()``
    closes every socket and joins the ``ari-sim`` thread.  Also a context manager.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "asterisk",
        password: str = "asterisk",
        description: Optional[Dict[str, Any]] = None,
        speed: float = 1.0,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        self.backend = backend
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.speed = float(speed)
        self.ssl_context = ssl_context  # serve https and wss, like an Asterisk with TLS enabled
        self.description = description if description is not None else _description.load()
        self.asterisk_id = ":".join(f"{b:02x}" for b in uuid.uuid4().bytes[:6])
        self._router = _description.Routes(self.description)
        self._checks = OperationChecks(self.description)
        self._basic = "Basic " + base64.b64encode((f"{username}:{password}").encode()).decode()
        self._api_key = f"{username}:{password}"
        self._docs: Dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._stop_event: Optional[asyncio.Event] = None
        self._start_error: Optional[BaseException] = None
        self._stopped = False
        self.scheduler: Optional[LoopScheduler] = None
        #: the events sockets; also the backend's EventSink
        self.events = EventSockets(backend, self.asterisk_id, self._timestamp, self._serve_socket_request)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> LoopbackServer:
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("a LoopbackServer can be started only once")
            self._thread = threading.Thread(target=self._run, name="ari-sim", daemon=True)
            self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"the loopback server did not start within {timeout}s")
        if self._start_error is not None:
            self.stop()
            error = self._start_error
            raise RuntimeError(f"the loopback server failed to start: {error}") from error
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every socket and join the thread (idempotent; bounded by ``timeout``)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._request_stop)
            except RuntimeError:  # the loop already closed (failed start)
                pass
        if thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the ari-sim thread did not stop within %ss", timeout)

    @property
    def running(self) -> bool:
        """Started, serving, and not stopped (``call_in_loop`` works)."""
        return self._ready.is_set() and not self._stopped and self._start_error is None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def call_in_loop(self, fn: Callable[..., T], *args: Any, timeout: float = 30.0) -> T:
        """Run ``fn(*args)`` on the server's loop thread, wait, return its result or re-raise."""
        loop = self._loop
        if loop is None or loop.is_closed() or not self._ready.is_set():
            raise RuntimeError("the loopback server is not running")
        if threading.current_thread() is self._thread:
            return fn(*args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as e:  # re-raised in the caller's thread
                future.set_exception(e)

        loop.call_soon_threadsafe(run)
        return future.result(timeout)

    # -- applications ----------------------------------------------------------------------

    def connected_apps(self) -> Set[str]:
        """Applications currently held by an events WebSocket (any thread)."""
        return self.events.connected_apps()

    def wait_for_app(self, app: str, timeout: float = 5.0) -> bool:
        """Wait until ``app`` has an events WebSocket; False on timeout."""
        return self.events.wait_for_app(app, timeout)

    def wait_for_no_app(self, app: str, timeout: float = 5.0) -> bool:
        """Wait until no events WebSocket holds ``app``; False on timeout."""
        return self.events.wait_for_no_app(app, timeout)

    def drop_websockets(self) -> int:
        """Abruptly close every events WebSocket (no close frame); returns how many."""
        return self.call_in_loop(self.events.drop_all)

    # -- the loop thread -------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self._startup())
            except BaseException as e:
                self._start_error = e
                self._ready.set()
                loop.run_until_complete(self._cleanup())
                return
            self._ready.set()
            assert self._stop_event is not None
            loop.run_until_complete(self._stop_event.wait())
            loop.run_until_complete(self._shutdown())
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def _request_stop(self) -> None:
        if self._stop_event is not None:
            self._stop_event.set()

    async def _startup(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        if self._stopped:
            self._stop_event.set()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])
        # Nothing awaits from here on, so no request is served before the backend is bound.
        self.scheduler = LoopScheduler(loop, self.speed)
        docs = _description.render_swagger(self.description, self.url + "/ari")
        self._docs = {name: encode(doc).encode() for name, doc in docs.items()}
        self.backend.bind(self.scheduler, self.events)

    async def _shutdown(self) -> None:
        await self.events.close_all()
        await self._cleanup()

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- HTTP ------------------------------------------------------------------------------

    def _authorised(self, header: Optional[str], api_key: Optional[str]) -> bool:
        if header is not None:
            if header == self._basic:
                return True
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "basic":
                try:
                    return base64.b64decode(token.strip(), validate=True).decode() == self._api_key
                except (binascii.Error, UnicodeDecodeError):
                    return False
        return api_key is not None and api_key == self._api_key

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        url = request.rel_url
        raw = url.raw_path
        if raw.startswith("/media/"):  # chan_websocket's media connections: no auth, as on Asterisk
            from . import media_socket

            return await media_socket.serve(request, self.backend, unquote(raw[7:]))
        if not raw.startswith("/ari/"):
            return _error(404, "Resource not found")
        query = url.query
        if not self._authorised(request.headers.get("Authorization"), query.get("api_key")):
            return _unauthorised()
        sub = raw[4:]
        if sub.startswith("/api-docs/"):
            return self._api_docs(request.method, sub[10:])
        match = self._match(request.method, sub)
        if isinstance(match, SimResponse):
            return self._to_http(match)
        params = {k: v for k, v in query.items() if k != "api_key"}
        if match.operation.get("upgrade") == "websocket":
            return await self._events_socket(request, params)
        body = None
        if request.body_exists:
            data = await request.read()
            if data.strip():
                try:
                    body = json.loads(data)
                except ValueError:
                    return _error(400, "Error parsing request body")
        return self._to_http(self._answer(match, request.method, sub, params, body, request.headers, "http"))

    def _match(self, method: str, path: str) -> Any:
        """The operation ``method path`` names (path raw, under /ari), or Asterisk's 404/405."""
        try:
            return self._router.match(method, path)
        except _description.NoSuchMethod:
            return SimResponse(405, {"message": "Invalid method"})
        except _description.NoSuchPath:
            return SimResponse(404, {"message": "Resource not found"})

    def _answer(
        self,
        match: _description.RouteMatch,
        method: str,
        path: str,
        query: Dict[str, str],
        body: Any,
        headers: Mapping[str, str],
        transport: str,
    ) -> SimResponse:
        """Check a routed request's parameters and have the backend answer it, for either transport."""
        problem = self._checks.check(match.operation, query, body)
        if problem is not None:
            return SimResponse(problem[0], {"message": problem[1]})
        sim = SimRequest(
            match.resource,
            match.nickname,
            method,
            unquote(path),
            match.path_params,
            query,
            body,
            _without_credentials(headers),
            transport,
        )
        try:
            return self.backend.handle(sim)
        except Exception:
            log.exception("the backend failed on %s %s", method, sim.path)
            return SimResponse(500, {"message": "Internal server error"})

    def _serve_socket_request(
        self, method: str, path: str, query: Dict[str, str], body: Any, headers: Mapping[str, str]
    ) -> Optional[SimResponse]:
        """A RESTRequest made on an events socket: routed and answered as over HTTP."""
        if path.startswith("/api-docs/"):  # Asterisk serves its description over the socket too
            doc = self._docs.get(path[10:])
            if doc is None:
                return SimResponse(404, {"message": "Resource not found"})
            if method != "GET":
                return SimResponse(405, {"message": "Unsupported method"})
            return SimResponse(200, json.loads(doc))
        match = self._match(method, path)
        if isinstance(match, SimResponse):
            return match
        if match.operation.get("upgrade") == "websocket":
            return None
        return self._answer(match, method, path, query, body, headers, "websocket")

    def _api_docs(self, method: str, name: str) -> web.Response:
        doc = self._docs.get(name)
        if doc is None:
            return _error(404, "Resource not found")
        if method != "GET":
            return _error(405, "Invalid method")
        return web.Response(body=doc, headers={"Content-Type": JSON})

    @staticmethod
    def _to_http(r: SimResponse) -> web.Response:
        headers = dict(r.headers)
        if r.raw is not None:
            headers.setdefault("Content-Type", r.content_type)
            return web.Response(status=r.status, body=r.raw, headers=headers)
        if r.body is None or r.status == 204:
            return web.Response(status=r.status, headers=headers or None)
        headers.setdefault("Content-Type", r.content_type)
        return web.Response(status=r.status, body=encode(r.body).encode(), headers=headers)

    # -- the events WebSocket -------------------------------------------------------------

    async def _events_socket(self, request: web.Request, params: Dict[str, str]) -> web.StreamResponse:
        apps = list(dict.fromkeys(a for a in params.get("app", "").split(",") if a))
        if not apps:
            return _error(400, "Missing parameter app")
        subscribe_all = params.get("subscribeAll", "false").lower()
        if subscribe_all not in ("true", "false"):
            value = params["subscribeAll"]
            return _error(400, f"Invalid subscribeAll: {value!r} is not true or false")
        ws = web.WebSocketResponse(autoping=True, compress=False, protocols=("ari",))
        if not ws.can_prepare(request).ok:
            return _error(400, "WebSocket upgrade required")
        await ws.prepare(request)
        sock = self.events.open(
            ws, request.transport, apps, subscribe_all == "true", _without_credentials(request.headers)
        )
        try:
            async for message in ws:  # aiohttp answers pings itself
                if message.type == web.WSMsgType.TEXT:
                    await self.events.received(sock, message.data)
        finally:
            self.events.closed(sock)
        return ws

    def _timestamp(self) -> str:
        if self.scheduler is not None:
            return self.scheduler.timestamp()
        return asterisk_timestamp(time.time())
