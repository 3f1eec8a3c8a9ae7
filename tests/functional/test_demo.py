"""``python -m ari demo``: run as a user would, in a subprocess; its failures in-process."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ari.__main__ as cli
from ari import demo


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ari", "demo", *args], capture_output=True, text=True, timeout=60)


def test_demo_runs_the_dtmf_example_and_exits_cleanly() -> None:
    started = time.monotonic()
    done = run_demo()
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 15
    out = done.stdout
    lines = out.splitlines()
    assert lines[0].startswith("simulated Asterisk at http://127.0.0.1:")
    assert lines[1].startswith("StasisStart") and "channel PJSIP/1000-" in lines[1]
    assert lines[2:4] == ["    -> entered hello, answering", "    -> play sound:hello-world"]
    for digit, sound in (("1", "digits/1"), ("2", "digits/2"), ("*", "tt-monkeys"), ("#", "vm-goodbye")):
        # Playback events of earlier keys may come in between; the app's reaction follows its event.
        pressed = lines.index(f"(caller presses {digit})")
        event = next(i for i in range(pressed, len(lines)) if lines[i].startswith("ChannelDtmfReceived"))
        assert lines[event].endswith(f"digit {digit}")
        assert lines[event + 1 : event + 3] == [f"    -> pressed {digit}", f"    -> play sound:{sound}"]
    assert "PlaybackFinished       playback sound:vm-goodbye (done)" in out
    hangup = lines.index("    -> hang up")
    # The caller came in through the dialplan: StasisEnd is the last the app hears of it.
    assert [line.split()[0] for line in lines[hangup + 1 : hangup + 3]] == [
        "ChannelHangupRequest",
        "StasisEnd",
    ]
    assert lines[-1].startswith("call ") and "hung up" in lines[-1]
    assert "Traceback" not in done.stderr and "ERROR" not in done.stderr


def test_demo_without_hash_the_caller_hangs_up() -> None:
    done = run_demo("--digits", "7", "--speed", "50")
    assert done.returncode == 0, done.stderr
    assert "    -> play sound:digits/7" in done.stdout
    assert "(caller hangs up)" in done.stdout
    assert "    -> hang up" not in done.stdout


def test_bad_options_and_no_command(capsys: pytest.CaptureFixture) -> None:
    assert cli.main([]) == 2
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--digits", "12x"])
    assert exit_info.value.code == 2
    assert "--digits" in capsys.readouterr().err


def test_missing_example_exits_2_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(demo, "examples_dir", lambda: tmp_path)
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "hello.py" in err and str(tmp_path) in err and "pip install --force-reinstall asterisk-ari" in err


def test_demo_in_process_leaves_no_thread_behind() -> None:
    out = io.StringIO()
    assert demo.run(speed=50, digits="4#", out=out) == 0
    transcript = out.getvalue()
    assert "    -> play sound:digits/4" in transcript and "    -> hang up" in transcript
    assert transcript.splitlines()[-1].endswith("events")
