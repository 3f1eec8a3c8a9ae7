"""The conformance comparer on hand-made transcripts: what counts as a difference, what not."""

from __future__ import annotations

import copy
from typing import Any, Dict, List

from ari.testing.conformance import Normaliser, Score, compare, shape


def _channel(chan_id: str, name: str = "Local/wait@default-0000001a;1") -> Dict[str, Any]:
    return {"id": chan_id, "name": name, "state": "Up", "creationtime": "2026-12-01T00:20:07.216+0000"}


def _event(kind: str, chan: Dict[str, Any], **fields: Any) -> Dict[str, Any]:
    event = {
        "type": kind,
        "timestamp": "2026-12-01T00:20:07.222+0000",
        "channel": chan,
        "asterisk_id": "02:fc:00:00:00:01",
        "application": "app",
    }
    event.update(fields)
    return event


def transcript(events: List[Dict[str, Any]], status: int = 200) -> Dict[str, Any]:
    return {
        "format": "ari-transcript/1",
        "scenario": "s",
        "area": "channels",
        "doc": "",
        "asterisk": "22.10.1",
        "sockets": [{"app": "app", "subscribeAll": False}],
        "given_ids": ["c1"],
        "ids": {},
        "actions": [
            {
                "step": "go",
                "kind": "rest",
                "method": "POST",
                "path": "/channels",
                "query": {"channelId": "c1"},
                "body": None,
                "status": status,
                "answer": _channel("c1"),
            },
            {
                "step": "go",
                "kind": "wait",
                "type": "StasisStart",
                "match": {"channel.id": "c1"},
                "timeout": 5.0,
                "event": 0,
            },
        ],
        "events": [{"step": "go", "socket": 0, "event": e} for e in events],
    }


def failures(checks: Any) -> List[str]:
    return [c.what for c in checks if not c.ok]


def test_identical_runs_match_everywhere() -> None:
    events = [_event("StasisStart", _channel("c1")), _event("ChannelDestroyed", _channel("c1"), cause=16)]
    checks = compare(transcript(events), transcript(copy.deepcopy(events)))
    assert checks and not failures(checks)


def test_clocks_machines_and_channel_counters_are_normalised() -> None:
    mine = [_event("StasisStart", _channel("c1", "Local/wait@default-00000001;1"))]
    mine[0]["timestamp"] = "2030-01-01T10:00:00.000+0000"
    mine[0]["asterisk_id"] = "aa:bb:cc:dd:ee:ff"
    checks = compare(transcript([_event("StasisStart", _channel("c1"))]), transcript(mine))
    assert not failures(checks)


def test_a_status_a_value_a_missing_and_an_extra_event_each_fail() -> None:
    recorded = transcript(
        [_event("StasisStart", _channel("c1")), _event("ChannelVarset", _channel("c1"), variable="X", value="1")]
    )
    replayed = transcript(
        [_event("StasisStart", _channel("c1")), _event("ChannelDtmfReceived", _channel("c1"), digit="1")], status=201
    )
    replayed["actions"][0]["answer"]["state"] = "Down"
    bad = failures(compare(recorded, replayed))
    assert any(w.endswith(" status") for w in bad)
    assert any(w.endswith(" body values") for w in bad)
    assert any("ChannelVarset" in w for w in bad)  # missing
    assert any("unexpected ChannelDtmfReceived" in w for w in bad)


def test_generated_ids_are_mapped_through_the_replay() -> None:
    recorded = transcript([_event("StasisStart", _channel("1764548000.12"))])
    replayed = transcript([_event("StasisStart", _channel("1790000000.3"))])
    replayed["ids"] = {"1764548000.12": "1790000000.3"}
    assert not failures(compare(recorded, replayed))


def test_durations_compare_as_zero_or_about_the_same() -> None:
    def finished(duration: int) -> Dict[str, Any]:
        return {"type": "RecordingFinished", "recording": {"name": "r", "duration": duration}, "application": "app"}

    def run(duration: int) -> Dict[str, Any]:
        t = transcript([])
        t["events"] = [{"step": "go", "socket": 0, "event": finished(duration)}]
        return t

    assert not failures(compare(run(2), run(3)))
    assert failures(compare(run(0), run(1)))


def test_normaliser_and_shape() -> None:
    norm = Normaliser({"mine-1": "theirs-1"})
    assert norm({"id": "mine-1", "creationtime": "x"}) == {"id": "theirs-1", "creationtime": "<timestamp>"}
    assert shape({"a": [1], "b": None, "c": True}) == {"a": ["number"], "b": "null", "c": "boolean"}
    score = Score()
    assert score.ratio == 1.0
