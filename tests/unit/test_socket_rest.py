"""REST over the event socket without sockets: framing, correlation, failures, transport choice."""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Dict, List, Optional

import pytest

import ari
from ari.socket_rest import SocketRequests
from ari.transports import MockTransport, PreparedRequest, Reply, Router

from ..support import wait_until

ROOT = "http://pbx:8088/ari"


def _request(
    requests: SocketRequests,
    method: str,
    path: str,
    query: Optional[Dict[str, str]] = None,
    body: Any = None,
    *,
    operation: Optional[str] = None,
    reasons: Optional[Dict[int, str]] = None,
) -> Reply:
    """One call over the socket transport, raising for an error status as the call path does."""
    request = PreparedRequest(
        method, path, query or {}, None if body is None else json.dumps(body), operation, False, reasons or {}
    )
    return requests.send(request).raise_for_status(request)


def _answer(request: Dict[str, Any], status: int = 200, body: Any = None, **extra: Any) -> str:
    answer: Dict[str, Any] = {
        "type": "RESTResponse",
        "transaction_id": request["transaction_id"],
        "request_id": request["request_id"],
        "status_code": status,
        "reason_phrase": {200: "OK", 204: "No Content", 404: "Not Found"}.get(status, "?"),
        "uri": request["uri"].split("?")[0],
    }
    if body is not None:
        answer.update(content_type="application/json", message_body=json.dumps(body))
    answer.update(extra)
    return json.dumps(answer)


class FakeSocket:
    """Records what is sent; answers each request with ``reply(request)`` (None: never)."""

    def __init__(self, requests: SocketRequests, reply: Callable[[Dict[str, Any]], Optional[str]]) -> None:
        self.sent: List[Dict[str, Any]] = []
        self.requests = requests
        self.reply = reply
        requests.begin("app")
        requests.attach(self.send, reader=-1)

    def send(self, text: str) -> None:
        request = json.loads(text)
        self.sent.append(request)
        answer = self.reply(request)
        if answer is not None:
            # As the reader thread would, from another thread.
            threading.Thread(target=self.requests.deliver, args=(answer.encode(),)).start()


def test_a_request_is_framed_as_asterisk_reads_it_and_its_answer_comes_back() -> None:
    requests = SocketRequests(ROOT, timeout=2)
    sock = FakeSocket(requests, lambda r: _answer(r, 200, {"id": "c1"}))
    reply = _request(
        requests,
        "POST",
        "/channels/c%2F1/variable",
        {"variable": "X", "value": "a b&c"},
        {"variables": {"k": "v"}},
        operation="channels.setChannelVar",
        reasons={},
    )
    assert json.loads(reply.content) == {"id": "c1"} and reply.status == 200 and reply.reason == "OK"
    sent = sock.sent[0]
    assert sent["type"] == "RESTRequest" and sent["method"] == "POST"
    assert sent["uri"] == "channels/c%2F1/variable"  # no leading slash; the path keeps its encoding
    assert sent["query_strings"] == [{"name": "variable", "value": "X"}, {"name": "value", "value": "a b&c"}]
    assert sent["content_type"] == "application/json"
    assert json.loads(sent["message_body"]) == {"variables": {"k": "v"}}
    assert sent["request_id"] and sent["transaction_id"] == sent["request_id"]


def test_no_query_strings_or_body_are_sent_when_there_are_none() -> None:
    requests = SocketRequests(ROOT, timeout=2)
    sock = FakeSocket(requests, lambda r: _answer(r, 204))
    assert _request(requests, "GET", "/asterisk/ping", {}, None).content == ""
    assert set(sock.sent[0]) == {"type", "transaction_id", "request_id", "method", "uri"}


def test_error_answers_raise_the_same_exceptions_as_http() -> None:
    requests = SocketRequests(ROOT, timeout=2)
    FakeSocket(requests, lambda r: _answer(r, 404, {"message": "Channel not found"}))
    with pytest.raises(ari.NotFound) as caught:
        _request(
            requests, "GET", "/channels/x", None, None, operation="channels.get", reasons={404: "Channel not found"}
        )
    error = caught.value
    assert (error.status_code, error.message, error.method, error.url) == (
        404,
        "Channel not found",
        "GET",
        ROOT + "/channels/x",
    )
    assert error.operation == "channels.get" and error.reason == "Channel not found"


