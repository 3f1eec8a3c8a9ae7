"""Events per second through ``client.on`` handlers, with promotion, beside two raw ceilings.

A feeder process writes a prebuilt stream of Asterisk-22-shaped events (seven types over
1,000 channels) as fast as the socket allows.  In this process, one after the other on the
same stream: the library (``ari.connect`` + ``client.on`` for every type, each handler
touching its promoted instance), plain websocket-client ``recv()`` + ``json.loads``, and a
stdlib socket reader that splits frames by their headers and ``json.loads`` each.  The
library's own cost per event is measured apart: ``deliver`` (promotion, signal lookup,
the handler call) on the same events already parsed, on one thread.
"""

from __future__ import annotations

import base64
import gc
import itertools
import json
import os
import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from . import peers
from .servers import APP, AUTHORIZATION, EVENT_TYPES, PASSWORD, USER, Server
from .table import Row


def feed_library(
    url: str,
    count: int,
    dispatch: str = "serial",
    ends: Optional[Callable[[int], Any]] = None,
    timeout: float = 120.0,
) -> Tuple[float, float]:
    """The library on the feeder: ``client.on`` for every type, each handler touching its
    promoted instance as an application would.  Seconds and process CPU seconds from
    ``client.start`` to the ``count``-th handler call: ``ari.connect`` (loading the
    description, some 30 ms of CPU) comes before, as no ceiling has a description to load.
    ``ends(n)``, if given, runs in the handlers of the first and the last event (n 1 and
    ``count``): per-thread figures while the threads live."""
    import ari

    client = ari.connect(url, USER, PASSWORD, dispatch=dispatch)
    done = threading.Event()
    counter = itertools.count(1)
    cpu: List[float] = []  # process CPU at the last handler call

    def handler(event: Any, instance: Any) -> None:
        instance.id  # noqa: B018 - touch the promoted instance, as an application would
        n = next(counter)
        if n == count or n == 1:
            if ends is not None:
                ends(n)
            if n == count:
                cpu.append(time.process_time())
                done.set()

    for event_type in EVENT_TYPES:
        client.on(event_type, handler)
    try:
        start, start_cpu = time.perf_counter(), time.process_time()
        client.start(APP)
        if not done.wait(timeout):
            raise TimeoutError("the library did not deliver every event")
        return time.perf_counter() - start, cpu[0] - start_cpu
    finally:
        client.close()


def library_rate(url: str, count: int, dispatch: str = "serial") -> float:
    """Events/s from ``client.start`` to the ``count``-th handler call."""
    return count / feed_library(url, count, dispatch)[0]


def dispatch_cost_us(url: str, count: int) -> float:
    """Microseconds per event of the library's own work: promotion and dispatch to the handlers."""
    import ari

    from .servers import events

    texts = [json.dumps(e) for e in events(count, 1000)]
    client = ari.connect(url, USER, PASSWORD)
    try:

        def handler(event: Any, instance: Any) -> None:
            instance.id  # noqa: B018 - as in library_rate

        for event_type in EVENT_TYPES:
            client.on(event_type, handler)
        from ari.dispatch import Dispatcher
        from ari.events import Promoter

        deliver = Dispatcher(client.meta.events, Promoter(client.meta)).deliver
        best = float("inf")
        for _ in range(3):
            frames = [json.loads(t) for t in texts]  # promotion replaces fields: fresh dicts each round
            # In a stream each frame dies young; a list of 150,000 live ones would instead make
            # the collector walk them all, over and over: keep them out of its sight.
            gc.collect()
            gc.freeze()
            start = time.perf_counter()
            for data in frames:
                deliver(data)
            best = min(best, time.perf_counter() - start)
            gc.unfreeze()
        return best / count * 1e6
    finally:
        client.close()


def websocket_client_rate(url: str, count: int) -> float:
    """Plain websocket-client: ``recv()`` + ``json.loads`` per frame."""
    import websocket

    start = time.perf_counter()
    ws = websocket.create_connection(
        f"ws{url[4:]}/ari/events?app={APP}", header=[f"Authorization: {AUTHORIZATION}"], skip_utf8_validation=True
    )
    try:
        recv, loads = ws.recv, json.loads
        for _ in range(count):
            loads(recv())
        return count / (time.perf_counter() - start)
    finally:
        ws.close()


