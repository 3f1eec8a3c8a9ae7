"""Connect: seconds from ``import ari`` to a client with the full API built, beside its ceiling.

Each measurement is a fresh interpreter (so the import is really paid) against one mock
server serving Asterisk 22's description.  The ceiling, in its own fresh interpreter:
``import requests``, then fetch and ``json.loads`` the same description files with a plain
``requests.Session``.
"""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
from typing import Dict, List

from .servers import PASSWORD, USER, Server
from .table import Row

_LIBRARY = """
import time
t0 = time.perf_counter()
import ari
client = ari.connect({url!r}, {user!r}, {password!r})
assert client.channels.get and client.bridges.create
print(time.perf_counter() - t0)
client.close()
"""

_CEILING = """
import time
t0 = time.perf_counter()
import json, requests
session = requests.Session()
session.auth = ({user!r}, {password!r})
base = {url!r} + "/ari/api-docs/"
listing = json.loads(session.get(base + "resources.json").content)
for api in listing["apis"]:
    name = api["path"].rsplit("/", 1)[1].replace(".{{format}}", ".json")
    json.loads(session.get(base + name).content)
print(time.perf_counter() - t0)
"""


def _environment() -> Dict[str, str]:
    """As a user's machine has it: compiled bytecode cached for ari as pip caches it for requests.

    Without this (PYTHONDONTWRITEBYTECODE set, or an editable install never imported) every
    run would compile ari's sources and time the compiler, while requests loads its .pyc files.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    import ari

    compileall.compile_dir(os.path.dirname(ari.__file__), quiet=1)
    return env


def _timed(script: str, url: str, env: Dict[str, str]) -> float:
    code = script.format(url=url, user=USER, password=PASSWORD)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def measure(runs: int) -> tuple:
    """(library seconds, ceiling seconds), best of ``runs``, interleaved."""
    env = _environment()
    with Server("mock") as server:
        lib, ceiling = [], []
        for _ in range(runs):
            lib.append(_timed(_LIBRARY, server.url, env))
            ceiling.append(_timed(_CEILING, server.url, env))
        return min(lib), min(ceiling)


def rows(quick: bool = False) -> List[Row]:
    lib, ceiling = measure(3 if quick else 5)
    return [
        Row(
            "connect: import ari -> client built",
            lib,
            "s",
            ceiling,
            "import requests + fetch + json.loads",
            target=1.3,
            at_least=False,
        ),
        Row("connect, absolute on loopback", lib, "s", target=0.1, checked="value", at_least=False),
    ]
