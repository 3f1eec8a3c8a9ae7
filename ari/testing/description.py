"""The ARI interface description that ``ari.testing`` carries: load it, render it, route by it.

Its one job is the *facts* of an Asterisk release's ARI (no prose), as written by
``scripts/carry_description.py`` into ``ari/testing/interface/ari-<asterisk>.json``.  It must
not import any network library: the client may use it offline.

The carried format, ``ari-interface/1``::

    {
      "format": "ari-interface/1",
      "asterisk": "22.10.1",            # the Asterisk release described
      "apiVersion": "10.0.0",           # resources.json's apiVersion
      "swaggerVersion": "1.1",
      "resources": [                    # in resources.json order
        {
          "name": "channels",           # api-docs/channels.json
          "apiVersion": "2.0.0",
          "swaggerVersion": "1.2",      # only where it differs from the top level (events)
          "since": ["12.0.0"],          # optional, as in the api-docs file
          "requiresModules": [...],     # optional
          "apis": [
            {"path": "/channels/{channelId}/answer",
             "operations": [
               {"method": "POST",               # Swagger httpMethod
                "nickname": "answer",
                "returns": "void",              # Swagger responseClass
                "since": ["12.0.0"],            # optional
                "upgrade": "websocket",         # only where Asterisk has it (events)
                "websocketProtocol": "ari",     # idem
                "params": [                     # optional; Swagger parameter objects minus
                  {"name": "channelId",         # their prose; keys present only where the
                   "paramType": "path",         # api-docs file has them
                   "dataType": "string",
                   "required": true,
                   "allowMultiple": false,
                   "allowableValues": {"valueType": "LIST", "values": [...]},
                   "defaultValue": ...}],
                "errors": [404, 409, 412]}]}],  # optional; error codes as Asterisk writes
                                                # them (one of 22.10.1's is the string "404")
          "models": {"Channel": {"discriminator": ..., "extends": ...,   # both optional
                                 "properties": {"id": {"type": "string", "required": true,
                                                       "allowableValues": ...}},
                                 "subTypes": [...]}}}]}                  # optional

``render_swagger`` turns it back into the Swagger 1.1 documents Asterisk serves, with generated
summaries and reasons in place of the dropped prose; ``Routes`` matches a method and a raw path
to an operation.
"""

from __future__ import annotations

import json
from importlib import resources as _resources
from typing import Any, Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import unquote

from .errors import REASONS

FORMAT = "ari-interface/1"
DEFAULT_VERSION = "22.10.1"


def load(version: str = DEFAULT_VERSION) -> Dict[str, Any]:
    """Return the carried description of Asterisk ``version`` (a fresh dict each call)."""
    ref = _resources.files(__package__ or "ari.testing") / "interface" / (f"ari-{version}.json")
    try:
        text = ref.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"no carried ARI description for Asterisk {version}") from None
    carried = json.loads(text)
    if carried.get("format") != FORMAT:
        raise ValueError("unknown interface format {!r}".format(carried.get("format")))
    return carried


def _reason(code: Any) -> str:
    try:
        # Generic reasons for the error codes (the carried file keeps codes, not Asterisk's prose).
        return REASONS.get(int(code), "Error")
    except ValueError:
        return "Error"


def render_swagger(carried: Dict[str, Any], base_path: str) -> Dict[str, Dict[str, Any]]:
    """Swagger 1.1 documents as Asterisk serves them, keyed by file name.

    ``"resources.json"`` is the listing; ``"<name>.json"`` each resource's declaration.
    ``base_path`` is what Asterisk puts in ``basePath``, e.g. ``http://127.0.0.1:8088/ari``.
    """
    swagger_version = carried["swaggerVersion"]
    docs: Dict[str, Dict[str, Any]] = {
        "resources.json": {
            "apiVersion": carried["apiVersion"],
            "swaggerVersion": swagger_version,
            "basePath": base_path,
            "apis": [
                {"path": f"/api-docs/{r['name']}.{{format}}", "description": f"{r['name']} resources"}
                for r in carried["resources"]
            ],
        }
    }
    for res in carried["resources"]:
        doc: Dict[str, Any] = {
            "apiVersion": res["apiVersion"],
            "swaggerVersion": res.get("swaggerVersion", swagger_version),
            "basePath": base_path,
            "resourcePath": "/api-docs/{}.{{format}}".format(res["name"]),
        }
        for key in ("since", "requiresModules"):
            if key in res:
                doc[key] = list(res[key])
        apis = []
        for api in res["apis"]:
            ops = []
            for op in api["operations"]:
                out: Dict[str, Any] = {"httpMethod": op["method"]}
                if "since" in op:
                    out["since"] = list(op["since"])
                out["summary"] = "{} {}".format(op["method"], api["path"])
                out["nickname"] = op["nickname"]
                out["responseClass"] = op["returns"]
                for key in ("upgrade", "websocketProtocol"):
                    if key in op:
                        out[key] = op[key]
                if "params" in op:
                    out["parameters"] = [json.loads(json.dumps(p)) for p in op["params"]]
                if "errors" in op:
                    out["errorResponses"] = [{"code": code, "reason": _reason(code)} for code in op["errors"]]
                ops.append(out)
            apis.append({"path": api["path"], "description": api["path"], "operations": ops})
        doc["apis"] = apis
        models = {}
        for mid, model in res.get("models", {}).items():
            m: Dict[str, Any] = {"id": mid}
            for key in ("extends", "discriminator"):
                if key in model:
                    m[key] = model[key]
            m["properties"] = json.loads(json.dumps(model["properties"]))
            if "subTypes" in model:
                m["subTypes"] = list(model["subTypes"])
            models[mid] = m
        doc["models"] = models
        docs[res["name"] + ".json"] = doc
    return docs


