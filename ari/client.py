"""The Client: composes the transport, the API model, the generated resources and the events.

``connect()`` loads the description (from the server, or a saved folder) and builds
everything from it; the client owns its lifecycle (``close()``, context manager)
and, through ``meta.events``, its listeners and event stream.
"""

from __future__ import annotations

import functools
import logging
import threading
from concurrent.futures import Future
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from .backoff import Backoff
from .http import HTTPTransport, Verify
from .model import API, build_api
from .naming import snake_case
from .resources import Collection, Meta, build_classes, new_instance
from .socket_rest import SocketRequests
from .spec import fetch_description, read_description
from .subscriptions import Subscriptions
from .transports import Router, check_transport

if TYPE_CHECKING:  # the stream (and the WebSocket libraries) load on the first start()
    from .stream import Apps, EventStream

log = logging.getLogger(__name__)

ConnectCallback = Callable[[Optional[BaseException], Optional["Client"]], None]
Handler = Callable[..., Any]

_DISPATCH_OPTIONS: Dict[str, Any] = {"dispatch": "serial", "dispatch_workers": 4, "on_handler_error": None}
_STREAM_OPTIONS: Dict[str, Any] = {"ping_interval": 20.0, "ping_timeout": 10.0, "connect_timeout": None}
_BACKOFF_OPTIONS = {
    "reconnect_initial": "initial",
    "reconnect_max": "maximum",
    "reconnect_factor": "factor",
    "reconnect_jitter": "jitter",
    "reconnect_max_retries": "max_retries",
}


class Client:
    """A connection to one Asterisk's ARI: resources as attributes, events through ``on``.

    Resources appear under their ARI and snake_case names (``client.deviceStates``,
    ``client.device_states``); instance factories under their model names
    (``client.Channel()``, ``client.Bridge()``).
    """

    def __init__(self, meta: Meta, **event_options: Any) -> None:
        """Event options: ``dispatch`` ("serial" or "concurrent"), ``dispatch_workers``,
        ``on_handler_error(error, event)``, ``ping_interval``, ``ping_timeout``,
        ``connect_timeout``, ``reconnect_initial``, ``reconnect_max``, ``reconnect_factor``,
        ``reconnect_jitter``, ``reconnect_max_retries`` (None: forever)."""
        unknown = set(event_options) - set(_DISPATCH_OPTIONS) - set(_STREAM_OPTIONS) - set(_BACKOFF_OPTIONS)
        if unknown:
            raise TypeError(f"unknown event options: {', '.join(sorted(unknown))}")
        self.meta = meta
        self._closed = False
        self._stream: Optional[EventStream] = None
        self._stream_options: Dict[str, Any] = {k: event_options.get(k, v) for k, v in _STREAM_OPTIONS.items()}
        self._backoff = Backoff(
            **{field: event_options[k] for k, field in _BACKOFF_OPTIONS.items() if k in event_options}
        )
        for name, collection in build_classes(meta).items():
            setattr(self, name, collection)
            setattr(self, snake_case(name), collection)
        for model in meta.instance_classes:
            factory = functools.partial(new_instance, meta, model)
            functools.update_wrapper(factory, new_instance)
            setattr(self, model, factory)
        options = {k: event_options.get(k, v) for k, v in _DISPATCH_OPTIONS.items()}
        if options["dispatch"] not in ("serial", "concurrent"):
            raise ValueError(f"dispatch must be 'serial' or 'concurrent', not {options['dispatch']!r}")
        meta.make_events = functools.partial(_make_dispatcher, meta, options)
        self._subscriptions = Subscriptions(self._resubscribe)
        self._subscriptions.observe(meta)
        meta.observers.add("applications.filter", meta.router.note_filter)

    @property
    def api(self) -> API:
        return self.meta.api

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
        if self._closed:
            return
        self._closed = True
        self.stop()
        self.meta.shutdown()
        self.meta.transport.close()

    # -- events --------------------------------------------------------------------------
    def start(self, apps: Apps, subscribe_all: bool = False) -> None:
        """Open the event socket for ``apps`` (``'hello'``, ``'a,b'`` or a list).

        Returns once Asterisk has accepted it; raises ``ari.ConnectionError`` or
        ``ari.AuthenticationError`` otherwise.  Handlers run on dispatcher threads.
        """
        if self._closed:
            raise RuntimeError("client is closed")
        if self._stream is not None and not self._stream.finished.is_set():
            raise RuntimeError("events already started; stop() first")
        from .stream import EventStream  # here: REST-only clients never pay for the WebSocket libraries

        dispatcher = self.meta.events
        stream = EventStream(
            self.meta.transport,
            _sink_of(dispatcher),
            apps,
            subscribe_all=subscribe_all,
            backoff=self._backoff,
            subscriptions=self._subscriptions,
            requests=self.meta.router.socket,
            **self._stream_options,
        )
        self._stream = stream  # before start(): a handler may call stop() at once
        try:
            stream.start()
        except BaseException:
            dispatcher.stop()  # seam shim
            raise

    def _resubscribe(self, app: str, sources: List[str]) -> None:
        self.applications.subscribe(applicationName=app, eventSource=sources)  # type: ignore[attr-defined]

    def stop(self) -> None:
        """Close the event socket and end every thread it started (within 2 s). Idempotent."""
        stream = self._stream
        if stream is not None:
            stream.stop()
            self.meta.events.stop()  # seam shim: the dispatcher stops after the stream

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
        """Call ``handler`` for every ``event_type`` event (ARI's type, or the client's own)."""
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


