"""The Client: composes the transport, the API model, the generated resources and the events.

``connect()`` loads the description (from the server, or a saved folder) and builds
everything from it; the client owns its lifecycle (``ClientState``: ``close()``, context
manager, ``start`` / ``stop`` / ``run``) and sequences the event machinery: the listener
registry (``meta.events``, listeners.py), the dispatcher (dispatch.py), started before the
event stream (stream.py) and stopped after it.  It must not read frames or call handlers.
"""

from __future__ import annotations

import enum
import functools
import logging
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Union, overload

from .backoff import Backoff
from .errors import ARIError
from .http import HTTPTransport, Verify
from .model import API, build_api
from .naming import snake_case
from .resources import Collection, Meta, build_classes, new_instance
from .socket_rest import SocketRequests
from .spec import fetch_description, read_description
from .subscriptions import Subscriptions
from .threads import call_guarded
from .transports import Router, check_transport

if TYPE_CHECKING:  # the stream (and the WebSocket libraries) load on the first start()
    from .dispatch import Dispatcher
    from .listeners import Handler, Key
    from .stream import Apps, EventStream

log = logging.getLogger(__name__)

ConnectCallback = Callable[[Optional[BaseException], Optional["Client"]], None]
ErrorHook = Callable[[BaseException, Any], Any]


class _Unset(enum.Enum):
    UNSET = "unset"

    def __repr__(self) -> str:  # as help(ari.connect) shows it
        return "<not given>"


#: "not given" for options whose None means something (``reconnect_max_retries=None``: forever)
UNSET = _Unset.UNSET

#: The models whose ended instances a reconnect looks for, and the collection that lists them.
_LISTED = {"Channel": "channels", "Bridge": "bridges"}


class ClientState(enum.Enum):
    """Where a client is in its life (``client.state``).

    ``IDLE``: REST works, no event socket; ``STARTING`` / ``RUNNING`` / ``STOPPING``: the event
    socket and its threads; back to ``IDLE`` after ``stop()``; ``CLOSED`` for good.
    """

    IDLE = "idle"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    CLOSED = "closed"


def backoff_from(
    reconnect: Optional[Backoff],
    initial: Optional[float] = None,
    maximum: Optional[float] = None,
    factor: Optional[float] = None,
    jitter: Optional[float] = None,
    max_retries: Any = UNSET,
) -> Backoff:
    """The reconnect policy: ``reconnect`` (default ``Backoff()``) with the alias keywords applied."""
    if reconnect is not None and not isinstance(reconnect, Backoff):
        raise TypeError(f"reconnect must be an ari.Backoff, not {type(reconnect).__name__}")
    changes: Dict[str, Any] = {
        name: value
        for name, value in (("initial", initial), ("maximum", maximum), ("factor", factor), ("jitter", jitter))
        if value is not None
    }
    if max_retries is not UNSET:
        changes["max_retries"] = max_retries
    policy = reconnect if reconnect is not None else Backoff()
    return policy.with_options(**changes) if changes else policy


