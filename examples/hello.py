"""The DTMF example of Node's ari-client, ported: answer, greet, speak each digit pressed.

On StasisStart the channel is answered and hears ``hello-world``; each digit is read back,
``*`` plays monkeys, and ``#`` says goodbye and hangs up once that playback has finished.
Everything it does is reported through ``say`` (``print`` by default), so a test can read the
transcript.

    python examples/hello.py --url http://localhost:8088 --user asterisk --password asterisk --app hello
"""

from __future__ import annotations

import argparse
import threading
from typing import Any, Callable, Optional

import ari


def main(client: Any, app: str, say: Callable[[str], Any] = print) -> threading.Event:
    """Register the handlers on ``client``; the returned Event is set after the goodbye hangup."""
    finished = threading.Event()

    def play(channel: Any, sound: str, callback: Optional[Callable[[], Any]] = None) -> None:
        playback = client.Playback()
        if callback is not None:
            playback.once("PlaybackFinished", lambda event, instance: callback())
        say(f"{channel.id}: play {sound}")
        channel.play({"media": sound}, playback)

    def on_dtmf(event: Any, channel: Any) -> None:
        digit = event.digit
        say(f"{channel.id}: pressed {digit}")
        if digit == "#":

            def hang_up() -> None:
                say(f"{channel.id}: hang up")
                channel.hangup()
                finished.set()

            play(channel, "sound:vm-goodbye", hang_up)
        elif digit == "*":
            play(channel, "sound:tt-monkeys")
        else:
            play(channel, f"sound:digits/{digit}")

    def stasis_start(event: Any, channel: Any) -> None:
        say(f"{channel.id}: entered {event.application}, answering")
        channel.on("ChannelDtmfReceived", on_dtmf)
        channel.answer()
        play(channel, "sound:hello-world")

    client.on("StasisStart", stasis_start)
    return finished


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--app", default="hello")
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
