"""Media over RTP on a UDP socket (externalMedia's default ``transport=udp``, ``encapsulation=rtp``).

Its one job is the socket side of RTP: a UDP socket the library opens, a reader that turns
packets from Asterisk into received frames (RFC 4733 digits into ``DTMF_END`` events), and
a writer hook that wraps each paced frame in an RTP header (sequence, timestamp, SSRC,
marker at the start of each run of audio).  Asterisk 22's UnicastRTP sends no DTMF and drops
dynamic payload types it receives (slin16 flows from Asterisk only); digits in RFC 4733 are
still understood, for other senders.  Signed linear travels big-endian on RTP; frames
reach the application in native byte order, as on the WebSocket.  Headers are ``rtp.py``'s;
pacing and marks are ``session.py``'s.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from typing import Any, Callable, Optional, Tuple

from ..errors import MediaError
from . import codecs
from .codecs import Codec
from .loop import MediaLoop
from .rtp import DTMF_EVENTS, TELEPHONE_EVENT, RtpPacket, TelephoneEvent, parse, parse_event
from .session import LoopSession, MediaEvent

log = logging.getLogger(__name__)

Address = Tuple[str, int]

#: the last static RTP payload type (AST_RTP_PT_LAST_STATIC): UnicastRTP maps no other it receives
LAST_STATIC = 34


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A UDP socket on ``host:port`` (port 0: any free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise MediaError(f"cannot open an RTP socket on {host}:{port} ({error})") from error
    return sock


class RtpMedia(LoopSession):
    """A call's media as RTP between ``sock`` and ``remote`` (Asterisk's UNICASTRTP_LOCAL_ADDRESS/_PORT).

    ``hangup`` is called once by ``close()`` to end the call (the channel's DELETE); ``loop``
    the ``MediaLoop`` that serves it (None: a thread of its own).
    """

    def __init__(
        self,
        channel: Any,
        codec: Codec,
        sock: socket.socket,
        remote: Optional[Address],
        *,
        ptime: int = 20,
        hangup: Optional[Callable[[], Any]] = None,
        loop: Optional[MediaLoop] = None,
    ) -> None:
        if codec.payload_type is None:
            raise MediaError(f"{codec.name} has no RTP payload type")
        name = str(getattr(channel, "id", channel))[-8:] or "rtp"
        super().__init__(channel, codec, ptime, codec.frame_bytes(ptime), name, sock, loop)
        sock.setblocking(False)
        self.remote = remote
        self.local = sock.getsockname()[:2]
        self._hangup = hangup
        self.ssrc = random.getrandbits(32)
        self._sequence = random.getrandbits(16)
        self._timestamp = random.getrandbits(32)
        self._last_sent = 0.0
        self._swap = codec.width == 2  # signed linear is big-endian on the wire
        self.packets_received = 0
        self.packets_ignored = 0  # wrong payload type or malformed
        self.remote_ssrc: Optional[int] = None
        self._last_digit: Optional[Tuple[int, str]] = None  # (timestamp, digit) of the last DTMF end
        self._start_loop()

    def _on_readable(self) -> bool:
        payload_type = self.codec.payload_type
        while True:
            try:
                data, source = self._sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError as error:
                self._closed_by("remote", None, f"RTP socket failed ({error})")
                return False
            try:
                packet = parse(data)
            except MediaError as error:
                self.packets_ignored += 1
                log.debug("%r: ignored a packet from %s: %s", self, source, error)
                continue
            self.packets_received += 1
            if self.remote is None:
                self.remote = source[:2]  # no address given: answer whoever sends first
            if packet.payload_type == TELEPHONE_EVENT:
                self._dtmf(packet)
            elif packet.payload_type == payload_type:
                self.remote_ssrc = packet.ssrc
                self._received(codecs.byteswap(packet.payload) if self._swap else packet.payload)
            else:
                self.packets_ignored += 1

    def _dtmf(self, packet: RtpPacket) -> None:
        try:
            event = parse_event(packet.payload)
        except MediaError:
            self.packets_ignored += 1
            return
        if event is None or not event.end:
            return
        key = (packet.timestamp, event.digit)
        if key == self._last_digit:  # the end packet is sent three times
            return
        self._last_digit = key
        self._event(
            MediaEvent("DTMF_END", {"digit": event.digit, "duration": event.duration}, f"DTMF_END digit:{event.digit}")
        )

    def send(self, data: bytes) -> None:
        """Queue audio for Asterisk; refused for dynamic payload types, which UnicastRTP drops."""
        if (self.codec.payload_type or 0) > LAST_STATIC:
            raise MediaError(
                f"Asterisk's UnicastRTP drops the payload type {self.codec.payload_type} ({self.codec.name}) it "
                "receives: it has no SDP to map a dynamic type; open the media in ulaw or alaw to send audio"
            )
        super().send(data)

    def _write_audio(self, frame: bytes) -> None:
        if self.remote is None:
            raise MediaError(f"{self!r}: no address to send RTP to")
        now = time.monotonic()
        samples = len(frame) // self.codec.width
        # A gap of more than two periods starts a new talkspurt: marker bit (RFC 3551 4.1).
        marker = now - self._last_sent > 2 * self.ptime / 1000.0
        self._last_sent = now
        payload = codecs.byteswap(frame) if self._swap else frame
        packet = RtpPacket(self.codec.payload_type or 0, self._sequence, self._timestamp, self.ssrc, payload, marker)
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + samples) & 0xFFFFFFFF
        try:
            self._sock.sendto(packet.to_bytes(), self.remote)
        except OSError as error:
            raise MediaError(f"{self!r}: cannot send RTP to {self.remote} ({error})") from error

    def send_dtmf(self, digit: str, duration_ms: int = 100) -> None:
        """Send one RFC 4733 digit now (three end packets, as Asterisk does)."""
        if digit not in DTMF_EVENTS:
            raise MediaError(f"DTMF digit {digit!r} is not one of {DTMF_EVENTS}")
        if self.remote is None:
            raise MediaError(f"{self!r}: no address to send RTP to")
        duration = 8 * duration_ms  # telephone-event clock: 8 kHz
        for index in range(3):
            payload = TelephoneEvent(digit, True, 10, duration).to_bytes()
            packet = RtpPacket(TELEPHONE_EVENT, self._sequence, self._timestamp, self.ssrc, payload, index == 0)
            self._sequence = (self._sequence + 1) & 0xFFFF
            self._sock.sendto(packet.to_bytes(), self.remote)

    def _shutdown(self) -> None:
        if self._hangup is not None:
            self._hangup()

    def _remote_hangup(self) -> None:
        """The channel left (StasisEnd): the media ends without hanging up again."""
        self._closed_by("remote", None, "hung up")