class Client:
    """A connection to one Asterisk's ARI: resources as attributes, events through ``on``.

    Resources appear under their ARI and snake_case names (``client.deviceStates``,
    ``client.device_states``); instance factories under their model names
    (``client.Channel()``, ``client.Bridge()``).
    """

    def __init__(
        self,
        meta: Meta,
        *,
        dispatch: str = "serial",
        dispatch_workers: int = 4,
        on_handler_error: Optional[ErrorHook] = None,
        ping_interval: float = 20.0,
        ping_timeout: float = 10.0,
        connect_timeout: Optional[float] = None,
        reconnect: Optional[Backoff] = None,
        reconnect_initial: Optional[float] = None,
        reconnect_max: Optional[float] = None,
        reconnect_factor: Optional[float] = None,
        reconnect_jitter: Optional[float] = None,
        reconnect_max_retries: Any = UNSET,
    ) -> None:
        """Event options as :func:`connect` takes them."""
        from .dispatch import check_mode

        check_mode(dispatch, dispatch_workers)
        self.meta = meta
        self._lifecycle = threading.RLock()
        self._state = ClientState.IDLE
        self._stream: Optional[EventStream] = None
        self._dispatcher: Optional[Dispatcher] = None
        self._stream_options: Dict[str, Any] = {
            "ping_interval": ping_interval,
            "ping_timeout": ping_timeout,
            "connect_timeout": connect_timeout,
        }
        self._backoff = backoff_from(
            reconnect, reconnect_initial, reconnect_max, reconnect_factor, reconnect_jitter, reconnect_max_retries
        )
        self._dispatch_options: Dict[str, Any] = {
            "mode": dispatch,
            "workers": dispatch_workers,
            "on_handler_error": on_handler_error,
        }
        for name, collection in self._build_collections(meta).items():
            setattr(self, name, collection)
            setattr(self, snake_case(name), collection)
        for model in meta.instance_classes:
            factory = functools.partial(new_instance, meta, model)
            functools.update_wrapper(factory, new_instance)
            setattr(self, model, factory)
        meta.make_events = functools.partial(_make_listeners, meta)
        self._subscriptions = Subscriptions(self._resubscribe)
        self._subscriptions.observe(meta)
        meta.observers.add("applications.filter", meta.router.note_filter)
        meta.router.set_socket_gate(lambda: not self._saturated())  # seam 2

    def _build_collections(self, meta: Meta) -> Dict[str, Collection]:
        """The resource classes of this client (a hook: outbound.py's per-call clients share theirs)."""
        return build_classes(meta)

    @property
    def api(self) -> API:
        return self.meta.api

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def resources(self) -> Dict[str, Collection]:
        return {name: getattr(self, name) for name in self.meta.api.resources}

    def __repr__(self) -> str:
        transport = self.meta.transport
        return f"<ari.Client {transport.root} user={transport.username!r} transport={self.meta.router.mode!r}>"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop events, the worker pool and the HTTP pool. Idempotent; safe from a handler."""
        with self._lifecycle:
            if self._state is ClientState.CLOSED:
                return
        self.stop()
        with self._lifecycle:
            if self._state is ClientState.CLOSED:
                return
            self._state = ClientState.CLOSED
        self.meta.shutdown()
        self.meta.transport.close()

    # -- events --------------------------------------------------------------------------
    def _events_dispatcher(self) -> Dispatcher:
        """The client's dispatcher, made on the first start() (REST-only clients never load it)."""
        if self._dispatcher is None:
            from .dispatch import Dispatcher
            from .events import Promoter

            self._dispatcher = Dispatcher(
                self.meta.events, Promoter(self.meta), sweep=self._ended, **self._dispatch_options
            )
        return self._dispatcher

    def _saturated(self) -> bool:
        dispatcher = self._dispatcher
        return dispatcher is not None and dispatcher.saturated

    def start(self, apps: Apps, subscribe_all: bool = False) -> None:
        """Open the event socket for ``apps`` (``'hello'``, ``'a,b'`` or a list).

        Returns once Asterisk has accepted it; raises ``ari.ConnectionError`` or
        ``ari.AuthenticationError`` otherwise.  Handlers run on dispatcher threads.
        """
        from .stream import EventStream  # here: REST-only clients never pay for the WebSocket libraries

        with self._lifecycle:
            if self._state is ClientState.CLOSED:
                raise RuntimeError("client is closed")
            if self._state is not ClientState.IDLE:
                stream = self._stream
                if stream is None or not stream.finished.is_set():
                    raise RuntimeError("events already started; stop() first")
                self._stop_events(stream)  # it ended by itself (gave up, or replaced)
            dispatcher = self._events_dispatcher()
            sink = dispatcher.start()  # before the stream: the first frames need it
            stream = EventStream(
                self.meta.transport,
                sink,
                apps,
                subscribe_all=subscribe_all,
                backoff=self._backoff,
                subscriptions=self._subscriptions,
                requests=self.meta.router.socket,
                **self._stream_options,
            )
            self._stream = stream  # before start(): a handler may call stop() at once
            self._state = ClientState.STARTING
        try:
            stream.start()
        except BaseException:
            self._stop_events(stream)
            raise
        with self._lifecycle:
            if self._state is ClientState.STARTING and self._stream is stream:
                self._state = ClientState.RUNNING

    def _resubscribe(self, app: str, sources: List[str]) -> None:
        self.applications.subscribe(applicationName=app, eventSource=sources)  # type: ignore[attr-defined]

    def _ended(self, keys: List[Key]) -> Iterable[Key]:
        """Of the resources with listeners, those Asterisk no longer has: one list call per model."""
        gone: List[Key] = []
        for model, resource in _LISTED.items():
            mine = [key for key in keys if key[0] == model]
            if not mine or resource not in self.meta.api.resources:
                continue
            try:
                live = {item._key for item in getattr(self, resource).list()}
            except ARIError as exc:
                log.info("could not list %s after the reconnect: %s", resource, exc)
                continue
            gone.extend(key for key in mine if key not in live)
        return gone

    def stop(self) -> None:
        """Close the event socket and end every thread it started (within 2 s). Idempotent.

        Once it returns no handler starts: events still queued for the handlers are dropped
        (counted and logged).
        """
        with self._lifecycle:
            stream = self._stream
            if self._state in (ClientState.IDLE, ClientState.CLOSED) or stream is None:
                return
            self._state = ClientState.STOPPING
        self._stop_events(stream)

    def _stop_events(self, stream: EventStream, timeout: float = 2.0) -> None:
        # The stream first (no more frames), then the dispatcher (no more handlers).
        stream.stop(timeout * 0.75)
        dispatcher = self._dispatcher
        if dispatcher is not None:
            dispatcher.stop(timeout * 0.25)
        with self._lifecycle:
            if self._stream is stream and self._state is not ClientState.CLOSED:
                self._state = ClientState.IDLE

    def run(self, apps: Apps, subscribe_all: bool = False) -> None:
        """``start(apps)`` and block until ``stop()``, Ctrl-C, or reconnecting gives up."""
        self.start(apps, subscribe_all)
        stream = self._stream
        assert stream is not None
        try:
            stream.finished.wait()
        except KeyboardInterrupt:
            log.info("interrupted")
        finally:
            self.stop()

    def on(self, event_type: str, handler: Handler) -> Handler:
        """Call ``handler`` for every ``event_type`` event (ARI's type, or the client's own).

        Handlers get ``(event)``, or ``(event, instance)`` when the event names one resource,
        or ``(event, instances)`` when it names several.  ``"*"`` listens to every event, Asterisk's
        and the client's: its handlers get ``(event)``.  An unknown type raises ``ValueError``.
        """
        self.meta.events.add(event_type, handler)
        return handler

    def once(self, event_type: str, handler: Handler) -> Handler:
        """Like :meth:`on`, for the next such event only."""
        self.meta.events.add(event_type, handler, once=True)
        return handler

    def remove_listener(self, event_type: str, handler: Handler) -> None:
        self.meta.events.remove(event_type, handler)

    def remove_all_listeners(self, event_type: Optional[str] = None) -> None:
        """Remove the client-level handlers of ``event_type`` (all types when None)."""
        self.meta.events.remove_all(event_type)

    removeListener = remove_listener
    removeAllListeners = remove_all_listeners


