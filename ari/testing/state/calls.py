"""Channel lifecycles over simulated time: originate, dial, answer, Stasis, bridges, hangup.

Its one job is to move channels between states and send the events Asterisk 22 sends on
the way (ChannelStateChange, Dial, StasisStart/End, ChannelEnteredBridge/LeftBridge,
ChannelHangupRequest, ChannelDestroyed, ChannelDtmfReceived, ChannelVarset), and the
channel operations of ``/channels`` (originate's field setting, ring, mute, hold, music on
hold, variables, redirect), refusing them with the named errors of ``errors.py``.  Both the
REST handlers and the Simulator's test API drive calls through it.  It must not parse
requests.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Tuple

from .. import errors
from ..dialplan import DIALSTATUS, FarEnd, UnknownEndpoint, cause_txt
from .objects import Bridge, Channel

if TYPE_CHECKING:
    from .world import World

DTMF_DIGITS = frozenset("0123456789ABCDabcd*#")


def parse_caller_id(value: str) -> Tuple[str, str]:
    """``"Name" <1234>`` / ``Name <1234>`` / ``1234`` -> (name, number)."""
    value = value.strip()
    if "<" in value and value.endswith(">"):
        name, _, number = value[:-1].partition("<")
        return name.strip().strip('"'), number.strip()
    return "", value


def apply_var(ch: Channel, name: str, value: str) -> None:
    """Set a channel variable; the dialplan functions that change the channel JSON do so."""
    if name == "CALLERID(name)":
        ch.caller_name = value
    elif name == "CALLERID(num)":
        ch.caller_number = value
    elif name == "CALLERID(all)":
        ch.caller_name, ch.caller_number = parse_caller_id(value)
    elif name == "CHANNEL(language)":
        ch.language = value
    elif name == "CHANNEL(accountcode)":
        ch.accountcode = value
    ch.vars[name] = value


def read_var(ch: Channel, name: str) -> Optional[str]:
    """A variable or a dialplan function's value on ``ch``; None when it has none."""
    if name in ch.vars:
        return ch.vars[name]
    builtin = {"CALLERID(name)": ch.caller_name, "CALLERID(num)": ch.caller_number,
               "CHANNEL(name)": ch.name, "CHANNEL(state)": ch.state,
               "CHANNEL(language)": ch.language, "CHANNEL(accountcode)": ch.accountcode,
               "UNIQUEID": ch.id, "CHANNEL": ch.name, "CONTEXT": ch.context,
               "EXTEN": ch.exten, "PRIORITY": str(ch.priority), "LANGUAGE()": ch.language}
    return builtin.get(name)


