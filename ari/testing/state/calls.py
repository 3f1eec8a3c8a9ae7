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
from ..dialplan import DIALSTATUS, NO_EXTENSION, STASIS_PRIORITY, FarEnd, UnknownEndpoint, cause_txt
from .objects import MOH_ANNOUNCER, Bridge, Channel

if TYPE_CHECKING:
    from .world import World

DTMF_DIGITS = frozenset("0123456789ABCDabcd*#")

#: What ChannelHangupRequest reports as ``cause`` for a hangup ARI asks for: the soft-hangup
#: flag AST_SOFTHANGUP_EXPLICIT (ChannelDestroyed then carries the real cause).
ARI_HANGUP_CAUSE = 32

#: The dialplan a channel originated into an app shows outside Stasis: Dial's own.
OUTGOING_LINE = ("AppDial2", "(Outgoing Line)")
#: Seconds Answer() waits for a first media frame before it returns anyway (__ast_answer).
ANSWER_MEDIA_WAIT = 0.5


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
    builtin = {
        "CALLERID(name)": ch.caller_name,
        "CALLERID(num)": ch.caller_number,
        "CHANNEL(name)": ch.name,
        "CHANNEL(state)": ch.state,
        "CHANNEL(language)": ch.language,
        "CHANNEL(accountcode)": ch.accountcode,
        "UNIQUEID": ch.id,
        "CHANNEL": ch.name,
        "CONTEXT": ch.context,
        "EXTEN": ch.exten,
        "PRIORITY": str(ch.priority),
        "LANGUAGE()": ch.language,
    }
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
            if endpoint.partition("/")[0] not in ("PJSIP", "Local"):
                raise errors.AllocationFailed() from None  # no such channel driver
            raise errors.UnreachableEndpoint() from None

    def originate(
        self,
        endpoint: str,
        far: FarEnd,
        chan_id: Optional[str],
        other_id: Optional[str],
        *,
        caller: Optional[str],
        variables: Dict[str, str],
        app: Optional[str],
        args: List[str],
        context: Optional[str],
        extension: Optional[str],
        priority: int,
        timeout: int,
    ) -> Channel:
        """A new outgoing channel (Down); it dials from another thread, as Asterisk's does."""
        ch = self.outgoing(endpoint, far, chan_id, other_id)
        if caller:
            ch.caller_name, ch.caller_number = parse_caller_id(caller)
            # Dial shows the far end the same identity as connected line; a Local ;2 half
            # calls with it.
            ch.connected_name, ch.connected_number = ch.caller_name, ch.caller_number
        for name, value in variables.items():
            apply_var(ch, name, value)
        if app:
            ch.outgoing_line = True
            ch.app_name, ch.app_data = OUTGOING_LINE
            # Dial's prerun sets its pseudo-app before ARI subscribes the app: only an app
            # subscribed to all hears this ChannelDialplan (as recorded).
            self.dialplan_event(ch)
            ch.pending_app = app
            ch.pending_args = args
            # ARI subscribes the originating app to the channel and to a Local channel's
            # other half: it hears both until they are destroyed.
            ch.subscribers.add(app)
            half = self.half_of(ch)
            if half is not None:
                half.subscribers.add(app)
        elif ch.half:
            # A Local channel shows Dial's pseudo-app until answered, then runs the extension.
            ch.app_name, ch.app_data = OUTGOING_LINE
            ch.dialplan_target = (context or "default", extension or "s", priority)
        else:
            ch.context = context or "default"
            ch.exten = extension or "s"
            ch.priority = priority
        limit = None if timeout < 0 else float(timeout)
        ch.timers.append(self.w.later(0.0, lambda: self.dial(ch, limit)))
        return ch

    def create(
        self,
        endpoint: str,
        far: FarEnd,
        chan_id: Optional[str],
        other_id: Optional[str],
        *,
        variables: Dict[str, str],
        app: str,
        args: List[str],
    ) -> Channel:
        """A new channel not yet dialled; its channel thread runs Stasis(): StasisStart in Down."""
        ch = self.outgoing(endpoint, far, chan_id, other_id)
        for name, value in variables.items():
            apply_var(ch, name, value)
        ch.subscribers.add(app)  # the channel only: its Local ;2 half stays unheard

        def run_stasis() -> None:
            ch.app_name, ch.app_data = "Stasis", ",".join([app] + list(args))
            self.dialplan_event(ch)
            self.enter_stasis(ch, app, args)

        ch.timers.append(self.w.later(0.0, run_stasis))
        return ch

    def new_channel(self, name: str, chan_id: Optional[str] = None) -> Channel:
        ch = Channel(chan_id or self.w.unique_id(), name, self.w.timestamp())
        self.w.channels[ch.id] = ch
        return ch

    def attach_endpoint(self, ch: Channel, endpoint: str) -> None:
        ch.endpoint = endpoint
        self.w.endpoint_channels.setdefault(endpoint, set()).add(ch.id)

    def half_of(self, ch: Channel) -> Optional[Channel]:
        """The other half of a Local channel, while it exists."""
        return self.w.channels.get(ch.other_half) if ch.other_half else None

    def outgoing(self, endpoint: str, far: FarEnd, chan_id: Optional[str], other_id: Optional[str]) -> Channel:
        """The channel of a call to ``endpoint`` (a Local pair keeps its ;2 half too)."""
        tech, _, resource = endpoint.partition("/")
        suffix = self.w.name_suffix()
        if tech == "Local":
            ch = self.new_channel(f"Local/{resource}-{suffix};1", chan_id)
            # Asterisk names an unnamed ;2 half after a given ;1 id ("<id>;2").
            if other_id is None and chan_id is not None:
                other_id = f"{chan_id};2"
            half = self.new_channel(f"Local/{resource}-{suffix};2", other_id)
            ch.other_half, half.other_half = half.id, ch.id
            ch.half, half.half = 1, 2
            exten, _, context = resource.partition("@")
            exten = exten.split("/", 1)[0]
            context = (context or "default").split("/", 1)[0]
            for c in (ch, half):
                c.exten, c.context = exten, context
            half.state = "Ring"
            half.far_end = far
        else:
            ch = self.new_channel("{}/{}-{}".format(tech, resource.split("/", 1)[0], suffix), chan_id)
            if endpoint in self.w.endpoints:
                self.attach_endpoint(ch, endpoint)
        ch.far_end = far
        self.w.emit("ChannelCreated", {"channel": ch.to_json()}, channels=[ch])
        other = self.half_of(ch)
        if other is not None:
            self.w.emit("ChannelCreated", {"channel": other.to_json()}, channels=[other])
        return ch

    def incoming(
        self, app: str, caller: str, args: List[str], endpoint: str, answer: bool, far: FarEnd, exten: str
    ) -> Channel:
        """A call arriving from ``endpoint`` whose dialplan runs Stasis(app,args)."""
        tech, _, resource = endpoint.partition("/")
        ch = self.new_channel(f"{tech}/{resource}-{self.w.name_suffix()}")
        ch.far_end = far
        ch.caller_name, ch.caller_number = parse_caller_id(caller)
        ch.state = "Ring"
        ch.exten = exten
        ch.entered_by_dialplan = True
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

    def _dial_event(self, ch: Channel, status: str) -> None:
        # Dial names the dial string; its outcome repeats it for an originate, not for
        # ARI's own dial (which Asterisk runs without one).
        dialstring = (ch.endpoint or ch.name.rsplit("-", 1)[0]).split("/", 1)[-1]
        if status and not ch.outgoing_line and ch.app is not None:
            dialstring = ""
        self.w.emit(
            "Dial", {"dialstatus": status, "forward": "", "dialstring": dialstring, "peer": ch.to_json()}, channels=[ch]
        )

    def dialplan_event(self, ch: Channel) -> None:
        self.w.emit(
            "ChannelDialplan",
            {"dialplan_app": ch.app_name, "dialplan_app_data": ch.app_data, "channel": ch.to_json()},
            channels=[ch],
        )

    def half_step(self, half: Channel, priority: int) -> None:
        """The ;2 half of a Local channel runs the far end's dialplan at ``priority``."""
        steps = half.far_end.steps if half.far_end else ()
        if half.id not in self.w.channels or half.hanging_up or priority > len(steps):
            return
        half.priority = priority
        half.app_name, half.app_data = steps[priority - 1]
        self.dialplan_event(half)

    def _call_setup(self, ch: Channel, half: Channel) -> None:
        """ast_unreal_call_setup (main/core_unreal.c) as ;1 calls: ;1's variables copied to ;2,
        each a ChannelVarset with ;2's snapshot from before the copy, then caller id and
        connected line crossed over (;2's caller is ;1's connected line and the other way),
        published as ChannelCallerId and ChannelConnectedLine when they changed."""
        staged = half.to_json()
        for name, value in ch.vars.items():
            if "(" in name:
                continue  # a dialplan function, not a variable
            half.vars[name] = value
            self.w.emit("ChannelVarset", {"variable": name, "value": value, "channel": staged}, channels=[half])
        caller = (half.caller_name, half.caller_number)
        connected = (half.connected_name, half.connected_number)
        half.caller_name, half.caller_number = ch.connected_name, ch.connected_number
        half.connected_name, half.connected_number = ch.caller_name, ch.caller_number
        if (half.caller_name, half.caller_number) != caller:
            self.w.emit(
                "ChannelCallerId",
                {
                    "caller_presentation": 0,
                    "caller_presentation_txt": "Presentation Allowed, Not Screened",
                    "channel": half.to_json(),
                },
                channels=[half],
            )
        if (half.connected_name, half.connected_number) != connected:
            self.w.emit("ChannelConnectedLine", {"channel": half.to_json()}, channels=[half])

    def dial(self, ch: Channel, timeout: Optional[float]) -> None:
        """Call the far end; ``timeout`` None = wait for ever."""
        far = ch.far_end or FarEnd()
        ch.dialed = True
        half = self.half_of(ch)
        if half is not None and far is NO_EXTENSION:
            # No such extension: chan_local gives up before dialling; both halves go.  (A far
            # end the user added for a Local endpoint is an extension, dialplan steps or not.)
            self.destroy_pair(ch, half, None, 0, 0)
            return
        if half is not None:
            self._call_setup(ch, half)
        self._dial_event(ch, "")
        if half is not None:
            self.half_step(half, 1)
        ring = far.ring
        if ring is not None and timeout is not None and ring > timeout and far.answer:
            ring, far = timeout, FarEnd(ring=timeout, answer=False, cause=19)
        if ring is None:
            if timeout is None:
                if half is None:
                    self.set_state(ch, "Ringing")
                return  # rings until someone hangs it up
            ring = timeout
        if ring > 0 and half is None:
            self.set_state(ch, "Ringing")
        if far.answer:
            ch.timers.append(self.w.later(ring, lambda: self.far_answered(ch)))
        else:
            cause = far.cause
            ch.timers.append(self.w.later(ring, lambda: self.dial_failed(ch, cause)))

    def far_answered(self, ch: Channel) -> None:
        if ch.id not in self.w.channels or ch.hanging_up:
            return
        half = self.half_of(ch)
        if half is not None:
            half.answered_at = self.w.now()
            self.set_state(half, "Up")
        ch.answered_at = self.w.now()
        self.set_state(ch, "Up")
        self._dial_event(ch, "ANSWER")
        if ch.pending_app is not None:
            app, args = ch.pending_app, ch.pending_args
            self.enter_stasis(ch, app, args)
        elif ch.app is None and not ch.outgoing_line:
            self.run_dialplan(ch)
        if half is not None:
            if not self._answer_pending(half):
                self.half_step(half, 2)
            else:
                half.timers.append(self.w.later(ANSWER_MEDIA_WAIT, partial(self._answer_timeout, half)))
        self.far_end_script(ch)

    def _answer_timeout(self, half: Channel) -> None:
        # __ast_answer (main/channel.c) waits MAX(delay, 500) ms for a first media frame, then
        # continues anyway.
        if self._answer_pending(half):
            self.half_step(half, 2)

    def media_flows(self, ch: Channel) -> None:
        """Audio now flows on ``ch`` (a playback, a recording, a two-party bridge, the dialplan
        again): a Local ;2 half waiting in Answer() moves on."""
        half = self.half_of(ch) if ch.half == 1 else None
        if half is not None and self._answer_pending(half):
            self.half_step(half, 2)

    @staticmethod
    def _answer_pending(half: Channel) -> bool:
        """Answer() on a Local ;2 half returns once media flows from its ;1 half (a playback,
        a recording, a two-party bridge, the dialplan again) or after ANSWER_MEDIA_WAIT."""
        steps = half.far_end.steps if half.far_end else ()
        return len(steps) > 1 and steps[0][0] == "Answer" and half.priority == 1

    def run_dialplan(self, ch: Channel) -> None:
        """An originate to an extension: the answered channel runs it (Stasis() for
        ``app-<name>``, or a far end such as ``echo``)."""
        if ch.dialplan_target is not None:
            ch.context, ch.exten, ch.priority = ch.dialplan_target
            ch.dialplan_target = None
        app = self.w.dialplan.stasis_app(ch.context, ch.exten)
        if app is not None and ch.priority <= STASIS_PRIORITY:
            ch.priority = STASIS_PRIORITY
            ch.entered_by_dialplan = True
            self.enter_stasis(ch, app, [])
            return
        own = self.w.dialplan.extension(ch.context, ch.exten)
        if own is not None and own.steps:
            ch.priority = min(2, len(own.steps))
            ch.app_name, ch.app_data = own.steps[ch.priority - 1]

    def far_end_script(self, ch: Channel) -> None:
        """What an answered far end does by itself: send DTMF, hang up later."""
        far = ch.far_end
        if far is None:
            return
        half = self.half_of(ch)
        if half is not None and far.dtmf:
            send = [i for i, (app, _) in enumerate(far.steps) if app == "SendDTMF"]
            if send:
                ch.timers.append(self.w.later(far.dtmf_gap / 2, partial(self.half_step, half, send[0] + 1)))
        for i, digit in enumerate(far.dtmf):
            ch.timers.append(self.w.later((i + 1) * far.dtmf_gap, partial(self.dtmf_received, ch, digit, 100)))
        if far.hangup_after is not None:
            cause = far.cause
            ch.timers.append(self.w.later(far.hangup_after, lambda: self.hangup(ch, cause, soft=False)))
        if far.sound:
            self.w.audio_changed(ch)

    def dial_failed(self, ch: Channel, cause: int) -> None:
        if ch.id not in self.w.channels or ch.hanging_up:
            return
        half = self.half_of(ch)
        if half is not None and cause == 17:
            self.set_state(half, "Busy")
        if cause != 19 or half is None:
            self._dial_event(ch, DIALSTATUS.get(cause, "CHANUNAVAIL"))
        if ch.app is not None:
            # ARI's own dial: a busy far end leaves the channel waiting in the app; an
            # unanswered one is hung up by ARI when the dial times out.
            if half is not None:
                self.destroy_pair(None, half, None, cause, cause)
            if cause == 19:
                self.hangup(ch, cause, soft=True)
            return
        if half is not None:
            # Busy: the ;2 half reports cause 0 to ;1, then goes itself with the real cause.
            first = 0 if cause == 17 else cause
            self.destroy_pair(ch, half, first, first, cause)
            return
        self.hangup(ch, cause, soft=False, request=False)

    def destroy_pair(
        self, ch: Optional[Channel], half: Channel, request_cause: Optional[int], cause: int, half_cause: int
    ) -> None:
        """The end of a Local pair seen from its ;2 half: its hangup request (``request_cause``,
        None for none), ;1's ChannelDestroyed (``cause``), the ;2 half's own soft hangup
        request and ChannelDestroyed (``half_cause``)."""
        half.hanging_up = True
        for timer in half.timers:
            timer.cancel()
        if request_cause is not None:
            self.w.emit("ChannelHangupRequest", {"cause": request_cause, "channel": half.to_json()}, channels=[half])
        if ch is not None:
            self._destroyed(ch, cause)
        if request_cause is not None:
            self.w.emit("ChannelHangupRequest", {"cause": 16, "soft": True, "channel": half.to_json()}, channels=[half])
        half.app_name, half.app_data = "", ""
        self._destroyed(half, half_cause)

    def _destroyed(self, ch: Channel, cause: int) -> None:
        ch.hanging_up = True
        for timer in ch.timers:
            timer.cancel()
        ch.timers.clear()
        if ch.outgoing_line and ch.app is None:
            ch.app_name, ch.app_data = OUTGOING_LINE
        fields: Dict[str, object] = {"cause": cause, "cause_txt": cause_txt(cause)}
        if ch.tech_cause is not None:
            fields["tech_cause"] = ch.tech_cause
        fields["channel"] = ch.to_json()
        self.w.emit("ChannelDestroyed", fields, channels=[ch])
        self._forget(ch)

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
            if name.endswith(")") and "(" in name:
                raise errors.FunctionNotReadable()
            raise errors.VariableNotFound()
        return value

    def variables(self, ch: Channel, names: Iterable[str]) -> Dict[str, str]:
        return {name: self.variable(ch, name) for name in names}

    def set_variable(self, ch: Channel, name: str, value: str, report: bool = False) -> None:
        """``report``: setChannelVar's report_events, which makes Asterisk show the variable in
        the channel's ``channelvars`` from then on."""
        apply_var(ch, name, value)
        if report:
            ch.channelvars[name] = value
        self.w.emit("ChannelVarset", {"variable": name, "value": value, "channel": ch.to_json()}, channels=[ch])

    # -- leaving --------------------------------------------------------------------------

    def redirect(self, ch: Channel, tech: str) -> None:
        if tech.lower() != ch.technology.lower():
            raise errors.EndpointTechnologyMismatch(tech, ch.technology)
        if ch.half:
            self.media_flows(ch)
            return  # a Local channel accepts a redirect and stays (as recorded on Asterisk 22)
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
            self.set_variable(ch, "STASISSTATUS", "FAILED")
            self.hangup(ch, 16, soft=False, request=False)
            return
        # Heard only by apps already subscribed (an originator), as on Asterisk.
        self.set_variable(ch, "STASISSTATUS", "")
        ch.app = app
        self.w.emit("StasisStart", {"args": list(args), "channel": ch.to_json()}, only=app)

    def _stasis_end(self, ch: Channel) -> Optional[str]:
        """StasisEnd to the app ``ch`` is in; returns that app."""
        app = ch.app
        if app is None:
            return None
        self.w.emit("StasisEnd", {"channel": ch.to_json()}, only=app)
        ch.app = None
        return app

    def leave_stasis(self, ch: Channel) -> Optional[str]:
        """StasisEnd; returns the app the channel was in."""
        if ch.app is None:
            return None
        self.w.playback.stop_target("channel:" + ch.id)
        if ch.bridge_id is not None:
            self.leave_bridge(ch)
        app = self._stasis_end(ch)
        if app is not None:
            ch.status_due += 1
        return app

    def move(self, ch: Channel, app: str, args: List[str]) -> None:
        if not self.w.registered(app):
            self.w.emit(
                "ApplicationMoveFailed", {"channel": ch.to_json(), "destination": app, "args": list(args)}, only=ch.app
            )
            return
        self._stasis_end(ch)
        # The channel stays in the same Stasis() call: its dialplan does not change.
        ch.app = app
        self.w.emit("StasisStart", {"args": list(args), "channel": ch.to_json()}, only=app)

    def continue_in_dialplan(
        self, ch: Channel, context: Optional[str], exten: Optional[str], priority: Optional[int]
    ) -> None:
        self.leave_stasis(ch)
        self.media_flows(ch)
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
        self.w.later(0.0, lambda: self._resume_dialplan(ch))

    def _resume_dialplan(self, ch: Channel) -> None:
        """The channel runs the dialplan from where continue put it."""
        if ch.id not in self.w.channels or ch.hanging_up:
            return
        app = self.w.dialplan.stasis_app(ch.context, ch.exten)
        if app is not None:
            if ch.priority <= 1:
                ch.priority, ch.app_name, ch.app_data = 1, "NoOp", f"Stasis app {app}"
                self.dialplan_event(ch)
            ch.priority, ch.app_name, ch.app_data = STASIS_PRIORITY, "Stasis", app
            self.dialplan_event(ch)
            self.enter_stasis(ch, app, [])
            return
        own = self.w.dialplan.extension(ch.context, ch.exten)
        steps = own.steps if own is not None else ()
        at = ch.priority
        if at <= len(steps) and steps[at - 1][0] == "Answer" and ch.state == "Up":
            at += 1  # Answer() on an answered channel returns at once
        if at <= len(steps):
            ch.priority = at
            ch.app_name, ch.app_data = steps[at - 1]
            self.dialplan_event(ch)
        else:
            ch.app_name, ch.app_data = "", ""

    # -- hangup ---------------------------------------------------------------------------

    def hangup(
        self,
        ch: Channel,
        cause: int,
        *,
        soft: bool,
        request: bool = True,
        tech_cause: Optional[int] = None,
        destroyed_cause: Optional[int] = None,
    ) -> None:
        """Hang ``ch`` up: ChannelHangupRequest (for a hangup ARI asks for, ``soft``: cause 32,
        Asterisk's soft-hangup flag), Dial NOANSWER for an originate not yet answered,
        ChannelLeftBridge, StasisEnd, STASISSTATUS, then ChannelDestroyed (to apps still
        subscribed: the originator, not a call that entered through Stasis() in the dialplan)
        and a Local channel's other half.

        ``tech_cause``: the channel driver's own cause, reported by both events;
        ``destroyed_cause``: what ChannelDestroyed reports when it is not ``cause`` (a driver
        that queues its hangup with a cause, as chan_websocket does, leaves the channel's own
        hangup cause unset: 0)."""
        if ch.hanging_up or ch.id not in self.w.channels:
            return
        ch.hanging_up = True
        for timer in ch.timers:
            timer.cancel()
        ch.timers.clear()
        if tech_cause is not None:
            ch.tech_cause = tech_cause
        if request:
            fields: Dict[str, object] = {"cause": ARI_HANGUP_CAUSE if soft else cause}
            if soft:
                fields["soft"] = True
            if ch.tech_cause is not None:
                fields["tech_cause"] = ch.tech_cause
            fields["channel"] = ch.to_json()
            self.w.emit("ChannelHangupRequest", fields, channels=[ch])
        if ch.pending_dial is not None:
            dialstring, ch.pending_dial = ch.pending_dial, None
            self.w.emit(
                "Dial",
                {"dialstatus": "NOANSWER", "forward": "", "dialstring": dialstring, "peer": ch.to_json()},
                channels=[ch],
            )
        final = cause if destroyed_cause is None else destroyed_cause
        if ch.recording is not None:
            self.w.recording.finish(ch.recording, "done")
        self.w.playback.stop_target("channel:" + ch.id)
        self.w.playback.drop_queue("channel:" + ch.id)
        if ch.bridge_id is not None:
            if ch.app is not None and ch.app in self.w.apps:
                self.w.apps[ch.app].bridge_ids.add(ch.bridge_id)
            self.leave_bridge(ch)
        returns = ch.status_due + (self._stasis_end(ch) is not None)
        ch.status_due = 0
        for _ in range(returns):  # each Stasis() call returns as the channel goes
            self.set_variable(ch, "STASISSTATUS", "SUCCESS")
        if returns and not ch.outgoing_line:
            ch.app_name, ch.app_data = "", ""  # Stasis() has returned
        half = self.half_of(ch)
        if ch.half == 2 and half is not None and not half.hanging_up:
            # The ;2 half went: its ;1 half hangs up as by its far end.
            self._destroyed(ch, final)
            self.hangup(half, 16, soft=False)
            return
        if half is not None and not half.hanging_up:
            self.w.emit("ChannelHangupRequest", {"cause": cause, "channel": half.to_json()}, channels=[half])
            if half.app_name == "Playback":
                # Playback() ends on the hangup and reports it: SUCCESS (app_playback.c
                # sets FAILED only for a file it could not open).
                self.set_variable(half, "PLAYBACKSTATUS", "SUCCESS")
        self._destroyed(ch, final)
        for sid in list(ch.snoops):
            snoop = self.w.channels.get(sid)
            if snoop is not None:
                self.hangup(snoop, 16, soft=False)
        if half is not None and not half.hanging_up:
            held, half.held_dtmf = half.held_dtmf, []
            for digit, duration_ms in held:
                self.dtmf_received(half, digit, duration_ms)
            half.hanging_up = True
            self.w.emit("ChannelHangupRequest", {"cause": 16, "soft": True, "channel": half.to_json()}, channels=[half])
            half.app_name, half.app_data = "", ""
            # With digits held, the half's end reports no cause (as recorded).
            self._destroyed(half, 0 if held else cause)

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
        self.w.emit(
            "ChannelDtmfReceived", {"digit": digit, "duration_ms": duration_ms, "channel": ch.to_json()}, channels=[ch]
        )
        if ch.recording is not None:
            self.w.recording.dtmf(ch.recording, digit)

    def press(
        self, ch: Channel, digits: str, gap: float, duration_ms: int, done: Optional[Callable[[], None]] = None
    ) -> None:
        """The far end presses ``digits``: one ChannelDtmfReceived every ``gap`` seconds."""
        for i, digit in enumerate(digits):
            ch.timers.append(self.w.later(i * gap, partial(self.dtmf_received, ch, digit, duration_ms)))
        if done is not None:
            self.w.later(max(0, len(digits) - 1) * gap, done)

    def send_dtmf(self, ch: Channel, dtmf: str, before: int, between: int, duration: int, after: int) -> None:
        """Digits to the far end; an echoing far end sends each one back.  Through a Local
        channel the digits reach its ;2 half, and Echo() there does not return them."""
        far = ch.far_end
        half = self.half_of(ch) if ch.half == 1 else None
        if far is None or not far.echo:
            return
        at = before / 1000.0
        for digit in dtmf:
            if digit in DTMF_DIGITS:
                if half is not None:
                    # Echo() on the ;2 half takes the digit, but its ChannelDtmfReceived comes
                    # only as that half hangs up (as recorded on Asterisk 22.10.1).
                    half.held_dtmf.append((digit, duration))
                else:
                    ch.timers.append(
                        self.w.later(at + duration / 1000.0, partial(self.dtmf_received, ch, digit, duration))
                    )
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
        self.w.emit("ChannelEnteredBridge", {"bridge": br.to_json(), "channel": ch.to_json()}, channels=[ch], bridge=br)
        members = [self.w.channels[c] for c in br.channels if c in self.w.channels]
        if len(members) > 1:
            for member in members:
                self.media_flows(member)
        self.bridge_peers(br)

    def bridge_peers(self, br: Bridge) -> None:
        """Tell each member who else is in the bridge (BRIDGEPEER), as bridge.c's
        set_bridge_peer_vars does after each join and leave: only in a mixing bridge (a holding
        bridge sets none), and only while it holds two channels or more, the helper channels
        Asterisk adds to play, record or play music on hold counted (and named first); a
        member left alone keeps what it had (as recorded: bridge_helpers, bridge_media)."""
        if br.bridge_type == "holding":
            return
        members = [self.w.channels[c] for c in br.channels if c in self.w.channels]
        if len(members) + len(br.helpers) < 2:
            return
        for member in members:
            peers = ",".join(br.helpers + [m.name for m in members if m is not member])
            if peers != member.vars.get("BRIDGEPEER", ""):
                self.set_variable(member, "BRIDGEPEER", peers)

    def bridge_helper(self, br: Bridge, kind: str, replace: bool = True) -> None:
        """Asterisk adds a helper channel (``Announcer/ARI``, ``Announcer/ARI_MOH``,
        ``Recorder/ARI``) to ``br``; one of the same kind leaves (``replace``)."""
        if replace:
            br.helpers = [h for h in br.helpers if not h.startswith(kind + "-")]
        br.helpers.insert(0, f"{kind}-{self.w.name_suffix()};2")
        self.bridge_peers(br)

    def has_helper(self, br: Bridge, kind: str) -> bool:
        return any(h.startswith(kind + "-") for h in br.helpers)

    def bridge_helper_gone(self, br: Bridge, kind: str) -> None:
        """The helper channel of ``kind`` left ``br`` (its playback, recording or music ended)."""
        if not self.has_helper(br, kind):
            return
        br.helpers = [h for h in br.helpers if not h.startswith(kind + "-")]
        self.bridge_peers(br)
        self.w.audio_changed(br=br)

    def leave_bridge(self, ch: Channel, destroying: bool = False) -> None:
        br = self.w.bridges.get(ch.bridge_id or "")
        ch.bridge_id = None
        if br is None:
            return
        # The event shows the channels without it, but the technology chosen with it: Asterisk
        # publishes the leave before it bridges the rest anew (as recorded: bridge_helpers).
        technology = br.technology()
        if ch.vars.get("BRIDGEPEER"):
            self.set_variable(ch, "BRIDGEPEER", "")
        if ch.id in br.channels:
            br.channels.remove(ch.id)
        if br.video_source_id == ch.id:
            br.video_source_id = None
        # The music on hold announcer is a "lonely" bridge channel (res_stasis.c
        # bridge_moh_create): once only lonely channels remain, Asterisk makes it leave and
        # hangs it up, and the bridge's music on hold is over.
        lonely = (
            not destroying
            and br.moh_id is not None
            and not br.channels
            and all(h.startswith(MOH_ANNOUNCER + "-") for h in br.helpers)
        )
        bridge = dict(br.to_json(), technology=technology)
        if lonely:
            # A recorded race (tests/fixtures/bridge-moh-race-22.10.1.json): Asterisk hides its
            # internal channels from an event by their latest snapshot, and the announcer,
            # being destroyed meanwhile, often has none left, so this event lists its
            # uniqueid.  The simulator always shows that worst case, so that an application
            # counting ``bridge.channels`` fails here as it sometimes does on Asterisk.
            bridge["channels"] = bridge["channels"] + [br.moh_id]
        self.w.emit("ChannelLeftBridge", {"bridge": bridge, "channel": ch.to_json()}, channels=[ch], bridge=br)
        self.bridge_peers(br)
        if lonely:
            br.moh, br.moh_id = False, None
            self.bridge_helper_gone(br, MOH_ANNOUNCER)
        self.w.audio_changed(br=br)
        self.w.audio_changed(ch)

    def destroy_bridge(self, br: Bridge) -> None:
        self.w.playback.stop_target("bridge:" + br.id)
        self.w.playback.drop_queue("bridge:" + br.id)
        if br.recording is not None:
            self.w.recording.finish(br.recording, "done")
        for cid in list(br.channels):
            ch = self.w.channels.get(cid)
            if ch is not None:
                self.leave_bridge(ch, destroying=True)
        # Heard by apps subscribed to the bridge, which includes the app of a channel that
        # hung up while in it (Stasis never drops that subscription), not by the apps of
        # channels it still held.
        self.w.emit("BridgeDestroyed", {"bridge": br.to_json()}, bridge=br)
        self.w.bridges.pop(br.id, None)
        for app in self.w.apps.values():
            app.bridge_ids.discard(br.id)
