"""Sphinx extension: the API reference pages, generated at build time from the carried description.

Its one job is writing ``reference/<resource>.rst``, ``reference/models.rst`` and
``reference/events.rst`` from the interface facts ``ari.testing`` carries
(``ari/testing/interface/ari-<version>.json``: names, methods, paths, parameters, types, allowed
values, error codes, models; no prose), read through the same model the client is built
from.  The pages are written into the build's source tree on ``builder-inited`` and are
not kept in the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from ari.model import API, Operation, Parameter, build_api
from ari.naming import snake_case
from ari.stubs import carried_description
from ari.testing.description import DEFAULT_VERSION

OUT = Path(__file__).resolve().parent.parent / "reference"


def _title(text: str, underline: str = "=") -> List[str]:
    return [text, underline * len(text), ""]


def _table(header: List[str], rows: List[List[str]]) -> List[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0] or ' '}")
        lines += [f"     - {cell or ' '}" for cell in row[1:]]
    return [*lines, ""]


def _code(text: Any) -> str:
    return f"``{text}``" if text not in (None, "") else ""


def _type(param: Parameter) -> str:
    kind = f"list of {param.data_type}" if param.allow_multiple else param.data_type
    return kind


def _values(param: Parameter) -> str:
    if param.allowed_values:
        return ", ".join(_code(v) for v in param.allowed_values)
    if param.allowed_range:
        low, high = param.allowed_range
        return f"{'' if low is None else low} .. {'' if high is None else high}"
    return ""


def _operation(api: API, op: Operation, instances: Dict[str, List[str]]) -> List[str]:
    names = op.python_name if op.python_name == op.nickname else f"{op.python_name} / {op.nickname}"
    lines = _title(f"{op.resource}.{names}", "-")
    lines += [f"``{op.method} /ari{op.path}`` returns ``{op.response.name}``.", ""]
    call = f"client.{op.resource}.{op.python_name}(...)"
    lines.append(f"Python: ``{call}``, ``{op.python_name}_async(...)``, ``callback=``.")
    bound = instances.get(op.full_name)
    if bound:
        lines.append(
            "Also on "
            + ", ".join(f"``{model}`` instances (``{snake_case(model)}.{op.python_name}(...)``)" for model in bound)
            + ", which fill the identity parameters."
        )
    lines.append("")
    if op.parameters:
        rows = [
            [
                _code(p.name),
                _code(p.python_name) if p.python_name != p.name else "",
                p.location,
                _type(p),
                "yes" if p.required else "",
                _values(p),
                _code(p.default),
            ]
            for p in op.parameters
        ]
        lines += _table(["parameter", "snake_case", "in", "type", "required", "values", "default"], rows)
    if op.errors:
        codes = ", ".join(str(code) for code in sorted(op.errors))
        lines += [f"Error statuses: {codes} (raised as the ``ari.HTTPError`` subclass of each).", ""]
    return lines


def _models(api: API) -> List[str]:
    events = set(api.event_types)
    lines = _title("Models")
    lines += [
        "The objects operations return.  Models with an identity become instances with the "
        "operations of their resource bound to them; the others are read-only data "
        "(``ari.resources.Data``: a dict whose fields read as attributes).",
        "",
    ]
    for name, model in sorted(api.models.items()):
        if name in events:
            continue
        kind = "instance" if name in api.instance_types else "data"
        lines += _title(name, "-")
        lines += [f"Defined by ``{model.resource}``; {kind}.", ""]
        rows = [
            [
                _code(p.name),
                _code(p.type.name),
                "yes" if p.required else "",
                ", ".join(map(_code, p.allowed_values or ())),
            ]
            for p in model.properties.values()
        ]
        lines += _table(["field", "type", "required", "values"], rows) if rows else ["No fields.", ""]
    return lines


def _events(api: API) -> List[str]:
    lines = _title("Event types")
    lines += [
        "Every event type of the description.  Fields that name a resource are promoted to "
        "instances: a handler registered with ``client.on(TYPE, handler)`` gets ``(event, instance)`` "
        "when one is named, ``(event, instances)`` when several are.",
        "",
    ]
    for name in sorted(api.event_types):
        model = api.models[name]
        promoted = api.event_resources.get(name, {})
        lines += _title(name, "-")
        rows = [
            [_code(p.name), _code(p.type.name), "yes" if p.required else "", "instance" if p.name in promoted else ""]
            for p in model.properties.values()
        ]
        lines += _table(["field", "type", "required", "promoted"], rows) if rows else ["No fields of its own.", ""]
    return lines


def write_reference(version: str = DEFAULT_VERSION) -> List[Path]:
    api = build_api(carried_description(version))
    OUT.mkdir(exist_ok=True)
    instances: Dict[str, List[str]] = {}
    for model, inst in api.instance_types.items():
        for op in inst.operations:
            instances.setdefault(op.full_name, []).append(model)
    written = []
    pages = []
    for resource, operations in api.resources.items():
        lines = _title(f"{resource}")
        lines += [f"Operations of the ``{resource}`` resource: ``client.{resource}``.", ""]
        for op in operations:
            if op.upgrade:
                lines += [f"``{op.method} /ari{op.path}`` is the event WebSocket (``client.start``).", ""]
                continue
            lines += _operation(api, op, instances)
        pages.append(resource)
        written.append(_write(OUT / f"{resource}.rst", lines))
    written.append(_write(OUT / "models.rst", _models(api)))
    written.append(_write(OUT / "event-types.rst", _events(api)))
    index = _title("API reference")
    index += [
        f"Every resource, operation, model and event of Asterisk {version}'s ARI (API {api.api_version}), "
        "generated when these pages are built from the description ``ari.testing`` carries.  "
        "A client connected to another Asterisk has that server's own API; ``help()`` on an "
        "operation shows it.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
        *[f"   {page}" for page in pages],
        "   models",
        "   event-types",
        "",
    ]
    written.append(_write(OUT / "index.rst", index))
    return written


def _write(path: Path, lines: List[str]) -> Path:
    text = "\n".join(lines).rstrip() + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def setup(app: Any) -> Dict[str, Any]:
    app.connect("builder-inited", lambda app: write_reference())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
