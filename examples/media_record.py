"""Record what a caller says into a WAV file, from the call's media (externalMedia over a WebSocket).

A call entering the application is answered and bridged with an externalMedia channel opened
with ``ari.media.open_websocket`` in ``slin16`` carrying audio one way only (``direction``
``in``: towards the application).  Every received frame is written to a 16 kHz mono WAV file
at ``path``; after ``seconds`` of audio, or when the caller hangs up, the file is closed and
the call hung up.  Each step is reported through ``say``.

    python examples/media_record.py --app media-record --path caller.wav --seconds 5

On a real Asterisk (20.16+, 22.6+), a caller with something to say:
``POST /ari/channels?endpoint=Local/moh@default&extension=app-media-record&context=default``.
"""

from __future__ import annotations

import argparse
import threading
import wave
from pathlib import Path
from typing import Any, Callable, Union

import ari
from ari import media

MEDIA_CHANNELS = ("WebSocket/", "UnicastRTP/")


def main(
    client: Any,
    app: str,
    path: Union[str, Path] = "caller.wav",
    seconds: float = 5.0,
    say: Callable[[str], Any] = print,
) -> threading.Event:
    """Register the handlers on ``client``; the returned Event is set once the file is written."""
    finished = threading.Event()
    ending = threading.Event()  # one end, whoever gets there first: the last frame or a hangup

    def stasis_start(event: Any, channel: Any) -> None:
        if channel.name.startswith(MEDIA_CHANNELS) or ending.is_set():
            return
        say(f"{channel.name}: entered {app}, answering")
        channel.answer()
        session = media.open_websocket(client, app, "slin16", direction="in")
        bridge = client.bridges.create(type="mixing")
        out = wave.open(str(path), "wb")
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(session.sample_rate)
        wanted = int(seconds * 1000 / session.ptime)
        say(f"{channel.name}: recording {seconds} s to {path}")
        lock = threading.Lock()

        def done() -> None:
            with lock:
                if ending.is_set():
                    return
                out.close()
                ending.set()
            say(f"{path}: {session.frames_received} frames, {session.frames_received * session.ptime / 1000} s")
            session.close()
            for hang_up in (channel.hangup, bridge.destroy):
                try:
                    hang_up()
                except ari.NotFound:
                    pass  # the caller hung up first
            say(f"{channel.name}: hung up")
            finished.set()

        def frame(frame: media.Frame) -> None:
            with lock:
                if ending.is_set() or frame.number >= wanted:
                    return
                out.writeframes(frame.data)
            if frame.number + 1 == wanted:
                done()

        session.on_audio(frame)
        # The caller hanging up closes the media too (the bridge empties, the app hangs it up).
        channel.once("StasisEnd", lambda *_: done())
        # Bridged once listening: the first frames, or a hang-up during the set-up, are not missed.
        bridge.addChannel(channel=[channel.id, session.channel.id])

    client.on("StasisStart", stasis_start)
    return finished


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--app", default="media-record")
    parser.add_argument("--path", default="caller.wav")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with ari.connect(args.url, args.user, args.password) as client:
        finished = main(client, args.app, args.path, args.seconds)
        client.start(args.app)
        try:
            finished.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    cli()
