"""Outbound connections from a real Asterisk (opt-in: skipped unless ARI_URL and the sections are set).

The Asterisk must have outbound sections (ari.conf ``type = outbound_websocket`` and
websocket_client.conf) pointing at this machine; name them in the environment::

    ARI_URL=http://127.0.0.1:8088 ARI_USER=asterisk ARI_PASSWORD=asterisk
    ARI_OUTBOUND_PER_CALL=ob-percall@18766            # connection_type = per_call_config
    ARI_OUTBOUND_PERSISTENT=ob-persist@18765:app:secret  # persistent, with Basic auth
    ARI_OUTBOUND_BALANCED=ob-lb@18767                 # per call, uri at an HAProxy front port

Calls are originated into the app with ``Local/wait@default`` (the shared test dialplan) and
the example answers, plays hello-world and hangs up.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest

import ari

URL = os.environ.get("ARI_URL")
USER = os.environ.get("ARI_USER", "asterisk")
PASSWORD = os.environ.get("ARI_PASSWORD", "asterisk")

pytestmark = pytest.mark.skipif(not URL, reason="needs a real Asterisk: set ARI_URL")


def section(name: str) -> Tuple[str, int, Optional[str], Optional[str]]:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"set {name}=app@port[:user:password] for an outbound section of that Asterisk")
    app, _, rest = value.partition("@")
    port, *auth = rest.split(":")
    return app, int(port), (auth[0] if auth else None), (auth[1] if len(auth) > 1 else None)


def originate(client: Any, app: str, count: int) -> List[str]:
    return [client.channels.originate(endpoint="Local/wait@default", app=app).id for _ in range(count)]


def wait_gone(client: Any, ids: List[str], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not {c.id for c in client.channels.list()} & set(ids):
            return True
        time.sleep(0.2)
    return False


def test_per_call_connections_from_asterisk() -> None:
    app, port, _, _ = section("ARI_OUTBOUND_PER_CALL")
    seen: Dict[str, str] = {}
    with ari.connect(URL, USER, PASSWORD) as http, ari.serve("127.0.0.1", port) as server:

        @server.on_call
        def call(client: Any) -> None:
            def start(event: Any, channel: Any) -> None:
                seen[channel.id] = event.application
                channel.answer()
                channel.hangup()

            client.on("StasisStart", start)

        ids = originate(http, app, 3)
        assert wait_gone(http, ids)
        assert sorted(seen) == sorted(ids)
        assert all(name.startswith(f"{app}:Local/wait@default-") for name in seen.values())
        deadline = time.monotonic() + 10  # Asterisk closes each about 3.5 s after StasisEnd
        while server.calls and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.calls == []


def test_a_persistent_connection_and_the_app_server_restarted_while_asterisk_queues() -> None:
    app, port, user, password = section("ARI_OUTBOUND_PERSISTENT")
    with ari.connect(URL, USER, PASSWORD) as http:
        asterisk_id = http.asterisk.get_info().system.entity_id  # type: ignore[attr-defined]
        first = ari.serve("127.0.0.1", port, username=user, password=password)
        try:
            deadline = time.monotonic() + 10
            while not first.clients and time.monotonic() < deadline:
                time.sleep(0.05)
            assert list(first.clients) == [asterisk_id]
        finally:
            first.stop()
        ids = originate(http, app, 1)  # nobody listens: Asterisk queues the events
        time.sleep(1.0)
        http.channels.hangup(channelId=ids[0])  # type: ignore[attr-defined]
        seen: List[str] = []
        second = ari.Server("127.0.0.1", port, username=user, password=password)
        second.on("StasisStart", lambda event, channel: seen.append(f"StasisStart {channel.id}"))
        second.on("StasisEnd", lambda event, channel: seen.append(f"StasisEnd {channel.id}"))
        second.on("ApplicationRegistered", lambda event: seen.append(f"ApplicationRegistered {event.application}"))
        with second:
            deadline = time.monotonic() + 10
            while f"ApplicationRegistered {app}" not in seen and time.monotonic() < deadline:
                time.sleep(0.05)
            client = second.client(asterisk_id)
            assert client.asterisk.get_info().system.entity_id == asterisk_id  # type: ignore[attr-defined]
        assert seen.index(f"StasisStart {ids[0]}") < seen.index(f"StasisEnd {ids[0]}")
        assert seen.index(f"StasisEnd {ids[0]}") < seen.index(f"ApplicationRegistered {app}")


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_processes_behind_haproxy_share_the_calls() -> None:
    from tests.functional.test_outbound_processes import HAPROXY, App, free_port

    app, front, _, _ = section("ARI_OUTBOUND_BALANCED")
    import subprocess
    import tempfile
    from pathlib import Path

    ports = [free_port() for _ in range(3)]
    apps = [App("--port", str(p)) for p in ports]
    try:
        for a in apps:
            assert a.ready.wait(30)
        servers = "\n".join(f"    server app{n} 127.0.0.1:{p}" for n, p in enumerate(ports))
        with tempfile.TemporaryDirectory() as folder, ari.connect(URL, USER, PASSWORD) as http:
            config = Path(folder) / "haproxy.cfg"
            config.write_text(HAPROXY.format(front=front, servers=servers))
            proxy = subprocess.Popen(["haproxy", "-db", "-f", str(config)])
            try:
                time.sleep(0.5)
                ids = originate(http, app, 9)
                assert wait_gone(http, ids)
                time.sleep(4)  # the last closes
            finally:
                proxy.terminate()
                proxy.wait(5)
    finally:
        for a in apps:
            a.stop()
    handled: Dict[str, str] = {}
    for a in apps:
        for line in a.lines:
            match = re.match(r"\[(\d+)\] (\S+): hang up", line)
            if match:
                handled[match.group(2)] = match.group(1)
    assert sorted(handled) == sorted(ids)
    assert sorted(collections.Counter(handled.values()).values()) == [3, 3, 3]


def test_an_asterisk_restart_reconnects_the_same_client() -> None:
    """Restarts Asterisk: only with ARI_RESTART set to the command that does it (e.g. run.sh restart)."""
    import shlex
    import subprocess

    command = os.environ.get("ARI_RESTART")
    if not command:
        pytest.skip("set ARI_RESTART to a command restarting that Asterisk (it is shared: opt in)")
    app, port, user, password = section("ARI_OUTBOUND_PERSISTENT")
    reconnected: List[float] = []
    with ari.serve("127.0.0.1", port, username=user, password=password) as server:
        server.on(
            "WebSocketConnected",
            lambda event: reconnected.append(event.disconnected_for) if event.reconnected else None,
        )
        deadline = time.monotonic() + 10
        while not server.clients and time.monotonic() < deadline:
            time.sleep(0.05)
        before = dict(server.clients)
        subprocess.run(shlex.split(command), check=True, timeout=180)
        deadline = time.monotonic() + 60
        while not reconnected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert reconnected and server.clients == before  # the same client, its handlers kept
        client = next(iter(before.values()))
        assert client.asterisk.get_info().system.entity_id == client.asterisk_id  # type: ignore[attr-defined]
