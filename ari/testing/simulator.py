"""``Simulator``: a loopback ARI server backed by the Asterisk 22 state model.

Its one job is the test-facing surface: it serves ``AsteriskState`` through
``LoopbackServer`` and offers what a test needs to play the far side of calls (an incoming
call, DTMF, a far-end hangup, custom far ends, an incoming text message) and to wait and
assert (``events_sent``, ``wait_for_event``, ``wait_idle``).  Every action is marshalled onto
the server's loop thread and returns once its effect has happened.  It must hold no call
logic of its own.
"""

from __future__ import annotations

import ssl
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from .asterisk import DEFAULT_ENDPOINTS, AsteriskState
from .dialplan import FarEnd, FarEndSpec
from .machine import DEFAULT_MACHINE, Machine
from .outbound import Outbound, OutboundConnections
from .server import LoopbackServer

Event = Dict[str, Any]


class Simulator:
    """A simulated Asterisk 22 on a local port.

    ``speed`` simulated seconds pass per real second (tests use 50-200 so that a 10 s
    playback takes a fraction of a second).  Use as a context manager or ``start``/``stop``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "asterisk",
        password: str = "asterisk",
        description: Optional[Dict[str, Any]] = None,
        speed: float = 1.0,
        endpoints: Sequence[str] = DEFAULT_ENDPOINTS,
        ssl_context: Optional[ssl.SSLContext] = None,
        outbound: Union[None, str, Outbound, Sequence[Outbound]] = None,
        mode: str = "persistent",
        apps: Sequence[str] = (),
        machine: Machine = DEFAULT_MACHINE,
    ) -> None:
        """``outbound``: connect out to an application's WebSocket server as Asterisk's
        ``outbound_websocket`` does: a ws:// URL (with ``mode`` "persistent" or "per_call"
        and ``apps``), or ``testing.outbound.Outbound`` values.  ``machine``: the installation's
        configuration facts (limits, loaded config classes, installed sounds; ``testing.machine``)."""
        self.state = AsteriskState(endpoints=tuple(endpoints), machine=machine)
        self.server = LoopbackServer(
            self.state,
            host=host,
            port=port,
            username=username,
            password=password,
            description=description,
            speed=speed,
            ssl_context=ssl_context,
        )
        # One asterisk_id per simulator, the same in events, /asterisk/info and ping.
        self.state.world.asterisk_id = self.server.asterisk_id
        self._changed = threading.Condition()
        self.state.world.event_listeners.append(self._on_event)
        if isinstance(outbound, str):
            outbound = Outbound(outbound, apps=tuple(apps), mode=mode)
        specs = [outbound] if isinstance(outbound, Outbound) else list(outbound or ())
        self.outbound = OutboundConnections(self.server, self.state.world, specs) if specs else None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Simulator:
        self.server.start(timeout)
        if self.outbound is not None:
            self.outbound.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        try:  # media streams end (their sockets closed) before their loop does
            self.server.call_in_loop(self.state.world.media.close_all, timeout=timeout)
        except RuntimeError:  # never started, or already stopped
            pass
        if self.outbound is not None:
            self.outbound.stop(timeout)
        self.server.stop(timeout)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def username(self) -> str:
        return self.server.username

    @property
    def password(self) -> str:
        return self.server.password

    @property
    def speed(self) -> float:
        return self.server.speed

    def _real(self, sim_seconds: float) -> float:
        return sim_seconds / self.server.speed

    # -- playing the far side ----------------------------------------------------------------

    def call(
        self,
        app: str,
        caller: str = "1000",
        args: Sequence[str] = (),
        endpoint: str = "PJSIP/1000",
        answer: bool = True,
        exten: str = "s",
        far_end: Optional[FarEnd] = None,
        timeout: float = 5.0,
    ) -> str:
        """An incoming call entering Stasis(app, args); returns the channel id.

        Waits (up to ``timeout`` real seconds) for ``app``'s WebSocket, as Stasis() on a
        real Asterisk fails for an application nobody holds.
        """
        per_call = self.outbound is not None and self.server.call_in_loop(self.outbound.takes, app)
        if not per_call and not self.server.wait_for_app(app, timeout):
            raise TimeoutError(f"application {app!r} did not connect within {timeout}s")
        return self.server.call_in_loop(self.state.call, app, caller, tuple(args), endpoint, answer, exten, far_end)

    def dtmf(self, channel_id: str, digits: str, gap: float = 0.2, duration_ms: int = 100) -> None:
        """The caller presses ``digits``, ``gap`` simulated seconds apart; returns after the
        last ChannelDtmfReceived was sent."""
        done = threading.Event()
        self.server.call_in_loop(self.state.dtmf, channel_id, digits, gap, duration_ms, done.set)
        if not done.wait(self._real(gap * len(digits)) + 5.0):
            raise TimeoutError("the DTMF was not delivered in time")

    def hangup(self, channel_id: str, cause: int = 16) -> None:
        """The far end hangs up: ChannelHangupRequest, StasisEnd, ChannelDestroyed."""
        self.server.call_in_loop(self.state.hangup, channel_id, cause)

    def add_far_end(self, pattern: str, behaviour: FarEndSpec) -> None:
        """Who answers calls to endpoints matching ``pattern`` (exact or glob)."""
        self.server.call_in_loop(self.state.add_far_end, pattern, behaviour)

    def message(self, sender: str, endpoint: str, body: str) -> None:
        """A text message arrives from ``endpoint`` (e.g. "PJSIP/1000")."""
        self.server.call_in_loop(self.state.message, sender, endpoint, body)

    def add_websocket_client(self, name: str, uri: str) -> None:
        """A websocket_client.conf connection: externalMedia with ``connection_type=client`` and
        ``external_host=name`` makes the simulator dial ``uri`` (the application's media server)."""

        def add() -> None:
            self.state.world.media.clients[name] = uri

        self.server.call_in_loop(add)

    def heard(self, channel_id: str, fmt: str = "slin16") -> bytes:
        """The audio the far end of ``channel_id`` heard from externalMedia channels bridged with
        it (the application's own audio, as played out), in ``fmt``; the last minute of it."""
        return self.server.call_in_loop(self.state.world.media.heard_audio, channel_id, fmt)

    def channel_ids(self) -> List[str]:
        return self.server.call_in_loop(lambda: list(self.state.world.channels))

    # -- waiting and asserting ---------------------------------------------------------------

    def _on_event(self, app: str, event: Event) -> None:
        with self._changed:
            self._changed.notify_all()

    @property
    def events_sent(self) -> List[Event]:
        """Every event sent so far (each carries its ``application``), oldest first."""
        return list(self.state.events_sent)

    def wait_for_event(
        self, event_type: str, predicate: Optional[Callable[[Event], bool]] = None, timeout: float = 5.0, start: int = 0
    ) -> Event:
        """The first sent event of ``event_type`` (from index ``start``) matching
        ``predicate``; waits up to ``timeout`` real seconds."""

        def find() -> Optional[Event]:
            for event in self.state.events_sent[start:]:
                if event["type"] == event_type and (predicate is None or predicate(event)):
                    return event
            return None

        with self._changed:
            found: List[Event] = []

            def ready() -> bool:
                event = find()
                if event is not None:
                    found.append(event)
                return event is not None

            if not self._changed.wait_for(ready, timeout):
                raise TimeoutError(f"no {event_type} event within {timeout}s")
        return found[0]

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no channel, bridge, playback or live recording is left."""
        deadline = time.monotonic() + timeout
        # Never hold the condition while asking the loop: its listener takes it too.
        while not self.server.call_in_loop(self.state.is_idle):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the simulator was not idle within {timeout}s")
            with self._changed:
                # Most changes that make the model idle send an event; the short bound
                # covers those no connected app hears about.
                self._changed.wait(min(remaining, 0.05))
