"""The event stream, and the only module that imports websocket (websocket-client).

Its one job is the socket: open ``ws(s)://.../ari/events?app=...`` with the client's
Authorization header and TLS settings (a CA bundle from ``REQUESTS_CA_BUNDLE`` or
``CURL_CA_BUNDLE`` as for https), read frames on the ``ari-events`` thread and hand them to
the client's sink (``submit`` / ``emit``); ping on the ``ari-ping`` thread to find dead or
half-open connections; reconnect with backoff in a loop (never recursion) that ``stop()``
interrupts at once, a connection attempt under way included; restore ``applications.subscribe``
subscriptions after a reconnect; carry REST requests when the client sends them over the
socket (the reader hands each ``RESTResponse`` to ``socket_rest.SocketRequests``, never to
the sink).  Every websocket failure becomes an ``ari`` exception.

Under faults: a malformed frame ends the connection at once (logged) and the stream
reconnects; a handshake has an overall deadline (the client's ``connect_timeout``), and one
abandoned at its deadline that reaches Asterisk later and takes our apps from the live socket
is recognised (its ``ApplicationReplaced`` is not passed on) and the apps are taken back;
every send has a deadline (the client's ``timeout``), one that cannot complete marks the
socket dead so the reader reconnects, and one that failed before a byte left raises
``NotSent`` so ``auto`` sends the call over HTTP.

Backpressure: ``sink.submit`` may block the reader, for a bounded time per batch, while the
handlers are behind.  The reader holds nothing of its own meanwhile (one 64 KiB read and at
most one partial message of ``MAX_MESSAGE``), so memory stays bounded by the sink's backlog;
REST answers are taken out of each batch before it is submitted, so the answers read with
it reach their callers first; answers behind it wait in the socket at most the block's
bound per batch.  While the sink says ``saturated`` the client gates the socket off for
``auto`` calls (seam 2), so new calls go over HTTP instead of queueing behind the backlog.

It must not call handlers (dispatch.py does) nor shape events (events.py does), and it does
not import dispatch.py.  The WebSocket libraries sit behind ``Link`` so they can be swapped.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import threading
import time
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, Union
from urllib.parse import urlencode

import websocket
from websockets.frames import Opcode
from websockets.protocol import Protocol as FrameProtocol
from websockets.protocol import Side, State

from .backoff import Backoff
from .errors import ARIError, AuthenticationError, ConnectionError, Timeout, error_class
from .events import Event, client_event
from .http import HTTPTransport, Verify
from .readiness import Readiness
from .socket_rest import NotSent, SocketRequests
from .subscriptions import Subscriptions
from .threads import join_by

log = logging.getLogger(__name__)

# RFC 6455 opcodes, independent of the library behind Link.
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_TEXT_FRAME = Opcode.TEXT

Apps = Union[str, Sequence[str]]

#: How the frames the reader itself acts on start: Asterisk packs "type" first and jansson
#: keeps key order.  A prefix test costs a quarter of a search through every event (57 ns
#: against 240 ns a frame), so compact frames, nearly all of them, take that fast path; any
#: other shape (pretty-printed, a space after a colon, "type" not first) is searched for the
#: type names, and whatever matches is decoded to be sure.
_COMPACT = b'{"type":"'
_ANSWER = b'{"type":"RESTResponse"'
_REPLACED = b'{"type":"ApplicationReplaced"'
_ACTED_ON = (_ANSWER, _REPLACED)
_ANSWER_NAME = b'"RESTResponse"'
_REPLACED_NAME = b'"ApplicationReplaced"'

#: The longest message the reader takes: far above any ARI event or answer (a channel list of
#: thousands is a few MB), far below what a corrupt length field announces (up to 2**63).
MAX_MESSAGE = 64 << 20
#: How long one blocked socket read or write waits before looking at its deadline again: an
#: idle socket's reader wakes this often, for nothing (a timed-out read is not an error).
_SLICE = 1.0


def app_list(apps: Apps) -> List[str]:
    """``'hello'``, ``'a,b'`` or ``['a', 'b']`` -> ``['a', 'b']`` (order kept, duplicates dropped)."""
    items = apps.split(",") if isinstance(apps, str) else [a for app in apps for a in str(app).split(",")]
    names = list(dict.fromkeys(a.strip() for a in items if a.strip()))
    if not names:
        raise ValueError("start() needs at least one application name")
    return names


def sslopt_for(verify: Verify) -> Dict[str, Any]:
    """The client's ``verify`` (True, False or a CA bundle path) as websocket-client sslopt.

    ``True`` honours ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` as requests does for https,
    so wss and https trust the same certificates.
    """
    if verify is False:
        return {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
    if verify is True:
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    if isinstance(verify, str):
        where = "ca_cert_path" if os.path.isdir(verify) else "ca_certs"
        return {"cert_reqs": ssl.CERT_REQUIRED, where: verify}
    return {"cert_reqs": ssl.CERT_REQUIRED}


class Attempt:
    """One connection attempt, which another thread may end at once (``cancel``: ``stop()``).

    ``Link.open`` watches it on an ``ari-connect`` thread that also enforces the attempt's
    overall deadline: websocket-client bounds each socket read, not the handshake, so a
    server dripping a byte at a time could otherwise hold it for ever.
    """

    __slots__ = ("_lock", "_wake", "_ended", "_done", "_ws", "cancelled", "expired", "reached")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()  # cancelled, or the attempt ended
        self._ended = threading.Event()
        self._done = False
        self._ws: Optional[websocket.WebSocket] = None
        self.cancelled = False
        self.expired = False
        #: the handshake request was under way (TCP and TLS done) when the attempt failed: it
        #: may still reach the server, late
        self.reached = False

    def cancel(self) -> None:
        self.cancelled = True
        self._wake.set()

    def _watch(self, timeout: float) -> None:
        if not self._wake.wait(timeout):
            self.expired = True
        # The socket appears once TCP and TLS are done (each bounded by the socket timeout):
        # keep closing it until the attempt has ended.
        while self._end_socket():
            self._ended.wait(0.02)

    def _end_socket(self) -> bool:
        """Shut the attempt's socket down (its reads then fail); False once the attempt ended."""
        with self._lock:
            if self._done:
                return False
            sock = self._ws.sock if self._ws is not None else None
            if sock is not None:
                self.reached = True
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return True

    def _finish(self) -> bool:
        """The attempt is over: True when it was cancelled or expired (its socket may be shut)."""
        with self._lock:
            self._done = True
        self._ended.set()
        self._wake.set()
        return self.cancelled or self.expired


class MaskKeys:
    """Frame mask keys from ``os.urandom``, a thousand at a time (websocket-client takes one
    system call per frame sent), as unpredictable as before."""

    __slots__ = ("_lock", "_pool", "_at")

    def __init__(self) -> None:
        self._lock = threading.Lock()  # frames are formatted before the send lock is taken
        self._pool = b""
        self._at = 0

    def __call__(self, length: int) -> bytes:
        with self._lock:
            at = self._at
            if at + length > len(self._pool):
                self._pool, at = os.urandom(max(4096, length)), 0
            self._at = at + length
            return self._pool[at : at + length]


class Link:
    """One open WebSocket: the seam between the stream and the WebSocket libraries.

    websocket-client opens the socket (handshake, TLS, headers) and frames what is sent.
    Reading is where the events' time goes: websocket-client's reader makes two or more
    small ``recv`` calls and several objects per frame, so this reads 64 KiB at a time and
    lets the ``websockets`` library's sans-I/O protocol split the frames (no framing is
    written here; figures in README.rst).

    Under faults: a protocol error (a malformed frame) ends the link at once, after the
    messages before it; every send has a deadline, and one that cannot complete marks the
    link dead (its reader then reconnects); a send that fails before a byte of it was
    written raises ``NotSent`` (safe to send another way), any later failure
    ``ari.ConnectionError`` (the outcome is unknown).
    """

    __slots__ = (
        "_ws",
        "_sock",
        "_read_socket",
        "_readiness",
        "token",
        "_protocol",
        "_parts",
        "received_at",
        "timeout",
        "_send_lock",
        "_mask_keys",
        "_dead",
        "_failed",
    )

    def __init__(self, ws: websocket.WebSocket, timeout: float = 10.0) -> None:
        self._ws = ws
        sock: Any = ws.sock
        self._sock = sock
        self._read_socket: Callable[[int], bytes] = sock.recv
        # None for stand-ins without a descriptor (tests): every read is then tried.
        self._readiness: Optional[Readiness] = Readiness(sock) if hasattr(sock, "fileno") else None
        #: whoever reads the socket holds it: the stream's reader, or a caller waiting for its
        #: answer (leader/follower); frames are taken and handed on under it, in order
        self.token = threading.Lock()
        self._protocol = FrameProtocol(Side.CLIENT, state=State.OPEN, max_size=MAX_MESSAGE)
        self._parts: List[bytes] = []  # a fragmented message being assembled
        #: ``time.monotonic()`` when the messages ``read`` returned last came off the socket
        self.received_at = 0.0
        #: seconds a send may take, waiting for the socket included
        self.timeout = timeout
        self._send_lock = threading.Lock()
        self._mask_keys = MaskKeys()
        self._dead: Optional[str] = None  # why nothing more can be sent
        self._failed: Optional[ConnectionError] = None  # a protocol error, raised after the messages before it

    def wait(self, timeout: float) -> bool:
        """The stream's reader: True when a read would find data (or the link is dead) within
        ``timeout`` seconds.  Sleeps through the bytes a caller holding ``token`` reads."""
        if self._failed is not None or self._dead is not None or self._readiness is None:
            return True
        return self._readiness.wait(timeout)

    def wait_held(self, timeout: float) -> bool:
        """``wait`` for the holder of ``token`` (a caller reading its own answer)."""
        if self._failed is not None or self._dead is not None or self._readiness is None:
            return True
        return self._readiness.ready(timeout)

    def hold(self) -> bool:
        """Take ``token`` for a caller if it is free; its reads then do not wake the reader."""
        if not self.token.acquire(blocking=False):
            return False
        if self._readiness is not None:
            self._readiness.mute()
        return True

    def let_go(self) -> None:
        """Give ``token`` back after ``hold``: what the caller left wakes the reader."""
        if self._readiness is not None:
            self._readiness.unmute()
        self.token.release()

    def read_some(self, look: bool = True) -> List[Tuple[int, bytes]]:
        """The messages one socket read completes, reading only if data is there now.

        The caller holds ``token``; ``[]`` when nothing (or only part of a message) was there.
        ``look=False`` reads without looking first: the read then waits up to the socket's
        timeout (at most a second) for data.  Pings are answered here.  Raises
        ``ari.ConnectionError`` when the connection is closed, broken or speaks anything but
        the WebSocket protocol.
        """
        if self._failed is not None:
            raise self._failed
        if look and self._readiness is not None and not self._readiness.ready():
            return []  # another reader took the bytes that woke this one
        try:
            chunk = self._read_socket(65536)
        except TimeoutError as exc:
            if exc.errno is None:  # the socket's own timeout (a TLS record still arriving)
                return []
            raise ConnectionError(f"the event socket broke ({exc})") from exc
        except OSError as exc:  # reset, TLS failure, closed under us: an ari error like the rest
            if self._failed is not None:
                raise self._failed from exc
            raise ConnectionError(f"the event socket broke ({exc})") from exc
        if not chunk:
            if self._failed is not None:
                raise self._failed
            raise ConnectionError("the event socket was closed")
        self.received_at = time.monotonic()
        protocol = self._protocol
        protocol.receive_data(chunk)
        protocol.data_to_send()  # its own replies are not used: pongs are sent below
        messages = self._messages(protocol.events_received())
        if protocol.parser_exc is not None:
            self._protocol_error(protocol.parser_exc)
        if not messages and protocol.state is State.CLOSED:
            raise ConnectionError("the event socket was closed")
        return messages

    def fail(self, error: BaseException) -> None:
        """A reader other than the stream's saw the link end: make the stream's reader see it."""
        if self._failed is None:
            if isinstance(error, ConnectionError):
                self._failed = error
            else:
                self._failed = ConnectionError(f"the event socket broke ({error})")
                self._failed.__cause__ = error
        self.abort(str(error))

    def _protocol_error(self, exc: Exception) -> None:
        # Everything after a malformed frame is unreadable: end the link rather than skip
        # frames (and REST answers) until a ping times out.
        log.warning("protocol error on the event socket: %s; closing it", exc)
        error = ConnectionError(f"protocol error on the event socket: {exc}")
        error.__cause__ = exc
        self._failed = error
        self.abort("protocol error")

    def _messages(self, frames: List[Any]) -> List[Tuple[int, bytes]]:
        messages: List[Tuple[int, bytes]] = []
        append = messages.append
        parts = self._parts
        for frame in frames:  # only frames: the handshake was websocket-client's
            # Nearly every frame is a whole text message: one identity test, no enum
            # ``.value`` (a property, a tenth of this method's time).
            if frame.opcode is _TEXT_FRAME and frame.fin and not parts:
                append((TEXT, frame.data))
                continue
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
                self._send(websocket.ABNF.create_frame(frame.data, PONG), self.timeout)
        return messages

    @classmethod
    def open(
        cls, url: str, authorization: str, verify: Verify, timeout: float, attempt: Optional[Attempt] = None
    ) -> Link:
        """Connect and complete the handshake within ``timeout`` seconds in all (TLS and the
        HTTP upgrade included); raise the matching ``ari`` error.  ``attempt.cancel()`` from
        another thread ends it at once."""
        shown = url.split("?", 1)[0]
        attempt = attempt if attempt is not None else Attempt()
        ws = websocket.WebSocket(
            sslopt=sslopt_for(verify),
            skip_utf8_validation=True,  # json.loads rejects bad UTF-8 anyway, at C speed
            enable_multithread=True,
        )
        ws.settimeout(timeout)
        attempt._ws = ws
        watchdog = threading.Thread(target=attempt._watch, args=(timeout,), name="ari-connect", daemon=True)
        watchdog.start()
        try:
            try:
                ws.connect(url, header=[f"Authorization: {authorization}"], timeout=timeout)
            finally:
                ended = attempt._finish()
                watchdog.join(1.0)  # it ends at once: the attempt is over
            if ended:  # it raced its deadline or a cancel, and may have lost its socket
                ws.shutdown()
                raise websocket.WebSocketConnectionClosedException("the attempt ended")
        except websocket.WebSocketBadStatusException as exc:
            status = int(exc.status_code)
            message = _body_message(exc.resp_body) or str(exc.status_message or "")
            raise error_class(status)(status, message, method="GET", url=shown) from exc
        except (OSError, websocket.WebSocketException) as exc:
            if isinstance(exc, websocket.WebSocketTimeoutException):
                attempt.reached = True  # websocket-client's own timeouts are the HTTP exchange's
            if attempt.cancelled:
                raise ConnectionError(f"opening the event socket {shown} was cancelled", shown) from exc
            if attempt.expired or isinstance(exc, (socket.timeout, websocket.WebSocketTimeoutException)):
                raise Timeout(f"no answer from {shown} within {timeout} s", shown) from exc
            raise ConnectionError(f"cannot open the event socket {shown}: {exc}", shown) from exc
        sock: Any = ws.sock
        sock.settimeout(min(_SLICE, timeout))  # reads wake to no harm; sends see their deadline
        return cls(ws, timeout=timeout)

    def ping(self, timeout: Optional[float] = None) -> None:
        self._send(websocket.ABNF.create_frame(b"", PING), self.timeout if timeout is None else timeout)

    def send_text(self, text: str) -> None:
        """Send one text frame within the link's timeout (thread-safe)."""
        self._send(websocket.ABNF.create_frame(text, TEXT), self.timeout)

    def _send(self, frame: websocket.ABNF, timeout: float) -> None:
        frame.get_mask_key = self._mask_keys
        data = frame.format()
        deadline = time.monotonic() + timeout
        if not self._send_lock.acquire(timeout=timeout):
            # Another send has held the socket for this one's whole deadline: the peer stalls.
            self.abort("a send could not start within its deadline")
            raise NotSent(f"the event socket took no data for {timeout} s; it was closed")
        try:
            if self._dead is not None:
                raise NotSent(f"the event socket is closed ({self._dead})")
            self._write(memoryview(data), deadline, timeout)
        finally:
            self._send_lock.release()

    def _write(self, view: memoryview, deadline: float, timeout: float) -> None:
        sent, size = 0, len(view)
        touched = False  # bytes may have left although none was counted (a write timed out part way)
        while sent < size:
            try:
                sent += self._sock.send(view[sent:])
            except OSError as exc:
                if isinstance(exc, TimeoutError) and exc.errno is None:  # the socket's own timeout
                    touched = True
                else:
                    self.abort(f"a send failed: {exc}")
                    if sent == 0 and not touched:
                        raise NotSent(f"the event socket is closed ({exc})") from exc
                    raise ConnectionError(f"the event socket broke while sending ({exc})") from exc
            if sent < size and time.monotonic() >= deadline:
                self.abort("a send missed its deadline")
                raise ConnectionError(
                    f"the event socket took only {sent} of {size} bytes in {timeout} s; it was closed"
                )

    def abort(self, why: str = "aborted") -> None:
        """Wake a blocked ``recv`` (it then fails) and refuse further sends, without waiting."""
        if self._dead is None:
            self._dead = why
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except Exception:  # the socket may already be gone
            log.debug("abort failed", exc_info=True)

    def close(self) -> None:
        """Close the socket (on the reader's thread, or before it runs: its wait is ours)."""
        if self._dead is None:
            self._dead = "closed"
        try:
            self._ws.shutdown()
        except Exception:
            log.debug("shutdown failed", exc_info=True)
        if self._readiness is not None:
            self._readiness.close()


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

    @property
    def saturated(self) -> bool:
        """True while ``submit`` would block (the backlog is full)."""


class EventStream:
    """The event socket of one ``client.start()``: reader, pinger, reconnect loop."""

    def __init__(
        self,
        transport: HTTPTransport,
        sink: Sink,
        apps: Apps,
        *,
        subscribe_all: bool = False,
        ping_interval: float = 20.0,
        ping_timeout: float = 10.0,
        backoff: Optional[Backoff] = None,
        subscriptions: Optional[Subscriptions] = None,
        connect_timeout: Optional[float] = None,
        opener: Callable[[str, str, Verify, float, Attempt], Link] = Link.open,
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
        self._replaced: set = set()  # apps another connection took: not asked for again
        # Per app, how many of our handshakes were abandoned (timed out) and may still reach
        # Asterisk late, taking the app from the live socket: that many ApplicationReplaced
        # for it are taken as ours (the app is taken back), not as another client's.
        self._stale: Dict[str, int] = {}
        self._attempt: Optional[Attempt] = None
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
        attempt = self._attempt = Attempt()
        if self._stopping.is_set():
            attempt.cancel()  # stop() ran before this attempt could be seen
        try:
            link = self._opener(
                self.url, self.transport.authorization, self.transport.verify, self.connect_timeout, attempt
            )
            link.timeout = self.transport.timeout  # sends have the client's timeout, as its calls do
            return link
        except Timeout:
            if attempt.reached:  # this handshake may yet reach Asterisk
                for app in self.held_apps:
                    self._stale[app] = self._stale.get(app, 0) + 1
            raise
        finally:
            self._attempt = None

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
            if self._stopping.is_set():
                return  # stop() ran meanwhile: nothing to report
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
                requests.attach(link.send_text, self._threads[0].ident or 0, lead=partial(self._lead, link))

    def stop(self, timeout: float = 2.0) -> None:
        """Close the socket and end every thread of the stream, within ``timeout`` seconds."""
        with self._teardown:
            if self._stopped:
                return
            self._stopped = True
        deadline = time.monotonic() + timeout
        self._stopping.set()
        attempt = self._attempt
        if attempt is not None:
            attempt.cancel()  # a connection attempt under way ends now
        if self.requests is not None:
            # Calls in flight get their answers while the reader still runs (bounded).
            self.requests.end("the event socket was stopped", drain=min(1.0, timeout / 2))
        link = self._link
        if link is not None:
            link.abort()
        for thread in join_by(self._threads, deadline - 0.5):
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
                if self._stopping.is_set():
                    return  # stopped while reconnecting: the new socket is closed below
        finally:
            if link is not None:
                link.close()
            if not self._stopping.is_set():
                self.stop()  # the stream ended by itself (gave up, or replaced): end the rest too

    def _read(self, link: Link) -> BaseException:
        """Read until the connection breaks; return why.

        Frames go to the dispatcher in batches, all that one socket read completed, so the
        dispatcher wakes once per batch, not once per event.  The reader waits for data
        without the link's token, so a caller waiting for its answer may read meanwhile
        (``lead``); whoever holds the token reads and hands on what it read.
        """
        try:
            wait, read, token = link.wait, link.read_some, link.token
            while True:
                if not wait(_SLICE):
                    continue
                with token:
                    error = self._take(read(), link.received_at)
                if error is not None:
                    return error
        except Exception as exc:
            return exc

    def _take(self, messages: List[Tuple[int, bytes]], received_at: float) -> Optional[BaseException]:
        """Hand on one read's messages (the token held): answers to their callers, events to the
        sink; return why the connection ends, if it does."""
        submit = self.sink.submit
        deliver = self.requests.deliver if self.requests is not None else None
        batch: List[bytes] = []
        retake = False
        for opcode, payload in messages:
            if opcode == TEXT:
                # Rare: one prefix test for nearly every event (see _COMPACT).
                if payload.startswith(_ACTED_ON) or (
                    not payload.startswith(_COMPACT) and (_ANSWER_NAME in payload or _REPLACED_NAME in payload)
                ):
                    if deliver is not None and deliver(payload):
                        continue  # an answer to a REST call: its caller has it now
                    if self._note_replaced(payload):
                        retake = True
                        continue  # our own late handshake: not news for the application
                # JSON is decoded by the dispatcher: a backlog then holds compact bytes.
                batch.append(payload)
            elif opcode == PONG:
                self._pong_at = time.monotonic()
            elif opcode == CLOSE:
                if batch:
                    submit(batch, received_at)
                return ConnectionError("the server closed the event socket")
            elif opcode == BINARY:
                log.warning("skipped a binary frame (%d bytes)", len(payload))
        if batch:
            submit(batch, received_at)
        if retake:
            return ConnectionError("a late handshake of ours took applications from this socket")
        return None

    def _lead(self, link: Link, send: Callable[[], None], answered: Callable[[], bool], deadline: float) -> None:
        """Send a caller's request, then read the socket on its thread until its answer is in
        (leader/follower).

        A caller that finds the read token free reads the socket itself, as the reader would
        (other callers' answers to them, events to the sink, in order), so its answer reaches
        it without waking another thread.  It takes the token before sending when it can, so
        that an answer quicker than the caller does not wake the reader either.  It gives up
        at ``deadline`` and while the sink is saturated (it must never wait for room the
        handlers make: it may be one of them); the caller then waits for the reader as
        before.  A failure it sees while reading is left to the reader, which reconnects;
        ``send``'s own failures are raised.
        """
        held = link.hold()
        try:
            send()
            # Never wait for the token: its holder (the reader, another caller) delivers this
            # answer if it comes while it reads, and the reader reads once the holder lets go.
            if held or link.hold():
                held = True
                self._read_held(link, answered, deadline)
        finally:
            if held:
                link.let_go()

    def _read_held(self, link: Link, answered: Callable[[], bool], deadline: float) -> None:
        try:
            sink = self.sink
            while not answered() and not sink.saturated:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                # Within a second of the deadline, look first; else read at once (the socket's
                # own timeout, at most a second, bounds the wait): one system call less a call.
                if remaining >= _SLICE or link.wait_held(remaining):
                    error = self._take(link.read_some(look=False), link.received_at)
                    if error is not None:
                        link.fail(error)
                        return
        except Exception as exc:
            link.fail(exc)

    def _note_replaced(self, payload: bytes) -> bool:
        """Note an ApplicationReplaced; True when our own abandoned handshake caused it."""
        try:
            data = json.loads(payload)
        except ValueError:
            return False
        if not isinstance(data, dict) or data.get("type") != "ApplicationReplaced":
            return False
        app = data.get("application")
        if not isinstance(app, str):
            return False
        if self._stale.get(app, 0) > 0:
            self._stale[app] -= 1
            log.warning("a handshake of ours that timed out reached Asterisk late and took %s; taking it back", app)
            return True
        # Another connection took the app: asking for it again on reconnect would start a fight.
        log.warning("application %s was taken by another connection; it is not asked for again", app)
        self._replaced.add(app)
        return False

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
                link.close()
                return None
            if self.requests is not None:
                lead = partial(self._lead, link)
                self.requests.attach(link.send_text, threading.get_ident(), self.held_apps[0], lead)
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
                link.ping(self.ping_timeout)  # waits behind a stalled send no longer than a pong would
            except Exception as exc:  # the reader sees the same failure and reconnects
                log.debug("ping failed: %s", exc)
                continue
            if stopping.wait(self.ping_timeout):
                return
            if self._link is link and self._pong_at < sent:
                log.warning("no pong within %.1fs: the event socket is dead", self.ping_timeout)
                link.abort()


__all__ = ["EventStream", "Link", "Subscriptions", "app_list", "sslopt_for"]
