"""REST over the event WebSocket, and the choice of transport for each call.

Asterisk 20.14+, 22.4+ and 23 take ARI requests as ``RESTRequest`` messages on the socket
that carries events and answer each with a ``RESTResponse`` event.  ``SocketRequests``
frames requests, correlates answers by ``request_id`` (the reader thread hands them in)
and fails every request in flight when the socket goes, since a request that may have
reached Asterisk is never sent again.  ``Router`` sends each call over HTTP or the socket.

It must not open or read sockets (stream.py does) nor build requests (operations.py does).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Set, Union
from urllib.parse import unquote

from .errors import ARIError, ConnectionError, SpecError, Timeout, http_error
from .http import Transport

log = logging.getLogger(__name__)

TRANSPORTS = ("auto", "http", "websocket")


def check_transport(mode: str) -> None:
    if mode not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {mode!r}")

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


class Reply(NamedTuple):
    """An answer that came as a ``RESTResponse``: what ``_invoke`` reads of an HTTP response."""

    status_code: int
    reason: str
    content: Union[str, bytes]


class NotSent(ConnectionError):
    """The socket went before the request was sent: safe to send it another way."""


class _Waiter:
    """One request in flight: a lock held until its answer (or its failure) is in."""

    __slots__ = ("done", "reply", "error", "method", "url")

    def __init__(self, method: str, url: str) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self.reply: Optional[Reply] = None
        self.error: Optional[BaseException] = None
        self.method = method
        self.url = url


class SocketRequests:
    """Requests in flight on the event socket, by ``request_id``.

    The stream calls ``attach`` when a socket opens, ``deliver`` with every frame that may
    be a ``RESTResponse``, ``detach`` when the socket is lost and ``end`` when it stops.
    """

    def __init__(self, root: str, timeout: float) -> None:
        self.root = root
        self.timeout = timeout
        self._pending: Dict[str, _Waiter] = {}
        self._state = threading.Condition(threading.Lock())
        self._send: Optional[Callable[[str], None]] = None
        self._running = False  # a stream is started and not stopped: worth waiting for
        self._reader: Optional[int] = None
        self._ids = itertools.count(1)
        #: the application Asterisk names in its answers (the socket's first)
        self.app: Optional[str] = None

    # -- the stream's side -------------------------------------------------------------
    def begin(self, app: str) -> None:
        """A stream for ``app`` (first of its apps) is starting: requests may wait for it."""
        with self._state:
            self._running = True
            self.app = app

    def attach(self, send: Callable[[str], None], reader: int, app: Optional[str] = None) -> None:
        """A socket is open: send with ``send``; ``reader`` is the thread reading it; ``app``
        its first application when it changed (one replaced elsewhere is not asked back)."""
        with self._state:
            self._send = send
            self._reader = reader
            if app is not None:
                self.app = app
            self._state.notify_all()

    def detach(self, why: str) -> None:
        """The socket is gone: every request in flight fails now, saying its outcome is unknown."""
        with self._state:
            self._send = None
            pending, self._pending = self._pending, {}
        for waiter in pending.values():
            waiter.error = ConnectionError(
                f"{waiter.method} {waiter.url}: {why} before Asterisk answered; the outcome is unknown"
                " and the request was not sent again",
                waiter.url,
            )
            waiter.done.release()

    def end(self, why: str, drain: float = 0.0) -> None:
        """The stream is stopping: no new request is sent on its socket; those in flight get up
        to ``drain`` seconds for their answers (the reader must still be running), then fail."""
        with self._state:
            self._running = False
            self._send = None
            self._state.notify_all()
            if drain > 0 and not self.on_reader_thread():
                self._state.wait_for(lambda: not self._pending, drain)
        self.detach(why)

    def deliver(self, payload: Union[bytes, str]) -> bool:
        """Hand a frame to the request it answers; False when it is not a ``RESTResponse``.

        Called on the reader thread: it only releases the waiting caller.
        """
        try:
            data = json.loads(payload)
        except ValueError:
            return False
        if type(data) is not dict or data.get("type") != "RESTResponse":
            return False
        request_id = data.get("request_id")
        status = data.get("status_code")
        with self._state:
            waiter = self._pending.pop(request_id, None) if isinstance(request_id, str) else None
            if not self._pending:
                self._state.notify_all()  # end() may be waiting for the last answer
            if waiter is None:
                # Its caller gave up (timeout), or Asterisk could not read the request at all.
                log.warning(
                    "RESTResponse for no request in flight (request_id %r): %s %s",
                    request_id,
                    status,
                    data.get("reason_phrase"),
                )
                return True
            if type(status) is not int:
                waiter.error = ConnectionError(f"{waiter.method} {waiter.url}: malformed RESTResponse", waiter.url)
            else:
                body = data.get("message_body")
                reason = str(data.get("reason_phrase") or "")
                waiter.reply = Reply(status, reason, body if isinstance(body, str) else "")
        waiter.done.release()
        return True

    # -- the callers' side -------------------------------------------------------------
    @property
    def attached(self) -> bool:
        return self._send is not None

    def on_reader_thread(self) -> bool:
        """True on the thread reading the socket: it cannot wait for an answer it must read."""
        return self._reader == threading.get_ident()

    def wait_attached(self, timeout: float) -> bool:
        """Wait for a socket while a stream is running (reconnecting); False if none comes."""
        with self._state:
            return self._state.wait_for(lambda: self._send is not None or not self._running, timeout) and (
                self._send is not None
            )

    def request(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, str]],
        body: Any,
        *,
        operation: Optional[str],
        reasons: Mapping[int, str],
    ) -> Reply:
        """Send one request over the socket and wait for its answer; errors as over HTTP."""
        url = self.root + path
        request_id = str(next(self._ids))
        message: Dict[str, Any] = {
            "type": "RESTRequest",
            "transaction_id": request_id,
            "request_id": request_id,
            "method": method,
            "uri": path[1:],  # relative to /ari, without the leading slash
        }
        if query:
            # Name/value pairs, not a query string: values arrive exactly as given.
            message["query_strings"] = [{"name": name, "value": value} for name, value in query.items()]
        if body is not None:
            message["content_type"] = "application/json"
            message["message_body"] = _ENCODE(body)
        text = _ENCODE(message)
        waiter = _Waiter(method, url)
        with self._state:
            send = self._send
            if send is None:
                raise NotSent(f"{method} {url}: the event socket is not connected", url)
            self._pending[request_id] = waiter
        try:
            send(text)
        except Exception as exc:
            with self._state:
                self._pending.pop(request_id, None)
            if isinstance(exc, NotSent):
                raise
            raise ConnectionError(
                f"{method} {url}: sending over the event socket failed ({exc}); the outcome is unknown", url
            ) from exc
        if not waiter.done.acquire(timeout=self.timeout):
            with self._state:
                gone = self._pending.pop(request_id, None)
            if gone is not None:  # else the answer (or a failure) came in as the wait ended
                raise Timeout(
                    f"{method} {url}: no answer over the event socket within {self.timeout} s; the outcome is unknown",
                    url,
                )
        if waiter.error is not None:
            raise waiter.error
        reply = waiter.reply
        assert reply is not None
        if reply.status_code >= 300:
            raise http_error(
                reply.status_code,
                str(reply.content),
                method=method,
                url=url,
                operation=operation,
                reasons=reasons,
                reason=reply.reason,
            )
        return reply


class Router:
    """Sends each call over HTTP or the event socket, as the client's ``transport`` says.

    ``http``: always HTTP.  ``websocket``: the socket (waiting for a reconnect up to the
    timeout).  ``auto``: the socket while it is connected, HTTP otherwise.  Binary answers
    (``getStoredFile``) always come over HTTP: Asterisk refuses them on the socket (406).
    """

    def __init__(self, transport: Transport, mode: str, supported: bool) -> None:
        check_transport(mode)
        if mode == "websocket" and not supported:
            raise SpecError(
                "events.json",
                "no RESTRequest model: this Asterisk cannot take REST requests over the WebSocket"
                " (it needs 20.14, 22.4, 23 or later); use transport='auto' or 'http'",
            )
        self.transport = transport
        self.mode = mode
        self.socket = SocketRequests(transport.root, transport.timeout) if mode != "http" and supported else None
        self._filtered: Set[str] = set()  # apps whose event filter drops RESTResponse

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, str]],
        json: Any,
        operation: Optional[str],
        reasons: Mapping[int, str],
        binary: bool = False,
    ) -> Any:
        socket = self.socket
        if socket is not None and not binary and not socket.on_reader_thread():
            filtered = socket.app in self._filtered
            if operation == "applications.filter" and _drops_answers(json):
                # Asterisk applies the filter before it answers: that very answer would be dropped.
                filtered = filtered or unquote(path.rsplit("/", 2)[-2]) == socket.app
            if self._use_socket(socket, method, path, filtered):
                try:
                    return socket.request(method, path, params, json, operation=operation, reasons=reasons)
                except NotSent:
                    if self.mode != "auto":
                        raise
                    # Lost between the check and the send: nothing left, so HTTP may carry it.
        return self.transport.request(method, path, params=params, json=json, operation=operation, reasons=reasons)

    def _use_socket(self, socket: SocketRequests, method: str, path: str, filtered: bool) -> bool:
        if self.mode == "auto":
            return socket.attached and not filtered
        if filtered:
            raise ARIError(
                f"{method} {self.transport.root}{path}: the event filter of {socket.app!r} drops RESTResponse,"
                " so Asterisk's answers would never arrive; allow {'type': 'RESTResponse'} or use transport='auto'"
            )
        if not socket.attached and not socket.wait_attached(self.transport.timeout):
            raise ConnectionError(
                f"{method} {self.transport.root}{path}: transport='websocket' and the event socket is not"
                " connected (call client.start(apps) first)",
                self.transport.root + path,
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


__all__ = ["TRANSPORTS", "NotSent", "Reply", "Router", "SocketRequests", "check_transport"]
