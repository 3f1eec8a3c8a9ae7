"""RESTRequest frames on the events WebSocket, answered as Asterisk's ari_websocket_requests.c does.

Raw ``websocket-client`` frames against the Simulator and the MockServer.
"""

from __future__ import annotations

import base64
import json
import re
from contextlib import closing
from typing import Any, Dict, List

import requests
import websocket

from ari.testing import MockServer, Simulator

AUTH = ("asterisk", "asterisk")
HEADER = "Authorization: Basic " + base64.b64encode(b"asterisk:asterisk").decode()
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
TAIL = ["application", "timestamp", "asterisk_id"]


def connect(url: str, apps: str) -> websocket.WebSocket:
    return websocket.create_connection(
        url.replace("http", "ws", 1) + "/ari/events?app=" + apps, header=[HEADER], timeout=5
    )


def frames(ws: websocket.WebSocket, until: str, limit: int = 50) -> List[Dict[str, Any]]:
    """Every frame up to and including the first of type ``until``."""
    seen: List[Dict[str, Any]] = []
    for _ in range(limit):
        seen.append(json.loads(ws.recv()))
        if seen[-1]["type"] == until:
            return seen
    raise AssertionError(f"no {until} in {[f['type'] for f in seen]}")


def ask(ws: websocket.WebSocket, **request: Any) -> Dict[str, Any]:
    ws.send(json.dumps({"type": "RESTRequest", **request}))
    return frames(ws, "RESTResponse")[-1]


def strip(answer: Dict[str, Any]) -> Dict[str, Any]:
    """The answer without its application/timestamp/asterisk_id tail (checked in the first test)."""
    return {k: v for k, v in answer.items() if k not in TAIL}


def compact(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))


def test_answer_shape_key_order_and_first_app() -> None:
    with Simulator(speed=100) as sim, closing(connect(sim.url, "first,second")) as ws:
        cid = sim.call("second")
        frames(ws, "StasisStart")
        expected = requests.get(f"{sim.url}/ari/channels/{cid}", auth=AUTH, timeout=5).json()
        answer = ask(ws, transaction_id="t1", request_id="r1", method="GET", uri=f"channels/{cid}?foo=bar")
        assert (
            list(answer)
            == [
                "type",
                "transaction_id",
                "request_id",
                "status_code",
                "reason_phrase",
                "uri",
                "content_type",
                "message_body",
            ]
            + TAIL
        )
        assert strip(answer) == {
            "type": "RESTResponse",
            "transaction_id": "t1",
            "request_id": "r1",
            "status_code": 200,
            "reason_phrase": "OK",
            "uri": f"channels/{cid}",
            "content_type": "application/json",
            "message_body": compact(expected),
        }
        assert answer["application"] == "first"
        assert answer["asterisk_id"] == sim.server.asterisk_id
        assert TIMESTAMP.match(answer["timestamp"])
        answer = ask(ws, transaction_id="t2", method="GET", uri="asterisk/ping")
        assert answer["request_id"] == "" and answer["status_code"] == 200
        assert json.loads(answer["message_body"])["ping"] == "pong"


def test_reason_phrases_and_bodies() -> None:
    with Simulator(speed=100) as sim, closing(connect(sim.url, "app")) as ws:
        cid = sim.call("app", answer=False)
        frames(ws, "StasisStart")

        def check(method: str, uri: str, status: int, reason: str, body: Any = None) -> None:
            answer = strip(ask(ws, transaction_id="t", request_id="r", method=method, uri=uri))
            expected = {
                "type": "RESTResponse",
                "transaction_id": "t",
                "request_id": "r",
                "status_code": status,
                "reason_phrase": reason,
                "uri": uri,
            }
            if body is not None:
                expected.update(content_type="application/json", message_body=compact(body))
            assert answer == expected

        check("POST", f"channels/{cid}/answer", 204, "No Content")
        answer = ask(
            ws,
            method="POST",
            uri=f"channels/{cid}/play",
            query_strings=[{"name": "media", "value": "sound:hello-world"}],
        )
        assert (answer["status_code"], answer["reason_phrase"]) == (201, "Created")
        assert json.loads(answer["message_body"])["media_uri"] == "sound:hello-world"
        check("GET", "channels/nope", 404, "Not Found", {"message": "Channel not found"})
        check(
            "POST",
            f"channels/{cid}/play",
            500,
            "Internal Server Error",
            {"message": "Failed to queue media for playback"},
        )
        check("GET", "no/such/thing", 404, "Not Found", {"message": "Resource not found"})
        check("PUT", "channels", 405, "Method Not Allowed", {"message": "Invalid method"})


