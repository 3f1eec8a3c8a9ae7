"""Exported names (httpx's guard): ``__all__`` is exactly a package's public names, each importable.

Checked in a fresh interpreter, so that what other tests imported (submodules, lazily loaded
servers) cannot hide a name the package itself leaks or lacks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

ROOT = Path(__file__).resolve().parents[2]

_PROBE = r"""
import json, sys, types
name = sys.argv[1]
module = __import__(name, fromlist=["__all__"])
def public():
    return sorted(
        n for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    )
before = public()
declared = list(module.__all__)
origins = {}
for n in declared:
    namespace = {}
    exec(f"from {name} import {n}", namespace)  # importable as documented
    value = namespace[n]
    origins[n] = getattr(value, "__module__", None) if not isinstance(value, str) else name
after = public()
print(json.dumps({
    "before": before, "after": after, "all": declared, "origins": origins,
    "aiohttp": "aiohttp" in sys.modules,
}))
"""


def _probe(package: str) -> Dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, package], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def ari_names() -> Dict[str, Any]:
    return _probe("ari")


@pytest.fixture(scope="module")
def testing_names() -> Dict[str, Any]:
    return _probe("ari.testing")


def test_ari_all_is_exactly_its_public_names(ari_names: Dict[str, Any]) -> None:
    assert set(ari_names["before"]) == set(ari_names["all"]) - {"__version__"}
    assert len(ari_names["all"]) == len(set(ari_names["all"])), "a name listed twice"


def test_ari_exports_only_its_own_objects(ari_names: Dict[str, Any]) -> None:
    # Nothing of requests, websocket or blinker leaks out under an ari name.
    for name, origin in ari_names["origins"].items():
        assert origin is not None and (origin == "ari" or origin.startswith("ari.")), (name, origin)
    private = [n for n in ari_names["all"] if n.startswith("_") and n != "__version__"]
    assert private == []


def test_ari_testing_all_is_exactly_its_public_names(testing_names: Dict[str, Any]) -> None:
    # Before first use only the lazy names are promised; nothing else public sits in the namespace.
    assert testing_names["before"] == []
    assert set(testing_names["after"]) == set(testing_names["all"])
    assert sorted(testing_names["all"]) == ["LoopbackServer", "MockServer", "Simulator"]
    for name, origin in testing_names["origins"].items():
        assert origin is not None and origin.startswith("ari.testing."), (name, origin)


def test_importing_ari_testing_does_not_need_aiohttp() -> None:
    # The pytest plugin imports ari.testing; the servers (and aiohttp) load on first use only.
    code = "import sys, ari.testing, ari.testing.pytest_plugin; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_ari_testing_unknown_name_is_an_attribute_error() -> None:
    import ari.testing

    with pytest.raises(AttributeError, match="NoSuchServer"):
        ari.testing.NoSuchServer  # noqa: B018
