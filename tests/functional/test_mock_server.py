"""The mock server over real sockets: stubs, defaults, recorded requests, pushed events."""

from __future__ import annotations

import json
import threading

import pytest
import requests
import websocket

from ari.testing import LoopbackServer, MockServer
from ari.testing.backend import SimResponse
from ari.testing.mock import RecordedRequest

AUTH = ("asterisk", "asterisk")
TIMEOUT = 5.0


@pytest.fixture
def mock():
    with MockServer() as server:
        yield server


def call(mock: MockServer, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, mock.url + "/ari" + path, auth=AUTH, timeout=TIMEOUT, **kw)


def connect(mock: MockServer, apps: str, extra: str = "") -> websocket.WebSocket:
    url = mock.url.replace("http://", "ws://") + "/ari/events?api_key=asterisk:asterisk&app="
    return websocket.create_connection(url + apps + extra, timeout=TIMEOUT)


def test_is_a_loopback_server(mock):
    assert isinstance(mock, LoopbackServer)
    assert mock.username == "asterisk" and mock.password == "asterisk"


def test_defaults(mock):
    r = call(mock, "GET", "/channels")
    assert (r.status_code, r.json()) == (200, [])
    r = call(mock, "POST", "/channels/c1/answer")
    assert (r.status_code, r.content) == (204, b"")
    r = call(mock, "GET", "/channels/c1")
    channel = r.json()
    assert r.status_code == 200
    assert channel["id"] == "c1"
    assert channel["state"] == "Down"
    assert channel["caller"] == {"name": "", "number": ""}
    assert channel["dialplan"]["priority"] == 0
    assert "channelvars" not in channel  # not required
    r = call(mock, "POST", "/channels", params={"endpoint": "PJSIP/1", "channelId": "mine"})
    assert r.json()["id"] == "mine"
    r = call(mock, "POST", "/channels/c1/play", params={"media": "sound:hello"})
    assert r.status_code == 201
    assert r.json()["id"] and r.json()["id"] != "c1"
    r = call(mock, "POST", "/channels/c1/play/p1", params={"media": "sound:hello"})
    assert r.json()["id"] == "p1"
    r = call(mock, "GET", "/applications/app1")
    assert r.json()["name"] == "app1"
    r = call(mock, "POST", "/bridges", params={"bridgeId": "b1", "name": "conf"})
    assert (r.json()["id"], r.json()["name"]) == ("b1", "conf")
    r = call(mock, "GET", "/recordings/stored/r1/file")
    assert (r.status_code, r.content) == (200, b"")
    assert mock.minimal("CallerID") == {"name": "", "number": ""}


def test_checks_still_apply(mock):
    r = call(mock, "POST", "/channels")
    assert (r.status_code, r.json()) == (400, {"message": "Endpoint must be specified"})
    assert mock.requests == []


def test_stub_and_stub_path(mock):
    mock.stub("channels", "get", body={"id": "stubbed"})
    mock.stub_path("GET", "/ari/channels/gone", status=404, body={"message": "Channel not found"})
    mock.stub_path("delete", "/channels/c1", status=204)
    assert call(mock, "GET", "/channels/x").json() == {"id": "stubbed"}
    r = call(mock, "GET", "/channels/gone")
    assert (r.status_code, r.json()) == (404, {"message": "Channel not found"})
    assert call(mock, "DELETE", "/channels/c1").status_code == 204
    with pytest.raises(ValueError):
        mock.stub("channels", "nope")


def test_callable_stub(mock):
    seen = []

    def answer(request):
        seen.append(threading.current_thread().name)
        return {"id": request.path_params["channelId"], "n": request.query.get("n")}

    mock.stub("channels", "get", body=answer)
    assert call(mock, "GET", "/channels/c7", params={"n": "3"}).json() == {"id": "c7", "n": "3"}
    assert seen == ["ari-sim"]
    mock.stub("channels", "hangup", body=lambda r: SimResponse(409, {"message": "busy"}))
    assert call(mock, "DELETE", "/channels/c7").status_code == 409
    mock.stub("recordings", "getStoredFile", body=b"RIFF")
    assert call(mock, "GET", "/recordings/stored/r/file").content == b"RIFF"


def test_stub_before_start():
    mock = MockServer()
    mock.stub("asterisk", "ping", body={"ping": "pong"})
    with mock:
        assert call(mock, "GET", "/asterisk/ping").json() == {"ping": "pong"}


