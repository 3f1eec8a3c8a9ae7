"""The client's REST over the event socket, against the loopback servers: same behaviour as HTTP."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import ari
from ari.naming import python_name
from ari.testing import MockServer, Simulator
from ari.testing.backend import SimResponse
from ari.testing.description import iter_operations, load

from ..support import sample_value, wait_until

USER = PASSWORD = "asterisk"
APP = "socket-app"
OWN_APP = "socket-own"  # for tests' own clients: taking APP would take it from the module's client
FAST_RECONNECT = {"reconnect_initial": 0.05, "reconnect_max": 0.1, "reconnect_jitter": 0.0}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture(scope="module")
def clients(mock: MockServer) -> Iterator[Dict[str, ari.Client]]:
    by_transport = {
        "http": ari.connect(mock.url, USER, PASSWORD, transport="http"),
        "websocket": ari.connect(mock.url, USER, PASSWORD, transport="websocket"),
    }
    by_transport["websocket"].start(APP)
    yield by_transport
    for client in by_transport.values():
        client.close()


@pytest.fixture(autouse=True)
def fresh(mock: MockServer) -> None:
    mock.clear()


OPERATIONS = [(res, op) for res, _path, op in iter_operations(load()) if not op.get("upgrade")]


@pytest.mark.parametrize(("resource", "op"), OPERATIONS, ids=[f"{r}.{o['nickname']}" for r, o in OPERATIONS])
def test_every_operation_sends_the_same_request_on_both_transports(
    mock: MockServer, clients: Dict[str, ari.Client], resource: str, op: Dict[str, Any]
) -> None:
    params = op.get("params", [])
    values = {p["name"]: sample_value(p) for p in params}
    results = {}
    for transport, client in clients.items():
        method = getattr(getattr(client, resource), python_name(op["nickname"]))
        results[transport] = method(**{python_name(name): value for name, (value, _) in values.items()})
    http, socket = mock.requests
    binary = op["returns"] == "binary"
    assert (http.transport, socket.transport) == ("http", "http" if binary else "websocket")
    assert (socket.method, socket.path, socket.path_params, socket.query, socket.body) == (
        http.method,
        http.path,
        http.path_params,
        http.query,
        http.body,
    )
    assert socket.method == op["method"]
    assert socket.query == {p["name"]: values[p["name"]][1] for p in params if p["paramType"] == "query"}
    assert socket.path_params == {p["name"]: values[p["name"]][1] for p in params if p["paramType"] == "path"}
    bodies = [values[p["name"]][1] for p in params if p["paramType"] == "body"]
    assert socket.body == (bodies[0] if bodies else None)
    assert _comparable(results["websocket"]) == _comparable(results["http"])


def _comparable(result: Any) -> Any:
    if isinstance(result, list):
        return [_comparable(r) for r in result]
    if hasattr(result, "to_dict"):
        data = result.to_dict()
        return type(result).__name__, {k: v for k, v in data.items() if k not in ("id", "creationtime", "timestamp")}
    return result


@pytest.mark.parametrize("status", [400, 404, 409, 412, 422, 500])
def test_errors_are_the_same_exceptions_on_both_transports(
    mock: MockServer, clients: Dict[str, ari.Client], status: int
) -> None:
    mock.stub("bridges", "addChannel", status=status, body={"message": f"Asterisk says {status}"})
    errors: Dict[str, ari.HTTPError] = {}
    for transport, client in clients.items():
        with pytest.raises(ari.HTTPError) as caught:
            client.bridges.add_channel(bridgeId="b1", channel=["c1", "c2"])
        errors[transport] = caught.value
    http, socket = errors["http"], errors["websocket"]
    assert type(socket) is type(http) is ari.errors.error_class(status)
    assert (socket.status_code, socket.message, socket.reason, socket.operation, socket.method, socket.url) == (
        http.status_code,
        http.message,
        http.reason,
        http.operation,
        http.method,
        http.url,
    )
    assert socket.message == f"Asterisk says {status}"
    assert str(socket) == str(http)


def test_validation_happens_before_anything_is_sent(mock: MockServer, clients: Dict[str, ari.Client]) -> None:
    with pytest.raises(ari.ValidationError, match="'endpoint': required parameter missing"):
        clients["websocket"].channels.originate(app=APP)
    assert mock.requests == []


def test_callbacks_and_futures_over_the_socket(mock: MockServer) -> None:
    with ari.connect(mock.url, USER, PASSWORD, transport="websocket") as client:
        client.start(OWN_APP)
        got: Future[Tuple[Any, Any]] = Future()
        client.channels.get(channelId="cb", callback=lambda err, result: got.set_result((err, result)))
        error, channel = got.result(5)
        assert error is None and channel.id == "cb"
        assert client.channels.get_async(channelId="fut").result(5).id == "fut"
        mock.stub("channels", "get", status=404, body={"message": "Channel not found"})
        failed: Future[Any] = Future()
        client.channels.get(channelId="gone", callback=lambda err, result: failed.set_result(err))
        assert isinstance(failed.result(5), ari.NotFound)
        with pytest.raises(ari.NotFound, match="Channel not found"):
            client.channels.get_async(channelId="gone").result(5)
    assert [r.transport for r in mock.requests] == ["websocket"] * 4


def test_calls_from_many_threads_each_get_their_own_answer(mock: MockServer, clients: Dict[str, ari.Client]) -> None:
    client = clients["websocket"]
    wrong: List[Tuple[str, str]] = []

    def work(n: int) -> None:
        for i in range(50):
            wanted = f"t{n}-{i}"
            got = client.channels.get(channelId=wanted).id
            if got != wanted:
                wrong.append((wanted, got))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert wrong == []
    assert len(mock.requests) == 400 and {r.transport for r in mock.requests} == {"websocket"}


def test_answers_never_reach_event_handlers(mock: MockServer, clients: Dict[str, ari.Client]) -> None:
    client = clients["websocket"]
    seen: List[str] = []
    arrived = threading.Event()
    client.on("RESTResponse", lambda event: seen.append("RESTResponse"))
    client.on("StasisStart", lambda event, channel: arrived.set())
    try:
        client.asterisk.ping()
        mock.send_event({"type": "StasisStart", "args": [], "channel": mock.minimal("Channel")})
        assert arrived.wait(5)
        assert seen == []
    finally:
        client.remove_all_listeners()


def _drop_while_answering(mock: MockServer) -> None:
    def drop(request: Any) -> SimResponse:
        mock.drop_websockets()  # on the server's thread: the answer never leaves
        return SimResponse(204)

    mock.stub("channels", "answer", body=drop)


@pytest.mark.parametrize("transport", ["auto", "websocket"])
def test_a_lost_socket_fails_the_call_in_flight_and_never_resends_it(mock: MockServer, transport: str) -> None:
    _drop_while_answering(mock)
    with ari.connect(mock.url, USER, PASSWORD, transport=transport, **FAST_RECONNECT) as client:
        reconnected = threading.Event()
        client.on("WebSocketConnected", lambda event: reconnected.set() if event.reconnected else None)
        client.start(OWN_APP)
        with pytest.raises(ari.ConnectionError, match="the outcome is unknown"):
            client.channels.answer(channelId="c1")
        assert [r.transport for r in mock.requests_for("channels", "answer")] == ["websocket"]
        if transport == "websocket":
            client.channels.get(channelId="after")  # waits for the reconnect
            assert reconnected.wait(5)  # its event is dispatched on another thread
        else:
            assert reconnected.wait(5)
        mock.clear()
        client.channels.get(channelId="again")
        assert [r.transport for r in mock.requests] == ["websocket"]


def test_auto_goes_over_http_while_the_socket_is_away(mock: MockServer) -> None:
    with ari.connect(mock.url, USER, PASSWORD, reconnect_initial=30.0) as client:
        client.channels.get(channelId="before-start")
        client.start(OWN_APP)
        client.channels.get(channelId="started")
        lost = threading.Event()
        client.on("WebSocketReconnecting", lambda event: lost.set())
        mock.drop_websockets()
        assert lost.wait(5)
        client.channels.get(channelId="reconnecting")
        client.stop()
        client.channels.get(channelId="stopped")
    assert [(r.path_params["channelId"], r.transport) for r in mock.requests] == [
        ("before-start", "http"),
        ("started", "websocket"),
        ("reconnecting", "http"),
        ("stopped", "http"),
    ]


def test_websocket_transport_needs_a_started_stream(mock: MockServer) -> None:
    with ari.connect(mock.url, USER, PASSWORD, transport="websocket") as client:
        with pytest.raises(ari.ConnectionError, match=r"call client.start\(apps\) first"):
            client.asterisk.ping()
        client.start(OWN_APP)
        client.asterisk.ping()
        client.stop()
        with pytest.raises(ari.ConnectionError, match="not connected"):
            client.asterisk.ping()
    assert [r.transport for r in mock.requests] == ["websocket"]


def test_an_unknown_transport_is_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="transport must be one of auto, http, websocket, not 'udp'"):
        ari.connect("http://127.0.0.1:9", USER, PASSWORD, transport="udp")


# -- against the simulator: bodies, binary answers, event filters ---------------------------
@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as server:
        yield server


def test_request_bodies_and_binary_answers(sim: Simulator) -> None:
    with ari.connect(sim.url, USER, PASSWORD, transport="websocket") as client:
        client.start(OWN_APP)
        entered = threading.Event()
        client.on("StasisStart", lambda event, channel: entered.set())
        channel = client.channels.originate(endpoint="PJSIP/1000", app=OWN_APP, variables={"GREETING": "hello there"})
        assert entered.wait(10)  # once the far end answers
        assert channel.getChannelVar(variable="GREETING").value == "hello there"
        recording = channel.record(name="socket-rec", format="wav")
        assert recording.name == "socket-rec"
        channel.hangup()
        assert wait_until(lambda: _stored(client, "socket-rec"), 10, interval=0.05)
        audio = client.recordings.getStoredFile(recordingName="socket-rec")  # over HTTP: Asterisk answers 406
        assert audio[:4] == b"RIFF"


def _stored(client: ari.Client, name: str) -> bool:
    return any(r.name == name for r in client.recordings.listStored())


def test_a_filter_that_drops_answers(sim: Simulator) -> None:
    with ari.connect(sim.url, USER, PASSWORD) as client:
        client.start(OWN_APP)
        client.applications.filter(applicationName=OWN_APP, filter={"allowed": [{"type": "StasisStart"}]})
        assert client.asterisk.ping().asterisk_id  # over HTTP now, not lost on the socket
        client.applications.filter(applicationName=OWN_APP, filter={})
        assert client.asterisk.ping().asterisk_id
    with (
        ari.connect(sim.url, USER, PASSWORD, transport="websocket", timeout=0.5) as strict,
        ari.connect(sim.url, USER, PASSWORD, transport="http") as other,
    ):
        strict.start(OWN_APP)
        # Set behind the client's back: Asterisk drops the answers, the call times out.
        other.applications.filter(applicationName=OWN_APP, filter={"disallowed": [{"type": "RESTResponse"}]})
        with pytest.raises(ari.Timeout, match="the outcome is unknown"):
            strict.asterisk.ping()


def test_a_backend_answer_that_is_not_json_is_a_server_error_and_the_socket_lives_on(
    mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    with ari.connect(mock.url, USER, PASSWORD, transport="websocket") as client:
        client.start(OWN_APP)
        mock.stub("channels", "get", body=lambda request: {"id": object()})
        with pytest.raises(ari.ServerError, match="Internal server error"):
            client.channels.get(channelId="c1")
        mock.clear()
        assert client.channels.get(channelId="c2").id == "c2"
    assert "is not JSON" in caplog.text


def test_after_its_first_app_is_taken_the_socket_is_known_by_the_next(mock: MockServer) -> None:
    import websocket

    with ari.connect(mock.url, USER, PASSWORD, transport="websocket", **FAST_RECONNECT) as client:
        replaced, reconnected = threading.Event(), threading.Event()
        client.on("ApplicationReplaced", lambda event: replaced.set())
        client.on("WebSocketConnected", lambda event: reconnected.set() if event.reconnected else None)
        client.start(["first-app", "second-app"])
        assert client.meta.router.socket is not None and client.meta.router.socket.app == "first-app"
        thief = websocket.create_connection(
            mock.url.replace("http", "ws", 1) + "/ari/events?app=first-app&api_key=asterisk:asterisk"
        )
        try:
            assert replaced.wait(5)
            mock.drop_websockets()
            assert reconnected.wait(5)
        finally:
            thief.close()
        assert client.meta.router.socket.app == "second-app"
        assert client.channels.get(channelId="still").id == "still"
        assert "transport='websocket'" in repr(client)
