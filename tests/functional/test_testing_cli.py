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

from ..support import cli_command

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
    command = cli_command("--port", "0", "--user", "u", "--password", "p", mode)
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

    monkeypatch.setattr(cli, "threading", SimpleNamespace(Event=Interrupted, Thread=threading.Thread))
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


def test_simulator_commands_on_standard_input() -> None:
    command = cli_command("--port", "0", "--speed", "20")
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdin is not None
        try:
            found = BANNER.match(_read_line(proc.stdout, 30))
            assert found
            _, url, user, password = found.groups()
            assert "/ari/events" in _read_line(proc.stdout, 5)
            assert _read_line(proc.stdout, 5).startswith("commands: call APP")
            seen: List[Any] = []
            ended = threading.Event()
            with ari.connect(url, user, password) as client:
                client.on("StasisStart", lambda event, channel: seen.append(("start", list(event.args))))
                client.on("ChannelDtmfReceived", lambda event, channel: seen.append(("dtmf", event.digit)))
                client.on("StasisEnd", lambda event, channel: ended.set())
                client.start("hello")
                proc.stdin.write("call hello 1000 a b\n")
                proc.stdin.flush()
                answer = _read_line(proc.stdout, 10)
                assert answer.startswith("channel "), answer
                channel_id = answer.split()[1]
                proc.stdin.write(f"dtmf {channel_id} 1#\nchannels\nbogus\nhangup nope\nhangup {channel_id}\n")
                proc.stdin.flush()
                assert _read_line(proc.stdout, 10).strip() == "sent 1#"
                assert channel_id in _read_line(proc.stdout, 10)
                assert _read_line(proc.stdout, 10).startswith("commands:")
                assert _read_line(proc.stdout, 10).startswith("error:")
                assert _read_line(proc.stdout, 10).strip() == f"hung up {channel_id}"
                assert ended.wait(10)
            assert seen == [("start", ["a", "b"]), ("dtmf", "1"), ("dtmf", "#")]
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                assert proc.wait(10) == 0
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)


def test_run_command_without_a_simulator_running_reports_errors() -> None:
    class Broken:
        def call(self, *args: Any, **kwargs: Any) -> str:
            raise TimeoutError("application 'x' did not connect within 5.0s")

    assert cli.run_command(Broken(), "call x") == "error: application 'x' did not connect within 5.0s"  # type: ignore[arg-type]
    assert cli.run_command(Broken(), "   ") == ""  # type: ignore[arg-type]


def test_command_stops_cleanly_on_sigterm() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "ari.testing", "--port", "0", "--mock"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert BANNER.match(_read_line(proc.stdout, 30))
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
