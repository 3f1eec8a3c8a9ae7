"""Read-only views of an API description: resources, operations, parameters, models, events.

Built once per client from the plain dicts of ``spec.py``; every check of the
description happens here, at load time, and fails with a ``SpecError`` that says
which file and which element.  Nothing here performs I/O or builds callables.
"""

from __future__ import annotations

import keyword
import re
from typing import AbstractSet, Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from .errors import SpecError
from .naming import python_name, snake_case
from .spec import Description

PRIMITIVES = frozenset(
    {
        "string",
        "int",
        "long",
        "double",
        "float",
        "boolean",
        "Date",
        "date",
        "object",
        "containers",
        "void",
        "binary",
        "byte",
    }
)
_LIST = re.compile(r"^List\[(?P<item>[^\]]+)\]$")
_PATH_PARAM = re.compile(r"\{([^}]+)\}")
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
#: an operation path: segments of letters, digits, "_" and "-", or {placeholders}; nothing to leave /ari/
_SAFE_PATH = re.compile(r"^(/([A-Za-z0-9_-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))+$")
#: the leading parameters of every generated method (operations.py)
_CALL_PARAMETERS = frozenset({"self", "params", "instance", "callback"})
_PARAM_TYPES = frozenset({"path", "query", "body", "header", "form"})


class TypeRef(NamedTuple):
    """A Swagger 1.1 type: ``Channel``, ``List[Channel]``, ``string``, ``void``, ``binary``."""

    name: str
    item: str  # the element type for lists, else the name
    is_list: bool

    @classmethod
    def parse(cls, text: str) -> TypeRef:
        match = _LIST.match(text)
        return cls(text, match.group("item") if match else text, bool(match))


class Parameter(NamedTuple):
    name: str
    location: str  # path, query, body
    data_type: str
    required: bool
    allow_multiple: bool
    allowed_values: Optional[Tuple[Any, ...]]
    allowed_range: Optional[Tuple[Optional[float], Optional[float]]]
    default: Any
    description: str = ""  # the server's own words, read at connect time

    @property
    def python_name(self) -> str:
        return python_name(self.name)


class Operation(NamedTuple):
    resource: str
    nickname: str
    method: str
    path: str
    summary: str
    notes: str
    response: TypeRef
    parameters: Tuple[Parameter, ...]
    errors: Mapping[int, str]
    upgrade: Optional[str]  # "websocket" for the event socket, not a REST method

    @property
    def python_name(self) -> str:
        return python_name(self.nickname)

    @property
    def path_parameters(self) -> Tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def full_name(self) -> str:
        return f"{self.resource}.{self.nickname}"


class Property(NamedTuple):
    name: str
    type: TypeRef
    required: bool
    allowed_values: Optional[Tuple[Any, ...]] = None


class Model(NamedTuple):
    id: str
    resource: str  # the document that defines it
    properties: Mapping[str, Property]
    sub_types: Tuple[str, ...] = ()


class InstanceType(NamedTuple):
    """A model whose objects have an identity and operations bound to it (Channel, Bridge...).

    ``identity`` pairs each identity parameter with the model property holding it,
    e.g. ``(("channelId", "id"),)`` or ``(("tech", "technology"), ("resource", "resource"))``.
    """

    model: str
    resource: str
    identity: Tuple[Tuple[str, str], ...]
    operations: Tuple[Operation, ...]

    @property
    def identity_params(self) -> Tuple[str, ...]:
        return tuple(param for param, _ in self.identity)

    @property
    def identity_props(self) -> Tuple[str, ...]:
        return tuple(prop for _, prop in self.identity)

    def key_of(self, data: Mapping[str, Any]) -> Tuple[Any, ...]:
        """The listener key of the resource ``data`` describes: ``(model, *identity values)``.

        The one definition, for instances (``Resource._key``) and the event router alike.
        """
        return (self.model, *(data.get(prop) for _, prop in self.identity))


class API(NamedTuple):
    """The whole description: what a client built from it offers."""

    api_version: str
    resources: Mapping[str, Tuple[Operation, ...]]
    models: Mapping[str, Model]
    instance_types: Mapping[str, InstanceType]
    #: event type -> its resource-typed fields and their model (``{"channel": "Channel"}``)
    event_resources: Mapping[str, Mapping[str, str]] = {}

    @property
    def event_types(self) -> Tuple[str, ...]:
        return tuple(self.event_resources)


