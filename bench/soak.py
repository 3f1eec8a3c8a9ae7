"""``python -m bench soak [--minutes 10]``: calls and events for minutes, with faults on the event socket.

Its one job is a bounded soak (it stops by itself): one client talks to the mock server
(``ari.testing``) through the fault-injection proxy (``tests/faults.py``), which every few
seconds cuts the events connection, injects a malformed frame, half-closes it, stalls it
past the ping timeout, stalls its upload under a large call (the send deadline), delivers a
reconnect's handshake late (a stale handshake of ours), drips one, or delays what the server
sends.  Meanwhile two threads make calls (``transport="auto"``: the socket while it is
there, HTTP otherwise) and the server sends numbered events.  The last 20 s are calm.

It reports events sent (to a socket holding the app) and delivered, duplicates, calls made,
failed and resent (a call the server saw twice: must be 0), reconnects, and the process's
RSS over time (client, server and proxy: one process).  Exit status 1 when a call was
resent, an event delivered twice, an event of the calm phase lost, or the client ended deaf.
It must not assert timings: a loaded machine makes faults last longer, not the soak fail.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import logging
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Counter, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.faults, when run as a script

import ari  # noqa: E402
from ari.testing import MockServer  # noqa: E402
from tests.faults import UP, FaultProxy  # noqa: E402

APP = "soak"
CALM = 20.0  # seconds without faults at the end: every event sent then must arrive


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Tally:
    """Counts shared by the soak's threads (one lock: the rates are low)."""

    def __init__(self, capacity: int) -> None:
        self.lock = threading.Lock()
        self.delivered = bytearray(capacity)  # per event number: times delivered
        self.sent_flags = bytearray(capacity)  # per event number: 1 when a socket held the app
        self.calm_first = capacity  # the first event number sent in the calm phase
        self.seen = bytearray(capacity)  # per call number: times the server saw it
        self.sent = 0
        self.sent_calm = 0
        self.calls = 0
        self.ok = 0
        self.failed: Counter[str] = collections.Counter()
        self.faults: Counter[str] = collections.Counter()
        self.reconnects = 0
        self.big: List[Tuple[str, float]] = []
        self.rss: List[Tuple[float, float]] = []
        self.server_errors: Counter[str] = collections.Counter()


class _ServerErrors(logging.Handler):
    """Counts what the loopback server's aiohttp logs as errors (a cut socket's ping answer...)."""

    def __init__(self, tally: Tally) -> None:
        super().__init__(logging.ERROR)
        self.tally = tally

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        with self.tally.lock:
            self.tally.server_errors[f"{record.getMessage()}: {error!r:.80}"] += 1


def _push(mock: MockServer, first: int, count: int) -> int:
    """Send ``count`` numbered events now, on the server's loop, if a socket holds the app."""
    if APP not in mock.connected_apps():
        return 0
    for n in range(first, first + count):
        mock.backend.send_event(
            {
                "type": "ChannelUserevent",
                "eventname": "soak",
                "userevent": {"n": n},
                "application": APP,
                "timestamp": "2026-01-01T00:00:00.000+0000",
            },
            mock.asterisk_id,
        )
    return count


