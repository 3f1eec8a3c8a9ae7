"""Channels an application makes that are no call: snoop channels and external media channels.

Its one job is creating them as Asterisk 22 does (a ``Snoop/...`` channel on a target, a
``UnicastRTP/...``, ``AudioSocket/...`` or ``WebSocket/...`` channel for external media): Up at
once, ChannelCreated, then StasisStart from the channel's own thread.  It must not parse
requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional

from .calls import apply_var
from .objects import Channel

if TYPE_CHECKING:
    from .world import World


class MediaChannelEngine:
    def __init__(self, world: World) -> None:
        self.w = world

    def snoop(self, target: Channel, snoop_id: Optional[str], app: str, args: List[str]) -> Channel:
        w = self.w
        snoop = w.calls.new_channel(f"Snoop/{target.id}-{w.name_suffix()}", snoop_id)
        snoop.snoop_of = target.id
        snoop.state = "Up"
        snoop.answered_at = w.now()
        target.snoops.add(snoop.id)
        w.emit("ChannelCreated", {"channel": snoop.to_json()}, channels=[snoop])
        snoop.timers.append(w.later(0.0, lambda: w.calls.enter_stasis(snoop, app, args)))
        return snoop

    def external_media(
        self,
        app: str,
        host: Optional[str],
        encapsulation: str,
        transport: str,
        chan_id: Optional[str],
        variables: Dict[str, str],
    ) -> Channel:
        w = self.w
        if transport == "websocket":
            name = "WebSocket/{}/{}".format(host or "media", w.name_suffix())
        elif encapsulation == "audiosocket":
            name = f"AudioSocket/{host}-{w.name_suffix()}"
        else:
            name = f"UnicastRTP/{host}-{w.name_suffix()}"
        ch = w.calls.new_channel(name, chan_id)
        ch.state = "Up"
        ch.answered_at = w.now()
        port = 10000 + (len(w.channels) * 2) % 10000
        if encapsulation == "rtp":
            ch.channelvars["UNICASTRTP_LOCAL_ADDRESS"] = "127.0.0.1"
            ch.channelvars["UNICASTRTP_LOCAL_PORT"] = str(port)
            ch.vars.update(ch.channelvars)
        for var, value in variables.items():
            apply_var(ch, var, value)
        w.emit("ChannelCreated", {"channel": ch.to_json()}, channels=[ch])
        ch.timers.append(w.later(0.0, lambda: w.calls.enter_stasis(ch, app, [])))
        return ch
