"""A call from arguments to result, through a fake transport: bad input, bad answers, bad descriptions."""

from __future__ import annotations

import copy
import inspect
import json
import math
from typing import Any, Callable, Dict, Iterator, List

import pytest
import responses

import ari
from ari.client import Client
from ari.model import build_api
from ari.resources import Meta
from ari.transports import MockTransport, PreparedRequest, Reply, Router

from .conftest import PASSWORD, ROOT, URL, description_of, serve_description

Answer = Callable[[PreparedRequest], Reply]


@pytest.fixture
def answers() -> Dict[str, Any]:
    """operation name -> the Reply (or a function of the request) the fake transport gives."""
    return {}


@pytest.fixture
def sent() -> List[PreparedRequest]:
    return []


@pytest.fixture
def fake(swagger: Dict[str, Dict[str, Any]], answers: Dict[str, Any], sent: List[PreparedRequest]) -> Iterator[Client]:
    def answer(request: PreparedRequest) -> Reply:
        sent.append(request)
        reply = answers.get(request.operation or "", Reply(204, "No Content", b""))
        return reply(request) if callable(reply) else reply

    with Client(Meta(build_api(description_of(swagger)), Router(MockTransport(answer, ROOT), "http"))) as client:
        yield client


# -- answers that cannot be used ----------------------------------------------------------
@pytest.mark.parametrize(
    "operation, call, content",
    [
        ("channels.get", lambda c: c.channels.get(channelId="c1"), '{"id": "c1", oops'),
        ("channels.list", lambda c: c.channels.list(), "[{"),
    ],
)
def test_an_answer_that_is_not_json_is_a_response_error(
    fake: Any, answers: Dict[str, Any], operation: str, call: Callable[[Any], Any], content: str
) -> None:
    answers[operation] = Reply(200, "OK", content)
    with pytest.raises(ari.errors.ResponseError, match=f"{operation}: the answer is not valid JSON") as caught:
        call(fake)
    assert isinstance(caught.value.__cause__, json.JSONDecodeError)


@pytest.mark.parametrize(
    "operation, call, data, problem",
    [
        (
            "channels.get",
            lambda c: c.channels.get(channelId="c1"),
            [{"id": "c1"}],
            "expected a Channel object, got a list",
        ),
        ("channels.list", lambda c: c.channels.list(), {"id": "c1"}, "expected a list, got an object"),
        ("channels.list", lambda c: c.channels.list(), ["c1"], "expected a Channel object, got a string"),
        ("asterisk.getInfo", lambda c: c.asterisk.getInfo(), "up", "expected a AsteriskInfo object, got a string"),
        ("channels.get", lambda c: c.channels.get(channelId="c1"), None, "expected a Channel object, got nothing"),
    ],
)
def test_an_answer_of_the_wrong_shape_is_a_response_error(
    fake: Any, answers: Dict[str, Any], operation: str, call: Callable[[Any], Any], data: Any, problem: str
) -> None:
    answers[operation] = Reply(200, "OK", "" if data is None else json.dumps(data))
    with pytest.raises(ari.errors.ResponseError, match=problem):
        call(fake)


