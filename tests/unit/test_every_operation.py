"""Guard: every operation of the carried Asterisk 22 description is a method under both names,
and sends the right method, path, query and body."""

from __future__ import annotations

from typing import Any, Dict

import pytest
import responses

import ari
from ari.testing.description import iter_operations, load

from ..support import check_operation
from .conftest import ROOT

OPERATIONS = [(res, op) for res, _path, op in iter_operations(load()) if not op.get("upgrade")]
PATHS = {(res, op["nickname"]): path for res, path, op in iter_operations(load())}


@pytest.mark.parametrize(("resource", "op"), OPERATIONS, ids=[f"{r}.{o['nickname']}" for r, o in OPERATIONS])
def test_operation_reachable_and_sends_the_right_request(
    client: ari.Client, rsps: responses.RequestsMock, resource: str, op: Dict[str, Any]
) -> None:
    check_operation(
        client,
        rsps,
        ROOT,
        resource,
        PATHS[(resource, op["nickname"])],
        op["method"],
        op["nickname"],
        op["returns"],
        op.get("params", []),
    )


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
