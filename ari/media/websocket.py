"""Media over a WebSocket (Asterisk's chan_websocket): the connection, MEDIA_START, commands, events.

Its one job is the media WebSocket's wire: connect to ``/media/<connection id>`` (or take a
connection Asterisk opened to a ``MediaServer``), read MEDIA_START, turn binary frames into
received audio and text frames (plain ``NAME key:value ...`` or JSON) into ``MediaEvent`` s,
and write audio and commands (``MARK_MEDIA``, ``FLUSH_MEDIA``, ``PAUSE_MEDIA`` ...).  It is the
only module of ``ari.media`` that imports ``websockets``: its sans-I/O protocol does the
handshakes and the framing, on a socket served by the session's one thread (``LoopSession``);
pacing, marks and handlers are ``session.py``'s.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import ssl
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from ..errors import MediaError
from .codecs import codec
from .loop import MediaLoop
from .session import LoopSession, MediaEvent

log = logging.getLogger(__name__)

#: chan_websocket ignores text frames longer than this (MAX_TEXT_MESSAGE_LEN)
MAX_COMMAND = 128
#: bigger than any audio frame Asterisk sends (slin192 at 20 ms is 7680 bytes)
_MAX_SIZE = 1 << 20
_MEDIA = [Subprotocol("media")]


def parse_control(text: str) -> MediaEvent:
    """A control message in either of Asterisk's formats as a ``MediaEvent``.

    Plain text: ``NAME key:value key:value`` (``error_text`` takes the rest of the line;
    ``MEDIA_MARK_PROCESSED``/``MEDIA_BUFFERING_COMPLETED`` carry a bare id); JSON:
    ``{"event": NAME, ...}``.
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as error:
            raise MediaError(f"media control message is not valid JSON: {text[:80]!r}") from error
        if not isinstance(data, dict) or not isinstance(data.get("event"), str):
            raise MediaError(f"media control message without an event name: {text[:80]!r}")
        return MediaEvent(data["event"], {k: v for k, v in data.items() if k != "event"}, text)
    name, _, rest = text.partition(" ")
    fields: Dict[str, Any] = {}
    if name in ("MEDIA_MARK_PROCESSED", "MEDIA_BUFFERING_COMPLETED"):
        fields["correlation_id"] = rest
        return MediaEvent(name, fields, text)
    while rest:
        if rest.startswith("error_text:"):
            fields["error_text"] = rest[len("error_text:") :]
            break
        token, _, rest = rest.partition(" ")
        key, sep, value = token.partition(":")
        if sep:
            fields[key] = value
    return MediaEvent(name, fields, text)


def _typed(fields: Dict[str, Any]) -> Dict[str, Any]:
    """STATUS's numbers and booleans as Python values (plain text carries them as words)."""
    out: Dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str) and value in ("true", "false"):
            out[key] = value == "true"
        elif isinstance(value, str) and value.isdigit():
            out[key] = int(value)
        else:
            out[key] = value
    return out


