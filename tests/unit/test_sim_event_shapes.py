"""Every event type the simulator sends matches its model in the carried description.

A scenario with a subscribeAll socket drives the state model through each kind of event;
each event is then checked field by field: names exist in the model (or its parents),
required ones are present, types match (string, int, long, boolean, double, Date, object,
List[...], nested models recursively) and values are allowed.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Set

import pytest

from ari.testing import description

from .sim_fakes import Harness

DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
PRIMITIVE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "Date": lambda v: isinstance(v, str) and DATE.match(v) is not None,
    "object": lambda v: isinstance(v, dict),
}

# Everything the simulator can send; the scenario must produce each at least once.
SENT_TYPES = {
    "ChannelCreated",
    "ChannelDestroyed",
    "ChannelStateChange",
    "Dial",
    "StasisStart",
    "StasisEnd",
    "ChannelHangupRequest",
    "ChannelDtmfReceived",
    "ChannelVarset",
    "ChannelEnteredBridge",
    "ChannelLeftBridge",
    "BridgeCreated",
    "BridgeDestroyed",
    "BridgeVideoSourceChanged",
    "PlaybackStarted",
    "PlaybackContinuing",
    "PlaybackFinished",
    "RecordingStarted",
    "RecordingFinished",
    "ApplicationMoveFailed",
    "DeviceStateChanged",
    "TextMessageReceived",
    "ChannelUserevent",
    "ChannelDialplan",
}


@pytest.fixture(scope="module")
def models() -> Dict[str, Dict[str, Any]]:
    return description.all_models(description.load())


def _properties(models: Dict[str, Dict[str, Any]], name: str) -> Dict[str, Dict[str, Any]]:
    props: Dict[str, Dict[str, Any]] = {}
    for parent_name, parent in models.items():
        if name in parent.get("subTypes", []):
            props.update(_properties(models, parent_name))
    props.update(models[name].get("properties", {}))
    return props


def check(models: Dict[str, Dict[str, Any]], type_name: str, value: Any, where: str, problems: List[str]) -> None:
    if type_name.startswith("List[") and type_name.endswith("]"):
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list, got {value!r}")
            return
        for i, item in enumerate(value):
            check(models, type_name[5:-1], item, f"{where}[{i}]", problems)
        return
    if type_name in PRIMITIVE_CHECKS:
        if not PRIMITIVE_CHECKS[type_name](value):
            problems.append(f"{where}: {value!r} is not a {type_name}")
        return
    if type_name not in models:
        problems.append(f"{where}: unknown model {type_name}")
        return
    if not isinstance(value, dict):
        problems.append(f"{where}: expected a {type_name} object, got {value!r}")
        return
    props = _properties(models, type_name)
    for key, item in value.items():
        if key not in props:
            problems.append(f"{where}.{key}: not a field of {type_name}")
            continue
        check(models, props[key]["type"], item, f"{where}.{key}", problems)
        allowed = props[key].get("allowableValues", {})
        if allowed.get("valueType") == "LIST" and item not in allowed.get("values", []):
            problems.append(f"{where}.{key}: {item!r} not allowed")
    for key, prop in props.items():
        if prop.get("required") and key not in value:
            problems.append(f"{where}.{key}: required by {type_name} but missing")


def scenario() -> Harness:
    h = Harness(apps=("app", "watch"))
    h.state.app_connected("watch", True)
    ap = {"applicationName": "watch"}
    h.req("POST", "", "subscribe", path_params=ap, eventSource="deviceState:Stasis:d,endpoint:PJSIP/1000")
    cid = h.originate("Local/echo@default", appArgs="x")
    h.advance(0.1)
    h.chan(cid, "dtmf", "sendDTMF", dtmf="1")
    h.chan(cid, "variable", "setChannelVar", variable="V", value="1")
    h.chan(cid, "play", "play", media="sound:hello-world,digits:1")
    h.chan(cid, "record", "record", name="r", format="wav")
    h.advance(3)
    h.req("POST", "", "stop", path_params={"recordingName": "r"})
    other = h.incoming()
    bid = h.req("POST", "/bridges", "create").body["id"]
    h.bridge(bid, "addChannel", "addChannel", channel=f"{cid},{other}")
    h.req("POST", "", "setVideoSource", path_params={"bridgeId": bid, "channelId": cid})
    h.req("POST", "", "setVideoSource", path_params={"bridgeId": bid, "channelId": other})
    h.bridge(bid, "", "destroy", "DELETE")
    h.chan(other, "move", "move", app="ghost", appArgs="a")
    h.req("PUT", "", "update", path_params={"deviceName": "Stasis:d"}, deviceState="INUSE")
    h.state.message("sip:bob@example.com", "PJSIP/1000", "hello")
    h.req(
        "POST",
        "",
        "userEvent",
        path_params={"eventName": "e"},
        application="app",
        source=f"channel:{cid},endpoint:PJSIP/1000",
        body={"variables": {"a": "b"}},
    )
    h.chan(cid, "", "hangup", "DELETE")
    h.state.hangup(other, 17)
    h.originate("Local/busy@default")
    h.advance(1)
    return h


def test_scenario_covers_every_event_type_the_simulator_sends() -> None:
    sent: Set[str] = {e["type"] for _, e in scenario().sink.events}
    assert SENT_TYPES <= sent, sorted(SENT_TYPES - sent)
    assert sent <= SENT_TYPES, sorted(sent - SENT_TYPES)


def test_every_event_matches_its_model(models: Dict[str, Dict[str, Any]]) -> None:
    problems: List[str] = []
    events = scenario().sink.events
    assert events
    for app, event in events:
        assert event["application"] == app
        assert event["asterisk_id"]
        check(models, event["type"], event, event["type"], problems)
    assert not problems, "\n".join(sorted(set(problems)))


@pytest.mark.parametrize("event_type", sorted(SENT_TYPES))
def test_event_type_has_a_model(models: Dict[str, Dict[str, Any]], event_type: str) -> None:
    assert event_type in models
