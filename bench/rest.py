"""REST operations per second: ``channels.get`` one after another and from 8 threads at once.

Against one mock server process (``channels.get`` gets the mock's default answer, a Channel
with the requested id).  In this process, one after the other: the library, a plain
``requests.Session`` (auth, ``.json()``) and a plain ``http.client`` keep-alive connection
(``json.loads``); then the library shared by 8 threads.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Callable, Dict, List
from urllib.parse import urlsplit

from . import peers
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
            others = peers.available()
            for _ in range(runs):
                for name, (op, threads) in cases.items():
                    results[name].append(_rate(count, op, threads))
                for name, command in others.items():
                    results.setdefault(name, []).append(peers.rate(command, "rest", server.url, count))
        finally:
            client.close()
            session.close()
            conn.close()
        return {name: max(values) for name, values in results.items()}


def rows(quick: bool = False) -> List[Row]:
    count = 800 if quick else 2000
    r = measure(count, 2 if quick else 3)
    known = ("library", "requests", "http.client", "library x8", "requests x8")
    return [
        Row("REST channels.get, 1 thread", r["library"], "op/s", r["requests"], "requests.Session", target=0.9),
        Row("REST channels.get vs http.client", r["library"], "op/s", r["http.client"], "http.client keep-alive"),
        Row("REST channels.get, 8 threads", r["library x8"], "op/s", r["library"], "library, 1 thread",
            target=1.0, note="must beat 1 thread"),
        Row("REST 8 threads vs requests x8", r["library x8"], "op/s", r["requests x8"], "requests.Session, 8 threads"),
    ] + [Row(f"REST channels.get vs {name}", r["library"], "op/s", rate, f"{name}, same server", note="peer")
         for name, rate in r.items() if name not in known]