class WebSocketMedia(LoopSession):
    """A call's media over a chan_websocket connection (made by ``connect``/``open_websocket`` or a ``MediaServer``).

    ``sock`` is connected and past the handshake; ``protocol`` is websockets' sans-I/O
    protocol for it (open); ``frames`` are frames already read after MEDIA_START; ``loop`` the
    ``MediaLoop`` that serves it (None: a loop, and a thread, of its own).
    """

    def __init__(
        self,
        sock: Any,
        protocol: Any,
        start: MediaEvent,
        channel: Any = None,
        frames: Optional[List[Any]] = None,
        loop: Optional[MediaLoop] = None,
    ) -> None:
        fields = start.fields
        try:
            fmt = codec(str(fields["format"]))
            frame_size = int(fields["optimal_frame_size"])
            ptime = int(fields["ptime"])
        except (KeyError, ValueError) as error:
            raise MediaError(f"MEDIA_START without a usable format, frame size or ptime: {start.text!r}") from error
        self.connection_id = str(fields.get("connection_id", ""))
        self.channel_id = str(fields.get("channel_id", ""))
        self.channel_name = str(fields.get("channel", ""))
        self.json_format = start.text.startswith("{")
        #: everything MEDIA_START said (JSON adds ``channel_variables``)
        self.start_fields = fields
        super().__init__(
            channel if channel is not None else self.channel_id,
            fmt,
            ptime,
            frame_size,
            self.channel_id[-8:] or "ws",
            sock,
            loop,
        )
        self._protocol = protocol
        sock.setblocking(False)  # served by a loop: reads and writes never wait
        self._backlog = bytearray()  # bytes written that the socket has not taken yet
        self._commands: List[str] = []
        self._fragments: List[bytes] = []
        self._fragment_opcode = Opcode.BINARY
        self._early = frames or []

    def _start_loop(self) -> None:
        early, self._early = self._early, []
        for frame in early:
            self._frame(frame)
        super()._start_loop()

    # -- reading --------------------------------------------------------------------------

    def _on_readable(self) -> bool:
        try:
            data = self._sock.recv(65536)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            return True
        except OSError as error:
            self._closed_by("remote", None, f"connection lost ({error})")
            return False
        protocol = self._protocol
        if data:
            protocol.receive_data(data)
        else:
            protocol.receive_eof()
        for frame in protocol.events_received():
            self._frame(frame)
        try:
            self._write_pending()  # pongs; the reply to a close
        except MediaError:
            if protocol.close_rcvd is None:
                raise
            # The far end closed and did not wait for our reply: the close it sent says how it ended.
        if protocol.state is State.CLOSED or protocol.close_rcvd is not None or not data:
            close = protocol.close_rcvd
            code = close.code if close is not None else None
            reason = close.reason if close is not None else ""
            self._closed_by("remote", code, reason or ("hung up" if code == 1000 else "connection lost"))
            return False
        return True

    def _frame(self, frame: Any) -> None:
        opcode = frame.opcode
        if opcode is Opcode.CONT or not frame.fin:
            # Asterisk sends whole frames; a fragmented message is put together all the same.
            self._fragments.append(frame.data)
            if not frame.fin:
                if opcode is not Opcode.CONT:
                    self._fragment_opcode = opcode
                return
            opcode = self._fragment_opcode
            data = b"".join(self._fragments)
            self._fragments = []
        else:
            data = frame.data
        if opcode is Opcode.BINARY:
            self._received(bytes(data))
        elif opcode is Opcode.TEXT:
            try:
                event = parse_control(bytes(data).decode("utf-8", "replace"))
            except MediaError as error:
                log.warning("%r: %s", self, error)
                return
            self._event(event)

    # -- writing (on the loop's thread) ------------------------------------------------------

    def _write_pending(self) -> None:
        """Write what the protocol has to send; what the socket does not take now waits in the
        backlog (the socket is non-blocking: one slow far end never holds up a shared loop)."""
        data = self._protocol.data_to_send()
        if data:
            self._backlog += b"".join(data)
            self._on_writable()

    def _on_writable(self) -> None:
        backlog = self._backlog
        while backlog:
            try:
                sent = self._sock.send(backlog)
            except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return
            except OSError as error:
                raise MediaError(f"{self!r}: the media WebSocket is closed ({error})") from error
            del backlog[:sent]

    def _wants_write(self) -> bool:
        return bool(self._backlog)

    def _transport_full(self) -> bool:
        return bool(self._backlog)

    def _write_audio(self, frame: bytes) -> None:
        self._protocol.send_binary(frame)
        self._write_pending()

    def _flush_commands(self) -> None:
        with self._mutex:
            commands, self._commands = self._commands, []
        for text in commands:
            if self._protocol.state is State.OPEN:
                self._protocol.send_text(text.encode())
        if commands:
            self._write_pending()

    def command(self, name: str, **fields: Any) -> None:
        """Send a command as it is (``ANSWER``, ``HANGUP``, ``GET_STATUS`` ...), in the connection's format."""
        if self.json_format:
            text = json.dumps({"command": name, **fields}, separators=(",", ":"))
        else:
            value = fields.get("correlation_id")
            text = f"{name} {value}" if value else name
        if len(text.encode()) > MAX_COMMAND:
            raise MediaError(f"media command {text[:40]!r}... is longer than Asterisk's {MAX_COMMAND} bytes")
        if self._loop.on_thread():  # a mark, in order with the frames around it
            self._protocol.send_text(text.encode())
            self._write_pending()
            return
        with self._mutex:
            self._check_open()
            self._commands.append(text)
            self._wake()

    def _send_mark(self, mark: Any) -> None:
        with self._mutex:
            self._marks.setdefault(mark.name, []).append(mark)
        self.command("MARK_MEDIA", correlation_id=mark.name)

    def _flush_remote(self) -> None:
        self.command("FLUSH_MEDIA")

    def _pause_remote(self, paused: bool) -> None:
        self.command("PAUSE_MEDIA" if paused else "CONTINUE_MEDIA")

    # -- the other commands ---------------------------------------------------------------

    def answer(self) -> None:
        """Answer the channel (when it was made without auto-answer, transport_data ``n``)."""
        self.command("ANSWER")

    def hangup(self) -> None:
        """Ask Asterisk to hang up; it then closes the connection (the session sees ``CLOSED``)."""
        self.command("HANGUP")

    def start_buffering(self) -> None:
        """START_MEDIA_BUFFERING: Asterisk joins partial frames of what follows until ``stop_buffering``."""
        self.command("START_MEDIA_BUFFERING")

    def stop_buffering(self, correlation_id: str = "buffered", timeout: float = 5.0) -> MediaEvent:
        """STOP_MEDIA_BUFFERING; returns Asterisk's MEDIA_BUFFERING_COMPLETED."""
        return self._wait_event(
            "MEDIA_BUFFERING_COMPLETED",
            lambda: self.command("STOP_MEDIA_BUFFERING", correlation_id=correlation_id),
            timeout,
        )

    def status(self, timeout: float = 5.0) -> Dict[str, Any]:
        """GET_STATUS: Asterisk's queue length, levels, ``queue_full``, ``bulk_media``, ``media_paused``."""
        return _typed(self._wait_event("STATUS", lambda: self.command("GET_STATUS"), timeout).fields)

    def wait_queue_drained(self, timeout: float = 30.0) -> MediaEvent:
        """REPORT_QUEUE_DRAINED, then wait for QUEUE_DRAINED: Asterisk has played everything it holds."""
        return self._wait_event("QUEUE_DRAINED", lambda: self.command("REPORT_QUEUE_DRAINED"), timeout)

    def set_direction(self, direction: str) -> None:
        """SET_MEDIA_DIRECTION ``in`` | ``out`` | ``both`` (Asterisk takes it in the JSON format only)."""
        if direction not in ("in", "out", "both"):
            raise MediaError(f"media direction {direction!r} is not one of in, out, both")
        if not self.json_format:
            raise MediaError("SET_MEDIA_DIRECTION needs the JSON control format (open with control_format='json')")
        self.command("SET_MEDIA_DIRECTION", direction=direction)

    # -- lifecycle ------------------------------------------------------------------------

    def _begin_finish(self) -> bool:
        """Closing handshake (1000: closing the media WebSocket is what hangs the channel up)."""
        protocol = self._protocol
        try:
            if protocol.state is State.OPEN:
                protocol.send_close(1000)
                self._write_pending()
        except (OSError, MediaError, ssl.SSLError):
            log.debug("%r: closing handshake cut short", self, exc_info=True)
            return False
        return protocol.state is not State.CLOSED

    def _on_closing_readable(self) -> bool:
        protocol = self._protocol
        try:
            data = self._sock.recv(65536)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            return False
        except (OSError, ssl.SSLError):
            return True
        try:
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            protocol.events_received()
            self._write_pending()
        except MediaError:
            return True
        return not data or protocol.state is State.CLOSED


