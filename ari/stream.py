"""The event stream, and the only module that imports websocket (websocket-client).

Its one job is the socket: open ``ws(s)://.../ari/events?app=...`` with the client's
Authorization header and TLS settings, read frames on the ``ari-events`` thread, parse
them and hand them to the dispatcher; ping on the ``ari-ping`` thread to find dead or
half-open connections; reconnect with backoff in a loop (never recursion) that
``stop()`` interrupts at once; restore ``applications.subscribe`` subscriptions after a
reconnect; carry REST requests when the client sends them over the socket (the reader
hands each ``RESTResponse`` to ``socket_rest.SocketRequests``, never to handlers).  Every
websocket failure becomes an ``ari`` exception.

It must not call handlers (dispatch.py does) nor shape events (events.py does).  The
WebSocket library sits behind ``Link`` so it can be swapped after measurement.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, Union
from urllib.parse import urlencode

import websocket
from websockets.protocol import Protocol as FrameProtocol
from websockets.protocol import Side, State

from .backoff import Backoff
from .errors import ARIError, AuthenticationError, ConnectionError, Timeout, error_class
from .events import Event, client_event
from .http import Transport, Verify
from .socket_rest import NotSent, SocketRequests
from .subscriptions import Subscriptions

log = logging.getLogger(__name__)

# RFC 6455 opcodes, independent of the library behind Link.
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

Apps = Union[str, Sequence[str]]

#: How the frames the reader itself acts on start: Asterisk packs "type" first and jansson
#: keeps key order, compact or with ari.conf's pretty format.  A prefix test costs a quarter
#: of a search through every event (57 ns against 240 ns a frame).
_ANSWER = (b'{"type":"RESTResponse"', b'{\n  "type": "RESTResponse"')
_REPLACED = (b'{"type":"ApplicationReplaced"', b'{\n  "type": "ApplicationReplaced"')
_ACTED_ON = _ANSWER + _REPLACED


def app_list(apps: Apps) -> List[str]:
    """``'hello'``, ``'a,b'`` or ``['a', 'b']`` -> ``['a', 'b']`` (order kept, duplicates dropped)."""
    items = apps.split(",") if isinstance(apps, str) else [a for app in apps for a in str(app).split(",")]
    names = list(dict.fromkeys(a.strip() for a in items if a.strip()))
    if not names:
        raise ValueError("start() needs at least one application name")
    return names


def sslopt_for(verify: Verify) -> Dict[str, Any]:
    """The client's ``verify`` (True, False or a CA bundle path) as websocket-client sslopt."""
    if verify is False:
        return {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
    if isinstance(verify, str):
        return {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": verify}
    return {"cert_reqs": ssl.CERT_REQUIRED}


class Link:
    """One open WebSocket: the seam between the stream and the WebSocket libraries.

    websocket-client opens the socket (handshake, TLS, headers) and sends (pings, pongs,
    close).  Reading is where the events' time goes: websocket-client's reader makes two
    or more small ``recv`` calls and several objects per frame, so this reads 64 KiB at a
    time and lets the ``websockets`` library's sans-I/O protocol split the frames (no
    framing is written here; figures in README.rst).
    """

    __slots__ = ("_ws", "_read_socket", "_protocol", "_parts", "received_at")

    def __init__(self, ws: websocket.WebSocket) -> None:
        self._ws = ws
        sock: Any = ws.sock
        self._read_socket: Callable[[int], bytes] = sock.recv
        self._protocol = FrameProtocol(Side.CLIENT, state=State.OPEN, max_size=None)
        self._parts: List[bytes] = []  # a fragmented message being assembled
        #: ``time.monotonic()`` when the messages ``read`` returned last came off the socket
        self.received_at = 0.0

    def read(self) -> List[Tuple[int, bytes]]:
        """The next messages, as (opcode, payload): all that one socket read completed.

        Pings are answered here.  Raises when the connection is closed or broken.
        """
        while True:
            chunk = self._read_socket(65536)
            if not chunk:
                raise ConnectionError("the event socket was closed")
            self.received_at = time.monotonic()
            protocol = self._protocol
            protocol.receive_data(chunk)
            protocol.data_to_send()  # its own replies are not used: websocket-client sends ours
            messages = self._messages(protocol.events_received())
            if messages:
                return messages
            if protocol.state is State.CLOSED:
                raise ConnectionError("the event socket was closed")

    def _messages(self, frames: List[Any]) -> List[Tuple[int, bytes]]:
        messages: List[Tuple[int, bytes]] = []
        parts = self._parts
        for frame in frames:  # only frames: the handshake was websocket-client's
            opcode = frame.opcode.value
            if frame.fin and opcode != CONT and not parts:
                messages.append((opcode, frame.data))
            elif opcode in (TEXT, BINARY, CONT):
                parts.append(frame.data)
                if frame.fin:
                    messages.append((TEXT, b"".join(parts)))
                    parts.clear()
            else:  # a control frame in the middle of a fragmented message
                messages.append((opcode, frame.data))
            if opcode == PING:
                self._ws.pong(frame.data)
        return messages

    @classmethod
    def open(cls, url: str, authorization: str, verify: Verify, timeout: float) -> Link:
        """Connect and complete the handshake; raise the matching ``ari`` error."""
        shown = url.split("?", 1)[0]
        try:
            ws = websocket.create_connection(
                url,
                timeout=timeout,
                header=[f"Authorization: {authorization}"],
                sslopt=sslopt_for(verify),
                skip_utf8_validation=True,  # json.loads rejects bad UTF-8 anyway, at C speed
                enable_multithread=True,  # the ping thread sends while the reader reads
            )
        except websocket.WebSocketBadStatusException as exc:
            status = int(exc.status_code)
            message = _body_message(exc.resp_body) or str(exc.status_message or "")
            raise error_class(status)(status, message, method="GET", url=shown) from exc
        except (socket.timeout, websocket.WebSocketTimeoutException) as exc:
            raise Timeout(f"no answer from {shown} within {timeout} s", shown) from exc
        except (OSError, websocket.WebSocketException) as exc:
            raise ConnectionError(f"cannot open the event socket {shown}: {exc}", shown) from exc
        ws.settimeout(None)  # reads block; pings find a dead peer
        return cls(ws)

    def ping(self) -> None:
        self._ws.ping()

    def send_text(self, text: str) -> None:
        """Send one text frame (thread-safe: websocket-client locks its sends)."""
        if self._ws.sock is None:  # closed: not a byte of it left
            raise NotSent("the event socket is closed")
        self._ws.send(text)

    def abort(self) -> None:
        """Wake a blocked ``recv`` (it raises) without waiting for anything."""
        try:
            self._ws.abort()
        except Exception:  # the socket may already be gone
            log.debug("abort failed", exc_info=True)

    def close(self) -> None:
        try:
            self._ws.shutdown()
        except Exception:
            log.debug("shutdown failed", exc_info=True)


def _body_message(body: Any) -> str:
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return ""
    return str(data.get("message", "")) if isinstance(data, dict) else ""


class Sink(Protocol):
    """Where the stream hands what it reads (the dispatcher's ``sink()``, seam 1 of the core)."""

    def submit(self, batch: List[bytes], received_at: float) -> None:
        """Take a batch of event frames; may block the reader for a bounded time (backpressure)."""

    def emit(self, event: Event) -> None:
        """Take one of the client's own events (``WebSocketConnected`` ...)."""


class EventStream:
    """The event socket of one ``client.start()``: reader, pinger, reconnect loop."""

    def __init__(
        self,
        transport: Transport,
        sink: Sink,
        apps: Apps,
        *,
        subscribe_all: bool = False,
        ping_interval: float = 20.0,
        ping_timeout: float = 10.0,
        backoff: Optional[Backoff] = None,
        subscriptions: Optional[Subscriptions] = None,
        connect_timeout: Optional[float] = None,
        opener: Callable[[str, str, Verify, float], Link] = Link.open,
        requests: Optional[SocketRequests] = None,
    ) -> None:
        if ping_interval <= 0 or ping_timeout <= 0:
            raise ValueError("ping_interval and ping_timeout must be positive")
        self.transport = transport
        self.sink = sink
        self.apps = app_list(apps)
        self.subscribe_all = subscribe_all
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.backoff = backoff or Backoff()
        self.subscriptions = subscriptions
        self.connect_timeout = connect_timeout if connect_timeout is not None else transport.timeout
        self._opener = opener
        self.requests = requests  # REST over this socket, when the client sends it that way
        self._link: Optional[Link] = None
        self._pong_at = 0.0
        self._replaced: set = set()
        self._stopping = threading.Event()
        self.finished = threading.Event()  # set when the stream has ended, for whatever reason
        self._teardown = threading.Lock()  # start and stop each run once
        self._started = self._stopped = False
        self._threads: List[threading.Thread] = []

    @property
    def held_apps(self) -> List[str]:
        """The apps this stream asks for: all but those another connection took."""
        return [a for a in self.apps if a not in self._replaced]

    @property
    def url(self) -> str:
        query: Dict[str, str] = {"app": ",".join(self.held_apps)}
        if self.subscribe_all:
            query["subscribeAll"] = "true"
        return f"{self.transport.websocket_root}/events?{urlencode(query, safe=',')}"

    def _open(self) -> Link:
        return self._opener(self.url, self.transport.authorization, self.transport.verify, self.connect_timeout)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Connect (raising ``ari`` errors), then run the reader and the pinger (the sink is running)."""
        with self._teardown:
            if self._started:
                raise RuntimeError("an event stream starts once")
            self._started = True
        requests = self.requests
        if requests is not None:
            requests.begin(self.apps[0])  # calls made meanwhile may wait for the socket
        try:
            link = self._open()
        except BaseException:
            if requests is not None:
                requests.end("the event socket could not be opened")
            self.finished.set()
            raise
        with self._teardown:  # a stop() from another thread waits for the threads to exist
            if self._stopped:
                link.close()
                return
            self._link = link
            log.info("event socket open for %s", ",".join(self.apps))
            self.sink.emit(client_event("WebSocketConnected", attempt=0, reconnected=False, disconnected_for=0.0))
            for target, name in ((self._read_loop, "ari-events"), (self._ping_loop, "ari-ping")):
                thread = threading.Thread(target=target, name=name, daemon=True)
                self._threads.append(thread)
                thread.start()
            if requests is not None:
                requests.attach(link.send_text, self._threads[0].ident or 0)

    def stop(self, timeout: float = 2.0) -> None:
        """Close the socket and end every thread of the stream, within ``timeout`` seconds."""
        with self._teardown:
            if self._stopped:
                return
            self._stopped = True
        deadline = time.monotonic() + timeout
        self._stopping.set()
        if self.requests is not None:
            # Calls in flight get their answers while the reader still runs (bounded).
            self.requests.end("the event socket was stopped", drain=min(1.0, timeout / 2))
        link = self._link
        if link is not None:
            link.abort()
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic() - 0.5))
                if thread.is_alive():
                    log.warning("%s did not stop in time", thread.name)
        self.finished.set()

    # -- the reader --------------------------------------------------------------------
    def _read_loop(self) -> None:
        link: Optional[Link] = self._link
        try:
            while link is not None:
                error = self._read(link)
                self._link = None
                if self.requests is not None:
                    self.requests.detach(f"the event socket was lost ({error})")
                link.close()
                if self._stopping.is_set():
                    return
                if len(self._replaced) >= len(self.apps):
                    log.info("every application was taken by another connection; not reconnecting")
                    return
                link = self._reconnect(error)
        finally:
            if link is not None:
                link.close()
            if not self._stopping.is_set():
                self.stop()  # the stream ended by itself (gave up, or replaced): end the rest too

    def _read(self, link: Link) -> BaseException:
        """Read until the connection breaks; return why.

        Frames go to the dispatcher in batches, all that one socket read completed, so the
        dispatcher wakes once per batch, not once per event.
        """
        read, submit = link.read, self.sink.submit
        deliver = self.requests.deliver if self.requests is not None else None
        try:
            while True:
                batch: List[bytes] = []
                for opcode, payload in read():
                    if opcode == TEXT:
                        if payload.startswith(_ACTED_ON):  # rare: one test for every event
                            if deliver is not None and payload.startswith(_ANSWER) and deliver(payload):
                                continue  # an answer to a REST call: its caller has it now
                            if payload.startswith(_REPLACED):
                                self._note_replaced(payload)
                        # JSON is decoded by the dispatcher: a backlog then holds compact bytes.
                        batch.append(payload)
                    elif opcode == PONG:
                        self._pong_at = time.monotonic()
                    elif opcode == CLOSE:
                        if batch:
                            submit(batch, link.received_at)
                        return ConnectionError("the server closed the event socket")
                    elif opcode == BINARY:
                        log.warning("skipped a binary frame (%d bytes)", len(payload))
                if batch:
                    submit(batch, link.received_at)
        except Exception as exc:
            return exc

    def _note_replaced(self, payload: bytes) -> None:
        # Another connection took the app: asking for it again on reconnect would start a fight.
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if isinstance(data, dict) and data.get("type") == "ApplicationReplaced":
            self._replaced.add(data.get("application"))

    def _reconnect(self, error: BaseException) -> Optional[Link]:
        lost_at = time.monotonic()
        log.warning("event socket lost: %s", error)
        attempt = 0
        while not self._stopping.is_set():
            attempt += 1
            if self.backoff.exhausted(attempt):
                log.error("giving up reconnecting after %d attempts: %s", attempt - 1, error)
                self.sink.emit(client_event("WebSocketMaxRetries", error=error, attempts=attempt - 1))
                return None
            delay = self.backoff.delay(attempt)
            self.sink.emit(client_event("WebSocketReconnecting", error=error, attempt=attempt, delay=delay))
            if self._stopping.wait(delay):
                return None
            try:
                link = self._open()
            except AuthenticationError as exc:
                error = exc
                log.error("reconnect attempt %d refused: %s", attempt, exc)
                continue
            except ARIError as exc:
                error = exc
                log.info("reconnect attempt %d failed: %s", attempt, exc)
                continue
            self._link = link
            if self._stopping.is_set():  # stop() ran while we connected: it saw no link
                return link
            if self.requests is not None:
                self.requests.attach(link.send_text, threading.get_ident(), self.held_apps[0])
            if self.subscriptions is not None:
                self.subscriptions.restore(self.apps)
            downtime = time.monotonic() - lost_at
            log.warning("event socket reconnected after %.1fs (attempt %d)", downtime, attempt)
            self.sink.emit(
                client_event("WebSocketConnected", attempt=attempt, reconnected=True, disconnected_for=downtime)
            )
            return link
        return None

    # -- the pinger --------------------------------------------------------------------
    def _ping_loop(self) -> None:
        stopping = self._stopping
        while not stopping.wait(self.ping_interval):
            link = self._link
            if link is None:
                continue
            sent = time.monotonic()
            try:
                link.ping()
            except Exception as exc:  # the reader sees the same failure and reconnects
                log.debug("ping failed: %s", exc)
                continue
            if stopping.wait(self.ping_timeout):
                return
            if self._link is link and self._pong_at < sent:
                log.warning("no pong within %.1fs: the event socket is dead", self.ping_timeout)
                link.abort()


__all__ = ["EventStream", "Link", "Subscriptions", "app_list", "sslopt_for"]
