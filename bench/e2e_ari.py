"""The end-to-end application written with ari, run as its own process by ``bench/e2e.py``.

``python -m bench.e2e_ari URL USER PASSWORD CALLS CONCURRENCY PREFIX DEADLINE TRANSPORT [DISPATCH WORKERS [EVENTS]]``

Originates ``Local/wait@default`` calls into the application, at most CONCURRENCY in
progress; on StasisStart it answers and plays a 0.2 s sound, on PlaybackFinished it hangs
up; a call ends at its StasisEnd.  It speaks the children's protocol of ``bench/e2e.py``:
``READY`` once the event socket is open, then waits for ``GO`` on stdin, runs, and prints
one JSON line of results.  It measures its own CPU, context switches (whole process and
per thread) and TCP connects from ``GO`` to the last call's end.

``BENCH_PROFILE=PREFIX`` profiles every thread from ``GO`` (cProfile, each thread's own CPU
time) and writes ``PREFIX-TRANSPORT-all.pstats`` and one file per thread name
(``PREFIX-websocket-ari-events.pstats``...): read them with ``python -m pstats FILE``.

EVENTS ``needed`` (default ``all``) sets an event filter on the application (under its own
name, so no other client inherits it) that lets through only the events the application
handles and the REST answers: a measure of what the events nobody listens to cost.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import re
import resource
import socket
import sys
import threading
import time
from collections import defaultdict
from typing import Any, Dict, List

APP = "bench-e2e"
ENDPOINT = "Local/wait@default"
SOUND = "sound:ascending-2tone"  # 10 GSM frames: 0.2 s
#: the event types the application handles (RESTResponse: the answers over the socket)
HANDLED = ("StasisStart", "PlaybackFinished", "StasisEnd")

_connects = [0]
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _counting_connect(self: socket.socket, address: Any) -> None:
    _connects[0] += 1
    return _connect(self, address)


def _counting_connect_ex(self: socket.socket, address: Any) -> int:
    _connects[0] += 1
    return _connect_ex(self, address)


def install_connect_counter() -> List[int]:
    """Count every TCP connect this process makes (requests, websocket-client, aiohttp all call these)."""
    socket.socket.connect = _counting_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _counting_connect_ex  # type: ignore[method-assign]
    return _connects


def thread_stats() -> Dict[int, Dict[str, float]]:
    """Per thread id: CPU ms (from schedstat, in ns) and voluntary/involuntary context switches, from /proc."""
    out: Dict[int, Dict[str, float]] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as handle:
                on_cpu_ns = int(handle.read().split()[0])
            with open(f"/proc/self/task/{tid}/status") as handle:
                status = dict(line.split(":", 1) for line in handle if "ctxt_switches" in line)
        except OSError:  # the thread ended meanwhile
            continue
        out[int(tid)] = {
            "cpu_ms": on_cpu_ns / 1e6,
            "vcs": int(status["voluntary_ctxt_switches"]),
            "ics": int(status["nonvoluntary_ctxt_switches"]),
        }
    return out


def by_thread_name(before: Dict[int, Dict[str, float]], after: Dict[int, Dict[str, float]]) -> Dict[str, Any]:
    """Per-thread deltas summed by thread name, its trailing number dropped (ari-dispatch-3 -> ari-dispatch)."""
    names = {t.native_id: re.sub(r"-\d+$", "", t.name) for t in threading.enumerate()}
    groups: Dict[str, Dict[str, float]] = defaultdict(lambda: {"cpu_ms": 0.0, "vcs": 0, "ics": 0, "threads": 0})
    for tid, end in after.items():
        start = before.get(tid, {"cpu_ms": 0.0, "vcs": 0, "ics": 0})
        group = groups[names.get(tid, "other")]
        for field in ("cpu_ms", "vcs", "ics"):
            group[field] += end[field] - start[field]
        group["threads"] += 1
    return dict(groups)


def usage() -> Dict[str, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return {"user_ms": r.ru_utime * 1e3, "sys_ms": r.ru_stime * 1e3, "vcs": r.ru_nvcsw, "ics": r.ru_nivcsw}


class ThreadProfiles:
    """cProfile on every thread of the process from ``go()``, timing each thread's own CPU.

    A profiler can only be switched on by its own thread, and the client's threads exist
    before ``GO``: each thread gets a light hook when it starts (``install``, before connecting)
    that switches its profiler on at its first call after ``go()``.
    """

    def __init__(self) -> None:
        self._go = threading.Event()
        self._lock = threading.Lock()
        self._profiles: List[Any] = []  # (thread name, profiler)

    def _hook(self, frame: Any, event: str, arg: Any) -> None:
        if not self._go.is_set():
            return
        profile = cProfile.Profile(time.thread_time)
        with self._lock:
            self._profiles.append((threading.current_thread().name, profile))
        sys.setprofile(None)
        profile.enable()

    def install(self) -> None:
        threading.setprofile(self._hook)

    def go(self) -> None:
        self._go.set()
        self._hook(None, "call", None)  # this thread at once

    def dump(self, prefix: str) -> None:
        """Write the merged profile and one per thread name (numbers dropped: ari-dispatch).

        Call it once the other threads have ended (``client.close()``): a profiler stopped
        from another thread would time the calls its thread is blocked in with this thread's
        clock.
        """
        threading.setprofile(None)  # type: ignore[arg-type]  # typeshed: None resets it
        groups: Dict[str, List[Any]] = defaultdict(list)
        with self._lock:
            for name, profile in self._profiles:
                profile.disable()
                groups[re.sub(r"-\d+$", "", name)].append(profile)
        merged = None
        for name, profiles in groups.items():
            stats = pstats.Stats(*profiles)
            stats.dump_stats(f"{prefix}-{name}.pstats")
            merged = stats if merged is None else merged.add(stats)
        if merged is not None:
            merged.dump_stats(f"{prefix}-all.pstats")


def run(
    url: str,
    user: str,
    password: str,
    calls: int,
    concurrency: int,
    prefix: str,
    deadline: float,
    transport: str,
    dispatch: str,
    workers: int,
    events: str = "all",
    originate: str = "async",
) -> Dict[str, Any]:
    connects = install_connect_counter()
    app = APP if events == "all" else f"{APP}-filtered"
    profile_to = os.environ.get("BENCH_PROFILE")
    profiles = ThreadProfiles() if profile_to else None
    if profiles is not None:
        profiles.install()
    import ari

    client = ari.connect(url, user, password, transport=transport, dispatch=dispatch, dispatch_workers=workers)
    depth = os.environ.get("BENCH_SOCKET_DEPTH")  # auto's socket depth, for experiments
    if depth:
        client.meta.router.socket_depth = int(depth)
    slots = threading.BoundedSemaphore(concurrency)
    started: Dict[str, float] = {}
    rest: Dict[str, List[float]] = defaultdict(list)
    call_ms: List[float] = []
    errors: List[str] = []
    ended = [0]
    lock = threading.Lock()
    all_done = threading.Event()

    def timed(op: str, fn: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(**kwargs)
        finally:
            rest[op].append((time.perf_counter() - t0) * 1e3)

    def failed(what: str, exc: BaseException) -> None:
        with lock:
            errors.append(f"{what}: {type(exc).__name__}: {exc}"[:300])

    def end_call(cid: str) -> None:
        t0 = started.pop(cid, None)
        if t0 is None:
            return
        with lock:
            call_ms.append((time.perf_counter() - t0) * 1e3)
            ended[0] += 1
            if ended[0] == calls:
                all_done.set()
        slots.release()

    def on_start(event: Any, channel: Any) -> None:
        if channel.id not in started:
            return
        try:
            timed("answer", channel.answer)
            timed("play", channel.play, media=SOUND, playbackId=f"{channel.id}-p")
        except Exception as exc:
            failed("answer/play", exc)
            try:
                client.channels.hangup(channelId=channel.id)
            except Exception as again:
                failed("hangup after failure", again)

    def on_finished(event: Any, playback: Any) -> None:
        cid = str(playback.target_uri).split(":", 1)[1]
        if cid not in started:
            return
        try:
            timed("hangup", client.channels.hangup, channelId=cid)
        except Exception as exc:
            failed("hangup", exc)

    def on_end(event: Any, channel: Any) -> None:
        end_call(channel.id)

    client.on("StasisStart", on_start)
    client.on("PlaybackFinished", on_finished)
    client.on("StasisEnd", on_end)
    client.start(app)
    if events == "needed":
        allowed = [{"type": name} for name in (*HANDLED, "RESTResponse")]
        client.applications.filter(applicationName=app, filter={"allowed": allowed})
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "GO":
        client.close()
        return {}
    connects[0] = 0
    if profiles is not None:
        profiles.go()
    u0, t0s = usage(), thread_stats()
    start = time.perf_counter()
    limit = time.monotonic() + deadline

    def originated(cid: str, t0: float) -> Any:
        def done(future: Any) -> None:
            rest["originate"].append((time.perf_counter() - t0) * 1e3)
            error = future.exception()
            if error is not None:
                failed("originate", error)
                end_call(cid)

        return done

    for i in range(calls):
        if not slots.acquire(timeout=max(0.0, limit - time.monotonic())):
            break
        cid = f"{prefix}-{i}"
        started[cid] = time.perf_counter()
        if originate == "async":
            # As the peers do (a task, a promise): the next originate does not wait for this one.
            future = client.channels.originate_async(endpoint=ENDPOINT, app=app, channelId=cid)
            future.add_done_callback(originated(cid, started[cid]))
            continue
        try:
            timed("originate", client.channels.originate, endpoint=ENDPOINT, app=app, channelId=cid)
        except Exception as exc:
            failed("originate", exc)
            end_call(cid)
    all_done.wait(max(0.0, limit - time.monotonic()))
    seconds = time.perf_counter() - start
    u1, t1s = usage(), thread_stats()
    sys.setprofile(None)  # this thread's profiler stops with the measurement (the others at close)
    result = {
        "client": f"ari {transport}" + ("" if events == "all" else f" ({events} events)"),
        "calls": len(call_ms),
        "seconds": seconds,
        "call_ms": call_ms,
        "rest_ms": dict(rest),
        "errors": errors,
        "connects": connects[0],
        "threads": by_thread_name(t0s, t1s),
        **{k: u1[k] - u0[k] for k in u0},
    }
    if events != "all":
        client.applications.filter(applicationName=app, filter={})
    client.close()
    if profiles is not None:
        profiles.dump(f"{profile_to}-{transport}")
    return result


def main(argv: List[str]) -> None:
    interval = os.environ.get("BENCH_SWITCH_INTERVAL")  # the GIL's switch interval, for experiments
    if interval:
        sys.setswitchinterval(float(interval))
    url, user, password, calls, concurrency, prefix, deadline, transport = argv[:8]
    dispatch = argv[8] if len(argv) > 8 else "concurrent"
    workers = int(argv[9]) if len(argv) > 9 else 8
    events = argv[10] if len(argv) > 10 else "all"
    originate = argv[11] if len(argv) > 11 else "async"
    result = run(
        url,
        user,
        password,
        int(calls),
        int(concurrency),
        prefix,
        float(deadline),
        transport,
        dispatch,
        workers,
        events,
        originate,
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
