"""Checking a routed request's parameters against the carried description, as Asterisk does.

Its one job is the checks Asterisk's generated ``ari_*`` glue makes before a handler runs:
required query and body parameters (answered "<Name> must be specified"), integers and their
allowed range, booleans, allowable values; keys of a JSON body object read as query
parameters too.  ``OperationChecks`` builds them once per description.  It must not know
sockets, backends or any resource's meaning.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from . import description as _description


def missing_message(name: str) -> str:
    """Asterisk's wording for a missing required parameter: "Endpoint must be specified"."""
    return "%s must be specified" % (name[:1].upper() + name[1:])


Answer = Tuple[int, str]

#: Where Asterisk 22's handler, not its glue, refuses a missing parameter, in its own words
#: and status, as recorded (tests/fixtures/asterisk-22.10.1/):
#: (resource, nickname, parameter) -> (status, message).
MISSING: Dict[Tuple[str, str, str], Answer] = {
    ("asterisk", "getGlobalVar", "variable"): (400, "Variable name is required"),
    ("asterisk", "setGlobalVar", "variable"): (400, "Variable name is required"),
    ("asterisk", "addLog", "configuration"): (400, "Configuration levels are required"),
    ("applications", "subscribe", "eventSource"): (400, "Missing parameter eventSource"),
    ("applications", "unsubscribe", "eventSource"): (400, "Missing parameter eventSource"),
    ("bridges", "addChannel", "channel"): (400, "Missing parameter channel"),
    ("bridges", "removeChannel", "channel"): (400, "Missing parameter channel"),
    ("bridges", "getBridgeVar", "variable"): (400, "Variable name is required"),
    ("bridges", "setBridgeVar", "variable"): (400, "Variable name is required"),
    ("bridges", "getBridgeVars", "variables"): (400, "At least one variable name is required"),
    ("bridges", "record", "format"): (422, "specified format is unknown on this system"),
    ("channels", "getChannelVar", "variable"): (400, "Variable name is required"),
    ("channels", "setChannelVar", "variable"): (400, "Variable name is required"),
    ("channels", "getChannelVars", "variables"): (400, "At least one variable name is required"),
    ("channels", "redirect", "endpoint"): (400, "Required parameter 'endpoint' not provided."),
    ("channels", "snoopChannel", "app"): (400, "Application name is required"),
    ("channels", "snoopChannelWithId", "app"): (400, "Application name is required"),
    ("channels", "record", "name"): (500, "Error parsing request"),
    ("channels", "record", "format"): (422, "specified format is unknown on this system"),
    ("channels", "play", "media"): (500, "Failed to queue media for playback"),
    ("channels", "playWithId", "media"): (500, "Failed to queue media for playback"),
    ("channels", "externalMedia", "app"): (400, "app cannot be empty"),
    ("channels", "externalMedia", "format"): (400, "format cannot be empty"),
    ("channels", "sendDTMF", "dtmf"): (400, "DTMF is required"),
    ("events", "userEvent", "application"): (400, "Missing parameter application"),
    ("playbacks", "control", "operation"): (400, "Missing operation"),
    ("deviceStates", "update", "deviceState"): (500, "Unknown device"),
}

#: Described as required, yet taken when absent (mailboxes/{name} counts a missing number as 0).
#: A bridge recording's name is missing only after its recorder joined the bridge: the
#: handler refuses it (errors.RecordingNameMissing).
OPTIONAL = frozenset(
    {("mailboxes", "update", "oldMessages"), ("mailboxes", "update", "newMessages"), ("bridges", "record", "name")}
)

#: The same for a value outside the described allowed ones ("{value}" is replaced); None: the
#: handler takes any value (``asterisk/info?only=`` ignores what it does not know).
INVALID: Dict[Tuple[str, str, str], Optional[Answer]] = {
    ("asterisk", "getInfo", "only"): None,
    ("mailboxes", "update", "oldMessages"): None,
    ("mailboxes", "update", "newMessages"): None,
    ("channels", "mute", "direction"): (400, "Invalid direction specified"),
    ("channels", "unmute", "direction"): (400, "Invalid direction specified"),
    ("channels", "snoopChannel", "spy"): (400, "Invalid direction specified for spy"),
    ("channels", "snoopChannel", "whisper"): (400, "Invalid direction specified for whisper"),
    ("channels", "snoopChannelWithId", "spy"): (400, "Invalid direction specified for spy"),
    ("channels", "snoopChannelWithId", "whisper"): (400, "Invalid direction specified for whisper"),
    ("channels", "hangup", "reason"): (400, "Invalid reason for hangup reason provided"),
    ("channels", "record", "ifExists"): (400, "ifExists invalid"),
    ("bridges", "record", "ifExists"): (400, "ifExists invalid"),
    ("playbacks", "control", "operation"): (400, "Invalid operation {value}"),
    ("deviceStates", "update", "deviceState"): (500, "Unknown device"),
}


