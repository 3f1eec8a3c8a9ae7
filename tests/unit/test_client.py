"""The client over a mocked HTTP layer: connect, errors, results, instances, callbacks, futures."""

from __future__ import annotations

import inspect
import json
import logging
import sys
import threading
from concurrent.futures import Future
from typing import Any, Dict, List, Optional

import pytest
import requests
import responses

import ari
from ari.http import base_url

from .conftest import PASSWORD, ROOT, URL, serve_description


@pytest.mark.parametrize(
    ("given", "root"),
    [
        ("http://pbx:8088", "http://pbx:8088/ari"),
        ("http://pbx:8088/", "http://pbx:8088/ari"),
        ("http://pbx:8088/ari", "http://pbx:8088/ari"),
        ("http://pbx:8088/ari/", "http://pbx:8088/ari"),
        ("https://pbx:8089/asterisk", "https://pbx:8089/asterisk/ari"),
        ("http://pbx:8088/asterisk/ari", "http://pbx:8088/asterisk/ari"),
        ("pbx:8088", "http://pbx:8088/ari"),
    ],
)
def test_url_forms(given: str, root: str) -> None:
    assert base_url(given)[0] == root


def test_url_credentials_are_taken_out_of_the_url() -> None:
    root, user, password = base_url("http://bob:pw@pbx:8088")
    assert (root, user, password) == ("http://pbx:8088/ari", "bob", "pw")
    with pytest.raises(ValueError, match="http or https"):
        base_url("ftp://pbx")


@pytest.mark.parametrize("url", ["http://pbx.example:8088/asterisk", "http://pbx.example:8088/asterisk/ari"])
def test_connect_with_an_http_prefix(rsps: responses.RequestsMock, swagger: Dict[str, Any], url: str) -> None:
    root = "http://pbx.example:8088/asterisk/ari"
    serve_description(rsps, swagger, root)
    rsps.get(root + "/channels", json=[])
    with ari.connect(url, "asterisk", PASSWORD) as client:
        assert client.channels.list() == []


def test_connect_fetches_every_listed_document(rsps: responses.RequestsMock, swagger: Dict[str, Any]) -> None:
    serve_description(rsps, swagger)
    with ari.connect(URL, "asterisk", PASSWORD):
        fetched = {call.request.url.rsplit("/", 1)[1] for call in rsps.calls}
    assert fetched == set(swagger)
    auth = rsps.calls[0].request.headers["Authorization"]
    assert auth.startswith("Basic ")


def test_connect_wrong_credentials(rsps: responses.RequestsMock) -> None:
    rsps.get(ROOT + "/api-docs/resources.json", status=401, json={"message": "Authentication required"})
    with pytest.raises(ari.AuthenticationError) as caught:
        ari.connect(URL, "asterisk", PASSWORD)
    assert caught.value.status_code == 401 and caught.value.message == "Authentication required"
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)


def test_connect_refused_names_the_url() -> None:
    with socket_closed_port() as port:
        url = f"http://127.0.0.1:{port}"
        with pytest.raises(ari.ConnectionError) as caught:
            ari.connect(url, "asterisk", PASSWORD, timeout=2)
    assert f"127.0.0.1:{port}/ari/api-docs/resources.json" in str(caught.value)
    assert isinstance(caught.value, ConnectionError) and PASSWORD not in str(caught.value)
    assert isinstance(caught.value.__cause__, requests.ConnectionError)


