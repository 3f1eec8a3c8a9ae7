"""The event stream against a real WebSocket server in the test process (ari.testing)."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import ari
from ari.testing import MockServer, Simulator
from tests.support import Recorder, wait_until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def channel(mock, channel_id):
    return dict(mock.minimal("Channel"), id=channel_id)


@pytest.fixture
def mock():
    with MockServer() as server:
        yield server


@pytest.fixture
def client(mock):
    with ari.connect(mock.url, mock.username, mock.password, reconnect_initial=0.05, reconnect_max=0.2) as c:
        yield c


def test_start_delivers_promoted_events_and_stop_leaves_no_thread(mock, client):
    seen = Recorder()
    client.on("StasisStart", seen)
    client.start(["hello", "other"])
    assert mock.wait_for_app("hello", 2) and mock.wait_for_app("other", 2)
    sent = time.monotonic()
    mock.send_event({"type": "StasisStart", "application": "hello", "args": ["x"], "channel": channel(mock, "c1")})
    event, ch = seen.wait()[0]
    assert sent <= event.received_at <= time.monotonic()
    assert event.type == "StasisStart" and event.application == "hello" and event["args"] == ["x"]
    assert event.timestamp and ch.id == "c1" and callable(ch.answer)
    assert mock.password not in client._stream.url and "app=hello,other" in client._stream.url
    started = time.monotonic()
    client.stop()
    assert time.monotonic() - started < 2.0
    assert not [t for t in threading.enumerate() if t.name.startswith("ari-") and t.name != "ari-sim"]
    assert mock.wait_for_no_app("hello", 2)


def test_apps_as_a_comma_string_and_subscribe_all(mock, client):
    client.start("a,b", subscribe_all=True)
    assert mock.wait_for_app("a", 2) and mock.wait_for_app("b", 2)
    assert mock.subscribed_all("a") is True


def test_wrong_password_and_refused_connection(mock):
    with ari.connect(mock.url, mock.username, mock.password) as bad:
        bad.meta.transport._password = "wrong"  # the description loaded; now the socket is refused
        with pytest.raises(ari.AuthenticationError):
            bad.start("hello")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with ari.connect(mock.url, mock.username, mock.password) as c:
        c.meta.transport.root = f"http://127.0.0.1:{port}/ari"
        with pytest.raises(ari.ConnectionError):
            c.start("hello")


def test_instance_listeners_and_factory_instances(mock, client):
    dtmf, finished = Recorder(), Recorder()
    ch = client.Channel("c1")
    ch.on("ChannelDtmfReceived", dtmf)
    pb = client.Playback()
    pb.once("PlaybackFinished", finished)
    client.start("hello")
    assert mock.wait_for_app("hello", 2)
    for cid, digit in (("c2", "9"), ("c1", "1"), ("c1", "2")):
        mock.send_event(
            {"type": "ChannelDtmfReceived", "digit": digit, "duration_ms": 90, "channel": channel(mock, cid)}
        )
    mock.send_event({"type": "PlaybackFinished", "playback": dict(mock.minimal("Playback"), id=pb.id)})
    assert [e.digit for e, _ in dtmf.wait(2)] == ["1", "2"]
    assert finished.wait(1)[0][1].id == pb.id
    assert client.meta.events.keyed_count() == 1  # the playback's listeners are released


def test_raising_handler_non_json_frame_and_unknown_type(mock, caplog):
    errors, seen = Recorder(), Recorder()
    with ari.connect(mock.url, mock.username, mock.password, on_handler_error=errors) as client:

        def bad(event, ch):
            raise RuntimeError("boom")

        client.on("StasisStart", bad)
        client.on("StasisStart", seen)
        with pytest.raises(ValueError, match="SomethingNew"):
            client.on("SomethingNew", seen)  # not in the description: only "*" hears it
        client.on("*", lambda event: seen(event) if event.type == "SomethingNew" else None)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        mock.send_raw("hello", "this is not json{")
        mock.send_event({"type": "StasisStart", "application": "hello", "args": [], "channel": channel(mock, "c1")})
        mock.send_event({"type": "SomethingNew", "application": "hello", "x": 1})
        calls = seen.wait(2)
        assert calls[0][1].id == "c1" and calls[1][0].x == 1 and len(calls[1]) == 1
        error, event = errors.wait()[0]
        assert isinstance(error, RuntimeError) and event.type == "StasisStart" and event.channel.id == "c1"
    messages = [r.getMessage() for r in caplog.records]
    assert any("not JSON" in m for m in messages)


def test_a_blocking_handler_does_not_stop_reading_or_pinging(mock):
    options = {"ping_interval": 0.05, "ping_timeout": 0.2, "dispatch": "concurrent", "dispatch_workers": 2}
    with ari.connect(mock.url, mock.username, mock.password, **options) as client:
        release, reconnecting, seen = threading.Event(), Recorder(), Recorder()
        blocked = threading.Event()

        def slow(event, ch):
            if ch.id == "slow":
                blocked.set()
                release.wait(5)
            seen(ch.id)

        client.on("ChannelDtmfReceived", slow)
        client.on("WebSocketReconnecting", reconnecting)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        mock.send_event({"type": "ChannelDtmfReceived", "digit": "1", "channel": channel(mock, "slow")})
        assert blocked.wait(2)
        other = next(f"c{i}" for i in range(100) if hash(("Channel", f"c{i}")) % 2 != hash(("Channel", "slow")) % 2)
        mock.send_event({"type": "ChannelDtmfReceived", "digit": "2", "channel": channel(mock, other)})
        assert seen.wait(1)[0] == (other,)
        time.sleep(0.5)  # the scenario itself: several ping periods with the handler still blocked
        release.set()
        assert seen.wait(2)[1] == ("slow",)
        assert reconnecting.calls == []


def test_reconnect_after_server_restart_restores_subscriptions(mock):
    port = mock.port
    with ari.connect(mock.url, mock.username, mock.password, reconnect_initial=0.05, reconnect_max=0.2) as client:
        reconnecting, connected, seen = Recorder(), Recorder(), Recorder()
        client.on("WebSocketReconnecting", reconnecting)
        client.on("WebSocketConnected", connected)
        client.on("StasisStart", seen)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        client.applications.subscribe(applicationName="hello", eventSource="channel:abc")
        assert connected.wait(1)[0][0].reconnected is False
        mock.stop()
        event = reconnecting.wait(1)[0][0]
        assert event.attempt == 1 and isinstance(event.error, Exception)
        with MockServer(port=port) as again:
            assert again.wait_for_app("hello", 5)
            back = connected.wait(2)[1][0]
            assert back.reconnected is True and back.disconnected_for > 0
            assert wait_until(lambda: again.requests_for("applications", "subscribe"), 2)
            (restored,) = again.requests_for("applications", "subscribe")
            assert (
                restored.path == "/applications/hello/subscription" and restored.query["eventSource"] == "channel:abc"
            )
            again.send_event(
                {"type": "StasisStart", "application": "hello", "args": [], "channel": channel(again, "c9")}
            )
            assert seen.wait(1)[0][1].id == "c9"
            client.stop()


def test_dropped_socket_reconnects(mock, client):
    connected = Recorder()
    client.on("WebSocketConnected", connected)
    client.start("hello")
    assert mock.wait_for_app("hello", 2)
    assert mock.drop_websockets() == 1
    assert connected.wait(2)[1][0].attempt >= 1
    assert mock.wait_for_app("hello", 2)


def test_gives_up_after_max_retries(mock):
    with ari.connect(mock.url, mock.username, mock.password, reconnect_initial=0.01, reconnect_max_retries=2) as client:
        gave_up, reconnecting = Recorder(), Recorder()
        client.on("WebSocketMaxRetries", gave_up)
        client.on("WebSocketReconnecting", reconnecting)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        mock.stop()
        assert gave_up.wait()[0][0].attempts == 2
        assert [e.attempt for (e,) in reconnecting.calls] == [1, 2]
        assert client._stream.finished.wait(2)


def test_application_replaced_does_not_start_a_reconnect_fight(mock, client):
    replaced, reconnecting = Recorder(), Recorder()
    client.on("ApplicationReplaced", replaced)
    client.on("WebSocketReconnecting", reconnecting)
    client.start("hello")
    assert mock.wait_for_app("hello", 2)
    with ari.connect(mock.url, mock.username, mock.password) as other:
        other.start("hello")
        assert replaced.wait()[0][0].application == "hello"
        time.sleep(0.3)  # the scenario itself: give a fight the time to start
        assert reconnecting.calls == []
        other.stop()


def test_dead_connection_found_by_ping_timeout(client):
    """A half-open connection: nothing arrives, pings are not answered."""

    class Silent:
        received_at = 0.0

        def __init__(self):
            self.aborted = threading.Event()
            self.token = threading.Lock()

        def wait(self, timeout):
            return self.aborted.wait(timeout)

        def read_some(self):
            raise OSError("aborted")

        def ping(self, timeout=None):
            pass

        def abort(self):
            self.aborted.set()

        def close(self):
            self.aborted.set()

    links = []

    def opener(url, authorization, verify, timeout, attempt):
        links.append(Silent())
        return links[-1]

    from ari.stream import EventStream

    reconnecting = Recorder()
    sink = SimpleNamespace(
        submit=lambda batch, received_at: None,
        emit=lambda event: reconnecting(event) if event["type"] == "WebSocketReconnecting" else None,
    )
    stream = EventStream(client.meta.transport, sink, "hello", ping_interval=0.05, ping_timeout=0.05, opener=opener)
    stream.start()
    try:
        assert reconnecting.wait(1)[0][0].attempt == 1
        assert links[0].aborted.is_set()
    finally:
        stream.stop()


def test_run_blocks_until_stop(mock, client):
    def stop_now(event):
        client.stop()

    client.on("WebSocketConnected", stop_now)
    runner = threading.Thread(target=client.run, args=("hello",), name="test-runner")
    runner.start()
    runner.join(3)
    assert not runner.is_alive()


def test_close_from_a_handler(mock):
    client = ari.connect(mock.url, mock.username, mock.password)
    closed = threading.Event()

    def close(event, ch):
        client.close()
        closed.set()

    client.on("StasisStart", close)
    client.start("hello")
    assert mock.wait_for_app("hello", 2)
    mock.send_event({"type": "StasisStart", "application": "hello", "args": [], "channel": channel(mock, "c1")})
    assert closed.wait(2)


def test_the_dtmf_example(caplog):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import hello
    finally:
        sys.path.remove(str(EXAMPLES))
    with Simulator(speed=100) as sim, ari.connect(sim.url, sim.username, sim.password) as client:
        transcript = []
        finished = hello.main(client, "hello", transcript.append)
        client.start("hello")
        cid = sim.call("hello")
        sim.wait_for_event("PlaybackFinished")
        sim.dtmf(cid, "12*#")
        assert finished.wait(10)
        sim.wait_for_event("StasisEnd")
    assert transcript == [
        f"{cid}: entered hello, answering",
        f"{cid}: play sound:hello-world",
        f"{cid}: pressed 1",
        f"{cid}: play sound:digits/1",
        f"{cid}: pressed 2",
        f"{cid}: play sound:digits/2",
        f"{cid}: pressed *",
        f"{cid}: play sound:tt-monkeys",
        f"{cid}: pressed #",
        f"{cid}: play sound:vm-goodbye",
        f"{cid}: hang up",
    ]
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