def _make_listeners(meta: Meta) -> Any:
    from .events import CLIENT_EVENTS
    from .listeners import Listeners  # here: the registry (and blinker) load on the first listener

    return Listeners((*meta.api.event_types, *CLIENT_EVENTS))


@overload
def connect(
    url: str,
    username: Optional[str] = None,
    password: Optional[str] = None,
    *,
    timeout: float = 10.0,
    verify: Verify = True,
    spec: Optional[str] = None,
    callback: None = None,
    workers: int = 8,
    pool_size: Optional[int] = None,
    transport: str = "auto",
    dispatch: str = "serial",
    dispatch_workers: int = 4,
    on_handler_error: Optional[ErrorHook] = None,
    ping_interval: float = 20.0,
    ping_timeout: float = 10.0,
    connect_timeout: Optional[float] = None,
    reconnect: Optional[Backoff] = None,
    reconnect_initial: Optional[float] = None,
    reconnect_max: Optional[float] = None,
    reconnect_factor: Optional[float] = None,
    reconnect_jitter: Optional[float] = None,
    reconnect_max_retries: Any = UNSET,
) -> Client: ...


@overload
def connect(
    url: str,
    username: Optional[str] = None,
    password: Optional[str] = None,
    *,
    timeout: float = 10.0,
    verify: Verify = True,
    spec: Optional[str] = None,
    callback: ConnectCallback,
    workers: int = 8,
    pool_size: Optional[int] = None,
    transport: str = "auto",
    dispatch: str = "serial",
    dispatch_workers: int = 4,
    on_handler_error: Optional[ErrorHook] = None,
    ping_interval: float = 20.0,
    ping_timeout: float = 10.0,
    connect_timeout: Optional[float] = None,
    reconnect: Optional[Backoff] = None,
    reconnect_initial: Optional[float] = None,
    reconnect_max: Optional[float] = None,
    reconnect_factor: Optional[float] = None,
    reconnect_jitter: Optional[float] = None,
    reconnect_max_retries: Any = UNSET,
) -> Future[Client]: ...


