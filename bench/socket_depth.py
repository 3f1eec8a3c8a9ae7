"""Where HTTP's pool overtakes the event socket on a real Asterisk: the figure behind ``auto``'s socket depth.

``python -m bench.socket_depth --url http://127.0.0.1:8088 [--threads 1,2,4,8,16,32] [--seconds 1.5]``

Holds 20 ``Local/wait@default`` channels in an application, then from T threads calls
``channels.answer`` on them (a channel operation: Asterisk runs it on the channel's own
thread) for a few seconds each way, with raw clients so the library's cost stays out:
one event socket (websocket-client, ``RESTRequest`` frames, one reader thread), four event
sockets (one application each, since a second socket for an application replaces the
first), and one keep-alive ``http.client`` connection per thread.  Prints op/s and p50/p99
latency per transport and thread count, then hangs the channels up.  It needs a real
Asterisk (``../shared/asterisk/``); never part of ``python -m bench``.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import itertools
import json
import threading
import time
from typing import Dict, List, Optional
from urllib.parse import urlsplit

import requests
import websocket

HELD = 20
APP = "bench-depth"


class _Socket:
    """One event socket carrying RESTRequests; its reader thread hands each answer to its caller."""

    def __init__(self, url: str, authorization: str, app: str) -> None:
        self.ws = websocket.create_connection(
            f"ws{url[4:]}/ari/events?app={app}",
            header=[f"Authorization: {authorization}"],
            skip_utf8_validation=True,
            enable_multithread=True,
        )
        self.app = app
        self.started: set = set()
        self._waiters: Dict[str, List[object]] = {}
        self._ids = itertools.count()
        threading.Thread(target=self._read, name="bench-depth-reader", daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                data = json.loads(self.ws.recv())
                if data.get("type") == "RESTResponse":
                    waiter = self._waiters.pop(data["request_id"])
                    waiter[1] = data
                    waiter[0].release()  # type: ignore[attr-defined]
                elif data.get("type") == "StasisStart":
                    self.started.add(data["channel"]["id"])
        except Exception:  # closed at the end
            return

    def call(self, method: str, uri: str) -> int:
        request_id = f"{self.app}-{next(self._ids)}"
        gate = threading.Lock()
        gate.acquire()
        waiter: List[object] = [gate, None]
        self._waiters[request_id] = waiter
        self.ws.send(json.dumps({"type": "RESTRequest", "request_id": request_id, "method": method, "uri": uri}))
        if not gate.acquire(timeout=10):
            raise TimeoutError(f"no answer to {method} {uri}")
        return int(waiter[1]["status_code"])  # type: ignore[index]

    def close(self) -> None:
        self.ws.close()


def _percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _phase(
    kind: str, threads: int, seconds: float, ids: List[str], sockets: List[_Socket], url: str, authorization: str
) -> str:
    stop = time.monotonic() + seconds
    latencies: List[float] = []
    parts = urlsplit(url)

    def work(k: int) -> None:
        conn: Optional[http.client.HTTPConnection] = None
        if kind == "http":
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 8088, timeout=10)
        i = k
        while time.monotonic() < stop:
            cid = ids[i % len(ids)]
            i += threads
            start = time.perf_counter()
            if conn is not None:
                conn.request("POST", f"/ari/channels/{cid}/answer", headers={"Authorization": authorization})
                response = conn.getresponse()
                response.read()
                status = response.status
            else:
                sock = sockets[0] if kind == "1 socket" else sockets[k % len(sockets)]
                status = sock.call("POST", f"channels/{cid}/answer")
            if status >= 300:
                raise RuntimeError(f"answer {cid}: {status}")
            latencies.append((time.perf_counter() - start) * 1e3)
        if conn is not None:
            conn.close()

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    return (
        f"{kind:9} x{threads:<3} {len(latencies) / elapsed:7,.0f} op/s  p50 {_percentile(latencies, 0.5):6.2f} ms"
        f"  p99 {_percentile(latencies, 0.99):6.2f} ms"
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.socket_depth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--threads", default="1,2,4,8,16,32")
    parser.add_argument("--seconds", type=float, default=1.5)
    args = parser.parse_args(argv)
    url = args.url.rstrip("/").removesuffix("/ari")
    auth = (args.user, args.password)
    authorization = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
    sockets = [_Socket(url, authorization, f"{APP}-{n}") for n in range(4)]
    ids = [f"{APP}-{n}" for n in range(HELD)]
    try:
        for cid in ids:
            params = {"endpoint": "Local/wait@default", "app": sockets[0].app, "channelId": cid}
            requests.post(f"{url}/ari/channels", params=params, auth=auth, timeout=10).raise_for_status()
        deadline = time.monotonic() + 10
        while len(sockets[0].started) < HELD and time.monotonic() < deadline:
            time.sleep(0.05)
        for threads in (int(t) for t in args.threads.split(",")):
            for kind in ("1 socket", "4 sockets", "http"):
                print(_phase(kind, threads, args.seconds, ids, sockets, url, authorization), flush=True)
    finally:
        for cid in ids:
            requests.delete(f"{url}/ari/channels/{cid}", auth=auth, timeout=10)
        for sock in sockets:
            sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
