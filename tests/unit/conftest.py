"""Unit-test fixtures: the carried Asterisk 22 description served through ``responses``."""

from __future__ import annotations

from typing import Any, Dict, Iterator

import pytest
import responses

import ari
from ari.testing.description import load, render_swagger

URL = "http://pbx.example:8088"
ROOT = URL + "/ari"
PASSWORD = "s3cr3t-pw"


@pytest.fixture(scope="session")
def swagger() -> Dict[str, Dict[str, Any]]:
    """Asterisk 22.10.1's description, as a server at URL would serve it."""
    return render_swagger(load(), ROOT)


def serve_description(rsps: responses.RequestsMock, swagger: Dict[str, Dict[str, Any]], root: str = ROOT) -> None:
    for name, document in swagger.items():
        rsps.get(f"{root}/api-docs/{name}", json=document)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def client(rsps: responses.RequestsMock, swagger: Dict[str, Dict[str, Any]]) -> Iterator[ari.Client]:
    serve_description(rsps, swagger)
    with ari.connect(URL, "asterisk", PASSWORD) as connected:
        rsps.calls.reset()
        yield connected


def description_of(swagger: Dict[str, Dict[str, Any]]) -> Any:
    """The served files as the ``Description`` connect() builds the API from."""
    from ari.spec import Description

    documents = {name[: -len(".json")]: doc for name, doc in swagger.items() if name != "resources.json"}
    return Description(swagger["resources.json"], documents)
