"""Outbound WebSockets: Asterisk connects to the application, and each connection is a client.

Since 20.15, 22.5 and 23, Asterisk can open the ARI WebSocket itself (``ari.conf``
``type = outbound_websocket``): the application is the WebSocket server.  ``Server`` listens
(host, port, TLS, optional Basic auth of the connecting Asterisk, subprotocol ``ari``) on the
``websockets`` library's threaded server, and turns every accepted connection into an
``OutboundClient``: an ``ari.Client`` whose REST calls travel over that very socket as
``RESTRequest`` (``socket_rest.SocketRequests`` correlates the answers) or over HTTP when the
application gave the Asterisk's URL, and whose events reach the same listener API as
``ari.connect``'s (``on``, ``once``, promotion, instance listeners, dispatch modes).

- *persistent* connections (``connection_type = persistent``): one client per Asterisk,
  known by its ``asterisk_id``; a reconnect of the same Asterisk re-attaches the same client
  (same handlers, none added twice) and the events Asterisk queued meanwhile reach it.
- *per-call* connections (``connection_type = per_call_config``): one client per call, its
  application the temporary ``<app>:<channel name>`` of the connection's first frame; it
  ends when Asterisk closes the socket after the call's StasisEnd.

Its job is the server side of the socket and the life of those clients.  It must not frame
or parse WebSocket or HTTP (the ``websockets`` library does), correlate REST answers
(``socket_rest.py`` does), call handlers (the dispatcher does) nor shape events (events.py).
With stream.py it is one of the two modules importing ``websockets`` (stream.py: its sans-I/O
protocol for the inbound reader; here: its threaded server), loaded on the first ``start()``.
"""

from __future__ import annotations

import functools
import json
import logging
import socket
import ssl as ssl_module
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from .client import Client, ClientState
from .errors import ConnectionError, SpecError
from .events import client_event
from .http import HTTPTransport, Verify
from .model import API, build_api
from .resources import Collection, Meta, build_classes
from .socket_rest import SocketRequests
from .spec import fetch_description, read_description
from .threads import call_guarded, join_by
from .transports import NotSent, PreparedRequest, Reply, Router

if TYPE_CHECKING:  # the WebSocket server loads on the first start()
    from websockets.sync.server import Server as _WSServer
    from websockets.sync.server import ServerConnection

log = logging.getLogger(__name__)

Handler = Callable[..., Any]
ClientHook = Callable[["OutboundClient"], Any]

#: How the frames the reader acts on start (Asterisk packs "type" first, compact or pretty).
_ANSWER = (b'{"type":"RESTResponse"', b'{\n  "type": "RESTResponse"')
_STASIS_END = (b'"type":"StasisEnd"', b'"type": "StasisEnd"')
_REALM = "Asterisk outbound ARI"
_BATCH = 256  # frames handed to the dispatcher at once, at most


def is_per_call(application: str) -> bool:
    """Whether ``application`` is a per-call temporary app, ``<app>:<channel name>``.

    Asterisk names it after the channel (``ob:PJSIP/1000-00000001``, ``ob:Local/x@ctx-0001;1``),
    and a channel name always has its technology before a slash.
    """
    base, colon, channel = application.partition(":")
    return bool(base and colon and "/" in channel)


def _first_frame(payload: bytes) -> Tuple[str, str]:
    """The ``(asterisk_id, application)`` the first frame of a connection names, or ValueError."""
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("the first frame is not a JSON object")
    asterisk_id, application = data.get("asterisk_id"), data.get("application")
    if not isinstance(asterisk_id, str) or not isinstance(application, str) or not application:
        raise ValueError("the first frame names no asterisk_id and application")
    return asterisk_id, application


class _NoHTTP:
    """The HTTP side of a client that was given no URL: every call goes over the socket.

    Only what cannot (a stored recording's binary file, refused over the socket with 406)
    would come here, and fails saying what to give.
    """

    verify: Verify = True
    username: Optional[str] = None

    def __init__(self, root: str, timeout: float) -> None:
        self.root = root
        self.timeout = timeout

    def send(self, request: PreparedRequest) -> Reply:
        raise ConnectionError(
            f"{request.method} {self.root}{request.path}: this call needs HTTP (Asterisk sends no binary over"
            " the socket); give the server the Asterisk's url= to make it",
            self.root + request.path,
        )

    def close(self) -> None:
        pass


