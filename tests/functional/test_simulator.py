"""The Simulator over real sockets: plain ``requests`` and ``websocket-client``."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List

import pytest
import requests
import websocket

from ari.testing.simulator import Simulator

AUTH = ("asterisk", "asterisk")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(speed=100) as s:
        yield s


class Events:
    """One app's events WebSocket, read with a bounded timeout."""

    def __init__(self, sim: Simulator, app: str, subscribe_all: bool = False) -> None:
        url = sim.url.replace("http", "ws", 1) + f"/ari/events?app={app}&api_key=asterisk:asterisk"
        if subscribe_all:
            url += "&subscribeAll=true"
        self.ws = websocket.create_connection(url, timeout=5)
        assert sim.server.wait_for_app(app, 5)

    def next(self, event_type: str, limit: int = 50) -> Dict[str, Any]:
        for _ in range(limit):
            event: Dict[str, Any] = json.loads(self.ws.recv())
            if event["type"] == event_type:
                return event
        raise AssertionError(f"no {event_type}")

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def events(sim: Simulator) -> Iterator[Events]:
    ev = Events(sim, "app")
    yield ev
    ev.close()


def api(sim: Simulator, method: str, path: str, **params: Any) -> requests.Response:
    return requests.request(method, sim.url + "/ari" + path, params=params, auth=AUTH, timeout=5)


def test_incoming_call_play_and_hangup(sim: Simulator, events: Events) -> None:
    cid = sim.call("app", args=["a", "b"])
    start = events.next("StasisStart")
    assert start["args"] == ["a", "b"]
    assert start["channel"]["dialplan"]["app_data"] == "app,a,b"
    assert start["asterisk_id"] == sim.server.asterisk_id
    r = api(sim, "POST", f"/channels/{cid}/play", media="sound:hello-world")
    assert r.status_code == 201 and r.json()["state"] == "queued"
    assert events.next("PlaybackStarted")["playback"]["id"] == r.json()["id"]
    assert events.next("PlaybackFinished")["playback"]["state"] == "done"
    sim.hangup(cid)
    # It entered through Stasis() in the dialplan: no ChannelDestroyed reaches the app.
    assert [events.next(t)["type"] for t in ("ChannelHangupRequest", "StasisEnd")]
    sim.wait_idle()


def test_originate_echo_dtmf_and_errors(sim: Simulator, events: Events) -> None:
    r = api(sim, "POST", "/channels", endpoint="Local/echo@default", app="app")
    assert r.status_code == 200 and r.json()["state"] == "Down"
    cid = r.json()["id"]
    assert events.next("StasisStart")["channel"]["state"] == "Up"
    assert api(sim, "POST", f"/channels/{cid}/dtmf", dtmf="5").status_code == 204
    r = api(sim, "POST", "/channels/nope/answer")
    assert (r.status_code, r.json()) == (404, {"message": "Channel not found"})
    assert api(sim, "POST", "/channels", endpoint="PJSIP/ghost", app="app").status_code == 400
    assert api(sim, "DELETE", f"/channels/{cid}").status_code == 204
    # The echoing ;2 half reports the digit as it hangs up (as recorded: local_halves).
    assert events.next("ChannelDtmfReceived")["digit"] == "5"
    sim.wait_idle()


def test_incoming_dtmf_helper(sim: Simulator, events: Events) -> None:
    cid = sim.call("app")
    sim.dtmf(cid, "12#", gap=0.2)
    digits: List[str] = [events.next("ChannelDtmfReceived")["digit"] for _ in range(3)]
    assert digits == ["1", "2", "#"]
    assert sum(e["type"] == "ChannelDtmfReceived" for e in sim.events_sent) == 3


