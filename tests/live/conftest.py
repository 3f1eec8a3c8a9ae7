"""Fixtures for the live set: a real Asterisk named by ``ARI_URL`` (skipped without it).

``ARI_USERNAME`` / ``ARI_PASSWORD`` (default asterisk / asterisk) are its ARI credentials;
``ARI_RESTART_CMD`` (optional) a shell command that restarts it, for the reconnect test.  The
tests expect the dialplan of the project's test Asterisk (context ``default``: ``app-<name>``,
``echo``, ``wait``, ``hello``, ``dtmf``, ``moh``, ``noanswer``, ``busy``; see README).
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any, Callable, Iterator, List, Optional

import pytest

import ari

URL = os.environ.get("ARI_URL", "")
USER = os.environ.get("ARI_USERNAME", "asterisk")
PASSWORD = os.environ.get("ARI_PASSWORD", "asterisk")
WAIT = 15.0  # real seconds: a real Asterisk with real audio


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if URL:
        return
    skip = pytest.mark.skip(reason="live tests need a real Asterisk: set ARI_URL")
    for item in items:
        if "tests/live/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


def new_id(prefix: str = "l") -> str:
    """Fixed length and random: Asterisk refuses a given id that prefixes a live one."""
    return prefix + uuid.uuid4().hex[:14]


class Seen:
    """Events a handler received, with a bounded wait for one that matches."""

    def __init__(self) -> None:
        self.items: List[Any] = []
        self._cond = threading.Condition()

    def __call__(self, event: Any, *instances: Any) -> None:
        with self._cond:
            self.items.append((event, instances[0] if instances else None))
            self._cond.notify_all()

    def wait(self, predicate: Callable[[Any], bool] = lambda e: True, timeout: float = WAIT) -> Any:
        found: List[Any] = []

        def ready() -> bool:
            for item in self.items:
                if predicate(item[0]):
                    found.append(item)
                    return True
            return False

        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise AssertionError(f"no matching event within {timeout}s; saw {[e.type for e, _ in self.items]}")
        return found[0]


@pytest.fixture
def app() -> str:
    return new_id("live-")


@pytest.fixture
def client(app: str) -> Iterator[Any]:
    with ari.connect(URL, USER, PASSWORD, transport="http") as c:
        yield c


@pytest.fixture
def started(client: Any, app: str) -> Iterator[Any]:
    """A client with ``app``'s event socket open."""
    client.start(app)
    yield client
    hang_up_all(client, app)
    client.stop()


def hang_up_all(client: Any, app: str) -> None:
    """Best effort: no channel of the test outlives it on the shared Asterisk."""
    for channel in client.channels.list():
        data = f"{channel.dialplan.get('app_data', '')}" if isinstance(channel.dialplan, dict) else ""
        if app in data or app in channel.id:
            try:
                channel.hangup()
            except ari.NotFound:
                pass


def originate(client: Any, app: str, far_end: str = "wait", chan: Optional[str] = None) -> str:
    chan = chan or new_id("c")
    client.channels.originate(endpoint=f"Local/{far_end}@default", app=app, channelId=chan, otherChannelId=chan + "-2")
    return chan


def call_via_dialplan(client: Any, app: str, far_end: str = "wait") -> str:
    """The ;1 half enters ``app`` through Stasis() in the dialplan, as an incoming call."""
    chan = new_id("d")
    client.channels.originate(
        endpoint=f"Local/{far_end}@default",
        extension=f"app-{app}",
        context="default",
        channelId=chan,
        otherChannelId=chan + "-2",
    )
    return chan
