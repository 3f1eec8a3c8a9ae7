"""The carried ARI description: it loads, it is consistent, it renders and it routes."""

from __future__ import annotations

import re

import pytest

from ari.model import PRIMITIVES
from ari.testing import description as d

CARRIED = d.load()
PATH_PARAM = re.compile(r"\{([^}]+)\}")
KNOWN_TYPES = PRIMITIVES  # every type the carried description uses is one the client reads


def _type_known(name: str, models: dict) -> bool:
    inner = name[5:-1] if name.startswith("List[") and name.endswith("]") else name
    return inner in KNOWN_TYPES or inner in models


def test_load_is_the_described_release():
    assert CARRIED["format"] == d.FORMAT
    assert CARRIED["asterisk"] == "22.10.1"
    assert CARRIED["swaggerVersion"] == "1.1"
    names = [r["name"] for r in CARRIED["resources"]]
    assert names[:3] == ["asterisk", "endpoints", "channels"]
    assert len(names) == len(set(names)) == 11


def test_load_returns_a_fresh_copy():
    a = d.load()
    a["resources"].clear()
    assert d.load()["resources"]


def test_load_unknown_version():
    with pytest.raises(ValueError, match="1.2.3"):
        d.load("1.2.3")


def test_no_prose_is_carried():
    prose = {"description", "summary", "notes", "reason", "_copyright", "_author", "__note"}
    assert not prose & set(CARRIED)
    for res in CARRIED["resources"]:
        assert not prose & set(res)
        for api in res["apis"]:
            assert not prose & set(api)
            for op in api["operations"]:
                assert not prose & set(op)
                for p in op.get("params", []):
                    assert not prose & set(p)
        for model in res["models"].values():
            assert not prose & set(model)
            for prop in model["properties"].values():
                assert not prose & set(prop)


def test_every_type_names_a_model_or_primitive():
    models = d.all_models(CARRIED)
    for resource, path, op in d.iter_operations(CARRIED):
        assert _type_known(op["returns"], models), (resource, path, op["nickname"])
        for p in op.get("params", []):
            assert _type_known(p["dataType"], models), (path, p["name"])
    for mid, model in models.items():
        for name, prop in model["properties"].items():
            assert _type_known(prop["type"], models), (mid, name)
        for sub in model.get("subTypes", []):
            assert sub in models, (mid, sub)
        if "extends" in model:
            assert model["extends"] in models


def test_path_params_match_templates():
    for resource, path, op in d.iter_operations(CARRIED):
        in_path = PATH_PARAM.findall(path)
        declared = [p["name"] for p in op.get("params", []) if p["paramType"] == "path"]
        assert sorted(in_path) == sorted(declared), (path, op["nickname"])
        assert path.startswith("/" + resource), path


def test_params_and_errors_are_well_formed():
    seen = set()
    for resource, _path, op in d.iter_operations(CARRIED):
        assert op["method"] in ("GET", "POST", "PUT", "DELETE")
        key = (resource, op["nickname"])
        assert key not in seen, key
        seen.add(key)
        for p in op.get("params", []):
            assert p["paramType"] in ("path", "query", "body")
            av = p.get("allowableValues")
            if av is not None:
                assert av["valueType"] in ("LIST", "RANGE")
                if av["valueType"] == "LIST":
                    assert av["values"]
        for code in op.get("errors", []):
            assert 400 <= int(code) < 600


def test_event_websocket_is_marked():
    ops = {op["nickname"]: op for res, _, op in d.iter_operations(CARRIED) if res == "events"}
    assert ops["eventWebsocket"]["upgrade"] == "websocket"
    assert sum(1 for *_, op in d.iter_operations(CARRIED) if "upgrade" in op) == 1


