"""Outbound WebSockets (``ari.Server``): connections, call set-up, events and REST, beside their ceilings.

A child process plays Asterisk connecting out (``python -m bench.outbound peer ...``): per-call
connections as fast as it can (each an ``ApplicationRegistered`` for ``bench:PJSIP/b-N``, a
StasisStart carrying when the connect began, a StasisEnd, a close); one connection writing a
prebuilt stream of events; one connection answering ``RESTRequest`` at once.  In this process:

- connections accepted/s and per-call set-up time (connect to StasisStart at the handler) of
  the library (a client per connection, made from a saved description), beside a bare
  ``websockets`` server that only reads the same frames;
- events/s through ``server.on`` handlers over the outbound socket, beside the inbound socket
  (``ari.connect`` + ``client.start``) on the events figure's feeder, in the same run;
- REST calls/s (``channels.get``) over the outbound socket, beside the inbound socket's
  ``RESTRequest`` against the answerer.

    python -m bench --only outbound
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, List, Optional, Tuple

from . import wait
from .events import library_rate
from .servers import APP, ASTERISK_ID, EVENT_TYPES, PASSWORD, USER, Server, _channel, events
from .table import Row

_DUMPS = json.JSONEncoder(separators=(",", ":")).encode


def _frame(event_type: str, app: str, **fields: Any) -> str:
    return _DUMPS({"type": event_type, "timestamp": "2026-11-26T03:47:35.123+0000", **fields,
                   "application": app, "asterisk_id": ASTERISK_ID})  # fmt: skip


# -- the child: Asterisk's side ------------------------------------------------------------


async def _calls(url: str, count: int, concurrency: int) -> None:
    from websockets.asyncio.client import connect

    slots = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        app = f"bench:PJSIP/b-{n:08x}"
        async with slots:
            began = time.time()
            async with connect(url, subprotocols=["ari"], compression=None) as ws:  # type: ignore[list-item]
                channel = _channel(f"b{n}", n, "Up")
                await ws.send(_frame("ApplicationRegistered", app))
                await ws.send(_frame("StasisStart", app, args=[], channel=channel, began=began))
                await ws.send(_frame("StasisEnd", app, channel=channel))

    await asyncio.gather(*(one(n) for n in range(count)))


def _stream(url: str, count: int) -> None:
    from websockets.frames import Frame, Opcode
    from websockets.sync.client import connect

    frames = [Frame(Opcode.TEXT, _DUMPS(e).encode()).serialize(mask=True, extensions=[])
              for e in events(count, 1000)]  # fmt: skip
    blob = b"".join(frames)
    with connect(url, subprotocols=["ari"], compression=None) as ws:  # type: ignore[list-item]
        ws.send(_frame("ApplicationRegistered", APP))
        ws.socket.sendall(blob)  # the prebuilt frames at once, as the feeder does inbound
        ws.recv_events_thread.join()  # until the application closes


def _answer(url: str) -> None:
    from websockets.sync.client import connect

    body = _DUMPS(_channel("c1", 7, "Up"))
    with connect(url, subprotocols=["ari"], compression=None) as ws:  # type: ignore[list-item]
        ws.send(_frame("ApplicationRegistered", APP))
        for message in ws:
            request = json.loads(message)
            ws.send(_DUMPS({"type": "RESTResponse", "transaction_id": request["transaction_id"],
                            "request_id": request["request_id"], "status_code": 200, "reason_phrase": "OK",
                            "uri": request["uri"], "content_type": "application/json", "message_body": body,
                            "application": APP, "timestamp": "2026-11-26T03:47:35.123+0000",
                            "asterisk_id": ASTERISK_ID}))  # fmt: skip


def _peer(argv: List[str]) -> int:
    kind, url = argv[0], argv[1]
    if kind == "calls":
        started = time.perf_counter()
        asyncio.run(_calls(url, int(argv[2]), int(argv[3])))
        print(f"DONE {time.perf_counter() - started:.6f}", flush=True)
    elif kind == "stream":
        _stream(url, int(argv[2]))
    elif kind == "answer":
        _answer(url)
    return 0


def _child(*args: str) -> subprocess.Popen:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.Popen([sys.executable, "-m", "bench.outbound", "peer", *args],
                            stdout=subprocess.PIPE, text=True, cwd=root)  # fmt: skip


def _finish(proc: subprocess.Popen, timeout: float = 120.0) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise
    return out


# -- this process: the application's side ---------------------------------------------------


def _spec_folder() -> str:
    from ari.testing.description import load, render_swagger

    folder = tempfile.mkdtemp(prefix="ari-bench-spec-")
    for name, document in render_swagger(load(), "http://127.0.0.1:8088/ari").items():
        with open(os.path.join(folder, name), "w") as handle:
            json.dump(document, handle)
    return folder


def library_calls(spec: str, count: int, concurrency: int) -> Tuple[float, List[float]]:
    """Per-call connections accepted/s by ``ari.Server``, and each call's connect-to-StasisStart (s)."""
    import ari

    setups: List[float] = []
    lock = threading.Lock()
    with ari.serve("127.0.0.1", 0, spec=spec) as server:

        def attach(call: Any) -> None:
            def start(event: Any, channel: Any) -> None:
                with lock:
                    setups.append(time.time() - event.get("began"))

            call.on("StasisStart", start)

        server.on_call(attach)
        started = time.perf_counter()
        out = _finish(_child("calls", server.ws_url, str(count), str(concurrency)))
        if not wait(lambda: len(setups) == count and not server.calls, 60):
            raise TimeoutError(f"{len(setups)} of {count} calls reached their handler")
        elapsed = max(time.perf_counter() - started, float(out.split()[1]))
    return count / elapsed, setups


