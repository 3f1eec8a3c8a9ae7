"""End to end on a real Asterisk: the cost of a whole call, ari beside its peers.

``python -m bench e2e --url http://127.0.0.1:8088 --user asterisk --password asterisk --calls 300 --concurrency 20``
(``--concurrency`` repeatable; ``--clients ari-ws,ari-http,aioari,node``).  Not part of the
default ``python -m bench`` run: it needs a real Asterisk (``../shared/asterisk/``) whose
dialplan has ``wait`` (answers, waits) in context ``default``.

The application, written with each client (``bench/e2e_ari.py``, ``bench/peers/aioari_e2e.py``,
``bench/peers/node/e2e.js``): originate ``Local/wait@default`` calls into the app, at most C
in progress; on StasisStart answer and play a 0.2 s sound; on PlaybackFinished hang up; the
call ends at its StasisEnd.  Each client runs alone, in its own process, in turn.

The children's protocol: the child connects and prints ``READY``; this process notes
Asterisk's CPU and the box's, writes ``GO``, and the child runs its calls and prints one JSON
line: calls ended, seconds, every call's and REST call's latency (ms), its own CPU (user,
system) and context switches (voluntary, involuntary) from ``GO`` to its last call's end,
and the TCP connects it made meanwhile (it counts its own ``connect`` calls).  Each child
stops by itself at its deadline; this one kills it a little later, then hangs up any call
of the run still up.  Its one job is running those children and printing the table; it
never changes Asterisk's configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Optional

import requests

from . import peers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NCPU = os.cpu_count() or 1
CLIENTS = ("ari-ws", "ari-http", "aioari", "node")


def command(
    client: str, args: List[str], dispatch: str, workers: int, events: str = "all", originate: str = "async"
) -> Optional[List[str]]:
    """The child's command line for ``client``, or None when that peer is not installed."""
    if client.startswith("ari-"):
        transport = {"ari-ws": "websocket", "ari-http": "http", "ari-auto": "auto"}[client]
        return [sys.executable, "-m", "bench.e2e_ari", *args, transport, dispatch, str(workers), events, originate]
    found = peers.available()
    if client == "aioari":
        name = next((n for n in found if n.startswith("aioari")), None)
        return [sys.executable, os.path.join(HERE, "peers", "aioari_e2e.py"), *args] if name else None
    if client == "node":
        node = shutil.which("node")
        ok = node and any(n.startswith("node") for n in found)
        return [node, os.path.join(peers.NODE, "e2e.js"), *args] if ok and node else None
    raise ValueError(f"unknown client {client!r}; known: {', '.join(CLIENTS)}, ari-auto")


def asterisk_pid() -> Optional[int]:
    """The local Asterisk's pid (its CPU per call is read from /proc), or None."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() == "asterisk":
                        return int(entry)
            except OSError:
                continue
    return None


def process_cpu_ms(pid: Optional[int]) -> float:
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def box_cpu() -> List[int]:
    """(busy, total) jiffies of the whole machine since boot."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return [sum(values) - idle, sum(values)]