def test_recording_file_over_http(sim: Simulator, events: Events) -> None:
    cid = api(sim, "POST", "/channels", endpoint="Local/moh@default", app="app").json()["id"]
    events.next("StasisStart")
    r = api(sim, "POST", f"/channels/{cid}/record", name="moh", format="wav", maxDurationSeconds=1)
    assert r.status_code == 201
    assert events.next("RecordingFinished")["recording"]["duration"] == 1
    f = api(sim, "GET", "/recordings/stored/moh/file")
    assert f.status_code == 200 and f.headers["Content-Type"].startswith("audio/wav")
    assert len(f.content) > 44 + 8000
    api(sim, "DELETE", f"/channels/{cid}")
    sim.wait_idle()


def test_bridge_created_only_to_subscribe_all(sim: Simulator, events: Events) -> None:
    watcher = Events(sim, "watch", subscribe_all=True)
    try:
        bid = api(sim, "POST", "/bridges", type="mixing").json()["id"]
        assert watcher.next("BridgeCreated")["bridge"]["id"] == bid
        cid = sim.call("app")
        events.next("StasisStart")
        api(sim, "POST", f"/bridges/{bid}/addChannel", channel=cid)
        entered = events.next("ChannelEnteredBridge")
        assert entered["bridge"]["id"] == bid and entered["channel"]["id"] == cid
        api(sim, "POST", "/applications/app/subscription", eventSource=f"bridge:{bid}")
        api(sim, "DELETE", f"/bridges/{bid}")
        events.next("BridgeDestroyed")
        assert not any(e["type"] == "BridgeCreated" and e["application"] == "app" for e in sim.events_sent)
        sim.hangup(cid)
        sim.wait_idle()
    finally:
        watcher.close()


def test_call_requires_connected_app(sim: Simulator) -> None:
    with pytest.raises(TimeoutError):
        sim.call("nobody", timeout=0.1)


def test_far_end_registration(sim: Simulator, events: Events) -> None:
    sim.add_far_end("PJSIP/7*", "busy")
    api(sim, "PUT", "/asterisk/config/dynamic/res_pjsip/endpoint/777")
    r = api(sim, "POST", "/channels", endpoint="PJSIP/777", app="app")
    assert r.status_code == 200
    sim.wait_for_event("ChannelDestroyed", lambda e: e["cause"] == 17)


def test_an_app_subscribed_to_all_lists_the_all_topics(sim: Simulator, events: Events) -> None:
    # As recorded (applications, step list): one forward per kind, named after the topic.
    watcher = Events(sim, "watch", subscribe_all=True)
    try:
        sim.call("app")
        events.next("StasisStart")
        listed = api(sim, "GET", "/applications/watch").json()
        assert listed["channel_ids"] == ["__AST_CHANNEL_ALL_TOPIC"]
        assert listed["bridge_ids"] == ["__AST_BRIDGE_ALL_TOPIC"]
        assert listed["endpoint_ids"] == ["__AST_ENDPOINT_ALL_TOPIC"]
        assert listed["device_names"] == ["__AST_DEVICE_STATE_ALL_TOPIC"]
        assert api(sim, "GET", "/applications/app").json()["bridge_ids"] == []
    finally:
        watcher.close()


def test_an_originate_shows_dials_pseudo_app_to_apps_subscribed_to_all_only(sim: Simulator, events: Events) -> None:
    # As recorded (applications, step call): AppDial2 is set before ARI subscribes the app.
    watcher = Events(sim, "watch", subscribe_all=True)
    try:
        cid = api(sim, "POST", "/channels", endpoint="Local/wait@default", app="app").json()["id"]
        events.next("StasisStart")
        dialplan = [e for e in sim.events_sent if e["type"] == "ChannelDialplan" and e["channel"]["id"] == cid]
        assert [(e["application"], e["dialplan_app"], e["channel"]["state"]) for e in dialplan[:1]] == [
            ("watch", "AppDial2", "Down")
        ]
        assert not any(e["application"] == "app" and e["dialplan_app"] == "AppDial2" for e in dialplan)
    finally:
        watcher.close()