def iter_operations(carried: Dict[str, Any]) -> List[Tuple[str, str, Dict[str, Any]]]:
    """Every operation as ``(resource name, api path, operation)``, in description order."""
    return [
        (res["name"], api["path"], op)
        for res in carried["resources"]
        for api in res["apis"]
        for op in api["operations"]
    ]


def all_models(carried: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Every model of every resource file, by id (ids are unique across files)."""
    models: Dict[str, Dict[str, Any]] = {}
    for res in carried["resources"]:
        models.update(res.get("models", {}))
    return models


# ---------------------------------------------------------------------------------------------
# Routing


class NoSuchPath(LookupError):  # noqa: N818 - named like the HTTP outcome
    """No described path matches (Asterisk: 404 "Resource not found")."""


class NoSuchMethod(LookupError):  # noqa: N818 - named like the HTTP outcome
    """The path is described but not with this method (Asterisk: 405 "Invalid method").

    Not ``ari.MethodNotAllowed``, the client's exception for such an answer.
    """


class Route(NamedTuple):
    resource: str
    path: str  # the described template, e.g. "/channels/{channelId}"
    operation: Dict[str, Any]
    param_names: Tuple[str, ...]  # the template's {names}, in order


class RouteMatch(NamedTuple):
    resource: str
    nickname: str
    operation: Dict[str, Any]
    path_params: Dict[str, str]  # percent-decoded
    route: Route


class _Node:
    __slots__ = ("literal", "var", "ops")

    def __init__(self) -> None:
        self.literal: Dict[str, _Node] = {}
        self.var: Optional[_Node] = None
        self.ops: Dict[str, Route] = {}


class Routes:
    """Match ``(method, raw path under /ari)`` to an operation; built once, matched often.

    Literal segments win over templated ones (``/channels/create`` is not a channel id); path
    parameters are percent-decoded after splitting on "/", so an id holding ``%2F`` stays one
    segment.  A templated segment never matches an empty one.
    """

    def __init__(self, carried: Dict[str, Any]) -> None:
        self._root = _Node()
        for resource, path, op in iter_operations(carried):
            node = self._root
            names = []
            for seg in path.strip("/").split("/"):
                if seg.startswith("{") and seg.endswith("}"):
                    names.append(seg[1:-1])
                    if node.var is None:
                        node.var = _Node()
                    node = node.var
                else:
                    node = node.literal.setdefault(seg, _Node())
            node.ops[op["method"].upper()] = Route(resource, path, op, tuple(names))

    def match(self, method: str, raw_path: str) -> RouteMatch:
        """Raise ``NoSuchPath`` or ``NoSuchMethod`` when nothing fits."""
        if not raw_path.startswith("/"):
            raise NoSuchPath(raw_path)
        segments = raw_path[1:].split("/")
        method = method.upper()
        found: List[_Node] = []
        values: List[str] = []
        route = self._walk(self._root, segments, 0, method, values, found)
        if route is None:
            if found:
                raise NoSuchMethod(raw_path)
            raise NoSuchPath(raw_path)
        params = {name: unquote(v) for name, v in zip(route.param_names, values)}
        return RouteMatch(route.resource, route.operation["nickname"], route.operation, params, route)

    def _walk(
        self, node: _Node, segs: List[str], i: int, method: str, values: List[str], found: List[_Node]
    ) -> Optional[Route]:
        if i == len(segs):
            if node.ops:
                route = node.ops.get(method)
                if route is not None:
                    return route
                found.append(node)
            return None
        seg = segs[i]
        child = node.literal.get(seg)
        if child is not None:
            route = self._walk(child, segs, i + 1, method, values, found)
            if route is not None:
                return route
        if node.var is not None and seg:
            values.append(seg)
            route = self._walk(node.var, segs, i + 1, method, values, found)
            if route is not None:
                return route
            values.pop()
        return None

    def methods(self, raw_path: str) -> List[str]:
        """The methods described for ``raw_path`` (empty when the path is unknown)."""
        out: List[str] = []
        for method in ("GET", "POST", "PUT", "DELETE"):
            try:
                self.match(method, raw_path)
            except LookupError:
                continue
            out.append(method)
        return out