def build_api(
    description: Description,
    *,
    client_names: AbstractSet[str] = frozenset(),
    instance_names: AbstractSet[str] = frozenset(),
) -> API:
    """Interpret and check a raw description; raise SpecError naming the file and element.

    ``client_names`` are the client's own attributes, which no resource or factory name may
    take; ``instance_names`` those of collections and instances, which no operation may take.
    """
    resources: Dict[str, Tuple[Operation, ...]] = {}
    models: Dict[str, Model] = {}
    for name, document in description.documents.items():
        location = f"{name}.json"
        _check_name(name, client_names, f"{location}: resource name")
        if not isinstance(document, dict):
            raise SpecError(location, "not a JSON object")
        resources[name] = _operations(name, document, location)
        for op in resources[name]:
            _check_name(op.nickname, instance_names, f"{location}: operation nickname")
        for model_id, raw in _dict(document.get("models", {}), f"{location}: models").items():
            models[model_id] = _model(model_id, name, raw, f"{location}: models.{model_id}")
    _check_types(resources, models)
    instance_types = _instance_types(resources, models)
    for model_id, inst_type in instance_types.items():
        _check_name(model_id, client_names, f"{inst_type.resource}.json: model name (a client factory)")
    return API(
        api_version=str(description.listing.get("apiVersion", "")),
        resources=resources,
        models=models,
        instance_types=instance_types,
        event_resources=_event_resources(models, instance_types),
    )


def _check_name(name: str, reserved: AbstractSet[str], location: str) -> None:
    """A name the description gives an attribute: an identifier, public, and not one of ours."""
    if not name.isidentifier() or name.startswith("_") or keyword.iskeyword(name):
        raise SpecError(location, f"{name!r} is not a usable name")
    for spelling in dict.fromkeys((name, snake_case(name), python_name(name))):
        if spelling in reserved:
            raise SpecError(location, f"{name!r} would replace the client's own attribute {spelling!r}")


