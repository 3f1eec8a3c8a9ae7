"""The event socket's frame reader: whole messages from arbitrary chunks, pings answered."""

from __future__ import annotations

from typing import Any, List

import pytest
from websockets.frames import Frame, Opcode

import ari
from ari.stream import CLOSE, PING, TEXT, Link


def _frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin=fin).serialize(mask=False, extensions=[])


class FakeSocket:
    """Serves the given bytes in chunks of a fixed size, then end of stream."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.data, self.chunk, self.reads = data, chunk, 0

    def recv(self, size: int) -> bytes:
        self.reads += 1
        piece, self.data = self.data[: min(size, self.chunk)], self.data[min(size, self.chunk) :]
        return piece


class FakeWebSocket:
    def __init__(self, data: bytes, chunk: int) -> None:
        self.sock = FakeSocket(data, chunk)
        self.pongs: List[bytes] = []

    def pong(self, payload: bytes) -> None:
        self.pongs.append(payload)


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
        received += link.read()
    assert received[0] == (TEXT, b'{"type":"A"}')
    assert received[1] == (TEXT, big)
    assert received[2] == (PING, b"are you there")
    assert received[3] == (TEXT, b'{"type":"Fragmented"}')
    assert received[4][0] == CLOSE
    assert fake.pongs == [b"are you there"]


def test_reads_many_frames_per_socket_read() -> None:
    stream = b"".join(_frame(Opcode.TEXT, b'{"type":"E%d"}' % i) for i in range(1000))
    link, fake = _link(stream, 65536)
    messages = link.read()
    assert len(messages) == 1000 and messages[-1] == (TEXT, b'{"type":"E999"}')
    assert fake.sock.reads == 1


def test_end_of_stream_is_a_connection_error() -> None:
    link, _ = _link(_frame(Opcode.TEXT, b"{}") + _frame(Opcode.TEXT, b'{"cut": 1}')[:-3], 5)
    assert link.read() == [(TEXT, b"{}")]
    with pytest.raises(ari.ConnectionError, match="closed"):
        link.read()


def test_answers_to_rest_calls_go_to_their_callers_and_events_to_the_dispatcher() -> None:
    import json
    import threading

    from ari.http import Transport
    from ari.socket_rest import SocketRequests
    from ari.stream import EventStream
    from ari.transports import PreparedRequest

    requests = SocketRequests("http://pbx/ari", timeout=5)
    sent: List[str] = []
    requests.begin("app")
    requests.attach(lambda text: sent.append(json.loads(text)["request_id"]), reader=-1)
    replies: List[Any] = []
    callers = [
        threading.Thread(
            target=lambda: replies.append(requests.send(PreparedRequest("GET", "/x")))
        )
        for _ in range(2)
    ]
    for caller in callers:
        caller.start()
    while len(sent) < 2:
        threading.Event().wait(0.01)
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
    with Transport("http://pbx/ari", None, None) as transport:
        stream = EventStream(transport, None, "app", requests=requests)  # type: ignore[arg-type]
        batches: List[List[bytes]] = []
        stream._submit = lambda batch, received_at: batches.append(batch)
        assert isinstance(stream._read(link), ari.ConnectionError)  # the fake stream ends
    for caller in callers:
        caller.join(5)
    assert sorted(json.loads(r.content) for r in replies) == ["compact", "pretty"]
    assert batches == [[event, replaced]]  # ApplicationReplaced is noted, and dispatched too
    assert stream._replaced == {"app"}  # not asked back on a reconnect


def test_sending_on_a_closed_socket_says_nothing_left() -> None:
    from ari.socket_rest import NotSent

    link, fake = _link(b"", 1)
    fake.sock = None  # websocket-client's state once shut down
    with pytest.raises(NotSent):
        link.send_text('{"type":"RESTRequest"}')
