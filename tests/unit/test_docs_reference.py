"""The documentation's API reference (docs/_ext/ari_reference.py) names every resource, operation, model and event."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ari.model import build_api
from ari.stubs import carried_description

EXTENSION = Path(__file__).resolve().parents[2] / "docs" / "_ext" / "ari_reference.py"


def load_extension() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ari_reference_under_test", EXTENSION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop(spec.name, None)
    spec.loader.exec_module(module)
    return module


def test_every_operation_model_and_event_has_its_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extension = load_extension()
    monkeypatch.setattr(extension, "OUT", tmp_path)
    written = {path.name for path in extension.write_reference()}
    api = build_api(carried_description("22.10.1"))
    assert written == {f"{r}.rst" for r in api.resources} | {"models.rst", "event-types.rst", "index.rst"}
    for resource, operations in api.resources.items():
        page = (tmp_path / f"{resource}.rst").read_text()
        for op in operations:
            if op.upgrade:
                assert f"``{op.method} /ari{op.path}`` is the event WebSocket" in page
                continue
            assert f"``{op.method} /ari{op.path}`` returns ``{op.response.name}``." in page, op.full_name
            title = op.python_name if op.python_name == op.nickname else f"{op.python_name} / {op.nickname}"
            assert f"\n{resource}.{title}\n" in page
            for param in op.parameters:
                assert f"   * - ``{param.name}``\n" in page, (op.full_name, param.name)
    models = (tmp_path / "models.rst").read_text()
    events = (tmp_path / "event-types.rst").read_text()
    for name in api.models:
        assert f"\n{name}\n" in (events if name in api.event_types else models), name
    index = (tmp_path / "index.rst").read_text()
    assert all(f"   {resource}\n" in index for resource in api.resources)
