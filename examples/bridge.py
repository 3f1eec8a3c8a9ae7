"""Node ari-client's bridge example, ported: callers wait together in a holding bridge with music.

A channel entering the application is answered and added to a holding bridge (an existing
one if the server has one, otherwise a new one, destroyed once its last channel has left),
then hears music on hold of its own.  Each step is reported through ``say`` (``print`` by
default).

    python examples/bridge.py --app bridge-example
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import ari


def main(client: Any, app: str, say: Callable[[str], Any] = print) -> None:
    """Register the handlers on ``client``; ``client.start(app)`` then serves calls."""

    def stasis_start(event: Any, incoming: Any) -> None:
        # Answer the incoming channel, join the holding bridge, then play music on hold.
        say(f"{incoming.name}: entered {app}, answering")
        incoming.answer()
        get_or_create_bridge(incoming)

    def get_or_create_bridge(channel: Any) -> None:
        # Use an existing holding bridge if there is one, otherwise create one.
        bridge = None
        for candidate in client.bridges.list():
            if candidate.bridge_type == "holding":
                bridge = candidate
        if bridge is None:
            bridge = client.Bridge()
            bridge.create(type="holding")
            say(f"bridge {bridge.id}: created (holding)")
            bridge.on("ChannelLeftBridge", lambda event, instances: cleanup_bridge(event, instances, bridge))
        else:
            say(f"bridge {bridge.id}: using the existing holding bridge")
        join_holding_bridge(bridge, channel)

    def cleanup_bridge(event: Any, instances: Any, bridge: Any) -> None:
        # If no channel remains in the bridge, destroy it.
        holding_bridge = instances.bridge
        say(f"bridge {bridge.id}: {instances.channel.name} left, {len(holding_bridge.channels)} remain")
        if len(holding_bridge.channels) == 0 and holding_bridge.id == bridge.id:
            say(f"bridge {bridge.id}: empty, destroying it")
            try:
                bridge.destroy()
            except ari.NotFound:
                pass  # someone else destroyed it first

    def join_holding_bridge(bridge: Any, channel: Any) -> None:
        # Music on hold on each channel, as Node's example does, not on the bridge: Asterisk
        # plays a bridge's music through an announcer channel of its own, which a
        # ChannelLeftBridge sometimes lists as the last caller leaves (a race), so that the
        # count above would never reach 0.
        bridge.addChannel(channel=channel.id)
        say(f"bridge {bridge.id}: added {channel.name}")
        try:
            channel.startMoh()
        except (ari.NotFound, ari.Conflict):
            return  # the caller hung up meanwhile
        say(f"{channel.name}: music on hold")

    client.on("StasisStart", stasis_start)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--app", default="bridge-example")
    args = parser.parse_args()
    with ari.connect(args.url, args.user, args.password) as client:
        main(client, args.app)
        client.run(args.app)


if __name__ == "__main__":
    cli()
