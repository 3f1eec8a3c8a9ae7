"""What the simulator knows about audio: the sound catalogue, media durations, WAV bytes.

Its one job is facts about media that need no call state: which sounds exist (with their
languages and formats), how long a ``sound:``, ``digits:``, ``number:``, ``characters:``,
``tone:`` or ``recording:`` item plays, and the bytes of a recorded file.  It must not
schedule anything or know about channels; ``recording:`` lengths are looked up through a
callable the state model passes in.
"""

from __future__ import annotations

import io
import math
import wave
from typing import Callable, Dict, List, Optional, Tuple

from .machine import DEFAULT_MACHINE, Machine

SAMPLE_RATE = 8000  # Asterisk's narrowband recordings: 8 kHz, 16-bit, mono
WAV_HEADER_BYTES = 44

# Recording formats Asterisk's format modules usually provide; others are "unknown on this
# system" (422).
RECORDING_FORMATS = frozenset(
    [
        "wav",
        "WAV",
        "wav16",
        "gsm",
        "ulaw",
        "alaw",
        "sln",
        "sln16",
        "g722",
        "g726",
        "g729",
        "ilbc",
        "ogg",
        "h263",
        "siren7",
        "siren14",
    ]
)

# id -> (seconds, text); durations close to Asterisk's core sounds (en, gsm).
_CORE: Dict[str, Tuple[float, str]] = {
    "hello-world": (1.2, "Hello world."),
    "demo-congrats": (
        12.8,
        "Congratulations. You have successfully installed and executed the Asterisk open source PBX.",
    ),
    "demo-echotest": (5.4, "You are about to enter an echo test."),
    "demo-echodone": (2.0, "The echo test has been completed."),
    "demo-thanks": (2.2, "Thank you for trying the Asterisk open source PBX."),
    "tt-monkeys": (10.6, "[monkeys screaming]"),
    "tt-weasels": (3.8, "Weasels have eaten our phone system."),
    "goodbye": (0.8, "Goodbye."),
    "vm-goodbye": (0.9, "Goodbye!"),
    "beep": (0.25, "[beep]"),
    "silence/1": (1.0, "[1 second of silence]"),
    "silence/5": (5.0, "[5 seconds of silence]"),
    "conf-onlyperson": (2.6, "You are currently the only person in this conference."),
    "conf-now-unmuted": (1.4, "You are now unmuted."),
    "conf-now-muted": (1.3, "You are now muted."),
    "queue-thankyou": (1.5, "Thank you for your patience."),
    "please-try-again": (1.0, "Please try again."),
    "pbx-invalid": (2.0, "I'm sorry, that's not a valid extension. Please try again."),
    "vm-intro": (5.5, "Please leave your message after the tone."),
    "vm-enter-num-to-call": (2.4, "Please enter the number you wish to call."),
    "enter-ext-of-person": (2.8, "Please enter the extension of the person you are looking for."),
    "auth-thankyou": (0.9, "Thank you."),
    "agent-pass": (1.6, "Please enter your password followed by the pound key."),
    "transfer": (0.9, "Please hold while I try that extension."),
    "pls-hold-while-try": (1.8, "Please hold while I try to connect your call."),
    # The sounds the Node ari-client examples play (originate, mwi).
    "vm-dialout": (1.6, "Please wait while I connect your call."),
    "vm-leavemsg": (1.4, "To leave a message, press 5."),
    "vm-msgsaved": (1.0, "Your message has been saved."),
    "vm-nomore": (1.2, "No more messages."),
    "vm-next": (1.6, "To play the next message, press 6."),
}
_NUMBER_WORDS = {
    0: "zero",
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    11: "eleven",
    12: "twelve",
    13: "thirteen",
    14: "fourteen",
    15: "fifteen",
    16: "sixteen",
    17: "seventeen",
    18: "eighteen",
    19: "nineteen",
    20: "twenty",
    30: "thirty",
    40: "forty",
    50: "fifty",
    60: "sixty",
    70: "seventy",
    80: "eighty",
    90: "ninety",
}
_SAY_SECONDS = 0.6  # one digit / letter / number word
_EXTRA_LANGUAGE_SOUNDS = frozenset(["hello-world", "goodbye", "vm-goodbye", "beep"])


class Sound:
    """One sound of the catalogue: an id, its text ("" when the machine has no descriptions:
    then Asterisk's answer has no ``text``), duration, and (language, format) pairs."""

    __slots__ = ("id", "text", "duration", "formats")

    def __init__(self, sound_id: str, text: str, duration: float, formats: List[Tuple[str, str]]) -> None:
        self.id = sound_id
        self.text = text
        self.duration = duration
        self.formats = formats

    def to_json(self, pairs: Optional[List[Tuple[str, str]]] = None) -> Dict[str, object]:
        """Asterisk's Sound, with ``pairs`` (a filtered list) in place of every format."""
        out: Dict[str, object] = {"id": self.id}
        if self.text:
            out["text"] = self.text
        out["formats"] = [{"language": lang, "format": fmt} for lang, fmt in (self.formats if pairs is None else pairs)]
        return out


def _letter_name(ch: str) -> str:
    return {
        "*": "star",
        "#": "pound",
        "-": "dash",
        ".": "dot",
        "@": "at",
        "+": "plus",
        "=": "equals",
        "/": "slash",
        "$": "dollar",
        "!": "exclaimation-point",
    }.get(ch, ch)