class ParamCheck:
    """One query parameter's checks."""

    __slots__ = ("name", "required", "kind", "multiple", "allowed", "low", "high", "missing", "invalid")

    def __init__(self, p: Dict[str, Any], key: Tuple[str, str] = ("", "")) -> None:
        self.name: str = p["name"]
        self.required = bool(p.get("required", False))
        dtype = p.get("dataType", "string")
        self.kind = {"int": "int", "long": "int", "boolean": "bool"}.get(dtype)
        self.multiple = bool(p.get("allowMultiple", False))
        av = p.get("allowableValues") or {}
        self.allowed = frozenset(str(v) for v in av["values"]) if av.get("valueType") == "LIST" else None
        self.low = av.get("min") if av.get("valueType") == "RANGE" else None
        self.high = av.get("max") if av.get("valueType") == "RANGE" else None
        # A handler that refuses a missing value itself needs it, whatever the description
        # says (channels/{id}/mute describes a default direction, and refuses none).
        own = (key[0], key[1], self.name)
        self.required = (self.required or own in MISSING) and own not in OPTIONAL
        self.missing: Answer = MISSING.get(own, (400, missing_message(self.name)))
        self.invalid: Optional[Answer] = (400, "")
        if own in INVALID:
            self.invalid = INVALID[own]
            if self.invalid is None:
                self.allowed = None
                self.kind = None

    def check(self, value: str) -> Optional[Answer]:
        """What is wrong with ``value`` (Asterisk's status and message), or None."""
        problem = self._problem(value)
        if problem is None:
            return None
        if self.invalid is not None and self.invalid[1]:
            return self.invalid[0], self.invalid[1].replace("{value}", value)
        return 400, problem

    def _problem(self, value: str) -> Optional[str]:
        for item in value.split(",") if self.multiple else (value,):
            if self.kind == "int":
                try:
                    number = int(item)
                except ValueError:
                    return f"Invalid {self.name}: {item!r} is not an integer"
                if self.low is not None and number < self.low:
                    return f"Invalid {self.name}: {number} is below the minimum {self.low}"
                if self.high is not None and number > self.high:
                    return f"Invalid {self.name}: {number} is above the maximum {self.high}"
            elif self.kind == "bool" and item.lower() not in ("true", "false"):
                return f"Invalid {self.name}: {item!r} is not true or false"
            if self.allowed is not None and item not in self.allowed:
                return "Invalid {}: {!r} is not one of {}".format(self.name, item, ", ".join(sorted(self.allowed)))
        return None


def _as_query_value(value: Any) -> Optional[str]:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(_as_query_value(v)) for v in value)
    return str(value)


class OperationCheck:
    """An operation's parameter checks, precomputed once from the description."""

    __slots__ = ("query", "query_names", "body_required")

    def __init__(self, op: Dict[str, Any], resource: str = "") -> None:
        params = op.get("params", [])
        key = (resource, op.get("nickname", ""))
        self.query = tuple(ParamCheck(p, key) for p in params if p.get("paramType") == "query")
        self.query_names = frozenset(p.name for p in self.query)
        self.body_required = tuple(
            (p["name"], MISSING.get((key[0], key[1], p["name"]), (400, missing_message(p["name"]))))
            for p in params
            if p.get("paramType") == "body" and p.get("required")
        )

    def check(self, query: Dict[str, str], body: Any) -> Optional[Answer]:
        """Asterisk's status and message for the first problem, or None.

        Copies the query parameters a JSON body object carries into ``query`` (Asterisk reads
        them there too), so the backend sees them.
        """
        if isinstance(body, dict) and self.query_names:
            for key in self.query_names.intersection(body):
                if key not in query:
                    value = _as_query_value(body[key])
                    if value is not None:
                        query[key] = value
        for p in self.query:
            value = query.get(p.name)
            if not value:
                if p.required:
                    return p.missing
                continue
            if p.kind is not None or p.allowed is not None:
                problem = p.check(value)
                if problem is not None:
                    return problem
        for name, missing in self.body_required:
            if not isinstance(body, dict) or name not in body:
                return missing
        return None


class OperationChecks:
    """The checks of every operation of a description, found by the operation routed to."""

    def __init__(self, carried: Dict[str, Any]) -> None:
        self._checks: Dict[int, OperationCheck] = {
            id(op): OperationCheck(op, resource) for resource, _, op in _description.iter_operations(carried)
        }

    def check(self, operation: Dict[str, Any], query: Dict[str, str], body: Any) -> Optional[Answer]:
        return self._checks[id(operation)].check(query, body)
