"""Test tools shipped with ``ari``: a loopback ARI server, a stub-table mock, an Asterisk simulator.

- ``LoopbackServer`` (``server.py``): HTTP + WebSocket on one port, routes requests by the
  carried description (``description.py``), checks their parameters (``checks.py``) and hands
  them to a backend (``backend.py``); the events socket is ``events_socket.py``, its
  RESTRequest / RESTResponse frames ``framing.py``, simulated time ``clock.py``.
- ``MockServer`` (``mock.py``): a loopback server serving ``MockBackend``, which answers from
  a stub table and records every request, for unit tests of an application.
- ``Simulator`` (``simulator.py``): a loopback server serving ``AsteriskState``
  (``asterisk.py``), a model of Asterisk's state (``state/``) whose refusals are the named
  errors of ``errors.py``.

The servers need ``aiohttp`` (the ``ari[testing]`` extra); they are imported on first use so
that importing ``ari.testing`` (the pytest plugin does) never requires it.
"""

# Imported under private names: the package's public names are exactly ``__all__``
# (tests/unit/test_exports.py), not ``importlib``, ``Any`` or ``TYPE_CHECKING``.
import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from .mock import MockServer
    from .server import LoopbackServer
    from .simulator import Simulator

__all__ = ["LoopbackServer", "MockServer", "Simulator"]

_LAZY = {"LoopbackServer": ".server", "MockServer": ".mock", "Simulator": ".simulator"}


def __getattr__(name: str) -> _typing.Any:
    # Lazy only so that aiohttp stays optional; each name maps to exactly one module.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
