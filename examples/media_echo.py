"""Echo a caller's voice back after a delay, through the call's media (externalMedia over a WebSocket).

A call entering the application is answered, an externalMedia channel is opened with
``ari.media.open_websocket`` and bridged with it, and every frame the caller sends is sent
back ``delay`` seconds later (the delay is silence queued ahead of the echo: the library
paces what follows behind it).  When the caller hangs up, the media is closed (which hangs
its channel up) and the bridge destroyed.  Each step is reported through ``say``.

    python examples/media_echo.py --app media-echo --delay 0.5

On a real Asterisk (20.16+, 22.6+), a call into the application:
``POST /ari/channels?endpoint=Local/moh@default&extension=app-media-echo&context=default``.
"""

from __future__ import annotations

import argparse
import threading
from typing import Any, Callable, Dict

import ari
from ari import media

MEDIA_CHANNELS = ("WebSocket/", "UnicastRTP/")


def main(client: Any, app: str, delay: float = 0.5, say: Callable[[str], Any] = print) -> threading.Event:
    """Register the handlers on ``client``; the returned Event is set once the call has ended."""
    finished = threading.Event()
    calls: Dict[str, Any] = {}

    def stasis_start(event: Any, channel: Any) -> None:
        if channel.name.startswith(MEDIA_CHANNELS):
            return  # our own media channel entering the application
        say(f"{channel.name}: entered {app}, answering")
        channel.answer()
        session = media.open_websocket(client, app, "slin16")
        bridge = client.bridges.create(type="mixing")
        calls[channel.id] = (session, bridge)
        bridge.addChannel(channel=[channel.id, session.channel.id])
        say(f"{channel.name}: echoing after {delay} s ({session.format}, {session.ptime} ms frames)")
        session.send(session.codec.silence(int(delay * session.sample_rate) * session.codec.width))
        session.on_audio(lambda frame: session.send(frame.data))

    def stasis_end(event: Any, channel: Any) -> None:
        call = calls.pop(channel.id, None)
        if call is None:
            return
        session, bridge = call
        say(f"{channel.name}: hung up after {session.frames_received} frames, {session.frames_sent} echoed")
        session.close()  # hangs the media channel up
        try:
            bridge.destroy()
        except ari.NotFound:
            pass
        finished.set()

    client.on("StasisStart", stasis_start)
    client.on("StasisEnd", stasis_end)
    return finished


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--app", default="media-echo")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds between hearing and echoing")
    args = parser.parse_args()
    with ari.connect(args.url, args.user, args.password) as client:
        finished = main(client, args.app, args.delay)
        client.start(args.app)
        try:
            finished.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    cli()
