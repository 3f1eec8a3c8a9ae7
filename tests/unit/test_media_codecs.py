"""ari.media.codecs: formats Asterisk names, conversions through audioop, generated audio."""

from __future__ import annotations

import pytest

from ari.errors import MediaError
from ari.media import codecs


def test_formats_as_asterisk_frames_them() -> None:
    assert codecs.codec("ulaw").frame_bytes(20) == 160
    assert codecs.codec("alaw").frame_bytes(20) == 160
    assert codecs.codec("slin").frame_bytes(20) == 320
    assert codecs.codec("slin16").frame_bytes(20) == 640
    assert codecs.codec("slin48").frame_bytes(20) == 1920
    assert [codecs.codec(n).payload_type for n in ("ulaw", "alaw", "slin", "slin16")] == [0, 8, 11, 118]
    assert codecs.by_payload_type(118).name == "slin16"
    assert codecs.codec("slin16").duration(32000) == 1.0
    with pytest.raises(MediaError, match="unknown audio format 'gsm'"):
        codecs.codec("gsm")
    with pytest.raises(MediaError, match="payload type 55"):
        codecs.by_payload_type(55)


def test_silence_is_each_codecs_own_zero() -> None:
    assert codecs.codec("ulaw").silence(3) == b"\xff\xff\xff"
    assert codecs.codec("alaw").silence(2) == b"\xd5\xd5"
    assert codecs.codec("slin16").silence(4) == b"\0\0\0\0"
    assert codecs.rms(codecs.codec("ulaw").silence(160), "ulaw") == 0


def test_ulaw_and_alaw_round_trip_through_linear() -> None:
    tone = codecs.tone(440, 0.1, "slin", volume=0.5)
    for law in ("ulaw", "alaw"):
        encoded = codecs.convert(tone, "slin", law)
        assert len(encoded) == len(tone) // 2
        back = codecs.convert(encoded, law, "slin")
        # G.711 keeps the level within a few per cent
        assert abs(codecs.rms(back, "slin") - codecs.rms(tone, "slin")) < 0.05 * codecs.rms(tone, "slin")


def test_resampling_doubles_and_halves() -> None:
    narrow = codecs.tone(440, 1.0, "slin")
    wide = codecs.convert(narrow, "slin", "slin16")
    assert abs(len(wide) - 2 * len(narrow)) <= 4
    assert abs(codecs.rms(wide, "slin16") - codecs.rms(narrow, "slin")) < 300
    ulaw = codecs.convert(codecs.tone(440, 1.0, "slin16"), "slin16", "ulaw")
    assert abs(len(ulaw) - 8000) <= 2


def test_a_stream_converts_as_one_piece() -> None:
    audio = codecs.tone(300, 0.2, "slin16")
    whole = codecs.convert(audio, "slin16", "slin")
    converter = codecs.Converter("slin16", "slin")
    pieces = b"".join(converter.convert(audio[at : at + 333]) for at in range(0, len(audio), 333))
    assert pieces == whole  # odd cuts included: the half sample waits for the next chunk


def test_tone_phase_continues_and_mix_adds() -> None:
    first = codecs.tone(1000, 0.01, "slin16")
    rest = codecs.tone(1000, 0.01, "slin16", phase=160)
    assert first + rest == codecs.tone(1000, 0.02, "slin16")
    loud = codecs.mix(first, first, "slin16")
    assert codecs.rms(loud) > 1.9 * codecs.rms(first)
    assert len(codecs.mix(first, first[:10], "slin16")) == len(first)
    assert codecs.byteswap(b"\x01\x02") == b"\x02\x01"
    assert codecs.rms(b"") == 0
