"""The RESTRequest / RESTResponse framing of the events socket, on raw frames (no socket)."""

from __future__ import annotations

import json
import logging

import pytest

from ari.testing import framing
from ari.testing.checks import OperationCheck, missing_message


def refused(text: str) -> dict:
    with pytest.raises(framing.RefusedFrame) as info:
        framing.read_request(text)
    return info.value.response


def frame(**fields) -> str:
    return json.dumps({"type": "RESTRequest", "transaction_id": "t", "request_id": "r", **fields})


def test_a_request_frame_reads_into_a_call() -> None:
    call = framing.read_request(
        frame(
            method="POST",
            uri="channels/c1/play?media=sound:a&x=1",
            query_strings=[{"name": "media", "value": "sound:b"}, {"name": "lang", "value": "fr"}],
        )
    )
    assert call == framing.RESTCall(
        "t", "r", "POST", "channels/c1/play", {"media": "sound:a", "x": "1", "lang": "fr"}, None
    )


def test_bodies_json_and_form() -> None:
    call = framing.read_request(
        frame(method="POST", uri="channels", content_type="application/json", message_body='{"variables":{"A":"1"}}')
    )
    assert call.body == {"variables": {"A": "1"}}
    call = framing.read_request(
        frame(
            method="POST",
            uri="channels",
            content_type="application/x-www-form-urlencoded",
            message_body="endpoint=PJSIP/1000&app=a",
        )
    )
    assert (call.query, call.body) == ({"endpoint": "PJSIP/1000", "app": "a"}, None)


def test_unparseable_json_is_refused_without_ids_or_body() -> None:
    assert refused("{not json") == {
        "type": "RESTResponse",
        "transaction_id": "",
        "request_id": "",
        "status_code": 400,
        "reason_phrase": "Failed to parse request message JSON",
        "uri": "",
    }


@pytest.mark.parametrize(
    ("fields", "message", "uri"),
    [
        ({"type": ""}, "No 'type' property.", ""),
        ({"type": "Other", "uri": "channels"}, "Unknown request type.", ""),
        ({"method": "GET"}, "Empty or missing 'uri' property.", ""),
        ({"method": "get", "uri": "channels"}, "Unknown or missing 'method' property.", "channels"),
        (
            {"method": "GET", "uri": "channels", "query_strings": [{"name": 1}]},
            "Unable to parse 'query_strings' array.",
            "channels",
        ),
        (
            {"method": "POST", "uri": "channels", "message_body": "{}"},
            "No 'content_type' for 'message_body'.",
            "channels",
        ),
        (
            {"method": "POST", "uri": "channels", "message_body": "{", "content_type": "application/json"},
            "Unable to parse 'message_body' as 'application/json'.",
            "channels",
        ),
        (
            {"method": "POST", "uri": "channels", "message_body": "x", "content_type": "text/plain"},
            "Unknown content type.",
            "channels",
        ),
    ],
)
def test_bad_requests_are_refused_as_asterisk_words_them(fields, message, uri) -> None:
    answer = refused(frame(**fields))
    assert answer == {
        "type": "RESTResponse",
        "transaction_id": "t",
        "request_id": "r",
        "status_code": 400,
        "reason_phrase": "Bad request",
        "uri": uri,
        "content_type": "application/json",
        "message_body": json.dumps({"message": message}, separators=(",", ":")),
    }


def test_a_frame_that_is_no_object_has_no_type() -> None:
    answer = refused("[1, 2]")
    assert json.loads(answer["message_body"]) == {"message": "No 'type' property."}