def test_connect_timeout(rsps: responses.RequestsMock) -> None:
    rsps.get(ROOT + "/api-docs/resources.json", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(ari.Timeout, match="no answer within 0.5 s"):
        ari.connect(URL, "asterisk", PASSWORD, timeout=0.5)


def test_connect_invalid_description(rsps: responses.RequestsMock, swagger: Dict[str, Any]) -> None:
    serve_description(rsps, swagger)
    rsps.replace(responses.GET, ROOT + "/api-docs/sounds.json", body="<html>oops</html>")
    with pytest.raises(ari.SpecError, match="sounds.json: not valid JSON"):
        ari.connect(URL, "asterisk", PASSWORD)


def test_connect_from_a_saved_folder_does_not_fetch(
    tmp_path: Any, rsps: responses.RequestsMock, swagger: Dict[str, Any]
) -> None:
    (tmp_path / "api-docs").mkdir()
    for name, document in swagger.items():
        target = tmp_path / name if name == "resources.json" else tmp_path / "api-docs" / name
        target.write_text(json.dumps(document))
    rsps.get(ROOT + "/asterisk/ping", json={"asterisk_id": "x", "ping": "pong", "timestamp": "t"})
    with ari.connect(URL, "asterisk", PASSWORD, spec=str(tmp_path)) as client:
        assert client.asterisk.ping().ping == "pong"
    assert [c.request.url for c in rsps.calls] == [ROOT + "/asterisk/ping"]


def test_password_never_in_reprs_or_logs(
    client: ari.Client, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rsps.get(ROOT + "/channels/nope", status=404, json={"message": "Channel not found"})
    with pytest.raises(ari.NotFound) as caught:
        client.channels.get(channelId="nope")
    texts = [repr(client), repr(client.meta.transport), str(caught.value), repr(caught.value), caplog.text]
    assert all(PASSWORD not in text for text in texts)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ari.BadRequest),
        (401, ari.AuthenticationError),
        (403, ari.Forbidden),
        (404, ari.NotFound),
        (409, ari.Conflict),
        (412, ari.PreconditionFailed),
        (422, ari.UnprocessableEntity),
        (500, ari.ServerError),
        (503, ari.ServerError),
        (418, ari.HTTPError),
    ],
)
def test_error_statuses(client: ari.Client, rsps: responses.RequestsMock, status: int, cls: type) -> None:
    rsps.post(ROOT + "/bridges/b1/addChannel", status=status, json={"message": f"asterisk says {status}"})
    with pytest.raises(cls) as caught:
        client.bridges.addChannel(bridgeId="b1", channel="c1")
    error = caught.value
    assert isinstance(error, ari.HTTPError) and isinstance(error, ari.ARIError)
    assert error.status_code == status and error.message == f"asterisk says {status}"
    assert error.operation == "bridges.addChannel" and error.method == "POST"
    assert error.url == ROOT + "/bridges/b1/addChannel"
    if status == 409:
        assert error.reason == "Conflict"
        assert "asterisk says 409" in str(error) and "bridges.addChannel" in str(error)


def test_error_reason_comes_from_the_description(client: ari.Client, rsps: responses.RequestsMock) -> None:
    reasons = client.meta.api.resources["bridges"]
    add = next(op for op in reasons if op.nickname == "addChannel")
    rsps.post(ROOT + "/bridges/b1/addChannel", status=422, body="not json at all")
    with pytest.raises(ari.UnprocessableEntity) as caught:
        client.bridges.add_channel(bridge_id="b1", channel="c1")
    assert caught.value.reason == add.errors[422]
    assert caught.value.message == "not json at all"


def test_validation_happens_before_sending(client: ari.Client, rsps: responses.RequestsMock) -> None:
    cases = [
        (lambda: client.channels.originate(app="x"), "channels.originate: parameter 'endpoint'", "required"),
        (lambda: client.channels.originate(endpoint="x", colour="red"), "'colour'", "valid: endpoint, extension"),
        (lambda: client.channels.originate(endpoint="x", timeout="soon"), "'timeout'", "expected an integer"),
        (lambda: client.channels.originate(endpoint="x", timeout=True), "'timeout'", "expected an integer"),
        (lambda: client.channels.mute(channelId="c", direction="up"), "'direction'", "'up' is not one of: both"),
        (lambda: client.bridges.addChannel(bridgeId="b", channel="c", mute="yes"), "'mute'", "expected a boolean"),
        (lambda: client.asterisk.getInfo(only=["build", "weather"]), "'only'", "'weather' is not one of"),
        (lambda: client.asterisk.getInfo(only=7), "'only'", "expected a list"),
        (lambda: client.channels.get(channelId=""), "'channelId'", "must not be empty"),
        (lambda: client.channels.get({"channelId": "a"}, channel_id="b"), "'channelId'", "given twice"),
        (lambda: client.channels.get(["a"]), "channels.get", "params must be a dict"),
    ]
    for call, where, problem in cases:
        with pytest.raises(ari.ValidationError) as caught:
            call()
        assert isinstance(caught.value, ValueError)
        assert where in str(caught.value) and problem in str(caught.value), str(caught.value)
    assert len(rsps.calls) == 0


