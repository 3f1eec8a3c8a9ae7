"""``AsteriskState``: the Backend that models an Asterisk 22 behind ``Simulator``.

Its one job is composition and dispatch: it builds the world (``state.world``, which builds
its engines), routes each checked request to the handler of its resource and nickname
(``HANDLERS``, one table from the ``state.rest_*`` modules), turns a ``SimError`` into
Asterisk's JSON error answer, and passes the server's application and test-facing calls to
the engines.  It must not open sockets (that is ``server.py``) nor hold call logic (that is
``state.*``).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from .backend import EventSink, Scheduler, SimRequest, SimResponse
from .dialplan import FarEnd, FarEndSpec
from .errors import SimError
from .machine import DEFAULT_MACHINE, Machine
from .state import rest_bridges, rest_channels, rest_media, rest_system
from .state.objects import Channel
from .state.params import Handler
from .state.world import World

log = logging.getLogger(__name__)

DEFAULT_ENDPOINTS = ("1000", "1001", "1002", "1003")
DEFAULT_ASTERISK_ID = "02:42:ac:11:00:02"

#: Every simulated operation, by (resource, nickname) of the carried description.
HANDLERS: Dict[Tuple[str, str], Handler] = {
    key: handler
    for module in (rest_channels, rest_bridges, rest_media, rest_system)
    for key, handler in module.HANDLERS.items()
}


class AsteriskState:
    """A model of Asterisk 22's ARI-visible state; a ``backend.Backend``."""

    def __init__(
        self,
        *,
        asterisk_id: str = DEFAULT_ASTERISK_ID,
        endpoints: Tuple[str, ...] = DEFAULT_ENDPOINTS,
        start_epoch: Optional[int] = None,
        machine: Machine = DEFAULT_MACHINE,
    ) -> None:
        epoch = int(time.time()) if start_epoch is None else start_epoch
        self.world = World(asterisk_id=asterisk_id, pjsip_endpoints=endpoints, start_epoch=epoch, machine=machine)

    # -- Backend ----------------------------------------------------------------------------

    def bind(self, scheduler: Scheduler, events: EventSink) -> None:
        self.world.bind(scheduler, events)

    def handle(self, request: SimRequest) -> SimResponse:
        resource = request.resource or request.path.strip("/").split("/", 1)[0]
        handler = HANDLERS.get((resource, request.nickname))
        if handler is None:
            return SimResponse(501, {"message": f"Not implemented in the simulator: {resource}.{request.nickname}"})
        try:
            return handler(self.world, request)
        except SimError as e:
            return SimResponse(e.status, {e.key: e.message})

    def app_connected(self, app: str, subscribe_all: bool) -> None:
        self.world.system.app_connected(app, subscribe_all)

    def event_allowed(self, app: str, event_type: str) -> bool:
        return self.world.system.event_allowed(app, event_type)

    def app_disconnected(self, app: str) -> None:
        self.world.system.app_disconnected(app)

    # -- the test-facing side (called on the loop thread) -------------------------------------

    @property
    def events_sent(self) -> List[Dict[str, Any]]:
        return self.world.events_sent

    def add_far_end(self, pattern: str, behaviour: FarEndSpec) -> None:
        self.world.dialplan.add_far_end(pattern, behaviour)

    def call(
        self,
        app: str,
        caller: str = "1000",
        args: Tuple[str, ...] = (),
        endpoint: str = "PJSIP/1000",
        answer: bool = True,
        exten: str = "s",
        far_end: Optional[FarEnd] = None,
    ) -> str:
        """An incoming call from ``endpoint`` whose dialplan runs Stasis(app,args)."""
        gate = self.world.stasis_gate
        if not self.world.registered(app) and not (gate is not None and gate.takes(app)):
            raise ValueError(f"application {app!r} has no WebSocket connected")
        ch = self.world.calls.incoming(app, caller, list(args), endpoint, answer, far_end or FarEnd(ring=0.0), exten)
        return ch.id

    def channel(self, chan_id: str) -> Channel:
        ch = self.world.channels.get(chan_id)
        if ch is None:
            raise KeyError(f"no channel {chan_id!r}")
        return ch

    def dtmf(
        self,
        chan_id: str,
        digits: str,
        gap: float = 0.2,
        duration_ms: int = 100,
        done: Optional[Callable[[], None]] = None,
    ) -> None:
        """The caller presses ``digits``: one ChannelDtmfReceived every ``gap`` seconds."""
        self.world.calls.press(self.channel(chan_id), digits, gap, duration_ms, done)

    def hangup(self, chan_id: str, cause: int = 16) -> None:
        """The far end hangs up."""
        self.world.calls.hangup(self.channel(chan_id), cause, soft=False)

    def message(self, sender: str, endpoint: str, body: str) -> None:
        """A text message arrives from ``endpoint`` (TextMessageReceived to its subscribers)."""
        if endpoint not in self.world.endpoints:
            raise KeyError(f"no endpoint {endpoint!r}")
        tech, _, resource = endpoint.partition("/")
        self.world.system.message_received(endpoint, {"from": sender, "to": f"{tech.lower()}:{resource}", "body": body})

    def is_idle(self) -> bool:
        """No channel, bridge, playback or live recording is left."""
        w = self.world
        return not (w.channels or w.bridges or w.playbacks or w.live_recordings)
