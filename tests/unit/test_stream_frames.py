"""The event socket's frame reader: whole messages from arbitrary chunks, pings answered."""

from __future__ import annotations

import json
import select
import socket
import ssl
import struct
import threading
from types import SimpleNamespace
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import websocket
from websockets.frames import Frame, Opcode

import ari
from ari.http import HTTPTransport
from ari.socket_rest import NotSent, SocketRequests
from ari.stream import CLOSE, PING, PONG, TEXT, EventStream, Link, sslopt_for
from ari.transports import PreparedRequest
from tests.support import read_messages, wait_until


def _frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin=fin).serialize(mask=False, extensions=[])


class FakeSocket:
    """Serves the given bytes in chunks of a fixed size, then end of stream."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.data, self.chunk, self.reads = data, chunk, 0
        self.sent: List[bytes] = []

    def send(self, data: bytes) -> int:
        self.sent.append(bytes(data))
        return len(data)

    def recv(self, size: int) -> bytes:
        self.reads += 1
        piece, self.data = self.data[: min(size, self.chunk)], self.data[min(size, self.chunk) :]
        return piece


class FakeWebSocket:
    def __init__(self, data: bytes, chunk: int) -> None:
        self.sock = FakeSocket(data, chunk)

    @property
    def pongs(self) -> List[bytes]:
        return [_unmask(raw) for raw in self.sock.sent if raw[0] & 0x0F == PONG]


def _unmask(raw: bytes) -> bytes:
    """The payload of one small masked client frame."""
    length, mask = raw[1] & 0x7F, raw[2:6]
    return bytes(b ^ mask[i % 4] for i, b in enumerate(raw[6 : 6 + length]))


def _link(data: bytes, chunk: int) -> Any:
    fake = FakeWebSocket(data, chunk)
    return Link(fake), fake  # type: ignore[arg-type]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 65536])
def test_messages_come_whole_whatever_the_chunks(chunk: int) -> None:
    big = b'{"type":"StasisStart","pad":"' + b"x" * 70000 + b'"}'
    stream = (
        _frame(Opcode.TEXT, b'{"type":"A"}')
        + _frame(Opcode.TEXT, big)
        + _frame(Opcode.TEXT, b'{"type":', fin=False)
        + _frame(Opcode.PING, b"are you there")
        + _frame(Opcode.CONT, b'"Frag', fin=False)
        + _frame(Opcode.CONT, b'mented"}')
        + _frame(Opcode.CLOSE, b"\x03\xe8bye")
    )
    link, fake = _link(stream, chunk)
    received: List[Any] = []
    while len(received) < 5:
        received += read_messages(link)
    assert received[0] == (TEXT, b'{"type":"A"}')
    assert received[1] == (TEXT, big)
    assert received[2] == (PING, b"are you there")
    assert received[3] == (TEXT, b'{"type":"Fragmented"}')
    assert received[4][0] == CLOSE
    assert fake.pongs == [b"are you there"]


def test_reads_many_frames_per_socket_read() -> None:
    stream = b"".join(_frame(Opcode.TEXT, b'{"type":"E%d"}' % i) for i in range(1000))
    link, fake = _link(stream, 65536)
    messages = read_messages(link)
    assert len(messages) == 1000 and messages[-1] == (TEXT, b'{"type":"E999"}')
    assert fake.sock.reads == 1


def test_end_of_stream_is_a_connection_error() -> None:
    link, _ = _link(_frame(Opcode.TEXT, b"{}") + _frame(Opcode.TEXT, b'{"cut": 1}')[:-3], 5)
    assert read_messages(link) == [(TEXT, b"{}")]
    with pytest.raises(ari.ConnectionError, match="closed"):
        read_messages(link)


def test_answers_to_rest_calls_go_to_their_callers_and_events_to_the_dispatcher() -> None:
    requests = SocketRequests("http://pbx/ari", timeout=5)
    sent: List[str] = []
    requests.begin("app")
    requests.attach(lambda text: sent.append(json.loads(text)["request_id"]), reader=-1)
    replies: List[Any] = []
    callers = [
        threading.Thread(target=lambda: replies.append(requests.send(PreparedRequest("GET", "/x")))) for _ in range(2)
    ]
    for caller in callers:
        caller.start()
    assert wait_until(lambda: len(sent) >= 2, 5)
    compact = json.dumps(
        {
            "type": "RESTResponse",
            "request_id": sent[0],
            "status_code": 200,
            "reason_phrase": "OK",
            "uri": "x",
            "message_body": '"compact"',
        },
        separators=(",", ":"),
    )
    pretty = json.dumps(
        {
            "type": "RESTResponse",
            "request_id": sent[1],
            "status_code": 200,
            "reason_phrase": "OK",
            "uri": "x",
            "message_body": '"pretty"',
        },
        indent=2,
    )
    event = b'{"type":"UserEvent","userevent":{"type":"RESTResponse"}}'
    replaced = json.dumps({"type": "ApplicationReplaced", "application": "app"}, indent=2).encode()
    data = b"".join(_frame(Opcode.TEXT, p) for p in (compact.encode(), event, pretty.encode(), replaced))
    link, _ = _link(data, 65536)
    with HTTPTransport("http://pbx/ari", None, None) as transport:
        batches: List[List[bytes]] = []
        sink = SimpleNamespace(submit=lambda batch, received_at: batches.append(batch), emit=lambda event: None)
        stream = EventStream(transport, sink, "app", requests=requests)
        assert isinstance(stream._read(link), ari.ConnectionError)  # the fake stream ends
    for caller in callers:
        caller.join(5)
    assert sorted(json.loads(r.content) for r in replies) == ["compact", "pretty"]
    assert batches == [[event, replaced]]  # ApplicationReplaced is noted, and dispatched too
    assert stream._replaced == {"app"}  # not asked back on a reconnect


def _answer(request_id: str, body: str, **dumps: Any) -> bytes:
    message = {"type": "RESTResponse", "request_id": request_id, "status_code": 200, "reason_phrase": "OK"}
    message["message_body"] = json.dumps(body)
    if dumps.pop("type_last", False):
        message["type"] = message.pop("type")
    return json.dumps(message, **dumps).encode()


@pytest.mark.parametrize(
    "shape",
    [{"separators": (", ", ": ")}, {"separators": (",", ":"), "type_last": True}, {"indent": 1, "type_last": True}],
    ids=["space after colon", "type last", "pretty, type last"],
)
def test_answers_of_any_json_shape_reach_their_callers_never_the_handlers(shape: Dict[str, Any]) -> None:
    requests = SocketRequests("http://pbx/ari", timeout=5)
    sent: List[str] = []
    requests.begin("app")
    requests.attach(lambda text: sent.append(json.loads(text)["request_id"]), reader=-1)
    replies: List[Any] = []
    caller = threading.Thread(target=lambda: replies.append(requests.send(PreparedRequest("GET", "/x"))))
    caller.start()
    assert wait_until(lambda: sent, 2)
    event = b'{"type": "StasisStart", "application": "app"}'
    link, _ = _link(_frame(Opcode.TEXT, _answer(sent[0], "shaped", **shape)) + _frame(Opcode.TEXT, event), 65536)
    batches: List[List[bytes]] = []
    with HTTPTransport("http://pbx/ari", None, None) as transport:
        sink = SimpleNamespace(submit=lambda batch, received_at: batches.append(batch), emit=lambda event: None)
        stream = EventStream(transport, sink, "app", requests=requests)
        assert isinstance(stream._read(link), ari.ConnectionError)
    caller.join(5)
    assert [json.loads(r.content) for r in replies] == ["shaped"]
    assert batches == [[event]]


def test_a_malformed_frame_ends_the_link_after_the_messages_before_it(caplog: pytest.LogCaptureFixture) -> None:
    data = _frame(Opcode.TEXT, b'{"type":"A"}') + b"\xf1\x00" + _frame(Opcode.TEXT, b'{"type":"B"}')
    link, fake = _link(data, 65536)
    assert read_messages(link) == [(TEXT, b'{"type":"A"}')]
    with pytest.raises(ari.ConnectionError, match="protocol error"):
        read_messages(link)
    assert "protocol error" in caplog.text
    assert fake.sock.reads == 1  # it did not read on, skipping frames until a ping timed out


def test_a_length_no_message_has_is_a_protocol_error() -> None:
    link, _ = _link(b"\x81\x7f" + struct.pack("!Q", 2**62) + b"x" * 100, 65536)
    with pytest.raises(ari.ConnectionError, match="protocol error"):
        read_messages(link)


@pytest.fixture
def tcp_pair() -> Iterator[Tuple[socket.socket, socket.socket]]:
    """A connected loopback TCP pair: (ours, the peer's)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        ours = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
    try:
        yield ours, peer
    finally:
        ours.close()
        peer.close()


def _real_link(sock: socket.socket, timeout: float = 5.0) -> Link:
    ws = websocket.WebSocket()
    ws.sock, ws.connected = sock, True
    sock.settimeout(0.2)
    return Link(ws, timeout=timeout)


def _reset(peer: socket.socket, ours: socket.socket) -> None:
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()
    assert select.select([ours], [], [], 2)[0]  # the RST has arrived


@pytest.mark.parametrize("how", ["peer reset", "peer closed", "our descriptor closed", "link closed"])
def test_a_send_on_a_broken_socket_says_nothing_left(tcp_pair: Tuple[socket.socket, socket.socket], how: str) -> None:
    ours, peer = tcp_pair
    link = _real_link(ours)
    if how == "peer reset":
        _reset(peer, ours)
    elif how == "peer closed":
        peer.close()
        assert select.select([ours], [], [], 2)[0]
        with pytest.raises(ari.ConnectionError):
            for _ in range(100):  # the first sends may still be taken: the peer resets at the next
                link.send_text('{"type":"RESTRequest"}')
                threading.Event().wait(0.01)
        return
    elif how == "our descriptor closed":
        ours.close()
    else:
        link.close()
    with pytest.raises(NotSent):
        link.send_text('{"type":"RESTRequest"}')


def test_a_send_to_a_stalled_peer_fails_at_its_deadline_and_kills_the_link(
    tcp_pair: Tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = tcp_pair
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    link = _real_link(ours, timeout=0.5)
    outcome: List[BaseException] = []

    def send() -> None:
        try:
            link.send_text("x" * (16 << 20))  # the peer never reads
        except BaseException as exc:
            outcome.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(3)
    assert not sender.is_alive(), "the send has no deadline"
    assert type(outcome[0]) is ari.ConnectionError  # bytes left: the outcome is unknown, not NotSent
    with pytest.raises(ari.ConnectionError):
        read_messages(link)  # the reader sees a dead link and reconnects


def test_a_ping_is_not_held_behind_a_stalled_send(tcp_pair: Tuple[socket.socket, socket.socket]) -> None:
    ours, peer = tcp_pair
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    link = _real_link(ours, timeout=30.0)
    sender = threading.Thread(target=lambda: _swallow(lambda: link.send_text("x" * (16 << 20))))
    sender.start()
    pinged: List[Any] = []
    pinger = threading.Thread(target=lambda: pinged.append(_swallow(lambda: link.ping(0.3))))
    try:
        assert wait_until(lambda: select.select([], [ours], [], 0)[1] == [], 2)  # the socket is full
        pinger.start()
        pinger.join(2)
        assert not pinger.is_alive(), "the ping waits behind the stalled send"
        assert isinstance(pinged[0], ari.ConnectionError)
    finally:
        peer.close()
        ours.close()
        sender.join(5)
        pinger.join(5)


def _swallow(fn: Any) -> Any:
    try:
        return fn()
    except Exception as exc:  # the test looks at it
        return exc


def test_ca_bundles_from_the_environment_verify_wss_as_https(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert sslopt_for(True) == {"cert_reqs": ssl.CERT_REQUIRED}
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/curl.pem")
    assert sslopt_for(True)["ca_certs"] == "/etc/curl.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))
    assert sslopt_for(True)["ca_cert_path"] == str(tmp_path)
    assert sslopt_for("/given.pem")["ca_certs"] == "/given.pem"  # an explicit bundle wins
    assert sslopt_for(False)["cert_reqs"] == ssl.CERT_NONE


def test_while_the_sink_holds_the_reader_it_reads_nothing_more_and_answers_go_first() -> None:
    """Backpressure (seam 2): the reader buffers nothing of its own while ``submit`` blocks."""
    requests = SocketRequests("http://pbx/ari", timeout=5)
    sent: List[str] = []
    requests.begin("app")
    requests.attach(lambda text: sent.append(json.loads(text)["request_id"]), reader=-1)
    replies: List[Any] = []
    caller = threading.Thread(target=lambda: replies.append(requests.send(PreparedRequest("GET", "/x"))))
    caller.start()
    assert wait_until(lambda: sent, 2)

    class Endless:
        """Events for ever, the answer in the first batch."""

        received_at = 0.0
        reads = 0
        token = threading.Lock()

        def wait(self, timeout: float) -> bool:
            return True

        def read_some(self) -> List[Tuple[int, bytes]]:
            self.reads += 1
            if self.reads > 3:
                raise ari.ConnectionError("enough")
            answer = [(TEXT, _answer(sent[0], "first"))] if self.reads == 1 else []
            return [(TEXT, b'{"type":"E%d"}' % self.reads), *answer]

    release, blocked = threading.Event(), threading.Event()
    batches: List[List[bytes]] = []

    def submit(batch: List[bytes], received_at: float) -> None:
        batches.append(batch)
        blocked.set()
        release.wait(5)  # a full backlog: the sink holds the reader (bounded)

    link = Endless()
    with HTTPTransport("http://pbx/ari", None, None) as transport:
        stream = EventStream(transport, SimpleNamespace(submit=submit, emit=lambda event: None), "app")
        stream.requests = requests
        reader = threading.Thread(target=stream._read, args=(link,))
        reader.start()
        try:
            assert blocked.wait(2)
            caller.join(2)
            assert [json.loads(r.content) for r in replies] == ["first"]  # answered while the reader waits
            assert link.reads == 1  # and nothing more was read meanwhile
        finally:
            release.set()
            reader.join(5)
    assert batches == [[b'{"type":"E1"}'], [b'{"type":"E2"}'], [b'{"type":"E3"}']]


@pytest.mark.parametrize("how", ["peer reset", "our descriptor closed"])
def test_auto_sends_a_call_over_http_when_its_socket_broke_before_it_left(
    tcp_pair: Tuple[socket.socket, socket.socket], how: str
) -> None:
    from ari.transports import MockTransport, Reply, Router

    ours, peer = tcp_pair
    link = _real_link(ours)
    over_http: List[PreparedRequest] = []
    http = MockTransport(lambda request: over_http.append(request) or Reply(200, "OK", '"by http"'))
    requests = SocketRequests(http.root, timeout=5)
    requests.begin("app")
    requests.attach(link.send_text, reader=-1)
    router = Router(http, "auto", requests)
    if how == "peer reset":
        _reset(peer, ours)
    else:
        ours.close()
    reply = router.send(PreparedRequest("POST", "/channels/c1/answer", operation="channels.answer"))
    assert json.loads(reply.content) == "by http" and [r.path for r in over_http] == ["/channels/c1/answer"]
