"""The simulator against Asterisk 22.10.1's race over a bridge's music on hold announcer.

``scripts/record_bridge_moh_race.py`` counted, on a real Asterisk, how often a member's
ChannelLeftBridge listed an id that is no member (the music on hold announcer's uniqueid, as
the announcer was destroyed) in holding and mixing bridges, with and without music on hold.
Here the same script runs against the simulator: each outcome it shows must be one Asterisk
showed, and where Asterisk sometimes lists the announcer (the last member leaving a bridge with
music on hold) the simulator always does, so that an application counting ``bridge.channels``
fails on the simulator as it sometimes does on Asterisk.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any, Dict

import pytest

from ari.testing import Simulator

ROOT = Path(__file__).resolve().parents[2]
RECORDED: Dict[str, Any] = json.loads((ROOT / "tests" / "fixtures" / "bridge-moh-race-22.10.1.json").read_text())


def _script() -> ModuleType:
    path = ROOT / "scripts" / "record_bridge_moh_race.py"
    spec = importlib.util.spec_from_file_location("record_bridge_moh_race", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def simulated() -> Dict[str, Any]:
    with Simulator(speed=10.0) as sim:
        facts: Dict[str, Any] = _script().record(sim.url, sim.username, sim.password, runs=2, settle=0.02)
        return facts


def test_every_case_was_recorded() -> None:
    assert sorted(RECORDED["cases"]) == sorted("-".join(case) for case in _script().CASES)


@pytest.mark.parametrize("case", sorted(RECORDED["cases"]))
def test_the_simulator_shows_what_asterisk_showed(simulated: Dict[str, Any], case: str) -> None:
    recorded, mine = RECORDED["cases"][case], simulated["cases"][case]
    for which in ("first", "last", "get"):
        assert set(mine[which]) <= set(recorded[which]), (which, mine, recorded)
    if "-none-" in case:
        assert recorded["last"] == {"0": RECORDED["runs"]}  # never without music on hold
    else:
        assert recorded["last"].get("1", 0) > 0
        assert mine["last"] == {"1": simulated["runs"]}  # the worst case, every time