def percentile(values: List[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def hang_up_leftovers(url: str, auth: Any, prefix: str) -> int:
    """Hang up every channel of this run still up (a child that died or ran out of time)."""
    left = 0
    try:
        channels = requests.get(f"{url}/ari/channels", auth=auth, timeout=10).json()
        for channel in channels:
            if str(channel.get("id", "")).startswith(prefix):
                requests.delete(f"{url}/ari/channels/{channel['id']}", auth=auth, timeout=10)
                left += 1
    except requests.RequestException as exc:
        print(f"   could not clean up channels of {prefix}: {exc}", file=sys.stderr)
    return left


def _lines(stream: Any, into: queue.Queue[Optional[str]]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def run_one(
    client: str, cmd: List[str], url: str, auth: Any, calls: int, prefix: str, deadline: float
) -> Dict[str, Any]:
    """Run one child through READY/GO and return its results with Asterisk's and the box's figures."""
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    lines: queue.Queue[Optional[str]] = queue.Queue()
    errs: queue.Queue[Optional[str]] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    threading.Thread(target=_lines, args=(proc.stderr, errs), daemon=True).start()

    def next_line(timeout: float) -> Optional[str]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = lines.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                return None
            if line is None or line.strip().startswith(("READY", "{")):
                return line
        return None

    pid = asterisk_pid()
    try:
        if (ready := next_line(60)) is None or not ready.startswith("READY"):
            raise RuntimeError("the child did not get ready")
        a0, b0, w0 = process_cpu_ms(pid), box_cpu(), time.perf_counter()
        assert proc.stdin is not None
        proc.stdin.write("GO\n")
        proc.stdin.flush()
        out = next_line(deadline + 30)
        a1, b1, w1 = process_cpu_ms(pid), box_cpu(), time.perf_counter()
        if out is None:
            raise RuntimeError("the child gave no result")
        result: Dict[str, Any] = json.loads(out)
        proc.wait(20)
    except Exception as exc:
        proc.kill()
        proc.wait()
        tail = []
        while not errs.empty():
            tail.append(errs.get() or "")
        return {"client": client, "failed": f"{exc}; stderr: {''.join(tail)[-2000:]}"}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        result_left = hang_up_leftovers(url, auth, prefix)
    result["left_up"] = result_left
    result["asterisk_ms"] = a1 - a0 if pid else None
    result["box_busy"] = (b1[0] - b0[0]) / max(1, b1[1] - b0[1])
    result["window_s"] = w1 - w0
    result["asked"] = calls
    return result


def summary(r: Dict[str, Any]) -> Dict[str, Any]:
    n = max(1, r["calls"])
    rest = [v for values in r["rest_ms"].values() for v in values]
    return {
        "calls/s": r["calls"] / r["seconds"],
        "call p50": percentile(r["call_ms"], 0.5),
        "call p99": percentile(r["call_ms"], 0.99),
        "rest p50": percentile(rest, 0.5),
        "rest p99": percentile(rest, 0.99),
        "cpu ms/call": (r["user_ms"] + r["sys_ms"]) / n,
        "sys ms/call": r["sys_ms"] / n,
        "cs/call": (r["vcs"] + r["ics"]) / n,
        "vcs/call": r["vcs"] / n,
        "tcp conns": r["connects"],
        "ast ms/call": (r["asterisk_ms"] / n) if r.get("asterisk_ms") is not None else float("nan"),
        "box busy": r["box_busy"] * 100,
        # the share of the box neither this client nor Asterisk used: other work on a shared machine
        "others": max(
            0.0,
            r["box_busy"] * 100
            - 100 * ((r["user_ms"] + r["sys_ms"]) + (r.get("asterisk_ms") or 0)) / 1e3 / r["window_s"] / NCPU,
        ),
    }


def render(results: List[Dict[str, Any]]) -> str:
    head = (
        "client",
        "C",
        "calls",
        "calls/s",
        "call p50/p99 ms",
        "REST p50/p99 ms",
        "CPU ms/call (sys)",
        "cs/call (vol)",
        "TCP conns",
        "Asterisk ms/call",
        "box busy (others)",
    )
    rows = []
    for r in results:
        if "failed" in r:
            rows.append((r["client"], str(r.get("C", "")), "failed: " + r["failed"][:200]))
            continue
        s = summary(r)
        rows.append(
            (
                r["client"],
                str(r["C"]),
                f"{r['calls']}/{r['asked']}",
                f"{s['calls/s']:.1f}",
                f"{s['call p50']:.0f}/{s['call p99']:.0f}",
                f"{s['rest p50']:.1f}/{s['rest p99']:.1f}",
                f"{s['cpu ms/call']:.2f} ({s['sys ms/call']:.2f})",
                f"{s['cs/call']:.1f} ({s['vcs/call']:.1f})",
                str(s["tcp conns"]),
                f"{s['ast ms/call']:.2f}",
                f"{s['box busy']:.0f}% ({s['others']:.0f}%)",
            )
        )
    widths = [max(len(str(row[i])) if i < len(row) else 0 for row in [head, *rows]) for i in range(len(head))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(head, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(out)


def render_rest(results: List[Dict[str, Any]]) -> str:
    """REST latency p50/p99 per operation, and the per-thread split of ari's CPU and switches."""
    out = []
    for r in results:
        if "failed" in r:
            continue
        ops = ", ".join(f"{op} {percentile(v, 0.5):.1f}/{percentile(v, 0.99):.1f}" for op, v in r["rest_ms"].items())
        out.append(f"{r['client']} C={r['C']}: REST p50/p99 ms: {ops}")
        n = max(1, r["calls"])
        for name, t in sorted(r.get("threads", {}).items(), key=lambda kv: -kv[1]["cpu_ms"]):
            out.append(
                f"    {name} x{t['threads']}: {t['cpu_ms'] / n:.2f} ms/call, "
                f"{t['vcs'] / n:.1f} vol + {t['ics'] / n:.1f} invol switches/call"
            )
        if r.get("errors"):
            out.append(f"    {len(r['errors'])} errors, first: {r['errors'][0]}")
        if r.get("left_up"):
            out.append(f"    {r['left_up']} calls left up, hung up afterwards")
    return "\n".join(out)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench e2e", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="Asterisk's HTTP root, e.g. http://127.0.0.1:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", type=int, action="append", help="calls in progress (repeatable)")
    parser.add_argument(
        "--clients", default=",".join(CLIENTS), help="comma-separated: " + ", ".join(CLIENTS) + ", ari-auto"
    )
    parser.add_argument("--dispatch", default="concurrent", choices=("serial", "concurrent"), help="ari's dispatch")
    parser.add_argument("--workers", type=int, default=8, help="ari's dispatch workers")
    parser.add_argument(
        "--events",
        default="all",
        choices=("all", "needed"),
        help="ari only: 'needed' filters the app's events to the handled ones (what the others cost)",
    )
    parser.add_argument(
        "--originate",
        default="async",
        choices=("async", "sync"),
        help="ari only: originate with originate_async, not waiting for one before the next, as the peers"
        " do (default), or one after another from one thread (runs 1 to 4 of bench/README.rst)",
    )
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds a child may run its calls")
    parser.add_argument("--json", help="also write every result (raw latencies included) to this file")
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")
    if url.endswith("/ari"):
        url = url[:-4]
    auth = (args.user, args.password)
    results = []
    for concurrency in args.concurrency or [20]:
        for client in [c.strip() for c in args.clients.split(",") if c.strip()]:
            prefix = f"e2e{os.getpid()}-{client}-{concurrency}"
            child_args = [url, args.user, args.password, str(args.calls), str(concurrency), prefix, str(args.deadline)]
            cmd = command(client, child_args, args.dispatch, args.workers, args.events, args.originate)
            if cmd is None:
                print(f"-- {client}: not installed, skipped", file=sys.stderr)
                continue
            print(f"-- {client}, {args.calls} calls at C={concurrency} ...", file=sys.stderr, flush=True)
            result = run_one(client, cmd, url, auth, args.calls, prefix, args.deadline)
            result["C"] = concurrency
            if client.startswith("ari-"):
                result["client"] = client + ("" if args.events == "all" else f" ({args.events} events)")
            results.append(result)
            time.sleep(2)  # let Asterisk finish tearing the last calls down before the next client
    print(f"\nend to end on {url} ({os.cpu_count()} cores; ari dispatch={args.dispatch}, workers={args.workers})\n")
    print(render(results))
    print()
    print(render_rest(results))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle)
    return 1 if any("failed" in r or r["calls"] < r["asked"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
