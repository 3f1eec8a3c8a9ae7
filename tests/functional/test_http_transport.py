"""The HTTP transport against small servers of the test's own that misbehave on purpose.

Each server is a plain socket server in the test process answering with whatever bytes the
test gives (a slow drip, a broken chunked body, no answer at all), so the client's
deadlines, retries, error mapping and connection reuse can be checked on the wire.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List

import pytest

import ari
from ari.http import HTTPTransport
from ari.testing.description import load, render_swagger
from ari.transports import PreparedRequest


class _Counting(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.connections = 0
        self.requests: List[str] = []
        self.answer = answer
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Asterisk
    server: _Counting

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.requests.append(f"{self.command} {self.path}")
        self.server.answer(self)

    do_GET = do_POST = do_PUT = do_DELETE = _any


@pytest.fixture
def http_server() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], _Counting]]:
    servers: List[_Counting] = []

    def start(answer: Callable[[BaseHTTPRequestHandler], None]) -> _Counting:
        server = _Counting(answer)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _url(server: _Counting) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _describing(void_status: int = 204) -> Callable[[BaseHTTPRequestHandler], None]:
    """Serve Asterisk 22's description; answer every other request with ``void_status``."""
    files: Dict[str, Any] = {}

    def answer(handler: BaseHTTPRequestHandler) -> None:
        if not files:
            files.update(render_swagger(load(), f"http://{handler.headers['Host']}/ari"))
        name = handler.path.rsplit("/", 1)[-1]
        if handler.path.startswith("/ari/api-docs/") and name in files:
            body = json.dumps(files[name]).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        handler.send_response(void_status)
        if void_status != 204:
            handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def test_void_answers_leave_their_connection_in_the_pool(http_server: Any) -> None:
    server = http_server(_describing())
    with ari.connect(_url(server), "u", "p") as client:
        connected = server.connections
        for _ in range(200):
            client.channels.answer(channelId="c1")
    assert len(server.requests) >= 200
    assert server.connections - connected <= 2, f"{server.connections - connected} connections for 200 calls"


def test_the_transport_sends_a_prepared_request_and_returns_a_reply(http_server: Any) -> None:
    seen: List[Dict[str, Any]] = []

    def answer(handler: BaseHTTPRequestHandler) -> None:
        seen.append({"path": handler.path, "type": handler.headers.get("Content-Type")})
        body = b'{"id": "c1"}'
        handler.send_response(201, "Made")
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server = http_server(answer)
    with HTTPTransport(_url(server), "u", "p", timeout=2) as transport:
        reply = transport.send(
            PreparedRequest("POST", "/channels/c%2F1", {"a": "b c"}, '{"variables":{}}', operation="channels.x")
        )
    assert (reply.status, reply.reason, reply.content, reply.content_type) == (
        201,
        "Made",
        b'{"id": "c1"}',
        "application/json",
    )
    assert reply.url == _url(server) + "/ari/channels/c%2F1"
    assert seen == [{"path": "/ari/channels/c%2F1?a=b+c", "type": "application/json"}]


def test_each_header_is_sent_once_and_answers_are_read_whatever_their_header_case(http_server: Any) -> None:
    # The transport keeps its headers in a plain dict and reads urllib3's answer headers
    # directly: no name may go twice (urllib3 adds Content-Length itself when it sees none),
    # and Asterisk's own spelling, "Content-type", must still be found.
    seen: List[Any] = []

    def answer(handler: BaseHTTPRequestHandler) -> None:
        seen.append(handler.headers)
        body = b'{"id": "c1"}'
        handler.send_response(200)
        handler.send_header("Content-type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server = http_server(answer)
    with HTTPTransport(_url(server), "u", "p", timeout=2) as transport:
        replies = [
            transport.send(PreparedRequest("GET", "/asterisk/info")),
            transport.send(PreparedRequest("POST", "/channels/c1/answer")),
            transport.send(PreparedRequest("POST", "/channels", {}, '{"variables":{}}')),
        ]
    assert [r.content_type for r in replies] == ["application/json"] * 3
    assert [r.content for r in replies] == [b'{"id": "c1"}'] * 3
    for headers in seen:
        names = [name.lower() for name in headers.keys()]
        assert len(names) == len(set(names)), names
        assert headers["Authorization"] == "Basic dTpw"  # u:p
    assert "Content-Length" not in seen[0]
    assert seen[1]["Content-Length"] == "0"
    assert (seen[2]["Content-Length"], seen[2]["Content-Type"]) == ("16", "application/json")


# -- servers that misbehave ---------------------------------------------------------------
class _Raw:
    """A socket server running ``behave(connection, request_line)`` for every request it reads."""

    def __init__(self, behave: Callable[[socket.socket, str], None]) -> None:
        self.behave = behave
        self.requests: List[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            while not self.stopping.is_set():
                line = reader.readline().decode("latin-1").strip()
                if not line:
                    return
                length = 0
                while True:
                    header = reader.readline().decode("latin-1").strip()
                    if not header:
                        break
                    if header.lower().startswith("content-length:"):
                        length = int(header.split(":", 1)[1])
                reader.read(length)
                self.requests.append(line)
                try:
                    self.behave(conn, line)
                except OSError:
                    return

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(2)


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket, str], None]], _Raw]]:
    servers: List[_Raw] = []

    def start(behave: Callable[[socket.socket, str], None]) -> _Raw:
        servers.append(_Raw(behave))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _answer(conn: socket.socket, status: str, body: bytes, content_type: str = "application/json") -> None:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    conn.sendall(head.encode() + body)


