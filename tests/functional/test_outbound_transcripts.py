"""Outbound connections as a real Asterisk 22.10.1 made them (tests/fixtures/outbound), replayed.

``percall.json``: a per-call connection (``connection_type = per_call_config``) for a call
originated into ``ob-percall`` and hung up over HTTP.  ``persistent_reconnect.json``: a
persistent connection (apps ``ob-persist,ob-persist2``, Basic auth ``app:secret``) coming back
after the application was down during a whole call: the queued events first, then one
``ApplicationRegistered`` per app.  Each entry is ``{"t": seconds, "connect"|"frame"|"close": ...}``.

The server must make of them what the application expects, and the simulator must connect
out the way they show.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from websockets.sync.client import connect
from websockets.sync.server import ServerConnection, serve

import ari
from ari.outbound import OutboundClient
from ari.testing import Simulator
from ari.testing.description import load, render_swagger
from ari.testing.outbound import Outbound

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "outbound"


def transcript(name: str) -> List[Dict[str, Any]]:
    return json.loads((FIXTURES / name).read_text())


def wait_until(predicate: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)
    return predicate()


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("spec")
    for name, document in render_swagger(load(), "http://127.0.0.1:8088/ari").items():
        (folder / name).write_text(json.dumps(document))
    return str(folder)


def replay(url: str, entries: List[Dict[str, Any]], headers: Any = None, until: Any = None) -> None:
    """Play Asterisk's side: the frames in order (gaps shortened), then its close, or wait ``until``."""
    with connect(url, subprotocols=["ari"], additional_headers=headers) as ws:  # type: ignore[list-item]
        last = entries[0]["t"]
        for entry in entries:
            time.sleep(min(0.05, (entry["t"] - last) / 20))
            last = entry["t"]
            if "frame" in entry:
                ws.send(json.dumps(entry["frame"]))
            elif "close" in entry:
                ws.close(entry["close"])
        if until is not None:
            assert wait_until(until)


def test_a_recorded_per_call_connection(spec: str) -> None:
    entries = transcript("percall.json")
    app = entries[1]["frame"]["application"]
    seen: List[Any] = []
    calls: List[OutboundClient] = []
    with ari.serve("127.0.0.1", 0, spec=spec) as server:

        @server.on_call
        def call(client: OutboundClient) -> None:
            calls.append(client)
            client.on("StasisStart", lambda event, channel: seen.append(("StasisStart", channel.id, event.args)))
            client.on("StasisEnd", lambda event, channel: seen.append(("StasisEnd", channel.id)))

        replay(server.ws_url + "/ari", entries[1:])
        assert wait_until(lambda: calls and calls[0].finished.is_set())
        assert [c.application for c in calls] == [app] and app.startswith("ob-percall:Local/")
        assert calls[0].asterisk_id == entries[1]["frame"]["asterisk_id"] and calls[0].per_call
        assert seen == [("StasisStart", "obtest3", []), ("StasisEnd", "obtest3")]
        assert server.calls == []


def test_a_recorded_reconnect_that_starts_with_queued_events(spec: str) -> None:
    entries = transcript("persistent_reconnect.json")
    assert entries[0]["connect"]["authorization"] == "Basic YXBwOnNlY3JldA=="  # app:secret
    types: List[str] = []
    with ari.serve("127.0.0.1", 0, spec=spec, username="app", password="secret") as server:
        server.on("StasisStart", lambda event, channel: types.append("StasisStart"))
        server.on("StasisEnd", lambda event, channel: types.append("StasisEnd"))
        server.on("ApplicationRegistered", lambda event: types.append(event.application))
        frames = [e for e in entries if "frame" in e]
        replay(server.ws_url + "/ari", frames, {"Authorization": "Basic YXBwOnNlY3JldA=="}, lambda: len(types) == 4)
        assert types == ["StasisStart", "StasisEnd", "ob-persist", "ob-persist2"]
        client = server.client("02:fc:00:00:00:01")
        assert client.application == "ob-persist" and not client.per_call  # the first frame names it


