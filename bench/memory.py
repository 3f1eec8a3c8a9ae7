"""Memory: peak RSS of a process running the events figure, and RSS across ten rounds of fresh ids.

Each measurement is a fresh child process (``python -m bench.memory child ...``) so RSS is
its own.  Peak: the library reading the events figure's stream, beside the same process
reading it with plain websocket-client + ``json.loads`` (the ceiling).  Rounds: a feeder
that sends events about new channel ids on every connection; each StasisStart handler
attaches instance listeners, each ChannelDestroyed releases them; RSS after each round must
stay flat (within 5 % of round 3).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any, List

from . import peak_rss_mb, rss_mb
from .servers import APP, PASSWORD, USER, Server
from .table import Row

ROUNDS = 10


def _child_peak(url: str, count: int, kind: str) -> None:
    from . import events

    if kind == "library":
        events.library_rate(url, count)
    else:
        events.websocket_client_rate(url, count)
    print(json.dumps({"peak": peak_rss_mb()}))


def _child_rounds(url: str, per_round: int) -> None:
    import ari

    client = ari.connect(url, USER, PASSWORD)
    counted = [0]
    done = threading.Event()

    def on_start(event: Any, channel: Any) -> None:
        channel.on("ChannelDtmfReceived", lambda e, c: c.id)
        channel.on("StasisEnd", lambda e, c: c.id)

    def count(event: Any, *rest: Any) -> None:
        counted[0] += 1
        if counted[0] == per_round:
            done.set()

    client.on("StasisStart", on_start)
    for event_type in (
        "StasisStart",
        "ChannelStateChange",
        "ChannelVarset",
        "PlaybackStarted",
        "ChannelDtmfReceived",
        "PlaybackFinished",
        "StasisEnd",
        "ChannelDestroyed",
    ):
        client.on(event_type, count)
    sizes, keyed = [], []
    for _ in range(ROUNDS):
        counted[0] = 0
        done.clear()
        client.start(APP)
        if not done.wait(60):
            raise TimeoutError("a round did not finish")
        client.stop()
        sizes.append(rss_mb())
        keyed.append(client.meta.events.keyed_count())
    client.close()
    print(json.dumps({"rss": sizes, "keyed": keyed, "peak": peak_rss_mb()}))


def _child(*args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", "child", *args], capture_output=True, text=True, timeout=300
    )
    if out.returncode:
        raise RuntimeError(f"memory child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def rows(quick: bool = False) -> List[Row]:
    count = 50_000 if quick else 150_000
    with Server("feeder", "--events", str(count), "--channels", "1000") as server:
        lib = _child("peak", server.url, str(count), "library")["peak"]
        plain = _child("peak", server.url, str(count), "websocket-client")["peak"]
    per_round = 10_000 if quick else 20_000
    with Server("feeder", "--events", str(per_round), "--channels", "1000", "--fresh") as server:
        rounds = _child("rounds", server.url, str(per_round))
    rss = rounds["rss"]
    growth = rss[-1] / rss[2] - 1
    shown = " ".join(f"{v:.0f}" for v in rss)
    return [
        Row(
            "peak RSS, events run",
            lib,
            "MB",
            plain,
            "websocket-client + json.loads",
            target=60,
            checked="value",
            at_least=False,
            note=f"{count:,} events",
        ),
        Row(
            "RSS growth, round 10 vs round 3",
            growth * 100,
            "%",
            target=5,
            checked="value",
            at_least=False,
            note=f"{ROUNDS}x{per_round:,} fresh ids; MB: {shown}; keyed left: {rounds['keyed'][-1]}",
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        if sys.argv[2] == "peak":
            _child_peak(sys.argv[3], int(sys.argv[4]), sys.argv[5])
        else:
            _child_rounds(sys.argv[3], int(sys.argv[4]))
