"""The simulator's externalMedia audio: chan_websocket's and UnicastRTP's behaviour, frame by frame.

Its one job is the media model of an externalMedia channel: the queue of audio the application
sent (split into ``optimal_frame_size`` frames, MEDIA_XOFF at 900, MEDIA_XON below 800, a
message dropped whole at 1000, played out one frame per ptime), the text commands and the
events chan_websocket answers with (worded as Asterisk 22.10's ``chan_websocket.c``), and the
audio the far side of the channel's bridge makes: a tone, a WAV, music (``Local/moh``), or the
application's own audio back (``Local/echo``).  It runs on the server's loop thread, in real
time (audio is paced by the wall clock, whatever the simulator's speed), and talks to its
wire through the small ``Wire`` interface (``media_socket.py`` for WebSockets, ``rtp.py`` for
RTP); it must not import a network library.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import uuid
import wave
from typing import Any, Deque, Dict, List, Optional, Protocol, Set, Tuple, Union

from ..media.codecs import CODECS, Codec, Converter, mix, tone
from .dialplan import FarEnd

#: the state model's Channel and World (``state/``, a layer above: named, not imported)
Channel = Any
World = Any

log = logging.getLogger(__name__)

XOFF_LEVEL, XON_LEVEL, QUEUE_MAX = 900, 800, 1000
MAX_TEXT = 128
#: chan_websocket's tech_cause (the WebSocket status it closes with) for a HANGUP command, and
#: for a socket the application closed or cut
WS_NORMAL, WS_GOING_AWAY = 1000, 1001
#: aiohttp's close code for a connection lost without a close frame
WS_ABNORMAL = 1006
HEARD_FRAMES = 3000  # what a far end heard, kept for tests: the last minute
PTIME_MS = 20


class Wire(Protocol):
    """How a stream reaches the application (a media WebSocket, or RTP to an address)."""

    def send_audio(self, frame: bytes) -> None: ...

    def send_text(self, text: str) -> None: ...

    def send_dtmf(self, digit: str) -> None: ...

    def close(self, code: int) -> None: ...


# -- audio sources ------------------------------------------------------------------------


class LoopSource:
    """Audio that repeats: one buffer, read a frame at a time."""

    def __init__(self, audio: bytes) -> None:
        self.audio = audio or b"\0\0"
        self.at = 0

    def frame(self, size: int) -> Optional[bytes]:
        out = bytearray()
        while len(out) < size:
            take = self.audio[self.at : self.at + size - len(out)]
            out += take
            self.at = (self.at + len(take)) % len(self.audio)
        return bytes(out)


class EchoSource:
    """The application's own audio, back after ``delay`` frames (Asterisk's Echo())."""

    def __init__(self, delay: int = 1) -> None:
        self.queue: Deque[bytes] = collections.deque()
        self.delay = delay

    def heard(self, frame: bytes) -> None:
        self.queue.append(frame)

    def frame(self, size: int) -> Optional[bytes]:
        if len(self.queue) < self.delay:
            return None
        return self.queue.popleft()


#: a short tune for music on hold (Hz, 250 ms each): C E G C' G E, over a held C
_TUNE = (261.63, 329.63, 392.0, 523.25, 392.0, 329.63)


def music(codec: Codec) -> bytes:
    """1.5 s of music-like audio in ``codec``: a melody over a low drone."""
    linear = CODECS["slin16"] if codec.width == 2 else CODECS["slin"]
    out = bytearray()
    for note in _TUNE:
        out += tone(note, 0.25, linear.name, 0.2)
    drone = tone(130.81, 1.5, linear.name, 0.1)
    mixed = mix(bytes(out), drone, linear.name)
    return Converter(linear, codec).convert(mixed) if linear.name != codec.name else mixed


def wav_audio(path: str, codec: Codec) -> bytes:
    with wave.open(path, "rb") as wav:
        rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
        pcm = wav.readframes(wav.getnframes())
    if width != 2 or channels != 1:
        raise ValueError(f"{path}: the simulator plays mono 16-bit WAV files")
    return Converter(Codec("wav", rate, 2, None), codec).convert(pcm)


def far_source(far: Optional[FarEnd], codec: Codec) -> Union[LoopSource, EchoSource, None]:
    """What a far end sends into a bridge: its ``audio`` (``tone:<Hz>`` or a WAV path), music
    when it makes sound, the echo of what it hears, or nothing."""
    if far is None:
        return None
    audio = getattr(far, "audio", None)
    if audio:
        if audio.startswith("tone:"):
            frequency = float(audio[5:])
            # One second holds a whole number of cycles of an integer frequency: a seamless loop.
            return LoopSource(tone(frequency, 1.0 if frequency.is_integer() else 2.0, codec, 0.3))
        return LoopSource(wav_audio(audio, codec))
    if far.echo:
        return EchoSource()
    if far.sound:
        return LoopSource(music(codec))
    return None


# -- one externalMedia channel ------------------------------------------------------------


class MediaStream:
    """The media side of one externalMedia channel (WebSocket or RTP)."""

    def __init__(
        self,
        engine: MediaEngine,
        channel: Channel,
        codec: Codec,
        app: str,
        *,
        websocket: bool,
        json_format: bool = False,
        direction: str = "both",
        auto_answer: bool = True,
    ) -> None:
        self.engine = engine
        self.channel = channel
        self.codec = codec
        self.app = app
        self.websocket = websocket
        self.json_format = json_format
        self.direction = direction
        self.auto_answer = auto_answer
        self.frame_size = codec.frame_bytes(PTIME_MS)
        self.connection_id = str(uuid.uuid4())
        self.wire: Optional[Wire] = None
        self.queue: Deque[Union[bytes, str]] = collections.deque()  # audio frames and option texts
        self.queue_length = 0  # audio frames only, as Asterisk counts them
        self.queue_full = False
        self.paused = False
        self.bulk = False
        self.leftover = b""
        self.report_drained = False
        self.timer: Optional[asyncio.TimerHandle] = None
        self.sources: Dict[str, Any] = {}  # peer channel id -> its audio source
        self.sent_to_app = 0  # frames
        self.played = 0  # frames of the application's audio played out
        self.dropped = 0  # frames refused at QUEUE_MAX
        self.ended = False
        self.inbound: List[bytes] = []  # frames another media channel in the same bridge played into this one
        self._prompt: Optional[LoopSource] = None  # a playback on the channel itself: a steady tone
        self._next_tick = 0.0

    # -- lifecycle ----------------------------------------------------------------------

    def attach(self, wire: Wire) -> None:
        """The application connected (WebSocket) or the RTP socket is ready."""
        self.wire = wire
        if self.websocket:
            wire.send_text(self._start_text())
        self._tick_later()

    def _start_text(self) -> str:
        ch = self.channel
        if self.json_format:
            return json.dumps(
                {
                    "event": "MEDIA_START",
                    "connection_id": self.connection_id,
                    "channel": ch.name,
                    "channel_id": ch.id,
                    "format": self.codec.name,
                    "optimal_frame_size": self.frame_size,
                    "ptime": PTIME_MS,
                    "channel_variables": dict(ch.vars),
                },
                separators=(",", ":"),
            )
        return (
            f"MEDIA_START connection_id:{self.connection_id} channel:{ch.name} channel_id:{ch.id} "
            f"format:{self.codec.name} optimal_frame_size:{self.frame_size} ptime:{PTIME_MS}"
        )

    def _tick_later(self) -> None:
        if self.ended:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        # Absolute times, as Asterisk's channel timer: no drift, no burst after a slow turn.
        self._next_tick = max(self._next_tick + PTIME_MS / 1000.0, now) if self._next_tick else now + PTIME_MS / 1000.0
        self.timer = loop.call_at(self._next_tick, self._tick)

    def detached(self, code: Optional[int]) -> None:
        """The application closed the WebSocket (or the connection broke): the call is hung up."""
        if self.ended:
            return
        self.end(close=False)
        ch = self.engine.world.channels.get(self.channel.id)
        if ch is not None and not ch.hanging_up:
            # chan_websocket (22.10): a close frame, whatever its code, is a normal clearing; a
            # read error (no close frame) is "Network out of order".  Either way it queues the
            # hangup with that cause and leaves the channel's own cause unset: ChannelDestroyed
            # says 0, "Unknown" (recorded: tests/fixtures/media-hangups-22.10.1.json).
            cause = 38 if code in (None, WS_ABNORMAL) else 16
            self.engine.world.calls.hangup(ch, cause, soft=False, tech_cause=WS_GOING_AWAY, destroyed_cause=0)

    def end(self, close: bool = True) -> None:
        if self.ended:
            return
        self.ended = True
        if self.timer is not None:
            self.timer.cancel()
        self.engine.forget(self)
        if close and self.wire is not None:
            self.wire.close(1000)

    # -- from the application -----------------------------------------------------------

    def _event(self, name: str, **fields: Any) -> str:
        if self.json_format:
            return json.dumps({"event": name, "channel_id": self.channel.id, **fields}, separators=(",", ":"))
        if name in ("MEDIA_MARK_PROCESSED", "MEDIA_BUFFERING_COMPLETED"):
            cid = fields.get("correlation_id") or ""
            return f"{name} {cid}" if cid else name
        if name in ("MEDIA_XON", "MEDIA_XOFF", "QUEUE_DRAINED"):
            return name
        parts = " ".join(f"{k}:{v}" for k, v in fields.items())
        return f"{name} channel_id:{self.channel.id} {parts}" if name != "DTMF_END" else f"{name} {parts}"

    def _send(self, text: str) -> None:
        if self.wire is not None:
            self.wire.send_text(text)

    def _error(self, text: str) -> None:
        self._send(self._event("ERROR", error_text=text))

    def audio(self, data: bytes) -> None:
        """A binary message from the application (process_binary_message)."""
        if self.ended:
            return
        if self.direction == "in":
            return  # the application's media direction is 'in': its audio is dropped
        if self.queue_length >= QUEUE_MAX:
            self.dropped += max(1, len(data) // self.frame_size)
            return
        size = self.frame_size
        if self.bulk and self.leftover:
            need = size - len(self.leftover)
            self.leftover += data[:need]
            data = data[need:]
            if len(self.leftover) < size:
                return
            self._queue_frame(self.leftover)
            self.leftover = b""
        if not self.bulk:
            self.leftover = b""
        whole = len(data) - len(data) % size
        for at in range(0, whole, size):
            self._queue_frame(data[at : at + size])
        if self.bulk and whole < len(data):
            self.leftover = data[whole:]

    def _queue_frame(self, frame: bytes) -> None:
        self.queue.append(frame)
        self.queue_length += 1
        if not self.queue_full and self.queue_length >= XOFF_LEVEL:
            self.queue_full = True
            self._send(self._event("MEDIA_XOFF"))

    def text(self, message: str) -> None:
        """A text message from the application (process_text_message / handle_command)."""
        if self.ended or not message or len(message.encode()) > MAX_TEXT:
            return  # Asterisk logs a warning and ignores it
        message = message.strip()
        data: Any = None
        if self.json_format:
            try:
                data = json.loads(message)
                command = data.get("command") if isinstance(data, dict) else None
            except ValueError:
                self._error("Unable to parse JSON command")
                return
            argument = data.get("correlation_id") if isinstance(data, dict) else None
        else:
            command, _, rest = message.partition(" ")
            argument = rest or None
        queued_commands = (
            "START_MEDIA_BUFFERING",
            "STOP_MEDIA_BUFFERING",
            "MARK_MEDIA",
            "PAUSE_MEDIA",
            "CONTINUE_MEDIA",
        )
        if command in queued_commands and self.direction == "in":
            self._error(f"{command} not supported while media direction is 'in'")
            return
        if command == "ANSWER":
            self.engine.world.calls.answer(self.channel)
        elif command == "HANGUP":
            self.engine.world.calls.hangup(self.channel, 16, soft=False, tech_cause=WS_NORMAL, destroyed_cause=0)
        elif command == "START_MEDIA_BUFFERING":
            self.bulk = True
        elif command == "STOP_MEDIA_BUFFERING":
            self.bulk = False
            if self.leftover:
                self._queue_frame(self.leftover)
            self.leftover = b""
            self.queue.append(self._event("MEDIA_BUFFERING_COMPLETED", correlation_id=argument or ""))
        elif command == "MARK_MEDIA":
            self.queue.append(self._event("MEDIA_MARK_PROCESSED", correlation_id=argument or ""))
        elif command == "FLUSH_MEDIA":
            self.queue.clear()
            self.queue_length = 0
            self.bulk = False
            self.leftover = b""
        elif command == "REPORT_QUEUE_DRAINED":
            self.report_drained = True
        elif command == "GET_STATUS":
            self._send(self._status())
        elif command == "PAUSE_MEDIA":
            self.paused = True
        elif command == "CONTINUE_MEDIA":
            self.paused = False
        elif command == "SET_MEDIA_DIRECTION":
            if not self.json_format:
                self._error(f"{command} only supports JSON format.\n")
                return
            direction = data.get("direction") if isinstance(data, dict) else None
            if not direction:
                self._error(f"{command} requires a 'direction' parameter.\n")
            elif direction not in ("both", "in", "out"):
                self._error(f"'{direction}' is not a valid direction for {command}.\n")
            else:
                self.direction = direction
        else:
            log.warning("%s: WebSocket %s command unknown", self.channel.name, command)

    def _status(self) -> str:
        if self.json_format:
            return self._event(
                "STATUS",
                queue_length=self.queue_length,
                xon_level=XON_LEVEL,
                xoff_level=XOFF_LEVEL,
                queue_full=self.queue_full,
                bulk_media=self.bulk,
                media_paused=self.paused,
            )

        def word(flag: bool) -> str:
            return "true" if flag else "false"

        return (
            f"STATUS channel_id:{self.channel.id} queue_length:{self.queue_length} xon_level:{XON_LEVEL} "
            f"xoff_level:{XOFF_LEVEL} queue_full:{word(self.queue_full)} bulk_media:{word(self.bulk)} "
            f"media_paused:{word(self.paused)}"
        )

    def dtmf(self, digit: str) -> None:
        """A digit reached the channel from its bridge: DTMF_END to the application."""
        if self.wire is None or self.ended:
            return
        if self.websocket:
            if self.json_format:
                self._send(self._event("DTMF_END", digit=digit))
            else:
                self._send(f"DTMF_END digit:{digit} channel_id:{self.channel.id}")
        else:
            self.wire.send_dtmf(digit)

    # -- every ptime ----------------------------------------------------------------------

    def _dequeue(self) -> Optional[bytes]:
        """One frame of the application's audio played out (dequeue_frame)."""
        if self.paused:
            return None
        if self.queue_full and self.queue_length < XON_LEVEL:
            self.queue_full = False
            self._send(self._event("MEDIA_XON"))
        while self.queue and isinstance(self.queue[0], str):
            self._send(self.queue.popleft())  # type: ignore[arg-type]
        if not self.queue:
            if self.report_drained:
                self.report_drained = False
                self._send(self._event("QUEUE_DRAINED"))
            return None
        frame = self.queue.popleft()
        self.queue_length -= 1
        # Control texts right behind the frame go once it has played (the next read).
        return frame  # type: ignore[return-value]

    def _tick(self) -> None:
        self.timer = None
        if self.ended:
            return
        world = self.engine.world
        ch = world.channels.get(self.channel.id)
        if ch is None or ch.hanging_up:
            self.end()
            return
        try:
            played = self._dequeue() if self.direction != "in" else None
            if played is not None:
                self.played += 1
            peers = self.engine.bridge_peers(ch)
            frames: List[bytes] = []
            for peer in peers:
                source = self._source_for(peer)
                if isinstance(source, EchoSource) and played is not None:
                    source.heard(played)
                if source is not None:
                    frame = source.frame(self.frame_size)
                    if frame is not None:
                        frames.append(frame)
                if played is not None:
                    if peer.id in self.engine.by_channel:
                        self.engine.by_channel[peer.id].inbound.append(played)
                    else:
                        self.engine.hear(peer.id, self.codec, played)
            frames.extend(self.inbound)
            self.inbound.clear()
            if ch.playing > 0 and not peers:
                if self._prompt is None:
                    self._prompt = LoopSource(tone(300, 1.0, self.codec, 0.2))
                frames.append(self._prompt.frame(self.frame_size) or b"")
            if not frames and len(peers) > 1:
                # Three or more in a bridge: softmix writes a mixed frame every ptime, silence included
                # (two are a simple_bridge, which passes on only what the other side sends).
                frames.append(self.codec.silence(self.frame_size))
            if frames and self.wire is not None and self.direction != "out":
                out = frames[0]
                if len(frames) > 1:
                    for other in frames[1:]:
                        out = mix(out, other, self.codec)
                self.wire.send_audio(out)
                self.sent_to_app += 1
        finally:
            self._tick_later()

    def _source_for(self, peer: Channel) -> Any:
        key = peer.id
        if key not in self.sources:
            self.sources[key] = far_source(peer.far_end, self.codec)
        return self.sources[key]


