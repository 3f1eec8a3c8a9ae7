"""Per-call connections spread over several application processes, none lost.

Each process runs examples/outbound.py unchanged.  Two ways in front of them: one port shared
with SO_REUSEPORT (the kernel spreads the connections), and HAProxy from Debian's package
(``apt-get install haproxy``) balancing round robin over one port per process.  The simulator
plays Asterisk with ``connection_type = per_call_config``.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from ari.testing import Simulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "outbound.py"
CALLS = 12
PROCESSES = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class App:
    """One application process; its output lines collected as they come."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(EXAMPLE.parents[1]))
        # As a terminal starts it: SIGINT raises KeyboardInterrupt even from a background job.
        launcher = (
            "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", launcher, str(EXAMPLE), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: List[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, name="app-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if "listening on" in line:
                self.ready.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # serve_forever stops cleanly on Ctrl-C
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start_apps(argsets: List[List[str]]) -> List[App]:
    apps = [App(*args) for args in argsets]
    for app in apps:
        if not app.ready.wait(30):
            for a in apps:
                a.stop()
            pytest.fail(f"an application process did not start: {app.lines}")
    return apps


def run_calls(url: str, apps: List[App]) -> Dict[str, List[str]]:
    """CALLS per-call connections into ``url``; which process hung up each call."""
    with Simulator(speed=20, outbound=url, mode="per_call") as sim:
        ids = [sim.call("spread", answer=False) for _ in range(CALLS)]
        sim.wait_idle(30)  # every call answered, played, hung up by one of the processes
    for app in apps:
        app.stop()
    handled: Dict[str, List[str]] = collections.defaultdict(list)
    for app in apps:
        for line in app.lines:
            match = re.match(r"\[(\d+)\] (\S+): hang up", line)
            if match:
                handled[match.group(2)].append(match.group(1))
    assert sorted(handled) == sorted(ids), [a.lines for a in apps]  # every call, none lost
    assert all(len(pids) == 1 for pids in handled.values())  # each by exactly one process
    return handled


@pytest.fixture
def cleanup() -> Iterator[List[App]]:
    apps: List[App] = []
    yield apps
    for app in apps:
        app.stop()


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="this platform has no SO_REUSEPORT")
def test_processes_sharing_one_port_with_so_reuseport(cleanup: List[App]) -> None:
    port = free_port()
    cleanup.extend(start_apps([["--port", str(port), "--reuse-port"]] * PROCESSES))
    handled = run_calls(f"ws://127.0.0.1:{port}/ari", cleanup)
    pids = {pid for pids in handled.values() for pid in pids}
    assert len(pids) >= 2, f"the kernel gave every call to one process: {collections.Counter(handled)}"


HAPROXY = """
global
    maxconn 1000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
frontend ari_apps
    bind 127.0.0.1:{front}
    default_backend apps
backend apps
    balance roundrobin
{servers}
"""


def haproxy_binary() -> Optional[str]:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)), None
    )


@pytest.mark.skipif(haproxy_binary() is None, reason="haproxy is not installed (apt-get install -y haproxy)")
def test_processes_behind_haproxy(cleanup: List[App]) -> None:
    ports = [free_port() for _ in range(PROCESSES)]
    front = free_port()
    cleanup.extend(start_apps([["--port", str(p)] for p in ports]))
    servers = "\n".join(f"    server app{n} 127.0.0.1:{p}" for n, p in enumerate(ports))
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "haproxy.cfg"
        config.write_text(HAPROXY.format(front=front, servers=servers))
        binary = haproxy_binary()
        assert binary is not None
        log = open(Path(folder) / "haproxy.log", "w")  # noqa: SIM115 - closed below, after the process
        proxy = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # listening?
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", front)) == 0:
                        break
                assert proxy.poll() is None, (Path(folder) / "haproxy.log").read_text()
                time.sleep(0.05)
            handled = run_calls(f"ws://127.0.0.1:{front}/ari", cleanup)
        finally:
            proxy.terminate()
            try:
                proxy.wait(5)
            except subprocess.TimeoutExpired:
                proxy.kill()
                proxy.wait(5)
            log.close()
    per_process = collections.Counter(pid for pids in handled.values() for pid in pids)
    assert len(per_process) == PROCESSES and set(per_process.values()) == {CALLS // PROCESSES}  # round robin
