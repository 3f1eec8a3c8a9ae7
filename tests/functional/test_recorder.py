"""The recorder (python -m ari.testing.record) run against the simulator: any ARI server will do."""

from __future__ import annotations

import json
from pathlib import Path

from ari.testing import Simulator
from ari.testing.record import FORMAT, main, record_one
from ari.testing.scenarios import SCENARIOS


def test_a_recorded_scenario_holds_every_request_answer_and_event_by_step(tmp_path: Path) -> None:
    scenario = next(s for s in SCENARIOS if s.name == "originate_app")
    with Simulator(endpoints=()) as sim:
        transcript = record_one(sim.url, sim.username, sim.password, scenario, tmp_path)
        assert sim.channel_ids() == []  # the scenario hung up what it made
    assert "error" not in transcript
    assert json.loads((tmp_path / "originate_app.json").read_text()) == transcript
    assert transcript["format"] == FORMAT and transcript["asterisk"] == "22.10.1"
    rest = [a for a in transcript["actions"] if a["kind"] == "rest"]
    assert rest[0]["method"] == "POST" and rest[0]["path"] == "/channels"
    assert rest[0]["status"] == 200 and rest[0]["answer"]["id"] == rest[0]["query"]["channelId"]
    waits = [a for a in transcript["actions"] if a["kind"] == "wait"]
    assert all(w["event"] is not None for w in waits)
    steps = {a["step"] for a in transcript["actions"]}
    assert {"originate", "inspect", "hangup"} <= steps
    first = rest[0]["answer"]["id"]
    steps_of = {
        item["event"]["type"]: item["step"]
        for item in transcript["events"]
        if item["event"].get("channel", {}).get("id") == first
    }
    assert steps_of["StasisStart"] == "originate" and steps_of["StasisEnd"] == "hangup"


def test_a_scenario_that_cannot_go_on_is_written_with_its_error(tmp_path: Path) -> None:
    scenario = next(s for s in SCENARIOS if s.name == "dialplan_entry")
    with Simulator(endpoints=(), speed=20) as sim:
        sim.add_far_end("Local/dtmf@default", "busy")  # the far end never answers
        transcript = record_one(sim.url, sim.username, sim.password, scenario, tmp_path, speed=20)
    assert "no StasisStart" in transcript["error"]
    assert transcript["actions"][0]["status"] == 200


def test_the_command_lists_its_scenarios(capsys: object) -> None:
    assert main(["http://127.0.0.1:1", "--list"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    for scenario in SCENARIOS:
        assert scenario.name in out
