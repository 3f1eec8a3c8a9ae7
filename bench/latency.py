"""Latency from an event's arrival to its handler's start, p50 and p99, serial and concurrent.

A Simulator process runs 1,000 incoming calls started over a short ramp (all of them up at
once: each plays a 1.2 s prompt); this process answers them with blocking handlers:
StasisStart -> answer + play, PlaybackFinished -> hangup.  The library has no arrival
timestamp, so the bench wraps the stream's ``Link.recv`` (the frame hand-off) to note
``perf_counter()`` when each frame is read, and carries it in the parsed frame to the
handler.  The ceiling is the time the bench's own stamping and lookup take (near zero):
this figure is judged on its absolute value.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Tuple

from .servers import APP, PASSWORD, USER, Server
from .table import Row

_STAMP = "_bench_arrived"


def _install_arrival_stamps() -> None:
    """Wrap ``Link.recv`` and the dispatcher's submitter so each frame carries its arrival time."""
    from ari import dispatch, stream

    if getattr(stream.Link, "_bench_patched", False):
        return
    original_init = stream.Link.__init__
    arrived = [0.0]

    def init(self: Any, ws: Any) -> None:
        original_init(self, ws)
        inner = self.recv

        def recv() -> Any:
            frame = inner()
            arrived[0] = time.perf_counter()
            return frame

        self.recv = recv

    original_submitter = dispatch.Dispatcher.submitter

    def submitter(self: Any) -> Any:
        inner = original_submitter(self)

        def submit(data: Dict[str, Any]) -> None:
            data[_STAMP] = arrived[0]  # the reader thread: the frame just read
            inner(data)

        return submit

    stream.Link.__init__ = init  # type: ignore[method-assign]
    dispatch.Dispatcher.submitter = submitter  # type: ignore[method-assign]
    stream.Link._bench_patched = True  # type: ignore[attr-defined]


def _percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_calls(server: Server, calls: int, ramp: float, dispatch: str) -> Tuple[List[float], float]:
    """Latencies (s) of every handled event, and the wall time for all calls to end."""
    import ari

    _install_arrival_stamps()
    client = ari.connect(server.url, USER, PASSWORD, dispatch=dispatch, dispatch_workers=8)
    latencies: List[float] = []
    ended = [0]
    done = threading.Event()
    lock = threading.Lock()

    def note(event: Any) -> None:
        delay = time.perf_counter() - event[_STAMP]
        with lock:
            latencies.append(delay)

    def on_start(event: Any, channel: Any) -> None:
        note(event)
        channel.answer()
        channel.play(media="sound:hello-world")

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
    ramp = 1.0
    out: List[Row] = []
    with Server("sim", "--speed", "1") as server:
        for mode in ("serial", "concurrent"):
            latencies, wall = run_calls(server, calls, ramp, mode)
            note = f"{calls} calls over {ramp:g}s, {len(latencies)} events, {wall:.1f}s"
            p50, p99 = _percentile(latencies, 0.5) * 1e3, _percentile(latencies, 0.99) * 1e3
            target = 5.0 if mode == "concurrent" else None
            out.append(Row(f"latency p50, {mode}", p50, "ms", note=note))
            out.append(Row(f"latency p99, {mode}", p99, "ms", target=target, checked="value", at_least=False))
    return out