def _events(mock: MockServer, tally: Tally, stop: threading.Event, calm: threading.Event, rate: int) -> None:
    n, batch, pause = 0, max(1, rate // 50), threading.Event()
    while not stop.is_set() and n + batch < len(tally.delivered):
        in_calm = calm.is_set()
        sent = mock.call_in_loop(_push, mock, n, batch)
        with tally.lock:
            tally.sent += sent
            if sent:
                tally.sent_flags[n : n + batch] = b"\x01" * batch
            if in_calm:
                tally.calm_first = min(tally.calm_first, n)
                tally.sent_calm += sent
        n += batch
        pause.wait(0.02)


def _calls(client: ari.Client, tally: Tally, stop: threading.Event, numbers: Any) -> None:
    pause = threading.Event()
    while not stop.is_set():
        n = next(numbers)
        try:
            client.channels.setChannelVar(channelId=f"soak-{n}", variable="SOAK", value=str(n))
            outcome = None
        except ari.ARIError as exc:
            outcome = type(exc).__name__ + (" (outcome unknown)" if "outcome is unknown" in str(exc) else "")
        with tally.lock:
            tally.calls += 1
            if outcome is None:
                tally.ok += 1
            else:
                tally.failed[outcome] += 1
        pause.wait(0.004)


def _count_requests(mock: MockServer, tally: Tally) -> None:
    # Taken and cleared at once, so that a long soak does not keep every recorded request.
    backend = mock.backend
    with backend._requests_lock:
        taken, backend._requests[:] = list(backend._requests), []
    with tally.lock:
        for request in taken:
            channel = str(request.path_params.get("channelId", ""))
            if request.nickname == "setChannelVar" and channel.startswith("soak-"):
                n = int(channel[5:])
                if n < len(tally.seen):
                    tally.seen[n] = min(255, tally.seen[n] + 1)


def _faults(
    client: ari.Client, mock: MockServer, proxy: FaultProxy, tally: Tally, until: float, every: float, seed: int
) -> None:
    """Inject one fault every ``every`` seconds until ``until`` (monotonic)."""
    rng, pause = random.Random(seed), threading.Event()

    def pipe() -> Optional[Any]:
        pipes = proxy.events_pipes()
        return pipes[-1] if pipes else None

    def cut() -> None:
        proxy.cut_events()

    def garbage() -> None:
        live = pipe()
        if live is not None:
            live.inject(rng.choice([b"\xf1\x00", b"\x83\x00", b"\x81\x84abcdwxyz", b"garbage!"]))

    def half_close() -> None:
        live = pipe()
        if live is not None:
            live.half_close()

    def stall() -> None:  # past the ping timeout: the pinger must find it
        live = pipe()
        if live is not None:
            live.stall()
            pause.wait(3.0)
            live.resume()

    def stalled_upload() -> None:  # a large call against a stalled upload: the send deadline
        live = pipe()
        if live is None:
            return
        live.stall(UP)
        started = time.monotonic()
        try:
            client.channels.originate(endpoint="PJSIP/soak", variables={"v": "x" * (8 << 20)})
            outcome = "answered"
        except ari.ARIError as exc:
            outcome = type(exc).__name__
        with tally.lock:
            tally.big.append((outcome, time.monotonic() - started))
        live.resume()

    def late_handshake() -> None:
        proxy.next_events(hold=2.5)
        proxy.cut_events()

    def drip() -> None:
        proxy.next_events(drip=0.02)
        proxy.cut_events()

    def delay() -> None:
        live = pipe()
        if live is not None:
            live.delay = 0.2
            pause.wait(3.0)
            live.delay = 0.0

    kinds: Dict[str, Callable[[], None]] = {
        "cut": cut,
        "malformed frame": garbage,
        "half-close": half_close,
        "stall past ping timeout": stall,
        "stalled upload, large call": stalled_upload,
        "late handshake": late_handshake,
        "dripping handshake": drip,
        "delay": delay,
    }
    order: List[str] = []
    while time.monotonic() + every < until:
        if pause.wait(every):
            return
        if not order:  # every kind once per round, in a random order
            order = rng.sample(list(kinds), len(kinds))
        name = order.pop()
        kinds[name]()
        with tally.lock:
            tally.faults[name] += 1


def soak(minutes: float, rate: int, every: float, seed: int, out: Any = sys.stdout) -> int:
    seconds = max(minutes * 60.0, CALM + 10.0)
    tally = Tally(capacity=int(rate * seconds * 1.5) + 10_000)
    stop, calm = threading.Event(), threading.Event()
    started = time.monotonic()
    guard = threading.Timer(seconds + 120.0, lambda: os._exit(3))  # a hung teardown must not hang the run
    guard.daemon = True
    guard.start()
    server_log = logging.getLogger("aiohttp.server")
    counting = _ServerErrors(tally)
    server_log.addHandler(counting)
    server_log.propagate = False  # counted and reported below, not a traceback each
    with MockServer() as mock, FaultProxy(mock.port, rcvbuf=65536) as proxy:
        client = ari.connect(
            proxy.url,
            mock.username,
            mock.password,
            timeout=2.0,
            connect_timeout=1.0,
            ping_interval=1.0,
            ping_timeout=1.0,
            reconnect_initial=0.05,
            reconnect_max=0.5,
        )

        def delivered(event: Any, *instances: Any) -> None:
            n = event["userevent"]["n"]
            with tally.lock:
                tally.delivered[n] = min(255, tally.delivered[n] + 1)

        def connected(event: Any) -> None:
            if event.reconnected:
                with tally.lock:
                    tally.reconnects += 1

        client.on("ChannelUserevent", delivered)
        client.on("WebSocketConnected", connected)
        client.start(APP)
        shared = itertools.count()  # next() on it is atomic: the callers share it
        threads = [threading.Thread(target=_events, args=(mock, tally, stop, calm, rate), name="soak-events")]
        threads += [
            threading.Thread(target=_calls, args=(client, tally, stop, shared), name=f"soak-calls-{i}")
            for i in range(2)
        ]
        fault_end = started + seconds - CALM
        faults = threading.Thread(
            target=_faults, args=(client, mock, proxy, tally, fault_end, every, seed), name="soak-faults"
        )
        for thread in [*threads, faults]:
            thread.start()
        tick = threading.Event()
        tally.rss.append((0.0, rss_mb()))
        next_sample = 10.0
        while time.monotonic() < started + seconds:
            tick.wait(min(1.0, max(0.0, started + seconds - time.monotonic())))
            elapsed = time.monotonic() - started
            if elapsed >= next_sample:
                _count_requests(mock, tally)
                tally.rss.append((elapsed, rss_mb()))
                next_sample += 10.0
            if not calm.is_set() and elapsed >= seconds - CALM + 3.0 and not faults.is_alive():
                calm.set()  # the faults ended 3 s ago: the socket is back
        stop.set()
        for thread in [*threads, faults]:
            thread.join(10)
        drained = threading.Event()
        drained.wait(1.0)  # the last events in flight reach their handler
        _count_requests(mock, tally)
        client.close()
    guard.cancel()
    server_log.removeHandler(counting)
    server_log.propagate = True
    return _report(tally, time.monotonic() - started, out)


def _report(tally: Tally, elapsed: float, out: Any) -> int:
    delivered = sum(1 for b in tally.delivered if b)
    duplicates = sum(b - 1 for b in tally.delivered if b > 1)
    resent = sum(b - 1 for b in tally.seen if b > 1)
    calm = range(tally.calm_first, len(tally.delivered))
    calm_delivered = sum(1 for n in calm if tally.sent_flags[n] and tally.delivered[n])
    failed = sum(tally.failed.values())
    print(f"\nari soak: {elapsed / 60:.1f} min, {sum(tally.faults.values())} faults on the event socket", file=out)
    for name, count in sorted(tally.faults.items()):
        print(f"  {name:30} {count}", file=out)
    print(f"reconnects: {tally.reconnects}", file=out)
    print(
        f"events: sent {tally.sent:,} (to a socket holding the app), delivered {delivered:,}, "
        f"lost {tally.sent - delivered:,} (sent into a socket a fault then broke), duplicates {duplicates}",
        file=out,
    )
    print(
        f"  calm phase (last {CALM:.0f} s, no faults): sent {tally.sent_calm:,}, delivered {calm_delivered:,}", file=out
    )
    print(f"calls: made {tally.calls:,}, ok {tally.ok:,}, failed {failed:,}, resent {resent}", file=out)
    for name, count in tally.failed.most_common():
        print(f"  failed: {name:40} {count}", file=out)
    for outcome, took in tally.big:
        print(f"  large call under a stalled upload: {outcome} after {took:.2f} s", file=out)
    for name, count in tally.server_errors.most_common():
        print(f"  the loopback server logged {count} x {name}", file=out)
    print("RSS (MB) over time: " + ", ".join(f"{t / 60:.1f} min {mb:.0f}" for t, mb in tally.rss), file=out)
    problems = []
    if resent:
        problems.append(f"{resent} calls resent")
    if duplicates:
        problems.append(f"{duplicates} events delivered twice")
    if calm_delivered < tally.sent_calm:
        problems.append(f"{tally.sent_calm - calm_delivered} events of the calm phase lost")
    if tally.sent_calm == 0:
        problems.append("no event reached a socket in the calm phase (deaf)")
    print("verdict: " + ("; ".join(problems) if problems else "ok"), file=out)
    return 1 if problems else 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (default 10; at least 0.5)")
    parser.add_argument("--rate", type=int, default=500, help="events per second the server sends (default 500)")
    parser.add_argument("--every", type=float, default=6.0, help="seconds between faults (default 6)")
    parser.add_argument("--seed", type=int, default=1, help="the faults' random order")
    args = parser.parse_args(argv)
    return soak(args.minutes, args.rate, args.every, args.seed)


if __name__ == "__main__":
    sys.exit(main())
