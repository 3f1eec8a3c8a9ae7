"""The simulator's media against what a real Asterisk 22.10.1 did (tests/functional/data/media-22.10.1.json).

The facts were recorded by ``scripts/record_media_facts.py`` against a real Asterisk, speaking
the media protocols with the plain ``websockets`` client and a UDP socket; here the same script
runs against the simulator and the two records are compared.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator

import pytest

from ari.testing import Simulator
from ari.testing.dialplan import FarEnd

ROOT = Path(__file__).resolve().parents[2]
RECORDED = json.loads((Path(__file__).parent / "data" / "media-22.10.1.json").read_text())


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("record_media_facts", ROOT / "scripts" / "record_media_facts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def simulated() -> Iterator[Dict[str, Any]]:
    script = _script()
    script.SETTLE = 0.2
    script.DTMF_WINDOW = 0.8
    with Simulator(speed=1.0) as sim:
        sim.add_far_end("Local/dtmf@default", FarEnd(ring=0.0, dtmf="123#", dtmf_gap=0.25))
        yield script.record(sim.url, sim.username, sim.password)


EXACT = [
    "ws_answer",
    "ws_media_start",
    "ws_status",
    "ws_status_paused",
    "ws_set_direction_plain",
    "ws_mark",
    "ws_mark_without_id",
    "ws_buffering_completed",
    "ws_queue_drained",
    "ws_unknown_command_answers",
    "ws_second_connection_status",
    "ws_unknown_connection_status",
    "ws_burst_status",
    "ws_burst_texts_before_status",
    "ws_burst_xon",
    "ws_closed_on_delete",
    "ws_json_media_start_keys",
    "ws_json_optimal_frame_size",
    "ws_json_status_keys",
    "ws_json_error_when_in",
]


@pytest.mark.parametrize("key", EXACT)
def test_the_same_texts_and_statuses(simulated: Dict[str, Any], key: str) -> None:
    assert simulated[key] == RECORDED[key]


def test_timing_and_frames(simulated: Dict[str, Any]) -> None:
    # Timings on a loaded machine: within a few frames of what Asterisk did.
    assert abs(simulated["ws_mark_after_half_second"] - RECORDED["ws_mark_after_half_second"]) < 0.15
    assert abs(simulated["ws_burst_xon_after_seconds"] - RECORDED["ws_burst_xon_after_seconds"]) <= 0.5
    ((size, count),) = RECORDED["ws_moh_frame_sizes_in_one_second"].items()
    assert set(simulated["ws_moh_frame_sizes_in_one_second"]) == {int(size)}
    # one frame each 20 ms: never more; fewer only when this machine is too busy to keep the pace
    assert count / 2 <= simulated["ws_moh_frame_sizes_in_one_second"][int(size)] <= count + 3
    assert re.fullmatch(r"DTMF_END digit:\d channel_id:\{channel_id\}", simulated["ws_dtmf_end"])
    assert RECORDED["ws_dtmf_end"].startswith("DTMF_END digit:")


@pytest.mark.parametrize("key", ["ws_events", "ws_events_socket_closed"])
def test_the_same_events(simulated: Dict[str, Any], key: str) -> None:
    # causes included: a DELETE's ChannelHangupRequest says 32 (the soft-hangup flag), a media
    # socket the application closed ends with ChannelDestroyed cause 0
    assert simulated[key] == RECORDED[key]


@pytest.mark.parametrize("fmt", ["ulaw", "slin16"])
def test_rtp(simulated: Dict[str, Any], fmt: str) -> None:
    real, sim = RECORDED[f"rtp_{fmt}"], simulated[f"rtp_{fmt}"]
    for key in ("name_prefix", "state", "channelvars", "payload_types_while_dtmf"):
        assert sim[key] == real[key], key
    # Counts over a second of wall time, on a loaded machine: within a few frames.
    assert (sim["echoed_packets_of_50"] == 0) == (real["echoed_packets_of_50"] == 0)
    assert sim["echoed_packets_of_50"] <= real["echoed_packets_of_50"] + 3
    assert sim["echoed_packets_of_50"] >= real["echoed_packets_of_50"] * 0.8
    ((kind, count),) = real["received_in_one_second"].items()
    assert set(sim["received_in_one_second"]) == {kind}
    assert count / 2 <= sim["received_in_one_second"][kind] <= count + 3
    assert sim["events"] == real["events"]
