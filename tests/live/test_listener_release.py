"""Against a real Asterisk (``ARI_URL``, ``ARI_USERNAME``, ``ARI_PASSWORD``; skipped otherwise).

When does the application's view of a channel end?  A channel that entered Stasis from the
dialplan gets no ChannelDestroyed after its StasisEnd; one the application originated does.
Its instance listeners must go in both cases.  The dialplan needs ``app-<name>`` running
``Stasis(<name>)`` and ``wait`` answering and waiting (the project's test Asterisk has both).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, List

import pytest

import ari

URL = os.environ.get("ARI_URL")

pytestmark = pytest.mark.skipif(not URL, reason="ARI_URL names no Asterisk")


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.05)
    return True


@pytest.mark.parametrize("entry", ["originated", "dialplan"])
def test_a_channels_listeners_go_when_the_application_stops_seeing_it(entry: str) -> None:
    app = f"ari-live-release-{os.getpid()}-{entry}"
    assert URL is not None
    user, password = os.environ.get("ARI_USERNAME", "asterisk"), os.environ.get("ARI_PASSWORD", "asterisk")
    with ari.connect(URL, user, password) as client:
        started: List[Any] = []
        types: List[str] = []

        def on_start(event: Any, channel: Any) -> None:
            channel.on("ChannelDtmfReceived", lambda e, c: None)
            started.append(channel)

        client.on("StasisStart", on_start)
        client.on("*", lambda event: types.append(event.type))
        client.start(app)
        if entry == "originated":
            client.channels.originate(endpoint="Local/wait@default", app=app)
        else:
            client.channels.originate(endpoint="Local/wait@default", extension=f"app-{app}", context="default")
        assert wait_until(lambda: bool(started), 10)
        registry = client.meta.events
        assert registry.keyed_count() == 1
        started[0].hangup()
        assert wait_until(lambda: "StasisEnd" in types, 5)
        if entry == "originated":
            assert wait_until(lambda: registry.keyed_count() == 0, 5)
            assert "ChannelDestroyed" in types
        else:
            threading.Event().wait(1.0)
            assert "ChannelDestroyed" not in types  # Asterisk's behaviour, the reason for the grace
            # after the grace, the next event releases it
            threading.Event().wait(5.0)
            client.channels.originate(endpoint="Local/wait@default", app=app)
            assert wait_until(lambda: len(started) == 2, 10)
            assert ("Channel", started[0].id) not in registry.keys()
            started[1].hangup()
