"""Every failure requests, urllib3, websocket-client and websockets raise on our paths is an ``ari`` error.

Each case drives the real code (``HTTPTransport.send``, ``Link.open``, ``Link.read``) against a
raw loopback server that misbehaves one way, and checks the ``ari`` class the application gets
and the library exception kept as its cause.  Certificate failures are in test_tls.py; bad
answers over ``responses`` in tests/unit/test_answer_shapes.py.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from typing import Iterator, List, Optional, Tuple, Type

import pytest
import requests
import urllib3
import websocket
from urllib3.util import connection as urllib3_connection

import ari
from ari.http import HTTPTransport
from ari.stream import Link
from ari.transports import PreparedRequest

from ..support import read_messages

SILENT = None  # the server reads the request and never answers


class RawServer:
    """A TCP server answering every connection with fixed bytes (or nothing), then closing it."""

    def __init__(self, answer: Optional[bytes], hold: float = 3.0, first_read: bool = True) -> None:
        self.answer = answer
        self.first_read = first_read  # False: answer at once (a TLS hello has no blank line to wait for)
        self.hold = hold  # how long a silent server keeps the connection open
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-raw-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), name="test-raw-conn", daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2.0)
            try:
                data = b""
                while self.first_read and b"\r\n\r\n" not in data:
                    piece = conn.recv(4096)
                    if not piece:
                        return
                    data += piece
                if self.answer is None:
                    self._stop.wait(self.hold)
                else:
                    conn.sendall(self.answer)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.listener.close()


@pytest.fixture
def raw() -> Iterator[List[RawServer]]:
    servers: List[RawServer] = []
    yield servers
    for server in servers:
        server.close()


def _serve(raw: List[RawServer], answer: Optional[bytes], first_read: bool = True) -> RawServer:
    server = RawServer(answer, first_read=first_read)
    raw.append(server)
    return server


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _send(port: int, method: str = "GET", timeout: float = 2.0, scheme: str = "http") -> Tuple[BaseException, float]:
    transport = HTTPTransport(f"{scheme}://127.0.0.1:{port}", "asterisk", "s3cr3t", timeout=timeout)
    started = time.monotonic()
    try:
        with pytest.raises(ari.ARIError) as raised:
            transport.send(PreparedRequest(method, "/channels", operation="channels.list"))
    finally:
        transport.close()
    error = raised.value
    assert "s3cr3t" not in str(error)
    return error, time.monotonic() - started


def _cause_chain(error: BaseException) -> List[BaseException]:
    """What ``error`` was raised from, through causes, contexts and the exceptions libraries wrap in args."""
    chain: List[BaseException] = []
    pending = [error.__cause__]
    while pending:
        seen = pending.pop()
        if not isinstance(seen, BaseException) or any(seen is known for known in chain):
            continue
        chain.append(seen)
        pending += [seen.__cause__, seen.__context__, getattr(seen, "reason", None), *seen.args]
    return chain


# -- HTTP: requests and urllib3 --------------------------------------------------------

#: the classes a cause may have: requests' own, or urllib3's when the body is read from it directly
LIBRARY_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError)

#: answer bytes -> what requests / urllib3 raise for it (the cause kept under the ari error)
HTTP_CASES = {
    # ChunkedEncodingError (requests) / ProtocolError(InvalidChunkLength) (urllib3)
    "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    b"zz\r\n{}\r\n0\r\n\r\n",
    # ChunkedEncodingError / ProtocolError(IncompleteRead)
    "body-shorter-than-its-length": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
    # ContentDecodingError / DecodeError
    "undecodable-gzip": b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Encoding: gzip\r\n\r\nabcd",
    "not-http": b"garbage\r\n\r\n",  # ConnectionError(ProtocolError(BadStatusLine))
    "status-not-a-number": b"HTTP/1.1 abc OK\r\n\r\n",
    "closed-without-answer": b"",  # ConnectionError(ProtocolError(RemoteDisconnected))
}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("case", sorted(HTTP_CASES))
def test_a_broken_http_answer_is_an_ari_connection_error(raw: List[RawServer], case: str, method: str) -> None:
    server = _serve(raw, HTTP_CASES[case])
    error, _ = _send(server.port, method)
    assert type(error) is ari.ConnectionError, repr(error)
    assert isinstance(error.__cause__, LIBRARY_ERRORS), repr(error.__cause__)
    assert f"127.0.0.1:{server.port}" in str(error)


def test_connection_refused_is_a_connection_error_not_a_timeout() -> None:
    error, elapsed = _send(_closed_port())
    assert type(error) is ari.ConnectionError, repr(error)  # urllib3's NewConnectionError is a ConnectTimeoutError
    assert isinstance(error.__cause__, LIBRARY_ERRORS)
    assert "refused" in str(error).lower()
    assert elapsed < 2.0


def test_a_connect_timeout_is_an_ari_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # A SYN that nobody answers, as urllib3 sees it: its connect raises socket.timeout.
    def unanswered(*args: object, **kwargs: object) -> socket.socket:
        raise socket.timeout("timed out")

    monkeypatch.setattr(urllib3_connection, "create_connection", unanswered)
    error, _ = _send(_closed_port())
    assert type(error) is ari.Timeout
    assert isinstance(error.__cause__, LIBRARY_ERRORS)
    assert isinstance(error, TimeoutError)  # ari.Timeout is also the builtin


def test_a_post_without_answer_is_an_ari_timeout_within_the_timeout(raw: List[RawServer]) -> None:
    server = _serve(raw, SILENT)
    error, elapsed = _send(server.port, "POST", timeout=0.5)
    assert type(error) is ari.Timeout
    assert isinstance(error.__cause__, LIBRARY_ERRORS)
    assert elapsed < 1.5
    assert server.connections == 1  # never sent twice: it may have reached Asterisk


def test_a_get_without_answer_is_an_ari_timeout_within_the_timeout(raw: List[RawServer]) -> None:
    server = _serve(raw, SILENT)
    error, elapsed = _send(server.port, "GET", timeout=0.5)
    assert type(error) is ari.Timeout, repr(error)
    assert elapsed < 1.5


def test_tls_to_a_server_that_does_not_speak_it_is_a_connection_error(raw: List[RawServer]) -> None:
    server = _serve(raw, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4, first_read=False)
    error, _ = _send(server.port, scheme="https")
    assert type(error) is ari.ConnectionError
    assert any(isinstance(cause, ssl.SSLError) for cause in _cause_chain(error)), _cause_chain(error)


def test_urllib3_errors_surface_only_through_requests() -> None:
    # http.py catches requests' classes: each urllib3 failure it can meet is wrapped by one.
    assert issubclass(requests.exceptions.ConnectionError, requests.RequestException)
    assert issubclass(requests.exceptions.ChunkedEncodingError, requests.RequestException)
    assert issubclass(requests.exceptions.ContentDecodingError, requests.RequestException)
    assert urllib3.exceptions.ProtocolError is not requests.exceptions.ChunkedEncodingError


# -- the event socket's handshake: websocket-client --------------------------------------


def _open(port: int, timeout: float = 2.0, scheme: str = "ws") -> Tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(ari.ARIError) as raised:
        Link.open(f"{scheme}://127.0.0.1:{port}/ari/events?app=demo", "Basic c2VjcmV0", True, timeout)
    error = raised.value
    assert "c2VjcmV0" not in str(error)
    assert "app=demo" not in str(error)  # the URL is shown without its query
    return error, time.monotonic() - started


WS_STATUS_CASES: List[Tuple[bytes, Type[ari.ARIError]]] = [
    (b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", ari.AuthenticationError),
    (b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}", ari.NotFound),
    (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n"
        b'{"message": "Invalid app xx"}',
        ari.BadRequest,
    ),
    (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", ari.ServerError),
]


@pytest.mark.parametrize(("answer", "expected"), WS_STATUS_CASES)
def test_a_refused_upgrade_is_the_ari_error_of_its_status(
    raw: List[RawServer], answer: bytes, expected: Type[ari.ARIError]
) -> None:
    error, _ = _open(_serve(raw, answer).port)
    assert type(error) is expected
    assert isinstance(error.__cause__, websocket.WebSocketBadStatusException)


def test_a_refused_upgrade_carries_asterisks_message(raw: List[RawServer]) -> None:
    error, _ = _open(_serve(raw, WS_STATUS_CASES[2][0]).port)
    assert "Invalid app xx" in str(error)


WS_BROKEN_CASES = {
    "not-http": b"garbage\r\n\r\n",
    "status-without-code": b"HTTP/1.1\r\n\r\n",
    "status-not-a-number": b"HTTP/1.1 abc OK\r\n\r\n",
    "header-without-colon": b"HTTP/1.1 101 Switching Protocols\r\nnocolon\r\n\r\n",
    "wrong-accept-key": (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: nope\r\n\r\n"
    ),
    "closed-without-answer": b"",
}


@pytest.mark.parametrize("case", sorted(WS_BROKEN_CASES))
def test_a_broken_handshake_is_an_ari_connection_error(raw: List[RawServer], case: str) -> None:
    error, _ = _open(_serve(raw, WS_BROKEN_CASES[case]).port)
    assert type(error) is ari.ConnectionError, repr(error)
    assert isinstance(error.__cause__, websocket.WebSocketException), repr(error.__cause__)


def test_an_upgrade_answered_200_is_an_ari_error(raw: List[RawServer]) -> None:
    error, _ = _open(_serve(raw, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").port)
    assert isinstance(error, ari.HTTPError)
    assert isinstance(error.__cause__, websocket.WebSocketBadStatusException)


def test_the_event_socket_refused_is_a_connection_error() -> None:
    error, elapsed = _open(_closed_port())
    assert type(error) is ari.ConnectionError
    assert isinstance(error.__cause__, OSError)
    assert elapsed < 2.0


def test_a_silent_handshake_is_an_ari_timeout_within_the_timeout(raw: List[RawServer]) -> None:
    error, elapsed = _open(_serve(raw, SILENT).port, timeout=0.5)
    assert type(error) is ari.Timeout
    assert elapsed < 2.0


def test_wss_to_a_server_that_does_not_speak_tls_is_a_connection_error(raw: List[RawServer]) -> None:
    server = _serve(raw, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4, first_read=False)
    error, _ = _open(server.port, scheme="wss")
    assert type(error) is ari.ConnectionError
    assert any(isinstance(cause, OSError) for cause in _cause_chain(error))


# -- the open socket: websockets' sans-I/O protocol and the socket under it ---------------


def _link_pair() -> Tuple[Link, socket.socket]:
    # TCP, not socketpair(): a reset needs a real TCP connection.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        ours = socket.create_connection(listener.getsockname())
        peer, _ = listener.accept()
    ws = websocket.WebSocket()
    ws.sock, ws.connected = ours, True
    ours.settimeout(0.2)
    return Link(ws, timeout=1.0), peer


#: server frames the WebSocket protocol forbids -> Link.read raises ari.ConnectionError
BAD_FRAMES = {
    "reserved-bits": bytes([0x80 | 0x40 | 0x1, 2]) + b"{}",
    "unknown-opcode": bytes([0x80 | 0x3, 0]),
    "masked-by-the-server": bytes([0x81, 0x80 | 2]) + b"\x00\x00\x00\x00{}",
    "fragmented-control-frame": bytes([0x09, 0]),
    "control-frame-too-long": bytes([0x89, 126]) + (200).to_bytes(2, "big") + b"x" * 200,
    "continuation-without-start": bytes([0x80, 2]) + b"{}",
    "close-code-invalid": bytes([0x88, 2]) + (999).to_bytes(2, "big"),
}


@pytest.mark.parametrize("case", sorted(BAD_FRAMES))
def test_a_protocol_error_is_an_ari_connection_error(case: str) -> None:
    link, peer = _link_pair()
    try:
        peer.sendall(BAD_FRAMES[case])
        with pytest.raises(ari.ConnectionError, match="protocol error") as raised:
            for _ in range(5):
                read_messages(link)
        assert raised.value.__cause__ is not None
    finally:
        link.close()
        peer.close()


def test_a_reset_under_the_reader_is_an_ari_connection_error() -> None:
    link, peer = _link_pair()
    try:
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        peer.close()  # linger 0: a reset, not a clean end
        with pytest.raises(ari.ConnectionError):
            read_messages(link)
    finally:
        link.close()


def test_an_oserror_under_the_reader_is_an_ari_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    link, peer = _link_pair()

    def broken(size: int) -> bytes:
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(link, "_read_socket", broken)
    peer.sendall(b"\x81")  # readable: the reader reads only what poll says is there
    try:
        with pytest.raises(ari.ConnectionError, match="reset") as raised:
            read_messages(link)
        assert isinstance(raised.value.__cause__, ConnectionResetError)
    finally:
        link.close()
        peer.close()
