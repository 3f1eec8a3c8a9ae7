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
from typing import Any, Callable, Dict, Optional

from .http import Transport, Verify
from .model import API, build_api
from .naming import snake_case
from .resources import Collection, Meta, build_classes, new_instance
from .spec import fetch_description, read_description

log = logging.getLogger(__name__)

ConnectCallback = Callable[[Optional[BaseException], Optional["Client"]], None]


class Client:
    """A connection to one Asterisk's ARI: resources as attributes, events through ``on``.

    Resources appear under their ARI and snake_case names (``client.deviceStates``,
    ``client.device_states``); instance factories under their model names
    (``client.Channel()``, ``client.Bridge()``).
    """

    def __init__(self, meta: Meta, **event_options: Any) -> None:
        self.meta = meta
        self._event_options = event_options
        self._closed = False
        for name, collection in build_classes(meta).items():
            setattr(self, name, collection)
            setattr(self, snake_case(name), collection)
        for model in meta.instance_classes:
            factory = functools.partial(new_instance, meta, model)
            functools.update_wrapper(factory, new_instance)
            setattr(self, model, factory)

    @property
    def api(self) -> API:
        return self.meta.api

    @property
    def resources(self) -> Dict[str, Collection]:
        return {name: getattr(self, name) for name in self.meta.api.resources}

    def __repr__(self) -> str:
        return f"<ari.Client {self.meta.transport.root} user={self.meta.transport.username!r}>"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop events, the worker pool and the HTTP pool. Idempotent; safe from a handler."""
        if self._closed:
            return
        self._closed = True
        self.meta.shutdown()
        self.meta.transport.close()


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
    pool_size: int = 16,
    **event_options: Any,
) -> Any:
    """Connect to ARI at ``url`` (``http://host:8088``, with or without ``/ari``) and build the client.

    The API is built from the server's own description, or from a folder saved with
    ``python -m ari.spec save`` when ``spec`` names one.  With ``callback``, connecting
    happens in the background, ``callback(err, client)`` is called once and a
    ``Future`` is returned.
    """

    def build() -> Client:
        transport = Transport(url, username, password, timeout=timeout, verify=verify, pool_size=pool_size)
        try:
            description = read_description(spec) if spec else fetch_description(transport.get_json)
            meta = Meta(build_api(description), transport, workers=workers)
            return Client(meta, **event_options)
        except BaseException:
            transport.close()
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
