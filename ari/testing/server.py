"""The loopback ARI server: Asterisk's HTTP + WebSocket surface on one local port.

Its one job is the *wire*: sockets, HTTP Basic / ``api_key`` auth, serving the description
under ``/ari/api-docs``, checking each REST request against the carried description (path,
method, required and typed parameters) and turning the backend's ``SimResponse`` into HTTP; the
events WebSocket at ``/ari/events`` with Asterisk's one-socket-per-application rule, and the
``RESTRequest`` messages a client may send on it (answered with ``RESTResponse``, framed as
Asterisk 22 frames them, each queued ahead of the events its request caused).  It knows
nothing of channels or bridges: a backend (``backend.py``) answers every checked request.

It is the only module (with ``mock.py``'s use of it) that imports aiohttp.  Everything runs on
one asyncio loop in one daemon thread named ``ari-sim``; the backend, the scheduler and the
event sink are only ever used on that thread (``call_in_loop`` gets there from others).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import concurrent.futures
import functools
import json
import logging
import ssl
import threading
import time
import uuid
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Set, TypeVar
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from . import description as _description
from .backend import Backend, SimRequest, SimResponse

log = logging.getLogger(__name__)

T = TypeVar("T")

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_REALM = 'Basic realm="Asterisk REST Interface"'
_JSON = "application/json"


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, body=_ENCODE({"message": message}).encode(),
                        headers={"Content-Type": _JSON})


def _unauthorised() -> web.Response:
    return web.Response(status=401, body=b'{"message":"Authentication required"}',
                        headers={"Content-Type": _JSON, "WWW-Authenticate": _REALM})


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
        try:
            fn()
        except Exception:
            log.exception("scheduled callback %r failed", fn)

    def now(self) -> float:
        return (self._loop.time() - self._t0) * self.speed

    def timestamp(self) -> str:
        return asterisk_timestamp(self._wall0 + self.now())


#: Asterisk's reason phrases (ast_ari_response_* and its handlers)
_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 412: "Precondition Failed", 413: "Request Entity Too Large",
            422: "Unprocessable Entity", 500: "Internal Server Error", 501: "Not Implemented",
            503: "Service Unavailable"}
_METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"})


class _BadRESTRequest(Exception):
    """A RESTRequest Asterisk refuses before routing it: 400 with this message."""


class _Socket:
    """One events WebSocket: its apps and an ordered outbox drained by one writer task."""

    __slots__ = ("ws", "transport", "apps", "first_app", "headers", "outbox", "wakeup", "writer",
                 "sending", "closed")

    def __init__(self, ws: web.WebSocketResponse, transport: Optional[asyncio.BaseTransport],
                 first_app: str, headers: Mapping[str, str]):
        self.ws = ws
        self.transport: Any = transport
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


class EventDelivery:
    """The backend's ``EventSink``: compact JSON to the socket holding an application."""

    def __init__(self, apps: Dict[str, _Socket], asterisk_id: str) -> None:
        self._apps = apps
        self.asterisk_id = asterisk_id

    def send(self, app: str, event: Dict[str, Any]) -> None:
        sock = self._apps.get(app)
        if sock is not None:
            sock.push(_ENCODE(event))

    def send_text(self, app: str, text: str) -> None:
        """Send ``text`` as it is (it need not be JSON)."""
        sock = self._apps.get(app)
        if sock is not None:
            sock.push(text)


class _ParamCheck:
    __slots__ = ("name", "required", "kind", "multiple", "allowed", "low", "high", "missing")

    def __init__(self, p: Dict[str, Any]) -> None:
        self.name: str = p["name"]
        self.required = bool(p.get("required", False))
        dtype = p.get("dataType", "string")
        self.kind = {"int": "int", "long": "int", "boolean": "bool"}.get(dtype)
        self.multiple = bool(p.get("allowMultiple", False))
        av = p.get("allowableValues") or {}
        self.allowed = frozenset(str(v) for v in av["values"]) if av.get("valueType") == "LIST" \
            else None
        self.low = av.get("min") if av.get("valueType") == "RANGE" else None
        self.high = av.get("max") if av.get("valueType") == "RANGE" else None
        self.missing = missing_message(self.name)

    def check(self, value: str) -> Optional[str]:
        for item in value.split(",") if self.multiple else (value,):
            if self.kind == "int":
                try:
                    number = int(item)
                except ValueError:
                    return f"Invalid {self.name}: {item!r} is not an integer"
                if self.low is not None and number < self.low:
                    return f"Invalid {self.name}: {number} is below the minimum {self.low}"
                if self.high is not None and number > self.high:
                    return f"Invalid {self.name}: {number} is above the maximum {self.high}"
            elif self.kind == "bool" and item.lower() not in ("true", "false"):
                return f"Invalid {self.name}: {item!r} is not true or false"
            if self.allowed is not None and item not in self.allowed:
                return "Invalid {}: {!r} is not one of {}".format(
                    self.name, item, ", ".join(sorted(self.allowed)))
        return None


