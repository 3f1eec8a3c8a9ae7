"""A Local channel's ;2 half in Answer(): it returns once media flows from the ;1 half, or
after 500 ms without any (``__ast_answer`` in main/channel.c), on the simulator's own clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Iterator

import pytest
import requests
import websocket

from ari.testing import Simulator

APP = "local-app"


def _at(event: Dict[str, Any]) -> float:
    return datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def _half_event(sim: Simulator, event_type: str, app_name: str, start: int = 0) -> Dict[str, Any]:
    return sim.wait_for_event(
        event_type,
        lambda e: e["channel"]["name"].endswith(";2") and e["channel"]["dialplan"]["app_name"] == app_name,
        start=start,
    )


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(speed=1) as s:
        yield s


def _originate(sim: Simulator) -> str:
    answer = requests.post(
        sim.url + "/ari/channels",
        params={"endpoint": "Local/wait@default", "app": APP},
        auth=(sim.username, sim.password),
        timeout=5,
    )
    answer.raise_for_status()
    cid: str = answer.json()["id"]
    sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == cid)
    return cid


def _socket(sim: Simulator) -> Any:
    ws = websocket.create_connection(
        sim.url.replace("http", "ws", 1) + f"/ari/events?app={APP}&api_key=asterisk:asterisk"
    )
    assert sim.server.wait_for_app(APP, 5)
    return ws


def test_answer_returns_after_500_ms_without_media(sim: Simulator) -> None:
    ws = _socket(sim)
    try:
        _originate(sim)
        up = _half_event(sim, "ChannelStateChange", "Answer")
        waiting = _half_event(sim, "ChannelDialplan", "Wait")
        assert waiting["channel"]["dialplan"]["priority"] == 2
        assert 0.45 <= _at(waiting) - _at(up) < 0.8
    finally:
        ws.close()


def test_answer_returns_at_once_when_media_flows(sim: Simulator) -> None:
    ws = _socket(sim)
    try:
        cid = _originate(sim)
        up = _half_event(sim, "ChannelStateChange", "Answer")
        requests.post(
            sim.url + f"/ari/channels/{cid}/play",
            params={"media": "sound:hello-world"},
            auth=(sim.username, sim.password),
            timeout=5,
        ).raise_for_status()
        waiting = _half_event(sim, "ChannelDialplan", "Wait")
        assert _at(waiting) - _at(up) < 0.4
    finally:
        ws.close()


def test_the_other_half_gets_the_variables_and_crossed_caller_id_as_it_is_called(sim: Simulator) -> None:
    # As recorded (originate_app): ast_unreal_call_setup copies ;1's variables, then caller
    # id and connected line, before Dial.
    ws = _socket(sim)
    try:
        start = len(sim.events_sent)
        requests.post(
            sim.url + "/ari/channels",
            params={"endpoint": "Local/wait@default", "app": APP, "callerId": "Alice <1234>"},
            json={"variables": {"MYVAR": "x"}},
            auth=(sim.username, sim.password),
            timeout=5,
        ).raise_for_status()
        sim.wait_for_event("StasisStart", start=start)
        half = [e for e in sim.events_sent[start:] if e.get("channel", {}).get("name", "").endswith(";2")]
        kinds = [e["type"] for e in half]
        assert kinds[:3] == ["ChannelVarset", "ChannelCallerId", "ChannelConnectedLine"]
        assert (half[0]["variable"], half[0]["value"]) == ("MYVAR", "x")
        assert half[1]["channel"]["caller"] == {"name": "Alice", "number": "1234"}
        assert half[2]["channel"]["connected"] == {"name": "Alice", "number": "1234"}
    finally:
        ws.close()


def test_a_playback_far_end_reports_success_when_hung_up(sim: Simulator) -> None:
    ws = _socket(sim)
    try:
        answer = requests.post(
            sim.url + "/ari/channels",
            params={"endpoint": "Local/hello@default", "app": APP},
            auth=(sim.username, sim.password),
            timeout=5,
        )
        cid = answer.json()["id"]
        sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == cid)
        _half_event(sim, "ChannelDialplan", "Playback")
        requests.delete(sim.url + f"/ari/channels/{cid}", auth=(sim.username, sim.password), timeout=5)
        status = sim.wait_for_event("ChannelVarset", lambda e: e["variable"] == "PLAYBACKSTATUS")
        assert status["value"] == "SUCCESS" and status["channel"]["name"].endswith(";2")
    finally:
        ws.close()
