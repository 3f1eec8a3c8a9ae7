"""The ``ari`` pytest plugin: fixtures serving a mock or a simulated Asterisk to a test.

Fixtures (each started for one test and stopped after it):

- ``ari_mock``: a started ``MockServer`` (stub answers, recorded requests, pushed events);
- ``ari_sim``: a started ``Simulator`` running 50 times faster than real time;
- ``ari_client``: an ``ari.connect(...)`` client on ``ari_sim``, closed after the test.

This module is imported by every pytest run of anyone who installed ``ari``, so it imports
nothing beyond pytest at import time: aiohttp (needed by the servers) only when a fixture runs.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

SIM_SPEED = 50.0


@pytest.fixture
def ari_mock() -> Iterator[Any]:
    """A started ``ari.testing.MockServer`` on a free local port."""
    from ari.testing.mock import MockServer

    server = MockServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ari_sim() -> Iterator[Any]:
    """A started ``ari.testing.Simulator`` (speed 50) on a free local port."""
    from ari.testing.simulator import Simulator

    sim = Simulator(speed=SIM_SPEED)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def ari_client(ari_sim: Any) -> Iterator[Any]:
    """An ``ari`` client connected to ``ari_sim``; closed after the test."""
    import ari

    client = ari.connect(ari_sim.url, ari_sim.username, ari_sim.password)
    try:
        yield client
    finally:
        client.close()
