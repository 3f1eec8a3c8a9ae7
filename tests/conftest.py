"""Fixtures for every test: no ``ari-*`` thread may outlive its test."""

from __future__ import annotations

import threading
import time
from typing import Iterator

import pytest

pytest_plugins = ("ari.testing.pytest_plugin",)


def _ari_threads(before: set) -> list:
    return [t for t in threading.enumerate() if t.name.startswith("ari-") and t.is_alive() and t not in before]


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    leaked = _ari_threads(before)
    while leaked and time.monotonic() < deadline:
        leaked[0].join(max(0.0, deadline - time.monotonic()))
        leaked = _ari_threads(before)
    assert not leaked, f"threads outlived the test: {[t.name for t in leaked]}"
