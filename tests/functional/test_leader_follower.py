"""REST over the event socket, leader/follower: a caller waiting for its answer reads the socket
itself while no one else does, and every guarantee of the reader holds (answers to their
callers, events in order to the handlers, failures to the reader, which reconnects)."""

from __future__ import annotations

import select
import socket
import threading
import time
from functools import partial
from types import SimpleNamespace
from typing import Any, Iterator, List, Tuple

import pytest
import websocket
from websockets.frames import Frame, Opcode

import ari
from ari.http import HTTPTransport
from ari.readiness import Readiness
from ari.socket_rest import SocketRequests
from ari.stream import EventStream, Link, MaskKeys
from ari.testing import MockServer
from ari.testing.backend import SimResponse
from ari.transports import PreparedRequest

from ..support import Recorder, wait_until

USER = PASSWORD = "asterisk"
linux_epoll = pytest.mark.skipif(not hasattr(select, "epoll"), reason="the reader is muted through epoll (Linux)")


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


def _delivering_threads(client: ari.Client) -> List[str]:
    """Record the thread that hands each REST answer to its caller."""
    requests = client.meta.router.socket
    assert requests is not None
    threads: List[str] = []
    deliver = requests.deliver

    def recorded(payload: Any) -> bool:
        answered = deliver(payload)
        if answered:
            threads.append(threading.current_thread().name)
        return answered

    requests.deliver = recorded  # type: ignore[method-assign]
    return threads


@linux_epoll
def test_a_lone_caller_reads_its_own_answers_and_the_reader_sleeps(mock: MockServer) -> None:
    with ari.connect(mock.url, USER, PASSWORD, transport="websocket") as client:
        client.start("lf-app")
        threads = _delivering_threads(client)
        for i in range(50):
            assert client.channels.get(channelId=f"c{i}").id == f"c{i}"
        assert threads == ["MainThread"] * 50  # never handed over by ari-events


def test_events_read_by_callers_and_by_the_reader_keep_their_order(mock: MockServer) -> None:
    """Callers and the reader take turns at the socket while events stream in."""
    with ari.connect(mock.url, USER, PASSWORD, transport="websocket") as client:
        client.start("lf-app")
        threads = _delivering_threads(client)
        seen: List[int] = []
        client.on("ChannelVarset", lambda event, channel: seen.append(int(event.value)))
        channel = mock.minimal("Channel")
        channel["id"] = "one-channel"  # one resource: its events are delivered in order
        count = 400
        stop = threading.Event()

        def feed() -> None:
            for n in range(count):
                mock.send_event({"type": "ChannelVarset", "variable": "n", "value": str(n), "channel": channel})

        def call(k: int) -> None:
            i = 0
            while not stop.is_set():
                assert client.channels.get(channelId=f"t{k}-{i}").id == f"t{k}-{i}"
                i += 1

        callers = [threading.Thread(target=call, args=(k,)) for k in range(4)]
        for caller in callers:
            caller.start()
        feed()
        try:
            assert wait_until(lambda: len(seen) >= count, 10), len(seen)
        finally:
            stop.set()
            for caller in callers:
                caller.join(10)
        assert seen == list(range(count))
        assert any(name != "ari-events" for name in threads)  # callers did read


def test_a_caller_that_sees_the_socket_close_leaves_the_reconnect_to_the_reader(mock: MockServer) -> None:
    with ari.connect(
        mock.url, USER, PASSWORD, transport="websocket", reconnect_initial=0.05, reconnect_jitter=0.0
    ) as client:
        reconnected = Recorder()
        client.on("WebSocketConnected", lambda event: reconnected(event) if event.reconnected else None)
        client.start("lf-app")
        client.channels.get(channelId="before")

        def close_while_answering(request: Any) -> SimResponse:
            mock.drop_websockets()  # the caller reading its answer sees the socket end
            return SimResponse(204)

        mock.stub("channels", "answer", body=close_while_answering)
        with pytest.raises(ari.ConnectionError, match="the outcome is unknown"):
            client.channels.answer(channelId="c1")
        assert reconnected.wait(1, 5)
        assert client.channels.get(channelId="after").id == "after"
        assert sum(t.name == "ari-events" for t in threading.enumerate()) == 1  # one reader, the new socket's


def _link_pair() -> Tuple[Link, socket.socket]:
    ours, peer = socket.socketpair()
    ws = websocket.WebSocket()
    ws.sock, ws.connected = ours, True
    ours.settimeout(0.2)
    return Link(ws, timeout=5.0), peer


def _text(data: bytes) -> bytes:
    return Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])


