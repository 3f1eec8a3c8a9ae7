"""Guards on the package's shape: the public surface, one module per dependency, one-way imports."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

import ari

PACKAGE = Path(ari.__file__).parent

#: Each third-party library is imported by exactly one module (testing/ has its own server;
#: testing.record talks to a real Asterisk without the client, so that its recordings never
#: depend on the library they are used to check).
OWNERS = {
    "requests": {"http", "testing.record"},
    "urllib3": {"http"},
    "websocket": {"stream", "testing.record"},
    "websockets": {"stream", "outbound", "media.websocket"},  # stream: the sans-I/O reader; outbound: the server
    "audioop": {"media.codecs"},
    "blinker": {"listeners"},
    "orjson": {"dispatch"},  # optional: the events' JSON, when installed
    "aiohttp": {"testing.server", "testing.outbound", "testing.media_socket"},  # outbound: the simulator connecting out
}

#: Lower layers never import higher ones.
LAYERS = [
    {"errors", "naming", "threads", "readiness"},
    {"transports", "backoff", "workers"},  # the transport contract, the router
    {"http", "socket_rest"},  # the transports
    {"spec"},  # its command line (python -m ari.spec save) fetches through http
    {"model"},
    {"operations"},
    {"resources", "subscriptions"},
    {"events"},
    {"listeners"},
    {"dispatch"},
    {"stream"},
    {"client"},
    {"outbound"},
    {"media"},  # ari.media: opens media through a client, imports only errors from the core
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
        "Backoff",
        "BadRequest",
        "Client",
        "ClientState",
        "ClosedError",
        "Conflict",
        "ConnectionError",
        "Event",
        "Forbidden",
        "HTTPError",
        "MediaError",
        "MethodNotAllowed",
        "NotFound",
        "PreconditionFailed",
        "Resource",
        "ResponseError",
        "Server",
        "ServerError",
        "SpecError",
        "Timeout",
        "UnprocessableEntity",
        "ValidationError",
        "__version__",
        "connect",
        "connect_async",
        "serve",
    }
    for name in ari.__all__:
        assert getattr(ari, name) is not None
    plain = {"Backoff", "Client", "ClientState", "Event", "Resource", "Server"}
    errors = [getattr(ari, n) for n in ari.__all__ if isinstance(getattr(ari, n), type) and n not in plain]
    assert all(issubclass(error, ari.ARIError) for error in errors)


def test_all_lists_every_public_name() -> None:
    """``__all__`` is explicit and complete: every public name the package holds is in it (httpx's guard)."""
    public = {name for name in vars(ari) if not name.startswith("_") and name != "logging"}
    submodules = {name for name in public if type(getattr(ari, name)).__name__ == "module"}
    assert public - submodules == set(ari.__all__) - {"__version__"}


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


def test_the_stream_hands_events_to_a_sink_not_the_dispatcher() -> None:
    # Seam 1: the client sequences dispatcher and stream; the stream only knows submit/emit.
    assert "ari.dispatch" not in _imports()["stream"]


#: ari.testing's own layers: the simulator's errors and facts at the bottom, the servers above
#: the models, the test-facing classes on top (``state`` stands for every ``state.*`` module).
TESTING_LAYERS = [
    {"errors", "backend", "clock", "machine", "media", "dialplan"},
    {"description", "framing"},
    # externalMedia audio: the model and its wires (a media WebSocket, RTP), below the state that uses them
    {"media_stream", "media_socket", "rtp"},
    {"checks", "state"},
    {"asterisk", "events_socket"},
    {"server"},
    {"outbound"},  # the simulator connecting out, through the server's events sockets
    {"mock", "simulator", "record", "scenarios"},
    {"conformance"},
    {"__init__", "__main__", "pytest_plugin"},
]


def test_testing_imports_point_one_way() -> None:
    level = {name: index for index, layer in enumerate(TESTING_LAYERS) for name in layer}
    for module, names in _imports().items():
        if not module.startswith("testing."):
            continue
        mine = module.split(".")[1]
        assert mine in level, f"ari.{module} is in no layer of TESTING_LAYERS"
        for name in names:
            if not name.startswith("ari.testing."):
                continue
            target = name[len("ari.testing.") :].split(".")[0]
            if target == mine:
                continue
            assert level[target] <= level[mine], f"testing.{mine} imports {target}, a higher layer"


def test_simulator_handlers_reach_no_server_part() -> None:
    """The state model answers requests; sockets, framing and checks are the server's."""
    server_parts = {"server", "events_socket", "framing", "checks", "clock", "mock", "simulator"}
    for module, names in _imports().items():
        if module.startswith("testing.state") or module in ("testing.asterisk", "testing.errors"):
            used = {n[len("ari.testing.") :].split(".")[0] for n in names if n.startswith("ari.testing.")}
            assert not used & server_parts, (module, used & server_parts)
