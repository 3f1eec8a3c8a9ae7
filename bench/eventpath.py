"""The event path step by step, in CPU microseconds per event, beside the stdlib ceiling's steps.

Its one job is the breakdown behind the events figure (bench/events.py): on one fixed stream
(the feeder's frames, in memory: no socket, so a loaded machine's scheduling stays out) each
step of the library's path is timed on its own, on one thread, best of N by ``thread_time``:

- ``split``: ``Link.read`` over 64 KiB chunks (the ``websockets`` sans-I/O parser and the
  message assembly), against the ceiling's frame walk over the same chunks;
- ``classify``: the reader's answer/ApplicationReplaced test and the batch list;
- ``decode``: ``dispatch._decode`` per frame (with orjson when installed, as the dispatcher),
  against ``json.loads`` of the frame's bytes;
- ``promote``: ``Promoter.promote`` on the decoded events;
- ``deliver``: ``Dispatcher.deliver`` (promotion, the handler lists, the handler call);
- ``handoff``: the serial sink's ``submit`` and the dispatcher's queue and backlog
  accounting, per event, with both sides on one thread (no GIL hand-off);
- ``threaded``: the whole path from the feeder's socket to the handlers, two threads, CPU of
  the whole process per event (``process_time``, from ``client.start``: the description that
  ``ari.connect`` loads is not the path) against the stdlib ceiling on the same socket, with
  the context switches per 1,000 events of each and the reader's and the dispatcher's own
  CPU (thread clocks); the difference to the sum of the steps is what the threads cost (GIL
  hand-offs, wake-ups).

    python -m bench.eventpath [--events 50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

from .servers import EVENT_TYPES, PASSWORD, USER, Server, stream_blob

CHUNK = 65536


class _FakeSocket:
    """``recv`` from a prebuilt byte string in 64 KiB chunks, as a busy socket returns them."""

    def __init__(self, blob: bytes) -> None:
        self.chunks = [blob[i : i + CHUNK] for i in range(0, len(blob), CHUNK)]
        self.index = 0

    def recv(self, size: int) -> bytes:
        i = self.index
        self.index = i + 1
        return self.chunks[i] if i < len(self.chunks) else b""


class _FakeWS:
    def __init__(self, sock: _FakeSocket) -> None:
        self.sock = sock


def _best(run: Callable[[], Any], runs: int, clock: Callable[[], float] = time.thread_time) -> float:
    # In a stream each object dies young; the lists kept here would instead make the
    # collector walk them over and over: no collection while a step is timed.
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            start = clock()
            run()
            best = min(best, clock() - start)
        finally:
            gc.enable()
    return best


def split_lib(blob: bytes, count: int) -> Callable[[], List[bytes]]:
    from ari.stream import Link

    def run() -> List[bytes]:
        link = Link(_FakeWS(_FakeSocket(blob)))  # type: ignore[arg-type]
        out: List[bytes] = []
        read = link.read
        while len(out) < count:
            out.extend(p for _, p in read())
        return out

    return run


def split_ceiling(blob: bytes, count: int) -> Callable[[], List[bytes]]:
    """bench/events.py's socket_rate frame walk, on the same chunks, without json.loads."""

    def run() -> List[bytes]:
        sock = _FakeSocket(blob)
        out: List[bytes] = []
        data = bytearray()
        pos = frames = 0
        while frames < count:
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
                out.append(data[pos + header : pos + header + length])
                pos += header + length
                frames += 1
            if frames >= count:
                break
            del data[:pos]
            pos = 0
            data += sock.recv(CHUNK)
        return out

    return run


def handler(event: Any, instance: Any) -> None:
    instance.id  # noqa: B018 - as bench/events.py's handler


