"""The seam between the loopback server and whatever answers its requests.

The server (``server.py``) owns sockets, HTTP, auth and checking requests against
the description; a backend (``MockServer``'s stub table, or the Asterisk state
model of ``Simulator``) only turns a checked request into a response and emits
events.  Contract: every backend method and every scheduled callback runs on the
server's single event-loop thread, so a backend needs no locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Protocol


@dataclass(frozen=True)
class SimRequest:
    """A REST request that matched an operation of the description."""

    resource: str  # ARI resource name, e.g. "channels"
    nickname: str  # operation nickname, e.g. "originateWithId"
    method: str  # "POST"
    path: str  # path under /ari, percent-decoded, e.g. "/channels/abc/answer"
    path_params: Dict[str, str]  # percent-decoded
    query: Dict[str, str]  # as sent (last value wins); api_key removed
    body: Any = None  # parsed JSON body, or None
    #: the HTTP request's headers without Authorization; for a RESTRequest on the events
    #: socket, the socket's upgrade request's (as Asterisk passes them)
    headers: Dict[str, str] = field(default_factory=dict)
    #: how it came: "http", or "websocket" (a RESTRequest on the events socket)
    transport: str = "http"


@dataclass
class SimResponse:
    """What the backend answers; ``body`` is JSON-serialisable (None: no body)."""

    status: int
    body: Any = None
    raw: Optional[bytes] = None  # binary payload (e.g. a WAV file) instead of JSON
    content_type: str = "application/json"
    headers: Dict[str, str] = field(default_factory=dict)


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """Simulated time: ``speed`` simulated seconds pass per real second."""

    speed: float

    def call_later(self, sim_seconds: float, fn: Callable[[], None]) -> TimerHandle: ...

    def now(self) -> float:
        """Simulated seconds since the server started."""
        ...

    def timestamp(self) -> str:
        """Asterisk's event timestamp for the simulated now, e.g. 2026-11-26T03:47:35.123+0000."""
        ...


class EventSink(Protocol):
    def send(self, app: str, event: Dict[str, Any]) -> None:
        """Deliver ``event`` to every WebSocket currently registered for ``app``."""
        ...


class Backend(Protocol):
    def bind(self, scheduler: Scheduler, events: EventSink) -> None:
        """Called once by the server before it serves anything."""
        ...

    def handle(self, request: SimRequest) -> SimResponse: ...

    def app_connected(self, app: str, subscribe_all: bool) -> None:
        """A WebSocket registered ``app`` (Asterisk then lists it in /applications).

        Called again, without ``app_disconnected`` in between, when a newer WebSocket takes
        ``app`` over (the old one gets ``ApplicationReplaced``).
        """
        ...

    def app_disconnected(self, app: str) -> None:
        """The last WebSocket of ``app`` closed."""
        ...

    def event_allowed(self, app: str, event_type: str) -> bool:
        """Whether ``app``'s event filter lets ``event_type`` through (the server asks it of
        ``RESTResponse``, which Asterisk filters like any event)."""
        ...