def test_render_swagger_shape():
    docs = d.render_swagger(CARRIED, "http://127.0.0.1:1234/ari")
    listing = docs["resources.json"]
    assert listing["basePath"] == "http://127.0.0.1:1234/ari"
    assert listing["swaggerVersion"] == "1.1"
    assert [a["path"] for a in listing["apis"]][:1] == ["/api-docs/asterisk.{format}"]
    assert set(docs) == {"resources.json"} | {r["name"] + ".json" for r in CARRIED["resources"]}
    channels = docs["channels.json"]
    assert channels["resourcePath"] == "/api-docs/channels.{format}"
    assert channels["basePath"] == "http://127.0.0.1:1234/ari"
    answer = next(op for api in channels["apis"] for op in api["operations"] if op["nickname"] == "answer")
    assert answer["httpMethod"] == "POST"
    assert answer["responseClass"] == "void"
    assert answer["summary"] == "POST /channels/{channelId}/answer"
    assert {e["code"] for e in answer["errorResponses"]} == {404, 409, 412}
    assert all(e["reason"] for e in answer["errorResponses"])
    assert answer["parameters"][0]["name"] == "channelId"
    assert channels["models"]["Channel"]["id"] == "Channel"
    events = docs["events.json"]
    ws = events["apis"][0]["operations"][0]
    assert ws["upgrade"] == "websocket"
    assert events["models"]["Message"]["discriminator"] == "type"
    assert "Event" in events["models"]["Message"]["subTypes"]


def test_render_does_not_share_mutable_parts():
    docs = d.render_swagger(CARRIED, "x")
    docs["channels.json"]["apis"][0]["operations"][0]["nickname"] = "changed"
    for api in docs["channels.json"]["apis"]:
        for op in api["operations"]:
            for p in op.get("parameters", []):
                p["name"] = "changed"
    again = d.render_swagger(CARRIED, "x")
    assert again["channels.json"]["apis"][0]["operations"][0]["nickname"] == "list"
    assert d.load() == CARRIED


ROUTER = d.Routes(CARRIED)


@pytest.mark.parametrize(
    "method,path,resource,nickname,params",
    [
        ("POST", "/channels/create", "channels", "create", {}),
        ("POST", "/channels/externalMedia", "channels", "externalMedia", {}),
        ("POST", "/channels/abc", "channels", "originateWithId", {"channelId": "abc"}),
        ("GET", "/channels/a%2Fb", "channels", "get", {"channelId": "a/b"}),
        ("GET", "/channels/a%20b", "channels", "get", {"channelId": "a b"}),
        ("DELETE", "/channels/x", "channels", "hangup", {"channelId": "x"}),
        ("GET", "/endpoints/PJSIP/100", "endpoints", "get", {"tech": "PJSIP", "resource": "100"}),
        ("PUT", "/endpoints/sendMessage", "endpoints", "sendMessage", {}),
        ("GET", "/recordings/stored/r1/file", "recordings", "getStoredFile", {"recordingName": "r1"}),
        ("GET", "/events", "events", "eventWebsocket", {}),
        ("POST", "/bridges/b1/videoSource/c1", "bridges", "setVideoSource", {"bridgeId": "b1", "channelId": "c1"}),
        ("get", "/asterisk/ping", "asterisk", "ping", {}),
    ],
)
def test_router_matches(method, path, resource, nickname, params):
    m = ROUTER.match(method, path)
    assert (m.resource, m.nickname, m.path_params) == (resource, nickname, params)
    assert m.operation["nickname"] == nickname


def test_router_literal_wins_but_falls_back_to_template():
    # /channels/create is POST only; a GET on it is a channel called "create".
    m = ROUTER.match("GET", "/channels/create")
    assert (m.nickname, m.path_params) == ("get", {"channelId": "create"})


@pytest.mark.parametrize(
    "path", ["/nope", "/channels/", "/channels//answer", "channels", "/channels/x/answer/more", ""]
)
def test_router_no_such_path(path):
    with pytest.raises(d.NoSuchPath):
        ROUTER.match("GET", path)


def test_router_method_not_allowed():
    with pytest.raises(d.NoSuchMethod):
        ROUTER.match("PUT", "/channels/x")
    with pytest.raises(d.NoSuchMethod):
        ROUTER.match("GET", "/channels/x/answer")
    assert ROUTER.methods("/channels/x") == ["GET", "POST", "DELETE"]
    assert ROUTER.methods("/nope") == []


def test_router_covers_every_operation():
    for resource, path, op in d.iter_operations(CARRIED):
        concrete = PATH_PARAM.sub(lambda m: "v-" + m.group(1), path)
        m = ROUTER.match(op["method"], concrete)
        assert (m.resource, m.nickname) == (resource, op["nickname"]), path