def test_requests_recorded_without_authorization(mock):
    call(
        mock,
        "POST",
        "/channels",
        params={"endpoint": "PJSIP/1"},
        json={"variables": {"A": 1}},
        headers={"X-Trace": "t1"},
    )
    call(mock, "POST", "/channels/c1/answer")
    recorded = mock.requests
    assert [(r.resource, r.nickname) for r in recorded] == [("channels", "originate"), ("channels", "answer")]
    first = recorded[0]
    assert isinstance(first, RecordedRequest)
    assert first.query == {"endpoint": "PJSIP/1"}
    assert first.body == {"variables": {"A": 1}}
    assert first.headers["X-Trace"] == "t1"
    assert not any(k.lower() == "authorization" for k in first.headers)
    assert [r.path_params for r in mock.requests_for("channels", "answer")] == [{"channelId": "c1"}]
    assert mock.requests_for("bridges", "create") == []
    mock.stub("channels", "get", body={"id": "x"})
    mock.clear()
    assert mock.requests == []
    assert call(mock, "GET", "/channels/c2").json()["id"] == "c2"  # the stub is gone too


def test_send_event_fills_fields(mock):
    ws = connect(mock, "a")
    assert mock.wait_for_app("a", TIMEOUT)
    mock.send_event({"type": "StasisStart", "args": []})
    event = json.loads(ws.recv())
    assert event["type"] == "StasisStart"
    assert event["application"] == "a"
    assert event["asterisk_id"] == mock.asterisk_id
    assert event["timestamp"].endswith("+0000")
    mock.send_event({"type": "X", "application": "a", "timestamp": "t", "asterisk_id": "i"})
    assert json.loads(ws.recv()) == {"type": "X", "application": "a", "timestamp": "t", "asterisk_id": "i"}
    ws.close()


def test_send_event_to_all_or_one(mock):
    one = connect(mock, "a")
    two = connect(mock, "b,c", "&subscribeAll=true")
    assert mock.wait_for_app("a", TIMEOUT) and mock.wait_for_app("c", TIMEOUT)
    assert mock.connected_apps() == {"a", "b", "c"}
    assert mock.subscribed_all("b") is True and mock.subscribed_all("a") is False
    mock.send_event({"type": "Everyone"})
    assert json.loads(one.recv())["application"] == "a"
    assert sorted(json.loads(two.recv())["application"] for _ in range(2)) == ["b", "c"]
    mock.send_event({"type": "OnlyC", "application": "c"})
    mock.send_event({"type": "OnlyA", "application": "a"})
    assert json.loads(two.recv())["type"] == "OnlyC"
    assert json.loads(one.recv())["type"] == "OnlyA"
    one.close()
    two.close()


def test_send_raw(mock):
    ws = connect(mock, "a")
    assert mock.wait_for_app("a", TIMEOUT)
    mock.send_raw("a", "this is not JSON {")
    assert ws.recv() == "this is not JSON {"
    ws.close()


def test_drop_websockets_and_reconnect(mock):
    ws = connect(mock, "a")
    assert mock.wait_for_app("a", TIMEOUT)
    assert mock.drop_websockets() == 1
    assert mock.connected_apps() == set()
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        ws.recv()
    ws.close()
    ws = connect(mock, "a")
    assert mock.wait_for_app("a", TIMEOUT)
    ws.close()
    assert mock.wait_for_no_app("a", TIMEOUT)


def test_application_replaced(mock):
    old = connect(mock, "a")
    assert mock.wait_for_app("a", TIMEOUT)
    new = connect(mock, "a")
    assert json.loads(old.recv())["type"] == "ApplicationReplaced"
    mock.send_event({"type": "Hello"})
    assert json.loads(new.recv())["type"] == "Hello"
    old.close()
    new.close()


def test_stop_leaves_no_thread():
    mock = MockServer(speed=10).start()
    mock.stop()
    assert [t for t in threading.enumerate() if t.name == "ari-sim"] == []


def test_pytest_plugin_fixture(ari_mock):
    assert isinstance(ari_mock, MockServer)
    assert call(ari_mock, "GET", "/channels").json() == []


def test_plugin_and_package_import_without_aiohttp():
    import subprocess
    import sys

    code = (
        "import sys, ari.testing, ari.testing.pytest_plugin, ari.testing.description;"
        "assert 'aiohttp' not in sys.modules, 'aiohttp imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_command_line_serves_the_mock_until_interrupted():
    import signal
    import subprocess

    from ..support import cli_command

    proc = subprocess.Popen(
        cli_command("--mock", "--port", "0", "--user", "u", "--password", "p"), stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "user=u password=p" in line
        url = line.split()[3][: -len("/ari")]
        r = requests.get(url + "/ari/asterisk/ping", auth=("u", "p"), timeout=TIMEOUT)
        assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
