"""Guards on the package's shape: the public surface, one module per dependency, one-way imports."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

import ari

PACKAGE = Path(ari.__file__).parent

#: Each third-party library is imported by exactly one module (testing/ has its own server).
OWNERS = {
    "requests": {"http"},
    "urllib3": {"http"},
    "websocket": {"stream"},
    "websockets": {"stream"},
    "blinker": {"dispatch"},
    "aiohttp": {"testing.server"},
}

#: Lower layers never import higher ones.
LAYERS = [
    {"errors", "naming"},
    {"http", "backoff", "workers"},
    {"spec", "socket_rest"},  # spec's command line (python -m ari.spec save) fetches through http
    {"model"},
    {"operations"},
    {"resources", "subscriptions"},
    {"events"},
    {"dispatch"},
    {"stream"},
    {"client"},
    {"__init__", "demo", "__main__", "cli", "stubs", "types"},
]


def _imports() -> Dict[str, Set[str]]:
    found: Dict[str, Set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        names: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against the importing module's package
                    package = module.split(".")[: -node.level] if "." in module or node.level > 1 else []
                    base = ".".join([*package, base] if base else package) or base
                    names.add("ari." + base if base else "ari")
                else:
                    names.add(base)
        found[module] = names
    return found


def test_public_surface() -> None:
    assert set(ari.__all__) == {
        "ARIError",
        "AuthenticationError",
        "BadRequest",
        "Client",
        "Conflict",
        "ConnectionError",
        "Forbidden",
        "HTTPError",
        "MethodNotAllowed",
        "NotFound",
        "PreconditionFailed",
        "ServerError",
        "SpecError",
        "Timeout",
        "UnprocessableEntity",
        "ValidationError",
        "__version__",
        "connect",
        "connect_async",
    }
    for name in ari.__all__:
        assert getattr(ari, name) is not None
    errors = [getattr(ari, n) for n in ari.__all__ if isinstance(getattr(ari, n), type) and n != "Client"]
    assert all(issubclass(error, ari.ARIError) for error in errors)


def test_each_dependency_has_one_module() -> None:
    imports = _imports()
    for library, owners in OWNERS.items():
        users = {m for m, names in imports.items() if any(n == library or n.startswith(library + ".") for n in names)}
        assert users == owners, (library, users)


def test_imports_point_one_way() -> None:
    level = {name: index for index, layer in enumerate(LAYERS) for name in layer}
    for module, names in _imports().items():
        if module.startswith("testing") or module not in level:
            continue
        for name in names:
            if not name.startswith("ari.") or name.startswith("ari.testing"):
                continue
            target = name[len("ari.") :].split(".")[0]
            assert level[target] <= level[module], f"{module} imports {target}, a higher layer"
