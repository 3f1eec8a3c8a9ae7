"""RTP packets (RFC 3550) as Asterisk's UnicastRTP channels send and expect them.

Its one job is the 12-byte header and what follows it: parse a datagram into an
``RtpPacket`` (skipping CSRCs, a header extension and padding) and build one back, plus the
RFC 4733 telephone-event payload Asterisk uses for DTMF.  It must not open sockets or know
about sessions; ``struct`` does the byte layout.
"""

from __future__ import annotations

import struct
from typing import NamedTuple, Optional

from ..errors import MediaError

_HEADER = struct.Struct("!BBHII")
_EVENT = struct.Struct("!BBH")
VERSION = 2
#: the payload type Asterisk offers for RFC 4733 DTMF (telephone-event/8000)
TELEPHONE_EVENT = 101
DTMF_EVENTS = "0123456789*#ABCD"


class RtpPacket(NamedTuple):
    payload_type: int
    sequence: int  # 16 bits, wraps
    timestamp: int  # 32 bits, in samples of the payload's clock
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        """The datagram: version 2, no padding, extension or CSRCs."""
        if not 0 <= self.payload_type <= 127:
            raise MediaError(f"RTP payload type {self.payload_type} is not in 0..127")
        second = (0x80 if self.marker else 0) | self.payload_type
        return (
            _HEADER.pack(
                VERSION << 6, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc & 0xFFFFFFFF
            )
            + self.payload
        )


def parse(data: bytes) -> RtpPacket:
    """The packet in ``data``; a ``MediaError`` saying what is wrong with a malformed one."""
    if len(data) < _HEADER.size:
        raise MediaError(f"RTP packet of {len(data)} bytes is shorter than its 12-byte header")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != VERSION:
        raise MediaError(f"RTP version {first >> 6}, expected 2")
    start = _HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in 32-bit words
        if len(data) < start + 4:
            raise MediaError("RTP header extension is cut short")
        (words,) = struct.unpack_from("!H", data, start + 2)
        start += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: the last byte says how much
        end -= data[-1]
    if start > end:
        raise MediaError("RTP header is longer than the packet")
    return RtpPacket(second & 0x7F, sequence, timestamp, ssrc, bytes(data[start:end]), bool(second & 0x80))


class TelephoneEvent(NamedTuple):
    """An RFC 4733 event payload: the digit, whether it ended, its volume and duration (samples)."""

    digit: str
    end: bool
    volume: int
    duration: int

    def to_bytes(self) -> bytes:
        return _EVENT.pack(
            DTMF_EVENTS.index(self.digit), (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration & 0xFFFF
        )


def parse_event(payload: bytes) -> Optional[TelephoneEvent]:
    """The DTMF event in a telephone-event payload; None for events other than DTMF digits."""
    if len(payload) < _EVENT.size:
        raise MediaError(f"telephone-event payload of {len(payload)} bytes, expected 4")
    event, flags, duration = _EVENT.unpack_from(payload)
    if event >= len(DTMF_EVENTS):
        return None
    return TelephoneEvent(DTMF_EVENTS[event], bool(flags & 0x80), flags & 0x3F, duration)
