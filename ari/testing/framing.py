"""The ``RESTRequest`` / ``RESTResponse`` frames of the events WebSocket, as pure functions.

Its one job is the framing Asterisk 22's ``ari_websocket_requests.c`` does: read a text frame
into a ``RESTCall`` (method, uri, query, JSON body, ids) or refuse it the way Asterisk
does (``RefusedFrame`` carrying the answer), and build the ``RESTResponse`` for a status and a
body.  ``encode`` is the one compact JSON encoder of the simulator (events, answers, HTTP
bodies).  It must not route, call a backend, or touch a socket: every function here takes
values and returns values.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple
from urllib.parse import parse_qsl

from .errors import REASONS

log = logging.getLogger(__name__)

#: The simulator's one JSON encoder: compact, as Asterisk writes its frames and bodies.
encode = json.JSONEncoder(separators=(",", ":")).encode

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

#: The methods a RESTRequest may name (case-sensitive, as Asterisk reads them).
METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"})

#: Asterisk sends no binary body over the socket: 406 with this reason.
NOT_ACCEPTABLE = 406
_NOT_ACCEPTABLE_REASON = "Not Acceptable.  Use HTTP GET"


@dataclass(frozen=True)
class RESTCall:
    """What a RESTRequest frame asks for."""

    transaction_id: str
    request_id: str
    method: str
    uri: str  # without its query string and without a leading slash, e.g. "channels/c1/answer"
    query: Dict[str, str]  # the first occurrence of each name wins
    body: Any = None  # the parsed JSON body, or None


class RefusedFrame(Exception):  # noqa: N818 - named like what happened to the frame
    """A frame Asterisk answers before routing it; ``response`` is that RESTResponse."""

    def __init__(self, response: Dict[str, Any]) -> None:
        super().__init__(response.get("reason_phrase", ""))
        self.response = response


class _Bad(Exception):
    """A RESTRequest Asterisk refuses with 400 and this message."""


def read_request(text: str) -> RESTCall:
    """The ``RESTCall`` of one text frame; raises ``RefusedFrame`` as Asterisk refuses it."""
    try:
        message = json.loads(text)
    except ValueError:
        raise RefusedFrame(
            {
                "type": "RESTResponse",
                "transaction_id": "",
                "request_id": "",
                "status_code": 400,
                "reason_phrase": "Failed to parse request message JSON",
                "uri": "",
            }
        ) from None
    if not isinstance(message, dict):
        message = {}

    def text_of(key: str) -> str:
        value = message.get(key)
        return value if isinstance(value, str) else ""

    uri, _, query_string = text_of("uri").partition("?")
    try:
        query, body = _parameters(message, query_string)
    except _Bad as bad:
        typed = message.get("type") == "RESTRequest"  # Asterisk reads the uri after the type
        answer = {
            "type": "RESTResponse",
            "transaction_id": text_of("transaction_id"),
            "request_id": text_of("request_id"),
            "status_code": 400,
            "reason_phrase": "Bad request",
            "uri": uri if typed else "",
        }
        _put_body(answer, {"message": str(bad)})
        raise RefusedFrame(answer) from None
    return RESTCall(text_of("transaction_id"), text_of("request_id"), message["method"], uri, query, body)


def _parameters(message: Dict[str, Any], query_string: str) -> Tuple[Dict[str, str], Any]:
    if not isinstance(message.get("type"), str) or not message["type"]:
        raise _Bad("No 'type' property.")
    if message.get("type") != "RESTRequest":
        raise _Bad("Unknown request type.")
    if not isinstance(message.get("uri"), str) or not message["uri"]:
        raise _Bad("Empty or missing 'uri' property.")
    if message.get("method") not in METHODS:
        raise _Bad("Unknown or missing 'method' property.")
    pairs: List[Tuple[str, str]] = parse_qsl(query_string, keep_blank_values=True)
    extra = message.get("query_strings")
    if extra is not None:
        if not isinstance(extra, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("value"), str) for p in extra
        ):
            raise _Bad("Unable to parse 'query_strings' array.")
        pairs += [(p["name"], p["value"]) for p in extra]
    body = None
    raw = message.get("message_body")
    if isinstance(raw, str) and raw:
        content_type = message.get("content_type")
        if not content_type:
            raise _Bad("No 'content_type' for 'message_body'.")
        if content_type == FORM:
            pairs += parse_qsl(raw, keep_blank_values=True)
        elif content_type == JSON:
            try:
                body = json.loads(raw)
            except ValueError:
                raise _Bad("Unable to parse 'message_body' as 'application/json'.") from None
        else:
            raise _Bad("Unknown content type.")
    query: Dict[str, str] = {}
    for name, value in pairs:
        query.setdefault(name, value)  # the first occurrence wins
    return query, body


def response(call: RESTCall, status: int, body: Any = None) -> Dict[str, Any]:
    """The RESTResponse answering ``call`` with ``status`` and a JSON ``body`` (None: none)."""
    reason = _NOT_ACCEPTABLE_REASON if status == NOT_ACCEPTABLE else REASONS.get(status, "")
    answer: Dict[str, Any] = {
        "type": "RESTResponse",
        "transaction_id": call.transaction_id,
        "request_id": call.request_id,
        "status_code": status,
        "reason_phrase": reason,
        "uri": call.uri,
    }
    if body is not None:
        _put_body(answer, body)
    return answer


def _put_body(answer: Dict[str, Any], body: Any) -> None:
    try:
        encoded = encode(body)
    except (TypeError, ValueError):  # a backend's bug must not end the socket
        log.exception("the answer to request %r is not JSON", answer.get("request_id"))
        answer.update(status_code=500, reason_phrase=REASONS[500])
        encoded = encode({"message": "Internal server error"})
    answer["content_type"] = JSON
    answer["message_body"] = encoded


def stamp(answer: Dict[str, Any], application: str, timestamp: str, asterisk_id: str) -> Dict[str, Any]:
    """Add what every frame Asterisk sends carries: application, timestamp, asterisk_id."""
    answer["application"] = application
    answer["timestamp"] = timestamp
    answer["asterisk_id"] = asterisk_id
    return answer


__all__ = [
    "FORM",
    "JSON",
    "METHODS",
    "NOT_ACCEPTABLE",
    "RESTCall",
    "RefusedFrame",
    "encode",
    "read_request",
    "response",
    "stamp",
]
