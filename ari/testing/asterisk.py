"""``AsteriskState``: the Backend that models an Asterisk 22 behind ``Simulator``.

Its one job is composition and dispatch: it builds the world (``state.world``) and its
engines, routes each checked request to the handler of its resource and nickname, turns
``AriError`` into Asterisk's JSON error answers, and tracks which applications have a
WebSocket.  It must not open sockets (that is ``server.py``) nor hold call logic (that is
``state.*``).
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple

from .backend import EventSink, Scheduler, SimRequest, SimResponse
from .dialplan import FarEnd, FarEndSpec
from .media_stream import MediaEngine
from .state import rest_bridges, rest_channels, rest_media, rest_system
from .state.calls import CallEngine
from .state.objects import App, Channel
from .state.playback import PlaybackEngine
from .state.recording import RecordingEngine
from .state.world import AriError, World

log = logging.getLogger(__name__)

DEFAULT_ENDPOINTS = ("1000", "1001", "1002", "1003")
DEFAULT_ASTERISK_ID = "02:42:ac:11:00:02"

Handler = Callable[[World, SimRequest], SimResponse]


def _handlers() -> Dict[Tuple[str, str], Handler]:
    table: Dict[Tuple[str, str], Handler] = {}
    for module in (rest_channels, rest_bridges, rest_media, rest_system):
        table.update(module.HANDLERS)
    return table


class AsteriskState:
    """A model of Asterisk 22's ARI-visible state; a ``backend.Backend``."""

    def __init__(self, *, asterisk_id: str = DEFAULT_ASTERISK_ID,
                 endpoints: Tuple[str, ...] = DEFAULT_ENDPOINTS,
                 start_epoch: Optional[int] = None) -> None:
        epoch = int(time.time()) if start_epoch is None else start_epoch
        self.world = World(asterisk_id=asterisk_id, pjsip_endpoints=endpoints,
                           start_epoch=epoch)
        self.world.calls = CallEngine(self.world)
        self.world.playback = PlaybackEngine(self.world)
        self.world.recording = RecordingEngine(self.world)
        self.world.system = rest_system.SystemTables()
        self.world.media = MediaEngine(self.world)  # externalMedia audio (media_stream.py)
        self.world.event_listeners.append(self.world.media.on_event)
        self._handlers = _handlers()

    # -- Backend ----------------------------------------------------------------------------

    def bind(self, scheduler: Scheduler, events: EventSink) -> None:
        self.world.scheduler = scheduler
        self.world.sink = events
        self.world.system.startup = scheduler.timestamp()

    def handle(self, request: SimRequest) -> SimResponse:
        resource = request.resource or request.path.strip("/").split("/", 1)[0]
        handler = self._handlers.get((resource, request.nickname))
        if handler is None:
            return SimResponse(501, {"message": f"Not implemented in the simulator: {resource}.{request.nickname}"})
        try:
            return handler(self.world, request)
        except AriError as e:
            return SimResponse(e.status, {"message": e.message})

    def app_connected(self, app: str, subscribe_all: bool) -> None:
        state = self.world.apps.get(app)
        if state is None:
            state = self.world.apps[app] = App(app)
        state.subscribe_all = (state.subscribe_all and state.connected) or subscribe_all
        state.connected = True

    def event_allowed(self, app: str, event_type: str) -> bool:
        state = self.world.apps.get(app)
        return state is None or state.allows(event_type)

    def app_disconnected(self, app: str) -> None:
        state = self.world.apps.get(app)
        if state is not None:
            state.connected = False
            state.subscribe_all = False

    # -- the test-facing side (called on the loop thread) -------------------------------------

    @property
    def events_sent(self) -> List[Dict[str, Any]]:
        return self.world.events_sent

    def add_far_end(self, pattern: str, behaviour: FarEndSpec) -> None:
        self.world.dialplan.add_far_end(pattern, behaviour)

    def call(self, app: str, caller: str = "1000", args: Tuple[str, ...] = (),
             endpoint: str = "PJSIP/1000", answer: bool = True, exten: str = "s",
             far_end: Optional[FarEnd] = None) -> str:
        """An incoming call from ``endpoint`` whose dialplan runs Stasis(app,args)."""
        if not self.world.registered(app):
            raise ValueError(f"application {app!r} has no WebSocket connected")
        ch = self.world.calls.incoming(app, caller, list(args), endpoint, answer,
                                       far_end or FarEnd(ring=0.0), exten)
        return ch.id

    def channel(self, chan_id: str) -> Channel:
        ch = self.world.channels.get(chan_id)
        if ch is None:
            raise KeyError(f"no channel {chan_id!r}")
        return ch

    def dtmf(self, chan_id: str, digits: str, gap: float = 0.2, duration_ms: int = 100,
             done: Optional[Callable[[], None]] = None) -> None:
        """The caller presses ``digits``: one ChannelDtmfReceived every ``gap`` seconds."""
        ch = self.channel(chan_id)
        for i, digit in enumerate(digits):
            ch.timers.append(self.world.later(
                i * gap, partial(self.world.calls.dtmf_received, ch, digit, duration_ms)))
        if done is not None:
            self.world.later(max(0, len(digits) - 1) * gap, done)

    def hangup(self, chan_id: str, cause: int = 16) -> None:
        """The far end hangs up."""
        self.world.calls.hangup(self.channel(chan_id), cause, soft=False)

    def message(self, sender: str, endpoint: str, body: str) -> None:
        """A text message arrives from ``endpoint`` (TextMessageReceived to its subscribers)."""
        if endpoint not in self.world.endpoints:
            raise KeyError(f"no endpoint {endpoint!r}")
        tech, _, resource = endpoint.partition("/")
        self.world.emit("TextMessageReceived", {
            "message": {"from": sender, "to": f"{tech.lower()}:{resource}",
                        "body": body},
            "endpoint": rest_system.endpoint_json(self.world, endpoint)}, endpoint=endpoint)

    def is_idle(self) -> bool:
        """No channel, bridge, playback or live recording is left."""
        w = self.world
        return not (w.channels or w.bridges or w.playbacks or w.live_recordings)