class Recorder:
    """A bare WebSocket server writing down what connects to it, as the fixtures were made."""

    def __init__(self, port: int = 0) -> None:
        self.entries: List[Dict[str, Any]] = []
        self.server = serve(self._handle, "127.0.0.1", port, subprotocols=["ari"])  # type: ignore[list-item]
        self.port = self.server.socket.getsockname()[1]
        self.t0 = time.monotonic()
        self.thread = threading.Thread(target=self.server.serve_forever, name="recorder", daemon=True)
        self.thread.start()

    def _handle(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        self._add(connect={"path": request.path, "authorization": request.headers.get("Authorization"),
                           "protocol": request.headers.get("Sec-WebSocket-Protocol")})  # fmt: skip
        try:
            for message in ws:
                self._add(frame=json.loads(message))
        finally:
            self._add(close=ws.close_code)

    def _add(self, **entry: Any) -> None:
        self.entries.append({"t": time.monotonic() - self.t0, **entry})

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(5)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.stop()


def shape(entries: List[Dict[str, Any]]) -> List[Any]:
    return [
        ("connect", e["connect"]["protocol"]) if "connect" in e else ("close", e["close"]) if "close" in e
        else e["frame"]["type"]
        for e in entries
    ]  # fmt: skip


def test_the_simulator_connects_per_call_as_asterisk_does(recorder: Recorder) -> None:
    speed = 10.0
    real = transcript("percall.json")
    with Simulator(speed=speed, outbound=f"ws://127.0.0.1:{recorder.port}/ari", mode="per_call") as sim:
        channel_id = sim.call("ob-percall")
        assert wait_until(lambda: any(e.get("frame", {}).get("type") == "StasisStart" for e in recorder.entries))
        sim.hangup(channel_id)
        assert wait_until(lambda: "close" in recorder.entries[-1], 3.0)
    mine = recorder.entries
    assert shape(mine) == shape(real)
    name = sim.events_sent[0]["channel"]["name"]
    assert mine[1]["frame"]["application"] == f"ob-percall:{name}" and mine[0]["connect"]["path"] == "/ari"

    def gap(entries: List[Dict[str, Any]], a: int, b: int) -> float:
        return float(entries[b]["t"] - entries[a]["t"])

    # ApplicationRegistered to StasisStart, and StasisEnd to the close: simulated seconds as measured.
    assert abs(gap(mine, 1, 2) * speed - gap(real, 1, 2)) < 0.3
    assert abs(gap(mine, 4, 5) * speed - 3.0) < 0.5 and 3.0 <= gap(real, 4, 5) <= 4.0


def test_the_simulator_reconnects_persistently_as_asterisk_does(recorder: Recorder) -> None:
    real = transcript("persistent_reconnect.json")
    url = f"ws://127.0.0.1:{recorder.port}/ari"
    outbound = Outbound(url, apps=("ob-persist", "ob-persist2"), username="app", password="secret")
    with Simulator(speed=20, outbound=outbound) as sim:
        assert wait_until(lambda: len(recorder.entries) >= 3)
        assert recorder.entries[0]["connect"] == real[0]["connect"]
        assert [e["frame"]["application"] for e in recorder.entries[1:3]] == ["ob-persist", "ob-persist2"]
        recorder.stop()  # the application goes away during a whole call
        channel_id = sim.call("ob-persist")
        sim.hangup(channel_id)
        sim.wait_for_event("StasisEnd")
        again = Recorder(recorder.port)
        try:
            assert wait_until(lambda: len(again.entries) >= 2 and again.entries[-1].get("frame", {}).get(
                "application") == "ob-persist2")  # fmt: skip
        finally:
            again.stop()
    mine = shape([e for e in again.entries if "close" not in e])
    theirs = shape([e for e in real if "close" not in e])
    assert mine[0] == theirs[0] and mine[-2:] == theirs[-2:] == ["ApplicationRegistered"] * 2
    for kind in ("StasisStart", "StasisEnd"):  # the queued call, before the new registrations
        assert mine.index(kind) < len(mine) - 2 and theirs.index(kind) < len(theirs) - 2


def test_a_call_over_before_its_client_is_made_is_still_delivered(spec: str) -> None:
    entries = [dict(e, t=0) for e in transcript("percall.json")[1:]]  # the whole call at once, then the close
    seen: List[str] = []
    calls: List[OutboundClient] = []
    with ari.serve("127.0.0.1", 0, spec=spec) as server:

        @server.on_call
        def call(client: OutboundClient) -> None:
            time.sleep(0.2)  # a slow set-up: the socket is closed before it returns
            calls.append(client)
            client.on("StasisStart", lambda event, channel: seen.append("StasisStart"))
            client.on("StasisEnd", lambda event, channel: seen.append("StasisEnd"))

        replay(server.ws_url + "/ari", entries)
        assert wait_until(lambda: calls and calls[0].finished.is_set())
        assert seen == ["StasisStart", "StasisEnd"] and server.calls == []


def test_a_recorded_asterisk_restart(spec: str) -> None:
    """``persistent_asterisk_restart.json``: ``run.sh restart`` under a persistent connection.

    The socket dropped with no close frame (1006) as Asterisk stopped; 4.4 s later the new
    process connected with the same ``asterisk_id`` and registered again.
    """
    entries = transcript("persistent_asterisk_restart.json")
    closes = [e for e in entries if "close" in e]
    assert closes[0]["close"] == 1006
    first = entries[: entries.index(closes[0])]
    second = [e for e in entries[entries.index(closes[0]) + 1 :] if "close" not in e]
    connected: List[Any] = []
    made: List[OutboundClient] = []
    with ari.serve("127.0.0.1", 0, spec=spec) as server:
        server.on_connect(made.append)
        server.on("WebSocketConnected", lambda event: connected.append(event.reconnected))
        url = server.ws_url + "/ari"
        with connect(url, subprotocols=["ari"]) as ws:  # type: ignore[list-item]
            for entry in first:
                if "frame" in entry:
                    ws.send(json.dumps(entry["frame"]))
            assert wait_until(lambda: connected == [False])
            ws.socket.close()  # Asterisk stopping: no close frame
            ws.recv_events_thread.join(5)
        assert wait_until(lambda: not made[0].connected)
        replay(url, second, until=lambda: connected == [False, True])
        assert len(made) == 1 and server.client(entries[1]["frame"]["asterisk_id"]) is made[0]


def test_frames_that_arrive_with_the_close_are_all_delivered(spec: str) -> None:
    entries = [e for e in transcript("percall.json") if "frame" in e]
    registered, rest = entries[0]["frame"], [e["frame"] for e in entries[1:]]
    seen: List[str] = []
    calls: List[OutboundClient] = []
    with ari.serve("127.0.0.1", 0, spec=spec) as server:

        @server.on_call
        def call(client: OutboundClient) -> None:
            calls.append(client)
            client.on("ApplicationRegistered", lambda event: seen.append("ApplicationRegistered"))
            client.on("StasisStart", lambda event, channel: seen.append("StasisStart"))
            client.on("StasisEnd", lambda event, channel: seen.append("StasisEnd"))

        with connect(server.ws_url + "/ari", subprotocols=["ari"]) as ws:  # type: ignore[list-item]
            ws.send(json.dumps(registered))
            assert wait_until(lambda: seen == ["ApplicationRegistered"])
            for frame in rest:  # the rest of the call and the close in one go, read together
                ws.send(json.dumps(frame))
            ws.close(1000)
        assert wait_until(lambda: calls and calls[0].finished.is_set())
        assert seen == ["ApplicationRegistered", "StasisStart", "StasisEnd"]


def test_a_call_the_application_closed_while_it_waited_leaves_no_timer_when_asterisk_comes_back(spec: str) -> None:
    """The call's connection drops before StasisEnd (a timer waits for Asterisk to come back),
    the application closes that call's client, then Asterisk reconnects for the same call: the
    new connection gets a new client, and the old one's timer must end with the server."""
    frames = [e["frame"] for e in transcript("percall.json") if "frame" in e]
    made: List[OutboundClient] = []

    def lingering() -> List[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "ari-outbound-linger" and t.is_alive()]

    server = ari.serve("127.0.0.1", 0, spec=spec)
    try:
        server.on_call(made.append)
        url = server.ws_url + "/ari"
        with connect(url, subprotocols=["ari"]) as ws:  # type: ignore[list-item]
            for frame in frames[:2]:  # ApplicationRegistered, StasisStart; then the socket goes
                ws.send(json.dumps(frame))
            assert wait_until(lambda: made and made[0].connected)
        assert wait_until(lambda: lingering())
        made[0].close()  # the application gives the call up meanwhile
        assert server.calls == []  # closed: no longer listed, though its slot waits
        with connect(url, subprotocols=["ari"]) as ws:  # type: ignore[list-item]
            ws.send(json.dumps(frames[0]))
            assert wait_until(lambda: len(made) == 2)
        server.stop()
        for timer in lingering():
            timer.join(2)
        assert not lingering()
    finally:
        server.stop()
