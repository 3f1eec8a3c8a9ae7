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
import math
import re
from functools import cache, cached_property
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

from .errors import ResponseError, ValidationError
from .model import PRIMITIVES, Operation, Parameter
from .transports import PreparedRequest, Reply, encode_json

_INT_TYPES = frozenset({"int", "long"})
_NUMBER_TYPES = frozenset({"double", "float"})

#: build(model name, JSON data) -> the value a call returns (an instance, ``Data``, the data)
Build = Callable[[str, Any], Any]


#: A segment quote() would leave as it is (RFC 3986 unreserved characters): ids, names, numbers
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch


def encode_segment(value: str) -> str:
    """Percent-encode one path segment so no value can change the request path."""
    # "." and ".." are left alone by quote() but mean "this" and "parent" to URL resolvers.
    if value and not value.strip("."):
        return value.replace(".", "%2E")
    # Nearly every id passes as it is: the test costs a fifth of quote()'s encode and strip.
    return value if _UNRESERVED(value) else quote(value, safe="")


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
                body = _body(self.name, param, value, body)
            elif param.location == "path":
                text = _wire(self.name, param, value)
                if not text:
                    raise ValidationError(self.name, name, "must not be empty")
                path_values[name] = encode_segment(text)
            else:
                query[name] = _wire(self.name, param, value)
        path = "".join([piece if is_literal else path_values[piece] for is_literal, piece in self._path_pieces])
        return PreparedRequest(
            self.operation.method,
            path,
            query,
            None if body is None else encode_json(body),
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
        try:
            data = json.loads(content) if content else None
        except ValueError as exc:
            raise ResponseError(f"{self.name}: the answer is not valid JSON ({exc})") from exc
        kind = self.response
        if kind.is_list:
            if type(data) is not list:
                raise ResponseError(f"{self.name}: expected a list, got {_shape(data)}")
            if kind.item not in PRIMITIVES:
                for item in data:
                    self._check_object(kind.item, item)
            return [build(kind.item, item) for item in data]
        if kind.name not in PRIMITIVES:
            self._check_object(kind.name, data)
        return build(kind.name, data)

    def _check_object(self, model: str, data: Any) -> None:
        if type(data) is not dict:
            raise ResponseError(f"{self.name}: expected a {model} object, got {_shape(data)}")

    # -- documentation -------------------------------------------------------------
    @cached_property
    def docstring(self) -> str:
        """The collection method's docstring: summary, notes, parameters, errors (built once)."""
        return self.docstring_for()

    def docstring_for(self, bound: Tuple[str, ...] = ()) -> str:
        """The docstring of the method, without the parameters an instance fills (``bound``)."""
        op = self.operation
        lines = [op.summary or f"{op.method} {op.path}", ""]
        if op.notes:
            lines += [op.notes, ""]
        lines.append(f"ARI: {op.method} /ari{op.path} ({op.full_name}), returns {op.response.name}.")
        shown = [p for p in op.parameters if p.name not in bound]
        if shown:
            lines += ["", "Parameters (ARI name or snake_case, as keywords or in a dict):"]
            for p in shown:
                kind = f"{'list of ' if p.allow_multiple else ''}{p.data_type}, {p.location}"
                kind += ", required" if p.required else ""
                spelling = p.name if p.python_name == p.name else f"{p.name} / {p.python_name}"
                line = f"    {spelling} ({kind})"
                if p.description:
                    line += f": {p.description}"
                if p.allowed_values:
                    line += f"; one of: {', '.join(map(str, p.allowed_values))}"
                if p.allowed_range:
                    line += f"; range {p.allowed_range[0]}..{p.allowed_range[1]}"
                if p.default is not None:
                    line += f"; default {p.default}"
                lines.append(line)
        if bound:
            lines += ["", f"The instance fills {', '.join(bound)}."]
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


def _shape(data: Any) -> str:
    """What a JSON value is, for messages about an answer of the wrong shape."""
    if data is None:
        return "nothing"
    if isinstance(data, bool):
        return "a boolean"
    if isinstance(data, (int, float)):
        return "a number"
    shapes: Dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
    return shapes.get(type(data), type(data).__name__)


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


def _body(operation: str, param: Parameter, value: Any, body: Any) -> Any:
    # Asterisk reads "containers" parameters from a key of the JSON body
    # ({"variables": {...}}), and "object" parameters as the whole body (filter).
    if param.data_type == "containers":
        if isinstance(value, dict) and set(value) == {param.name} and isinstance(value[param.name], (dict, list)):
            value = value[param.name]
        _check_container(operation, param.name, value)
        body = dict(body or {})
        body[param.name] = value
        return body
    if not isinstance(value, dict):
        raise ValidationError(operation, param.name, f"expected a dict, got {type(value).__name__}")
    _check_json(operation, param.name, value)
    return value


def _check_container(operation: str, name: str, value: Any) -> None:
    """Names to values (``variables``), or a list of ConfigTuples (``updateObject``'s ``fields``)."""
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, dict) or not set(item) <= {"attribute", "value"}:
                raise ValidationError(
                    operation, name, f"expected a dict of names to values, or a list of {{attribute, value}}: {item!r}"
                )
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(operation, name, f"names must be strings, got {key!r}")
            if not (item is None or isinstance(item, (str, int, float))):
                raise ValidationError(operation, name, f"{key}: expected a string, got {type(item).__name__}")
    else:
        raise ValidationError(operation, name, f"expected a dict of names to values, got {type(value).__name__}")
    _check_json(operation, name, value)


def _check_json(operation: str, name: str, value: Any) -> None:
    """Whether ``value`` can be sent as JSON, as Asterisk reads it: no NaN, bytes, lone surrogates."""
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise ValidationError(operation, name, f"cannot be sent as JSON: {exc}") from None


def _wire(operation: str, param: Parameter, value: Any) -> str:
    """One parameter value as Asterisk expects it on the wire; type and allowed-value checks."""
    if param.allow_multiple:
        if isinstance(value, str):
            items: List[Any] = value.split(",")
        elif isinstance(value, (list, tuple, set, frozenset)):
            items = list(value)
            for item in items:
                if isinstance(item, str) and "," in item:
                    # Asterisk splits the list on commas: this item would become several.
                    raise ValidationError(operation, param.name, f"list item {item!r} contains a comma")
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
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValidationError(operation, param.name, f"expected a number, got {value!r}")
        text = repr(float(value))
        _check_range(operation, param, float(value))
    else:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValidationError(operation, param.name, f"expected a {data_type}, got {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(operation, param.name, f"expected a {data_type}, got {value!r}")
        text = str(value)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValidationError(operation, param.name, f"not valid text: {exc.reason}") from None
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
