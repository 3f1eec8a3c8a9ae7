"""The loopback server over real sockets: auth, api-docs, checks, responses, the events socket."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from typing import Any, Dict, List, Tuple

import pytest
import requests
import websocket

from ari.testing.backend import SimRequest, SimResponse
from ari.testing.server import LoopbackServer

AUTH = ("asterisk", "secret")
TIMEOUT = 5.0


class RecordingBackend:
    """Echoes each request back and records what the server told it."""

    def __init__(self) -> None:
        self.requests: List[SimRequest] = []
        self.calls: List[Tuple[str, Any]] = []
        self.answers: Dict[str, SimResponse] = {}
        self.bound = 0
        self.changed = threading.Event()

    def bind(self, scheduler: Any, events: Any) -> None:
        self.bound += 1
        self.scheduler, self.events = scheduler, events

    def handle(self, request: SimRequest) -> SimResponse:
        self.requests.append(request)
        if request.nickname == "getStoredFile":
            return SimResponse(200, raw=b"RIFF....WAVE", content_type="audio/wav")
        if request.nickname == "ping":
            raise RuntimeError("backend bug")
        if request.nickname in self.answers:
            return self.answers[request.nickname]
        return SimResponse(
            200,
            {
                "nickname": request.nickname,
                "path": request.path,
                "path_params": request.path_params,
                "query": request.query,
                "body": request.body,
            },
        )

    def app_connected(self, app: str, subscribe_all: bool) -> None:
        self.calls.append(("connected", (app, subscribe_all)))
        self.changed.set()

    def app_disconnected(self, app: str) -> None:
        self.calls.append(("disconnected", app))
        self.changed.set()


@pytest.fixture
def backend() -> RecordingBackend:
    return RecordingBackend()


@pytest.fixture
def server(backend):
    srv = LoopbackServer(backend, username=AUTH[0], password=AUTH[1])
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def ws_url(server: LoopbackServer, query: str) -> str:
    return server.url.replace("http://", "ws://") + "/ari/events?" + query


def connect_ws(server: LoopbackServer, query: str, **kw: Any) -> websocket.WebSocket:
    ws = websocket.create_connection(ws_url(server, query), timeout=TIMEOUT, **kw)
    return ws


def key() -> str:
    return f"api_key={AUTH[0]}:{AUTH[1]}"


def ari_threads() -> List[str]:
    return [t.name for t in threading.enumerate() if t.name == "ari-sim"]


# -- lifecycle -----------------------------------------------------------------------------


def test_start_stop_leaves_no_thread(backend):
    srv = LoopbackServer(backend)
    assert srv.start() is srv
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", srv.url)
    assert srv.port != 0
    assert ari_threads() == ["ari-sim"]
    assert backend.bound == 1
    srv.stop()
    srv.stop()  # idempotent
    assert ari_threads() == []
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url + "/ari/asterisk/info", auth=("asterisk", "asterisk"), timeout=2)


def test_context_manager_and_open_sockets_closed(backend):
    with LoopbackServer(backend) as srv:
        ws = websocket.create_connection(
            srv.url.replace("http", "ws") + "/ari/events?app=a&api_key=asterisk:asterisk", timeout=TIMEOUT
        )
        assert srv.wait_for_app("a", TIMEOUT)
    assert ari_threads() == []
    try:
        op, _ = ws.recv_data()
        assert op == websocket.ABNF.OPCODE_CLOSE  # the server said goodbye
    finally:
        ws.shutdown()


def test_start_failure_is_reported_and_leaves_no_thread(backend, server):
    other = LoopbackServer(RecordingBackend(), port=server.port)
    with pytest.raises(RuntimeError, match="failed to start"):
        other.start()
    assert ari_threads() == ["ari-sim"]  # only the fixture's


def test_started_twice_is_an_error(server):
    with pytest.raises(RuntimeError):
        server.start()


def test_bad_speed():
    with pytest.raises(ValueError):
        LoopbackServer(RecordingBackend(), speed=0)


def test_call_in_loop_returns_and_reraises(server):
    assert server.call_in_loop(threading.current_thread).name == "ari-sim"
    assert server.call_in_loop(lambda a, b: a + b, 2, 3) == 5

    def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        server.call_in_loop(boom)


def test_call_in_loop_when_not_running(backend):
    with pytest.raises(RuntimeError):
        LoopbackServer(backend).call_in_loop(lambda: None)


def test_scheduler_runs_callbacks_at_speed(backend):
    with LoopbackServer(backend, speed=100) as srv:
        fired = threading.Event()
        now: List[float] = []

        def later() -> None:
            now.append(srv.scheduler.now())
            fired.set()

        srv.call_in_loop(srv.scheduler.call_later, 5.0, later)  # 5 s simulated = 50 ms real
        assert fired.wait(TIMEOUT)
        assert now[0] >= 5.0
        stamp = srv.call_in_loop(srv.scheduler.timestamp)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", stamp)
        handle = srv.call_in_loop(srv.scheduler.call_later, 0.0, lambda: 1 / 0)
        assert hasattr(handle, "cancel")


# -- auth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/ari/asterisk/info", "/ari/api-docs/resources.json", "/ari/nope", "/ari/events?app=a"]
)
def test_missing_or_wrong_credentials(server, path):
    for kw in ({}, {"auth": ("asterisk", "wrong")}):
        r = requests.get(server.url + path, timeout=TIMEOUT, **kw)
        assert r.status_code == 401
        assert r.json() == {"message": "Authentication required"}
        assert r.headers["WWW-Authenticate"] == 'Basic realm="Asterisk REST Interface"'
    r = requests.get(server.url + path, params={"api_key": "asterisk:wrong"}, timeout=TIMEOUT)
    assert r.status_code == 401


def test_basic_and_api_key(server, backend):
    r = requests.get(server.url + "/ari/asterisk/info", auth=AUTH, timeout=TIMEOUT)
    assert r.status_code == 200
    r = requests.get(server.url + "/ari/asterisk/info?" + key(), timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["query"] == {}  # api_key is not a parameter of the operation
    token = base64.b64encode(b"asterisk:secret").decode()
    r = requests.get(server.url + "/ari/asterisk/info", headers={"Authorization": "basic  " + token}, timeout=TIMEOUT)
    assert r.status_code == 200
    r = requests.get(server.url + "/ari/asterisk/info", headers={"Authorization": "Basic !!!"}, timeout=TIMEOUT)
    assert r.status_code == 401


def test_websocket_needs_credentials(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect_ws(server, "app=a")
    assert info.value.status_code == 401
    header = "Authorization: Basic " + base64.b64encode(b"asterisk:secret").decode()
    ws = connect_ws(server, "app=a", header=[header])
    assert server.wait_for_app("a", TIMEOUT)
    ws.close()


# -- api-docs ------------------------------------------------------------------------------


def test_api_docs_served_with_base_path(server):
    r = requests.get(server.url + "/ari/api-docs/resources.json", auth=AUTH, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    listing = r.json()
    assert listing["basePath"] == server.url + "/ari"
    names = [a["path"].split("/")[-1].split(".")[0] for a in listing["apis"]]
    assert "channels" in names and "events" in names
    for name in names:
        doc = requests.get(f"{server.url}/ari/api-docs/{name}.json", auth=AUTH, timeout=TIMEOUT).json()
        assert doc["basePath"] == server.url + "/ari"
        assert doc["resourcePath"] == f"/api-docs/{name}.{{format}}"
    r = requests.get(server.url + "/ari/api-docs/nope.json", auth=AUTH, timeout=TIMEOUT)
    assert (r.status_code, r.json()) == (404, {"message": "Resource not found"})
    r = requests.post(server.url + "/ari/api-docs/resources.json", auth=AUTH, timeout=TIMEOUT)
    assert (r.status_code, r.json()) == (405, {"message": "Invalid method"})


# -- routing and checks --------------------------------------------------------------------


def call(server: LoopbackServer, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(method, server.url + "/ari" + path, auth=AUTH, timeout=TIMEOUT, **kw)


def test_unknown_path_and_wrong_method(server, backend):
    r = call(server, "GET", "/nope")
    assert (r.status_code, r.json()) == (404, {"message": "Resource not found"})
    r = call(server, "PUT", "/channels/c1")
    assert (r.status_code, r.json()) == (405, {"message": "Invalid method"})
    r = requests.get(server.url + "/other", auth=AUTH, timeout=TIMEOUT)
    assert r.status_code == 404
    assert backend.requests == []


def test_literal_segments_win(server):
    r = call(server, "POST", "/channels/create", params={"endpoint": "PJSIP/1", "app": "a"})
    assert r.json()["nickname"] == "create"
    r = call(server, "POST", "/channels/externalMedia", params={"app": "a", "external_host": "h:1", "format": "ulaw"})
    assert r.json()["nickname"] == "externalMedia"
    r = call(server, "POST", "/channels/c1", params={"endpoint": "PJSIP/1"})
    assert r.json()["nickname"] == "originateWithId"


def test_percent_encoded_ids(server):
    r = call(server, "GET", "/channels/a%2Fb%20c")
    assert r.json()["path_params"] == {"channelId": "a/b c"}
    assert r.json()["path"] == "/channels/a/b c"
    r = call(server, "GET", "/endpoints/PJSIP/alice%40example.com")
    assert r.json()["path_params"] == {"tech": "PJSIP", "resource": "alice@example.com"}


def test_query_values_pass_as_strings_last_wins(server):
    r = call(
        server,
        "POST",
        "/channels",
        params=[("endpoint", "PJSIP/1"), ("timeout", "10"), ("timeout", "20"), ("app", "x")],
    )
    assert r.status_code == 200
    assert r.json()["query"] == {"endpoint": "PJSIP/1", "timeout": "20", "app": "x"}


@pytest.mark.parametrize(
    "method,path,params,status,message",
    [
        ("POST", "/channels/c1/play", {}, 500, "Failed to queue media for playback"),
        ("PUT", "/deviceStates/Stasis:x", {"deviceState": "NOPE"}, 500, "Unknown device"),
        ("POST", "/channels/c1/record", {"format": "wav"}, 500, "Error parsing request"),
        ("POST", "/channels/c1/record", {"name": "n"}, 422, "specified format is unknown on this system"),
        ("GET", "/asterisk/info", {"only": "build,nope"}, 200, None),  # Asterisk ignores the unknown
    ],
)
def test_parameters_refused_as_asterisks_handlers_do(server, backend, method, path, params, status, message):
    r = call(server, method, path, params=params)
    assert r.status_code == status
    if message is not None:
        assert r.json() == {"message": message}


@pytest.mark.parametrize(
    "method,path,params,message",
    [
        ("POST", "/channels", {}, "Endpoint must be specified"),
        ("POST", "/channels", {"endpoint": ""}, "Endpoint must be specified"),
        ("POST", "/channels/c1/dtmf", {}, "DTMF is required"),
        ("POST", "/bridges/b1/addChannel", {}, "Missing parameter channel"),
        ("POST", "/channels", {"endpoint": "x", "timeout": "soon"}, "timeout"),
        ("POST", "/channels/c1/dial", {"timeout": "-1"}, "timeout"),
        ("POST", "/channels/c1/mute", {"direction": "up"}, "direction"),
        ("GET", "/channels/c1/variable", {}, "Variable name is required"),
        ("POST", "/channels/c1/redirect", {"endpoint": "x"}, None),
        ("POST", "/channels/c1/play", {"media": "sound:x", "skipms": "x1"}, "skipms"),
        ("POST", "/bridges/b1/addChannel", {"channel": "c1", "absorbDTMF": "yes"}, "absorbDTMF"),
    ],
)
def test_bad_parameters(server, backend, method, path, params, message):
    r = call(server, method, path, params=params)
    if message is None:
        assert r.status_code == 200
        return
    assert r.status_code == 400
    assert set(r.json()) == {"message"}
    assert message in r.json()["message"]
    assert backend.requests == []


def test_good_typed_parameters(server):
    r = call(server, "GET", "/asterisk/info", params={"only": "build,status"})
    assert r.status_code == 200
    r = call(server, "POST", "/bridges/b1/addChannel", params={"channel": "c1,c2", "absorbDTMF": "TRUE"})
    assert r.status_code == 200
    assert r.json()["query"]["channel"] == "c1,c2"


def test_body(server):
    r = call(server, "POST", "/channels", params={"endpoint": "PJSIP/1"}, json={"variables": {"A": "1"}})
    assert r.json()["body"] == {"variables": {"A": "1"}}
    r = call(server, "POST", "/channels/c1/variables", json={})
    assert (r.status_code, r.json()) == (400, {"message": "Variables must be specified"})
    r = call(server, "POST", "/channels/c1/variables", json={"variables": {"A": "1"}})
    assert r.status_code == 200
    r = call(server, "POST", "/channels/c1/answer", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert set(r.json()) == {"message"}


def test_body_keys_are_read_as_query_parameters(server):
    r = call(server, "POST", "/channels", json={"endpoint": "PJSIP/1", "timeout": 5, "variables": {"A": "1"}})
    assert r.status_code == 200
    assert r.json()["query"] == {"endpoint": "PJSIP/1", "timeout": "5"}
    r = call(server, "POST", "/channels", json={"endpoint": "PJSIP/1", "timeout": "x"})
    assert r.status_code == 400


def test_binary_empty_and_error_responses(server, backend):
    r = call(server, "GET", "/recordings/stored/r1/file")
    assert (r.status_code, r.content, r.headers["Content-Type"]) == (200, b"RIFF....WAVE", "audio/wav")
    backend.answers["answer"] = SimResponse(204)
    r = call(server, "POST", "/channels/c1/answer")
    assert (r.status_code, r.content) == (204, b"")
    backend.answers["hangup"] = SimResponse(404, {"message": "Channel not found"}, headers={"X-Test": "1"})
    r = call(server, "DELETE", "/channels/c1")
    assert (r.status_code, r.json(), r.headers["X-Test"]) == (404, {"message": "Channel not found"}, "1")
    backend.answers["get"] = SimResponse(200, None)
    r = call(server, "GET", "/channels/c1")
    assert (r.status_code, r.content) == (200, b"")


def test_backend_failure_is_a_500(server):
    r = call(server, "GET", "/asterisk/ping")
    assert (r.status_code, r.json()) == (500, {"message": "Internal server error"})


# -- events WebSocket ----------------------------------------------------------------------


def test_events_need_app(server):
    r = requests.get(server.url + "/ari/events", auth=AUTH, timeout=TIMEOUT)
    assert (r.status_code, r.json()) == (400, {"message": "Missing parameter app"})
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect_ws(server, key())
    assert info.value.status_code == 400
    r = requests.get(server.url + "/ari/events?app=a", auth=AUTH, timeout=TIMEOUT)
    assert r.status_code == 400  # not an upgrade
    with pytest.raises(websocket.WebSocketBadStatusException):
        connect_ws(server, "app=a&subscribeAll=maybe&" + key())


def test_events_delivered_compact_and_in_order(server, backend):
    ws = connect_ws(server, "app=a,b&subscribeAll=true&" + key())
    assert server.wait_for_app("a", TIMEOUT) and server.wait_for_app("b", TIMEOUT)
    assert server.connected_apps() == {"a", "b"}
    assert ("connected", ("a", True)) in backend.calls

    def burst() -> None:
        for i in range(500):
            backend.events.send("a", {"type": "T", "i": i, "s": "é"})
        backend.events.send("nobody", {"type": "Lost"})
        backend.events.send("b", {"type": "B"})

    server.call_in_loop(burst)
    texts = [ws.recv() for _ in range(501)]
    assert texts[0] == '{"type":"T","i":0,"s":"\\u00e9"}'
    assert [json.loads(t)["i"] for t in texts[:500]] == list(range(500))
    assert json.loads(texts[500]) == {"type": "B"}
    ws.send("not json")  # Asterisk 20.14+ reads client frames as RESTRequests
    ws.ping("hello")
    server.call_in_loop(backend.events.send, "a", {"type": "After"})
    texts = []
    while len(texts) < 2:
        op, frame = ws.recv_data_frame(control_frame=True)
        if op == websocket.ABNF.OPCODE_TEXT:
            texts.append(json.loads(frame.data))
    # The two come from different sources, in either order.
    answer = next(t for t in texts if t["type"] == "RESTResponse")
    assert answer["status_code"] == 400 and answer["reason_phrase"] == "Failed to parse request message JSON"
    assert {"type": "After"} in texts
    ws.close()
    assert server.wait_for_no_app("a", TIMEOUT)
    assert ("disconnected", "a") in backend.calls and ("disconnected", "b") in backend.calls


def test_subprotocol_ari(server):
    ws = connect_ws(server, "app=a&" + key(), subprotocols=["ari"])
    assert ws.getsubprotocol() == "ari"
    ws.close()


def test_application_replaced(server, backend):
    old = connect_ws(server, "app=a,keep&" + key())
    assert server.wait_for_app("keep", TIMEOUT)
    new = connect_ws(server, "app=a&" + key())
    replaced = json.loads(old.recv())
    assert replaced["type"] == "ApplicationReplaced"
    assert replaced["application"] == "a"
    assert replaced["asterisk_id"] == server.asterisk_id
    assert re.fullmatch(r"\d{4}-.*\+0000", replaced["timestamp"])
    server.call_in_loop(backend.events.send, "a", {"type": "ToNew"})
    server.call_in_loop(backend.events.send, "keep", {"type": "ToOld"})
    assert json.loads(new.recv()) == {"type": "ToNew"}
    assert json.loads(old.recv()) == {"type": "ToOld"}
    old.close()
    assert server.wait_for_no_app("keep", TIMEOUT)
    assert server.connected_apps() == {"a"}  # closing the old socket keeps the moved app
    assert ("disconnected", "a") not in backend.calls
    new.close()


def test_drop_websockets(server, backend):
    ws = connect_ws(server, "app=a&" + key())
    assert server.wait_for_app("a", TIMEOUT)
    assert server.drop_websockets() == 1
    assert server.connected_apps() == set()
    assert ("disconnected", "a") in backend.calls
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        ws.recv()
    ws.close()
    again = connect_ws(server, "app=a&" + key())  # a client reconnects
    assert server.wait_for_app("a", TIMEOUT)
    again.close()


def test_wait_for_app_times_out(server):
    assert server.wait_for_app("never", 0.05) is False


def test_raw_socket_garbage_does_not_kill_server(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as s:
        s.sendall(b"NONSENSE\r\n\r\n")
        s.recv(1024)
    r = call(server, "GET", "/asterisk/info")
    assert r.status_code == 200