def missing_message(name: str) -> str:
    """Asterisk's wording for a missing required parameter: "Endpoint must be specified"."""
    return "%s must be specified" % (name[:1].upper() + name[1:])


def _as_query_value(value: Any) -> Optional[str]:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(_as_query_value(v)) for v in value)
    return str(value)


class _OperationCheck:
    """An operation's parameter checks, precomputed once from the description."""

    __slots__ = ("query", "query_names", "body_required")

    def __init__(self, op: Dict[str, Any]) -> None:
        params = op.get("params", [])
        self.query = tuple(_ParamCheck(p) for p in params if p.get("paramType") == "query")
        self.query_names = frozenset(p.name for p in self.query)
        self.body_required = tuple(
            (p["name"], missing_message(p["name"]))
            for p in params if p.get("paramType") == "body" and p.get("required"))

    def check(self, query: Dict[str, str], body: Any) -> Optional[str]:
        if isinstance(body, dict) and self.query_names:
            # Asterisk reads the keys of a JSON body object as query parameters too.
            for key in self.query_names.intersection(body):
                if key not in query:
                    value = _as_query_value(body[key])
                    if value is not None:
                        query[key] = value
        for p in self.query:
            value = query.get(p.name)
            if not value:
                if p.required:
                    return p.missing
                continue
            if p.kind is not None or p.allowed is not None:
                problem = p.check(value)
                if problem is not None:
                    return problem
        for name, missing in self.body_required:
            if not isinstance(body, dict) or name not in body:
                return missing
        return None