def test_wire_forms(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.get(ROOT + "/asterisk/info", json={"build": {"os": "Linux"}})
    rsps.post(ROOT + "/bridges/b/addChannel", status=204)
    info = client.asterisk.get_info(only=["build", "system"])
    assert info.build.os == "Linux" and info["build"]["os"] == "Linux"
    client.bridges.addChannel({"bridgeId": "b", "channel": ["c1", "c2"], "mute": False})
    assert rsps.calls[0].request.url.endswith("/asterisk/info?only=build%2Csystem")
    assert rsps.calls[1].request.url.endswith("/bridges/b/addChannel?channel=c1%2Cc2&mute=false")


def test_body_parameters(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.post(ROOT + "/channels/c/variables", status=204)
    rsps.put(ROOT + "/applications/app/eventFilter", json={"name": "app"})
    client.channels.setChannelVars(channelId="c", variables={"A": "1"})
    client.applications.filter(applicationName="app", filter={"allowed": [{"type": "StasisStart"}]})
    assert json.loads(rsps.calls[0].request.body) == {"variables": {"A": "1"}}
    assert json.loads(rsps.calls[1].request.body) == {"allowed": [{"type": "StasisStart"}]}


def test_path_parameters_cannot_change_the_path(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.add_callback(
        responses.GET,
        ROOT + "/channels/..%2F..%2Fasterisk%2Finfo%3Fx%3D1%23f%25",
        callback=lambda r: (200, {}, json.dumps({"id": "odd"})),
    )
    rsps.add_callback(responses.GET, ROOT + "/channels/%2E%2E", callback=lambda r: (200, {}, json.dumps({"id": ".."})))
    assert client.channels.get(channelId="../../asterisk/info?x=1#f%").id == "odd"
    assert client.channels.get(channelId="..").id == ".."


def test_results_are_converted_by_response_class(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.get(ROOT + "/channels", json=[{"id": "c1", "name": "PJSIP/a", "state": "Up"}, {"id": "c2", "state": "Down"}])
    rsps.get(ROOT + "/recordings/stored/r1/file", body=b"RIFF\x00\x01", content_type="audio/wav")
    rsps.post(ROOT + "/channels/c1/answer", status=204)
    rsps.get(ROOT + "/channels/c1/variable", json={"value": "42"})
    rsps.get(ROOT + "/endpoints/PJSIP", json=[{"technology": "PJSIP", "resource": "1000", "state": "online"}])
    channels = client.channels.list()
    assert [type(c).__name__ for c in channels] == ["Channel", "Channel"]
    assert channels[0].id == "c1" and channels[0]["state"] == "Up" and channels[0].name == "PJSIP/a"
    assert client.recordings.getStoredFile(recordingName="r1") == b"RIFF\x00\x01"
    assert channels[0].answer() is None
    assert client.channels.get_channel_var(channel_id="c1", variable="X").value == "42"
    endpoint = client.endpoints.list_by_tech(tech="PJSIP")[0]
    assert repr(endpoint) == "<Endpoint technology='PJSIP' resource='1000' state='online'>"
    with pytest.raises(AttributeError, match="Channel has no field or operation 'colour'"):
        channels[0].colour  # noqa: B018


def test_instances_have_their_operations_bound(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.get(ROOT + "/bridges/b1", json={"id": "b1", "bridge_type": "mixing", "channels": []})
    rsps.post(ROOT + "/bridges/b1/addChannel", status=204)
    rsps.delete(ROOT + "/channels/c%201", status=204)
    rsps.post(ROOT + "/recordings/live/rec/stop", status=204)
    rsps.post(ROOT + "/endpoints/PJSIP/1000/refer", status=204)
    bridge = client.bridges.get(bridgeId="b1")
    bridge.addChannel(channel="c1")
    bridge.add_channel({"channel": "c1"})
    client.Channel("c 1").hangup(reason="busy")
    client.LiveRecording("rec").stop()
    client.Endpoint(technology="PJSIP", resource="1000").referToEndpoint(**{"from": "a", "refer_to": "b"})
    urls = [c.request.url for c in rsps.calls]
    assert urls[1:] == [
        ROOT + "/bridges/b1/addChannel?channel=c1",
        ROOT + "/bridges/b1/addChannel?channel=c1",
        ROOT + "/channels/c%201?reason=busy",
        ROOT + "/recordings/live/rec/stop",
        ROOT + "/endpoints/PJSIP/1000/refer?from=a&refer_to=b",
    ]
    assert "channelId" not in inspect.signature(client.Channel().hangup).parameters
    assert "bridgeId" not in inspect.signature(bridge.add_channel).parameters


def test_factories_create_with_their_own_id(client: ari.Client, rsps: responses.RequestsMock) -> None:
    bridge = client.Bridge()
    channel = client.Channel()
    playback = client.Playback()
    recording = client.LiveRecording()
    snoop = client.Channel()
    assert len({bridge.id, channel.id, playback.id, recording.name, snoop.id}) == 5
    rsps.post(ROOT + "/bridges", json={"id": bridge.id, "bridge_type": "mixing"})
    rsps.post(ROOT + "/channels", json={"id": channel.id, "state": "Down"})
    rsps.post(ROOT + f"/channels/{channel.id}/play", json={"id": playback.id, "state": "queued"}, status=201)
    rsps.post(ROOT + f"/channels/{channel.id}/record", json={"name": recording.name, "state": "queued"}, status=201)
    rsps.post(ROOT + f"/channels/{channel.id}/snoop", json={"id": snoop.id, "state": "Up"})
    assert bridge.create(type="mixing") is bridge and bridge.bridge_type == "mixing"
    assert channel.originate(endpoint="PJSIP/1000", app="hello") is channel and channel.state == "Down"
    assert channel.play({"media": "sound:hello-world"}, playback) is playback and playback.state == "queued"
    assert channel.record({"format": "wav"}, recording) is recording
    assert channel.snoopChannel({"app": "hello", "spy": "in"}, snoop) is snoop and snoop.state == "Up"
    urls = [c.request.url for c in rsps.calls]
    assert f"bridgeId={bridge.id}" in urls[0] and f"channelId={channel.id}" in urls[1]
    assert f"playbackId={playback.id}" in urls[2] and f"name={recording.name}" in urls[3]
    assert f"snoopId={snoop.id}" in urls[4]
    with pytest.raises(ari.ValidationError, match="cannot take a Bridge instance"):
        channel.play({"media": "sound:x"}, client.Bridge())
    rsps.post(ROOT + f"/channels/{channel.id}/record", json={"name": recording.name, "state": "queued"}, status=201)
    assert channel.record({"name": recording.name, "format": "wav"}, recording) is recording
    with pytest.raises(ari.ValidationError, match="'other' conflicts with the LiveRecording instance"):
        channel.record({"name": "other", "format": "wav"}, recording)
    with pytest.raises(TypeError, match="identified by tech"):
        client.Endpoint("x")


def test_callback_variant(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.get(ROOT + "/channels", json=[{"id": "c1"}])
    rsps.get(ROOT + "/channels/gone", status=404, json={"message": "Channel not found"})
    results: List[Any] = []
    done = threading.Event()

    def callback(err: Optional[BaseException], result: Any) -> None:
        results.append((err, result, threading.current_thread().name))
        if len(results) == 3:
            done.set()

    future = client.channels.list(callback=callback)
    assert isinstance(future, Future)
    client.channels.get({"channelId": "gone"}, callback=callback)
    client.channels.originate(callback=callback)  # invalid: delivered through the callback, not lost
    assert done.wait(5)
    by_kind = {type(err).__name__ if err else "ok": result for err, result, _ in results}
    assert [c.id for c in by_kind["ok"]] == ["c1"]
    assert by_kind["NotFound"] is None and by_kind["ValidationError"] is None
    assert all(name.startswith("ari-worker") for _, _, name in results)
    assert future.result(5)[0].id == "c1"


def test_callback_that_raises_is_logged(
    client: ari.Client, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.get(ROOT + "/asterisk/ping", json={"ping": "pong"})
    done = threading.Event()

    def callback(err: Optional[BaseException], result: Any) -> None:
        done.set()
        raise RuntimeError("user bug")

    client.asterisk.ping(callback=callback).result(5)
    assert done.wait(5)
    client.meta.shutdown()  # joins nothing; the worker has run the callback once the future is done
    for _ in range(50):
        if "user bug" in caplog.text:
            break
        threading.Event().wait(0.02)
    assert "raised" in caplog.text


def test_async_variant(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.get(ROOT + "/channels", json=[{"id": "c1"}])
    rsps.get(ROOT + "/bridges/x", status=404, json={"message": "Bridge not found"})
    assert client.channels.list_async().result(5)[0].id == "c1"
    with pytest.raises(ari.NotFound, match="Bridge not found"):
        client.bridges.get_async(bridgeId="x").result(5)
    assert client.Bridge("x").get_async is not None
    assert client.channels.originateWithId_async.__name__ == "originate_with_id_async"


def test_close_stops_the_worker_pool(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.get(ROOT + "/asterisk/ping", json={"ping": "pong"})
    client.asterisk.ping_async().result(5)
    client.close()
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.asterisk.ping_async()


def test_connect_callback_and_future(rsps: responses.RequestsMock, swagger: Dict[str, Any]) -> None:
    serve_description(rsps, swagger)
    got: List[Any] = []
    done = threading.Event()
    ari.connect(URL, "asterisk", PASSWORD, callback=lambda err, c: (got.append((err, c)), done.set()))
    assert done.wait(5)
    err, connected = got[0]
    assert err is None and isinstance(connected, ari.Client)
    connected.close()
    future = ari.connect_async(URL, "asterisk", PASSWORD)
    future.result(5).close()
    rsps.replace(
        responses.GET, ROOT + "/api-docs/resources.json", status=401, json={"message": "Authentication required"}
    )
    failing = ari.connect_async(URL, "asterisk", PASSWORD)
    with pytest.raises(ari.AuthenticationError):
        failing.result(5)


def test_docstrings_and_signatures(client: ari.Client) -> None:
    doc = client.channels.originate.__doc__ or ""
    assert "endpoint (string, query, required)" in doc and "POST /ari/channels" in doc
    assert "direction (string, query); one of: both, in, out" in (client.channels.mute.__doc__ or "")
    signature = inspect.signature(client.channels.originate)
    assert signature.parameters["endpoint"].default is inspect.Parameter.empty
    assert signature.parameters["callback"].default is None
    assert "from_" in inspect.signature(client.endpoints.sendMessage).parameters


class socket_closed_port:  # noqa: N801 - used like a function
    """A local port with nothing listening."""

    def __enter__(self) -> int:
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        return self.port

    def __exit__(self, *exc: Any) -> None:
        pass


def test_subscriptions_are_noted_however_they_are_made(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.post(ROOT + "/applications/hello/subscription", json={"name": "hello"})
    rsps.delete(ROOT + "/applications/hello/subscription", json={"name": "hello"})
    rsps.post(ROOT + "/applications/other/subscription", status=404, json={"message": "Application not found"})
    client.applications.subscribe(applicationName="hello", eventSource="channel:c1,bridge:b1")
    client.Application("hello").subscribe({"eventSource": ["endpoint:PJSIP/1000"]})
    client.applications.subscribe_async(application_name="hello", event_source="deviceState:d").result(5)
    with pytest.raises(ari.NotFound):
        client.applications.subscribe(applicationName="other", eventSource="channel:x")
    client.applications.unsubscribe(applicationName="hello", eventSource="bridge:b1")
    assert client._subscriptions.snapshot() == {"hello": ["channel:c1", "endpoint:PJSIP/1000", "deviceState:d"]}


def test_reconnect_policy_is_one_value(rsps: responses.RequestsMock, swagger: Dict[str, Any]) -> None:
    serve_description(rsps, swagger)
    policy = ari.Backoff(initial=0.01, maximum=0.5, max_retries=2)
    with ari.connect(URL, "u", "p", reconnect=policy) as client:
        assert client._backoff is policy
    # the reconnect_* keywords are aliases of its fields, applied over it
    with ari.connect(URL, "u", "p", reconnect=policy, reconnect_max=2.0, reconnect_max_retries=None) as client:
        assert client._backoff == ari.Backoff(initial=0.01, maximum=2.0, max_retries=None)
    with ari.connect(URL, "u", "p", reconnect_initial=0.2, reconnect_jitter=0.0, reconnect_factor=3) as client:
        assert client._backoff == ari.Backoff(initial=0.2, jitter=0.0, factor=3)
    with pytest.raises(TypeError, match="ari.Backoff"):
        ari.connect(URL, "u", "p", reconnect={"initial": 1})  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        ari.connect(URL, "u", "p", reconect=policy)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="dispatch"):
        ari.connect(URL, "u", "p", dispatch="parallel")


def test_connect_names_every_option() -> None:
    parameters = inspect.signature(ari.connect).parameters
    for name in (
        "timeout",
        "verify",
        "spec",
        "callback",
        "workers",
        "pool_size",
        "transport",
        "dispatch",
        "dispatch_workers",
        "on_handler_error",
        "ping_interval",
        "ping_timeout",
        "connect_timeout",
        "reconnect",
        "reconnect_initial",
        "reconnect_max",
        "reconnect_factor",
        "reconnect_jitter",
        "reconnect_max_retries",
    ):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert name in (ari.connect.__doc__ or "") or name in ("timeout", "verify", "workers", "pool_size"), name
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    if sys.version_info >= (3, 11):
        import typing

        returns = [typing.get_type_hints(o)["return"] for o in typing.get_overloads(ari.connect)]
        assert returns[0] is ari.Client and "Future" in str(returns[1])


def test_the_router_is_told_not_to_use_the_socket_while_the_backlog_is_full(
    rsps: responses.RequestsMock, swagger: Dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ari.dispatch import Dispatcher
    from ari.events import Promoter

    gates: List[Any] = []
    serve_description(rsps, swagger)
    with ari.connect(URL, "u", "p") as first:
        router_class = type(first.meta.router)  # wherever the router lives
    monkeypatch.setattr(router_class, "set_socket_gate", lambda self, gate: gates.append(gate), raising=False)
    with ari.connect(URL, "u", "p") as client:
        (usable,) = gates
        assert usable() is True  # no events started: nothing queued
        client._dispatcher = dispatcher = Dispatcher(
            client.meta.events, Promoter(client.meta), backlog_frames=1, backlog_wait=0.0
        )
        sink = dispatcher.start()
        gate = threading.Event()
        client.on("ApplicationReplaced", lambda e: gate.wait(5))
        try:
            sink.submit([b'{"type":"ApplicationReplaced","application":"a"}'], 0.0)
            assert usable() is False and sink.saturated
        finally:
            gate.set()
            dispatcher.stop()
        assert usable() is True