class _Link:
    """One accepted connection: its socket, where its answers go, its frames until the client is ready."""

    def __init__(self, ws: ServerConnection, asterisk_id: str, application: str) -> None:
        self.ws = ws
        self.asterisk_id = asterisk_id
        self.application = application
        self.lock = threading.Lock()
        self.ready = False  # the client has its handlers: frames go straight to its dispatcher
        self.held: List[bytes] = []
        self.requests: Optional[SocketRequests] = None
        self.submit: Callable[[List[bytes], float], None] = lambda batch, at: None
        self.ended = False  # a StasisEnd went by (per-call: the call is over)
        self.closed = False  # its reader has ended
        self.reader = threading.get_ident()  # made on the thread that reads it

    def send(self, text: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            self.ws.send(text)
        except ConnectionClosed as exc:
            # websockets writes a frame whole or not at all: nothing of it left.
            raise NotSent(f"the outbound socket of {self.asterisk_id} is closed ({exc})") from exc

    def deliver(self, payload: bytes) -> bool:
        requests = self.requests
        return requests is not None and requests.deliver(payload)

    def pass_on(self, batch: List[bytes], received_at: float) -> None:
        if not self.ready:
            with self.lock:
                if not self.ready:  # the client is still being made: keep the order
                    self.held.extend(batch)
                    return
        self.submit(batch, received_at)

    def release(self, submit: Callable[[List[bytes], float], None]) -> None:
        """The client is ready: hand it what was held, then every frame as it comes."""
        with self.lock:
            self.submit = submit
            held, self.held = self.held, []
            if held:
                submit(held, time.monotonic())
            self.ready = True


class _Prototype:
    """The resource classes of one API description, made once and shared by its clients.

    Generating the operations (signatures, docstrings) costs about 10 ms; a per-call client
    gets subclasses that only say which ``meta`` (transport, listeners) they use.
    """

    def __init__(self, api: API) -> None:
        nowhere: Any = _NoHTTP("outbound://prototype/ari", 1.0)  # it never sends: its clients' metas do
        self.meta = Meta(api, Router(nowhere, "http"))
        self.collections = build_classes(self.meta)

    def classes_for(self, meta: Meta) -> Dict[str, Collection]:
        for model, cls in self.meta.instance_classes.items():
            meta.instance_classes[model] = type(
                model, (cls,), {"__slots__": (), "meta": meta, "__module__": cls.__module__}
            )
        return {
            name: type(
                type(c).__name__, (type(c),), {"__slots__": (), "meta": meta, "__module__": type(c).__module__}
            )()
            for name, c in self.collections.items()
        }


class OutboundClient(Client):
    """An ``ari.Client`` for one outbound connection (persistent: one Asterisk; per call: one call).

    Its events start when Asterisk connects, so ``start()`` is not for it.  ``asterisk_id``
    names the Asterisk its operations go to, ``application`` the connection's application (per
    call: the temporary ``<app>:<channel name>``).  ``stop()`` closes the current connection
    (Asterisk reconnects a persistent one); ``close()`` ends the client.
    """

    def __init__(
        self,
        meta: Meta,
        asterisk_id: str,
        application: str,
        prototype: Optional[_Prototype] = None,
        **event_options: Any,
    ) -> None:
        self._prototype = prototype
        super().__init__(meta, **event_options)
        self.asterisk_id = asterisk_id
        self.application = application
        self.per_call = is_per_call(application)
        self.finished = threading.Event()  # set once closed
        self._on_error = event_options.get("on_handler_error")
        self._link: Optional[_Link] = None
        self._lose: Optional[Callable[[_Link, str], None]] = None  # the server's bookkeeping of a lost link

    def _build_collections(self, meta: Meta) -> Dict[str, Collection]:
        if self._prototype is None:
            return super()._build_collections(meta)
        return self._prototype.classes_for(meta)

    def __repr__(self) -> str:
        kind = "call" if self.per_call else "asterisk"
        return f"<ari.OutboundClient {kind} {self.application!r} asterisk_id={self.asterisk_id!r}>"

    @property
    def connected(self) -> bool:
        return self._link is not None

    @property
    def closed(self) -> bool:
        return self._state is ClientState.CLOSED

    def start(self, apps: Any = None, subscribe_all: bool = False) -> None:
        raise RuntimeError("an outbound client's events start when Asterisk connects; there is nothing to start")

    def run(self, apps: Any = None, subscribe_all: bool = False) -> None:
        """Block until the client is closed (per call: until Asterisk closes the call's socket)."""
        self.finished.wait()

    def stop(self) -> None:
        """Close the current connection (Asterisk reconnects a persistent one); REST calls made
        after it returns go over another open connection of that Asterisk, or wait for one."""
        link = self._link
        if link is not None:
            link.ws.close(1000)
            lose = self._lose
            if lose is not None:  # now, not when its reader notices: no call may pick the closed one
                lose(link, "the application closed the connection")

    def close(self) -> None:
        """Close the socket, end the threads (events still queued are dropped, as ``Client.stop``
        drops them). Idempotent; safe from a handler."""
        self._end(drain=0.0)

    def _end(self, drain: float) -> None:
        """Close for good; with ``drain``, the events already received get up to that many seconds."""
        with self._lifecycle:
            if self._state is ClientState.CLOSED:
                return
            self._state = ClientState.CLOSED
        link = self._link
        self._detach(None, "the outbound client was closed")
        if link is not None:
            link.ws.close(1000)
        socket = self.meta.router.socket
        if socket is not None:
            socket.end("the outbound client was closed")
        dispatcher = self._dispatcher
        if dispatcher is not None:
            if drain > 0 and not threading.current_thread().name.startswith("ari-dispatch"):
                _drain(dispatcher, drain)
            dispatcher.stop(1.0)
        self.meta.shutdown()  # the HTTP transport, if any, is the server's: it closes it
        self.finished.set()

    # -- the server's side ---------------------------------------------------------------
    def _connect_socket(self, link: _Link) -> None:
        """REST calls go over ``link`` from now on."""
        socket = self.meta.router.socket
        if socket is not None:
            socket.begin(link.application)
            socket.attach(link.send, link.reader, link.application)
            link.requests = socket

    def _attach(self, link: _Link, reconnected: bool, downtime: float) -> None:
        """``link`` feeds this client: its REST calls and its events (the held ones first)."""
        with self._lifecycle:
            if self._state is ClientState.CLOSED:
                link.ws.close(1001)
                return
            sink = self._events_dispatcher().start()  # idempotent: the same sink on a reconnect
            self._state = ClientState.RUNNING
        self._connect_socket(link)
        self._link = link
        sink.emit(client_event("WebSocketConnected", attempt=0, reconnected=reconnected, disconnected_for=downtime))
        link.release(sink.submit)

    def _detach(self, link: Optional[_Link], why: str) -> None:
        """The connection ``link`` (the current one, when None) is gone: calls in flight fail."""
        if link is not None and self._link is not link:
            return
        self._link = None
        socket = self.meta.router.socket
        if socket is not None:
            socket.detach(why)

    def _handler_failed(self, exc: BaseException) -> None:
        hook = self._on_error
        if hook is not None:
            event = client_event("OutboundConnected", application=self.application)
            call_guarded(log, "on_handler_error hook", hook, exc, event)


def _drain(dispatcher: Any, timeout: float) -> None:
    """Wait (bounded) until the events already handed to ``dispatcher`` have reached the handlers."""
    pause = threading.Event()  # never set: a bounded, interruptible wait between looks
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        backlog = dispatcher.backlog
        if backlog is None or backlog.count <= 0:
            return
        pause.wait(0.005)


class _Slot:
    """One persistent Asterisk, or one call: its client (None while being made) and newest connection."""

    def __init__(self, asterisk_id: str, application: str) -> None:
        self.asterisk_id = asterisk_id
        self.application = application
        self.client: Optional[OutboundClient] = None
        self.link: Optional[_Link] = None  # the newest open connection: REST calls go over it
        self.links: List[_Link] = []  # every open connection, oldest first
        self.pending: List[_Link] = []  # every connection that came while the client was being made
        self.lost_at = 0.0
        self.linger: Optional[threading.Timer] = None


class Server:
    """A WebSocket server that Asterisk's outbound connections reach; each one becomes a client.

    ``on(event_type, handler)`` registers ``handler`` on every connection's client, present
    and future; ``on_connect(fn)`` calls ``fn(client)`` once for each Asterisk that connects
    persistently (not on its reconnects), ``on_call(fn)`` calls ``fn(call)`` for each per-call
    connection.  Either runs on a thread of its own before any event of that connection is
    delivered (so the handlers it adds see ``ApplicationRegistered`` and ``StasisStart``), may
    make REST calls, and may block or raise without touching any other connection.

    The API description comes from ``spec`` (a folder saved with ``python -m ari.spec save``)
    when given, else from ``url`` over HTTP, else from each Asterisk over its own socket
    (``GET api-docs/...`` as RESTRequest, once per ``asterisk_id``: later connections of an
    Asterisk already seen start at once).  REST calls go over the connection
    (``transport="websocket"``), or over HTTP to ``url`` (``transport="http"``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        ssl: Optional[ssl_module.SSLContext] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        subprotocol: Optional[str] = "ari",
        url: Optional[str] = None,
        ari_username: Optional[str] = None,
        ari_password: Optional[str] = None,
        verify: Verify = True,
        spec: Optional[str] = None,
        transport: str = "websocket",
        reuse_port: bool = False,
        backlog: int = 512,
        timeout: float = 10.0,
        linger: float = 30.0,
        workers: int = 4,
        dispatch: str = "serial",
        dispatch_workers: int = 4,
        on_handler_error: Optional[Callable[[BaseException, Any], Any]] = None,
    ) -> None:
        if transport not in ("websocket", "http"):
            raise ValueError(f"transport must be 'websocket' or 'http', not {transport!r}")
        if transport == "http" and url is None:
            raise ValueError("transport='http' needs the Asterisk's url=")
        if (username is None) != (password is None):
            raise ValueError("give both username and password (Basic auth of the connecting Asterisk), or neither")
        if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
            raise ValueError("reuse_port: this platform has no SO_REUSEPORT")
        from .dispatch import check_mode  # here: importing ari loads no dispatcher

        check_mode(dispatch, dispatch_workers)
        self.host = host
        self.port = port
        self.ssl = ssl
        self.subprotocol = subprotocol
        self.url = url
        self.transport = transport
        self.reuse_port = reuse_port
        self.backlog = backlog
        self.timeout = timeout
        self.linger = linger
        self.workers = workers
        self._credentials = (username, password) if username is not None else None
        self._ari = (ari_username, ari_password, verify)
        self._spec = spec
        #: each client's dispatch options, as ``ari.connect`` takes them
        self._event_options: Dict[str, Any] = {
            "dispatch": dispatch,
            "dispatch_workers": dispatch_workers,
            "on_handler_error": on_handler_error,
        }
        self._handlers: List[Tuple[str, Handler, bool]] = []
        self._on_connect: List[ClientHook] = []
        self._on_call: List[ClientHook] = []
        self._slots: Dict[Tuple[str, str], _Slot] = {}
        self._apis: Dict[str, Future] = {}
        self._lock = threading.Lock()
        self._http: Optional[HTTPTransport] = None
        self._shared: Optional[_Prototype] = None
        self._server: Optional[_WSServer] = None
        self._thread: Optional[threading.Thread] = None
        self._started = self._stopped = False
        #: connections accepted since start (reconnects included)
        self.accepted = 0

    def __repr__(self) -> str:
        return f"<ari.Server {self.ws_url} connections={len(self._slots)}>"

    # -- what the application registers --------------------------------------------------
    def on(self, event_type: str, handler: Handler) -> Handler:
        """Call ``handler`` for ``event_type`` events on every connection (as ``Client.on``)."""
        return self._add(event_type, handler, False)

    def once(self, event_type: str, handler: Handler) -> Handler:
        """Like :meth:`on`, for the next such event of each connection."""
        return self._add(event_type, handler, True)

    def _add(self, event_type: str, handler: Handler, once: bool) -> Handler:
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        self._check_type(event_type)
        with self._lock:
            self._handlers.append((event_type, handler, once))
            clients = self._clients()
        for client in clients:
            (client.once if once else client.on)(event_type, handler)
        return handler

    def _check_type(self, event_type: str) -> None:
        """``ValueError`` for a type no event has, as ``Client.on`` says it; checked against the
        description when one is known yet (``spec`` or ``url``, or an Asterisk already connected)."""
        from .events import CLIENT_EVENTS
        from .listeners import EVERY, Listeners

        with self._lock:
            known = [self._shared] if self._shared is not None else []
            known += [f.result() for f in self._apis.values() if f.done() and not f.exception()]
        if known:
            Listeners((*known[0].meta.api.event_types, *CLIENT_EVENTS)).check(event_type)
        elif event_type != EVERY and not isinstance(event_type, str):
            raise TypeError(f"event type must be a string, got {type(event_type).__name__}")

    def remove_listener(self, event_type: str, handler: Handler) -> None:
        with self._lock:
            self._handlers = [h for h in self._handlers if h[:2] != (event_type, handler)]
            clients = self._clients()
        for client in clients:
            client.remove_listener(event_type, handler)

    def on_connect(self, fn: ClientHook) -> ClientHook:
        """``fn(client)`` once for each Asterisk's persistent connection, before its events."""
        self._on_connect.append(fn)
        return fn

    def on_call(self, fn: ClientHook) -> ClientHook:
        """``fn(call)`` for each per-call connection, before its events (StasisStart follows)."""
        self._on_call.append(fn)
        return fn

    # -- what the application reads --------------------------------------------------------
    @property
    def clients(self) -> Dict[str, OutboundClient]:
        """The persistent clients, by ``asterisk_id`` (connected, or waiting for a reconnect)."""
        with self._lock:
            return {s.asterisk_id: s.client for s in self._slots.values() if s.client and not s.client.per_call}

    @property
    def calls(self) -> List[OutboundClient]:
        """The per-call clients not yet closed."""
        with self._lock:
            return [s.client for s in self._slots.values() if s.client is not None and s.client.per_call]

    def client(self, asterisk_id: str) -> OutboundClient:
        """The persistent client of ``asterisk_id``; ``KeyError`` if none has connected."""
        client = self.clients.get(asterisk_id)
        if client is None:
            raise KeyError(f"no Asterisk {asterisk_id!r} has connected persistently")
        return client

    def _clients(self) -> List[OutboundClient]:
        return [s.client for s in self._slots.values() if s.client is not None]

    @property
    def ws_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'wss' if self.ssl is not None else 'ws'}://{host}:{self.port}"

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Server:
        """Listen (``port=0`` picks a free one, see ``port``) and accept on the ``ari-outbound`` thread."""
        from websockets.sync.server import basic_auth, serve

        with self._lock:
            if self._started:
                raise RuntimeError("a Server starts once")
            self._started = True
        self._load_shared()
        try:
            listener = socket.create_server(
                (self.host, self.port),
                family=socket.AF_INET6 if ":" in self.host else socket.AF_INET,
                backlog=self.backlog,
                reuse_port=self.reuse_port,
            )
        except OSError as exc:
            if self._http is not None:
                self._http.close()
            raise ConnectionError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        self.port = listener.getsockname()[1]
        process_request = None
        if self._credentials is not None:
            user, password = self._credentials
            process_request = basic_auth(realm=_REALM, credentials=(str(user), str(password)))
        self._server = serve(
            self._handle,
            sock=listener,
            ssl=self.ssl,
            subprotocols=[self.subprotocol] if self.subprotocol else None,  # type: ignore[list-item]
            select_subprotocol=self._select_subprotocol if self.subprotocol else None,
            compression=None,  # Asterisk offers none
            process_request=process_request,
            open_timeout=self.timeout,
            close_timeout=2,
            max_size=2**24,  # events and description files are kilobytes; bounded all the same
            logger=logging.getLogger(__name__ + ".wire"),  # websockets' own connection log
        )
        # A daemon: the connection threads websockets starts from it inherit that.
        self._thread = threading.Thread(target=self._server.serve_forever, name="ari-outbound", daemon=True)
        self._thread.start()
        log.info("outbound server listening on %s", self.ws_url)
        return self

    def _select_subprotocol(self, connection: Any, offered: Any) -> Any:
        # Asterisk offers "ari" only when websocket_client.conf says protocols = ari: take it
        # when offered, and accept a connection that offers none.
        return self.subprotocol if self.subprotocol in offered else None

    def _load_shared(self) -> None:
        user, password, verify = self._ari
        if self.url is not None:
            self._http = HTTPTransport(self.url, user, password, timeout=self.timeout, verify=verify)
        try:
            if self._spec is not None:
                self._shared = _Prototype(build_api(read_description(self._spec)))
            elif self._http is not None:
                self._shared = _Prototype(build_api(fetch_description(self._http.get_json)))
        except BaseException:
            if self._http is not None:
                self._http.close()
            raise

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection and client, stop listening, end every thread (bounded). Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            server, thread = self._server, self._thread
            slots = list(self._slots.values())
            self._slots.clear()
        for slot in slots:
            if slot.linger is not None:
                slot.linger.cancel()
            if slot.client is not None:
                slot.client.close()
            elif slot.link is not None:
                slot.link.ws.close(1001)
        ending: List[threading.Thread] = []
        if server is not None:
            # shutdown() waits for every connection's thread: bound it.
            closer = threading.Thread(target=server.shutdown, name="ari-outbound-stop", daemon=True)
            closer.start()
            ending.append(closer)
        if thread is not None:
            ending.append(thread)
        for late in join_by(ending, time.monotonic() + timeout):
            log.warning("%s did not stop within %.1fs", late.name, timeout)
        if self._http is not None:
            self._http.close()

    def serve_forever(self) -> None:
        """``start()`` if needed, then block until ``stop()`` or Ctrl-C."""
        if not self._started:
            self.start()
        thread = self._thread
        assert thread is not None
        try:
            while thread.is_alive():
                thread.join(0.5)  # a bounded join lets Ctrl-C through
        except KeyboardInterrupt:
            log.info("interrupted")
        finally:
            self.stop()

    def __enter__(self) -> Server:
        return self if self._started else self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- one connection (on the thread websockets gives it) ----------------------------------
    def _handle(self, ws: ServerConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        threading.current_thread().name = "ari-outbound-conn"
        with self._lock:
            self.accepted += 1
        try:
            first = ws.recv(timeout=self.timeout, decode=False)
            asterisk_id, application = _first_frame(first)
        except (TimeoutError, ValueError) as exc:
            log.warning("closing an outbound connection from %s: %s", ws.remote_address, exc)
            ws.close(1008, "expected an ARI event first")
            return
        except ConnectionClosed:
            return
        link = _Link(ws, asterisk_id, application)
        link.held.append(first)
        slot = self._arrived(link)
        if slot is None:
            return
        why = "the outbound socket closed"
        per_call = is_per_call(application)
        recv, deliver, pass_on = ws.recv, link.deliver, link.pass_on
        try:
            while True:
                # Every frame already read at once: the dispatcher wakes once per batch.
                frames = [recv(decode=False)]
                closed: Optional[ConnectionClosed] = None
                try:
                    while len(frames) < _BATCH:
                        frames.append(recv(timeout=0, decode=False))
                except TimeoutError:
                    pass
                except ConnectionClosed as exc:  # what came before the close still counts
                    closed = exc
                batch: List[bytes] = []
                for payload in frames:
                    if payload.startswith(_ANSWER) and deliver(payload):
                        continue  # an answer to a REST call: its caller has it now
                    if per_call and (_STASIS_END[0] in payload or _STASIS_END[1] in payload):
                        link.ended = True
                    batch.append(payload)
                if batch:
                    pass_on(batch, time.monotonic())
                if closed is not None:
                    raise closed
        except ConnectionClosed as exc:
            why = f"the outbound socket closed ({exc})"
        finally:
            link.closed = True
            self._lost(slot, link, why)

    def _arrived(self, link: _Link) -> Optional[_Slot]:
        """Find (a reconnect) or make the slot of ``link``; a new one's client is made on a setup thread."""
        per_call = is_per_call(link.application)
        key = (link.asterisk_id, link.application if per_call else "")
        with self._lock:
            if self._stopped:
                link.ws.close(1001)
                return None
            slot = self._slots.get(key)
            if slot is not None and slot.client is not None and slot.client.closed:
                del self._slots[key]  # the application closed that client: this is a new one
                slot = None
            fresh = slot is None
            if slot is None:
                slot = self._slots[key] = _Slot(link.asterisk_id, link.application)
            slot.link = link
            slot.links.append(link)
            if slot.client is None:
                slot.pending.append(link)  # set-up hands its held frames over, closed or not
            if slot.linger is not None:
                slot.linger.cancel()
                slot.linger = None
            client = slot.client
        if fresh:
            threading.Thread(target=self._set_up, args=(slot, key), name="ari-outbound-setup", daemon=True).start()
        elif client is not None:
            downtime = time.monotonic() - slot.lost_at if slot.lost_at else 0.0
            log.info("%s reconnected after %.1fs", client, downtime)
            client._attach(link, reconnected=True, downtime=downtime)
        # else: the client is still being made; _setup attaches the newest connection
        return slot

    def _set_up(self, slot: _Slot, key: Tuple[str, str]) -> None:
        try:
            self._setup(slot, key)
        except Exception:  # a bug here must leave no connection open and unread
            log.exception("setting up the client of %s failed", slot.application)
            with self._lock:
                if self._slots.get(key) is slot:
                    del self._slots[key]
                links, slot.links = list(slot.links), []
                client = slot.client
            for link in links:
                link.ws.close(1011, "the application failed")
            if client is not None:
                client.close()

    def _setup(self, slot: _Slot, key: Tuple[str, str]) -> None:
        """Make the slot's client (its description over the socket if need be), add the handlers,
        run the hooks, then let its events flow."""
        link = slot.link
        assert link is not None
        try:
            prototype = self._prototype_for(link)
            http: Any = self._http or _NoHTTP(f"outbound://{link.asterisk_id}/ari", self.timeout)
            mode = "http" if self.transport == "http" else "websocket"
            socket = SocketRequests(http.root, self.timeout) if mode == "websocket" else None
            meta = Meta(prototype.meta.api, Router(http, mode, socket), workers=self.workers)
            client = OutboundClient(meta, link.asterisk_id, link.application, prototype, **self._event_options)
        except Exception as exc:
            log.error("cannot make a client for %s (%s): %s", link.application, link.asterisk_id, exc)
            with self._lock:
                if self._slots.get(key) is slot:
                    del self._slots[key]
            link.ws.close(1011, "the application could not load the API")
            return
        client._lose = functools.partial(self._lost, slot)
        with self._lock:
            handlers = list(self._handlers)
        for event_type, handler, once in handlers:
            try:
                (client.once if once else client.on)(event_type, handler)
            except (TypeError, ValueError) as exc:  # a type this Asterisk does not describe
                log.error("%s: the handler %r for %r was not added: %s", client, handler, event_type, exc)
                client._handler_failed(exc)
        client._connect_socket(link)  # the hooks' REST calls get their answers; events stay held
        for hook in self._on_call if client.per_call else self._on_connect:
            try:
                hook(client)
            except Exception as exc:
                log.error("%r raised for %s", hook, client, exc_info=exc)
                client._handler_failed(exc)
        with self._lock:
            stopped = self._stopped
            # Every connection that came meanwhile (a reconnect, or another of the same Asterisk),
            # closed ones too (what they brought, a whole short call maybe, is delivered all the
            # same); closed first, then oldest first, so that REST ends on the newest open one.
            feeds = sorted(slot.pending, key=lambda f: not f.closed)
            slot.pending = []
        if stopped:
            client.close()
            return
        for feed in feeds:
            client._attach(feed, reconnected=False, downtime=0.0)
        with self._lock:
            slot.client = client  # published once attached: connections from now on attach themselves
            slot.pending = []
            newer = [other for other in slot.links if other not in feeds]
            gone = slot.link is None or slot.link.closed
        for other in newer:
            client._attach(other, reconnected=True, downtime=0.0)
        if gone and not newer:
            self._lost(slot, None, "the outbound socket closed during set-up", any(f.ended for f in feeds))

    def _prototype_for(self, link: _Link) -> _Prototype:
        """The description and its classes: shared (spec or url), or fetched once per Asterisk over its socket."""
        if self._shared is not None:
            return self._shared
        with self._lock:
            future = self._apis.get(link.asterisk_id)
            mine = future is None
            if future is None:
                future = self._apis[link.asterisk_id] = Future()
        if not mine:
            return future.result(self.timeout * 4)
        try:
            prototype = _Prototype(build_api(fetch_description(_socket_fetch(link, self.timeout), max_workers=1)))
        except BaseException as exc:
            with self._lock:
                del self._apis[link.asterisk_id]  # the next connection tries again
            future.set_exception(exc)
            raise
        future.set_result(prototype)
        return prototype

    def _lost(self, slot: _Slot, link: Optional[_Link], why: str, ended: bool = False) -> None:
        """A connection ended: a finished call's client closes; others wait for a reconnect."""
        with self._lock:
            if link is not None:
                if link in slot.links:
                    slot.links.remove(link)
                if slot.link is not link:
                    return  # not the one REST calls use (a newer one took over, or set-up saw it close)
            else:  # set-up found its connection closed
                slot.links = [other for other in slot.links if not other.closed]
            slot.link = slot.links[-1] if slot.links else None
            if slot.link is None:
                slot.lost_at = time.monotonic()
            client = slot.client
            other = slot.link
            ended = ended or (link is not None and link.ended)
            key = (slot.asterisk_id, slot.application if is_per_call(slot.application) else "")
            if client is None:
                return  # set-up still running: it finds no connection to feed
            if other is not None:
                finish = False
            else:
                # A call's client the application closed is over too: no reconnect can feed it.
                finish = client.per_call and (ended or self.linger <= 0 or self._stopped or client.closed)
            if finish and self._slots.get(key) is slot:
                del self._slots[key]
            elif other is None and client.per_call and not finish:
                # Made under the lock so that a stop() running now sees the timer and cancels it.
                if slot.linger is not None:
                    slot.linger.cancel()
                timer = threading.Timer(self.linger, self._expire, args=(slot, key))
                timer.name, timer.daemon = "ari-outbound-linger", True
                slot.linger = timer
                timer.start()
        client._detach(link, why)
        if other is not None:
            # Another connection of the same Asterisk is still open: REST calls go over it now.
            log.info("%s: %s; REST calls go over its other connection", client, why)
            client._connect_socket(other)
            client._link = other
            return
        if finish:
            log.info("%s ended (%s)", client, why)
            client._end(drain=2.0)  # what the call's socket brought still reaches the handlers
        elif client.per_call:
            log.warning(
                "%s: %s before its StasisEnd; waiting %.0fs for Asterisk to reconnect", client, why, self.linger
            )
        else:
            log.warning("%s: %s; waiting for Asterisk to reconnect", client, why)

    def _expire(self, slot: _Slot, key: Tuple[str, str]) -> None:
        with self._lock:
            if slot.link is not None or self._slots.get(key) is not slot:
                return
            del self._slots[key]
        if slot.client is not None:
            slot.client.close()


def _socket_fetch(link: _Link, timeout: float) -> Callable[[str], Any]:
    """GET a description document over the connection as RESTRequest (Asterisk answers api-docs there)."""
    requests = SocketRequests(f"outbound://{link.asterisk_id}/ari", timeout)
    requests.begin(link.application)
    requests.attach(link.send, link.reader, link.application)
    link.requests = requests

    def fetch(path: str) -> Any:
        request = PreparedRequest("GET", path)
        reply = requests.send(request).raise_for_status(request)
        try:
            return json.loads(reply.text)
        except ValueError as exc:
            raise SpecError(path, f"the description over the socket is not JSON ({exc})") from exc

    return fetch


def serve(host: str = "127.0.0.1", port: int = 8765, **options: Any) -> Server:
    """Start a :class:`Server` for Asterisk's outbound connections and return it (listening)."""
    return Server(host, port, **options).start()


__all__ = ["OutboundClient", "Server", "is_per_call", "serve"]