class LoopbackServer:
    """An ARI server on a local port, answering from ``backend``.

    ``start()`` returns once listening (``port=0`` picks a free port, see ``url``); ``stop()``
    closes every socket and joins the ``ari-sim`` thread.  Also a context manager.
    """

    def __init__(self, backend: Backend, *, host: str = "127.0.0.1", port: int = 0,
                 username: str = "asterisk", password: str = "asterisk",
                 description: Optional[Dict[str, Any]] = None, speed: float = 1.0,
                 ssl_context: Optional[ssl.SSLContext] = None) -> None:
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
        self._router = _description.Router(self.description)
        self._checks: Dict[int, _OperationCheck] = {
            id(op): _OperationCheck(op) for _, _, op in _description.iter_operations(
                self.description)}
        self._basic = "Basic " + base64.b64encode(
            (f"{username}:{password}").encode()).decode()
        self._api_key = f"{username}:{password}"
        self._docs: Dict[str, bytes] = {}
        self._apps: Dict[str, _Socket] = {}
        self._sockets: Set[_Socket] = set()
        self._connected: Set[str] = set()  # mirror of _apps' keys, readable from any thread
        self._connected_cond = threading.Condition()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._stop_event: Optional[asyncio.Event] = None
        self._start_error: Optional[BaseException] = None
        self._stopped = False
        self.scheduler: Optional[LoopScheduler] = None
        self.events = EventDelivery(self._apps, self.asterisk_id)

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
        with self._connected_cond:
            return set(self._connected)

    def wait_for_app(self, app: str, timeout: float = 5.0) -> bool:
        """Wait until ``app`` has an events WebSocket; False on timeout."""
        with self._connected_cond:
            return self._connected_cond.wait_for(lambda: app in self._connected, timeout)

    def wait_for_no_app(self, app: str, timeout: float = 5.0) -> bool:
        """Wait until no events WebSocket holds ``app``; False on timeout."""
        with self._connected_cond:
            return self._connected_cond.wait_for(lambda: app not in self._connected, timeout)

    def drop_websockets(self) -> int:
        """Abruptly close every events WebSocket (no close frame); returns how many."""
        return self.call_in_loop(self._drop_all)

    def _drop_all(self) -> int:
        socks = list(self._sockets)
        for sock in socks:
            self._unregister(sock)
            if sock.transport is not None:
                sock.transport.abort()
        return len(socks)

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
        self._docs = {name: _ENCODE(doc).encode() for name, doc in docs.items()}
        self.backend.bind(self.scheduler, self.events)

    async def _shutdown(self) -> None:
        socks = list(self._sockets)
        for sock in socks:
            self._unregister(sock)
        if socks:
            # A close frame to every socket at once, bounded; whoever lingers is cut off.
            closing = [asyncio.ensure_future(s.ws.close(code=1001, message=b"shutdown"))
                       for s in socks]
            await asyncio.wait(closing, timeout=1.0)
            for sock, task in zip(socks, closing):
                if task.done():
                    if not task.cancelled() and task.exception() is not None:
                        log.debug("closing an events socket failed: %s", task.exception())
                    continue
                task.cancel()
                if sock.transport is not None:
                    sock.transport.abort()
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
        except _description.MethodNotAllowed:
            return SimResponse(405, {"message": "Invalid method"})
        except _description.NoSuchPath:
            return SimResponse(404, {"message": "Resource not found"})

    def _answer(self, match: _description.RouteMatch, method: str, path: str, query: Dict[str, str],
                body: Any, headers: Mapping[str, str], transport: str) -> SimResponse:
        """Check a routed request's parameters and have the backend answer it, for either transport."""
        problem = self._checks[id(match.operation)].check(query, body)
        if problem is not None:
            return SimResponse(400, {"message": problem})
        sim = SimRequest(match.resource, match.nickname, method, unquote(path), match.path_params,
                         query, body)
        try:
            return self._dispatch(sim, headers, transport)
        except Exception:
            log.exception("the backend failed on %s %s", method, sim.path)
            return SimResponse(500, {"message": "Internal server error"})

    def _dispatch(self, request: SimRequest, headers: Mapping[str, str],
                  transport: str = "http") -> SimResponse:
        """Hand a checked request to the backend (``MockServer`` also records it here)."""
        return self.backend.handle(request)

    def _api_docs(self, method: str, name: str) -> web.Response:
        doc = self._docs.get(name)
        if doc is None:
            return _error(404, "Resource not found")
        if method != "GET":
            return _error(405, "Invalid method")
        return web.Response(body=doc, headers={"Content-Type": _JSON})

    @staticmethod
    def _to_http(r: SimResponse) -> web.Response:
        headers = dict(r.headers)
        if r.raw is not None:
            headers.setdefault("Content-Type", r.content_type)
            return web.Response(status=r.status, body=r.raw, headers=headers)
        if r.body is None or r.status == 204:
            return web.Response(status=r.status, headers=headers or None)
        headers.setdefault("Content-Type", r.content_type)
        return web.Response(status=r.status, body=_ENCODE(r.body).encode(), headers=headers)

    # -- WebSocket -------------------------------------------------------------------------

    async def _events_socket(self, request: web.Request, params: Dict[str, str]
                             ) -> web.StreamResponse:
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
        sock = _Socket(ws, request.transport, apps[0], dict(request.headers))
        self._sockets.add(sock)
        sock.writer = asyncio.get_running_loop().create_task(self._write_loop(sock))
        for app in apps:
            self._register(sock, app, subscribe_all == "true")
        try:
            async for message in ws:  # aiohttp answers pings itself
                if message.type == web.WSMsgType.TEXT:
                    self._socket_request(sock, message.data)
                    if not sock.sending:
                        await self._drain(sock)  # the answer now, not a loop turn later
        finally:
            self._unregister(sock)
            sock.closed = True
            sock.wakeup.set()
            self._sockets.discard(sock)
        return ws

    def _socket_request(self, sock: _Socket, text: str) -> None:
        """Answer one message of the events socket as Asterisk's ari_websocket_requests.c does."""
        mark = len(sock.outbox)  # events the request causes are queued behind its answer
        try:
            message = json.loads(text)
        except ValueError:
            answer: Dict[str, Any] = {"type": "RESTResponse", "transaction_id": "", "request_id": "",
                                      "status_code": 400,
                                      "reason_phrase": "Failed to parse request message JSON",
                                      "uri": ""}
        else:
            answered = self._rest_answer(sock, message if isinstance(message, dict) else {})
            if answered is None:
                return
            answer = answered
        app = sock.first_app
        if not getattr(self.backend, "event_allowed", lambda a, t: True)(app, "RESTResponse"):
            return  # Asterisk filters its answers like any event
        answer["application"] = app
        answer["timestamp"] = self._timestamp()
        answer["asterisk_id"] = self.asterisk_id
        if not sock.closed:
            # No wakeup: the socket's reader drains the outbox next, or a drain under way does.
            sock.outbox.insert(mark, _ENCODE(answer))

    def _rest_answer(self, sock: _Socket, message: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        def text(key: str) -> str:
            value = message.get(key)
            return value if isinstance(value, str) else ""

        uri, _, query_string = text("uri").partition("?")
        answer: Dict[str, Any] = {"type": "RESTResponse", "transaction_id": text("transaction_id"),
                                  "request_id": text("request_id")}
        try:
            query, body = self._rest_parameters(message, query_string)
            status, body_out = self._rest_invoke(sock, text("method"), uri, query, body)
        except _BadRESTRequest as bad:
            status, body_out = 400, {"message": str(bad)}
            typed = message.get("type") == "RESTRequest"  # Asterisk reads the uri after the type
            answer.update(status_code=400, reason_phrase="Bad request", uri=uri if typed else "")
        else:
            if status == 0:
                return None  # the events socket itself: Asterisk sends nothing back
            reason = "Not Acceptable.  Use HTTP GET" if status == 406 else _REASONS.get(status, "")
            answer.update(status_code=status, reason_phrase=reason, uri=uri)
        if body_out is not None:
            try:
                encoded = _ENCODE(body_out)
            except (TypeError, ValueError):  # a backend's bug must not end the socket
                log.exception("the backend's answer to %s %s is not JSON", text("method"), uri)
                answer.update(status_code=500, reason_phrase=_REASONS[500])
                encoded = _ENCODE({"message": "Internal server error"})
            answer["content_type"] = _JSON
            answer["message_body"] = encoded
        return answer

    @staticmethod
    def _rest_parameters(message: Dict[str, Any], query_string: str) -> Any:
        """The query and JSON body of a RESTRequest; raises ``_BadRESTRequest`` as Asterisk does."""
        if not isinstance(message.get("type"), str) or not message["type"]:
            raise _BadRESTRequest("No 'type' property.")
        if message.get("type") != "RESTRequest":
            raise _BadRESTRequest("Unknown request type.")
        if not isinstance(message.get("uri"), str) or not message["uri"]:
            raise _BadRESTRequest("Empty or missing 'uri' property.")
        if message.get("method") not in _METHODS:
            raise _BadRESTRequest("Unknown or missing 'method' property.")
        pairs = parse_qsl(query_string, keep_blank_values=True)
        extra = message.get("query_strings")
        if extra is not None:
            if not isinstance(extra, list) or not all(
                    isinstance(p, dict) and isinstance(p.get("name"), str)
                    and isinstance(p.get("value"), str) for p in extra):
                raise _BadRESTRequest("Unable to parse 'query_strings' array.")
            pairs += [(p["name"], p["value"]) for p in extra]
        body = None
        raw = message.get("message_body")
        if isinstance(raw, str) and raw:
            content_type = message.get("content_type")
            if not content_type:
                raise _BadRESTRequest("No 'content_type' for 'message_body'.")
            if content_type == "application/x-www-form-urlencoded":
                pairs += parse_qsl(raw, keep_blank_values=True)
            elif content_type == _JSON:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise _BadRESTRequest(
                        "Unable to parse 'message_body' as 'application/json'.") from None
            else:
                raise _BadRESTRequest("Unknown content type.")
        query: Dict[str, str] = {}
        for name, value in pairs:
            query.setdefault(name, value)  # the first occurrence wins
        return query, body

    def _rest_invoke(self, sock: _Socket, method: str, uri: str, query: Dict[str, str],
                     body: Any) -> Any:
        """Route and run a REST request from the socket: (status, JSON body or None)."""
        match = self._match(method, "/" + uri)
        if isinstance(match, SimResponse):
            response = match
        elif match.operation.get("upgrade") == "websocket":
            return 0, None
        else:
            response = self._answer(match, method, "/" + uri, query, body, sock.headers, "websocket")
        if response.raw is not None:
            return 406, None  # Asterisk sends no binary over the socket
        return response.status, None if response.status == 204 else response.body

    async def _write_loop(self, sock: _Socket) -> None:
        while not sock.closed:
            if not sock.sending:
                await self._drain(sock)
            if sock.closed:
                return
            sock.wakeup.clear()
            if not sock.outbox or sock.sending:
                await sock.wakeup.wait()

    @staticmethod
    async def _drain(sock: _Socket) -> None:
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

    def _register(self, sock: _Socket, app: str, subscribe_all: bool) -> None:
        old = self._apps.get(app)
        if old is not None and old is not sock:
            old.apps.discard(app)
            old.push(_ENCODE({"type": "ApplicationReplaced", "timestamp": self._timestamp(),
                              "application": app, "asterisk_id": self.asterisk_id}))
        self._apps[app] = sock
        sock.apps.add(app)
        with self._connected_cond:
            self._connected.add(app)
            self._connected_cond.notify_all()
        try:
            self.backend.app_connected(app, subscribe_all)
        except Exception:
            log.exception("the backend failed on app_connected(%r)", app)

    def _unregister(self, sock: _Socket) -> None:
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

    def _timestamp(self) -> str:
        if self.scheduler is not None:
            return self.scheduler.timestamp()
        return asterisk_timestamp(time.time())