def test_calls_after_close_raise_a_clear_error(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.get(ROOT + "/channels", json=[])
    assert client.channels.list() == []
    client.close()
    with pytest.raises(ari.ARIError, match="the client is closed"):
        client.channels.list()
    assert len(rsps.calls) == 1


def test_messages_quote_at_most_a_little_of_huge_bodies_and_urls(
    client: ari.Client, rsps: responses.RequestsMock
) -> None:
    huge = "x" * 5_000_000
    rsps.post(ROOT + "/channels", body=huge, status=500)
    with pytest.raises(ari.ServerError) as caught:
        client.channels.originate(endpoint="PJSIP/1", app="a")
    assert len(str(caught.value)) < 2_000 and caught.value.message == huge  # whole on the attribute
    long_id = "c" * 100_000
    rsps.get(ROOT + "/channels/" + long_id, json={"message": "no"}, status=404)
    with pytest.raises(ari.NotFound) as not_found:
        client.channels.get(channelId=long_id)
    assert len(str(not_found.value)) < 2_000


# -- values that cannot be sent -----------------------------------------------------------
@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda c: c.channels.setChannelVars(channelId="c1", variables=["A", "1"]), "variables"),
        (lambda c: c.channels.setChannelVars(channelId="c1", variables="A=1"), "variables"),
        (lambda c: c.channels.setChannelVars(channelId="c1", variables={"A": b"1"}), "variables"),
        (lambda c: c.channels.setChannelVars(channelId="c1", variables={"A": math.nan}), "variables"),
        (lambda c: c.channels.setChannelVars(channelId="c1", variables={"A": "\ud800"}), "variables"),
        (lambda c: c.channels.setChannelVars(channelId="c1", variables={1: "x"}), "variables"),
        (lambda c: c.applications.filter(applicationName="a", filter=[{"type": "StasisStart"}]), "filter"),
        (lambda c: c.applications.filter(applicationName="a", filter="StasisStart"), "filter"),
        (lambda c: c.channels.get(channelId=b"c1"), "channelId"),
        (lambda c: c.channels.get(channelId="c\ud800"), "channelId"),
        (lambda c: c.channels.originate(endpoint="PJSIP/1", app="a", appArgs="\udfff"), "appArgs"),
        (lambda c: c.channels.originate(endpoint="PJSIP/1", app="a", timeout=math.inf), "timeout"),
        (lambda c: c.channels.originate(endpoint="PJSIP/1", app="a", callerId=math.nan), "callerId"),
        (lambda c: c.channels.play(channelId="c1", media=["sound:a,sound:b"]), "media"),
        (lambda c: c.channels.play(channelId="c1", media=[b"sound:a"]), "media"),
    ],
)
def test_values_that_cannot_be_sent_are_validation_errors(
    fake: Any, sent: List[PreparedRequest], call: Callable[[Any], Any], parameter: str
) -> None:
    with pytest.raises(ari.ValidationError) as caught:
        call(fake)
    assert caught.value.parameter == parameter
    assert not sent


def test_a_list_given_as_one_string_is_still_split_on_commas(
    fake: Any, answers: Dict[str, Any], sent: List[PreparedRequest]
) -> None:
    answers["channels.play"] = Reply(201, "Created", '{"id": "p1"}')
    fake.channels.play(channelId="c1", media="sound:a,sound:b")
    fake.channels.play(channelId="c1", media=["sound:a", "sound:b"])
    assert [r.query["media"] for r in sent] == ["sound:a,sound:b"] * 2


# -- listeners of resources that were never made ------------------------------------------
def test_a_failed_create_releases_the_listeners_of_its_instance(fake: Any, answers: Dict[str, Any]) -> None:
    answers["channels.play"] = Reply(404, "Not Found", '{"message": "Channel not found"}')
    answers["bridges.create"] = Reply(409, "Conflict", '{"message": "no"}')
    registry = fake.meta.events
    for _ in range(20):
        playback = fake.Playback()
        playback.once("PlaybackFinished", lambda event, pb: None)
        with pytest.raises(ari.NotFound):
            fake.channels.play(channelId="c1", media="sound:x", playbackId=None, instance=playback)
        bridge = fake.Bridge()
        bridge.on("BridgeDestroyed", lambda event, b: None)
        with pytest.raises(ari.Conflict):
            bridge.create()
    assert registry.keyed_count() == 0
    kept = fake.Playback()
    kept.on("PlaybackFinished", lambda event, pb: None)
    answers["channels.play"] = Reply(200, "OK", json.dumps({"id": kept.id, "state": "queued"}))
    assert fake.channels.play(channelId="c1", media="sound:x", instance=kept) is kept
    assert registry.keyed_count() == 1


