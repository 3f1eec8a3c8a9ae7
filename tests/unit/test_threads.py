"""ari.threads: joining threads by a deadline and calling a user's callback safely."""

from __future__ import annotations

import ast
import logging
import threading
import time
from pathlib import Path
from typing import List

import pytest

from ari import threads
from ari.threads import call_guarded, join_by


def _thread(release: threading.Event, name: str) -> threading.Thread:
    thread = threading.Thread(target=release.wait, name=name, daemon=True)
    thread.start()
    return thread


def test_join_by_returns_only_the_threads_still_alive_at_the_deadline() -> None:
    release = threading.Event()
    done = threading.Thread(target=lambda: None, name="ari-test-done", daemon=True)
    done.start()
    stuck = _thread(release, "ari-test-stuck")
    try:
        started = time.monotonic()
        late = join_by([done, stuck], time.monotonic() + 0.2)
        elapsed = time.monotonic() - started
        assert late == [stuck]
        assert 0.15 <= elapsed < 1.0  # waited for the deadline, not for ever
    finally:
        release.set()
        stuck.join(1.0)


def test_join_by_shares_one_deadline_between_threads() -> None:
    release = threading.Event()
    stuck = [_thread(release, f"ari-test-stuck-{i}") for i in range(4)]
    try:
        started = time.monotonic()
        assert join_by(stuck, time.monotonic() + 0.2) == stuck
        assert time.monotonic() - started < 0.6  # not 4 x 0.2 s
    finally:
        release.set()
        for thread in stuck:
            thread.join(1.0)


def test_join_by_skips_the_calling_thread_and_a_past_deadline_does_not_wait() -> None:
    seen: List[List[threading.Thread]] = []

    def stop_yourself() -> None:
        seen.append(join_by([threading.current_thread()], time.monotonic() + 5.0))

    thread = threading.Thread(target=stop_yourself, name="ari-test-self", daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(2.0)
    assert seen == [[]]
    assert time.monotonic() - started < 1.0
    release = threading.Event()
    stuck = _thread(release, "ari-test-stuck")
    try:
        started = time.monotonic()
        assert join_by([stuck], time.monotonic() - 1.0) == [stuck]
        assert time.monotonic() - started < 0.2
    finally:
        release.set()
        stuck.join(1.0)


def test_call_guarded_calls_with_the_arguments() -> None:
    got: List[object] = []
    call_guarded(logging.getLogger("test"), "callback", lambda *a: got.extend(a), 1, "two")
    assert got == [1, "two"]


def test_call_guarded_logs_an_exception_on_the_callers_logger_and_returns(caplog: pytest.LogCaptureFixture) -> None:
    def broken(error: object, result: object) -> None:
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="ari.somewhere"):
        call_guarded(logging.getLogger("ari.somewhere"), "connect callback", broken, None, 1)
    [record] = caplog.records
    assert record.name == "ari.somewhere"
    assert record.getMessage().startswith("connect callback <function")
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)


@pytest.mark.parametrize("fatal", [KeyboardInterrupt, SystemExit])
def test_call_guarded_lets_interrupts_through(fatal: type) -> None:
    def interrupt() -> None:
        raise fatal()

    with pytest.raises(fatal):
        call_guarded(logging.getLogger("test"), "callback", interrupt)


def test_threads_is_the_bottom_layer() -> None:
    """It imports nothing of ari, so every layer (and ari.testing) may use it."""
    tree = ast.parse(Path(threads.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("ari"), ast.dump(node)
        elif isinstance(node, ast.Import):
            assert not any(alias.name.startswith("ari") for alias in node.names)
