"""REST operations per second: ``channels.get`` one after another and from 8 threads at once.

Against the ``answerer`` process, which answers at once over HTTP and over the events socket
(as Asterisk's C code does, so the server's own time stays out of the client's figures).  In
this process, one after the other: the library over HTTP, a plain ``requests.Session`` (auth,
``.json()``) and a plain ``http.client`` keep-alive connection (``json.loads``); the library
over the event WebSocket (``RESTRequest``) and plain websocket-client sending the same frames;
then each library transport shared by 8 threads.  The same two transports against the
project's ``MockServer`` too, where the mock's own answer time bounds one-at-a-time calls.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import urlsplit

from . import peers
from .servers import AUTHORIZATION, PASSWORD, USER, Server
from .table import Row


def socket_ceiling_get(ws: Any, i: int) -> object:
    """The ceiling of REST over the event socket: websocket-client sends one ``RESTRequest``
    frame for ``channels/c<i>`` and reads frames until its ``RESTResponse``."""
    ws.send(f'{{"type":"RESTRequest","request_id":"{i}","method":"GET","uri":"channels/c{i}"}}')
    while True:
        answer = json.loads(ws.recv())
        if answer.get("type") == "RESTResponse":
            return json.loads(answer["message_body"])["id"]


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


def measure(kind: str, count: int, runs: int, only: Tuple[str, ...] = ()) -> Dict[str, float]:
    import requests
    import websocket

    import ari

    with Server(kind) as server:
        client = ari.connect(server.url, USER, PASSWORD, transport="http")
        over_socket = ari.connect(server.url, USER, PASSWORD, transport="websocket")
        over_socket.start("bench-rest")
        ws = websocket.create_connection(
            server.url.replace("http", "ws", 1) + "/ari/events?app=bench-raw",
            header=[f"Authorization: {AUTHORIZATION}"],
            timeout=10,
            skip_utf8_validation=True,  # its pure-Python check would cost more than the round trip
        )
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

        def library_socket(i: int) -> object:
            return over_socket.channels.get(channelId=f"c{i}").id

        def plain_socket(i: int) -> object:
            return socket_ceiling_get(ws, i)

        cases = {
            "library": (library, 1),
            "requests": (plain_requests, 1),
            "http.client": (plain_http, 1),
            "library ws": (library_socket, 1),
            "websocket-client": (plain_socket, 1),
            "library x8": (library, 8),
            "requests x8": (plain_requests, 8),
            "library ws x8": (library_socket, 8),
        }
        if only:
            cases = {name: case for name, case in cases.items() if name in only}
        results: Dict[str, List[float]] = {name: [] for name in cases}
        try:
            for op, _ in cases.values():
                _rate(200, op)  # warm the pools and code paths
            others = {} if only else peers.available()
            for _ in range(runs):
                for name, (op, threads) in cases.items():
                    results[name].append(_rate(count, op, threads))
                for name, command in others.items():
                    results.setdefault(name, []).append(peers.rate(command, "rest", server.url, count))
        finally:
            client.close()
            over_socket.close()
            ws.close()
            session.close()
            conn.close()
        return {name: max(values) for name, values in results.items()}


def rows(quick: bool = False) -> List[Row]:
    count = 800 if quick else 2000
    runs = 2 if quick else 3
    r = measure("answerer", count, runs)
    m = measure("mock", count, runs, only=("library ws", "websocket-client", "requests"))
    known = (
        "library",
        "requests",
        "http.client",
        "library x8",
        "requests x8",
        "library ws",
        "websocket-client",
        "library ws x8",
    )
    return [
        Row(
            "REST over the event socket, 1 thread",
            r["library ws"],
            "op/s",
            r["requests"],
            "requests.Session (HTTP)",
            target=3.0,
            note="transport='websocket'",
        ),
        Row(
            "REST over the event socket vs its ceiling",
            r["library ws"],
            "op/s",
            r["websocket-client"],
            "websocket-client send+recv",
            note="one thread, no hand-off",
        ),
        Row(
            "REST over the event socket, 8 threads",
            r["library ws x8"],
            "op/s",
            r["requests"],
            "requests.Session (HTTP)",
            target=3.0,
        ),
        Row(
            "REST over the event socket vs HTTP, same library",
            r["library ws"],
            "op/s",
            r["library"],
            "ari over HTTP, 1 thread",
        ),
        Row(
            "REST over the event socket, MockServer",
            m["library ws"],
            "op/s",
            m["requests"],
            "requests.Session (HTTP)",
            note="the mock's answer time bounds it",
        ),
        Row(
            "REST over the event socket, MockServer, ceiling",
            m["library ws"],
            "op/s",
            m["websocket-client"],
            "websocket-client send+recv",
        ),
        Row("REST channels.get, 1 thread", r["library"], "op/s", r["requests"], "requests.Session", target=0.9),
        Row("REST channels.get vs http.client", r["library"], "op/s", r["http.client"], "http.client keep-alive"),
        Row(
            "REST channels.get, 8 threads",
            r["library x8"],
            "op/s",
            r["library"],
            "library, 1 thread",
            target=1.0,
            note="must beat 1 thread",
        ),
        Row("REST 8 threads vs requests x8", r["library x8"], "op/s", r["requests x8"], "requests.Session, 8 threads"),
    ] + [
        Row(f"REST channels.get vs {name}", r["library"], "op/s", rate, f"{name}, same server", note="peer")
        for name, rate in r.items()
        if name not in known
    ]
