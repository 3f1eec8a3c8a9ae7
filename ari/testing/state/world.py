"""The simulator's registries, ids, simulated clock access and event routing.

Its one job is what every engine and handler shares: the tables of resources, the id and
name counters, lookups that fail the way Asterisk does (the named errors of ``errors.py``),
who can hear sound where, and ``emit``, which routes an event to the applications that would
get it on Asterisk 22.  It builds the engines (``calls``, ``bridging``, ``media_channels``,
``playback``, ``recording``, ``system``), which hold every operation; it must not implement
any operation itself.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from .. import errors
from ..backend import EventSink, Scheduler, TimerHandle
from ..dialplan import Dialplan
from ..machine import DEFAULT_MACHINE, Machine
from ..media import Sound, default_catalogue
from ..media_stream import MediaEngine
from .bridging import BridgeEngine
from .calls import CallEngine
from .media_channels import MediaChannelEngine
from .objects import App, Bridge, Channel, LiveRecording, Playback, StoredRecording
from .playback import PlaybackEngine
from .recording import RecordingEngine
from .system import SystemEngine


class World:
    def __init__(
        self, *, asterisk_id: str, pjsip_endpoints: Iterable[str], start_epoch: int, machine: Machine = DEFAULT_MACHINE
    ) -> None:
        self.asterisk_id = asterisk_id
        self.machine = machine
        self.start_epoch = start_epoch
        self.scheduler: Optional[Scheduler] = None
        self.sink: Optional[EventSink] = None
        self.apps: Dict[str, App] = {}
        self.channels: Dict[str, Channel] = {}
        self.bridges: Dict[str, Bridge] = {}
        self.playbacks: Dict[str, Playback] = {}
        self.live_recordings: Dict[str, LiveRecording] = {}
        self.stored: Dict[str, StoredRecording] = {}
        self.device_states: Dict[str, str] = {}
        self.mailboxes: Dict[str, Tuple[int, int]] = {}
        self.global_vars: Dict[str, str] = {}
        self.sounds: Dict[str, Sound] = default_catalogue(machine)
        self.dialplan = Dialplan(pjsip_endpoints)
        self.endpoints: Dict[str, str] = {"PJSIP/" + n: "online" for n in pjsip_endpoints}
        self.endpoint_channels: Dict[str, Set[str]] = {}
        self.events_sent: List[Dict[str, Any]] = []
        self.event_listeners: List[Callable[[str, Dict[str, Any]], None]] = []
        self._ids = itertools.count(1)
        self._names = itertools.count(1)
        # The engines: every state change and every event is made by one of them.
        self.calls = CallEngine(self)
        self.bridging = BridgeEngine(self)
        self.media_channels = MediaChannelEngine(self)
        self.playback = PlaybackEngine(self)
        self.recording = RecordingEngine(self)
        self.system = SystemEngine(self)
        #: externalMedia audio: WebSocket and RTP streams, far-end sound (``media_stream.py``)
        self.media = MediaEngine(self)
        self.event_listeners.append(self.media.on_event)
        #: takes channels entering per-call outbound apps (testing/outbound.py): takes(app), enter(ch, app, args)
        self.stasis_gate: Any = None

    # -- clock ------------------------------------------------------------------------------

    def bind(self, scheduler: Scheduler, sink: EventSink) -> None:
        """Start the clock and the event delivery; Asterisk's startup time is now."""
        self.scheduler = scheduler
        self.sink = sink
        self.system.startup = scheduler.timestamp()

    def bound(self) -> Scheduler:
        if self.scheduler is None:
            raise RuntimeError("the state model is not bound to a scheduler yet")
        return self.scheduler

    def now(self) -> float:
        return self.bound().now()

    def timestamp(self) -> str:
        return self.bound().timestamp()

    def later(self, seconds: float, fn: Callable[[], None]) -> TimerHandle:
        return self.bound().call_later(max(0.0, seconds), fn)

    # -- ids ----------------------------------------------------------------------------------

    def unique_id(self) -> str:
        # Asterisk's uniqueid: "<epoch seconds>.<sequence>".
        return f"{self.start_epoch}.{next(self._ids)}"

    def name_suffix(self) -> str:
        return f"{next(self._names):08x}"

    # -- lookups ------------------------------------------------------------------------------

    def channel(self, chan_id: str) -> Channel:
        ch = self.channels.get(chan_id)
        if ch is None:
            raise errors.ChannelNotFound()
        return ch

    def stasis_channel(self, chan_id: str) -> Channel:
        ch = self.channel(chan_id)
        if ch.app is None:
            raise errors.ChannelNotInStasis()
        return ch

    def bridge(self, bridge_id: str) -> Bridge:
        br = self.bridges.get(bridge_id)
        if br is None:
            raise errors.BridgeNotFound()
        return br

    def app(self, name: str) -> App:
        app = self.apps.get(name)
        if app is None or not app.connected:
            raise errors.ApplicationNotFound()
        return app

    def find_playback(self, playback_id: str) -> Playback:
        pb = self.playbacks.get(playback_id)
        if pb is None:
            raise errors.PlaybackNotFound()
        return pb

    def live_recording(self, name: str) -> LiveRecording:
        rec = self.live_recordings.get(name)
        if rec is None:
            raise errors.RecordingNotFound()
        return rec

    def stored_recording(self, name: str) -> StoredRecording:
        stored = self.stored.get(name)
        if stored is None:
            raise errors.RecordingNotFound()
        return stored

    def sound(self, sound_id: str) -> Sound:
        sound = self.sounds.get(sound_id)
        if sound is None:
            raise errors.SoundNotFound()
        return sound

    def endpoint(self, key: str) -> str:
        """``key`` ("PJSIP/1000") when the endpoint exists."""
        if key not in self.endpoints:
            raise errors.EndpointNotFound()
        return key

    def registered(self, name: str) -> bool:
        app = self.apps.get(name)
        return app is not None and app.connected

    # -- sound --------------------------------------------------------------------------------

    def far_sound(self, ch: Channel) -> bool:
        """The far end of ``ch`` sends audio (a talker, music on hold, an echo of ours)."""
        far = ch.far_end
        if far is None or "in" in ch.muted or "both" in ch.muted:
            return False
        return far.sound or (far.echo and (ch.playing > 0 or ch.moh))

    def channel_audible(self, ch: Channel) -> bool:
        if ch.snoop_of is not None:
            target = self.channels.get(ch.snoop_of)
            return target is not None and self.channel_audible(target)
        if self.far_sound(ch) or ch.playing > 0 or ch.moh:
            return True
        if ch.bridge_id is not None:
            br = self.bridges.get(ch.bridge_id)
            return br is not None and self.bridge_audible(br)
        return False

    def bridge_audible(self, br: Bridge) -> bool:
        if br.moh or br.playing > 0:
            return True
        for cid in br.channels:
            ch = self.channels.get(cid)
            if ch is not None and (self.far_sound(ch) or ch.playing > 0 or ch.moh):
                return True
        return False

    def audio_changed(self, ch: Optional[Channel] = None, br: Optional[Bridge] = None) -> None:
        """Sound may have started or stopped around ``ch`` / ``br``: update recordings."""
        if ch is not None and ch.bridge_id is not None:
            br = self.bridges.get(ch.bridge_id)
        targets: List[Channel] = []
        if br is not None:
            if br.recording is not None:
                self.recording.sample(br.recording, self.bridge_audible(br))
            targets.extend(self.channels[c] for c in br.channels if c in self.channels)
        elif ch is not None:
            targets.append(ch)
        for target in targets:
            if target.recording is not None:
                self.recording.sample(target.recording, self.channel_audible(target))
            for sid in target.snoops:
                snoop = self.channels.get(sid)
                if snoop is not None and snoop.recording is not None:
                    self.recording.sample(snoop.recording, self.channel_audible(snoop))

    # -- events -------------------------------------------------------------------------------

    def _wants(
        self,
        app: App,
        channels: List[Channel],
        bridge: Optional[Bridge],
        endpoint: Optional[str],
        device: Optional[str],
    ) -> bool:
        if app.subscribe_all:
            return True
        name = app.name
        for ch in channels:
            if ch.app == name or ch.pending_app == name or name in ch.subscribers:
                return True
        if bridge is not None:
            if bridge.id in app.bridge_ids:
                return True
            for cid in bridge.channels:
                member = self.channels.get(cid)
                if member is not None and member.app == name:
                    return True
        if endpoint is not None and (endpoint in app.endpoint_ids or endpoint.split("/", 1)[0] in app.endpoint_ids):
            return True
        return device is not None and device in app.device_names

    def emit(
        self,
        event_type: str,
        fields: Dict[str, Any],
        *,
        channels: Iterable[Optional[Channel]] = (),
        bridge: Optional[Bridge] = None,
        endpoint: Optional[str] = None,
        device: Optional[str] = None,
        also: Iterable[Optional[str]] = (),
        only: Optional[str] = None,
    ) -> None:
        """Send one event to every connected app that would get it on Asterisk."""
        chans = [c for c in channels if c is not None]
        if only is not None:
            targets = [self.apps[only]] if self.registered(only) else []
        else:
            extra = {a for a in also if a}
            targets = [
                app
                for app in self.apps.values()
                if app.connected and (app.name in extra or self._wants(app, chans, bridge, endpoint, device))
            ]
        if not targets:
            return
        base: Dict[str, Any] = {"type": event_type, "timestamp": self.timestamp()}
        base.update(fields)
        base["asterisk_id"] = self.asterisk_id
        sink = self.sink
        for app in targets:
            if not app.allows(event_type):
                continue
            event = dict(base)
            event["application"] = app.name
            self.events_sent.append(event)
            if sink is not None:
                sink.send(app.name, event)
            for listener in self.event_listeners:
                listener(app.name, event)