def raw_calls(count: int, concurrency: int) -> Tuple[float, List[float]]:
    """The same connections on a bare ``websockets`` sync server that only reads the frames."""
    from websockets.sync.server import serve

    setups: List[float] = []
    lock = threading.Lock()

    def handler(ws: Any) -> None:
        for message in ws:
            data = json.loads(message)
            if data["type"] == "StasisStart":
                with lock:
                    setups.append(time.time() - data["began"])

    server = serve(handler, "127.0.0.1", 0, subprotocols=["ari"], compression=None)  # type: ignore[list-item]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        started = time.perf_counter()
        out = _finish(_child("calls", url, str(count), str(concurrency)))
        if not wait(lambda: len(setups) == count, 60):
            raise TimeoutError("the bare server did not see every call")
        elapsed = max(time.perf_counter() - started, float(out.split()[1]))
    finally:
        server.shutdown()
        thread.join(5)
    return count / elapsed, setups


def aiohttp_calls(count: int, concurrency: int) -> float:
    """The same connections on a bare aiohttp server (the alternative to the ``websockets`` one)."""
    from aiohttp import web

    seen: List[int] = []
    ready = threading.Event()
    port: List[int] = []
    stop: List[Any] = []

    async def handler(request: Any) -> Any:
        ws = web.WebSocketResponse(protocols=("ari",))
        await ws.prepare(request)
        async for message in ws:
            if json.loads(message.data)["type"] == "StasisStart":
                seen.append(1)
        return ws

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port.append(runner.addresses[0][1])
        done = asyncio.Event()
        stop.append((asyncio.get_running_loop(), done))
        ready.set()
        await done.wait()
        await runner.cleanup()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        started = time.perf_counter()
        out = _finish(_child("calls", f"ws://127.0.0.1:{port[0]}", str(count), str(concurrency)))
        if not wait(lambda: len(seen) == count, 60):
            raise TimeoutError("the aiohttp server did not see every call")
        return count / max(time.perf_counter() - started, float(out.split()[1]))
    finally:
        loop, done = stop[0]
        loop.call_soon_threadsafe(done.set)
        thread.join(5)


def outbound_event_rate(spec: str, count: int) -> float:
    """Events/s through ``server.on`` handlers (with promotion) from one outbound connection."""
    import ari

    done = threading.Event()
    seen = [0]

    def handler(event: Any, instance: Any) -> None:
        instance.id  # noqa: B018 - touch the promoted instance, as an application would
        seen[0] += 1
        if seen[0] == count:
            done.set()

    with ari.serve("127.0.0.1", 0, spec=spec) as server:
        for event_type in EVENT_TYPES:
            server.on(event_type, handler)
        started: List[float] = []
        server.on("ApplicationRegistered", lambda event: started.append(time.perf_counter()))
        proc = _child("stream", server.ws_url, str(count))
        try:
            if not done.wait(120):
                raise TimeoutError(f"{seen[0]} of {count} events reached the handlers")
            return count / (time.perf_counter() - started[0])
        finally:
            server.stop()
            _finish(proc, 10)