def _handshake_read(sock: Any, protocol: Any, deadline: float) -> List[Any]:
    """Read until the protocol has events (the handshake's request or response first)."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("handshake")
        sock.settimeout(remaining)
        data = sock.recv(65536)
        if data:
            protocol.receive_data(data)
        else:
            protocol.receive_eof()
        events = protocol.events_received()
        data_out = protocol.data_to_send()
        if data_out:
            sock.sendall(b"".join(data_out))
        if events or not data:
            return events


def _read_start(sock: Any, protocol: Any, early: List[Any], deadline: float) -> Tuple[MediaEvent, List[Any]]:
    """MEDIA_START, the first frame; the frames read after it."""
    frames = list(early)
    try:
        while not frames:
            frames = _handshake_read(sock, protocol, deadline)
            if protocol.state is not State.OPEN and not frames:
                raise MediaError("the media WebSocket closed before MEDIA_START")
    except (TimeoutError, socket.timeout) as error:
        raise MediaError(f"no MEDIA_START within the timeout ({error})") from error
    first, rest = frames[0], frames[1:]
    if first.opcode is Opcode.CLOSE:
        raise MediaError("the media WebSocket closed before MEDIA_START")
    if first.opcode is not Opcode.TEXT:
        raise MediaError("the media WebSocket's first frame is not MEDIA_START text")
    event = parse_control(bytes(first.data).decode("utf-8", "replace"))
    if event.name != "MEDIA_START":
        raise MediaError(f"the media WebSocket's first frame is not MEDIA_START: {event.text[:80]!r}")
    return event, rest


def connect(
    url: str, *, timeout: float = 10.0, verify: Any = True, channel: Any = None, loop: Optional[MediaLoop] = None
) -> WebSocketMedia:
    """Connect to a media WebSocket (``ws://host:8088/media/<connection id>``) and read MEDIA_START.

    ``loop``: the ``MediaLoop`` that serves the session, shared with other sessions (one thread
    for all of them: steadier pacing with many calls); None gives it a thread of its own.
    """
    try:
        uri = parse_uri(url)
    except InvalidURI as error:
        raise MediaError(f"media WebSocket {url}: {error}") from error
    deadline = time.monotonic() + timeout
    try:
        sock: Any = socket.create_connection((uri.host, uri.port), timeout)
    except OSError as error:
        raise MediaError(f"media WebSocket {url}: cannot connect ({error})") from error
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # 20 ms frames, never batched
        if uri.secure:
            context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
            if verify is False:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=uri.host)
        protocol = ClientProtocol(uri, subprotocols=_MEDIA, max_size=_MAX_SIZE)
        protocol.send_request(protocol.connect())
        sock.sendall(b"".join(protocol.data_to_send()))
        events = _handshake_read(sock, protocol, deadline)
        if protocol.handshake_exc is not None:
            raise protocol.handshake_exc
        if not events:
            raise MediaError(f"media WebSocket {url}: closed during the handshake")
        start, frames = _read_start(sock, protocol, events[1:], deadline)
        sock.settimeout(None)
        session = WebSocketMedia(sock, protocol, start, channel, frames, loop)
    except InvalidStatus as error:
        sock.close()
        status = error.response.status_code
        why = {404: "unknown connection id", 409: "already connected"}.get(status, "refused")
        raise MediaError(f"media WebSocket {url}: {status} ({why})") from error
    except (InvalidHandshake, OSError, TimeoutError, ssl.SSLError) as error:
        sock.close()
        raise MediaError(f"media WebSocket {url}: cannot connect ({error})") from error
    except BaseException:
        sock.close()
        raise
    session._start_loop()
    return session


def _media_if_offered(protocol: Any, offered: Any) -> Optional[Subprotocol]:
    """``media`` when the peer offers it (Asterisk does); no subprotocol is no reason to refuse."""
    return _MEDIA[0] if _MEDIA[0] in offered else None


class MediaServer:
    """Accepts the media WebSockets Asterisk opens (externalMedia with ``connection_type=client``).

    Listens on ``host:port`` (port 0: any free one, see ``port``); each connection that sends
    MEDIA_START becomes a ``WebSocketMedia`` handed out by ``accept()``; with ``client``, its
    ``channel`` is that client's Channel.  ``close()`` stops listening and closes every session
    it made.  One thread, ``ari-media-server``, accepts and shakes hands; the sessions are then
    served by ``loop`` (by default one ``MediaLoop`` of the server's: one thread for all of them).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        path: Optional[str] = None,
        start_timeout: float = 10.0,
        client: Any = None,
        loop: Optional[MediaLoop] = None,
    ) -> None:
        self.path = path
        self._own_loop = loop is None
        self.loop = MediaLoop("server-loop") if loop is None else loop
        self.client = client
        self._start_timeout = start_timeout
        self._waiting: List[WebSocketMedia] = []  # accepted, not yet handed out
        self._sessions: List[WebSocketMedia] = []
        self._lock = threading.Condition()
        self._closed = False
        try:
            self._listener = socket.create_server((host, port))
        except OSError as error:
            raise MediaError(f"cannot listen for media on {host}:{port} ({error})") from error
        self.host, self.port = self._listener.getsockname()[:2]
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name="ari-media-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.path or '/'}"

    def _serve(self) -> None:
        while True:
            readable, _, _ = select.select([self._listener, self._wake_r], [], [])
            if self._wake_r in readable or self._closed:
                return
            try:
                sock, address = self._listener.accept()
            except OSError:
                continue
            try:
                session = self._open(sock)
            except (MediaError, InvalidHandshake, OSError, TimeoutError) as error:
                log.warning("media connection from %s dropped: %s", address, error)
                sock.close()
                continue
            with self._lock:
                if self._closed:
                    session.close()
                    return
                self._sessions.append(session)
                self._waiting.append(session)
                self._lock.notify_all()

    def _open(self, sock: Any) -> WebSocketMedia:
        deadline = time.monotonic() + self._start_timeout
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        protocol = ServerProtocol(subprotocols=_MEDIA, select_subprotocol=_media_if_offered, max_size=_MAX_SIZE)
        events = _handshake_read(sock, protocol, deadline)
        if not events:
            raise MediaError("closed before its handshake")
        request = events[0]
        if self.path is not None and request.path.split("?")[0] != self.path:
            response = protocol.reject(404, "Not Found\n")
        else:
            response = protocol.accept(request)
        protocol.send_response(response)
        sock.sendall(b"".join(protocol.data_to_send()))
        if protocol.handshake_exc is not None:
            raise protocol.handshake_exc
        start, frames = _read_start(sock, protocol, events[1:], deadline)
        sock.settimeout(None)
        channel = None
        if self.client is not None and start.fields.get("channel_id"):
            channel = self.client.Channel(str(start.fields["channel_id"]))
        session = WebSocketMedia(sock, protocol, start, channel, frames, self.loop)
        session._start_loop()
        return session

    def accept(self, timeout: Optional[float] = None, channel_id: Optional[str] = None) -> WebSocketMedia:
        """The next session Asterisk opened (for ``channel_id`` when given); ``MediaError`` on timeout."""

        def found() -> Optional[WebSocketMedia]:
            for session in self._waiting:
                if channel_id is None or session.channel_id == channel_id:
                    return session
            return None

        with self._lock:
            if not self._lock.wait_for(lambda: found() is not None or self._closed, timeout) or self._closed:
                which = f" for channel {channel_id}" if channel_id else ""
                raise MediaError(f"no media connection{which} within {timeout} s")
            session = found()
            assert session is not None
            self._waiting.remove(session)
            return session

    def close(self, timeout: float = 2.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sessions, self._sessions = self._sessions, []
            self._lock.notify_all()
        self._wake_w.send(b"\0")
        self._thread.join(timeout)
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        for session in sessions:
            session.close(timeout)
        if self._own_loop:
            self.loop.close(timeout)  # its thread ends with the last session: joined here

    def __enter__(self) -> MediaServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