# -- documentation -------------------------------------------------------------------------
def test_help_shows_the_servers_own_parameter_descriptions(
    rsps: responses.RequestsMock, swagger: Dict[str, Any]
) -> None:
    described = copy.deepcopy(swagger)
    for api in described["channels.json"]["apis"]:
        for operation in api["operations"]:
            for param in operation.get("parameters", []):
                param["description"] = f"What {param['name']} means, says Asterisk."
    serve_description(rsps, described)
    with ari.connect(URL, "asterisk", PASSWORD) as client:
        doc = client.channels.originate.__doc__
        assert "endpoint (string, query, required): What endpoint means, says Asterisk." in doc
        channel = client.Channel("c1")
        bound = inspect.getdoc(channel.play)
        assert "What media means, says Asterisk." in bound
        assert "    channelId / channel_id (" not in bound and "The instance fills channelId." in bound
        assert "    channelId / channel_id (" in str(inspect.getdoc(client.channels.play))
        assert "channelId" not in inspect.signature(channel.play).parameters
        assert "channelId" in inspect.signature(client.channels.play).parameters


def test_dir_of_an_instance_lists_its_fields(fake: Any, answers: Dict[str, Any]) -> None:
    answers["channels.get"] = Reply(200, "OK", json.dumps({"id": "c1", "name": "PJSIP/1", "state": "Up"}))
    listed = dir(fake.channels.get(channelId="c1"))
    assert {"id", "name", "state", "answer", "hangup", "on"} <= set(listed)


# -- descriptions that would take the client over ---------------------------------------------
def _hostile(swagger: Dict[str, Any], change: Callable[[Dict[str, Any]], None]) -> Dict[str, Any]:
    described = copy.deepcopy(swagger)
    change(described)
    return described


def _add_resource(name: str) -> Callable[[Dict[str, Any]], None]:
    def change(described: Dict[str, Any]) -> None:
        described["resources.json"]["apis"].append({"path": f"/api-docs/{name}.{{format}}"})
        document = copy.deepcopy(described["sounds.json"])
        document["models"] = {}
        for api in document["apis"]:
            api["path"] = api["path"].replace("/sounds", f"/{name}")
            for operation in api["operations"]:
                operation["responseClass"] = "void"
        described[f"{name}.json"] = document

    return change


def _change_operation(resource: str, old: str, **fields: Any) -> Callable[[Dict[str, Any]], None]:
    def change(described: Dict[str, Any]) -> None:
        for api in described[f"{resource}.json"]["apis"]:
            for operation in api["operations"]:
                if operation["nickname"] == old:
                    if "path" in fields:
                        api["path"] = fields["path"]
                    operation.update({k: v for k, v in fields.items() if k != "path"})
                    return

    return change


def _add_parameter(resource: str, nickname: str, name: str) -> Callable[[Dict[str, Any]], None]:
    def change(described: Dict[str, Any]) -> None:
        for api in described[f"{resource}.json"]["apis"]:
            for operation in api["operations"]:
                if operation["nickname"] == nickname:
                    operation.setdefault("parameters", []).append(
                        {"name": name, "paramType": "query", "dataType": "string", "required": False}
                    )

    return change