def outbound_rest_rate(spec: str, count: int) -> float:
    """``channels.get`` calls/s over an outbound connection whose far side answers at once."""
    import ari

    with ari.serve("127.0.0.1", 0, spec=spec) as server:
        proc = _child("answer", server.ws_url)
        try:
            if not wait(lambda: bool(server.clients) and next(iter(server.clients.values())).connected, 30):
                raise TimeoutError("the answering peer did not connect")
            client = next(iter(server.clients.values()))
            get = client.channels.get  # type: ignore[attr-defined]
            for _ in range(200):
                get(channelId="c1")
            started = time.perf_counter()
            for _ in range(count):
                get(channelId="c1")
            return count / (time.perf_counter() - started)
        finally:
            server.stop()
            _finish(proc, 10)


def inbound_rest_rate(count: int) -> float:
    import ari

    with Server("answerer") as answerer:
        client = ari.connect(answerer.url, USER, PASSWORD, transport="websocket")
        try:
            client.start("bench-rest")
            get = client.channels.get  # type: ignore[attr-defined]
            for _ in range(200):
                get(channelId="c1")
            started = time.perf_counter()
            for _ in range(count):
                get(channelId="c1")
            return count / (time.perf_counter() - started)
        finally:
            client.close()


def _median(values: List[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _p95(values: List[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def rows(quick: bool = False) -> List[Row]:
    calls, concurrency = (300, 20) if quick else (1000, 20)
    count = 50_000 if quick else 150_000
    rest = 3000 if quick else 10_000
    spec = _spec_folder()
    lib_rate, lib_setups = library_calls(spec, calls, concurrency)
    raw_rate, raw_setups = raw_calls(calls, concurrency)
    alternative = aiohttp_calls(calls, concurrency)
    _, alone = library_calls(spec, 50, 1)
    cpu = time.process_time()
    out_events = outbound_event_rate(spec, count)
    out_cpu = (time.process_time() - cpu) / count * 1e6
    with Server("feeder", "--events", str(count), "--channels", "1000") as feeder:
        cpu = time.process_time()
        in_events = library_rate(feeder.url, count)
        in_cpu = (time.process_time() - cpu) / count * 1e6
    out_rest = outbound_rest_rate(spec, rest)
    in_rest = inbound_rest_rate(rest)
    note = f"{calls} per-call connections, {concurrency} at a time"
    ms = 1000.0
    return [
        Row("outbound: connections accepted/s (a client each)", lib_rate, "conn/s", raw_rate,
            "bare websockets server", note=note),
        Row("outbound: bare server accept rate, websockets (used)", raw_rate, "conn/s", alternative,
            "bare aiohttp server", note="the library choice: same connections"),
        Row("outbound: per-call set-up, one call at a time", _median(alone) * ms, "ms", 500.0,
            "Asterisk's own wait before StasisStart", note="median of 50"),
        Row("outbound: per-call set-up, median", _median(lib_setups) * ms, "ms", _median(raw_setups) * ms,
            "bare websockets server", note="connect -> StasisStart at the handler"),
        Row("outbound: per-call set-up, p95", _p95(lib_setups) * ms, "ms", _p95(raw_setups) * ms,
            "bare websockets server"),
        Row("outbound: events/s, server.on + promotion", out_events, "ev/s", in_events,
            "inbound socket, same library", note=f"{count:,} events"),
        Row("outbound: CPU per event, this process", out_cpu, "us", in_cpu, "inbound socket, same library",
            note="steadier than rates on a loaded machine"),
        Row("outbound: REST calls/s over the socket", out_rest, "calls/s", in_rest,
            "inbound socket (RESTRequest)", note="channels.get, one at a time"),
    ]  # fmt: skip


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "peer":
        return _peer(argv[1:])
    from .table import Table

    table = Table()
    for row in rows(quick="--quick" in argv):
        table.add(row)
    print(table.render())
    return 0


__all__ = ["rows"]

if __name__ == "__main__":
    sys.exit(main())
