"""Test tools shipped with ``ari``: a loopback ARI server, a stub-table mock, an Asterisk simulator.

- ``LoopbackServer`` (``server.py``): HTTP + WebSocket on one port, checks requests against the
  carried description (``description.py``) and hands them to a backend (``backend.py``).
- ``MockServer`` (``mock.py``): a loopback server answering from a stub table and recording
  every request, for unit tests of an application.
- ``Simulator`` (``simulator.py``): a loopback server backed by a model of Asterisk's state.

The servers need ``aiohttp`` (the ``ari[testing]`` extra); they are imported on first use so
that importing ``ari.testing`` (the pytest plugin does) never requires it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .mock import MockServer
    from .server import LoopbackServer

__all__ = ["LoopbackServer", "MockServer", "Simulator"]

_LAZY = {"LoopbackServer": ".server", "MockServer": ".mock", "Simulator": ".simulator"}


def __getattr__(name: str) -> Any:
    # Lazy only so that aiohttp stays optional; each name maps to exactly one module.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