def test_responses_in_asterisks_field_order() -> None:
    call = framing.RESTCall("t", "r", "GET", "channels/c1", {})
    answer = framing.response(call, 404, {"message": "Channel not found"})
    framing.stamp(answer, "app", "2026-11-26T03:47:35.123+0000", "aa:bb")
    assert list(answer) == [
        "type",
        "transaction_id",
        "request_id",
        "status_code",
        "reason_phrase",
        "uri",
        "content_type",
        "message_body",
        "application",
        "timestamp",
        "asterisk_id",
    ]
    assert (answer["reason_phrase"], answer["message_body"]) == ("Not Found", '{"message":"Channel not found"}')
    assert framing.response(call, 204) == {
        "type": "RESTResponse",
        "transaction_id": "t",
        "request_id": "r",
        "status_code": 204,
        "reason_phrase": "No Content",
        "uri": "channels/c1",
    }
    assert framing.response(call, 406)["reason_phrase"] == "Not Acceptable.  Use HTTP GET"


def test_a_body_that_is_not_json_becomes_a_500_not_a_dead_socket(caplog) -> None:
    call = framing.RESTCall("t", "r", "GET", "channels", {})
    with caplog.at_level(logging.ERROR, logger="ari.testing.framing"):
        answer = framing.response(call, 200, {"bad": object()})
    assert (answer["status_code"], answer["reason_phrase"]) == (500, "Internal Server Error")
    assert json.loads(answer["message_body"]) == {"message": "Internal server error"}
    assert "not JSON" in caplog.text


def test_parameter_checks_word_problems_as_asterisk() -> None:
    check = OperationCheck(
        {
            "params": [
                {"name": "endpoint", "paramType": "query", "required": True, "dataType": "string"},
                {
                    "name": "timeout",
                    "paramType": "query",
                    "dataType": "int",
                    "allowableValues": {"valueType": "RANGE", "min": 0, "max": 10},
                },
                {"name": "variables", "paramType": "body", "required": True},
            ]
        }
    )
    assert check.check({}, None) == (400, "Endpoint must be specified")
    assert missing_message("endpoint") == "Endpoint must be specified"
    assert check.check({"endpoint": "x", "timeout": "a"}, None) == (400, "Invalid timeout: 'a' is not an integer")
    assert check.check({"endpoint": "x", "timeout": "11"}, None) == (400, "Invalid timeout: 11 is above the maximum 10")
    assert check.check({"endpoint": "x"}, None) == (400, "Variables must be specified")
    query = {}
    assert check.check(query, {"endpoint": "PJSIP/1", "timeout": 5, "variables": {}}) is None
    assert query == {"endpoint": "PJSIP/1", "timeout": "5"}  # body keys read as query too


def test_parameter_checks_take_a_handlers_own_wording() -> None:
    """Where Asterisk's handler refuses a parameter itself, its status and words are kept."""
    mute = OperationCheck(
        {
            "nickname": "mute",
            "params": [
                {
                    "name": "direction",
                    "paramType": "query",
                    "dataType": "string",
                    "allowableValues": {"valueType": "LIST", "values": ["both", "in", "out"]},
                    "required": True,
                }
            ],
        },
        "channels",
    )
    assert mute.check({"direction": "up"}, None) == (400, "Invalid direction specified")
    get_var = OperationCheck(
        {"nickname": "getChannelVar", "params": [{"name": "variable", "paramType": "query", "required": True}]},
        "channels",
    )
    assert get_var.check({}, None) == (400, "Variable name is required")
    mailbox = OperationCheck(
        {
            "nickname": "update",
            "params": [{"name": "newMessages", "paramType": "query", "required": True, "dataType": "int"}],
        },
        "mailboxes",
    )
    assert mailbox.check({}, None) is None  # Asterisk counts a missing number as 0
    assert mailbox.check({"newMessages": "x"}, None) is None
    record = OperationCheck(
        {
            "nickname": "record",
            "params": [
                {"name": "name", "paramType": "query", "required": True},
                {"name": "format", "paramType": "query", "required": True},
            ],
        },
        "channels",
    )
    assert record.check({"format": "wav"}, None) == (500, "Error parsing request")
    assert record.check({"name": "n"}, None) == (422, "specified format is unknown on this system")
