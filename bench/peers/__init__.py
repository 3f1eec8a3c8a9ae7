"""Other ARI clients measured beside ari in the same run, when they are installed.

- aioari (Python): ``pip install aioari``
- node ari-client: ``npm install --prefix bench/peers/node`` (Node.js on the PATH)

Each runs in its own process against the same server and prints its rate.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from typing import Dict, List

HERE = os.path.dirname(__file__)
NODE = os.path.join(HERE, "node")


def available() -> Dict[str, List[str]]:
    """Peer name -> the command prefix that runs its scripts (script name and args appended)."""
    found: Dict[str, List[str]] = {}
    if importlib.util.find_spec("aioari") is not None:
        found["aioari 0.10"] = [sys.executable, os.path.join(HERE, "aioari_{}.py")]
    node = shutil.which("node")
    if node and os.path.isdir(os.path.join(NODE, "node_modules", "ari-client")):
        found["node ari-client 2.2"] = [node, os.path.join(NODE, "{}.js")]
    return found


def rate(command: List[str], figure: str, url: str, count: int) -> float:
    """Run one peer's ``figure`` script (events or rest) and return the rate it prints last."""
    program, script = command
    out = subprocess.run(
        [program, script.format(figure), url, str(count)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=NODE,
    )
    return float(out.stdout.strip().splitlines()[-1])