def _dict(value: Any, location: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(location, f"expected an object, found {type(value).__name__}")
    return value


def _list(value: Any, location: str) -> List[Any]:
    if not isinstance(value, list):
        raise SpecError(location, f"expected a list, found {type(value).__name__}")
    return value


def _operations(resource: str, document: Dict[str, Any], location: str) -> Tuple[Operation, ...]:
    operations = []
    seen: Dict[str, str] = {}
    for a_index, api in enumerate(_list(document.get("apis"), f"{location}: apis")):
        api_location = f"{location}: apis[{a_index}]"
        path = _dict(api, api_location).get("path")
        if not isinstance(path, str) or not _SAFE_PATH.match(path):
            # Anything else could leave /ari/ ("..", "//host", "%2e%2e", a query): refused, not cleaned.
            raise SpecError(api_location, f"missing or invalid path {path!r}")
        raw_operations = _list(api.get("operations", []), f"{api_location}.operations")
        for o_index, raw in enumerate(raw_operations):
            op_location = f"{api_location}.operations[{o_index}]"
            operation = _operation(resource, path, _dict(raw, op_location), op_location)
            if operation.nickname in seen:
                raise SpecError(
                    op_location, f"duplicate nickname {operation.nickname!r} (also {seen[operation.nickname]})"
                )
            seen[operation.nickname] = op_location
            operations.append(operation)
    return tuple(operations)


def _operation(resource: str, path: str, raw: Dict[str, Any], location: str) -> Operation:
    nickname = raw.get("nickname")
    if not isinstance(nickname, str) or not nickname.isidentifier():
        raise SpecError(location, f"missing or invalid nickname {nickname!r}")
    location = f"{location} ({nickname})"
    method = str(raw.get("httpMethod", "")).upper()
    if method not in _METHODS:
        raise SpecError(location, f"invalid httpMethod {raw.get('httpMethod')!r}")
    parameters = tuple(
        _parameter(_dict(p, f"{location}.parameters[{i}]"), f"{location}.parameters[{i}]")
        for i, p in enumerate(_list(raw.get("parameters", []), f"{location}.parameters"))
    )
    names = [p.name for p in parameters]
    spellings: Dict[str, str] = {}
    for p in parameters:
        if p.name in _CALL_PARAMETERS or p.python_name in _CALL_PARAMETERS:
            raise SpecError(location, f"parameter {p.name!r} would replace the method's own {p.python_name!r}")
        if not p.python_name.isidentifier():
            raise SpecError(location, f"parameter {p.name!r} is not a usable name")
        for spelling in dict.fromkeys((p.name, p.python_name)):
            if spelling in spellings:
                raise SpecError(location, f"parameters {spellings[spelling]!r} and {p.name!r} are both {spelling!r}")
            spellings[spelling] = p.name
    for placeholder in _PATH_PARAM.findall(path):
        if placeholder not in names:
            raise SpecError(location, f"path parameter {{{placeholder}}} of {path} is not described")
    errors = {}
    for e_index, error in enumerate(_list(raw.get("errorResponses", []), f"{location}.errorResponses")):
        error = _dict(error, f"{location}.errorResponses[{e_index}]")
        code = error.get("code")
        # Asterisk itself writes some codes as strings ("404" in channels.move).
        if not (isinstance(code, int) or (isinstance(code, str) and code.isdigit())):
            raise SpecError(f"{location}.errorResponses[{e_index}]", f"code {code!r} is not an integer")
        errors[int(code)] = str(error.get("reason", ""))
    return Operation(
        resource=resource,
        nickname=nickname,
        method=method,
        path=path,
        summary=str(raw.get("summary", "")),
        notes=str(raw.get("notes", "")),
        response=TypeRef.parse(str(raw.get("responseClass", "void"))),
        parameters=parameters,
        errors=errors,
        upgrade=raw.get("upgrade"),
    )


def _parameter(raw: Dict[str, Any], location: str) -> Parameter:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SpecError(location, "parameter without a name")
    location = f"{location} ({name})"
    param_type = raw.get("paramType")
    if param_type not in _PARAM_TYPES:
        raise SpecError(location, f"invalid paramType {param_type!r}")
    allowed_values = allowed_range = None
    allowable = raw.get("allowableValues")
    if allowable is not None:
        kind = _dict(allowable, f"{location}.allowableValues").get("valueType")
        if kind == "LIST":
            allowed_values = tuple(_list(allowable.get("values"), f"{location}.allowableValues.values"))
        elif kind == "RANGE":
            allowed_range = (allowable.get("min"), allowable.get("max"))
        else:
            raise SpecError(location, f"unknown allowableValues valueType {kind!r}")
    return Parameter(
        name=name,
        location=param_type,
        data_type=str(raw.get("dataType", "string")),
        # Asterisk leaves `required` out on some path parameters; a path parameter is always required.
        required=bool(raw.get("required", False)) or param_type == "path",
        allow_multiple=bool(raw.get("allowMultiple", False)),
        allowed_values=allowed_values,
        allowed_range=allowed_range,
        default=raw.get("defaultValue"),
        description=" ".join(str(raw.get("description") or "").split()),
    )


def _model(model_id: str, resource: str, raw: Any, location: str) -> Model:
    raw = _dict(raw, location)
    properties = {}
    for name, prop in _dict(raw.get("properties", {}), f"{location}.properties").items():
        prop = _dict(prop, f"{location}.properties.{name}")
        if not isinstance(prop.get("type"), str):
            raise SpecError(f"{location}.properties.{name}", "property without a type")
        allowable = prop.get("allowableValues") or {}
        values = tuple(allowable["values"]) if allowable.get("valueType") == "LIST" else None
        properties[name] = Property(name, TypeRef.parse(prop["type"]), bool(prop.get("required")), values)
    return Model(model_id, resource, properties, tuple(raw.get("subTypes", ())))


def _check_types(resources: Mapping[str, Tuple[Operation, ...]], models: Mapping[str, Model]) -> None:
    for name, operations in resources.items():
        for op in operations:
            if op.response.item not in PRIMITIVES and op.response.item not in models:
                raise SpecError(
                    f"{name}.json: {op.nickname}", f"responseClass names unknown model {op.response.item!r}"
                )


def _identity_property(param: str, model: Model) -> Optional[str]:
    """Which property of ``model`` carries the identity parameter ``param``.

    ARI names identity parameters after the resource (``channelId``, ``recordingName``,
    ``tech``); the model calls them ``id``, ``name``, ``technology``.
    """
    for candidate in (param, snake_case(param)):
        if candidate in model.properties:
            return candidate
    if param.endswith("Id") and "id" in model.properties:
        return "id"
    if param.endswith("Name") and "name" in model.properties:
        return "name"
    prefixed = [p for p in model.properties if p.startswith(param)]
    return prefixed[0] if len(prefixed) == 1 else None


def _instance_types(
    resources: Mapping[str, Tuple[Operation, ...]], models: Mapping[str, Model]
) -> Dict[str, InstanceType]:
    """Models fetched by ``GET /things/{ids...}`` become instance types, their operations bound.

    An operation is bound to an instance when its path lies under the instance's
    path, or when it takes no path parameters but accepts the identity as a query
    parameter (the create operations: ``bridges.create(bridgeId=...)``).
    """
    result: Dict[str, InstanceType] = {}
    for resource, operations in resources.items():
        for getter in operations:
            model = models.get(getter.response.name)
            if getter.method != "GET" or model is None or not getter.path_parameters:
                continue
            if model.id in result:
                continue
            identity = []
            for param in getter.path_parameters:
                prop = _identity_property(param, model)
                if prop is None:
                    break
                identity.append((param, prop))
            else:
                params = set(getter.path_parameters)
                bound = tuple(
                    op
                    for op in operations
                    if not op.upgrade
                    and (
                        op.path == getter.path
                        or op.path.startswith(getter.path + "/")
                        or (not op.path_parameters and params <= {p.name for p in op.parameters})
                    )
                )
                result[model.id] = InstanceType(model.id, resource, tuple(identity), bound)
    return result


def _event_resources(
    models: Mapping[str, Model], instance_types: Mapping[str, InstanceType]
) -> Dict[str, Dict[str, str]]:
    """Every event type the description declares, with its fields that hold resource objects."""
    root = models.get("Event")
    if root is None:
        return {}
    events: Dict[str, Dict[str, str]] = {}
    pending = list(root.sub_types)
    while pending:
        name = pending.pop(0)
        model = models.get(name)
        if model is None or name in events:
            continue
        events[name] = {
            prop.name: prop.type.name
            for prop in model.properties.values()
            if not prop.type.is_list and prop.type.name in instance_types
        }
        pending.extend(model.sub_types)
    return events
