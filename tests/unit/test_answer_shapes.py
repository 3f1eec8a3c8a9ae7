"""An answer the client cannot read (not JSON, or not the shape the description gives) is an ``ari`` error.

Never a bare ``json.JSONDecodeError`` and never a silent wrong result (a string iterated as a list
of channels).  Driven through a real client over ``responses``; transport failures are in
tests/functional/test_error_mapping.py.
"""

from __future__ import annotations

from typing import Dict

import pytest
import responses

import ari

from .conftest import ROOT

UNREADABLE = "operations.py: convert() lets json.loads' ValueError out and returns mis-shaped data as is"

CASES: Dict[str, tuple] = {
    # name: (URL, body, call)
    "not-json-for-an-object": ("/channels/c1", "not json", lambda c: c.channels.get(channelId="c1")),
    "not-json-for-a-list": ("/channels", "<html>proxy error</html>", lambda c: c.channels.list()),
    "list-for-an-object": ("/channels/c1", "[1, 2]", lambda c: c.channels.get(channelId="c1")),
    "string-for-a-list": ("/channels", '"abc"', lambda c: c.channels.list()),
    "object-for-a-list": ("/channels", '{"id": "c1"}', lambda c: c.channels.list()),
    "number-in-a-list-of-objects": ("/channels", "[1]", lambda c: c.channels.list()),
    "null-for-an-object": ("/channels/c1", "null", lambda c: c.channels.get(channelId="c1")),
}


@pytest.mark.xfail(strict=True, reason=UNREADABLE)
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unreadable_answer_is_an_ari_error_naming_the_call(
    client: ari.Client, rsps: responses.RequestsMock, case: str
) -> None:
    path, body, call = CASES[case]
    rsps.get(ROOT + path, body=body, content_type="application/json")
    with pytest.raises(ari.ARIError) as raised:
        call(client)
    assert "channels." in str(raised.value) or ROOT + path in str(raised.value)


def test_a_well_formed_answer_still_builds_instances(client: ari.Client, rsps: responses.RequestsMock) -> None:
    rsps.get(ROOT + "/channels", json=[{"id": "c1", "name": "PJSIP/1-1"}])
    [channel] = client.channels.list()
    assert channel.id == "c1" and channel.name == "PJSIP/1-1"
