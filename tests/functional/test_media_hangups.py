"""How the simulator ends a media WebSocket channel, against a real Asterisk 22.10.1.

``scripts/record_media_hangups.py`` recorded, on a real Asterisk, the events an application
gets when a chan_websocket channel is deleted (before and after its media connection), when the
application closes or cuts its media socket and when it sends HANGUP, and when a channel Asterisk
connected out with is deleted or closed by the application; here the same script runs
against the simulator and the two records must be equal, causes, ``tech_cause``, ``soft``,
``cause_txt`` and Dial statuses included.
"""

from __future__ import annotations

import importlib.util
import json
import socket
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator

import pytest

from ari.testing import Simulator

ROOT = Path(__file__).resolve().parents[2]
RECORDED = json.loads((ROOT / "tests" / "fixtures" / "media-hangups-22.10.1.json").read_text())


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("record_media_hangups", ROOT / "scripts" / "record_media_hangups.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def simulated() -> Iterator[Dict[str, Any]]:
    script = _script()
    port = _free_port()
    with Simulator(speed=1.0) as sim:
        sim.add_websocket_client(script.OUTBOUND_CONNECTION, f"ws://127.0.0.1:{port}/media")
        yield script.record(sim.url, sim.username, sim.password, settle=0.2, outbound_port=port)


def test_every_case_was_recorded() -> None:
    script = _script()
    assert sorted(RECORDED) == sorted(script.CASES + script.OUTBOUND_CASES)


@pytest.mark.parametrize("case", sorted(RECORDED))
def test_the_same_end(simulated: Dict[str, Any], case: str) -> None:
    assert simulated[case] == RECORDED[case]
