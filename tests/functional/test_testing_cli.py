"""``python -m ari.testing``: serves a simulator (or the mock), prints where, stops on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from types import SimpleNamespace
from typing import Any, List

import pytest

import ari
from ari.testing import __main__ as cli

BANNER = re.compile(r"ARI (\w+) at (http://\S+)/ari  user=(\S+) password=(\S+)")


def _read_line(stream: Any, timeout: float) -> str:
    lines: List[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert lines, f"no output within {timeout}s"
    return lines[0]


@pytest.mark.parametrize("mode", ["--mock", "--speed=20"])
def test_command_serves_until_sigint(mode: str) -> None:
    command = [sys.executable, "-m", "ari.testing", "--port", "0", "--user", "u", "--password", "p", mode]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            found = BANNER.match(_read_line(proc.stdout, 30))
            assert found, "no banner"
            kind, url, user, password = found.groups()
            assert (kind, user, password) == ("mock" if mode == "--mock" else "simulator", "u", "p")
            assert "/ari/events?app=NAME" in _read_line(proc.stdout, 5)
            if mode != "--mock":
                with ari.connect(url, user, password) as client:
                    assert client.asterisk.ping().ping == "pong"
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


def test_main_in_process_stops_on_keyboard_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ctrl-C arrives as KeyboardInterrupt in main()'s wait; it stops the server and returns 0.
    class Interrupted:
        def wait(self, timeout: Any = None) -> bool:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli, "threading", SimpleNamespace(Event=Interrupted))
    assert cli.main(["--port", "0", "--speed", "10"]) == 0
    assert cli.main(["--port", "0", "--mock"]) == 0
    out = capsys.readouterr().out
    assert BANNER.search(out) and "ARI mock at http://127.0.0.1:" in out
    assert "ARI simulator at http://127.0.0.1:" in out


def test_main_without_the_simulator_suggests_the_mock(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ari.testing.simulator", None)
    assert cli.main(["--port", "0"]) == 2
    assert "try --mock" in capsys.readouterr().err