def connect(
    url: str,
    username: Optional[str] = None,
    password: Optional[str] = None,
    *,
    timeout: float = 10.0,
    verify: Verify = True,
    spec: Optional[str] = None,
    callback: Optional[ConnectCallback] = None,
    workers: int = 8,
    pool_size: Optional[int] = None,
    transport: str = "auto",
    dispatch: str = "serial",
    dispatch_workers: int = 4,
    on_handler_error: Optional[ErrorHook] = None,
    ping_interval: float = 20.0,
    ping_timeout: float = 10.0,
    connect_timeout: Optional[float] = None,
    reconnect: Optional[Backoff] = None,
    reconnect_initial: Optional[float] = None,
    reconnect_max: Optional[float] = None,
    reconnect_factor: Optional[float] = None,
    reconnect_jitter: Optional[float] = None,
    reconnect_max_retries: Any = UNSET,
) -> Union[Client, Future[Client]]:
    """Connect to ARI at ``url`` (``http://host:8088``, with or without ``/ari``) and build the client.

    The API is built from the server's own description, or from a folder saved with
    ``python -m ari.spec save`` when ``spec`` names one.

    ``transport`` chooses how REST calls travel: ``"auto"`` (the event socket once
    ``start()`` has opened it, on an Asterisk that takes REST over it; HTTP otherwise),
    ``"http"``, or ``"websocket"`` (the event socket only; needs ``start()``).  With ``callback``, connecting
    happens in the background, ``callback(err, client)`` is called once and a
    ``Future`` is returned.

    Events: ``dispatch`` ``"serial"`` (one thread, arrival order) or ``"concurrent"``
    (``dispatch_workers`` threads, each resource's events in order); ``on_handler_error(error,
    event)`` receives what handlers raise (else the ``ari`` logger if logging is configured, else
    stderr); ``ping_interval`` / ``ping_timeout`` find dead sockets; ``connect_timeout`` bounds the
    handshake (default ``timeout``); ``reconnect`` is the ``ari.Backoff`` policy after a loss.
    ``reconnect_initial``, ``reconnect_max``, ``reconnect_factor``, ``reconnect_jitter`` and
    ``reconnect_max_retries`` are aliases of its fields (``initial``, ``maximum``, ``factor``,
    ``jitter``, ``max_retries``) applied over it.
    """

    check_transport(transport)  # before any network
    event_options: Dict[str, Any] = {
        "dispatch": dispatch,
        "dispatch_workers": dispatch_workers,
        "on_handler_error": on_handler_error,
        "ping_interval": ping_interval,
        "ping_timeout": ping_timeout,
        "connect_timeout": connect_timeout,
        "reconnect": backoff_from(
            reconnect, reconnect_initial, reconnect_max, reconnect_factor, reconnect_jitter, reconnect_max_retries
        ),
    }

    def build() -> Client:
        # A connection for every thread that may call at once: workers and dispatchers.
        size = pool_size or max(16, workers + int(dispatch_workers))
        http = HTTPTransport(url, username, password, timeout=timeout, verify=verify, pool_size=size)
        try:
            description = read_description(spec) if spec else fetch_description(http.get_json)
            api = build_api(description)
            # The event socket carries REST calls on an Asterisk that describes RESTRequest.
            socket = SocketRequests(http.root, timeout) if transport != "http" and "RESTRequest" in api.models else None
            meta = Meta(api, Router(http, transport, socket), workers=workers)
            return Client(meta, **event_options)
        except BaseException:
            http.close()
            raise

    if callback is None:
        return build()
    return _in_background(build, callback)


def connect_async(
    url: str, username: Optional[str] = None, password: Optional[str] = None, **options: Any
) -> Future[Client]:
    """Like :func:`connect`, in the background: returns a ``Future`` of the client."""
    return _in_background(lambda: connect(url, username, password, **options), None)


def _in_background(fn: Callable[[], Client], callback: Optional[ConnectCallback]) -> Future[Client]:
    future: Future[Client] = Future()

    def run() -> None:
        try:
            client = fn()
        except BaseException as exc:  # delivered, never lost: the future holds it
            future.set_exception(exc)
            if callback is not None:
                call_guarded(log, "connect callback", callback, exc, None)
            return
        future.set_result(client)
        if callback is not None:
            call_guarded(log, "connect callback", callback, None, client)

    threading.Thread(target=run, name="ari-connect", daemon=True).start()
    return future


__all__ = ["Client", "ClientState", "backoff_from", "connect", "connect_async"]
