"""One ARI operation, prepared from its model: parameter checks, request building, response conversion.

Everything that can be worked out from the description is worked out once, when
the client is built (name tables, path template, converters); a call only checks
the values it is given and fills the template (``prepare``), and reads the answer
(``convert``).  This module sends nothing: the caller passes the ``PreparedRequest``
to a transport (see ``resources.py``).
"""

from __future__ import annotations

import inspect
import json
import keyword
from functools import cache, cached_property
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

from .errors import ValidationError
from .model import Operation, Parameter
from .transports import PreparedRequest, Reply

_INT_TYPES = frozenset({"int", "long"})
_NUMBER_TYPES = frozenset({"double", "float"})
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode

#: build(model name, JSON data) -> the value a call returns (an instance, ``Data``, the data)
Build = Callable[[str, Any], Any]


def encode_segment(value: str) -> str:
    """Percent-encode one path segment so no value can change the request path."""
    encoded = quote(value, safe="")
    # "." and ".." are left alone by quote() but mean "this" and "parent" to URL resolvers.
    return encoded.replace(".", "%2E") if set(value) == {"."} else encoded


class OperationTemplate:
    """An operation ready to be called many times."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self.name = operation.full_name
        self.parameters: Dict[str, Parameter] = {p.name: p for p in operation.parameters}
        # Every accepted spelling -> ARI name: channelId, channel_id; from, from_.
        self.spellings: Dict[str, str] = {}
        for param in operation.parameters:
            self.spellings[param.name] = param.name
            self.spellings.setdefault(param.python_name, param.name)
        self.required = tuple(p.name for p in operation.parameters if p.required)
        self._path_pieces = _split_path(operation.path)
        self.response = operation.response
        self.binary = operation.response.name == "binary"
        self.void = operation.response.name == "void"

    # -- arguments -----------------------------------------------------------------
    def normalise(self, params: Optional[Mapping[str, Any]], kwargs: Mapping[str, Any]) -> Dict[str, Any]:
        """Merge a params dict and keywords into ARI names; unknown names are an error."""
        values: Dict[str, Any] = {}
        for source in (params or {}, kwargs):
            for key, value in source.items():
                name = self.spellings.get(key)
                if name is None:
                    raise ValidationError(
                        self.name, key, f"unknown parameter; valid: {', '.join(self.parameters) or 'none'}"
                    )
                if name in values and values[name] is not value:
                    raise ValidationError(self.name, name, "given twice")
                values[name] = value
        return values

    def prepare(self, values: Mapping[str, Any]) -> PreparedRequest:
        """Check values against the description and build the request."""
        for name in self.required:
            if values.get(name) is None:
                raise ValidationError(self.name, name, "required parameter missing")
        query: Dict[str, str] = {}
        body: Any = None
        path_values: Dict[str, str] = {}
        for name, value in values.items():
            if value is None:
                continue
            param = self.parameters[name]
            if param.location == "body":
                body = _body(param, value, body)
            elif param.location == "path":
                text = _wire(self.name, param, value)
                if not text:
                    raise ValidationError(self.name, name, "must not be empty")
                path_values[name] = encode_segment(text)
            else:
                query[name] = _wire(self.name, param, value)
        path = "".join(piece if is_literal else path_values[piece] for is_literal, piece in self._path_pieces)
        return PreparedRequest(
            self.operation.method,
            path,
            query,
            None if body is None else _ENCODE(body),
            self.name,
            self.binary,
            self.operation.errors,
        )

    def convert(self, reply: Reply, build: Build) -> Any:
        """A successful reply as the call's result: None (void), bytes (binary), else built from JSON."""
        if self.void:
            return None
        content = reply.content
        if self.binary:
            return content.encode() if isinstance(content, str) else content
        data = json.loads(content) if content else None
        kind = self.response
        if kind.is_list:
            return [build(kind.item, item) for item in data or ()]
        return build(kind.name, data)

    # -- documentation -------------------------------------------------------------
    @cached_property
    def docstring(self) -> str:
        """The method's docstring: summary, notes, parameters, errors (built once)."""
        op = self.operation
        lines = [op.summary or f"{op.method} {op.path}", ""]
        if op.notes:
            lines += [op.notes, ""]
        lines.append(f"ARI: {op.method} /ari{op.path} ({op.full_name}), returns {op.response.name}.")
        if op.parameters:
            lines += ["", "Parameters (ARI name or snake_case, as keywords or in a dict):"]
            for p in op.parameters:
                kind = f"{'list of ' if p.allow_multiple else ''}{p.data_type}, {p.location}"
                kind += ", required" if p.required else ""
                spelling = p.name if p.python_name == p.name else f"{p.name} / {p.python_name}"
                line = f"    {spelling} ({kind})"
                if p.allowed_values:
                    line += f"; one of: {', '.join(map(str, p.allowed_values))}"
                if p.allowed_range:
                    line += f"; range {p.allowed_range[0]}..{p.allowed_range[1]}"
                if p.default is not None:
                    line += f"; default {p.default}"
                lines.append(line)
        if op.errors:
            lines += ["", "Errors:"]
            lines += [f"    {code}: {reason}" for code, reason in sorted(op.errors.items())]
        lines += ["", "Pass callback=fn to run it in the background: fn(err, result) is called once."]
        return "\n".join(lines)

    def signature(self, bound: Tuple[str, ...] = ()) -> inspect.Signature:
        names = [
            (p.name if p.name.isidentifier() and not keyword.iskeyword(p.name) else p.python_name, p.required)
            for p in self.operation.parameters
            if p.name not in bound
        ]
        return _signature(tuple(names))


