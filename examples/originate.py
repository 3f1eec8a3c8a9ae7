"""Node ari-client's originate example, ported: dial out from a call and bridge the two legs.

A channel entering the application is answered, hears ``vm-dialout`` and an outgoing
channel is originated to ``endpoint`` into the same application with the argument
``dialed``.  When the outgoing channel enters Stasis (it answered) a mixing bridge is
created and both channels are added to it.  When either side leaves, the other is hung up
and the bridge destroyed.  The caller's number is read, and the bridge id stored on the
incoming channel, with getChannelVar / setChannelVar.  Each step is reported through
``say`` (``print`` by default).

    python examples/originate.py --endpoint PJSIP/1001 --app originate-example
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import ari

ENDPOINT = "PJSIP/1001"


def main(client: Any, app: str, endpoint: str = ENDPOINT, say: Callable[[str], Any] = print) -> None:
    """Register the handlers on ``client``; ``client.start(app)`` then serves calls."""

    def stasis_start(event: Any, incoming: Any) -> None:
        # The outgoing channel enters the same application: its StasisStart is handled by
        # the listener registered on it in originate(), not here.
        if event.args and event.args[0] == "dialed":
            return
        say(f"{incoming.name}: entered {app}, answering")
        incoming.answer()
        caller = incoming.getChannelVar(variable="CALLERID(num)")
        say(f"{incoming.name}: caller is {caller.value}")
        originate(incoming)

    def originate(incoming: Any) -> None:
        outgoing = client.Channel()

        def incoming_stasis_end(event: Any, channel: Any) -> None:
            # If the incoming channel ends, hang up the outgoing channel.
            say(f"{channel.name}: left {app}, hanging up the outgoing channel")
            hang_up(outgoing)

        def outgoing_destroyed(event: Any, channel: Any) -> None:
            # If the endpoint rejects the call or hangs up, hang up the incoming channel.
            say(f"{channel.name}: destroyed ({event.cause_txt}), hanging up {incoming.name}")
            hang_up(incoming)

        def outgoing_stasis_start(event: Any, outgoing: Any) -> None:
            # The outgoing channel answered: bridge it with the incoming one.
            say(f"{outgoing.name}: answered, entered {app} with {event.args}")
            bridge = client.Bridge()

            def outgoing_stasis_end(event: Any, channel: Any) -> None:
                # If the outgoing channel ends, clean up the bridge.
                say(f"{channel.name}: left {app}, destroying bridge {bridge.id}")
                try:
                    bridge.destroy()
                except ari.NotFound:
                    pass  # already gone

            outgoing.once("StasisEnd", outgoing_stasis_end)
            outgoing.answer()
            bridge.create(type="mixing")
            say(f"bridge {bridge.id}: created (mixing)")
            bridge.addChannel(channel=[incoming.id, outgoing.id])
            say(f"bridge {bridge.id}: added {incoming.name} and {outgoing.name}")
            incoming.setChannelVar(variable="ORIGINATE_BRIDGE", value=bridge.id)

        # Listeners first: the outgoing channel's events may arrive as soon as it exists.
        incoming.once("StasisEnd", incoming_stasis_end)
        outgoing.once("ChannelDestroyed", outgoing_destroyed)
        outgoing.once("StasisStart", outgoing_stasis_start)

        playback = client.Playback()
        say(f"{incoming.name}: play sound:vm-dialout")
        incoming.play({"media": "sound:vm-dialout"}, playback)

        # Originate the call from the incoming channel to the endpoint.
        say(f"{incoming.name}: originate {endpoint}")
        outgoing.originate(endpoint=endpoint, app=app, appArgs="dialed")

    def hang_up(channel: Any) -> None:
        try:
            channel.hangup()
        except ari.NotFound:
            pass  # the other side hung up first: this channel is already gone

    client.on("StasisStart", stasis_start)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--app", default="originate-example")
    parser.add_argument("--endpoint", default=ENDPOINT, help=f"whom to call (default {ENDPOINT})")
    args = parser.parse_args()
    with ari.connect(args.url, args.user, args.password) as client:
        main(client, args.app, args.endpoint)
        client.run(args.app)


if __name__ == "__main__":
    cli()