def test_answers_find_their_callers_by_request_id_whatever_their_order() -> None:
    requests = SocketRequests(ROOT, timeout=5)
    held: List[Dict[str, Any]] = []
    both_sent = threading.Barrier(3)

    def hold(request: Dict[str, Any]) -> None:
        held.append(request)
        return None

    FakeSocket(requests, hold)
    results: Dict[str, Any] = {}

    def call(name: str) -> None:
        both_sent.wait()
        results[name] = json.loads(_request(requests, "GET", f"/channels/{name}", None, None).content)

    threads = [threading.Thread(target=call, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    both_sent.wait()
    assert wait_until(lambda: len(held) >= 2, 5)
    for request in reversed(held):  # answered in the other order
        requests.deliver(_answer(request, 200, {"id": request["uri"].rsplit("/", 1)[1]}).encode())
    for thread in threads:
        thread.join(5)
    assert results == {"a": {"id": "a"}, "b": {"id": "b"}}


def test_losing_the_socket_fails_requests_in_flight_at_once_and_sends_nothing_again() -> None:
    requests = SocketRequests(ROOT, timeout=30)
    sock = FakeSocket(requests, lambda r: None)
    errors: List[BaseException] = []

    def call() -> None:
        try:
            _request(requests, "POST", "/channels/c1/answer", None, None)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    assert wait_until(lambda: sock.sent, 5)
    requests.detach("the event socket was lost")
    thread.join(2)
    assert not thread.is_alive() and len(sock.sent) == 1
    assert isinstance(errors[0], ari.ConnectionError)
    assert "POST http://pbx:8088/ari/channels/c1/answer" in str(errors[0])
    assert "outcome is unknown" in str(errors[0]) and "not sent again" in str(errors[0])
    assert not requests.attached


def test_no_answer_within_the_timeout_is_a_timeout_and_a_late_answer_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    requests = SocketRequests(ROOT, timeout=0.05)
    sock = FakeSocket(requests, lambda r: None)
    with pytest.raises(ari.Timeout, match="no answer over the event socket within 0.05 s; the outcome is unknown"):
        _request(requests, "GET", "/asterisk/ping", None, None)
    assert requests.deliver(_answer(sock.sent[0], 200, {}).encode()) is True  # consumed, never an event
    assert "for no request in flight" in caplog.text


def test_only_restresponse_frames_are_taken() -> None:
    requests = SocketRequests(ROOT, timeout=1)
    assert requests.deliver(b'{"type":"UserEvent","userevent":{"note":"RESTResponse"}}') is False
    assert requests.deliver(b"not json RESTResponse") is False
    assert requests.deliver(b'["RESTResponse"]') is False


def test_a_malformed_answer_fails_its_request_with_a_clear_error() -> None:
    requests = SocketRequests(ROOT, timeout=2)
    FakeSocket(requests, lambda r: _answer(r, 200, status_code="200"))
    with pytest.raises(ari.ConnectionError, match="malformed RESTResponse"):
        _request(requests, "GET", "/asterisk/ping", None, None)


def test_a_send_that_fails_is_a_connection_error() -> None:
    requests = SocketRequests(ROOT, timeout=1)
    requests.begin("app")

    def broken(text: str) -> None:
        raise OSError("broken pipe")

    requests.attach(broken, reader=-1)
    with pytest.raises(ari.ConnectionError, match="sending over the event socket failed"):
        _request(requests, "GET", "/asterisk/ping", None, None)


# -- the transport of each call -----------------------------------------------------------
def _router(mode: str, supported: bool = True) -> Router:
    http = MockTransport(lambda request: Reply(200, "OK", "over http"), ROOT)
    http.timeout = 0.2
    return Router(http, mode, SocketRequests(ROOT, 0.2) if supported else None)


def _call(router: Router, path: str = "/asterisk/ping", **options: Any) -> Any:
    reply = router.send(PreparedRequest("GET", path, **options))
    return reply.content if reply.content == "over http" else reply


def test_http_mode_and_old_asterisks_never_use_the_socket() -> None:
    assert _router("http").socket is None
    assert _router("auto", supported=False).socket is None
    with pytest.raises(ari.SpecError, match="no RESTRequest model"):
        _router("websocket", supported=False)
    with pytest.raises(ValueError, match="transport must be one of auto, http, websocket"):
        _router("carrier-pigeon")


def test_auto_uses_the_socket_only_while_it_is_connected() -> None:
    router = _router("auto")
    assert _call(router) == "over http"  # no stream yet
    assert router.socket is not None
    sock = FakeSocket(router.socket, lambda r: _answer(r, 200, {"ok": 1}))
    assert json.loads(_call(router).content) == {"ok": 1} and len(sock.sent) == 1
    assert _call(router, binary=True) == "over http"  # Asterisk refuses binary answers on the socket (406)
    router.socket.detach("lost")
    assert _call(router) == "over http" and len(sock.sent) == 1


def test_websocket_mode_refuses_at_once_without_a_stream_and_waits_for_a_reconnect() -> None:
    router = _router("websocket")
    socket = router.socket
    assert socket is not None
    with pytest.raises(ari.ConnectionError, match="call client.start"):
        _call(router)
    socket.begin("app")  # a stream is running, between two sockets
    answer = threading.Timer(0.05, lambda: FakeSocket(socket, lambda r: _answer(r, 200, {"back": True})))
    answer.start()
    assert json.loads(_call(router).content) == {"back": True}  # waited for the socket
    socket.detach("lost")
    with pytest.raises(ari.ConnectionError, match="not connected"):
        _call(router)  # nothing came within the timeout (0.2 s)
    answer.join()


def test_the_reader_thread_never_waits_on_its_own_socket() -> None:
    router = _router("auto")
    assert router.socket is not None
    router.socket.begin("app")
    router.socket.attach(lambda text: None, reader=threading.get_ident())
    assert _call(router) == "over http"


def test_an_event_filter_that_drops_answers_sends_calls_around_the_socket() -> None:
    router = _router("auto")
    assert router.socket is not None
    sock = FakeSocket(router.socket, lambda r: _answer(r, 200, {}))
    dropping = {"allowed": [{"type": "StasisStart"}]}
    # The filter call itself: Asterisk would filter its own answer.
    router.send(
        PreparedRequest("PUT", "/applications/app/eventFilter", {}, json.dumps(dropping), "applications.filter")
    )
    assert not sock.sent
    router.note_filter({"applicationName": "app", "filter": dropping})
    assert _call(router) == "over http" and not sock.sent
    router.note_filter({"applicationName": "other", "filter": dropping})
    router.note_filter({"applicationName": "app", "filter": {"allowed": [{"type": "RESTResponse"}]}})
    _call(router)
    assert len(sock.sent) == 1
    router.note_filter({"applicationName": "app", "filter": {"disallowed": [{"type": "RESTResponse"}]}})
    assert _call(router) == "over http" and len(sock.sent) == 1
    strict = _router("websocket")
    assert strict.socket is not None
    FakeSocket(strict.socket, lambda r: _answer(r, 200, {}))
    strict.note_filter({"applicationName": "app", "filter": dropping})
    with pytest.raises(ari.ARIError, match="drops RESTResponse"):
        _call(strict)


def test_stopping_lets_calls_in_flight_finish_and_sends_no_new_ones() -> None:
    requests = SocketRequests(ROOT, timeout=5)
    held: List[Dict[str, Any]] = []
    sock = FakeSocket(requests, lambda r: held.append(r))  # type: ignore[func-returns-value]
    result: List[Any] = []
    thread = threading.Thread(target=lambda: result.append(_request(requests, "GET", "/asterisk/ping", None, None)))
    thread.start()
    assert wait_until(lambda: held, 5)
    answer = threading.Timer(0.1, lambda: requests.deliver(_answer(held[0], 200, {"late": "but fine"}).encode()))
    answer.start()
    requests.end("stopped", drain=2.0)  # returns once the answer is in
    thread.join(2)
    answer.join()
    assert json.loads(result[0].content) == {"late": "but fine"}
    with pytest.raises(ari.ConnectionError, match="not connected"):
        _request(requests, "GET", "/asterisk/ping", None, None)
    assert len(sock.sent) == 1


def test_stopping_fails_calls_whose_answer_does_not_come_within_the_drain() -> None:
    requests = SocketRequests(ROOT, timeout=5)
    sock = FakeSocket(requests, lambda r: None)
    errors: List[BaseException] = []

    def call() -> None:
        try:
            _request(requests, "GET", "/asterisk/ping", None, None)
        except ari.ConnectionError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    assert wait_until(lambda: sock.sent, 5)
    requests.end("the event socket was stopped", drain=0.05)
    thread.join(2)
    assert "the event socket was stopped before Asterisk answered" in str(errors[0])


def test_a_call_that_never_left_goes_over_http_in_auto_and_fails_in_websocket_mode() -> None:
    from ari.socket_rest import NotSent

    def closed(text: str) -> None:
        raise NotSent("the event socket is closed")

    router = _router("auto")
    assert router.socket is not None
    router.socket.begin("app")
    router.socket.attach(closed, reader=-1)
    assert _call(router) == "over http"
    strict = _router("websocket")
    assert strict.socket is not None
    strict.socket.begin("app")
    strict.socket.attach(closed, reader=-1)
    with pytest.raises(ari.ConnectionError, match="closed"):
        _call(strict)


@pytest.mark.parametrize("body", [123, {"id": "c1"}, ["x"]])
def test_an_answer_whose_message_body_is_not_text_is_a_response_error(body: Any) -> None:
    requests = SocketRequests(ROOT, timeout=2)
    FakeSocket(requests, lambda r: _answer(r, 200, message_body=body, content_type="application/json"))
    with pytest.raises(ari.errors.ResponseError, match="message_body"):
        _request(requests, "GET", "/channels/c1")


def test_an_answer_whose_message_body_is_not_json_is_a_response_error_of_the_call() -> None:
    from ari.operations import OperationTemplate

    requests = SocketRequests(ROOT, timeout=2)
    FakeSocket(requests, lambda r: _answer(r, 200, message_body='{"id": "c1",', content_type="application/json"))
    reply = _request(requests, "GET", "/channels/c1")
    template = OperationTemplate(_channels_get())
    with pytest.raises(ari.errors.ResponseError, match="not valid JSON"):
        template.convert(reply, lambda model, data: data)


def _channels_get() -> Any:
    from ari.model import Operation, Parameter, TypeRef

    param = Parameter("channelId", "path", "string", True, False, None, None, None)
    channel = TypeRef.parse("Channel")
    return Operation("channels", "get", "GET", "/channels/{channelId}", "", "", channel, (param,), {}, None)


def test_auto_avoids_the_socket_while_its_gate_says_it_is_not_usable() -> None:
    router = _router("auto")
    assert router.socket is not None
    sock = FakeSocket(router.socket, lambda r: _answer(r, 200, {"ok": 1}))
    usable = [False]
    router.set_socket_gate(lambda: usable[0])
    assert _call(router) == "over http" and not sock.sent  # a saturated backlog: answers would queue behind it
    usable[0] = True
    assert json.loads(_call(router).content) == {"ok": 1} and len(sock.sent) == 1


def test_auto_sends_over_http_while_the_socket_has_socket_depth_calls_in_flight() -> None:
    # Asterisk answers one socket's requests one at a time: past a few in flight, HTTP's pool is faster.
    http = MockTransport(lambda request: Reply(200, "OK", "over http"), ROOT)
    router = Router(http, "auto", SocketRequests(ROOT, 5.0))
    router.socket_depth = 2
    held: List[Dict[str, Any]] = []
    sock = FakeSocket(router.socket, lambda r: held.append(r) or None)  # answers later, by hand
    results: List[Any] = []
    callers = [threading.Thread(target=lambda: results.append(_call(router))) for _ in range(2)]
    for caller in callers:
        caller.start()
    assert wait_until(lambda: router.socket.in_flight == 2, 2)
    assert _call(router) == "over http"  # the third waits for no one
    for request in list(held):
        router.socket.deliver(_answer(request, 200, {"n": request["request_id"]}).encode())
    for caller in callers:
        caller.join(2)
    assert sorted(json.loads(r.content)["n"] for r in results) == ["1", "2"] and router.socket.in_flight == 0
    sock.reply = lambda r: _answer(r, 200, {"back": True})
    assert json.loads(_call(router).content) == {"back": True} and len(sock.sent) == 3  # the socket again


def test_websocket_mode_never_leaves_the_socket_however_deep_its_queue() -> None:
    http = MockTransport(lambda request: Reply(200, "OK", "over http"), ROOT)
    router = Router(http, "websocket", SocketRequests(ROOT, 5.0))
    router.socket_depth = 0
    FakeSocket(router.socket, lambda r: _answer(r, 200, {"socket": True}))
    assert json.loads(_call(router).content) == {"socket": True}
