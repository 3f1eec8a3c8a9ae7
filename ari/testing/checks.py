"""Checking a routed request's parameters against the carried description, as Asterisk does.

Its one job is the checks Asterisk's generated ``ari_*`` glue makes before a handler runs:
required query and body parameters (answered "<Name> must be specified"), integers and their
allowed range, booleans, allowable values; keys of a JSON body object read as query
parameters too.  ``OperationChecks`` builds them once per description.  It must not know
sockets, backends or any resource's meaning.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from . import description as _description


def missing_message(name: str) -> str:
    """Asterisk's wording for a missing required parameter: "Endpoint must be specified"."""
    return "%s must be specified" % (name[:1].upper() + name[1:])


class ParamCheck:
    """One query parameter's checks."""

    __slots__ = ("name", "required", "kind", "multiple", "allowed", "low", "high", "missing")

    def __init__(self, p: Dict[str, Any]) -> None:
        self.name: str = p["name"]
        self.required = bool(p.get("required", False))
        dtype = p.get("dataType", "string")
        self.kind = {"int": "int", "long": "int", "boolean": "bool"}.get(dtype)
        self.multiple = bool(p.get("allowMultiple", False))
        av = p.get("allowableValues") or {}
        self.allowed = frozenset(str(v) for v in av["values"]) if av.get("valueType") == "LIST" else None
        self.low = av.get("min") if av.get("valueType") == "RANGE" else None
        self.high = av.get("max") if av.get("valueType") == "RANGE" else None
        self.missing = missing_message(self.name)

    def check(self, value: str) -> Optional[str]:
        """What is wrong with ``value`` (Asterisk's 400 message), or None."""
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

    def __init__(self, op: Dict[str, Any]) -> None:
        params = op.get("params", [])
        self.query = tuple(ParamCheck(p) for p in params if p.get("paramType") == "query")
        self.query_names = frozenset(p.name for p in self.query)
        self.body_required = tuple(
            (p["name"], missing_message(p["name"]))
            for p in params
            if p.get("paramType") == "body" and p.get("required")
        )

    def check(self, query: Dict[str, str], body: Any) -> Optional[str]:
        """Asterisk's 400 message for the first problem, or None.

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
            id(op): OperationCheck(op) for _, _, op in _description.iter_operations(carried)
        }

    def check(self, operation: Dict[str, Any], query: Dict[str, str], body: Any) -> Optional[str]:
        return self._checks[id(operation)].check(query, body)
