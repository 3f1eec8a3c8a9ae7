"""ari.media.rtp: RTP headers and RFC 4733 events, parsed and built."""

from __future__ import annotations

import struct

import pytest

from ari.errors import MediaError
from ari.media import rtp


def test_build_and_parse_round_trip() -> None:
    packet = rtp.RtpPacket(0, 65535, 2**32 - 1, 0xDEADBEEF, b"\xff" * 160, marker=True)
    data = packet.to_bytes()
    assert data[:2] == b"\x80\x80" and len(data) == 172
    assert rtp.parse(data) == packet
    wrapped = rtp.RtpPacket(118, 65536 + 5, 2**32 + 7, 1, b"")
    assert rtp.parse(wrapped.to_bytes())[1:3] == (5, 7)


def test_parse_skips_csrcs_extension_and_padding() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 2, 8, 1, 160, 99)
    csrcs = struct.pack("!II", 1, 2)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\0\0\0\0"
    data = header + csrcs + extension + b"abc" + b"\0\0\3"
    packet = rtp.parse(data)
    assert packet.payload_type == 8 and packet.payload == b"abc" and packet.ssrc == 99


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x80\x00", "shorter than its 12-byte header"),
        (b"\x40" + bytes(11), "RTP version 1"),
        (b"\x90" + bytes(11), "extension is cut short"),
        (b"\x8f" + bytes(11), "longer than the packet"),
    ],
)
def test_malformed_packets_say_what_is_wrong(data: bytes, problem: str) -> None:
    with pytest.raises(MediaError, match=problem):
        rtp.parse(data)


def test_payload_type_is_checked_when_building() -> None:
    with pytest.raises(MediaError, match="128"):
        rtp.RtpPacket(128, 0, 0, 0, b"").to_bytes()


def test_telephone_events() -> None:
    event = rtp.TelephoneEvent("#", True, 10, 800)
    assert event.to_bytes() == b"\x0b\x8a\x03\x20"
    assert rtp.parse_event(event.to_bytes()) == event
    assert rtp.parse_event(b"\x10\x00\x00\x00") is None  # not a digit (e.g. a fax tone)
    with pytest.raises(MediaError, match="expected 4"):
        rtp.parse_event(b"\x01")
