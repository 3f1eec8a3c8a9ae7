"""The background call pool: bounded, daemon threads, cancel on shutdown, never holds up exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from typing import List

import pytest

from ari.workers import WorkerPool


def test_runs_calls_on_a_bounded_set_of_daemon_threads() -> None:
    pool = WorkerPool(2)
    release = threading.Event()
    names: List[str] = []

    def call(n: int) -> int:
        names.append(threading.current_thread().name)
        release.wait(5)
        return n * 2

    futures = [pool.submit(lambda n=n: call(n)) for n in range(5)]
    release.set()
    assert [f.result(5) for f in futures] == [0, 2, 4, 6, 8]
    assert set(names) <= {"ari-worker-1", "ari-worker-2"}
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("ari-worker"))
    pool.shutdown()
    assert not [t for t in threading.enumerate() if t.name.startswith("ari-worker")]


def test_errors_reach_the_future() -> None:
    pool = WorkerPool(1)
    future = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        future.result(5)
    pool.shutdown()


def test_shutdown_cancels_what_has_not_started() -> None:
    pool = WorkerPool(1)
    started, release = threading.Event(), threading.Event()
    running = pool.submit(lambda: (started.set(), release.wait(5)))
    assert started.wait(5)
    waiting = pool.submit(lambda: "never")
    threading.Timer(0.05, release.set).start()
    pool.shutdown()
    assert waiting.cancelled() and running.result(1)[1] is True
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(lambda: None)
    pool.shutdown()  # idempotent


def test_a_stuck_background_call_does_not_hold_up_interpreter_exit() -> None:
    script = textwrap.dedent("""
        import threading
        from ari.workers import WorkerPool
        pool = WorkerPool(2)
        started = threading.Event()
        pool.submit(lambda: (started.set(), threading.Event().wait()))  # blocks forever
        assert started.wait(5)
        print("exiting")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0 and "exiting" in done.stdout, done.stderr
