"""The servers the benchmarks measure against, each run in its own process.

Its one job is the far side of every figure: ``feeder`` (a WebSocket server that writes a
prebuilt stream of Asterisk-22-shaped events as fast as the socket allows, and serves the
carried description under ``/ari/api-docs``), ``answerer`` (``GET /channels/{id}`` answered at
once with an Asterisk-22-shaped Channel, over HTTP and as ``RESTRequest`` on the events
WebSocket, as Asterisk's C code answers: the server's own time stays out of the client's
figures), ``mock`` (the project's ``MockServer``) and
``sim`` (the project's ``Simulator``, with a line-based control on stdin to start calls).
Each prints ``READY <url>`` once listening.  ``Server`` starts one in a child process so the
measured client never shares a GIL with it.  It measures nothing itself.

    python -m bench.servers feeder --events 150000 --channels 1000
    python -m bench.servers answerer
    python -m bench.servers mock
    python -m bench.servers sim --speed 1
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import threading
from typing import Any, Dict, Iterator, List, Optional
from urllib.parse import parse_qsl

USER = PASSWORD = "asterisk"
AUTHORIZATION = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
APP = "bench"
ASTERISK_ID = "f9:d3:89:ea:64:ad"

#: the seven event types of the events figure, in the order a call sends them
EVENT_TYPES = (
    "StasisStart",
    "ChannelStateChange",
    "ChannelVarset",
    "PlaybackStarted",
    "ChannelDtmfReceived",
    "PlaybackFinished",
    "StasisEnd",
)
_MIDDLE = ("ChannelVarset", "PlaybackStarted", "ChannelDtmfReceived", "PlaybackFinished")


# -- the event stream ---------------------------------------------------------------------


def _timestamp(ms: int) -> str:
    secs, ms = divmod(ms, 1000)
    mins, secs = divmod(secs, 60)
    hours, mins = divmod(mins, 60)
    return f"2026-11-26T{3 + hours % 20:02d}:{mins:02d}:{secs:02d}.{ms:03d}+0000"


def _channel(cid: str, index: int, state: str) -> Dict[str, Any]:
    # As the project's simulator (and Asterisk 22) sends a Channel.
    return {
        "id": cid,
        "name": f"PJSIP/{1000 + index % 9000}-{index:08x}",
        "state": state,
        "protocol_id": f"{index:x}-bench@127.0.0.1",
        "caller": {"name": "", "number": str(1000 + index)},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {"context": "default", "exten": "s", "priority": 1, "app_name": "Stasis", "app_data": APP},
        "creationtime": "2026-11-26T03:47:35.123+0000",
        "language": "en",
    }


def _playback(pid: str, cid: str, state: str) -> Dict[str, Any]:
    return {
        "id": pid,
        "media_uri": "sound:hello-world",
        "target_uri": f"channel:{cid}",
        "language": "en",
        "state": state,
    }


def events(count: int, channels: int, prefix: str = "1795668043", destroy: bool = False) -> Iterator[Dict[str, Any]]:
    """``count`` events over ``channels`` calls, interleaved as calls overlap on a busy Asterisk.

    Each call: StasisStart, ChannelStateChange, then varsets, playbacks and DTMF, then
    StasisEnd (and ChannelDestroyed with ``destroy``, which releases instance listeners).
    """
    per_call = max(3 + (1 if destroy else 0), count // channels)
    middle = per_call - 3 - (1 if destroy else 0)
    ids = [f"{prefix}.{i}" for i in range(channels)]
    ms = 0
    for step in range(per_call):
        for i, cid in enumerate(ids):
            ms += 1
            base = {"timestamp": _timestamp(ms), "asterisk_id": ASTERISK_ID, "application": APP}
            if step == 0:
                yield {"type": "StasisStart", **base, "args": [], "channel": _channel(cid, i, "Ring")}
            elif step == 1:
                yield {"type": "ChannelStateChange", **base, "channel": _channel(cid, i, "Up")}
            elif step - 2 < middle:
                kind = _MIDDLE[(step - 2) % 4]
                pid = f"{cid}-{(step - 2) // 4}-pb"
                if kind == "ChannelVarset":
                    yield {
                        "type": kind,
                        **base,
                        "variable": "BENCH_STEP",
                        "value": str(step),
                        "channel": _channel(cid, i, "Up"),
                    }
                elif kind == "PlaybackStarted":
                    yield {"type": kind, **base, "playback": _playback(pid, cid, "playing")}
                elif kind == "PlaybackFinished":
                    yield {"type": kind, **base, "playback": _playback(pid, cid, "done")}
                else:
                    yield {"type": kind, **base, "digit": "1", "duration_ms": 100, "channel": _channel(cid, i, "Up")}
            elif step - 2 == middle:
                yield {"type": "StasisEnd", **base, "channel": _channel(cid, i, "Up")}
            else:
                yield {
                    "type": "ChannelDestroyed",
                    **base,
                    "cause": 16,
                    "cause_txt": "Normal Clearing",
                    "channel": _channel(cid, i, "Up"),
                }


def stream_blob(count: int, channels: int, prefix: str = "1795668043", destroy: bool = False) -> bytes:
    """The events as unmasked WebSocket text frames, concatenated (framing by ``websockets``)."""
    from websockets.frames import Frame, Opcode

    dumps = json.JSONEncoder(separators=(",", ":")).encode
    frames = [
        Frame(Opcode.TEXT, dumps(e).encode()).serialize(mask=False, extensions=[])
        for e in events(count, channels, prefix, destroy)
    ]
    return b"".join(frames)


def _feeder(port: int, count: int, channels: int, fresh: bool, rate: float = 0.0) -> None:
    """Serve the description and, on each ``/ari/events`` connection, the whole stream at once
    (or, with ``rate``, one frame at a time, ``rate`` frames a second: a trickle, as a real
    Asterisk's events arrive at a call's pace)."""
    from websockets.asyncio.server import serve
    from websockets.datastructures import Headers
    from websockets.http11 import Response

    from ari.testing.description import load, render_swagger

    carried = load()
    blobs: Dict[int, bytes] = {}
    connections = [0]
    docs: Dict[str, bytes] = {}

    def respond(status: int, body: bytes) -> Response:
        return Response(
            status,
            "OK" if status == 200 else "Error",
            Headers(
                [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")]
            ),
            body,
        )  # websockets serves one request per connection

    def process_request(connection: Any, request: Any) -> Optional[Response]:
        # Basic auth or ?api_key=user:pass, as Asterisk takes them (aioari sends the latter).
        query = dict(parse_qsl(request.path.partition("?")[2]))
        if request.headers.get("Authorization") != AUTHORIZATION and query.get("api_key") != f"{USER}:{PASSWORD}":
            return respond(401, b'{"message":"Authentication required"}')
        path = request.path.split("?", 1)[0]
        if path.startswith("/ari/api-docs/"):
            doc = docs.get(path[len("/ari/api-docs/") :])
            return respond(200, doc) if doc is not None else respond(404, b'{"message":"Resource not found"}')
        if path != "/ari/events":
            return respond(404, b'{"message":"Resource not found"}')
        return None

    def blob_for(n: int) -> bytes:
        key = n if fresh else 0
        if key not in blobs:
            blobs.clear()
            blobs[key] = stream_blob(count, channels, prefix=f"r{key}x{os.getpid()}", destroy=fresh)
        return blobs[key]

    async def handler(ws: Any) -> None:
        n = connections[0]
        connections[0] += 1
        if rate > 0:
            await _trickle(ws, count, channels, rate)
            await ws.wait_closed()
            return
        # The prebuilt frames straight onto the transport: no per-frame work on this side.
        ws.transport.write(blob_for(n))
        if fresh:
            blob_for(n + 1)  # make the next round's stream while the client reads this one
        await ws.wait_closed()

    async def main() -> None:
        async with serve(
            handler,
            "127.0.0.1",
            port,
            process_request=process_request,
            compression=None,
            max_size=None,
            ping_interval=None,
        ) as server:
            bound = server.sockets[0].getsockname()[1]
            url = f"http://127.0.0.1:{bound}"
            docs.update({name: json.dumps(doc).encode() for name, doc in render_swagger(carried, url + "/ari").items()})
            blob_for(0)
            print(f"READY {url}", flush=True)
            await asyncio.Future()

    asyncio.run(main())


async def _trickle(ws: Any, count: int, channels: int, rate: float) -> None:
    import time

    from websockets.frames import Frame, Opcode

    dumps = json.JSONEncoder(separators=(",", ":")).encode
    frames = [
        Frame(Opcode.TEXT, dumps(e).encode()).serialize(mask=False, extensions=[]) for e in events(count, channels)
    ]
    start = time.monotonic()
    for i, frame in enumerate(frames):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        ws.transport.write(frame)


def _mock(port: int) -> None:
    from ari.testing.mock import MockServer

    server = MockServer(port=port, username=USER, password=PASSWORD).start()
    print(f"READY {server.url}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


def _answerer(port: int) -> None:
    """``GET /ari/channels/{id}`` over HTTP and over the events socket, nothing else."""
    from aiohttp import WSMsgType, web

    from ari.testing.description import load, render_swagger

    docs: Dict[str, bytes] = {}
    headers = {"Content-Type": "application/json"}
    not_found = json.dumps({"message": "Resource not found"})

    def channel(cid: str) -> str:
        return json.dumps(_channel(cid, 7, "Up"), separators=(",", ":"))

    def authorised(request: Any) -> bool:
        return (
            request.headers.get("Authorization") == AUTHORIZATION
            or request.query.get("api_key") == f"{USER}:{PASSWORD}"
        )

    async def http(request: Any) -> Any:
        if not authorised(request):
            return web.Response(status=401, text='{"message":"Authentication required"}', headers=headers)
        path = request.path
        if path.startswith("/ari/api-docs/") and path[14:] in docs:
            return web.Response(body=docs[path[14:]], headers=headers)
        if path.startswith("/ari/channels/") and "/" not in path[14:]:
            return web.Response(text=channel(request.match_info["tail"][9:]), headers=headers)
        return web.Response(status=404, text=not_found, headers=headers)

    async def events(request: Any) -> Any:
        if not authorised(request):
            return web.Response(status=401, text='{"message":"Authentication required"}', headers=headers)
        ws = web.WebSocketResponse(protocols=("ari",))
        await ws.prepare(request)
        app = request.query.get("app", "").split(",")[0]
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            asked = json.loads(message.data)
            uri = asked.get("uri", "")
            found = uri.startswith("channels/") and "/" not in uri[9:]
            answer = {
                "type": "RESTResponse",
                "transaction_id": asked.get("transaction_id", ""),
                "request_id": asked.get("request_id", ""),
                "status_code": 200 if found else 404,
                "reason_phrase": "OK" if found else "Not Found",
                "uri": uri,
                "content_type": "application/json",
                "message_body": channel(uri[9:]) if found else not_found,
                "application": app,
                "timestamp": _timestamp(0),
                "asterisk_id": ASTERISK_ID,
            }
            await ws.send_str(json.dumps(answer, separators=(",", ":")))
        return ws

    async def main() -> None:
        application = web.Application()
        application.router.add_get("/ari/events", events)
        application.router.add_route("*", "/ari/{tail:.*}", http)
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        docs.update({name: json.dumps(doc).encode() for name, doc in render_swagger(load(), url + "/ari").items()})
        print(f"READY {url}", flush=True)
        await asyncio.Future()

    asyncio.run(main())


def _sim(port: int, speed: float) -> None:
    """The Simulator; ``calls N RAMP`` on stdin starts N incoming calls spread over RAMP seconds."""
    from ari.testing.simulator import Simulator

    sim = Simulator(port=port, username=USER, password=PASSWORD, speed=speed).start()
    server, state = sim.server, sim.state
    print(f"READY {sim.url}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "calls":
            total, ramp = int(words[1]), float(words[2])
            server.wait_for_app(APP, 10.0)
            loop = server._loop  # noqa: SLF001 - the bench schedules calls on the sim's own loop
            assert loop is not None

            def start(n: int = total, ramp: float = ramp, loop: Any = loop) -> None:
                for i in range(n):
                    loop.call_later(ramp * i / n, state.call, APP, str(1000 + i), (), "PJSIP/1000", False)

            server.call_in_loop(start)
            print("OK", flush=True)
        elif words[0] == "idle":
            sim.wait_idle(float(words[1]) if len(words) > 1 else 30.0)
            print("OK", flush=True)
    sim.stop()


class Server:
    """One bench server in a child process: ``with Server('mock') as url: ...``."""

    def __init__(self, kind: str, *args: str) -> None:
        self.argv = [sys.executable, "-m", "bench.servers", kind, *args]
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""

    def __enter__(self) -> Server:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.proc.kill()
            raise RuntimeError(f"{' '.join(self.argv)} did not start: {line!r}")
        self.url = line.split()[1]
        return self

    def command(self, line: str, timeout: float = 60.0) -> str:
        """Send one control line (``sim`` only) and wait for its answer."""
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer: List[str] = []
        reader = threading.Thread(target=lambda: answer.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not answer:
            raise TimeoutError(f"no answer to {line!r} within {timeout}s")
        return answer[0].strip()

    def __exit__(self, *exc: Any) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.servers")
    parser.add_argument("kind", choices=("feeder", "answerer", "mock", "sim"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--fresh", action="store_true", help="feeder: fresh channel ids on every connection")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=0.0, help="feeder: frames a second, one at a time")
    args = parser.parse_args(argv)
    if args.kind in ("feeder", "answerer"):
        # The parent closing our stdin ends us (the asyncio loop itself never returns).
        threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
        if args.kind == "feeder":
            _feeder(args.port, args.events, args.channels, args.fresh, args.rate)
        else:
            _answerer(args.port)
    elif args.kind == "mock":
        _mock(args.port)
    else:
        _sim(args.port, args.speed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
