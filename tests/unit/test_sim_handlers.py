"""The simulator's handler tables against the carried description, and moto's split kept.

Every operation of the carried description has a handler (the events WebSocket, which the
server itself serves, excepted), no handler exists for an operation it does not describe, and
the handler modules only parse and serialise: no state change and no event is made there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ari.testing import errors
from ari.testing.asterisk import HANDLERS
from ari.testing.description import iter_operations, load
from ari.testing.state import rest_bridges, rest_channels, rest_media, rest_system

HANDLER_MODULES = (rest_channels, rest_bridges, rest_media, rest_system)
MUTATORS = frozenset({"setdefault", "add", "discard", "pop", "update", "append", "remove", "clear", "extend", "insert"})


def test_every_described_operation_has_a_handler_and_no_other_has_one() -> None:
    described = {
        (resource, op["nickname"]) for resource, _, op in iter_operations(load()) if op.get("upgrade") != "websocket"
    }
    assert set(HANDLERS) == described


def test_websocket_operations_are_the_servers_alone() -> None:
    upgrades = {
        (resource, op["nickname"]) for resource, _, op in iter_operations(load()) if op.get("upgrade") == "websocket"
    }
    assert upgrades == {("events", "eventWebsocket")}
    assert not upgrades & set(HANDLERS)


def test_each_handler_module_serves_only_its_own_resources() -> None:
    seen = set()
    for module in HANDLER_MODULES:
        keys = set(module.HANDLERS)
        assert not keys & seen, module.__name__
        seen |= keys
    assert seen == set(HANDLERS)


@pytest.mark.parametrize("module", HANDLER_MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_handlers_change_no_state_and_send_no_event(module) -> None:
    """Assignments to attributes, to items of attributes, and ``emit`` belong to the engines."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            if isinstance(target, ast.Attribute) or (
                isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute)
            ):
                found.append(f"line {node.lineno}: {ast.unparse(target)}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # A local list may grow (the answer being built); the model's tables may not.
            shared = not isinstance(node.func.value, ast.Name)
            if node.func.attr == "emit" or (shared and node.func.attr in MUTATORS):
                found.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
    assert not found, f"{module.__name__} changes state: {found}"


def test_named_errors_carry_asterisks_status_and_wording() -> None:
    assert (errors.ChannelNotFound.status, errors.ChannelNotFound().message) == (404, "Channel not found")
    assert (errors.ChannelNotInStasis.status, str(errors.ChannelNotInStasis())) == (
        409,
        "409 Channel not in Stasis application",
    )
    assert errors.BridgeExists("b1").message == "Bridge with id 'b1' already exists"
    assert errors.MissingParameter("Endpoint must be specified").status == 400
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, errors.SimError):
            assert value.status in errors.REASONS, name


def test_simulator_errors_are_not_the_clients() -> None:
    import ari

    assert not issubclass(errors.SimError, ari.ARIError)
    assert not hasattr(errors, "AriError")
