"""The simulator's RTP for externalMedia: Asterisk's UnicastRTP end of a stream, on a UDP socket.

Its one job is the socket: bind a local UDP port (the channel's ``UNICASTRTP_LOCAL_PORT``),
read the application's RTP from the server's loop (``add_reader``, no thread of its own) into
the ``MediaStream``, and send the stream's frames to the application's ``external_host``.
Like UnicastRTP it carries no DTMF and, having no SDP, takes in only static payload types
(slin16's 118 is dropped); signed linear goes out big-endian.  Packets are ``ari.media.rtp``'s;
it must hold no media logic.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from typing import TYPE_CHECKING, Tuple

from ..errors import MediaError
from ..media.codecs import byteswap
from ..media.rtp import RtpPacket, parse

if TYPE_CHECKING:
    from .media_stream import MediaStream

log = logging.getLogger(__name__)

#: the last static RTP payload type (AST_RTP_PT_LAST_STATIC): the only ones UnicastRTP takes in
LAST_STATIC = 34


class RtpWire:
    """One UnicastRTP stream: ``local`` is where the application sends, ``remote`` where it listens."""

    def __init__(self, stream: MediaStream, remote: Tuple[str, int], host: str = "127.0.0.1") -> None:
        self.loop = asyncio.get_running_loop()  # first: no socket is left open without a loop
        self.stream = stream
        self.remote = remote
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.local: Tuple[str, int] = self.sock.getsockname()[:2]
        self.loop.add_reader(self.sock.fileno(), self._readable)
        self.payload_type = stream.codec.payload_type or 0
        self.swap = stream.codec.width == 2
        self.ssrc = random.getrandbits(32)
        self.sequence = random.getrandbits(16)
        self.timestamp = random.getrandbits(32)
        self.closed = False
        self.received = 0

    def _readable(self) -> None:
        while True:
            try:
                data, _ = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.close(1000)
                return
            try:
                packet = parse(data)
            except MediaError:
                continue  # Asterisk drops what it cannot parse
            if packet.payload_type != self.payload_type or packet.payload_type > LAST_STATIC:
                # UnicastRTP has no SDP: only static payload types map (slin16's 118 is dropped).
                continue
            self.received += 1
            self.stream.audio(byteswap(packet.payload) if self.swap else packet.payload)

    def _send(self, packet: RtpPacket) -> None:
        try:
            self.sock.sendto(packet.to_bytes(), self.remote)
        except OSError as error:  # nobody listening (ICMP): the stream goes on, as RTP does
            log.debug("RTP to %s: %s", self.remote, error)

    def send_audio(self, frame: bytes) -> None:
        if self.closed:
            return
        payload = byteswap(frame) if self.swap else frame
        self._send(RtpPacket(self.payload_type, self.sequence, self.timestamp, self.ssrc, payload))
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + len(frame) // self.stream.codec.width) & 0xFFFFFFFF

    def send_text(self, text: str) -> None:
        """RTP has no text: chan_websocket's events have no place here."""

    def send_dtmf(self, digit: str) -> None:
        """UnicastRTP has no digit callbacks: a bridge's DTMF never reaches the application's RTP."""

    def close(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
