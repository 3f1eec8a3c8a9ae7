"""Loading and checking descriptions: folders, saved copies, and SpecErrors that say where."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict

import pytest

import ari
from ari.model import build_api
from ari.spec import Description, read_description, resource_names, save_description


def _description(swagger: Dict[str, Dict[str, Any]]) -> Description:
    listing = swagger["resources.json"]
    names = resource_names(listing)
    return Description(listing, {name: swagger[f"{name}.json"] for name in names})


def test_saved_description_reads_back_identically(tmp_path: Path, swagger: Dict[str, Dict[str, Any]]) -> None:
    description = _description(swagger)
    written = save_description(description, str(tmp_path))
    assert (tmp_path / "resources.json").exists() and (tmp_path / "api-docs" / "channels.json").exists()
    assert len(written) == len(description.documents) + 1
    assert read_description(str(tmp_path)) == description


def test_every_resource_and_instance_type(swagger: Dict[str, Dict[str, Any]]) -> None:
    api = build_api(_description(swagger))
    assert list(api.resources) == [
        "asterisk",
        "endpoints",
        "channels",
        "bridges",
        "recordings",
        "sounds",
        "playbacks",
        "deviceStates",
        "mailboxes",
        "events",
        "applications",
    ]
    identities = {name: t.identity for name, t in api.instance_types.items()}
    assert identities["Channel"] == (("channelId", "id"),)
    assert identities["LiveRecording"] == (("recordingName", "name"),)
    assert identities["StoredRecording"] == (("recordingName", "name"),)
    assert identities["Endpoint"] == (("tech", "technology"), ("resource", "resource"))
    assert identities["DeviceState"] == (("deviceName", "name"),)
    assert identities["Application"] == (("applicationName", "name"),)
    live_ops = {op.nickname for op in api.instance_types["LiveRecording"].operations}
    assert live_ops == {"getLive", "cancel", "stop", "pause", "unpause", "mute", "unmute"}
    assert "originate" in {op.nickname for op in api.instance_types["Channel"].operations}
    assert "list" not in {op.nickname for op in api.instance_types["Channel"].operations}


def test_event_fields_come_from_the_event_models(swagger: Dict[str, Dict[str, Any]]) -> None:
    api = build_api(_description(swagger))
    assert api.event_resources["ChannelEnteredBridge"] == {"bridge": "Bridge", "channel": "Channel"}
    assert api.event_resources["PlaybackFinished"] == {"playback": "Playback"}
    assert api.event_resources["ApplicationReplaced"] == {}
    assert len(api.event_types) >= 40


def test_a_new_event_type_in_the_description_is_known(swagger: Dict[str, Dict[str, Any]]) -> None:
    events = copy.deepcopy(swagger["events.json"])
    events["models"]["Event"]["subTypes"].append("ChannelTeleported")
    events["models"]["ChannelTeleported"] = {
        "id": "ChannelTeleported",
        "properties": {"channel": {"type": "Channel", "required": True}, "planet": {"type": "string"}},
    }
    description = _description({**swagger, "events.json": events})
    assert build_api(description).event_resources["ChannelTeleported"] == {"channel": "Channel"}


@pytest.mark.parametrize(
    ("file", "mutate", "where", "problem"),
    [
        (
            "channels.json",
            lambda d: d["apis"][0]["operations"][0].pop("nickname"),
            "channels.json: apis[0]",
            "nickname",
        ),
        (
            "bridges.json",
            lambda d: d["apis"][0]["operations"][0].update(httpMethod="FETCH"),
            "bridges.json",
            "httpMethod",
        ),
        (
            "channels.json",
            lambda d: d["apis"][2]["operations"][0].update(responseClass="Chanel"),
            "channels.json",
            "unknown model 'Chanel'",
        ),
        (
            "bridges.json",
            lambda d: d["apis"][1]["operations"][0]["parameters"].pop(1),
            "bridges.json",
            "path parameter {bridgeId}",
        ),
        ("sounds.json", lambda d: d.update(apis="nope"), "sounds.json: apis", "expected a list"),
        (
            "playbacks.json",
            lambda d: d["apis"][1]["operations"][0]["parameters"][1].update(allowableValues={"valueType": "SET"}),
            "playbacks.json",
            "valueType",
        ),
    ],
)
def test_invalid_description_names_file_and_problem(swagger, file, mutate, where, problem) -> None:  # type: ignore[no-untyped-def]
    broken = copy.deepcopy(swagger)
    mutate(broken[file])
    with pytest.raises(ari.SpecError) as caught:
        build_api(_description(broken))
    assert where in str(caught.value) and problem in str(caught.value)


def test_folder_errors_name_the_file(tmp_path: Path, swagger: Dict[str, Dict[str, Any]]) -> None:
    with pytest.raises(ari.SpecError, match="resources.json: file not found"):
        read_description(str(tmp_path))
    save_description(_description(swagger), str(tmp_path))
    (tmp_path / "api-docs" / "sounds.json").write_text("{not json")
    with pytest.raises(ari.SpecError, match=r"sounds.json: not valid JSON \(line 1"):
        read_description(str(tmp_path))
    (tmp_path / "resources.json").write_text(json.dumps({"apis": [{"path": "/elsewhere/x.json"}]}))
    with pytest.raises(ari.SpecError, match=r"apis\[0\]: unexpected api path"):
        read_description(str(tmp_path))


def _fetcher(swagger: Dict[str, Dict[str, Any]], delay: float, threads: set) -> Any:
    import threading
    import time

    def fetch(path: str) -> Any:
        threads.add(threading.current_thread().name)
        time.sleep(delay)
        return swagger[path.rsplit("/", 1)[1]]

    return fetch


def test_fetch_is_concurrent_when_the_server_is_far(swagger: Dict[str, Dict[str, Any]]) -> None:
    from ari.spec import NEAR_ROUND_TRIP, fetch_description

    threads: set = set()
    description = fetch_description(_fetcher(swagger, NEAR_ROUND_TRIP * 2, threads))
    assert description == _description(swagger)
    assert len({t for t in threads if t.startswith("ari-spec")}) > 1


def test_fetch_is_sequential_on_loopback(swagger: Dict[str, Dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from ari import spec
    from ari.spec import fetch_description

    # A first answer under the threshold means loopback.  The threshold is raised here because a
    # loaded machine can deschedule this thread for longer than 3 ms between two clock reads.
    monkeypatch.setattr(spec, "NEAR_ROUND_TRIP", 60.0)
    threads: set = set()
    assert fetch_description(_fetcher(swagger, 0, threads)) == _description(swagger)
    assert threads == {threading.current_thread().name}
