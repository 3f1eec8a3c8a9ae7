"""Audio formats a voice application meets on Asterisk's media channels, and conversions between them.

Its one job is codec facts (sample rate, bytes per sample, bytes per frame, RTP payload type)
and sample conversion: ulaw, alaw and signed linear at 8 and 16 kHz (any ``slinNN`` rate),
with resampling.  The arithmetic is ``audioop``'s (the standard library's up to Python 3.12,
its maintained successor ``audioop-lts`` from 3.13): no hand-written tables here.  It is the
only module that imports ``audioop``; it must not know about sockets or sessions.
"""

from __future__ import annotations

import array
import math
import warnings
from typing import Any, Dict, NamedTuple, Optional, Tuple

from ..errors import MediaError

with warnings.catch_warnings():
    # Python 3.11 and 3.12 warn on import that audioop leaves in 3.13 (where audioop-lts,
    # a dependency there, provides the same module).
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop


class Codec(NamedTuple):
    """One audio format as Asterisk names it (``slin16``, ``ulaw``)."""

    name: str
    rate: int  # samples per second
    width: int  # bytes per sample on the wire (1 for G.711, 2 for signed linear)
    payload_type: Optional[int]  # RTP payload type Asterisk uses for it, None if dynamic only

    def frame_bytes(self, ptime_ms: int = 20) -> int:
        """Bytes of one ``ptime_ms`` frame: 160 for ulaw at 20 ms, 640 for slin16."""
        return self.rate * ptime_ms // 1000 * self.width

    def duration(self, nbytes: int) -> float:
        """Seconds of audio in ``nbytes`` of this format."""
        return nbytes / (self.rate * self.width)

    def silence(self, nbytes: int) -> bytes:
        """``nbytes`` of silence in this format (0xFF for ulaw, 0xD5 for alaw, zeros for slin)."""
        if self.name == "ulaw":
            return audioop.lin2ulaw(bytes(2), 2) * nbytes
        if self.name == "alaw":
            return audioop.lin2alaw(bytes(2), 2) * nbytes
        return bytes(nbytes)


def _slin(rate: int, payload_type: Optional[int] = None) -> Codec:
    return Codec("slin" if rate == 8000 else f"slin{rate // 1000}", rate, 2, payload_type)


#: Asterisk's RTP payload types (rtp_engine.c add_static_payload): 0 ulaw, 8 alaw, 11 slin, 118 slin16...
CODECS: Dict[str, Codec] = {
    "ulaw": Codec("ulaw", 8000, 1, 0),
    "alaw": Codec("alaw", 8000, 1, 8),
    "slin": _slin(8000, 11),
    "slin12": _slin(12000, 122),
    "slin16": _slin(16000, 118),
    "slin24": _slin(24000, 123),
    "slin32": _slin(32000, 124),
    "slin44": Codec("slin44", 44100, 2, 125),
    "slin48": _slin(48000, 126),
    "slin96": _slin(96000, 127),
    "slin192": _slin(192000, 96),
}


def codec(name: str) -> Codec:
    """The codec called ``name``; a ``MediaError`` naming the known ones otherwise."""
    try:
        return CODECS[name]
    except KeyError:
        raise MediaError(f"unknown audio format {name!r} (known: {', '.join(CODECS)})") from None


def by_payload_type(payload_type: int) -> Codec:
    for item in CODECS.values():
        if item.payload_type == payload_type:
            return item
    raise MediaError(f"no audio format for RTP payload type {payload_type}")


def to_linear(data: bytes, fmt: Codec) -> bytes:
    """16-bit signed linear samples (native byte order) of ``data`` in ``fmt``, same rate."""
    if fmt.name == "ulaw":
        return audioop.ulaw2lin(data, 2)
    if fmt.name == "alaw":
        return audioop.alaw2lin(data, 2)
    return data


def from_linear(data: bytes, fmt: Codec) -> bytes:
    """``data`` (16-bit signed linear at ``fmt``'s rate) encoded as ``fmt``."""
    if fmt.name == "ulaw":
        return audioop.lin2ulaw(data, 2)
    if fmt.name == "alaw":
        return audioop.lin2alaw(data, 2)
    return data


class Converter:
    """Converts a stream of chunks from one format (or linear rate) to another.

    Keeps the resampler's state between chunks, so a stream cut into frames converts
    as one piece would.  ``source`` and ``target`` are codec names or ``Codec`` values.
    """

    def __init__(self, source: Any, target: Any) -> None:
        self.source = source if isinstance(source, Codec) else codec(source)
        self.target = target if isinstance(target, Codec) else codec(target)
        self._state: Optional[Tuple[Any, ...]] = None
        self._odd = b""  # a half sample left over from a chunk of odd length

    def convert(self, data: bytes) -> bytes:
        if self.source.width == 2:
            data = self._odd + data
            cut = len(data) - len(data) % 2
            data, self._odd = data[:cut], data[cut:]
        linear = to_linear(data, self.source)
        if self.source.rate != self.target.rate:
            linear, self._state = audioop.ratecv(linear, 2, 1, self.source.rate, self.target.rate, self._state)
        return from_linear(linear, self.target)


def convert(data: bytes, source: Any, target: Any) -> bytes:
    """``data`` in ``source`` format as ``target`` format (one piece; use ``Converter`` for streams)."""
    return Converter(source, target).convert(data)


def tone(frequency: float, seconds: float, fmt: Any = "slin16", volume: float = 0.3, phase: int = 0) -> bytes:
    """A sine tone in ``fmt``; ``phase`` is the first sample's index (to continue a tone)."""
    target = fmt if isinstance(fmt, Codec) else codec(fmt)
    count = int(target.rate * seconds)
    # audioop has no generator: the samples are computed, then encoded by audioop.
    amplitude = int(32767 * max(0.0, min(1.0, volume)))
    step = 2 * math.pi * frequency / target.rate
    samples = array.array("h", (int(amplitude * math.sin(step * (phase + i))) for i in range(count)))
    return from_linear(samples.tobytes(), target)


def rms(data: bytes, fmt: Any = "slin16") -> int:
    """The root-mean-square level of ``data`` (0 for silence, up to 32767)."""
    source = fmt if isinstance(fmt, Codec) else codec(fmt)
    return int(audioop.rms(to_linear(data, source), 2)) if data else 0


def byteswap(data: bytes) -> bytes:
    """16-bit samples with their byte order swapped (RTP carries signed linear big-endian)."""
    return audioop.byteswap(data, 2)


def mix(a: bytes, b: bytes, fmt: Any = "slin16") -> bytes:
    """Two chunks of ``fmt`` audio added sample by sample (the shorter padded with silence)."""
    target = fmt if isinstance(fmt, Codec) else codec(fmt)
    la, lb = to_linear(a, target), to_linear(b, target)
    n = max(len(la), len(lb))
    return from_linear(audioop.add(la.ljust(n, b"\0"), lb.ljust(n, b"\0"), 2), target)
