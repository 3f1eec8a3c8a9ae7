"""Node ari-client's playback example, ported: a playback controlled by the caller's DTMF.

The first channel entering the application is answered and hears ``demo-congrats``; its
keys control the playback: 5 pauses, 8 unpauses, 4 goes back, 6 goes forward, 2 restarts
and # stops it.  When the playback has finished (played out or stopped) the channel is
hung up.  Each step is reported through ``say`` (``print`` by default).

    python examples/playback.py --app playback-example
"""

from __future__ import annotations

import argparse
import threading
from typing import Any, Callable

import ari

# DTMF digit -> playback control operation, as in Node's example.
CONTROLS = {"5": "pause", "8": "unpause", "4": "reverse", "6": "forward", "2": "restart"}


def main(client: Any, app: str, say: Callable[[str], Any] = print) -> threading.Event:
    """Register the handlers on ``client``; the returned Event is set once the channel is hung up."""
    finished = threading.Event()

    def stasis_start(event: Any, incoming: Any) -> None:
        # Answer, play the demo greeting and let DTMF control the playback.
        say(f"{incoming.name}: entered {app}, answering")
        incoming.answer()
        playback = client.Playback()

        def playback_finished(event: Any, playback: Any) -> None:
            say(f"playback {playback.id}: finished ({playback.state}), hanging up {incoming.name}")
            try:
                incoming.hangup()
            except ari.NotFound:
                pass  # the caller hung up first
            finished.set()  # Node's example ends the process here

        playback.once("PlaybackFinished", playback_finished)
        say(f"{incoming.name}: play sound:demo-congrats")
        incoming.play({"media": "sound:demo-congrats"}, playback)
        register_dtmf_listeners(playback, incoming)

    def register_dtmf_listeners(playback: Any, incoming: Any) -> None:
        def dtmf_received(event: Any, channel: Any) -> None:
            digit = event.digit
            operation = CONTROLS.get(digit)
            try:
                if operation is not None:
                    say(f"{channel.name}: pressed {digit}, {operation}")
                    playback.control(operation=operation)
                elif digit == "#":
                    # Node sends control(operation='stop'), which ARI rejects; stop() is the call.
                    say(f"{channel.name}: pressed #, stop")
                    playback.stop()
                else:
                    say(f"{channel.name}: unknown DTMF {digit}")
            except ari.HTTPError as error:  # e.g. the playback already finished
                say(f"playback {playback.id}: {digit} ignored ({error.message})")

        incoming.on("ChannelDtmfReceived", dtmf_received)

    # Once: the example serves one call, like Node's.
    client.once("StasisStart", stasis_start)
    return finished


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--app", default="playback-example")
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