def socket_rate(url: str, count: int, loads: Callable[[Any], Any] = json.loads) -> float:
    """A stdlib socket: the upgrade by hand, frames split by their headers, ``json.loads`` each.

    A ceiling only: no masking, fragmentation or control frames are handled.  With ``loads``
    another parser (orjson, which the library uses when installed: the same ceiling with it).
    """
    parts = urlsplit(url)
    start = time.perf_counter()
    sock = socket.create_connection((parts.hostname, parts.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ari/events?app={APP} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: {AUTHORIZATION}\r\n\r\n"
        ).encode()
    )
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, _, buf = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"upgrade refused: {head[:60]!r}")
    data = bytearray(buf)
    pos, frames = 0, 0
    chunk = bytearray(1 << 20)
    view = memoryview(chunk)
    try:
        while frames < count:
            # Walk every whole frame in the buffer.
            end = len(data)
            while frames < count and end - pos >= 2:
                length = data[pos + 1] & 0x7F
                header = 2
                if length == 126:
                    if end - pos < 4:
                        break
                    length, header = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
                elif length == 127:
                    if end - pos < 10:
                        break
                    length, header = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
                if end - pos < header + length:
                    break
                loads(data[pos + header : pos + header + length])
                pos += header + length
                frames += 1
            if frames >= count:
                break
            del data[:pos]
            pos = 0
            n = sock.recv_into(chunk)
            if not n:
                raise RuntimeError("the feeder closed the stream early")
            data += view[:n]
        return count / (time.perf_counter() - start)
    finally:
        sock.close()


def measure(count: int, runs: int) -> Dict[str, float]:
    """The rates on one feeder, best of ``runs`` each, interleaved to share any drift; peers too."""
    with Server("feeder", "--events", str(count), "--channels", "1000") as server:
        rates: Dict[str, Callable[[], float]] = {
            "library": lambda: library_rate(server.url, count),
            "websocket-client": lambda: websocket_client_rate(server.url, count),
            "socket": lambda: socket_rate(server.url, count),
        }
        try:
            import orjson

            rates["socket+orjson"] = lambda: socket_rate(server.url, count, orjson.loads)
        except ImportError:
            pass
        for name, command in peers.available().items():
            rates[name] = lambda command=command: peers.rate(command, "events", server.url, count)  # type: ignore[misc]
        results: Dict[str, List[float]] = {name: [] for name in rates}
        for _ in range(runs):
            for name, run in rates.items():
                results[name].append(run())
        best = {name: max(values) for name, values in results.items()}
        best["dispatch_us"] = dispatch_cost_us(server.url, count)
        return best


def rows(quick: bool = False) -> List[Row]:
    count = 50_000 if quick else 150_000
    rates = measure(count, 2 if quick else 3)
    lib, wsc, raw = rates.pop("library"), rates.pop("websocket-client"), rates.pop("socket")
    dispatch_us = rates.pop("dispatch_us")
    fast = rates.pop("socket+orjson", None)
    note = f"{count:,} events, 1,000 channels"
    return (
        [
            Row(
                "events/s, client.on + promotion",
                lib,
                "ev/s",
                wsc,
                "websocket-client recv+json.loads",
                target=100_000,
                checked="value",
                note=note,
            ),
            Row("events/s vs plain socket reader", lib, "ev/s", raw, "stdlib socket + json.loads"),
        ]
        + (
            [
                Row(
                    "events/s vs plain socket reader",
                    lib,
                    "ev/s",
                    fast,
                    "stdlib socket + orjson.loads",
                    note="the library decodes with orjson",
                )
            ]
            if fast is not None
            else []
        )
        + [
            Row(
                "library's own cost (promotion + dispatch) / total",
                dispatch_us,
                "us",
                1e6 / lib,
                "total per event",
                target=1 / 3,
                at_least=False,
            ),
        ]
        + [
            Row(f"events/s vs {name}", lib, "ev/s", rate, f"{name}, same stream", target=1.0, note="peer")
            for name, rate in rates.items()
        ]
    )


__all__ = ["feed_library", "library_rate", "measure", "rows", "socket_rate", "websocket_client_rate"]