def _drip(conn: socket.socket, data: bytes, every: float = 0.05) -> None:
    for byte in data:
        conn.sendall(bytes([byte]))
        time.sleep(every)


def _describing_raw(then: Callable[[socket.socket, str], None]) -> Callable[[socket.socket, str], None]:
    """Serve the description over a raw server; hand every other request to ``then``."""
    files: Dict[str, Any] = {}

    def behave(conn: socket.socket, line: str) -> None:
        path = line.split()[1]
        if path.startswith("/ari/api-docs/"):
            if not files:
                files.update(render_swagger(load(), "http://x/ari"))
            _answer(conn, "200 OK", json.dumps(files[path.rsplit("/", 1)[1]]).encode())
        else:
            then(conn, line)

    return behave


def test_a_server_dripping_its_answer_cannot_hold_a_call_past_the_timeout(raw_server: Any) -> None:
    def drip_headers(conn: socket.socket, line: str) -> None:  # 3 s for the whole answer
        _drip(conn, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 40 + b"\r\nContent-Length: 2\r\n\r\n[]")

    server = raw_server(_describing_raw(drip_headers))
    with ari.connect(server.url, "u", "p", timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(ari.Timeout, match="within 0.5 s"):
            client.channels.list()
        assert time.monotonic() - started < 1.5


def test_a_server_dripping_its_body_cannot_hold_a_call_past_the_timeout(raw_server: Any) -> None:
    def drip_body(conn: socket.socket, line: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n")
        _drip(conn, b"[" + b" " * 58 + b"]")  # 3 s

    server = raw_server(drip_body)
    with HTTPTransport(server.url, "u", "p", timeout=0.5) as transport:
        started = time.monotonic()
        with pytest.raises(ari.Timeout) as caught:
            transport.send(PreparedRequest("GET", "/channels"))
        assert time.monotonic() - started < 1.5
    assert caught.value.__cause__ is not None


def test_a_get_with_no_answer_is_sent_once_and_is_a_timeout(raw_server: Any) -> None:
    server = raw_server(lambda conn, line: None)  # reads the request, never answers
    with HTTPTransport(server.url, "u", "p", timeout=0.3) as transport:
        started = time.monotonic()
        with pytest.raises(ari.Timeout) as caught:
            transport.send(PreparedRequest("GET", "/channels"))
        elapsed = time.monotonic() - started
    assert server.requests == ["GET /ari/channels HTTP/1.1"]
    assert elapsed < 0.6
    assert isinstance(caught.value, TimeoutError) and caught.value.__cause__ is not None


def test_a_broken_chunked_body_is_a_connection_error(raw_server: Any) -> None:
    def broken(conn: socket.socket, line: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[1,2]\r\nzz\r\n")
        conn.shutdown(socket.SHUT_RDWR)

    server = raw_server(broken)
    with HTTPTransport(server.url, "u", "p", timeout=2) as transport:
        with pytest.raises(ari.ConnectionError) as caught:
            transport.send(PreparedRequest("GET", "/channels"))
    assert caught.value.__cause__ is not None and not isinstance(caught.value, ari.Timeout)


def test_a_read_timeout_in_the_middle_of_a_body_is_a_timeout(raw_server: Any) -> None:
    def stall(conn: socket.socket, line: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[1,2,")
        time.sleep(1.5)

    server = raw_server(stall)
    with HTTPTransport(server.url, "u", "p", timeout=0.3) as transport:
        with pytest.raises(ari.Timeout) as caught:
            transport.send(PreparedRequest("GET", "/channels"))
    assert caught.value.__cause__ is not None


def test_invalid_json_in_an_answer_is_an_ari_error(raw_server: Any) -> None:
    server = raw_server(_describing_raw(lambda conn, line: _answer(conn, "200 OK", b'{"id": "c1", oops')))
    with ari.connect(server.url, "u", "p", timeout=2) as client:
        with pytest.raises(ari.ARIError, match="not valid JSON") as caught:
            client.channels.get(channelId="c1")
    assert caught.value.__cause__ is not None


def test_a_server_that_never_accepts_cannot_hold_a_call_past_the_timeout() -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    filling = []
    for _ in range(5):  # the accept queue fills; later connection attempts get no answer
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        filling.append(sock)
    time.sleep(0.2)
    try:
        with HTTPTransport(f"http://127.0.0.1:{port}", "u", "p", timeout=0.5) as transport:
            started = time.monotonic()
            with pytest.raises(ari.Timeout):
                transport.send(PreparedRequest("GET", "/channels"))
            assert time.monotonic() - started < 1.0  # connection attempts are retried within the timeout
    finally:
        for sock in filling:
            sock.close()
        listener.close()


def test_answers_that_close_their_connection_are_read_whole(http_server: Any) -> None:
    # A server may answer "Connection: close" (the bench's feeder does): http.client then closes
    # the socket while the answer is still being read through it.  The body must still arrive.
    body = json.dumps([{"id": f"c{n}", "name": "x" * 5000} for n in range(20)]).encode()

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)

    server = http_server(answer)
    with HTTPTransport(_url(server), "u", "p", timeout=5) as http:
        for _ in range(20):
            reply = http.send(PreparedRequest("GET", "/channels"))
            assert reply.status == 200 and json.loads(reply.content)[19]["id"] == "c19"
