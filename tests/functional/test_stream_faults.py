"""The event socket under faults: a proxy (tests/faults.py) between the client and the mock server.

Each test here reproduced a reported failure (issue 11) before its fix: malformed frames,
late handshakes of our own, stalled peers under a large send, dripping handshakes, and
``stop()`` during a slow reconnect.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from typing import Any, Iterator, List

import pytest

import ari
from ari.testing import MockServer
from tests.faults import UP, FaultProxy
from tests.support import Recorder, wait_until


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture
def proxy(mock: MockServer) -> Iterator[FaultProxy]:
    with FaultProxy(mock.port, rcvbuf=16384) as fault_proxy:
        yield fault_proxy


def connect(mock: MockServer, proxy: FaultProxy, **options: Any) -> ari.Client:
    settings = {"reconnect_initial": 0.05, "reconnect_max": 0.2, "ping_interval": 30.0, **options}
    return ari.connect(proxy.url, mock.username, mock.password, **settings)


def stasis_start(mock: MockServer, app: str, channel_id: str) -> None:
    channel = dict(mock.minimal("Channel"), id=channel_id)
    mock.send_event({"type": "StasisStart", "application": app, "args": [], "channel": channel})


#: Bytes a server never sends, each a different way a frame can be malformed.
GARBAGE = {
    "reserved bits": b"\xf1\x00",
    "reserved opcode": b"\x83\x00",
    "masked frame from a server": b"\x81\x84abcdwxyz",
    "length beyond any message": b"\x81\x7f" + struct.pack("!Q", 2**62),
    "continuation of nothing": b"\x00\x00",
    "control frame too long": b"\x89\x7e\x01\x00" + b"x" * 256,
    "plain text": b"garbage!",
}


@pytest.mark.parametrize("garbage", list(GARBAGE.values()), ids=list(GARBAGE))
def test_a_malformed_frame_reconnects_at_once_and_says_so(
    mock: MockServer, proxy: FaultProxy, garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ari.stream")
    with connect(mock, proxy) as client:
        connected, seen = Recorder(), Recorder()
        client.on("WebSocketConnected", connected)
        client.on("StasisStart", lambda event, channel: seen(channel.id))
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        stasis_start(mock, "hello", "before")
        assert seen.wait(1) == [("before",)]
        proxy.live_events().inject(garbage)
        # Reconnected well before any ping (30 s) could notice, and logged as a protocol error.
        assert connected.wait(2, timeout=3)[1][0].reconnected is True
        assert any("protocol error" in r.getMessage() for r in caplog.records), caplog.text
        assert wait_until(lambda: "hello" in mock.connected_apps(), 2)
        stasis_start(mock, "hello", "after")
        assert seen.wait(2) == [("before",), ("after",)]


def test_a_malformed_frame_fails_calls_in_flight_on_the_socket_at_once(mock: MockServer, proxy: FaultProxy) -> None:
    with connect(mock, proxy, transport="websocket", timeout=5.0) as client:
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        pipe = proxy.live_events()
        pipe.stall("down")  # the answer waits behind the stall; the garbage comes first
        outcome: List[Any] = []
        caller = threading.Thread(target=lambda: outcome.append(_call(client.asterisk.get_info)))
        caller.start()
        assert wait_until(lambda: mock.requests_for("asterisk", "getInfo"), 2)
        pipe.inject(GARBAGE["reserved bits"])
        pipe.resume()
        caller.join(3)
        assert not caller.is_alive()
        assert isinstance(outcome[0], ari.ConnectionError) and "outcome is unknown" in str(outcome[0])


def _call(fn: Any) -> Any:
    try:
        return fn()
    except Exception as exc:  # the test looks at which exception it was
        return exc


def test_a_late_handshake_of_our_own_never_takes_the_apps_for_good(mock: MockServer, proxy: FaultProxy) -> None:
    """A reconnect attempt that timed out reaches Asterisk after the next one succeeded."""
    with connect(mock, proxy, connect_timeout=0.3, reconnect_initial=0.01, reconnect_max=0.05) as client:
        replaced, connected, seen = Recorder(), Recorder(), Recorder()
        client.on("ApplicationReplaced", replaced)
        client.on("WebSocketConnected", connected)
        client.on("StasisStart", lambda event, channel: seen(event.application, channel.id))
        client.start(["a", "b"])
        assert mock.wait_for_app("a", 2) and mock.wait_for_app("b", 2)
        proxy.next_events(hold=1.0)  # the first reconnect's handshake lands 1 s late
        proxy.cut_events()
        assert connected.wait(2, timeout=3)
        stale = [p for p in proxy.pipes if p.events and p.hold]
        assert len(stale) == 1
        # The late handshake lands (taking a and b), then its connection ends (leaving them to nobody).
        assert stale[0].closed.wait(5)
        assert wait_until(lambda: {"a", "b"} <= mock.connected_apps(), 3), mock.connected_apps()
        stasis_start(mock, "a", "c1")
        stasis_start(mock, "b", "c2")
        assert sorted(seen.wait(2)) == [("a", "c1"), ("b", "c2")]
        assert replaced.calls == []  # our own attempt is not a replacement the application must hear of


def test_replacing_one_app_keeps_reconnecting_the_others(mock: MockServer, proxy: FaultProxy) -> None:
    with connect(mock, proxy) as client, ari.connect(mock.url, mock.username, mock.password) as other:
        replaced, connected, seen = Recorder(), Recorder(), Recorder()
        client.on("ApplicationReplaced", replaced)
        client.on("WebSocketConnected", connected)
        client.on("StasisStart", lambda event, channel: seen(event.application, channel.id))
        client.start(["a", "b"])
        assert mock.wait_for_app("b", 2)
        other.start("a")
        assert replaced.wait()[0][0].application == "a"
        proxy.cut_events()
        assert connected.wait(2, timeout=3)
        assert wait_until(lambda: b"app=b" in proxy.live_events().request_line, 2)
        stasis_start(mock, "b", "c1")
        assert seen.wait(1) == [("b", "c1")]
        other.stop()


def test_a_stalled_peer_fails_a_large_send_at_its_deadline_and_the_reader_reconnects(
    mock: MockServer, proxy: FaultProxy
) -> None:
    with connect(mock, proxy, transport="websocket", timeout=1.0) as client:
        reconnecting = Recorder()
        client.on("WebSocketReconnecting", reconnecting)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        proxy.live_events().stall(UP)
        outcome: List[Any] = []
        big = {"v": "x" * (16 << 20)}  # far beyond the socket buffers of a stalled connection
        started = time.monotonic()
        caller = threading.Thread(
            target=lambda: outcome.append(_call(lambda: client.channels.originate(endpoint="PJSIP/1", variables=big)))
        )
        caller.start()
        caller.join(4)
        assert not caller.is_alive(), "the send has no deadline"
        assert isinstance(outcome[0], ari.ConnectionError), outcome
        assert time.monotonic() - started < 3
        assert reconnecting.wait(1, timeout=2)  # the link was marked dead: no ping timeout needed


def test_pings_are_not_held_behind_a_stalled_send(mock: MockServer, proxy: FaultProxy) -> None:
    with connect(mock, proxy, transport="websocket", timeout=10.0, ping_interval=0.2, ping_timeout=0.3) as client:
        reconnecting = Recorder()
        client.on("WebSocketReconnecting", reconnecting)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        proxy.live_events().stall(UP)
        big = {"v": "x" * (16 << 20)}
        outcome: List[Any] = []
        caller = threading.Thread(
            target=lambda: outcome.append(_call(lambda: client.channels.originate(endpoint="PJSIP/1", variables=big)))
        )
        caller.start()
        # The ping thread finds the socket dead long before the send's own deadline (10 s).
        assert reconnecting.wait(1, timeout=3)
        caller.join(3)
        assert not caller.is_alive() and isinstance(outcome[0], ari.ConnectionError), outcome


def test_a_dripping_server_cannot_hold_start_past_the_timeout(mock: MockServer, proxy: FaultProxy) -> None:
    with connect(mock, proxy, connect_timeout=0.5) as client:
        proxy.every_events(drip=0.05)  # one byte every 50 ms: the 101 answer alone takes seconds
        started = time.monotonic()
        with pytest.raises(ari.Timeout):
            client.start("hello")
        assert time.monotonic() - started < 1.5
        assert wait_until(lambda: not proxy.events_pipes(), 2)  # the attempt's connection was closed


def test_a_dripping_server_cannot_hold_a_reconnect_past_the_timeout(mock: MockServer, proxy: FaultProxy) -> None:
    with connect(mock, proxy, connect_timeout=0.5, reconnect_initial=0.01, reconnect_max=0.01) as client:
        reconnecting = Recorder()
        client.on("WebSocketReconnecting", reconnecting)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        proxy.every_events(drip=0.05)
        proxy.cut_events()
        calls = reconnecting.wait(3, timeout=3)  # attempts 2 and 3 follow timed-out attempts
        assert isinstance(calls[1][0].error, ari.Timeout), calls


def test_stop_during_a_slow_reconnect_ends_the_reader_and_leaves_no_app(mock: MockServer, proxy: FaultProxy) -> None:
    with connect(mock, proxy, connect_timeout=5.0, reconnect_initial=0.01, reconnect_max=0.01) as client:
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        proxy.next_events(hold=1.5)  # the reconnect's handshake is slow to arrive
        proxy.cut_events()
        assert wait_until(lambda: proxy.events_seen == 2, 2)  # the reconnect attempt is under way
        started = time.monotonic()
        client.stop()
        assert time.monotonic() - started < 1.4  # it used to wait out its 1.5 s join for the reader
        # The late handshake lands after stop(): its connection must already be closed by us.
        (late,) = [p for p in proxy.pipes if p.events and p.hold]
        assert late.closed.wait(4)
        assert mock.wait_for_no_app("hello", 2)  # once the server has seen that close
        assert wait_until(lambda: not [t for t in threading.enumerate() if t.name == "ari-events"], 2)


def test_stop_during_a_slow_start_ends_it_at_once(mock: MockServer, proxy: FaultProxy) -> None:
    with connect(mock, proxy, connect_timeout=5.0) as client:
        proxy.next_events(hold=2.0)
        outcome: List[Any] = []
        starter = threading.Thread(target=lambda: outcome.append(_call(lambda: client.start("hello"))))
        starter.start()
        assert wait_until(lambda: proxy.events_seen == 1, 2)
        started = time.monotonic()
        client.stop()
        starter.join(2)
        assert not starter.is_alive() and time.monotonic() - started < 1.0
        assert outcome == [None]  # start() returns quietly: it was stopped, nothing failed
        (late,) = proxy.events_pipes(live=False)
        assert late.closed.wait(4)
        assert mock.wait_for_no_app("hello", 2)
