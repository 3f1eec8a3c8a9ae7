"""The HTTP transport against small servers of the test's own that misbehave on purpose.

Each server is a plain socket server in the test process answering with whatever bytes the
test gives (a slow drip, a broken chunked body, no answer at all), so the client's
deadlines, retries, error mapping and connection reuse can be checked on the wire.
"""

from __future__ import annotations

import json
import threading
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