def default_catalogue(machine: Machine = DEFAULT_MACHINE) -> Dict[str, Sound]:
    """A fresh catalogue of the sounds ``machine`` has installed (each simulator owns its own:
    no module-level mutable state)."""
    sounds: Dict[str, Sound] = {}

    def add(sound_id: str, seconds: float, text: str, extra_langs: bool = False) -> None:
        langs = machine.sound_languages + (machine.extra_sound_languages if extra_langs else ())
        formats = [(lang, fmt) for lang in langs for fmt in machine.sound_formats]
        sounds[sound_id] = Sound(sound_id, text if machine.sound_descriptions else "", seconds, formats)

    for sound_id, (seconds, text) in _CORE.items():
        add(sound_id, seconds, text, sound_id in _EXTRA_LANGUAGE_SOUNDS)
    for n, word in _NUMBER_WORDS.items():
        add(f"digits/{n}", _SAY_SECONDS, word, n < 10)
    for word in ("hundred", "thousand", "million", "minus", "star", "pound"):
        add("digits/" + word, _SAY_SECONDS, word)
    for ch in "abcdefghijklmnopqrstuvwxyz":
        add("letters/" + ch, _SAY_SECONDS, ch)
    for ch in "*#-.@+=/$!":
        add("letters/" + _letter_name(ch), _SAY_SECONDS, _letter_name(ch))
    return sounds


def number_words(n: int) -> List[str]:
    """The sound files Asterisk's English ``say number`` plays for ``n``."""
    if n < 0:
        return ["digits/minus"] + number_words(-n)
    if n in _NUMBER_WORDS and n < 100:
        return [f"digits/{n}"]
    if n < 100:
        return [f"digits/{n - n % 10}", f"digits/{n % 10}"]
    for size, word in ((1_000_000, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            files = number_words(head) + ["digits/" + word]
            return files + (number_words(rest) if rest else [])
    raise AssertionError("unreachable")  # pragma: no cover


def tone_duration(spec: str) -> Optional[float]:
    """Seconds a ``tone:`` plays, or None when it plays until stopped.

    Named indications (ring, busy, ...) and tone lists without ``!`` repeat for ever in
    Asterisk; a list whose every part starts with ``!`` plays once.
    """
    spec = spec.split(";", 1)[0]
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts or not all(p.startswith("!") for p in parts):
        return None
    total = 0.0
    for part in parts:
        _, _, ms = part.partition("/")
        try:
            total += int(ms) / 1000.0 if ms else 0.0
        except ValueError:
            return None
    return total


class MediaError(LookupError):
    """The media item cannot be played (unknown scheme or missing sound)."""


class MediaLost(MediaError):
    """Media Asterisk starts and then drops without a word: an unknown scheme or a missing
    recording gives PlaybackStarted, then the playback is gone (no PlaybackFinished)."""


def media_duration(
    uri: str, sounds: Dict[str, Sound], recording_seconds: Callable[[str], Optional[float]]
) -> Optional[float]:
    """Seconds one media item plays; None = until stopped; raises MediaError when it fails."""
    scheme, sep, rest = uri.partition(":")
    if not sep:
        raise MediaError(f"no media scheme in {uri!r}")
    if scheme == "sound":
        sound = sounds.get(rest)
        if sound is None:
            raise MediaError(f"sound {rest!r} not found")
        return sound.duration
    if scheme == "digits":
        return _SAY_SECONDS * sum(1 for ch in rest if ch not in "w,")
    if scheme == "characters":
        return _SAY_SECONDS * len(rest)
    if scheme == "number":
        try:
            return _SAY_SECONDS * len(number_words(int(rest)))
        except ValueError:
            raise MediaError(f"not a number: {rest!r}") from None
    if scheme == "tone":
        return tone_duration(rest)
    if scheme == "recording":
        seconds = recording_seconds(rest)
        if seconds is None:
            raise MediaLost(f"recording {rest!r} not found")
        return seconds
    raise MediaLost(f"unknown media scheme {scheme!r}")


def _period() -> bytes:
    # 400 Hz at 8 kHz is exactly 20 samples: one period repeated gives a clean tone.
    samples = [int(8000 * math.sin(2 * math.pi * i / 20)) for i in range(20)]
    return b"".join(s.to_bytes(2, "little", signed=True) for s in samples)


_PERIOD = _period()


def wav_bytes(sound_seconds: float) -> bytes:
    """A WAV file (8 kHz, 16-bit, mono PCM) with ``sound_seconds`` of tone.

    Asterisk writes no frames while a leg is silent, so a silent recording is the bare
    44-byte header and the size grows only with the audio actually captured.
    """
    frames = int(round(max(0.0, sound_seconds) * SAMPLE_RATE))
    periods, extra = divmod(frames, len(_PERIOD) // 2)
    data = _PERIOD * periods + _PERIOD[: extra * 2]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(data)
    return buf.getvalue()


def content_type(fmt: str) -> str:
    """What Asterisk's HTTP server names a stored recording's file type."""
    return {"wav": "audio/wav", "WAV": "audio/wav", "wav16": "audio/wav"}.get(fmt, "application/octet-stream")


def file_bytes(fmt: str, sound_seconds: float) -> bytes:
    """The stored file of a recording in ``fmt``: real WAV for wav, raw samples otherwise."""
    if fmt in ("wav", "WAV", "wav16"):
        return wav_bytes(sound_seconds)
    return b"\xff" * int(round(max(0.0, sound_seconds) * SAMPLE_RATE))