def test_parse_errors() -> None:
    ok = {"type": "RESTRequest", "method": "GET", "uri": "asterisk/ping"}
    cases = [
        # Asterisk fails on 'type' before reading 'uri': these answer uri "" though one was sent.
        ({"method": "GET", "uri": "asterisk/ping"}, "No 'type' property."),
        ({"type": 5, "method": "GET", "uri": "asterisk/ping"}, "No 'type' property."),
        ({"type": "RESTWhatever", "method": "GET", "uri": "asterisk/ping"}, "Unknown request type."),
        ({**ok, "uri": ""}, "Empty or missing 'uri' property."),
        ({"type": "RESTRequest", "method": "GET"}, "Empty or missing 'uri' property."),
        ({**ok, "method": "PATCH"}, "Unknown or missing 'method' property."),
        ({"type": "RESTRequest", "uri": "asterisk/ping"}, "Unknown or missing 'method' property."),
        ({**ok, "query_strings": {"name": "a", "value": "b"}}, "Unable to parse 'query_strings' array."),
        ({**ok, "query_strings": [{"name": "a", "value": 1}]}, "Unable to parse 'query_strings' array."),
        ({**ok, "query_strings": [{"name": "a"}]}, "Unable to parse 'query_strings' array."),
        ({**ok, "message_body": "{}"}, "No 'content_type' for 'message_body'."),
        (
            {**ok, "content_type": "application/json", "message_body": "{nope"},
            "Unable to parse 'message_body' as 'application/json'.",
        ),
        ({**ok, "content_type": "text/plain", "message_body": "hi"}, "Unknown content type."),
    ]
    with MockServer() as mock, closing(connect(mock.url, "app")) as ws:
        for request, message in cases:
            ws.send(json.dumps({"transaction_id": "t", "request_id": "r", **request}))
            answer = frames(ws, "RESTResponse")[-1]
            assert strip(answer) == {
                "type": "RESTResponse",
                "transaction_id": "t",
                "request_id": "r",
                "status_code": 400,
                "reason_phrase": "Bad request",
                "uri": request.get("uri", "") if request.get("type") == "RESTRequest" else "",
                "content_type": "application/json",
                "message_body": compact({"message": message}),
            }, request
        ws.send("this is not {json")
        answer = frames(ws, "RESTResponse")[-1]
        assert list(answer) == ["type", "transaction_id", "request_id", "status_code", "reason_phrase", "uri"] + TAIL
        assert strip(answer) == {
            "type": "RESTResponse",
            "transaction_id": "",
            "request_id": "",
            "status_code": 400,
            "reason_phrase": "Failed to parse request message JSON",
            "uri": "",
        }
        assert answer["application"] == "app" and answer["asterisk_id"] == mock.asterisk_id
        assert not mock.requests  # none of these reached the backend


def test_binary_answer_is_not_acceptable() -> None:
    with MockServer() as mock, closing(connect(mock.url, "app")) as ws:
        answer = ask(ws, transaction_id="t", request_id="r", method="GET", uri="recordings/stored/rec1/file")
        assert strip(answer) == {
            "type": "RESTResponse",
            "transaction_id": "t",
            "request_id": "r",
            "status_code": 406,
            "reason_phrase": "Not Acceptable.  Use HTTP GET",
            "uri": "recordings/stored/rec1/file",
        }
        assert [(r.nickname, r.transport) for r in mock.requests] == [("getStoredFile", "websocket")]


def test_parameter_sources_merge() -> None:
    with MockServer() as mock, closing(connect(mock.url, "app")) as ws:
        answer = ask(
            ws,
            method="POST",
            uri="channels?endpoint=PJSIP/1",
            query_strings=[{"name": "app", "value": "fromqs"}],
            content_type="application/x-www-form-urlencoded",
            message_body="callerId=a%20b&timeout=7",
        )
        assert (answer["status_code"], answer["uri"]) == (200, "channels")
        (first,) = mock.requests
        assert (first.transport, first.method, first.path) == ("websocket", "POST", "/channels")
        assert (first.query, first.body) == (
            {"endpoint": "PJSIP/1", "app": "fromqs", "callerId": "a b", "timeout": "7"},
            None,
        )
        # A required parameter carried only by a form body still satisfies the check.
        answer = ask(
            ws,
            method="POST",
            uri="channels",
            content_type="application/x-www-form-urlencoded",
            message_body="endpoint=PJSIP%2F3",
        )
        assert answer["status_code"] == 200 and mock.requests[-1].query == {"endpoint": "PJSIP/3"}
        answer = ask(
            ws,
            method="POST",
            uri="channels",
            query_strings=[{"name": "endpoint", "value": "PJSIP/4"}],
            content_type="application/json",
            message_body=json.dumps({"variables": {"A": "1"}}),
        )
        assert answer["status_code"] == 200
        assert (mock.requests[-1].query, mock.requests[-1].body) == ({"endpoint": "PJSIP/4"}, {"variables": {"A": "1"}})
        assert len(mock.requests) == 3


