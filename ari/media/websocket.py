"""Media over a WebSocket (Asterisk's chan_websocket): the connection, MEDIA_START, commands, events.

Its one job is the media WebSocket's wire: connect to ``/media/<connection id>`` (or take a
connection Asterisk opened to a ``MediaServer``), read MEDIA_START, turn binary frames into
received audio and text frames (plain ``NAME key:value ...`` or JSON) into ``MediaEvent`` s,
and write audio and commands (``MARK_MEDIA``, ``FLUSH_MEDIA``, ``PAUSE_MEDIA`` ...).  It is the
only module of ``ari.media`` that imports ``websockets`` (its synchronous client and server);
pacing, marks and handlers are ``session.py``'s.
"""

from __future__ import annotations

import json
import logging
import queue
import ssl
import threading
from typing import Any, Dict, List, Optional

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.sync.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from ..errors import MediaError
from .codecs import codec
from .session import MediaEvent, MediaSession

log = logging.getLogger(__name__)

#: chan_websocket ignores text frames longer than this (MAX_TEXT_MESSAGE_LEN)
MAX_COMMAND = 128
#: bigger than any audio frame Asterisk sends (slin192 at 20 ms is 7680 bytes)
_MAX_SIZE = 1 << 20


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


class WebSocketMedia(MediaSession):
    """A call's media over a chan_websocket connection (made by ``open_websocket`` or a ``MediaServer``)."""

    def __init__(self, connection: Any, start: MediaEvent, channel: Any = None) -> None:
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
            channel if channel is not None else self.channel_id, fmt, ptime, frame_size, self.channel_id[-8:] or "ws"
        )
        self._ws = connection
        self._send_lock = threading.Lock()
        self._reader: Optional[threading.Thread] = None
        thread = getattr(connection, "recv_events_thread", None)
        if isinstance(thread, threading.Thread):  # websockets' own socket reader: give it our name
            thread.name = f"ari-media-socket-{self._name}"

    # -- reading --------------------------------------------------------------------------

    def _start_reader(self) -> None:
        self._reader = threading.Thread(target=self._read_loop, name=f"ari-media-read-{self._name}", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        code: Optional[int] = None
        reason = ""
        try:
            while True:
                message = self._ws.recv()
                if isinstance(message, str):
                    try:
                        event = parse_control(message)
                    except MediaError as error:
                        log.warning("%r: %s", self, error)
                        continue
                    self._event(event)
                else:
                    self._received(message)
        except ConnectionClosed as closed:
            received = closed.rcvd
            code = received.code if received is not None else None
            reason = received.reason if received is not None else ""
        except Exception:  # never a silent dead reader: the session closes and says why
            log.exception("%r: the media reader failed", self)
            reason = "reader failed"
        if self._closed_by("remote", code, reason or ("hung up" if code == 1000 else "connection lost")):
            self._close_socket()

    # -- writing --------------------------------------------------------------------------

    def _send(self, message: Any) -> None:
        try:
            with self._send_lock:
                self._ws.send(message)
        except ConnectionClosed as error:
            raise MediaError(f"{self!r}: the media WebSocket is closed") from error

    def _write_audio(self, frame: bytes) -> None:
        self._send(frame)

    def command(self, name: str, **fields: Any) -> None:
        """Send a command as it is (``ANSWER``, ``HANGUP``, ``GET_STATUS`` ...), in the connection's format."""
        if self.json_format:
            text = json.dumps({"command": name, **fields}, separators=(",", ":"))
        else:
            value = fields.get("correlation_id")
            text = f"{name} {value}" if value else name
        if len(text.encode()) > MAX_COMMAND:
            raise MediaError(f"media command {text[:40]!r}... is longer than Asterisk's {MAX_COMMAND} bytes")
        self._check_open()
        self._send(text)

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

    def _close_socket(self) -> None:
        try:
            self._ws.close(1000)
        except Exception:  # already gone
            log.debug("%r: close failed", self, exc_info=True)

    def _shutdown(self) -> None:
        # Closing the media WebSocket is what hangs the channel up on Asterisk.
        self._close_socket()

    def _threads(self) -> List[Optional[threading.Thread]]:
        return [self._reader, getattr(self._ws, "recv_events_thread", None), *super()._threads()]


def _read_start(connection: Any, timeout: float) -> MediaEvent:
    try:
        first = connection.recv(timeout)
    except TimeoutError as error:
        raise MediaError(f"no MEDIA_START within {timeout} s") from error
    except ConnectionClosed as error:
        raise MediaError(f"the media WebSocket closed before MEDIA_START ({error})") from error
    if not isinstance(first, str):
        raise MediaError("the media WebSocket's first frame is audio, not MEDIA_START")
    event = parse_control(first)
    if event.name != "MEDIA_START":
        raise MediaError(f"the media WebSocket's first frame is not MEDIA_START: {first[:80]!r}")
    return event


def connect(url: str, *, timeout: float = 10.0, verify: Any = True, channel: Any = None) -> WebSocketMedia:
    """Connect to a media WebSocket (``ws://host:8088/media/<connection id>``) and read MEDIA_START."""
    context: Optional[ssl.SSLContext] = None
    if url.startswith("wss:"):
        context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
        if verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        connection: ClientConnection = ws_connect(
            url,
            ssl=context,
            subprotocols=[Subprotocol("media")],
            compression=None,
            proxy=None,
            open_timeout=timeout,
            ping_interval=None,
            close_timeout=2,
            max_size=_MAX_SIZE,
            max_queue=None,
        )
    except InvalidStatus as error:
        status = error.response.status_code
        why = {404: "unknown connection id", 409: "already connected"}.get(status, "refused")
        raise MediaError(f"media WebSocket {url}: {status} ({why})") from error
    except (InvalidHandshake, InvalidURI, OSError, TimeoutError) as error:
        raise MediaError(f"media WebSocket {url}: cannot connect ({error})") from error
    # The session owns the connection's lifetime as a ``with`` block would (websockets 17.1+ warns
    # about connections used outside one; entering it is the portable way to say so).
    connection.__enter__()
    try:
        session = WebSocketMedia(connection, _read_start(connection, timeout), channel)
    except BaseException:
        connection.close()
        raise
    session._start_reader()
    return session


class MediaServer:
    """Accepts the media WebSockets Asterisk opens (externalMedia with ``connection_type=client``).

    Listens on ``host:port`` (port 0: any free one, see ``port``); each connection that sends
    MEDIA_START becomes a ``WebSocketMedia`` handed out by ``accept()`` (or to ``on_media``
    on the handler thread of the session).  ``close()`` stops listening and closes every session.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, path: Optional[str] = None, start_timeout: float = 10.0
    ) -> None:
        self.path = path
        self._start_timeout = start_timeout
        self._accepted: queue.SimpleQueue[WebSocketMedia] = queue.SimpleQueue()
        self._sessions: List[WebSocketMedia] = []
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._server: Server = serve(
                self._handle,
                host,
                port,
                subprotocols=[Subprotocol("media")],
                compression=None,
                ping_interval=None,
                max_size=_MAX_SIZE,
                max_queue=None,
                process_request=self._check_path,
            )
        except OSError as error:
            raise MediaError(f"cannot listen for media on {host}:{port} ({error})") from error
        self.host, self.port = self._server.socket.getsockname()[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="ari-media-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.path or '/'}"

    def _check_path(self, connection: ServerConnection, request: Any) -> Any:
        if self.path is not None and request.path.split("?")[0] != self.path:
            return connection.respond(404, "Not Found\n")
        return None

    def _handle(self, connection: ServerConnection) -> None:
        # Runs on the server's thread for this connection: it is the session's reader.
        current = threading.current_thread()
        current.name = "ari-media-conn"
        try:
            start = _read_start(connection, self._start_timeout)
            session = WebSocketMedia(connection, start)
        except MediaError as error:
            log.warning("media connection from %s dropped: %s", connection.remote_address, error)
            return
        session._reader = current
        with self._lock:
            if self._closed:
                session.close()
                return
            self._sessions.append(session)
        self._accepted.put(session)
        session._read_loop()

    def accept(self, timeout: Optional[float] = None) -> WebSocketMedia:
        """The next session Asterisk opened; ``MediaError`` on timeout."""
        try:
            return self._accepted.get(timeout=timeout)
        except queue.Empty:
            raise MediaError(f"no media connection within {timeout} s") from None

    def close(self, timeout: float = 2.0) -> None:
        with self._lock:
            self._closed = True
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close(timeout)
        self._server.shutdown()
        self._thread.join(timeout)

    def __enter__(self) -> MediaServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