@pytest.mark.parametrize(
    "change, entry",
    [
        (_add_resource("close"), "close"),
        (_add_resource("meta"), "meta"),
        (_add_resource("on"), "on"),
        (_add_resource("removeListener"), "removeListener"),
        (_add_resource("__class__"), "__class__"),
        (_change_operation("channels", "answer", nickname="__init__"), "__init__"),
        (_change_operation("channels", "answer", nickname="__del__"), "__del__"),
        (_change_operation("channels", "answer", nickname="on"), "on"),
        (_change_operation("channels", "answer", nickname="meta"), "meta"),
        (_change_operation("channels", "answer", nickname="toDict"), "toDict"),
        (_change_operation("channels", "answer", path="/../../admin/reset"), "/../../admin/reset"),
        (_change_operation("channels", "answer", path="/channels/{channelId}/../answer"), "/../answer"),
        (_change_operation("channels", "answer", path="//evil.example/x/{channelId}"), "//evil.example"),
        (_change_operation("channels", "answer", path="/channels/{channelId}/%2e%2e"), "%2e%2e"),
        (_change_operation("channels", "answer", path="/channels/{channelId}?x=1"), "?x=1"),
        (_add_parameter("channels", "answer", "callback"), "callback"),
        (_add_parameter("channels", "answer", "instance"), "instance"),
        (_add_parameter("channels", "answer", "channel_id"), "channel_id"),
        (_add_parameter("channels", "answer", "a-b"), "a-b"),
    ],
)
def test_a_hostile_description_is_a_spec_error_and_nothing_else_is_sent(
    rsps: responses.RequestsMock, swagger: Dict[str, Any], change: Callable[[Dict[str, Any]], None], entry: str
) -> None:
    serve_description(rsps, _hostile(swagger, change))
    rsps.post(ROOT + "/admin/reset", status=204)
    with pytest.raises(ari.SpecError) as caught:
        ari.connect(URL, "asterisk", PASSWORD)
    assert entry in str(caught.value)
    assert all(call.request.method == "GET" and "/ari/api-docs/" in call.request.url for call in rsps.calls)


def test_an_instance_method_hides_every_parameter_its_identity_fills(fake: Any) -> None:
    bridge = fake.Bridge()
    assert "bridgeId" not in inspect.signature(bridge.create).parameters
    assert "    bridgeId / bridge_id (" not in str(inspect.getdoc(bridge.create))
    assert "bridgeId" in inspect.signature(fake.bridges.create).parameters


def test_calls_after_close_raise_a_clear_error_on_every_transport(swagger: Dict[str, Any]) -> None:
    api = build_api(description_of(swagger))
    http = MockTransport(lambda request: Reply(204, "No Content", b""), ROOT)
    from ari.socket_rest import SocketRequests

    client = Client(Meta(api, Router(http, "websocket", SocketRequests(ROOT, 0.2))))
    client.close()
    with pytest.raises(ari.errors.ClosedError, match="the client is closed"):
        client.channels.answer(channelId="c1")


def test_one_function_computes_a_resources_listener_key(fake: Any) -> None:
    """model.InstanceType.key_of: the instance's key and the event router's agree by construction."""
    from ari.events import Promoter

    channel_type = fake.api.instance_types["Channel"]
    data = {"id": "c1", "name": "PJSIP/1", "state": "Up"}
    assert channel_type.key_of(data) == ("Channel", "c1") == fake.Channel("c1")._key
    endpoint_type = fake.api.instance_types["Endpoint"]
    endpoint = {"technology": "PJSIP", "resource": "1000", "state": "online"}
    assert endpoint_type.key_of(endpoint) == ("Endpoint", "PJSIP", "1000") == fake.Endpoint(**endpoint)._key
    event = {"type": "StasisStart", "application": "a", "args": [], "channel": data}
    assert Promoter(fake.meta).route_key(event) == channel_type.key_of(data)


def test_path_segments_are_encoded_as_quote_does_and_dot_segments_escaped() -> None:
    # encode_segment passes unreserved ids as they are without calling quote(): the same text.
    from urllib.parse import quote

    from ari.operations import encode_segment

    values = ["c1", "1700000000.42", "A-Z_a-z~0-9", "a.b", "a..", "..a", "a/b", "a b", "x%2F", "é", "€/?#&=+", "a\nb"]
    for value in values:
        assert encode_segment(value) == quote(value, safe=""), value
    assert [encode_segment(v) for v in (".", "..", "...")] == ["%2E", "%2E%2E", "%2E%2E%2E"]
