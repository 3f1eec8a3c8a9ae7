"""The examples against a real Asterisk (ARI_URL): calls come in through the test dialplan
(``app-<app>``) from far ends that answer, send DTMF (``dtmf``: 123#) or play music (``moh``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any, List

import ari

from .conftest import PASSWORD, URL, USER, WAIT, Seen, call_via_dialplan, originate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"ari_live_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gone(client: Any, chan: str, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.channels.get(channelId=chan)
        except ari.NotFound:
            return True
        time.sleep(0.1)
    return False


def test_hello_reads_back_the_digits_and_hangs_up(client: Any, app: str) -> None:
    lines: List[str] = []
    finished = load("hello").main(client, app, lines.append)
    client.start(app)
    try:
        chan = call_via_dialplan(client, app, "dtmf")
        assert finished.wait(WAIT), lines
        assert [line.split(": ", 1)[1] for line in lines if "pressed" in line] == [
            "pressed 1",
            "pressed 2",
            "pressed 3",
            "pressed #",
        ]
        assert gone(client, chan)
    finally:
        client.stop()


def test_hello_as_a_script(client: Any, app: str) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLES / "hello.py"),
            "--url",
            URL,
            "--user",
            USER,
            "--password",
            PASSWORD,
            "--app",
            app,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + WAIT
        while app not in {a.name for a in client.applications.list()}:
            assert time.monotonic() < deadline, "the script never registered its application"
            time.sleep(0.1)
        call_via_dialplan(client, app, "dtmf")
        out, err = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "pressed #" in out and "hang up" in out


def test_playback_stops_on_hash(client: Any, app: str) -> None:
    lines: List[str] = []
    finished = load("playback").main(client, app, lines.append)
    client.start(app)
    try:
        call_via_dialplan(client, app, "dtmf")
        assert finished.wait(WAIT), lines
        assert any("pressed 2, restart" in line for line in lines), lines
        assert any("pressed #, stop" in line for line in lines), lines
    finally:
        client.stop()


def test_record_writes_the_callers_sound(client: Any, app: str, tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    name = "live-record-" + app
    finished = load("record").main(client, app, path, name=name, say=lambda line: None)
    client.start(app)
    try:
        call_via_dialplan(client, app, "moh")
        assert finished.wait(WAIT)
        data = path.read_bytes()
        assert data[:4] == b"RIFF" and len(data) > 44, "music on hold gave no audio"
    finally:
        client.stop()
        try:
            client.recordings.deleteStored(recordingName=name)
        except ari.NotFound:
            pass


def test_originate_bridges_the_caller_with_the_far_end(client: Any, app: str) -> None:
    lines: List[str] = []
    seen = Seen()
    load("originate").main(client, app, "Local/echo@default", lines.append)
    client.on("ChannelEnteredBridge", seen)
    client.start(app)
    try:
        chan = call_via_dialplan(client, app, "wait")
        seen.wait(lambda e: e.channel.id == chan)
        seen.wait(lambda e: e.channel.id != chan)
        client.channels.hangup(channelId=chan)
        deadline = time.monotonic() + WAIT
        while not any("destroying bridge" in line for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.1)
    finally:
        client.stop()


def test_bridge_holds_two_callers(client: Any, app: str) -> None:
    lines: List[str] = []
    seen = Seen()
    load("bridge").main(client, app, lines.append)
    client.on("ChannelEnteredBridge", seen)
    client.start(app)
    try:
        first = originate(client, app, "wait")
        _, one = seen.wait(lambda e: e.channel.id == first)
        second = originate(client, app, "wait")
        _, two = seen.wait(lambda e: e.channel.id == second)
        assert one.bridge.id == two.bridge.id
        for chan in (first, second):
            client.channels.hangup(channelId=chan)
        if not any("created (holding)" in line for line in lines):
            return  # it joined a holding bridge someone else left on this shared Asterisk
        deadline = time.monotonic() + WAIT
        while not any("empty, destroying it" in line for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.1)
    finally:
        client.stop()


def test_mwi_greets_the_caller(client: Any, app: str) -> None:
    lines: List[str] = []
    seen = Seen()
    load("mwi").main(client, app, mailbox_name="live-" + app, say=lines.append)
    client.on("PlaybackFinished", seen)
    client.start(app)
    try:
        chan = originate(client, app, "wait")
        seen.wait(lambda e: e.playback.media_uri == "sound:vm-leavemsg")
        client.channels.hangup(channelId=chan)
        assert any("play sound:vm-next" in line for line in lines) or gone(client, chan)
    finally:
        client.stop()
