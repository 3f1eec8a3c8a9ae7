"""REST over the event WebSocket: the event socket's transport.

Asterisk 20.14+, 22.4+ and 23 take ARI requests as ``RESTRequest`` messages on the socket
that carries events and answer each with a ``RESTResponse`` event.  ``SocketRequests``
implements the transport contract (transports.py): it frames requests, correlates answers
by ``request_id`` (the reader thread hands them in) and fails every request in flight when
the socket goes, since a request that may have reached Asterisk is never sent again.

It must not open or read sockets (stream.py does), build requests (operations.py does) nor
choose between transports (transports.Router does).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from functools import partial
from typing import Any, Callable, Dict, Optional, Union

from .errors import ConnectionError, ResponseError, Timeout, shorten
from .transports import NotSent, PreparedRequest, Reply, encode_json

log = logging.getLogger(__name__)


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
        # The hot paths (send, deliver) take the plain lock; waits use the condition on it.
        self._lock = threading.Lock()
        self._state = threading.Condition(self._lock)
        self._send: Optional[Callable[[str], None]] = None
        self._lead: Optional[Callable[[Callable[[], None], Callable[[], bool], float], None]] = None
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

    def attach(
        self,
        send: Callable[[str], None],
        reader: int,
        app: Optional[str] = None,
        lead: Optional[Callable[[Callable[[], None], Callable[[], bool], float], None]] = None,
    ) -> None:
        """A socket is open: send with ``send``; ``reader`` is the thread reading it; ``app``
        its first application when it changed (one replaced elsewhere is not asked back);
        ``lead(send, answered, deadline)`` calls ``send()`` and lets the caller read the socket
        itself until ``answered()`` (the stream's leader/follower read; without it callers
        wait for the reader)."""
        with self._state:
            self._send = send
            self._lead = lead
            self._reader = reader
            if app is not None:
                self.app = app
            self._state.notify_all()

    def detach(self, why: str) -> None:
        """The socket is gone: every request in flight fails now, saying its outcome is unknown."""
        with self._state:
            self._send = None
            self._lead = None
            pending, self._pending = self._pending, {}
        for waiter in pending.values():
            waiter.error = ConnectionError(
                f"{waiter.method} {shorten(waiter.url)}: {why} before Asterisk answered; the outcome is unknown"
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
        with self._lock:
            waiter = self._pending.pop(request_id, None) if isinstance(request_id, str) else None
            if not self._pending and not self._running:
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
            body = data.get("message_body")
            if type(status) is not int:
                waiter.error = ConnectionError(
                    f"{waiter.method} {shorten(waiter.url)}: malformed RESTResponse", waiter.url
                )
            elif body is not None and not isinstance(body, str):
                waiter.error = ResponseError(
                    f"{waiter.method} {shorten(waiter.url)}: malformed RESTResponse: message_body is"
                    f" {type(body).__name__}, not the answer's text"
                )
            else:
                reason = str(data.get("reason_phrase") or "")
                content_type = data.get("content_type")
                waiter.reply = Reply(
                    status,
                    reason,
                    body if isinstance(body, str) else "",
                    content_type if isinstance(content_type, str) else None,
                    waiter.url,
                )
        waiter.done.release()
        return True

    # -- the callers' side -------------------------------------------------------------
    @property
    def attached(self) -> bool:
        return self._send is not None

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered (the router's measure of the socket's queue)."""
        return len(self._pending)

    def on_reader_thread(self) -> bool:
        """True on the thread reading the socket: it cannot wait for an answer it must read."""
        return self._reader == threading.get_ident()

    def wait_attached(self, timeout: float) -> bool:
        """Wait for a socket while a stream is running (reconnecting); False if none comes."""
        with self._state:
            return self._state.wait_for(lambda: self._send is not None or not self._running, timeout) and (
                self._send is not None
            )

    def send(self, request: PreparedRequest) -> Reply:
        """Send one request over the socket and wait for its answer (any status, as over HTTP)."""
        method = request.method
        path = request.path
        query = request.query
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
        if request.body is not None:
            message["content_type"] = "application/json"
            message["message_body"] = request.body
        text = encode_json(message)
        waiter = _Waiter(method, url)
        with self._lock:
            send, lead = self._send, self._lead
            if send is None:
                raise NotSent(f"{method} {shorten(url)}: the event socket is not connected", url)
            self._pending[request_id] = waiter
        deadline = time.monotonic() + self.timeout
        try:
            if lead is None:
                send(text)
            else:
                # Send, then read the socket on this thread while no one else does: the answer
                # then reaches this caller without a hand-off from the reader thread.
                done = waiter.done
                lead(partial(send, text), lambda: not done.locked(), deadline)
        except Exception as exc:
            with self._state:
                self._pending.pop(request_id, None)
            if isinstance(exc, NotSent):
                raise
            raise ConnectionError(
                f"{method} {shorten(url)}: sending over the event socket failed ({exc}); the outcome is unknown", url
            ) from exc
        if not waiter.done.acquire(timeout=max(0.0, deadline - time.monotonic())):
            with self._state:
                gone = self._pending.pop(request_id, None)
            if gone is not None:  # else the answer (or a failure) came in as the wait ended
                raise Timeout(
                    f"{method} {shorten(url)}: no answer over the event socket within {self.timeout} s;"
                    " the outcome is unknown",
                    url,
                )
        if waiter.error is not None:
            raise waiter.error
        reply = waiter.reply
        assert reply is not None
        return reply

    def close(self) -> None:
        """The client is closing: nothing more is sent (the stream ends the socket itself)."""
        self.end("the client was closed")


__all__ = ["NotSent", "SocketRequests"]  # NotSent: defined in transports.py, imported from here by stream.py
