"""Channels an application makes that are no call: snoop channels and external media channels.

Its one job is creating them as Asterisk 22 does (a ``Snoop/...`` channel on a target, Up at
once; a ``UnicastRTP/...`` or ``AudioSocket/...`` channel for external media, answered Down and
then Up; a ``WebSocket/...`` one, Down until its media connection is made), with
ChannelCreated, then StasisStart from the channel's own thread.  Their audio is the media
engine's (``world.media``, ``media_stream.py``).  It must not parse requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ...media.codecs import CODECS
from .. import errors
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
        fmt: str = "ulaw",
        remote: Optional[Tuple[str, int]] = None,
    ) -> Channel:
        """A UnicastRTP (or AudioSocket) channel: answered Down, then Up and StasisStart; RTP streams
        (``media_stream``) for the codecs it can carry, to ``remote``."""
        w = self.w
        if encapsulation == "audiosocket":
            name = f"AudioSocket/{host}-{w.name_suffix()}"
        else:
            name = f"UnicastRTP/{host}-{w.name_suffix()}"
        ch = w.calls.new_channel(name, chan_id)
        ch.outgoing_line = True
        ch.app_name, ch.app_data = "AppDial2", "(Outgoing Line)"
        if encapsulation == "rtp":
            local = self._rtp_local(ch, fmt, app, remote)
            # Shown in externalMedia's answer only (rest_channels), not in events.
            ch.vars["UNICASTRTP_LOCAL_ADDRESS"] = local[0]
            ch.vars["UNICASTRTP_LOCAL_PORT"] = str(local[1])
        for var, value in variables.items():
            apply_var(ch, var, value)
        w.emit("ChannelCreated", {"channel": ch.to_json()}, channels=[ch])
        # Asterisk originates the media channel into the app: its originator hears it to the end.
        ch.subscribers.add(app)
        dialstring = f"{host}/c({fmt})" if fmt else str(host)

        def answered() -> None:
            w.emit(
                "Dial", {"dialstatus": "", "forward": "", "dialstring": dialstring, "peer": ch.to_json()}, channels=[ch]
            )
            ch.answered_at = w.now()
            w.calls.set_state(ch, "Up")
            w.emit(
                "Dial",
                {"dialstatus": "ANSWER", "forward": "", "dialstring": dialstring, "peer": ch.to_json()},
                channels=[ch],
            )
            w.calls.enter_stasis(ch, app, [])

        ch.timers.append(w.later(0.0, answered))
        return ch

    def _rtp_local(self, ch: Channel, fmt: str, app: str, remote: Optional[Tuple[str, int]]) -> Tuple[str, int]:
        """The simulator's end of an RTP stream for a codec it can carry; a made-up port otherwise."""
        codec = CODECS.get(fmt)
        if remote is not None and codec is not None and codec.payload_type is not None:
            try:
                return self.w.media.rtp(ch, codec, app, remote)
            except RuntimeError:  # the state model driven without a server loop (unit tests)
                pass
        return "127.0.0.1", 10000 + (len(self.w.channels) * 2) % 10000

    def external_websocket(
        self,
        app: str,
        fmt: str,
        connection: Optional[str],
        chan_id: Optional[str],
        variables: Dict[str, str],
        *,
        json_format: bool,
        direction: str,
        auto_answer: bool,
        query: str = "",
        dialstring: str = "INCOMING",
    ) -> Channel:
        """chan_websocket: the channel waits, Down, for /media/<id> (``connection`` None: the
        application connects) or for the application's server to answer Asterisk's call
        (``connection``, a websocket_client); then Up, Dial ANSWER and StasisStart.  Dial
        (``dialstring``) goes to the app at once; a hangup before the answer adds Dial NOANSWER."""
        w = self.w
        codec = CODECS.get(fmt)
        if codec is None:
            raise errors.CodecNotSimulated(fmt)
        ch = w.calls.new_channel(f"WebSocket/{connection or 'INCOMING'}/0x{w.name_suffix()}", chan_id)
        for var, value in variables.items():
            apply_var(ch, var, value)
        if connection is None:
            w.media.websocket(ch, codec, app, json_format=json_format, direction=direction, auto_answer=auto_answer)
        else:
            w.media.outbound(
                ch,
                codec,
                app,
                connection,
                json_format=json_format,
                direction=direction,
                auto_answer=auto_answer,
                query=query,
            )
        ch.outgoing_line = True
        ch.app_name, ch.app_data = "AppDial2", "(Outgoing Line)"
        w.emit("ChannelCreated", {"channel": ch.to_json()}, channels=[ch])
        # As for RTP: the app originated it, so it hears the channel to the end (ChannelDestroyed).
        ch.subscribers.add(app)
        ch.pending_app = app
        ch.pending_dial = dialstring
        w.emit("Dial", {"dialstatus": "", "forward": "", "dialstring": dialstring, "peer": ch.to_json()}, channels=[ch])
        return ch
