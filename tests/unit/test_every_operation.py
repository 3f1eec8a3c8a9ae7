"""Guard: every operation of the carried Asterisk 22 description is a method under both names,
and sends the right method, path, query and body."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import responses

import ari
from ari.naming import python_name
from ari.testing.description import iter_operations, load

from .conftest import ROOT

OPERATIONS = [(res, op) for res, _path, op in iter_operations(load()) if not op.get("upgrade")]
PATHS = {(res, op["nickname"]): path for res, path, op in iter_operations(load())}
ODD_ID = "a/b?c#d%e ..f"


def _value(param: Dict[str, Any]) -> Tuple[Any, Any]:
    """A value to pass for a parameter, and what must appear on the wire."""
    allowed = (param.get("allowableValues") or {}).get("values")
    data_type = param.get("dataType", "string")
    if param.get("paramType") == "body":
        value = {"key": "value", "n": 1}
        return value, ({param["name"]: value} if data_type == "containers" else value)
    if allowed:
        scalar = allowed[0]
    elif data_type in ("int", "long"):
        scalar = 7
    elif data_type == "boolean":
        scalar = True
    elif param.get("paramType") == "path":
        scalar = ODD_ID + param["name"]
    else:
        scalar = "v-" + param["name"]
    wire = "true" if scalar is True else str(scalar)
    if param.get("allowMultiple"):
        return [scalar, scalar], f"{wire},{wire}"
    return scalar, wire


def _response(returns: str) -> Tuple[int, Any]:
    if returns == "void":
        return 204, None
    if returns.startswith("List["):
        return 200, []
    if returns == "binary":
        return 200, b"RIFF"
    return 200, {"id": "x", "name": "x"}


@pytest.mark.parametrize(("resource", "op"), OPERATIONS, ids=[f"{r}.{o['nickname']}" for r, o in OPERATIONS])
def test_operation_reachable_and_sends_the_right_request(
    client: ari.Client, rsps: responses.RequestsMock, resource: str, op: Dict[str, Any]
) -> None:
    params = op.get("params", [])
    values = {p["name"]: _value(p) for p in params}
    status, body = _response(op["returns"])
    seen: List[Any] = []

    def reply(request: Any) -> Tuple[int, Dict[str, str], Any]:
        seen.append(request)
        if isinstance(body, bytes):
            return status, {"Content-Type": "audio/wav"}, body
        return status, {"Content-Type": "application/json"}, "" if body is None else json.dumps(body)

    rsps.add_callback(op["method"], re.compile(re.escape(ROOT) + "/.*"), callback=reply)
    collection = getattr(client, resource)
    by_ari = getattr(collection, op["nickname"])
    by_python = getattr(collection, python_name(op["nickname"]))
    assert by_ari is by_python or by_ari.__func__ is by_python.__func__
    assert by_python.__name__ == python_name(op["nickname"])
    by_ari({name: value for name, (value, _) in values.items()})
    by_python(**{python_name(name): value for name, (value, _) in values.items()})
    assert len(seen) == 2
    template = PATHS[(resource, op["nickname"])]
    for request in seen:
        assert request.method == op["method"]
        parts = urlsplit(request.url)
        raw_segments = parts.path[len("/ari") :].split("/")
        expected = template.split("/")
        assert len(raw_segments) == len(expected), (parts.path, template)
        for raw, want in zip(raw_segments, expected):
            if want.startswith("{"):
                assert unquote(raw) == values[want[1:-1]][1]
                assert "/" not in raw and "?" not in raw and "#" not in raw
            else:
                assert raw == want
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        expected_query = {p["name"]: values[p["name"]][1] for p in params if p["paramType"] == "query"}
        assert query == expected_query
        bodies = [values[p["name"]][1] for p in params if p["paramType"] == "body"]
        if bodies:
            assert json.loads(request.body) == bodies[0]
        else:
            assert not request.body


def test_the_event_socket_is_not_a_rest_method(client: ari.Client) -> None:
    assert not hasattr(client.events, "eventWebsocket")
    assert hasattr(client.events, "userEvent") and hasattr(client.events, "user_event")


def test_every_resource_under_both_names(client: ari.Client) -> None:
    for name in (
        "applications",
        "asterisk",
        "bridges",
        "channels",
        "endpoints",
        "events",
        "mailboxes",
        "playbacks",
        "recordings",
        "sounds",
    ):
        assert getattr(client, name).resource == name
    assert client.deviceStates is client.device_states
