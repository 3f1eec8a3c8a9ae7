"""Shared test helpers: drive one described operation through a client and check the wire."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

import responses

import ari
from ari.naming import python_name

ODD_ID = "a/b?c#d%e ..f"


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.01) -> bool:
    """Check ``predicate`` until it is true or ``timeout`` seconds pass (bounded; never a bare sleep)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return bool(predicate())
        pause.wait(min(interval, remaining))
    return True


def sample_value(param: Dict[str, Any]) -> Tuple[Any, Any]:
    """A value to pass for a Swagger parameter, and what must appear on the wire."""
    allowed = (param.get("allowableValues") or {}).get("values")
    data_type = param.get("dataType", "string")
    if param.get("paramType") == "body":
        value = {"key": "value", "n": 1}
        return value, ({param["name"]: value} if data_type == "containers" else value)
    if allowed:
        scalar = allowed[0]
    elif data_type in ("int", "long"):
        scalar = 7
    elif data_type == "boolean":
        scalar = True
    elif param.get("paramType") == "path":
        scalar = ODD_ID + param["name"]
    else:
        scalar = "v-" + param["name"]
    wire = "true" if scalar is True else str(scalar)
    if param.get("allowMultiple"):
        return [scalar, scalar], f"{wire},{wire}"
    return scalar, wire


def _response(returns: str) -> Tuple[int, Any]:
    if returns == "void":
        return 204, None
    if returns.startswith("List["):
        return 200, []
    if returns == "binary":
        return 200, b"RIFF"
    return 200, {"id": "x", "name": "x"}


def check_operation(
    client: ari.Client,
    rsps: responses.RequestsMock,
    root: str,
    resource: str,
    path: str,
    method: str,
    nickname: str,
    returns: str,
    params: List[Dict[str, Any]],
) -> None:
    """Call the operation by its ARI name (dict) and snake_case name (keywords); check both requests."""
    values = {p["name"]: sample_value(p) for p in params}
    status, body = _response(returns)
    seen: List[Any] = []

    def reply(request: Any) -> Tuple[int, Dict[str, str], Any]:
        seen.append(request)
        if isinstance(body, bytes):
            return status, {"Content-Type": "audio/wav"}, body
        return status, {"Content-Type": "application/json"}, "" if body is None else json.dumps(body)

    rsps.add_callback(method, re.compile(re.escape(root) + "/.*"), callback=reply)
    collection = getattr(client, resource)
    by_ari = getattr(collection, nickname)
    by_python = getattr(collection, python_name(nickname))
    assert by_ari == by_python and by_python.__name__ == python_name(nickname)
    by_ari({name: value for name, (value, _) in values.items()})
    by_python(**{python_name(name): value for name, (value, _) in values.items()})
    assert len(seen) == 2
    for request in seen:
        assert request.method == method
        parts = urlsplit(request.url)
        raw_segments = parts.path[len(urlsplit(root).path) :].split("/")
        expected = path.split("/")
        assert len(raw_segments) == len(expected), (parts.path, path)
        for raw, want in zip(raw_segments, expected):
            if want.startswith("{"):
                assert unquote(raw) == values[want[1:-1]][1]
                assert "/" not in raw and "?" not in raw and "#" not in raw
            else:
                assert raw == want
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        assert query == {p["name"]: values[p["name"]][1] for p in params if p["paramType"] == "query"}
        bodies = [values[p["name"]][1] for p in params if p["paramType"] == "body"]
        if bodies:
            assert json.loads(request.body) == bodies[0]
        else:
            assert not request.body


def cli_command(*args: str) -> List[str]:
    """``python -m ari.testing ARGS`` as a terminal starts it: Ctrl-C (SIGINT) raises KeyboardInterrupt.

    A process launched from a background job inherits SIGINT ignored, and Python then keeps it
    ignored; the tests send SIGINT as a terminal would, so they restore its usual handler first.
    """
    launcher = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('ari.testing', run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-c", launcher, *args]


def read_messages(link: Any) -> List[Tuple[int, bytes]]:
    """The next messages of a ``stream.Link``, waited for and read as the stream's reader does."""
    while True:
        if link.wait(1.0):
            with link.token:
                messages = link.read_some()
            if messages:
                return messages


class Recorder:
    """Collects handler calls; ``wait(n)`` waits (bounded) for n of them."""

    def __init__(self) -> None:
        self.calls: List[Tuple[Any, ...]] = []
        self._cond = threading.Condition()

    def __call__(self, *args: Any) -> None:
        with self._cond:
            self.calls.append(args)
            self._cond.notify_all()

    def wait(self, count: int = 1, timeout: float = 5.0) -> List[Tuple[Any, ...]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.calls) >= count, timeout), self.calls
        return self.calls
