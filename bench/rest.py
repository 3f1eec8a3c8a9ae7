"""REST operations per second: ``channels.get`` one after another and from 8 threads at once.

Against one mock server process (``channels.get`` gets the mock's default answer, a Channel
with the requested id).  In this process, one after the other: the library, a plain
``requests.Session`` (auth, ``.json()``) and a plain ``http.client`` keep-alive connection
(``json.loads``); then the library shared by 8 threads.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List
from urllib.parse import urlsplit

from .servers import AUTHORIZATION, PASSWORD, USER, Server
from .table import Row


def _rate(count: int, op: Callable[[int], object], threads: int = 1) -> float:
    per = count // threads
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for i in range(per):
            op(i)

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return per * threads / (time.perf_counter() - start)


def _aioari_rate(url: str, count: int) -> float:
    """aioari 0.10 (aiohttp, asyncio) on the same server, in its own process."""
    script = os.path.join(os.path.dirname(__file__), "peers", "aioari_rest.py")
    out = subprocess.run([sys.executable, script, url, str(count)], capture_output=True, text=True, timeout=300,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def measure(count: int, runs: int) -> Dict[str, float]:
    import requests

    import ari

    with Server("mock") as server:
        client = ari.connect(server.url, USER, PASSWORD)
        session = requests.Session()
        session.auth = (USER, PASSWORD)
        base = server.url + "/ari/channels/"
        parts = urlsplit(server.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port)
        headers = {"Authorization": AUTHORIZATION}

        def library(i: int) -> object:
            return client.channels.get(channelId=f"c{i}").id

        def plain_requests(i: int) -> object:
            response = session.get(f"{base}c{i}", timeout=10)
            response.raise_for_status()
            return response.json()["id"]

        def plain_http(i: int) -> object:
            conn.request("GET", f"/ari/channels/c{i}", headers=headers)
            response = conn.getresponse()
            return json.loads(response.read())["id"]

        cases = {"library": (library, 1), "requests": (plain_requests, 1), "http.client": (plain_http, 1),
                 "library x8": (library, 8), "requests x8": (plain_requests, 8)}
        results: Dict[str, List[float]] = {name: [] for name in cases}
        try:
            _rate(200, library)  # warm the pools and code paths
            _rate(200, plain_requests)
            peer = importlib.util.find_spec("aioari") is not None
            if peer:
                results["aioari"] = []
            for _ in range(runs):
                for name, (op, threads) in cases.items():
                    results[name].append(_rate(count, op, threads))
                if peer:
                    results["aioari"].append(_aioari_rate(server.url, count))
        finally:
            client.close()
            session.close()
            conn.close()
        return {name: max(values) for name, values in results.items()}


def rows(quick: bool = False) -> List[Row]:
    count = 800 if quick else 2000
    r = measure(count, 2 if quick else 3)
    return [
        Row("REST channels.get, 1 thread", r["library"], "op/s", r["requests"], "requests.Session", target=0.9),
        Row("REST channels.get vs http.client", r["library"], "op/s", r["http.client"], "http.client keep-alive"),
        Row("REST channels.get, 8 threads", r["library x8"], "op/s", r["library"], "library, 1 thread",
            target=1.0, note="must beat 1 thread"),
        Row("REST 8 threads vs requests x8", r["library x8"], "op/s", r["requests x8"], "requests.Session, 8 threads"),
    ] + ([Row("REST channels.get vs aioari 0.10", r["library"], "op/s", r["aioari"], "aioari (aiohttp), same server",
              note="peer: pip install aioari")] if "aioari" in r else [])