def steps(count: int, runs: int) -> Dict[str, Tuple[float, float]]:
    """Step -> (library us/event, ceiling us/event or 0)."""
    import ari
    from ari import dispatch as d
    from ari.events import Promoter

    blob = stream_blob(count, 1000)
    payloads = split_lib(blob, count)()
    assert len(payloads) == count
    out: Dict[str, Tuple[float, float]] = {}
    per = 1e6 / count
    out["split"] = (_best(split_lib(blob, count), runs) * per, _best(split_ceiling(blob, count), runs) * per)

    from ari.stream import _ACTED_ON, _ANSWER_NAME, _COMPACT, _REPLACED_NAME

    def classify() -> None:
        batch: List[bytes] = []
        for payload in payloads:
            if payload.startswith(_ACTED_ON) or (
                not payload.startswith(_COMPACT) and (_ANSWER_NAME in payload or _REPLACED_NAME in payload)
            ):
                continue
            batch.append(payload)

    out["classify"] = (_best(classify, runs) * per, 0.0)
    fast = d.fast_loads()  # as a running dispatcher decodes: orjson when installed

    def decode(payload: bytes) -> Any:
        return d._decode(payload, fast)

    loads = json.loads

    def decoding(decode: Callable[[bytes], Any]) -> Callable[[], None]:
        def run() -> None:
            for p in payloads:
                decode(p)  # each result dropped at once, as in a stream (memory reused, caches warm)

        return run

    out["decode"] = (_best(decoding(decode), runs) * per, _best(decoding(loads), runs) * per)

    with Server("feeder", "--events", "10", "--channels", "10") as server:
        client = ari.connect(server.url, USER, PASSWORD)
        try:
            for event_type in EVENT_TYPES:
                client.on(event_type, handler)
            promoter = Promoter(client.meta)
            dispatcher = d.Dispatcher(client.meta.events, promoter)

            def fresh() -> List[Dict[str, Any]]:
                return [decode(p) for p in payloads]  # type: ignore[misc]

            def timed(step: Callable[[Dict[str, Any]], Any]) -> float:
                best = float("inf")
                for _ in range(runs):
                    frames = fresh()
                    gc.collect()
                    gc.freeze()
                    start = time.thread_time()
                    for data in frames:
                        step(data)
                    best = min(best, time.thread_time() - start)
                    gc.unfreeze()
                return best * per

            out["route (concurrent)"] = (timed(promoter.route_key), 0.0)
            out["promote"] = (timed(promoter.promote), 0.0)
            out["deliver (promote+call)"] = (timed(dispatcher.deliver), 0.0)

            # The serial hand-off with both sides on this thread: submit, then the worker's loop.
            batches = [payloads[i : i + 80] for i in range(0, count, 80)]

            def handoff() -> None:
                run = d._Run(d.Backlog(10**9, 10**12))
                import queue

                run.inbox = queue.SimpleQueue()
                submit = dispatcher._submitter(run)
                get, backlog = run.inbox.get_nowait, run.backlog
                for batch in batches:
                    submit(batch, 0.0)
                    received_at, got, size = get()
                    for _payload in got:
                        pass
                    backlog.done(len(got), size)

            out["handoff (serial, one thread)"] = (_best(handoff, runs) * per, 0.0)
        finally:
            client.close()
    return out


def _switches() -> Tuple[int, int]:
    """Voluntary and involuntary context switches of every thread of this process so far."""
    vol = invol = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches"):
                vol = int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                invol = int(line.split()[1])
    return vol, invol


def threaded(count: int, runs: int, dispatch: str = "serial") -> Dict[str, Tuple[float, ...]]:
    """name -> (CPU us/event, voluntary and involuntary switches per 1,000 events), best of runs;
    the library's also with its reader's and its dispatchers' own CPU us/event."""
    from .events import feed_library, socket_rate

    with Server("feeder", "--events", str(count), "--channels", "1000") as server:
        threads: List[float] = []

        def library() -> float:
            def at_last(n: int) -> None:
                if n == count:
                    threads[:] = [_thread_cpu("ari-events"), _thread_cpu("ari-dispatch")]

            return feed_library(server.url, count, dispatch, ends=at_last)[1]  # from client.start

        def ceiling() -> float:
            start = time.process_time()
            socket_rate(server.url, count)
            return time.process_time() - start

        results: Dict[str, List[Tuple[float, ...]]] = {"library": [], "ceiling": []}
        for _ in range(runs):
            for name, run in (("library", library), ("ceiling", ceiling)):
                gc.collect()
                v0, i0 = _switches()
                cpu = run()
                v1, i1 = _switches()
                per = 1e6 / count
                extra = tuple(t * per for t in threads) if name == "library" else ()
                results[name].append((cpu * per, (v1 - v0) * 1e3 / count, (i1 - i0) * 1e3 / count, *extra))
        return {name: min(values) for name, values in results.items()}


