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
        codec: str = "",
    ) -> Channel:
        w = self.w
        if transport == "websocket":
            name = "WebSocket/{}/{}".format(host or "INCOMING", w.name_suffix())
        elif encapsulation == "audiosocket":
            name = f"AudioSocket/{host}-{w.name_suffix()}"
        else:
            name = f"UnicastRTP/{host}-{w.name_suffix()}"
        ch = w.calls.new_channel(name, chan_id)
        ch.outgoing_line = True
        ch.app_name, ch.app_data = "AppDial2", "(Outgoing Line)"
        port = 10000 + (len(w.channels) * 2) % 10000
        if encapsulation == "rtp":
            # Shown in externalMedia's answer only (rest_channels), not in events.
            ch.vars["UNICASTRTP_LOCAL_ADDRESS"] = "127.0.0.1"
            ch.vars["UNICASTRTP_LOCAL_PORT"] = str(port)
        for var, value in variables.items():
            apply_var(ch, var, value)
        w.emit("ChannelCreated", {"channel": ch.to_json()}, channels=[ch])
        # Asterisk originates the media channel into the app: its originator hears it to the end.
        ch.subscribers.add(app)
        if transport == "websocket":
            dialstring = host or "INCOMING"
        else:
            dialstring = f"{host}/c({codec})" if codec else str(host)

        def answered() -> None:
            w.emit("Dial", {"dialstatus": "", "forward": "", "dialstring": dialstring,
                            "peer": ch.to_json()}, channels=[ch])
            ch.answered_at = w.now()
            w.calls.set_state(ch, "Up")
            w.emit("Dial", {"dialstatus": "ANSWER", "forward": "", "dialstring": dialstring,
                            "peer": ch.to_json()}, channels=[ch])
            w.calls.enter_stasis(ch, app, [])

        ch.timers.append(w.later(0.0, answered))
        return ch
