"""Every recorder scenario runs to its end against the simulator, as it does against Asterisk.

The recorder (``python -m ari.testing.record``) drives a real Asterisk with these scenarios;
the conformance suite replays what it recorded.  Here the scenarios' own code runs against the
simulator: a scenario that the simulator cannot carry through (a refused request, an event that
never comes) is a gap between the two, and leaves an error in its transcript.  Three scenarios
whose waits last seconds of real time (a dial that rings out, a playback that never starts, a
redirect chain) run only against a real Asterisk; their recordings are replayed by the
conformance suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from ari.testing import Simulator
from ari.testing.record import record_one
from ari.testing.scenarios import SCENARIOS

SLOW = {"create_and_dial", "playback_unknown", "continue_move_redirect"}
#: Scenarios that act on something while it lasts, in the scenario's real time: simulated time
#: must not run ahead of them (at speed 20 the playback playback_control pauses is over first).
REAL_TIME = {"playback_control"}


@pytest.fixture(scope="module")
def fast_sim() -> Iterator[Simulator]:
    with Simulator(endpoints=(), speed=20) as simulator:
        yield simulator


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.name not in SLOW], ids=lambda s: s.name)
def test_the_scenario_runs_to_its_end_on_the_simulator(fast_sim: Simulator, scenario: Any, tmp_path: Path) -> None:
    if scenario.name in REAL_TIME:
        with Simulator(endpoints=()) as sim:
            transcript = record_one(sim.url, sim.username, sim.password, scenario, tmp_path)
    else:
        sim = fast_sim
        transcript = record_one(sim.url, sim.username, sim.password, scenario, tmp_path)
    assert transcript.get("error") is None, transcript.get("error")
    assert [a for a in transcript["actions"] if a["kind"] == "rest"], "the scenario sent no request"


def test_the_named_scenarios_still_exist() -> None:
    assert SLOW | REAL_TIME <= {s.name for s in SCENARIOS}