def _thread_cpu(prefix: str) -> float:
    """CPU seconds so far of the live threads whose name starts with ``prefix``."""
    return sum(
        time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        for t in threading.enumerate()
        if t.name.startswith(prefix) and t.ident is not None
    )


def _per_thread() -> Dict[str, Tuple[int, int, float]]:
    """Thread name -> (voluntary, involuntary switches, CPU seconds) so far, for live threads."""
    import os

    out: Dict[str, Tuple[int, int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for thread in threading.enumerate():
        tid = thread.native_id
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                status = f.read()
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            continue
        vol = int(status.split("voluntary_ctxt_switches:")[1].split()[0])
        invol = int(status.split("nonvoluntary_ctxt_switches:")[1].split()[0])
        out[thread.name] = (vol, invol, (int(stat[11]) + int(stat[12])) / tick)
    return out


def _delta(before: Dict[str, Tuple[int, int, float]], after: Dict[str, Tuple[int, int, float]], n: int) -> str:
    lines = []
    total_v = total_i = 0.0
    for name, (v, i, cpu) in sorted(after.items()):
        v0, i0, c0 = before.get(name, (0, 0, 0.0))
        dv, di = (v - v0) / n, (i - i0) / n
        total_v += dv
        total_i += di
        lines.append(f"    {name:16} vol {dv:6.2f} invol {di:6.2f} cpu {(cpu - c0) * 1e6 / n:7.1f} us")
    lines.append(f"    {'all':16} vol {total_v:6.2f} invol {total_i:6.2f}")
    return "\n".join(lines)


def switches_trickle(count: int, rate: float, dispatch: str = "serial") -> str:
    """Context switches per event, per thread, with events arriving one at a time at ``rate``/s."""
    from .events import feed_library

    with Server("feeder", "--events", str(count), "--channels", "100", "--rate", str(rate)) as server:
        seen: List[Dict[str, Tuple[int, int, float]]] = []

        def snapshot(n: int) -> None:
            seen.append(_per_thread())

        feed_library(server.url, count, dispatch, ends=snapshot, timeout=count / rate + 60)
        return _delta(seen[0], seen[1], count - 1)


def switches_rest(count: int) -> str:
    """Context switches per REST call over the event socket, per thread (one calling thread)."""
    import ari

    with Server("answerer") as server:
        client = ari.connect(server.url, USER, PASSWORD, transport="websocket")
        client.start("bench-rest")
        try:
            for i in range(50):
                client.channels.get(channelId=f"w{i}")
            before = _per_thread()
            for i in range(count):
                client.channels.get(channelId=f"c{i}")
            after = _per_thread()
        finally:
            client.close()
        return _delta(before, after, count)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.eventpath", description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dispatch", default="serial")
    parser.add_argument("--skip-threaded", action="store_true")
    parser.add_argument("--switches", action="store_true", help="only the context switches (trickle, REST)")
    parser.add_argument("--rate", type=float, default=500.0, help="--switches: events a second")
    args = parser.parse_args()
    if args.switches:
        print(f"per event, {args.rate:.0f} events/s one at a time ({args.dispatch}):")
        print(switches_trickle(min(args.events, int(args.rate * 6)), args.rate, args.dispatch))
        print("per REST call over the event socket, one caller:")
        print(switches_rest(min(args.events, 3000)))
        return
    print(f"{'step':32} {'ari us/ev':>10} {'ceiling':>10}")
    total = 0.0
    summed = ("split", "classify", "decode", "deliver (promote+call)", "handoff (serial, one thread)")
    for name, (lib, ceil) in steps(args.events, args.runs).items():
        shown = f"{ceil:10.3f}" if ceil else ""
        print(f"{name:32} {lib:10.3f} {shown}")
        total += lib if name in summed else 0
    print(f"{'sum (split..deliver+handoff)':32} {total:10.3f}")
    if not args.skip_threaded:
        for name, (cpu, vol, invol, *own) in threaded(args.events, args.runs, args.dispatch).items():
            print(f"{name + ' threaded, process CPU':32} {cpu:10.3f}   ctx/1000ev vol {vol:.1f} invol {invol:.1f}")
            if own:
                print(f"{'  of which reader, dispatch(ers)':32} {own[0]:10.3f} {own[1]:10.3f}")


if __name__ == "__main__":
    main()