class MediaEngine:
    """Every externalMedia stream of one simulated Asterisk, by connection id and channel."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.by_connection: Dict[str, MediaStream] = {}
        self.by_channel: Dict[str, MediaStream] = {}
        self._seen: Optional[Tuple[str, str, str]] = None
        #: websocket_client.conf: connection name -> URI Asterisk dials for externalMedia connection_type=client
        self.clients: Dict[str, str] = {}
        self.dials: Set[Any] = set()  # Asterisk's connections out, under way
        #: what each far end heard from media channels in its bridge: channel id -> (codec, frame)s
        self.heard: Dict[str, Deque[Tuple[Codec, bytes]]] = {}

    def hear(self, channel_id: str, codec: Codec, frame: bytes) -> None:
        frames = self.heard.get(channel_id)
        if frames is None:
            frames = self.heard[channel_id] = collections.deque(maxlen=HEARD_FRAMES)
        frames.append((codec, frame))

    def heard_audio(self, channel_id: str, fmt: str) -> bytes:
        """What the far end of ``channel_id`` heard from media channels, as ``fmt``."""
        target = CODECS[fmt]
        return b"".join(Converter(codec, target).convert(frame) for codec, frame in self.heard.get(channel_id, ()))

    def websocket(
        self, channel: Channel, codec: Codec, app: str, *, json_format: bool, direction: str, auto_answer: bool
    ) -> MediaStream:
        stream = MediaStream(
            self,
            channel,
            codec,
            app,
            websocket=True,
            json_format=json_format,
            direction=direction,
            auto_answer=auto_answer,
        )
        self.by_connection[stream.connection_id] = stream
        self.by_channel[channel.id] = stream
        # Shown in externalMedia's answer only (rest_channels), not in GET or events.
        channel.vars["MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE"] = str(stream.frame_size)
        channel.vars["MEDIA_WEBSOCKET_CONNECTION_ID"] = stream.connection_id
        return stream

    def outbound(
        self,
        channel: Channel,
        codec: Codec,
        app: str,
        connection: str,
        *,
        json_format: bool,
        direction: str,
        auto_answer: bool,
        query: str = "",
    ) -> MediaStream:
        """Asterisk dials the websocket_client ``connection`` (``Simulator.add_websocket_client``)."""
        from .media_socket import dial  # the network side only when a test dials out

        stream = MediaStream(
            self,
            channel,
            codec,
            app,
            websocket=True,
            json_format=json_format,
            direction=direction,
            auto_answer=auto_answer,
        )
        stream.connection_id = connection
        self.by_channel[channel.id] = stream
        # Shown in externalMedia's answer only (rest_channels), not in GET or events.
        channel.vars["MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE"] = str(stream.frame_size)
        channel.vars["MEDIA_WEBSOCKET_CONNECTION_ID"] = connection
        uri = self.clients[connection]
        dial(self, stream, uri + (("&" if "?" in uri else "?") + query if query else ""))
        return stream

    def rtp(self, channel: Channel, codec: Codec, app: str, remote: Tuple[str, int]) -> Tuple[str, int]:
        """An RTP stream to ``remote``; returns the local address Asterisk would send from."""
        from .rtp import RtpWire  # sockets only when a test asks for RTP

        stream = MediaStream(self, channel, codec, app, websocket=False)
        wire = RtpWire(stream, remote)
        self.by_channel[channel.id] = stream
        stream.attach(wire)
        return wire.local

    def connect(self, connection_id: str) -> Union[MediaStream, int]:
        """The stream a ``/media/<id>`` WebSocket joins, or the HTTP status Asterisk answers."""
        stream = self.by_connection.get(connection_id)
        if stream is None or stream.ended:
            return 404
        if stream.wire is not None:
            return 409
        return stream

    def connected(self, stream: MediaStream) -> None:
        """MEDIA_START went out: auto-answer, then the channel enters its application."""
        ch = stream.channel
        if ch.id not in self.world.channels:
            return
        if stream.auto_answer:
            self.world.calls.answer(ch)
            dialstring, ch.pending_dial = ch.pending_dial, None
            if dialstring is not None:
                self.world.emit(
                    "Dial",
                    {"dialstatus": "ANSWER", "forward": "", "dialstring": dialstring, "peer": ch.to_json()},
                    channels=[ch],
                )
        self.world.calls.enter_stasis(ch, stream.app, [])

    def forget(self, stream: MediaStream) -> None:
        self.by_connection.pop(stream.connection_id, None)
        if self.by_channel.get(stream.channel.id) is stream:
            del self.by_channel[stream.channel.id]

    def bridge_peers(self, ch: Channel) -> List[Channel]:
        if ch.bridge_id is None:
            return []
        bridge = self.world.bridges.get(ch.bridge_id)
        if bridge is None:
            return []
        peers = (self.world.channels.get(cid) for cid in bridge.channels if cid != ch.id)
        return [peer for peer in peers if peer is not None]

    def on_event(self, app: str, event: Dict[str, Any]) -> None:
        """World events the media follows: DTMF into a bridge with a media channel, hangups."""
        kind = event.get("type")
        if kind not in ("ChannelDtmfReceived", "ChannelDestroyed") or not self.by_channel:
            return
        channel = event.get("channel") or {}
        key = (str(kind), str(event.get("timestamp")), f"{channel.get('id')}/{event.get('digit')}")
        if key == self._seen:  # the same event, emitted to another application
            return
        self._seen = key
        cid = channel.get("id", "")
        if kind == "ChannelDestroyed":
            stream = self.by_channel.get(cid)
            if stream is not None:
                stream.end()
            return
        ch = self.world.channels.get(cid)
        if ch is None:
            return
        for peer in self.bridge_peers(ch):
            stream = self.by_channel.get(peer.id)
            if stream is not None:
                stream.dtmf(str(event.get("digit")))

    def close_all(self) -> None:
        for stream in list(self.by_channel.values()) + list(self.by_connection.values()):
            stream.end()
