"""The transport contract: one request, one reply, ``send`` and ``close``; and the choice of transport.

Every call is a ``PreparedRequest`` (built by operations.py) handed whole to a transport,
whose ``send`` returns a ``Reply`` whatever the status: HTTP (http.py), the event socket
(socket_rest.py), next an outbound socket.  ``Router`` picks one per call, as the client's
``transport`` option says; ``MockTransport`` answers from a function, for tests.

A new transport (the outbound WebSocket) is a class with ``send(request) -> Reply`` and
``close()``, built in ``connect()`` and given to the ``Router``, which decides when calls take it.

It must not import a network library nor build requests: the contract only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Protocol, Set, Union
from urllib.parse import unquote

from .errors import ARIError, ClosedError, ConnectionError, SpecError, http_error, shorten

log = logging.getLogger(__name__)

#: the values of the client's ``transport`` option
TRANSPORTS = ("auto", "http", "websocket")

#: JSON text as every transport sends it (request bodies, socket frames): compact
encode_json = json.JSONEncoder(separators=(",", ":")).encode

#: In ``auto``, the calls in flight on the event socket from which the next goes over HTTP's
#: pool instead.  Asterisk answers one socket's requests one at a time: on Asterisk 22,
#: ``channels.answer`` from 16 threads made 1,938 op/s at 5.4 ms p50 over one socket against
#: 4,043 op/s at 3.1 ms over 16 keep-alive HTTP connections, while up to 8 in flight the
#: socket was as fast or faster (bench/README.rst, "End to end on a real Asterisk").
SOCKET_DEPTH = 8


def check_transport(mode: str) -> None:
    if mode not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {mode!r}")


@dataclass(frozen=True)
class PreparedRequest:
    """Everything one call needs, checked and encoded: passed whole to a transport."""

    method: str
    path: str  # percent-encoded, under the ARI root
    query: Dict[str, str] = field(default_factory=dict)
    body: Optional[str] = None  # JSON text
    operation: Optional[str] = None  # "channels.get"; None for the description's files
    binary: bool = False  # the answer is bytes (getStoredFile), never JSON
    reasons: Mapping[int, str] = field(default_factory=dict)  # status -> the description's meaning


class Reply(NamedTuple):
    """An answer as every transport returns it, whatever its status."""

    status: int
    reason: str
    content: Union[bytes, str]
    content_type: Optional[str] = None
    url: str = ""  # the request's URL without its query, for messages

    @property
    def text(self) -> str:
        content = self.content
        return content if isinstance(content, str) else content.decode("utf-8", "replace")

    def raise_for_status(self, request: PreparedRequest) -> Reply:
        """The reply itself when it is a success (2xx), else the ``ari`` error for its status."""
        if self.status < 300:
            return self
        raise http_error(
            self.status,
            self.text,
            method=request.method,
            url=self.url,
            operation=request.operation,
            reasons=request.reasons,
            reason=self.reason,
        )


class Transport(Protocol):
    """What every transport implements (requests' ``BaseAdapter``, httpx's ``BaseTransport``).

    ``send`` raises ``ari.ConnectionError`` / ``ari.Timeout`` when no reply came, and
    ``ari.ClosedError`` after ``close()``; an error status is a ``Reply`` like any other.  A
    ``closed`` attribute, where a transport has one, tells the router the client was closed.
    """

    def send(self, request: PreparedRequest) -> Reply: ...

    def close(self) -> None: ...


class MockTransport:
    """A transport answering every request with ``handler(request)``, for tests (httpx's ``MockTransport``)."""

    def __init__(self, handler: Callable[[PreparedRequest], Reply], root: str = "http://mock/ari") -> None:
        self.handler = handler
        self.root = root
        self.timeout = 10.0
        self.username: Optional[str] = None
        self.closed = False

    def send(self, request: PreparedRequest) -> Reply:
        if self.closed:
            raise ClosedError(f"{request.method} {shorten(self.root + request.path)}: the client is closed")
        return self.handler(request)

    def close(self) -> None:
        self.closed = True


class NotSent(ConnectionError):
    """The request never left (not a byte written): safe to send it another way."""


class SocketTransport(Transport, Protocol):
    """The event socket's transport, as the router sees it (socket_rest.SocketRequests)."""

    app: Optional[str]

    @property
    def attached(self) -> bool: ...

    @property
    def in_flight(self) -> int: ...

    def on_reader_thread(self) -> bool: ...

    def wait_attached(self, timeout: float) -> bool: ...


class Router:
    """Sends each call over HTTP or the event socket, as the client's ``transport`` says.

    ``http``: always HTTP.  ``websocket``: the socket (waiting for a reconnect up to the
    timeout).  ``auto``: the socket while it is connected and usable and has fewer than
    ``socket_depth`` calls in flight, HTTP otherwise.
    Binary answers (``getStoredFile``) always come over HTTP: Asterisk refuses them on the
    socket (406).  ``socket`` is None for ``http`` and on an Asterisk without REST over it.
    """

    def __init__(self, http: Any, mode: str, socket: Optional[SocketTransport] = None) -> None:
        check_transport(mode)
        if mode == "websocket" and socket is None:
            raise SpecError(
                "events.json",
                "no RESTRequest model: this Asterisk cannot take REST requests over the WebSocket"
                " (it needs 20.14, 22.4, 23 or later); use transport='auto' or 'http'",
            )
        self.http = http
        self.mode = mode
        #: the event socket's transport (typed loosely: the stream takes it as its own class)
        self.socket: Any = socket if mode != "http" else None
        self.timeout: float = http.timeout
        self._filtered: Set[str] = set()  # apps whose event filter drops RESTResponse
        self._socket_usable: Callable[[], bool] = _always
        #: in ``auto``, calls in flight on the socket from which the next goes over HTTP
        self.socket_depth = SOCKET_DEPTH

    def set_socket_gate(self, usable: Callable[[], bool]) -> None:
        """In ``auto``, calls avoid the socket while ``usable()`` is false (a saturated event backlog)."""
        self._socket_usable = usable

    def send(self, request: PreparedRequest) -> Reply:
        if getattr(self.http, "closed", False):  # the client closed: not over the socket either
            raise ClosedError(f"{request.method} {shorten(self.http.root + request.path)}: the client is closed")
        socket = self.socket
        if socket is not None and not request.binary and not socket.on_reader_thread():
            filtered = socket.app in self._filtered
            if request.operation == "applications.filter" and request.body and _drops_answers(json.loads(request.body)):
                # Asterisk applies the filter before it answers: that very answer would be dropped.
                filtered = filtered or unquote(request.path.rsplit("/", 2)[-2]) == socket.app
            if self._use_socket(socket, request, filtered):
                try:
                    return socket.send(request)
                except NotSent:
                    if self.mode != "auto":
                        raise
                    # Lost between the check and the send: nothing left, so HTTP may carry it.
        return self.http.send(request)

    def _use_socket(self, socket: SocketTransport, request: PreparedRequest, filtered: bool) -> bool:
        if self.mode == "auto":
            return socket.attached and not filtered and socket.in_flight < self.socket_depth and self._socket_usable()
        url = shorten(self.http.root + request.path)
        if filtered:
            raise ARIError(
                f"{request.method} {url}: the event filter of {socket.app!r} drops RESTResponse,"
                " so Asterisk's answers would never arrive; allow {'type': 'RESTResponse'} or use transport='auto'"
            )
        if not socket.attached and not socket.wait_attached(self.timeout):
            raise ConnectionError(
                f"{request.method} {url}: transport='websocket' and the event socket is not"
                " connected (call client.start(apps) first)",
                url,
            )
        return True

    def note_filter(self, values: Mapping[str, Any]) -> None:
        """Observer of ``applications.filter``: later calls avoid a socket whose answers it drops."""
        app = str(values.get("applicationName"))
        if _drops_answers(values.get("filter")):
            self._filtered.add(app)
            log.info("the event filter of %s drops RESTResponse: REST calls avoid the event socket", app)
        else:
            self._filtered.discard(app)

    def close(self) -> None:
        self.http.close()


def _always() -> bool:
    return True


def _drops_answers(spec: Any) -> bool:
    """Whether an event filter (``{"allowed": [...], "disallowed": [...]}``) drops RESTResponse."""
    spec = spec if isinstance(spec, dict) else {}
    allowed = [f for f in spec.get("allowed") or () if isinstance(f, dict)]
    disallowed = [f for f in spec.get("disallowed") or () if isinstance(f, dict)]
    return (bool(allowed) and not any(_matches(f) for f in allowed)) or any(_matches(f) for f in disallowed)


def _matches(event_filter: Dict[str, Any]) -> bool:
    # Asterisk matches a filter entry when each of its keys equals the event's.
    response = {"type": "RESTResponse"}
    return all(response.get(key) == value for key, value in event_filter.items())


__all__ = [
    "SOCKET_DEPTH",
    "TRANSPORTS",
    "MockTransport",
    "NotSent",
    "PreparedRequest",
    "Reply",
    "Router",
    "SocketTransport",
    "Transport",
    "check_transport",
    "encode_json",
]
