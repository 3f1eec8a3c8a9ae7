"""Latency from an event's arrival to its handler's start, p50 and p99, serial and concurrent.

A Simulator process runs 1,000 incoming calls arriving over 4 s (250 a second) that each
play a 5.4 s prompt, so all 1,000 are up at once; this process answers them with blocking handlers:
StasisStart -> answer + play, PlaybackFinished -> hangup.  Arrival is ``event.received_at``,
stamped by the library when the frame's bytes came off the socket; each handler notes
``time.monotonic()`` minus it when it starts.  Judged on the absolute value: no ceiling.
"""

from __future__ import annotations

import threading
import time
from typing import Any, List, Tuple

from .servers import APP, PASSWORD, USER, Server
from .table import Row

#: 5.4 s in the simulator's catalogue: longer than the ramp, so every call is up at once
PROMPT = "sound:demo-echotest"


def _percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_calls(server: Server, calls: int, ramp: float, dispatch: str, workers: int = 16) -> Tuple[List[float], float]:
    """Latencies (s) of every handled event, and the wall time for all calls to end."""
    import ari

    client = ari.connect(server.url, USER, PASSWORD, dispatch=dispatch, dispatch_workers=workers)
    latencies: List[float] = []
    ended = [0]
    done = threading.Event()
    lock = threading.Lock()

    def note(event: Any) -> None:
        delay = time.monotonic() - event.received_at
        with lock:
            latencies.append(delay)

    def on_start(event: Any, channel: Any) -> None:
        note(event)
        channel.answer()
        channel.play(media=PROMPT)

    def on_finished(event: Any, playback: Any) -> None:
        note(event)
        client.channels.hangup(channelId=playback.target_uri.split(":", 1)[1])

    def on_end(event: Any, channel: Any) -> None:
        note(event)
        with lock:
            ended[0] += 1
            if ended[0] == calls:
                done.set()

    client.on("StasisStart", on_start)
    client.on("PlaybackFinished", on_finished)
    client.on("StasisEnd", on_end)
    for other in ("ChannelStateChange", "PlaybackStarted", "ChannelHangupRequest", "ChannelDestroyed"):
        client.on(other, lambda event, *rest: note(event))
    try:
        client.start(APP)
        start = time.perf_counter()
        server.command(f"calls {calls} {ramp}")
        if not done.wait(120):
            raise TimeoutError(f"only {ended[0]} of {calls} calls ended")
        wall = time.perf_counter() - start
        server.command("idle 30")
        return latencies, wall
    finally:
        client.close()


def rows(quick: bool = False) -> List[Row]:
    calls = 300 if quick else 1000
    ramp = 4.0  # 250 calls a second: a busy Asterisk; each prompt outlasts the ramp
    out: List[Row] = []
    with Server("sim", "--speed", "1") as server:
        runs = [("serial", ramp), ("concurrent", ramp)] + ([] if quick else [("concurrent", 1.0)])
        for mode, over in runs:
            latencies, wall = run_calls(server, calls, over, mode)
            note = f"{calls} calls over {over:g}s, {len(latencies)} events, {wall:.1f}s"
            p50, p99 = _percentile(latencies, 0.5) * 1e3, _percentile(latencies, 0.99) * 1e3
            if over != ramp:
                # A burst beyond the client's REST capacity (3 blocking calls per call): shown, not judged.
                out.append(Row(f"latency p50, {mode}, burst", p50, "ms", note=note + ", not judged"))
                out.append(Row(f"latency p99, {mode}, burst", p99, "ms"))
                continue
            target = 5.0 if mode == "concurrent" else None
            out.append(Row(f"latency p50, {mode}", p50, "ms", note=note))
            out.append(Row(f"latency p99, {mode}", p99, "ms", target=target, checked="value", at_least=False))
    return out
