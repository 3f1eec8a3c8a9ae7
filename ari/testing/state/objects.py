"""The simulated resources (channels, bridges, playbacks, recordings, apps) and their JSON.

Its one job is data: each class holds one resource's state and renders it exactly as
Asterisk 22's ARI models do.  It must not schedule, route events or validate requests.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple

from ..dialplan import FarEnd


class Channel:
    __slots__ = (
        "id",
        "name",
        "state",
        "caller_name",
        "caller_number",
        "connected_name",
        "connected_number",
        "accountcode",
        "context",
        "exten",
        "priority",
        "app_name",
        "app_data",
        "creationtime",
        "language",
        "vars",
        "channelvars",
        "app",
        "pending_app",
        "pending_args",
        "bridge_id",
        "far_end",
        "endpoint",
        "muted",
        "moh",
        "playing",
        "dialed",
        "timers",
        "snoop_of",
        "snoops",
        "recording",
        "answered_at",
        "hanging_up",
        "other_half",
        "technology",
        "subscribers",
        "half",
        "outgoing_line",
        "entered_by_dialplan",
        "dialplan_target",
        "status_due",
        "held_dtmf",
        "pending_dial",
        "tech_cause",
    )

    def __init__(self, chan_id: str, name: str, creationtime: str) -> None:
        self.id = chan_id
        self.name = name
        self.technology = name.split("/", 1)[0]
        self.state = "Down"
        self.caller_name = ""
        self.caller_number = ""
        self.connected_name = ""
        self.connected_number = ""
        self.accountcode = ""
        self.context = "default"
        self.exten = "s"
        self.priority = 1
        self.app_name = ""
        self.app_data = ""
        self.creationtime = creationtime
        self.language = "en"
        self.vars: Dict[str, str] = {}
        self.channelvars: Dict[str, str] = {}  # the variables shown in the JSON
        self.app: Optional[str] = None  # the Stasis application it is in
        self.pending_app: Optional[str] = None  # enters this app once answered
        self.pending_args: List[str] = []
        self.bridge_id: Optional[str] = None
        self.far_end: Optional[FarEnd] = None
        self.endpoint: Optional[str] = None  # "PJSIP/1000" when it uses an endpoint
        self.muted: Set[str] = set()
        self.moh = False
        self.playing = 0  # playbacks currently sounding on it
        self.dialed = False
        self.timers: List[Any] = []  # far-end timers to cancel at hangup
        # Digits a Local ;2 half running Echo() got from its ;1 half: reported only as it
        # hangs up (as recorded: local_halves, three times alike).
        self.held_dtmf: List[Tuple[str, int]] = []
        self.snoop_of: Optional[str] = None
        self.snoops: Set[str] = set()
        self.recording: Optional[str] = None
        self.answered_at: Optional[float] = None
        self.hanging_up = False
        self.other_half: Optional[str] = None  # the ;2 half of a Local channel
        self.subscribers: Set[str] = set()  # apps subscribed (channel:<id>, its originator)
        self.half = 0  # 1 or 2 for the halves of a Local channel
        # Originated into an app: outside Stasis its dialplan shows Dial's AppDial2.
        self.outgoing_line = False
        # In Stasis through its own dialplan (Stasis() in an extension), not an originate:
        # the app hears nothing of it after StasisEnd.
        self.entered_by_dialplan = False
        # Originated to an extension: where it goes once answered (context, exten, priority).
        self.dialplan_target: Optional[Tuple[str, str, int]] = None
        # Stasis() calls left by continue: each sets STASISSTATUS when the channel ends.
        self.status_due = 0
        # The dial string of an originate whose far end has not answered yet (a media
        # WebSocket channel before its connection): a hangup then reports Dial NOANSWER.
        self.pending_dial: Optional[str] = None
        # The channel driver's own hangup cause (chan_websocket: the WebSocket close code),
        # reported as ``tech_cause`` by ChannelHangupRequest and ChannelDestroyed.
        self.tech_cause: Optional[int] = None

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": "",
            "caller": {"name": self.caller_name, "number": self.caller_number},
            "connected": {"name": self.connected_name, "number": self.connected_number},
            "accountcode": self.accountcode,
            "dialplan": {
                "context": self.context,
                "exten": self.exten,
                "priority": self.priority,
                "app_name": self.app_name,
                "app_data": self.app_data,
            },
            "creationtime": self.creationtime,
            "language": self.language,
        }
        if self.channelvars:
            out["channelvars"] = dict(self.channelvars)
        return out


#: The helper channels Asterisk puts in a bridge (their names' prefixes): one to play
#: (res_ari resource_bridges.c, for each run of playbacks), one to record, one for music on hold.
ANNOUNCER = "Announcer/ARI"
RECORDER = "Recorder/ARI"
MOH_ANNOUNCER = "Announcer/ARI_MOH"


class Bridge:
    __slots__ = (
        "id",
        "types",
        "bridge_type",
        "name",
        "channels",
        "creationtime",
        "video_mode",
        "video_source_id",
        "vars",
        "moh",
        "moh_id",
        "playing",
        "subscribers",
        "recording",
        "helpers",
    )

    def __init__(self, bridge_id: str, types: List[str], name: str, creationtime: str) -> None:
        self.id = bridge_id
        self.types = types
        self.bridge_type = "holding" if "holding" in types else "mixing"
        self.name = name
        self.channels: List[str] = []
        self.creationtime = creationtime
        if "video_sfu" in types:
            self.video_mode = "sfu"
        elif "video_single" in types:
            self.video_mode = "single"
        else:
            self.video_mode = "talker"
        self.video_source_id: Optional[str] = None
        self.vars: Dict[str, str] = {}
        self.moh = False
        self.moh_id: Optional[str] = None  # the music on hold announcer's uniqueid
        self.playing = 0
        self.subscribers: Set[str] = set()
        self.recording: Optional[str] = None
        # Names of the channels Asterisk puts in the bridge to play or record
        # ("Announcer/ARI-...;2", "Recorder/ARI-...;2"), newest first; members see them in
        # BRIDGEPEER.
        self.helpers: List[str] = []

    def technology(self) -> str:
        if self.bridge_type == "holding":
            return "holding_bridge"
        # Asterisk's smart bridging counts every channel in the bridge, helpers included: two
        # members and an announcer are mixed by softmix.
        if self.video_mode == "sfu" or len(self.channels) + len(self.helpers) > 2:
            return "softmix"
        return "simple_bridge"

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "id": self.id,
            "technology": self.technology(),
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": list(self.channels),
            "creationtime": self.creationtime,
            "video_mode": self.video_mode,
        }
        if self.video_source_id:
            out["video_source_id"] = self.video_source_id
        return out


class Playback:
    __slots__ = (
        "id",
        "media",
        "index",
        "target_uri",
        "language",
        "state",
        "timer",
        "item_length",
        "remaining",
        "started_at",
        "skipms",
        "paused",
    )

    def __init__(self, playback_id: str, media: List[str], target_uri: str, language: str, skipms: int) -> None:
        self.id = playback_id
        self.media = media
        self.index = 0
        self.target_uri = target_uri
        self.language = language
        self.state = "queued"
        self.timer: Any = None
        self.item_length: Optional[float] = None  # None: until stopped
        self.remaining: Optional[float] = None
        self.started_at = 0.0
        self.skipms = skipms
        self.paused = False

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "id": self.id,
            "media_uri": self.media[self.index],
            "target_uri": self.target_uri,
            "language": self.language,
            "state": self.state,
        }
        if self.index + 1 < len(self.media):
            out["next_media_uri"] = self.media[self.index + 1]
        return out


class LiveRecording:
    __slots__ = (
        "name",
        "format",
        "target_uri",
        "state",
        "cause",
        "talking",
        "silent",
        "last",
        "last_audible",
        "timers",
        "silence_timer",
        "max_silence",
        "terminate_on",
        "if_exists",
        "muted",
        "paused",
        "base_sound",
        "frames",
        "started",
        "max_duration",
        "no_audio",
    )

    def __init__(self, name: str, fmt: str, target_uri: str) -> None:
        self.name = name
        self.format = fmt
        self.target_uri = target_uri
        self.state = "queued"
        self.cause: Optional[str] = None
        self.talking = 0.0  # simulated seconds of captured sound
        self.silent = 0.0
        self.last = 0.0
        self.last_audible = False
        self.timers: List[Any] = []
        self.silence_timer: Any = None
        self.max_silence = 0
        self.terminate_on = "none"
        self.if_exists = "fail"
        self.muted = False
        self.paused = False
        self.base_sound = 0.0  # sound already in the file being appended to
        self.started = 0.0
        self.max_duration = 0
        self.no_audio: Any = None  # the "No audio available" end while no frame came yet
        self.frames = 0.0  # simulated seconds audio frames arrived (muted ones included)

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "name": self.name,
            "format": self.format,
            "target_uri": self.target_uri,
            "state": self.state,
        }
        if self.state in ("done", "canceled", "failed"):
            # Asterisk counts the seconds of audio it wrote (none from a leg that sends no
            # frames); the talking / silence split only when silence detection is on.
            out["duration"] = int(self.frames)
            if self.max_silence > 0:
                out["talking_duration"] = int(self.talking)
                out["silence_duration"] = int(self.silent)
        if self.cause:
            out["cause"] = self.cause
        return out


class StoredRecording:
    __slots__ = ("name", "format", "sound", "duration")

    def __init__(self, name: str, fmt: str, sound: float, duration: float) -> None:
        self.name = name
        self.format = fmt
        self.sound = sound  # seconds of captured sound (the file's samples)
        self.duration = duration

    def to_json(self) -> Dict[str, Any]:
        return {"name": self.name, "format": self.format}


class App:
    __slots__ = (
        "name",
        "connected",
        "subscribe_all",
        "bridge_ids",
        "endpoint_ids",
        "device_names",
        "allowed",
        "disallowed",
        "bridge_refs",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.connected = False
        self.subscribe_all = False
        self.bridge_ids: Set[str] = set()
        # Asterisk counts bridge subscriptions: subscribed twice, it takes two unsubscribes.
        self.bridge_refs: Dict[str, int] = {}
        self.endpoint_ids: Set[str] = set()  # "PJSIP/1000" or "PJSIP" (a whole technology)
        self.device_names: Set[str] = set()
        self.allowed: List[Dict[str, Any]] = []
        self.disallowed: List[Dict[str, Any]] = []

    def allows(self, event_type: str) -> bool:
        if self.allowed and not any(f.get("type") == event_type for f in self.allowed):
            return False
        return not any(f.get("type") == event_type for f in self.disallowed)
