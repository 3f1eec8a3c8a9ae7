"""The client built from each Asterisk release's own description (opt-in: set ARI_API_DOCS).

``ARI_API_DOCS`` names a folder with one sub-folder per release (``22.10.1/resources.json``,
``22.10.1/api-docs/*.json``); CI points it at the shared reference copies.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import responses

import ari

from ..support import check_operation

ROOT_DIR = os.environ.get("ARI_API_DOCS", "")
VERSIONS = sorted(v for v in os.listdir(ROOT_DIR) if os.path.isdir(os.path.join(ROOT_DIR, v))) if ROOT_DIR else []
pytestmark = pytest.mark.skipif(not ROOT_DIR, reason="ARI_API_DOCS is not set")
URL = "http://pbx:8088"


def _operations(version: str) -> List[Tuple[str, str, Dict[str, Any]]]:
    folder = os.path.join(ROOT_DIR, version)
    with open(os.path.join(folder, "resources.json"), encoding="utf-8") as handle:
        listing = json.load(handle)
    found = []
    for entry in listing["apis"]:
        name = entry["path"].split("/")[-1].split(".")[0]
        with open(os.path.join(folder, "api-docs", f"{name}.json"), encoding="utf-8") as handle:
            document = json.load(handle)
        for api in document["apis"]:
            for op in api["operations"]:
                if not op.get("upgrade"):
                    found.append((name, api["path"], op))
    return found


CASES = [(version, *case) for version in VERSIONS for case in _operations(version)]


@pytest.fixture(scope="module", params=VERSIONS)
def version_client(request: Any) -> Iterator[Tuple[str, ari.Client]]:
    with ari.connect(URL, "asterisk", "asterisk", spec=os.path.join(ROOT_DIR, request.param)) as client:
        yield request.param, client


def test_versions_are_present() -> None:
    assert VERSIONS, f"no release folders in {ROOT_DIR}"


@pytest.mark.parametrize(
    ("version", "resource", "path", "op"), CASES, ids=[f"{v}-{r}.{o['nickname']}" for v, r, _, o in CASES]
)
def test_every_operation_of_every_version(version: str, resource: str, path: str, op: Dict[str, Any]) -> None:
    with (
        ari.connect(URL, "asterisk", "asterisk", spec=os.path.join(ROOT_DIR, version)) as client,
        responses.RequestsMock() as rsps,
    ):
        check_operation(
            client,
            rsps,
            URL + "/ari",
            resource,
            path,
            op["httpMethod"],
            op["nickname"],
            op.get("responseClass", "void"),
            op.get("parameters", []),
        )


def test_instance_types_and_events_of_every_version(version_client: Tuple[str, ari.Client]) -> None:
    version, client = version_client
    types = client.meta.api.instance_types
    for model in (
        "Channel",
        "Bridge",
        "Playback",
        "LiveRecording",
        "StoredRecording",
        "Endpoint",
        "DeviceState",
        "Mailbox",
        "Sound",
        "Application",
    ):
        assert model in types, (version, model)
    assert client.meta.api.event_resources["StasisStart"]["channel"] == "Channel"
    assert callable(client.Channel().answer) and callable(client.Bridge().addChannel)


@pytest.mark.parametrize("version", VERSIONS)
def test_rest_over_the_event_socket_where_the_release_describes_it(version: str) -> None:
    folder = os.path.join(ROOT_DIR, version)
    with open(os.path.join(folder, "api-docs", "events.json"), encoding="utf-8") as handle:
        described = "RESTRequest" in json.load(handle).get("models", {})
    with ari.connect(URL, "asterisk", "asterisk", spec=folder) as client:
        assert (client.meta.router.socket is not None) == described  # auto takes it only where it exists
    if described:
        with ari.connect(URL, "asterisk", "asterisk", spec=folder, transport="websocket") as client:
            assert client.meta.router.mode == "websocket"
    else:
        with pytest.raises(ari.SpecError, match="no RESTRequest model"):
            ari.connect(URL, "asterisk", "asterisk", spec=folder, transport="websocket")
