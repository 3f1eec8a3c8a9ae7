"""The simulator replays every recorded scenario of a real Asterisk and is scored against it.

Each transcript under ``tests/fixtures/asterisk-*/`` (written by ``python -m
ari.testing.record``) is replayed against a fresh ``Simulator``: the same requests in the same
step order, the same waits.  ``ari.testing.conformance`` compares statuses, answer bodies (shape
and values), each resource's event order, and each event's field names, types and values,
after the normalisations its docstring lists.  The run fails below the score kept in
``threshold.txt``; raise that file whenever the simulator gets closer (never lower it).
Set ``ARI_CONFORMANCE_REPORT=path`` to write every failed check to a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List

import pytest

from ari.testing import Simulator
from ari.testing.conformance import Score, compare, load
from ari.testing.machine import RECORDED_MACHINE
from ari.testing.record import Runner

from .conftest import SCORE_KEY

HERE = Path(__file__).parent
FIXTURES = sorted((HERE.parent / "fixtures").glob("asterisk-*/*.json"))
SPEED = 20.0


def replay(recorded: Dict[str, Any]) -> Dict[str, Any]:
    # Configured like the recorded Asterisk (../shared/asterisk/): no SIP stack, so no PJSIP
    # endpoints; calls are Local channels into its test dialplan; its limits, config classes
    # and sounds are RECORDED_MACHINE's.
    with Simulator(speed=SPEED, endpoints=(), machine=RECORDED_MACHINE) as sim:
        runner = Runner(sim.url, sim.username, sim.password, speed=SPEED, timeout=5.0)
        try:
            runner.replay(recorded)
        except Exception as e:  # noqa: BLE001 - a replay that breaks scores as not replayed
            error = f"{type(e).__name__}: {e}"
        else:
            error = ""
        finally:
            runner.close()
        out = runner.transcript(recorded["scenario"], recorded["area"], "", "simulator")
        if error:
            out["error"] = error
        return out


@pytest.fixture(scope="module")
def score(request: pytest.FixtureRequest) -> Score:
    result = Score()
    for path in FIXTURES:
        recorded = load(path)
        result.add(compare(recorded, replay(recorded)))
    request.config.stash[SCORE_KEY] = result
    report = os.environ.get("ARI_CONFORMANCE_REPORT")
    if report:
        Path(report).write_text(result.table() + "\n\n" + result.failures() + "\n", encoding="utf-8")
    return result


def test_fixtures_are_recorded() -> None:
    assert FIXTURES, "no recorded transcripts under tests/fixtures/asterisk-*/"
    areas = {load(p)["area"] for p in FIXTURES}
    assert {"channels", "bridges", "playbacks", "recordings", "dialplan"} <= areas


def test_score_reaches_the_threshold(score: Score) -> None:
    threshold = float((HERE / "threshold.txt").read_text().split()[0])
    assert score.ratio >= threshold, (
        f"conformance {score.ratio:.2%} is below {threshold:.2%}\n{score.table()}\n"
        f"first failures:\n{score.failures(40)}"
    )


def test_every_scenario_replays(score: Score) -> None:
    broken: List[str] = sorted({c.scenario for c in score.checks if c.what == "action not replayed"})
    assert not broken, f"scenarios whose replay stopped early: {broken}"