def test_a_caller_never_reads_while_the_backlog_is_full() -> None:
    """A caller may be a handler: it must not wait for room that handlers make."""
    link, peer = _link_pair()
    batches: List[List[bytes]] = []
    sink = SimpleNamespace(submit=lambda batch, at: batches.append(batch), emit=lambda e: None, saturated=True)
    sent: List[str] = []
    try:
        with HTTPTransport("http://pbx/ari", None, None) as transport:
            stream = EventStream(transport, sink, "app")
            peer.sendall(_text(b'{"type":"E1"}'))
            started = time.monotonic()
            stream._lead(link, lambda: sent.append("sent"), lambda: False, time.monotonic() + 5)
            assert time.monotonic() - started < 1  # it left at once
            assert sent == ["sent"] and batches == []  # sent, and read nothing
            sink.saturated = False
            stream._lead(link, lambda: None, lambda: bool(batches), time.monotonic() + 5)
            assert batches == [[b'{"type":"E1"}']]
            assert not link.token.locked()
    finally:
        link.close()
        peer.close()


def test_a_send_that_fails_gives_the_token_back_and_raises() -> None:
    link, peer = _link_pair()
    sink = SimpleNamespace(submit=lambda batch, at: None, emit=lambda e: None, saturated=False)

    def refused() -> None:
        raise ari.ConnectionError("no")

    try:
        with HTTPTransport("http://pbx/ari", None, None) as transport:
            stream = EventStream(transport, sink, "app")
            with pytest.raises(ari.ConnectionError, match="no"):
                stream._lead(link, refused, lambda: False, time.monotonic() + 5)
            assert not link.token.locked()
    finally:
        link.close()
        peer.close()


@linux_epoll
def test_while_a_caller_holds_the_token_the_reader_sleeps_through_its_bytes() -> None:
    ours, peer = socket.socketpair()
    readiness = Readiness(ours)
    try:
        peer.sendall(b"x")
        assert readiness.wait(1)
        readiness.mute()
        assert not readiness.wait(0.05)  # the bytes are there, the caller reads them
        assert readiness.ready()  # the caller's own look sees them
        readiness.unmute()
        assert readiness.wait(0)  # left unread: the reader wakes at once
        readiness.mute()
        peer.close()
        assert readiness.wait(1)  # the end of the socket wakes the reader even when muted
    finally:
        readiness.close()
        ours.close()


def test_bytes_decrypted_and_waiting_in_tls_count_as_data() -> None:
    ours, peer = socket.socketpair()

    class Tls:
        def fileno(self) -> int:
            return ours.fileno()

        def pending(self) -> int:
            return 5

    readiness = Readiness(Tls())
    try:
        readiness.mute()
        assert readiness.wait(0) and readiness.ready()  # poll cannot see them; pending() can
    finally:
        readiness.close()
        ours.close()
        peer.close()


def test_mask_keys_come_from_urandom_in_bulk_and_no_key_is_given_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[int] = []

    def counting(n: int) -> bytes:
        start = len(calls) * n
        calls.append(n)
        return b"".join((start + i).to_bytes(4, "big") for i in range(0, n, 4))

    monkeypatch.setattr("ari.stream.os.urandom", counting)
    keys = MaskKeys()
    drawn: List[bytes] = []

    def draw() -> None:
        for _ in range(1000):
            drawn.append(keys(4))

    workers = [threading.Thread(target=draw) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert len(drawn) == 4000 and all(len(k) == 4 for k in drawn)
    assert len(set(drawn)) == 4000  # every slice of the pool given once
    assert len(calls) == 4  # one system call per 1,024 keys


def test_without_epoll_the_reader_polls_and_only_wakes_more(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS, Windows: no epoll; muting does nothing, every byte still wakes the reader."""
    monkeypatch.setattr("ari.readiness._EPOLL", None)
    ours, peer = socket.socketpair()
    readiness = Readiness(ours)
    try:
        assert not readiness.wait(0.05)
        peer.sendall(b"x")
        readiness.mute()
        assert readiness.wait(1) and readiness.ready()
        readiness.unmute()
        readiness.close()
    finally:
        ours.close()
        peer.close()


def test_lone_caller_over_a_link_without_epoll_still_gets_every_answer(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ari.readiness._EPOLL", None)
    with ari.connect(mock.url, USER, PASSWORD, transport="websocket") as client:
        client.start("lf-app")
        for i in range(30):
            assert client.channels.get(channelId=f"p{i}").id == f"p{i}"


def test_a_caller_reading_for_an_answer_that_never_comes_times_out_and_gives_the_token_back() -> None:
    link, peer = _link_pair()
    sink = SimpleNamespace(submit=lambda batch, at: None, emit=lambda e: None, saturated=False)
    requests = SocketRequests("http://pbx/ari", timeout=0.3)
    try:
        with HTTPTransport("http://pbx/ari", None, None) as transport:
            stream = EventStream(transport, sink, "app")
            requests.begin("app")
            requests.attach(link.send_text, reader=-1, lead=partial(stream._lead, link))
            started = time.monotonic()
            with pytest.raises(ari.Timeout, match="no answer over the event socket within 0.3 s"):
                requests.send(PreparedRequest("GET", "/channels/x"))
            assert 0.25 < time.monotonic() - started < 1.5  # its own deadline, not the socket's second
            assert not link.token.locked() and requests.in_flight == 0
            assert peer.recv(4096)  # the request did leave
    finally:
        link.close()
        peer.close()