def _sink_of(dispatcher: Any) -> Any:
    """The dispatcher's ``sink()`` (seam 1), started before the stream."""
    # seam shim: until the dispatcher provides sink() itself (the dispatch helper's branch)
    dispatcher.start()
    if hasattr(dispatcher, "sink"):
        return dispatcher.sink()
    return SimpleNamespace(submit=dispatcher.submitter(), emit=dispatcher.emit, saturated=False)


def _make_dispatcher(meta: Meta, options: Dict[str, Any]) -> Any:
    from .dispatch import Dispatcher  # here: the registry (and blinker) load on the first listener
    from .events import Promoter

    return Dispatcher(
        Promoter(meta),
        mode=options["dispatch"],
        workers=options["dispatch_workers"],
        on_handler_error=options["on_handler_error"],
    )


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
    **event_options: Any,
) -> Any:
    """Connect to ARI at ``url`` (``http://host:8088``, with or without ``/ari``) and build the client.

    The API is built from the server's own description, or from a folder saved with
    ``python -m ari.spec save`` when ``spec`` names one.

    ``transport`` chooses how REST calls travel: ``"auto"`` (the event socket once
    ``start()`` has opened it, on an Asterisk that takes REST over it; HTTP otherwise),
    ``"http"``, or ``"websocket"`` (the event socket only; needs ``start()``).  With ``callback``, connecting
    happens in the background, ``callback(err, client)`` is called once and a
    ``Future`` is returned.
    """

    check_transport(transport)  # before any network

    def build() -> Client:
        # A connection for every thread that may call at once: workers and dispatchers.
        size = pool_size or max(
            16, workers + int(event_options.get("dispatch_workers", _DISPATCH_OPTIONS["dispatch_workers"]))
        )
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


def connect_async(url: str, username: Optional[str] = None, password: Optional[str] = None, **options: Any) -> Future:
    """Like :func:`connect`, in the background: returns a ``Future`` of the client."""
    return _in_background(lambda: connect(url, username, password, **options), None)


def _in_background(fn: Callable[[], Client], callback: Optional[ConnectCallback]) -> Future:
    future: Future = Future()

    def run() -> None:
        try:
            client = fn()
        except BaseException as exc:  # delivered, never lost: the future holds it
            future.set_exception(exc)
            if callback is not None:
                _safe_callback(callback, exc, None)
            return
        future.set_result(client)
        if callback is not None:
            _safe_callback(callback, None, client)

    threading.Thread(target=run, name="ari-connect", daemon=True).start()
    return future


def _safe_callback(callback: ConnectCallback, error: Optional[BaseException], client: Optional[Client]) -> None:
    try:
        callback(error, client)
    except Exception:
        log.exception("connect callback %r raised", callback)


__all__ = ["Client", "connect", "connect_async"]