def test_parameter_first_occurrence_wins() -> None:
    with MockServer() as mock, closing(connect(mock.url, "app")) as ws:
        answer = ask(
            ws,
            method="POST",
            uri="channels?endpoint=PJSIP/1&app=uri&app=uri2",
            query_strings=[
                {"name": "endpoint", "value": "PJSIP/2"},
                {"name": "callerId", "value": "qs"},
                {"name": "callerId", "value": "qs2"},
            ],
            content_type="application/x-www-form-urlencoded",
            message_body="callerId=form&app=form",
        )
        assert answer["status_code"] == 200
        assert mock.requests[-1].query == {"endpoint": "PJSIP/1", "app": "uri", "callerId": "qs"}


def test_originate_with_json_variables() -> None:
    with Simulator(speed=100) as sim, closing(connect(sim.url, "app")) as ws:
        answer = ask(
            ws,
            method="POST",
            uri="channels?endpoint=Local/echo@default&app=app",
            content_type="application/json",
            message_body=json.dumps({"variables": {"FOO": "bar"}}),
        )
        assert (answer["status_code"], answer["reason_phrase"]) == (200, "OK")
        cid = json.loads(answer["message_body"])["id"]
        frames(ws, "StasisStart")  # once answered: reading a variable needs the channel in the app
        answer = ask(ws, method="GET", uri=f"channels/{cid}/variable?variable=FOO")
        assert json.loads(answer["message_body"]) == {"value": "bar"}


def test_answer_is_queued_before_the_events_it_causes() -> None:
    with Simulator(speed=100) as sim, closing(connect(sim.url, "app")) as ws:
        cid = sim.call("app")
        frames(ws, "StasisStart")
        ws.send(json.dumps({"type": "RESTRequest", "request_id": "bye", "method": "DELETE", "uri": f"channels/{cid}"}))
        seen = frames(ws, "StasisEnd")
        assert [f["type"] for f in seen] == ["RESTResponse", "ChannelHangupRequest", "StasisEnd"]
        assert (seen[0]["request_id"], seen[0]["status_code"]) == ("bye", 204)
        assert "message_body" not in seen[0] and "content_type" not in seen[0]
        sim.wait_idle()


def test_event_filter_drops_answers() -> None:
    with Simulator(speed=100) as sim, closing(connect(sim.url, "app")) as ws:
        assert sim.server.wait_for_app("app", 5)
        assert ask(ws, method="GET", uri="asterisk/ping")["status_code"] == 200
        r = requests.put(
            f"{sim.url}/ari/applications/app/eventFilter",
            auth=AUTH,
            timeout=5,
            json={"allowed": [{"type": "StasisStart"}]},
        )
        assert r.status_code == 200
        ws.send(json.dumps({"type": "RESTRequest", "method": "GET", "uri": "asterisk/ping"}))
        ws.send("not json either")
        ws.send(json.dumps({"type": "RESTRequest", "method": "GET", "uri": "channels/nope"}))
        # Any answer would have been queued before the StasisStart of a call placed afterwards.
        cid = sim.call("app")
        assert json.loads(ws.recv())["type"] == "StasisStart"
        sim.hangup(cid)
        sim.wait_idle()


def test_no_answer_for_the_events_socket_and_500_when_the_backend_fails() -> None:
    def broken(request: Any) -> Any:
        raise RuntimeError("backend bug")

    with MockServer() as mock, closing(connect(mock.url, "app")) as ws:
        mock.stub("channels", "get", body=broken)
        ws.send(json.dumps({"type": "RESTRequest", "request_id": "ev", "method": "GET", "uri": "events?app=x"}))
        answer = ask(ws, request_id="bug", method="GET", uri="channels/c1")
        assert answer["request_id"] == "bug"  # the events request got nothing back, as on Asterisk
        assert (answer["status_code"], answer["reason_phrase"]) == (500, "Internal Server Error")
        assert json.loads(answer["message_body"]) == {"message": "Internal server error"}
        assert ask(ws, request_id="after", method="GET", uri="asterisk/ping")["status_code"] == 200