class CallEngine:
    def __init__(self, world: World) -> None:
        self.w = world

    # -- creation -------------------------------------------------------------------------

    def check_new_ids(self, *ids: Optional[str]) -> None:
        """Refuse ids a live channel already has (409)."""
        for chan_id in ids:
            if chan_id and chan_id in self.w.channels:
                raise errors.ChannelExists()

    def reach(self, endpoint: str) -> FarEnd:
        """The far end ``endpoint`` dials, or 400 when no channel driver reaches it."""
        try:
            return self.w.dialplan.far_end(endpoint)
        except UnknownEndpoint:
            raise errors.UnreachableEndpoint() from None

    def originate(self, endpoint: str, far: FarEnd, chan_id: Optional[str],
                  other_id: Optional[str], *, caller: Optional[str],
                  variables: Dict[str, str], app: Optional[str], args: List[str],
                  context: Optional[str], extension: Optional[str], priority: int,
                  timeout: int) -> Channel:
        """A new outgoing channel (Down); it dials from another thread, as Asterisk's does."""
        ch = self.outgoing(endpoint, far, chan_id, other_id)
        if caller:
            ch.caller_name, ch.caller_number = parse_caller_id(caller)
        for name, value in variables.items():
            apply_var(ch, name, value)
            ch.channelvars[name] = value
        if app:
            ch.pending_app = app
            ch.pending_args = args
        else:
            ch.context = context or "default"
            ch.exten = extension or "s"
            ch.priority = priority
        limit = None if timeout < 0 else float(timeout)
        ch.timers.append(self.w.later(0.0, lambda: self.dial(ch, limit)))
        return ch

    def create(self, endpoint: str, far: FarEnd, chan_id: Optional[str],
               other_id: Optional[str], *, variables: Dict[str, str], app: str,
               args: List[str]) -> Channel:
        """A new channel not yet dialled; its channel thread runs Stasis(): StasisStart in Down."""
        ch = self.outgoing(endpoint, far, chan_id, other_id)
        for name, value in variables.items():
            apply_var(ch, name, value)
            ch.channelvars[name] = value
        ch.timers.append(self.w.later(0.0, lambda: self.enter_stasis(ch, app, args)))
        return ch

    def new_channel(self, name: str, chan_id: Optional[str] = None) -> Channel:
        ch = Channel(chan_id or self.w.unique_id(), name, self.w.timestamp())
        self.w.channels[ch.id] = ch
        return ch

    def attach_endpoint(self, ch: Channel, endpoint: str) -> None:
        ch.endpoint = endpoint
        self.w.endpoint_channels.setdefault(endpoint, set()).add(ch.id)

    def outgoing(self, endpoint: str, far: FarEnd, chan_id: Optional[str],
                 other_id: Optional[str]) -> Channel:
        """The channel of a call to ``endpoint`` (a Local pair keeps its ;2 half too)."""
        tech, _, resource = endpoint.partition("/")
        suffix = self.w.name_suffix()
        if tech == "Local":
            ch = self.new_channel(f"Local/{resource}-{suffix};1", chan_id)
            half = self.new_channel(f"Local/{resource}-{suffix};2", other_id)
            ch.other_half = half.id
            half.other_half = ch.id
            exten, _, context = resource.partition("@")
            half.exten, half.context = exten, context or "default"
        else:
            ch = self.new_channel("{}/{}-{}".format(tech, resource.split("/", 1)[0], suffix),
                                  chan_id)
            if endpoint in self.w.endpoints:
                self.attach_endpoint(ch, endpoint)
        ch.far_end = far
        self.w.emit("ChannelCreated", {"channel": ch.to_json()}, channels=[ch])
        return ch

    def incoming(self, app: str, caller: str, args: List[str], endpoint: str, answer: bool,
                 far: FarEnd, exten: str) -> Channel:
        """A call arriving from ``endpoint`` whose dialplan runs Stasis(app,args)."""
        tech, _, resource = endpoint.partition("/")
        ch = self.new_channel(f"{tech}/{resource}-{self.w.name_suffix()}")
        ch.far_end = far
        ch.caller_name, ch.caller_number = parse_caller_id(caller)
        ch.state = "Ring"
        ch.exten = exten
        if endpoint in self.w.endpoints:
            self.attach_endpoint(ch, endpoint)
        self.w.emit("ChannelCreated", {"channel": ch.to_json()}, channels=[ch])
        if answer:
            # The dialplan answered before Stasis(): Answer() at 1, Stasis() at 2.
            ch.priority = 2
            ch.answered_at = self.w.now()
            self.set_state(ch, "Up")
        self.enter_stasis(ch, app, args)
        return ch

    # -- dialling -------------------------------------------------------------------------

    def dial_created(self, ch: Channel, caller_id: Optional[str], timeout: int) -> None:
        """``POST /channels/{id}/dial`` of a channel made by ``create``."""
        if ch.state != "Down":
            raise errors.ChannelNotDown()
        if ch.dialed or ch.far_end is None:
            raise errors.ChannelNotDialable()
        if caller_id and caller_id in self.w.channels:
            caller = self.w.channels[caller_id]
            ch.connected_name, ch.connected_number = caller.caller_name, caller.caller_number
        self.dial(ch, float(timeout) if timeout > 0 else None)

    def dial(self, ch: Channel, timeout: Optional[float]) -> None:
        """Call the far end; ``timeout`` None = wait for ever."""
        far = ch.far_end or FarEnd()
        ch.dialed = True
        dialstring = (ch.endpoint or ch.name.rsplit("-", 1)[0]).split("/", 1)[-1]
        self.w.emit("Dial", {"peer": ch.to_json(), "dialstring": dialstring,
                             "dialstatus": ""}, channels=[ch])
        ring = far.ring
        if ring is not None and timeout is not None and ring > timeout and far.answer:
            ring, far = timeout, FarEnd(ring=timeout, answer=False, cause=19)
        if ring is None:
            if timeout is None:
                self.set_state(ch, "Ringing")
                return  # rings until someone hangs it up
            ring = timeout
        if ring > 0:
            self.set_state(ch, "Ringing")
        if far.answer:
            ch.timers.append(self.w.later(ring, lambda: self.far_answered(ch)))
        else:
            cause = far.cause
            ch.timers.append(self.w.later(ring, lambda: self.dial_failed(ch, cause)))

    def far_answered(self, ch: Channel) -> None:
        if ch.id not in self.w.channels or ch.hanging_up:
            return
        ch.answered_at = self.w.now()
        self.set_state(ch, "Up")
        if ch.other_half and ch.other_half in self.w.channels:
            half = self.w.channels[ch.other_half]
            half.state = "Up"
        self.w.emit("Dial", {"peer": ch.to_json(), "dialstatus": "ANSWER"}, channels=[ch])
        if ch.pending_app is not None:
            app, args = ch.pending_app, ch.pending_args
            self.enter_stasis(ch, app, args)
        self.far_end_script(ch)

    def far_end_script(self, ch: Channel) -> None:
        """What an answered far end does by itself: send DTMF, hang up later."""
        far = ch.far_end
        if far is None:
            return
        for i, digit in enumerate(far.dtmf):
            ch.timers.append(self.w.later(
                (i + 1) * far.dtmf_gap, partial(self.dtmf_received, ch, digit, 100)))
        if far.hangup_after is not None:
            cause = far.cause
            ch.timers.append(self.w.later(far.hangup_after,
                                          lambda: self.hangup(ch, cause, soft=False)))
        if far.sound:
            self.w.audio_changed(ch)

    def dial_failed(self, ch: Channel, cause: int) -> None:
        if ch.id not in self.w.channels or ch.hanging_up:
            return
        self.w.emit("Dial", {"peer": ch.to_json(),
                             "dialstatus": DIALSTATUS.get(cause, "CHANUNAVAIL")},
                    channels=[ch])
        self.hangup(ch, cause, soft=False, request=False)

    # -- state ----------------------------------------------------------------------------

    def set_state(self, ch: Channel, state: str) -> None:
        if ch.state == state:
            return
        ch.state = state
        self.w.emit("ChannelStateChange", {"channel": ch.to_json()}, channels=[ch])

    def answer(self, ch: Channel) -> None:
        if ch.state != "Up":
            ch.answered_at = self.w.now()
            self.set_state(ch, "Up")

    def ring(self, ch: Channel) -> None:
        if ch.state != "Up":
            self.set_state(ch, "Ringing")

    def ring_stop(self, ch: Channel) -> None:
        if ch.state == "Ringing" and not ch.dialed:
            self.set_state(ch, "Ring")

    # -- media flags ----------------------------------------------------------------------

    def mute(self, ch: Channel, direction: str) -> None:
        ch.muted.add(direction)
        self.w.audio_changed(ch)

    def unmute(self, ch: Channel, direction: str) -> None:
        if direction == "both":
            ch.muted.clear()
        else:
            ch.muted.discard(direction)
            if "both" in ch.muted:
                ch.muted.discard("both")
                ch.muted.add("out" if direction == "in" else "in")
        self.w.audio_changed(ch)

    def set_moh(self, ch: Channel, value: bool) -> None:
        ch.moh = value
        self.w.audio_changed(ch)

    # -- variables ------------------------------------------------------------------------

    def variable(self, ch: Channel, name: str) -> str:
        value = read_var(ch, name)
        if value is None:
            raise errors.VariableNotFound()
        return value

    def variables(self, ch: Channel, names: Iterable[str]) -> Dict[str, str]:
        return {name: self.variable(ch, name) for name in names}

    def set_variable(self, ch: Channel, name: str, value: str) -> None:
        apply_var(ch, name, value)
        self.w.emit("ChannelVarset", {"variable": name, "value": value,
                                      "channel": ch.to_json()}, channels=[ch])

    # -- leaving --------------------------------------------------------------------------

    def redirect(self, ch: Channel, tech: str) -> None:
        if tech.lower() != ch.technology.lower():
            raise errors.EndpointTechnologyMismatch(tech, ch.technology)
        # The driver sends a 302 and the channel leaves: as a far-end hangup.
        self.hangup(ch, 16, soft=False)

    # -- Stasis ---------------------------------------------------------------------------

    def enter_stasis(self, ch: Channel, app: str, args: List[str], app_data: Optional[str] = None) -> None:
        ch.pending_app = None
        ch.pending_args = []
        ch.app_name = "Stasis"
        ch.app_data = app_data if app_data is not None else ",".join([app] + list(args))
        gate = self.w.stasis_gate
        if gate is not None and gate.takes(app):
            gate.enter(ch, app, args)  # an outbound per-call connection: Stasis() of its own app
            return
        if not self.w.registered(app):
            # Stasis() fails for an unregistered app and the dialplan hangs the call up.
            self.hangup(ch, 16, soft=False, request=False)
            return
        ch.app = app
        self.w.emit("StasisStart", {"args": list(args), "channel": ch.to_json()},
                    channels=[ch])

    def leave_stasis(self, ch: Channel) -> Optional[str]:
        """StasisEnd; returns the app the channel was in."""
        app = ch.app
        if app is None:
            return None
        self.w.playback.stop_target("channel:" + ch.id)
        if ch.bridge_id is not None:
            self.leave_bridge(ch)
        self.w.emit("StasisEnd", {"channel": ch.to_json()}, channels=[ch])
        ch.app = None
        return app

    def move(self, ch: Channel, app: str, args: List[str]) -> None:
        if not self.w.registered(app):
            self.w.emit("ApplicationMoveFailed", {"channel": ch.to_json(), "destination": app,
                                                  "args": list(args)}, channels=[ch])
            return
        old = ch.app
        self.w.emit("StasisEnd", {"channel": ch.to_json()}, channels=[ch])
        ch.app = None
        if old is not None:
            ch.subscribers.discard(old)
        self.enter_stasis(ch, app, args)

    def continue_in_dialplan(self, ch: Channel, context: Optional[str], exten: Optional[str],
                             priority: Optional[int]) -> None:
        old = self.leave_stasis(ch)
        if old is not None:
            ch.subscribers.discard(old)
        ch.app_name, ch.app_data = "", ""
        if context:
            ch.context = context
        if exten:
            ch.exten = exten
        if priority is not None:
            ch.priority = priority
        elif context or exten:
            ch.priority = 1
        else:
            ch.priority += 1

    # -- hangup ---------------------------------------------------------------------------

    def hangup(self, ch: Channel, cause: int, *, soft: bool, request: bool = True) -> None:
        """Hang ``ch`` up: ChannelHangupRequest, ChannelLeftBridge, StasisEnd, ChannelDestroyed."""
        if ch.hanging_up or ch.id not in self.w.channels:
            return
        ch.hanging_up = True
        for timer in ch.timers:
            timer.cancel()
        ch.timers.clear()
        if request:
            fields: Dict[str, object] = {"cause": cause}
            if soft:
                fields["soft"] = True
            fields["channel"] = ch.to_json()
            self.w.emit("ChannelHangupRequest", fields, channels=[ch])
        if ch.recording is not None:
            self.w.recording.finish(ch.recording, "done")
        self.w.playback.stop_target("channel:" + ch.id)
        self.w.playback.drop_queue("channel:" + ch.id)
        if ch.bridge_id is not None:
            self.leave_bridge(ch)
        app = None
        if ch.app is not None:
            app = ch.app
            self.w.emit("StasisEnd", {"channel": ch.to_json()}, channels=[ch])
        self.w.emit("ChannelDestroyed", {"cause": cause, "cause_txt": cause_txt(cause),
                                         "channel": ch.to_json()}, channels=[ch], also=[app])
        ch.app = None
        self._forget(ch)
        for sid in list(ch.snoops):
            snoop = self.w.channels.get(sid)
            if snoop is not None:
                self.hangup(snoop, 16, soft=False)
        if ch.other_half and ch.other_half in self.w.channels:
            half = self.w.channels[ch.other_half]
            half.hanging_up = True
            self.w.emit("ChannelDestroyed", {"cause": cause, "cause_txt": cause_txt(cause),
                                             "channel": half.to_json()}, channels=[half])
            self._forget(half)

    def _forget(self, ch: Channel) -> None:
        self.w.channels.pop(ch.id, None)
        if ch.endpoint is not None:
            self.w.endpoint_channels.get(ch.endpoint, set()).discard(ch.id)
        if ch.snoop_of is not None and ch.snoop_of in self.w.channels:
            self.w.channels[ch.snoop_of].snoops.discard(ch.id)
            self.w.audio_changed(self.w.channels[ch.snoop_of])

    # -- DTMF -----------------------------------------------------------------------------

    def dtmf_received(self, ch: Channel, digit: str, duration_ms: int) -> None:
        if ch.id not in self.w.channels or ch.hanging_up:
            return
        self.w.emit("ChannelDtmfReceived", {"digit": digit, "duration_ms": duration_ms,
                                            "channel": ch.to_json()}, channels=[ch])
        if ch.recording is not None:
            self.w.recording.dtmf(ch.recording, digit)

    def press(self, ch: Channel, digits: str, gap: float, duration_ms: int,
              done: Optional[Callable[[], None]] = None) -> None:
        """The far end presses ``digits``: one ChannelDtmfReceived every ``gap`` seconds."""
        for i, digit in enumerate(digits):
            ch.timers.append(self.w.later(i * gap, partial(self.dtmf_received, ch, digit,
                                                           duration_ms)))
        if done is not None:
            self.w.later(max(0, len(digits) - 1) * gap, done)

    def send_dtmf(self, ch: Channel, dtmf: str, before: int, between: int, duration: int,
                  after: int) -> None:
        """Digits to the far end; an echoing far end sends each one back."""
        far = ch.far_end
        if far is None or not far.echo:
            return
        at = before / 1000.0
        for digit in dtmf:
            if digit in DTMF_DIGITS:
                ch.timers.append(self.w.later(
                    at + duration / 1000.0,
                    partial(self.dtmf_received, ch, digit, duration)))
                at += (duration + between) / 1000.0
            elif digit in ",wW":
                at += 0.5  # Asterisk's pause characters

    # -- bridges --------------------------------------------------------------------------

    def enter_bridge(self, br: Bridge, ch: Channel) -> None:
        if ch.bridge_id == br.id:
            return
        if ch.bridge_id is not None:
            self.leave_bridge(ch)
        br.channels.append(ch.id)
        ch.bridge_id = br.id
        self.w.emit("ChannelEnteredBridge", {"bridge": br.to_json(), "channel": ch.to_json()},
                    channels=[ch], bridge=br)
        self.w.audio_changed(br=br)

    def leave_bridge(self, ch: Channel) -> None:
        br = self.w.bridges.get(ch.bridge_id or "")
        ch.bridge_id = None
        if br is None:
            return
        if ch.id in br.channels:
            br.channels.remove(ch.id)
        if br.video_source_id == ch.id:
            br.video_source_id = None
        self.w.emit("ChannelLeftBridge", {"bridge": br.to_json(), "channel": ch.to_json()},
                    channels=[ch], bridge=br)
        self.w.audio_changed(br=br)
        self.w.audio_changed(ch)

    def destroy_bridge(self, br: Bridge) -> None:
        self.w.playback.stop_target("bridge:" + br.id)
        self.w.playback.drop_queue("bridge:" + br.id)
        if br.recording is not None:
            self.w.recording.finish(br.recording, "done")
        # Apps whose channels were in the bridge still hear it go.
        holders = [ch.app for ch in (self.w.channels.get(c) for c in br.channels) if ch]
        for cid in list(br.channels):
            ch = self.w.channels.get(cid)
            if ch is not None:
                self.leave_bridge(ch)
        self.w.emit("BridgeDestroyed", {"bridge": br.to_json()}, bridge=br, also=holders)
        self.w.bridges.pop(br.id, None)
        for app in self.w.apps.values():
            app.bridge_ids.discard(br.id)
