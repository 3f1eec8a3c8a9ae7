"""The transport contract: one PreparedRequest passed whole, one Reply back, a fake transport for tests."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List

import pytest

import ari
from ari.client import Client
from ari.model import build_api
from ari.resources import Meta
from ari.spec import Description
from ari.transports import MockTransport, PreparedRequest, Reply, Router

from .conftest import ROOT


def _description(swagger: Dict[str, Dict[str, Any]]) -> Description:
    documents = {name[: -len(".json")]: doc for name, doc in swagger.items() if name != "resources.json"}
    return Description(swagger["resources.json"], documents)


@pytest.fixture
def sent() -> List[PreparedRequest]:
    return []


@pytest.fixture
def mock_client(swagger: Dict[str, Dict[str, Any]], sent: List[PreparedRequest]) -> Iterator[Client]:
    """A client whose every call goes to a MockTransport: no HTTP, no sockets."""

    def answer(request: PreparedRequest) -> Reply:
        sent.append(request)
        if request.operation == "channels.get":
            return Reply(200, "OK", json.dumps({"id": request.path.rsplit("/", 1)[1], "name": "PJSIP/1"}))
        if request.operation == "channels.hangup":
            return Reply(404, "Not Found", '{"message": "Channel not found"}', url=ROOT + request.path)
        if request.operation == "recordings.getStoredFile":
            return Reply(200, "OK", b"RIFF")
        return Reply(204, "No Content", b"")

    api = build_api(_description(swagger))
    with Client(Meta(api, Router(MockTransport(answer, ROOT), "http"))) as client:
        yield client


def test_a_call_passes_one_prepared_request_whole(mock_client: Any, sent: List[PreparedRequest]) -> None:
    channel = mock_client.channels.get(channelId="c 1")
    assert channel.name == "PJSIP/1" and channel.id == "c%201"
    mock_client.channels.setChannelVars(channelId="c1", variables={"A": "1"})
    mock_client.channels.mute(channelId="c1", direction="in")
    assert mock_client.recordings.getStoredFile(recordingName="r") == b"RIFF"
    get, set_vars, mute, stored = sent
    assert (get.operation, get.method, get.path, get.query, get.body) == (
        "channels.get",
        "GET",
        "/channels/c%201",
        {},
        None,
    )
    assert get.reasons == {404: "Not Found"} and not get.binary  # the description's reasons
    assert set_vars.path == "/channels/c1/variables" and json.loads(set_vars.body or "") == {"variables": {"A": "1"}}
    assert (mute.method, mute.query) == ("POST", {"direction": "in"})
    assert stored.binary is True


def test_an_error_status_from_any_transport_is_the_same_ari_error(mock_client: Any) -> None:
    with pytest.raises(ari.NotFound) as caught:
        mock_client.channels.hangup(channelId="c1")
    error = caught.value
    assert (error.message, error.reason, error.operation, error.method) == (
        "Channel not found",
        "Not Found",
        "channels.hangup",
        "DELETE",
    )
    assert error.url == ROOT + "/channels/c1"


def test_a_second_observer_of_an_operation_does_not_replace_the_first(mock_client: Any) -> None:
    seen: List[str] = []
    mock_client.meta.observers["channels.answer"] = lambda values: seen.append("first " + values["channelId"])
    mock_client.meta.observers["channels.answer"] = lambda values: seen.append("second " + values["channelId"])
    mock_client.channels.answer(channelId="c1")
    assert seen == ["first c1", "second c1"]


def test_meta_shows_read_only_properties(mock_client: Any) -> None:
    meta = mock_client.meta
    assert meta.api is mock_client.api and isinstance(meta.router, Router)
    for name in ("api", "router", "transport", "observers"):
        with pytest.raises(AttributeError):
            setattr(meta, name, None)


def test_a_mock_transport_refuses_calls_once_closed() -> None:
    transport = MockTransport(lambda request: Reply(204, "No Content", b""))
    assert transport.send(PreparedRequest("GET", "/x")).status == 204
    transport.close()
    with pytest.raises(ari.ARIError, match="closed"):
        transport.send(PreparedRequest("GET", "/x"))
