"""Answer each key a caller presses with generated audio, through the call's media (externalMedia).

A call entering the application is answered and bridged with an externalMedia channel opened
with ``ari.media.open_websocket``.  Each digit the caller presses arrives as the media's
``DTMF_END`` event and is answered with a short "spoken" tone sequence: a rising
three-note motif, then one beep per unit of the digit (``0`` gives ten); ``*`` flushes what
is still playing, ``#`` says goodbye (a falling motif) and hangs up once it has played
(``mark``).  Each step is reported through ``say``.

    python examples/media_dtmf.py --app media-dtmf

On a real Asterisk (20.16+, 22.6+), a caller pressing keys:
``POST /ari/channels?endpoint=Local/dtmf@default&extension=app-media-dtmf&context=default``.
"""

from __future__ import annotations

import argparse
import threading
from typing import Any, Callable, List

import ari
from ari import media
from ari.media import codecs

MEDIA_CHANNELS = ("WebSocket/", "UnicastRTP/")
RISING = (523.25, 659.25, 783.99)
FALLING = (783.99, 659.25, 523.25, 392.0)


def phrase(digit: str, fmt: str) -> bytes:
    """The audio that answers ``digit``: a motif, then as many beeps as the digit says."""
    gap = codecs.codec(fmt).silence(int(0.06 * codecs.codec(fmt).rate) * codecs.codec(fmt).width)
    notes: List[bytes] = [codecs.tone(f, 0.12, fmt) + gap for f in RISING]
    count = 10 if digit == "0" else int(digit) if digit.isdigit() else 1
    notes += [codecs.tone(880, 0.08, fmt) + gap for _ in range(count)]
    return b"".join(notes)


def main(client: Any, app: str, say: Callable[[str], Any] = print) -> threading.Event:
    """Register the handlers on ``client``; the returned Event is set once the call has ended."""
    finished = threading.Event()

    def stasis_start(event: Any, channel: Any) -> None:
        if channel.name.startswith(MEDIA_CHANNELS):
            return
        say(f"{channel.name}: entered {app}, answering")
        channel.answer()
        session = media.open_websocket(client, app, "ulaw")
        bridge = client.bridges.create(type="mixing")

        ending = threading.Lock()

        def end(*_: Any) -> None:
            # Once, whoever comes first: the goodbye's mark or the caller hanging up.
            if not ending.acquire(blocking=False):
                return
            session.close()
            for hang_up in (channel.hangup, bridge.destroy):
                try:
                    hang_up()
                except ari.NotFound:
                    pass
            say(f"{channel.name}: hung up")
            finished.set()

        def key(event: media.MediaEvent) -> None:
            digit = event.digit or ""
            if digit == "#":
                say(f"{channel.name}: pressed #, goodbye")
                session.send(b"".join(codecs.tone(f, 0.15, session.format) for f in FALLING))
                session.mark("goodbye", end)
            elif digit == "*":
                say(f"{channel.name}: pressed *, quiet")
                session.flush()
            else:
                say(f"{channel.name}: pressed {digit}, answering")
                session.send(phrase(digit, session.format))

        # Listening before the caller is bridged: a key pressed at once, or a hang-up during
        # the set-up, is not missed.  Said before the bridge too: once bridged, a key's answer
        # (on the media's thread) may come before this handler's next line.
        session.on("DTMF_END", key)
        channel.once("StasisEnd", end)
        say(f"{channel.name}: listening for keys")
        bridge.addChannel(channel=[channel.id, session.channel.id])

    client.on("StasisStart", stasis_start)
    return finished


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--app", default="media-dtmf")
    args = parser.parse_args()
    with ari.connect(args.url, args.user, args.password) as client:
        finished = main(client, args.app)
        client.start(args.app)
        try:
            finished.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    cli()
