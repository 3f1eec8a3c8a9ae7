"""A manual clock and a collecting event sink: drive AsteriskState without a server."""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Callable, Dict, List, Optional, Tuple

from ari.testing.asterisk import AsteriskState
from ari.testing.backend import SimRequest, SimResponse


class FakeTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeScheduler:
    """Simulated time that moves only when a test calls ``advance``."""

    speed = 1.0

    def __init__(self) -> None:
        self.t = 0.0
        self._seq = itertools.count()
        self._heap: List[Tuple[float, int, FakeTimer, Callable[[], None]]] = []

    def call_later(self, sim_seconds: float, fn: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer()
        heapq.heappush(self._heap, (self.t + sim_seconds, next(self._seq), timer, fn))
        return timer

    def now(self) -> float:
        return self.t

    def timestamp(self) -> str:
        ms = int(round(self.t * 1000))
        secs, ms = divmod(ms, 1000)
        mins, secs = divmod(secs, 60)
        hours, mins = divmod(mins, 60)
        return f"2026-11-26T{3 + hours:02d}:{mins:02d}:{secs:02d}.{ms:03d}+0000"

    def advance(self, seconds: float = 0.0) -> None:
        end = self.t + seconds
        while self._heap and self._heap[0][0] <= end:
            when, _, timer, fn = heapq.heappop(self._heap)
            self.t = max(self.t, when)
            if not timer.cancelled:
                fn()
        self.t = end


class ListSink:
    def __init__(self) -> None:
        self.events: List[Tuple[str, Dict[str, Any]]] = []

    def send(self, app: str, event: Dict[str, Any]) -> None:
        self.events.append((app, event))


_BY_PARAM = {
    "playbackId": "playbacks",
    "recordingName": "recordings",
    "deviceName": "deviceStates",
    "applicationName": "applications",
    "moduleName": "asterisk",
    "logChannelName": "asterisk",
    "configClass": "asterisk",
    "bridgeId": "bridges",
    "eventName": "events",
    "mailboxName": "mailboxes",
    "soundId": "sounds",
    "channelId": "channels",
    "tech": "endpoints",
}


def _resource_of(path_params: Dict[str, str], nickname: str) -> str:
    """The resource of a request a test wrote without a path."""
    if nickname in ("getGlobalVar", "setGlobalVar"):
        return "asterisk"
    if "bridgeId" in path_params:
        return "bridges"
    for name in path_params:
        if name in _BY_PARAM:
            return _BY_PARAM[name]
    return ""


class Harness:
    """An AsteriskState bound to a FakeScheduler and ListSink, with request helpers."""

    def __init__(self, apps: Tuple[str, ...] = ("app",), subscribe_all: bool = False) -> None:
        self.state = AsteriskState(start_epoch=1790000000)
        self.clock = FakeScheduler()
        self.sink = ListSink()
        self.state.bind(self.clock, self.sink)
        for app in apps:
            self.state.app_connected(app, subscribe_all)

    def req(
        self,
        method: str,
        path: str,
        nickname: str,
        *,
        body: Any = None,
        path_params: Optional[Dict[str, str]] = None,
        query_: Optional[Dict[str, Any]] = None,
        **query: Any,
    ) -> SimResponse:
        query.update(query_ or {})
        resource = path.strip("/").split("/", 1)[0] or _resource_of(path_params or {}, nickname)
        q = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items()}
        return self.state.handle(SimRequest(resource, nickname, method, path, path_params or {}, q, body))

    def types(self, app: Optional[str] = "app") -> List[str]:
        return [e["type"] for a, e in self.sink.events if app is None or a == app]

    def of(self, event_type: str, app: str = "app") -> List[Dict[str, Any]]:
        return [e for a, e in self.sink.events if a == app and e["type"] == event_type]

    def clear(self) -> None:
        self.sink.events.clear()

    def advance(self, seconds: float = 0.0) -> None:
        self.clock.advance(seconds)

    # -- common steps --------------------------------------------------------------------

    def originate(self, endpoint: str = "PJSIP/1000", app: str = "app", **query: Any) -> str:
        r = self.req("POST", "/channels", "originate", endpoint=endpoint, app=app, **query)
        assert r.status == 200, r.body
        return str(r.body["id"])

    def incoming(self, app: str = "app", **kw: Any) -> str:
        return self.state.call(app, **kw)

    def chan(self, chan_id: str, action: str, nickname: str, method: str = "POST", **query: Any) -> SimResponse:
        path = "/channels/" + chan_id + ("/" + action if action else "")
        params = {"channelId": chan_id}
        return self.req(method, path, nickname, path_params=params, **query)

    def bridge(self, bridge_id: str, action: str, nickname: str, method: str = "POST", **query: Any) -> SimResponse:
        path = "/bridges/" + bridge_id + ("/" + action if action else "")
        return self.req(method, path, nickname, path_params={"bridgeId": bridge_id}, **query)
