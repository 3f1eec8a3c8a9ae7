"""REST over the event socket against its one-thread ceiling, round by round.

    python -m bench.rest_rounds [--calls 2000] [--rounds 9]

``channels.get`` one call after another through ``ari`` (``transport="websocket"``) and
through plain websocket-client sending the same ``RESTRequest`` frame and reading until its
answer, in alternating rounds against the ``answerer`` server: each round's wall time and CPU a
call (the process's, and the calling thread's), the ratio per round, and which thread read
each answer (the caller itself under leader/follower, or the ``ari-events`` reader).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from typing import Any, Callable, Dict, List, Tuple

from .rest import socket_ceiling_get
from .servers import AUTHORIZATION, PASSWORD, USER, Server


def _reads_by_thread() -> Counter:
    """Count the socket reads that returned messages, by reading thread."""
    from ari import stream

    reads: Counter = Counter()
    read_some = stream.Link.read_some

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        messages = read_some(self, *args, **kwargs)
        if messages:
            reads["reader" if threading.current_thread().name == "ari-events" else "caller"] += 1
        return messages

    stream.Link.read_some = counted  # type: ignore[method-assign]
    return reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    import websocket

    import ari

    reads = _reads_by_thread()
    with Server("answerer") as server:
        client = ari.connect(server.url, USER, PASSWORD, transport="websocket")
        client.start("bench-rounds")
        ws = websocket.create_connection(
            server.url.replace("http", "ws", 1) + "/ari/events?app=bench-rounds-raw",
            header=[f"Authorization: {AUTHORIZATION}"],
            timeout=10,
            skip_utf8_validation=True,
        )

        def library(i: int) -> object:
            return client.channels.get(channelId=f"c{i}").id

        def plain(i: int) -> object:
            return socket_ceiling_get(ws, i)

        cases: Dict[str, Callable[[int], object]] = {"ari": library, "websocket-client": plain}
        for op in cases.values():
            for i in range(300):
                op(i)
        reads.clear()
        results: Dict[str, List[Tuple[float, float, float]]] = {name: [] for name in cases}
        try:
            for _ in range(args.rounds):
                for name, op in cases.items():
                    wall, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
                    for i in range(args.calls):
                        op(i)
                    n = args.calls
                    results[name].append(
                        (
                            (time.perf_counter() - wall) / n * 1e6,
                            (time.process_time() - cpu) / n * 1e6,
                            (time.thread_time() - own) / n * 1e6,
                        )
                    )
        finally:
            client.close()
            ws.close()
    for name, rows in results.items():
        print(f"{name:18} wall us {sorted(round(r[0]) for r in rows)}")
        own = sorted(round(r[2]) for r in rows)
        print(f"{'':18} CPU us {sorted(round(r[1]) for r in rows)} (calling thread {own})")
    ratios = sorted(p[0] / a[0] for a, p in zip(results["ari"], results["websocket-client"]))
    median = ratios[len(ratios) // 2]
    print("ratio to the ceiling per round:", ", ".join(f"{r:.2f}" for r in ratios), f"(median {median:.2f})")
    print("answers and events read by:", dict(reads))


if __name__ == "__main__":
    main()