_LEADING = (
    inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
    inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
    inspect.Parameter("instance", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
)
_CALLBACK = inspect.Parameter("callback", inspect.Parameter.KEYWORD_ONLY, default=None)


@cache
def _keyword(name: str, required: bool) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=inspect.Parameter.empty if required else None
    )


@cache
def _signature(names: Tuple[Tuple[str, bool], ...]) -> inspect.Signature:
    # Cached: operations share parameter lists (and connect time matters).
    return inspect.Signature([*_LEADING, *(_keyword(name, required) for name, required in names), _CALLBACK])


def _split_path(path: str) -> Tuple[Tuple[bool, str], ...]:
    pieces: List[Tuple[bool, str]] = []
    rest = path
    while "{" in rest:
        literal, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        if literal:
            pieces.append((True, literal))
        pieces.append((False, name))
    if rest:
        pieces.append((True, rest))
    return tuple(pieces)


def _body(param: Parameter, value: Any, body: Any) -> Any:
    # Asterisk reads "containers" parameters from a key of the JSON body
    # ({"variables": {...}}), and "object" parameters as the whole body (filter).
    if param.data_type == "containers":
        body = dict(body or {})
        if isinstance(value, dict) and set(value) == {param.name}:
            value = value[param.name]
        body[param.name] = value
        return body
    return value


def _wire(operation: str, param: Parameter, value: Any) -> str:
    """One parameter value as Asterisk expects it on the wire; type and allowed-value checks."""
    if param.allow_multiple:
        if isinstance(value, str):
            items: List[Any] = value.split(",")
        elif isinstance(value, (list, tuple, set, frozenset)):
            items = list(value)
        else:
            raise ValidationError(
                operation, param.name, f"expected a list of {param.data_type}, got {type(value).__name__}"
            )
        return ",".join(_scalar(operation, param, item) for item in items)
    return _scalar(operation, param, value)


def _scalar(operation: str, param: Parameter, value: Any) -> str:
    data_type = param.data_type
    if data_type == "boolean":
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str) and value.lower() in ("true", "false"):
            text = value.lower()
        else:
            raise ValidationError(operation, param.name, f"expected a boolean, got {value!r}")
    elif data_type in _INT_TYPES:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())
        ):
            raise ValidationError(operation, param.name, f"expected an integer, got {value!r}")
        text = str(int(value))
        _check_range(operation, param, int(value))
    elif data_type in _NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(operation, param.name, f"expected a number, got {value!r}")
        text = repr(float(value))
        _check_range(operation, param, float(value))
    else:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValidationError(operation, param.name, f"expected a {data_type}, got {type(value).__name__}")
        text = str(value)
    if param.allowed_values is not None and text not in param.allowed_values:
        raise ValidationError(
            operation, param.name, f"{text!r} is not one of: {', '.join(map(str, param.allowed_values))}"
        )
    return text


def _check_range(operation: str, param: Parameter, number: float) -> None:
    if param.allowed_range is None:
        return
    low, high = param.allowed_range
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValidationError(operation, param.name, f"{number} is outside {low}..{high}")
