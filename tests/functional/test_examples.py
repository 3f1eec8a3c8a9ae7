"""Every script in examples/ run against the simulator, checked by what the simulator saw."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator, List

import pytest

import ari
from ari.media import codecs
from ari.testing import Simulator
from ari.testing.dialplan import FarEnd

from ..support import wait_until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WAIT = 10.0  # real seconds; every scenario takes well under one at the fixture's speed


def load(name: str) -> ModuleType:
    """An example as a module, by path (its name may clash with other modules: bridge, record)."""
    spec = importlib.util.spec_from_file_location(f"ari_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(ari_sim: Simulator, caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    """A client on the simulator; the test fails if a handler raised (logged as an error)."""
    with ari.connect(ari_sim.url, ari_sim.username, ari_sim.password) as c:
        yield c
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


def sent(sim: Simulator, event_type: str, app: str) -> List[Dict[str, Any]]:
    return [e for e in sim.events_sent if e["type"] == event_type and e["application"] == app]


def world(sim: Simulator, fn: Any) -> Any:
    """Read the simulator's state on its own loop thread."""
    return sim.server.call_in_loop(lambda: fn(sim.state.world))


def test_every_example_is_exercised() -> None:
    names = {p.stem for p in EXAMPLES.glob("*.py")}
    assert names >= {"hello", "originate", "bridge", "playback", "record", "mwi"}
    tests = {name for name in globals() if name.startswith("test_example_")}
    missing = [n for n in sorted(names) if not any(t.startswith(f"test_example_{n}") for t in tests)]
    assert not missing, f"examples without a test here: {missing}"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_each_example_runs_as_a_script(path: Path) -> None:
    # This checkout's package, not whichever ``ari`` the interpreter has installed.
    env = {**os.environ, "PYTHONPATH": str(EXAMPLES.parent)}
    done = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    for option in ("--url", "--user", "--password", "--app"):
        assert option in done.stdout


def test_example_hello(ari_sim: Simulator, client: Any) -> None:
    lines: List[str] = []
    finished = load("hello").main(client, "hello", lines.append)
    client.start("hello")
    cid = ari_sim.call("hello")
    ari_sim.wait_for_event("PlaybackFinished")
    ari_sim.dtmf(cid, "1#")
    assert finished.wait(WAIT)
    ari_sim.wait_for_event("StasisEnd", lambda e: e["channel"]["id"] == cid)
    media = [e["playback"]["media_uri"] for e in sent(ari_sim, "PlaybackStarted", "hello")]
    assert media == ["sound:hello-world", "sound:digits/1", "sound:vm-goodbye"]
    assert lines[-1] == f"{cid}: hang up"


def test_example_originate_bridges_both_legs_and_hangs_up_the_other(ari_sim: Simulator, client: Any) -> None:
    app = "originate-example"
    lines: List[str] = []
    load("originate").main(client, app, "PJSIP/1001", lines.append)
    client.start(app)
    incoming = ari_sim.call(app)
    entered = ari_sim.wait_for_event("ChannelEnteredBridge", lambda e: e["channel"]["id"] != incoming, timeout=WAIT)
    outgoing = entered["channel"]["id"]
    bridge = entered["bridge"]
    assert bridge["bridge_type"] == "mixing"
    ari_sim.wait_for_event("ChannelEnteredBridge", lambda e: e["channel"]["id"] == incoming, timeout=WAIT)
    starts = sent(ari_sim, "StasisStart", app)
    assert [s["args"] for s in starts] == [[], ["dialed"]]
    assert starts[1]["channel"]["name"].startswith("PJSIP/1001-")
    assert (
        ari_sim.wait_for_event("ChannelVarset", lambda e: e["variable"] == "ORIGINATE_BRIDGE")["value"] == bridge["id"]
    )
    assert any("caller is 1000" in line for line in lines)

    ari_sim.hangup(incoming)  # the caller leaves: the app hangs up the outgoing leg, destroys the bridge
    ari_sim.wait_for_event("ChannelDestroyed", lambda e: e["channel"]["id"] == outgoing, timeout=WAIT)
    # Both channels have left: the app no longer hears about the bridge (no BridgeDestroyed),
    # but the bridge must be gone.
    ari_sim.wait_idle(WAIT)
    assert any("destroying bridge" in line for line in lines)


def test_example_originate_far_end_hangs_up_first(ari_sim: Simulator, client: Any) -> None:
    app = "originate-example"
    load("originate").main(client, app, "PJSIP/1002", lambda line: None)
    client.start(app)
    incoming = ari_sim.call(app)
    entered = ari_sim.wait_for_event("ChannelEnteredBridge", lambda e: e["channel"]["id"] != incoming, timeout=WAIT)
    ari_sim.hangup(entered["channel"]["id"])
    # The example hung the caller up once the far end left: an ARI hangup (cause 32, Asterisk's
    # soft-hangup flag); the caller came in through the dialplan, so StasisEnd is its last event.
    ari_sim.wait_for_event("StasisEnd", lambda e: e["channel"]["id"] == incoming, timeout=WAIT)
    request = ari_sim.wait_for_event("ChannelHangupRequest", lambda e: e["channel"]["id"] == incoming)
    assert (request["cause"], request.get("soft")) == (32, True)
    ari_sim.wait_idle(WAIT)
    assert ari_sim.channel_ids() == []


def test_example_originate_busy_endpoint_hangs_up_the_caller(ari_sim: Simulator, client: Any) -> None:
    app = "originate-example"
    ari_sim.add_far_end("PJSIP/1003", "busy")
    load("originate").main(client, app, "PJSIP/1003", lambda line: None)
    client.start(app)
    incoming = ari_sim.call(app)
    ari_sim.wait_for_event("StasisEnd", lambda e: e["channel"]["id"] == incoming, timeout=WAIT)
    ari_sim.wait_idle(WAIT)
    assert not sent(ari_sim, "ChannelEnteredBridge", app)


def test_example_bridge_holds_callers_with_moh_and_destroys_the_empty_bridge(ari_sim: Simulator, client: Any) -> None:
    app = "bridge-example"
    lines: List[str] = []
    load("bridge").main(client, app, lines.append)
    client.start(app)
    first = ari_sim.call(app)
    entered = ari_sim.wait_for_event("ChannelEnteredBridge", timeout=WAIT)
    bridge_id = entered["bridge"]["id"]
    assert entered["bridge"]["bridge_type"] == "holding"
    assert wait_until(lambda: any(line.endswith(": music on hold") for line in lines), WAIT)
    # Music on hold on the caller, not on the bridge (whose announcer would race the count).
    assert world(ari_sim, lambda w: (w.channels[first].moh, w.bridges[bridge_id].moh)) == (True, False)
    second = ari_sim.call(app, caller="1001", endpoint="PJSIP/1001")
    again = ari_sim.wait_for_event("ChannelEnteredBridge", lambda e: e["channel"]["id"] == second, timeout=WAIT)
    assert again["bridge"]["id"] == bridge_id  # the existing holding bridge is reused

    ari_sim.hangup(first)
    ari_sim.wait_for_event("ChannelLeftBridge", lambda e: e["channel"]["id"] == first, timeout=WAIT)
    assert world(ari_sim, lambda w: bridge_id in w.bridges)  # one caller still waits
    ari_sim.hangup(second)
    ari_sim.wait_idle(WAIT)  # the bridge too: its app, with no channel left in it, hears no BridgeDestroyed
    assert lines[-1] == f"bridge {bridge_id}: empty, destroying it"


def test_example_playback_dtmf_controls_then_hangup(ari_sim: Simulator, client: Any) -> None:
    app = "playback-example"
    lines: List[str] = []
    finished = load("playback").main(client, app, lines.append)
    client.start(app)
    cid = ari_sim.call(app)
    started = ari_sim.wait_for_event("PlaybackStarted", timeout=WAIT)
    assert started["playback"]["media_uri"] == "sound:demo-congrats"
    pb_id = started["playback"]["id"]
    ari_sim.dtmf(cid, "5")
    ari_sim.wait_for_event("ChannelDtmfReceived")
    # The app's control request follows the DTMF event: wait for its effect, bounded.
    assert _wait_for(lambda: world(ari_sim, lambda w: w.playbacks[pb_id].state) == "paused")
    ari_sim.dtmf(cid, "8642*#")
    assert finished.wait(WAIT)
    ari_sim.wait_for_event("StasisEnd", lambda e: e["channel"]["id"] == cid, timeout=WAIT)
    assert ari_sim.wait_for_event("ChannelHangupRequest", lambda e: e["channel"]["id"] == cid)["cause"] == 32
    assert [e["playback"]["id"] for e in sent(ari_sim, "PlaybackFinished", app)] == [pb_id]
    said = "\n".join(lines)
    for operation in ("pause", "unpause", "forward", "reverse", "restart", "stop"):
        assert f", {operation}" in said
    assert "unknown DTMF *" in said


def test_example_playback_played_out_hangs_up(ari_sim: Simulator, client: Any) -> None:
    app = "playback-example"
    finished = load("playback").main(client, app, lambda line: None)
    client.start(app)
    cid = ari_sim.call(app)
    assert finished.wait(WAIT)  # demo-congrats is 12.8 simulated seconds
    finished_event = ari_sim.wait_for_event("PlaybackFinished", timeout=WAIT)
    assert finished_event["playback"]["state"] == "done"
    ari_sim.wait_for_event("StasisEnd", lambda e: e["channel"]["id"] == cid, timeout=WAIT)


def test_example_record_writes_the_callers_sound(ari_sim: Simulator, client: Any, tmp_path: Path) -> None:
    app = "record-example"
    path = tmp_path / "message.wav"
    lines: List[str] = []
    finished = load("record").main(client, app, path, say=lines.append)
    client.start(app)
    cid = ari_sim.call(app, far_end=FarEnd(ring=0.0, sound=True))  # the caller talks
    assert finished.wait(WAIT)
    recorded = ari_sim.wait_for_event("RecordingFinished", timeout=WAIT)["recording"]
    assert recorded["name"] == "record-example" and recorded["format"] == "wav"
    assert recorded["duration"] == 3
    assert path.stat().st_size > 44
    with wave.open(str(path)) as wav:
        assert wav.getnframes() > 0
    ari_sim.wait_for_event("StasisEnd", lambda e: e["channel"]["id"] == cid, timeout=WAIT)
    assert lines[-1].endswith("hung up")


def test_example_record_of_a_silent_caller_is_a_bare_header(ari_sim: Simulator, client: Any, tmp_path: Path) -> None:
    app = "record-example"
    path = tmp_path / "silence.wav"
    finished = load("record").main(client, app, path, say=lambda line: None)
    client.start(app)
    ari_sim.call(app)
    assert finished.wait(WAIT)
    assert path.stat().st_size == 44


def test_example_mwi_counts_recorded_and_played_messages(ari_sim: Simulator, client: Any) -> None:
    app = "mwi-example"
    lines: List[str] = []
    load("mwi").main(client, app, say=lines.append)
    client.start(app)

    def mailbox() -> Any:
        return world(ari_sim, lambda w: w.mailboxes.get("mwi-example"))

    # First call: leave a message (5), then the app hangs up.
    cid = ari_sim.call(app)
    ari_sim.wait_for_event("PlaybackStarted", lambda e: e["playback"]["media_uri"] == "sound:vm-next", timeout=WAIT)
    ari_sim.dtmf(cid, "5")
    ari_sim.wait_for_event("StasisEnd", lambda e: e["channel"]["id"] == cid, timeout=WAIT)
    assert mailbox() == (0, 1)
    (stored,) = world(ari_sim, lambda w: list(w.stored))
    assert "mailbox mwi-example: 1 new, 0 old" in lines

    # Second call: hear the latest message (6); it is deleted and the count goes down.
    start = len(ari_sim.events_sent)
    cid = ari_sim.call(app)
    ari_sim.wait_for_event(
        "PlaybackStarted", lambda e: e["playback"]["media_uri"] == "sound:vm-next", timeout=WAIT, start=start
    )
    ari_sim.dtmf(cid, "6")
    ari_sim.wait_for_event(
        "PlaybackStarted", lambda e: e["playback"]["media_uri"] == f"recording:{stored}", timeout=WAIT, start=start
    )
    later = len(ari_sim.events_sent)
    ari_sim.wait_for_event(
        "PlaybackStarted", lambda e: e["playback"]["media_uri"] == "sound:vm-next", timeout=WAIT, start=later
    )
    assert mailbox() == (0, 0)
    assert world(ari_sim, lambda w: list(w.stored)) == []

    # Nothing left: 6 says so.
    ari_sim.dtmf(cid, "6")
    ari_sim.wait_for_event("PlaybackStarted", lambda e: e["playback"]["media_uri"] == "sound:vm-nomore", timeout=WAIT)
    ari_sim.hangup(cid)
    ari_sim.wait_idle(WAIT)


def _wait_for(condition: Any, timeout: float = WAIT) -> bool:
    """Poll a condition on the simulator, bounded (no event marks a playback's pause)."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            return False
        tick.wait(0.01)
    return True


def test_example_media_echo_returns_the_caller_delayed(ari_sim: Simulator, client: Any) -> None:
    app = "media-echo"
    lines: List[str] = []
    finished = load("media_echo").main(client, app, delay=0.2, say=lines.append)
    client.start(app)
    cid = ari_sim.call(app, far_end=FarEnd(ring=0.0, audio="tone:400"))  # the caller sings one note
    deadline = time.monotonic() + WAIT
    while len(ari_sim.heard(cid)) < 640 * 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    heard = ari_sim.heard(cid)
    frames = [heard[at : at + 640] for at in range(0, 640 * 40, 640)]
    levels = [codecs.rms(frame) for frame in frames]
    assert levels[:10] == [0] * 10  # 0.2 s of silence first
    assert all(level > 5000 for level in levels[11:]), levels  # then the caller's own tone
    ari_sim.hangup(cid)
    assert finished.wait(WAIT)
    ari_sim.wait_idle(WAIT)
    assert "echoed" in lines[-1]


def test_example_media_record_writes_the_callers_audio(ari_sim: Simulator, client: Any, tmp_path: Path) -> None:
    app = "media-record"
    path = tmp_path / "caller.wav"
    lines: List[str] = []
    finished = load("media_record").main(client, app, path, seconds=0.6, say=lines.append)
    client.start(app)
    cid = ari_sim.call(app, far_end=FarEnd(ring=0.0, audio="tone:1000"))
    assert finished.wait(WAIT)
    # An incoming call gets no ChannelDestroyed after StasisEnd (as on a real Asterisk): its end is StasisEnd.
    ari_sim.wait_for_event("StasisEnd", lambda e: e["channel"]["id"] == cid, timeout=WAIT)
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        audio = wav.readframes(wav.getnframes())
    assert audio == codecs.tone(1000, 0.6, "slin16", 0.3)  # exactly what the caller said, 0.6 s
    assert lines[-1].endswith("hung up")
    ari_sim.wait_idle(WAIT)


def test_example_media_dtmf_answers_keys_with_tones(ari_sim: Simulator, client: Any) -> None:
    app = "media-dtmf"
    lines: List[str] = []
    example = load("media_dtmf")
    finished = example.main(client, app, say=lines.append)
    client.start(app)
    cid = ari_sim.call(app)
    ari_sim.wait_for_event("ChannelEnteredBridge", lambda e: e["channel"]["id"] == cid, timeout=WAIT)
    # A key pressed before the example listens for DTMF_END would go unheard: wait until it says it listens.
    assert _wait_for(lambda: any(line.endswith(": listening for keys") for line in lines))
    ari_sim.dtmf(cid, "2")
    expected = codecs.convert(example.phrase("2", "ulaw"), "ulaw", "slin")
    deadline = time.monotonic() + WAIT
    while len(ari_sim.heard(cid, "slin")) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ari_sim.heard(cid, "slin")[: len(expected)] == expected
    ari_sim.dtmf(cid, "#")
    assert finished.wait(WAIT)
    # An incoming call gets no ChannelDestroyed after StasisEnd (as on a real Asterisk): its end is StasisEnd.
    ari_sim.wait_for_event("StasisEnd", lambda e: e["channel"]["id"] == cid, timeout=WAIT)
    assert [line.split(": ", 1)[1] for line in lines[-4:]] == [
        "listening for keys",
        "pressed 2, answering",
        "pressed #, goodbye",
        "hung up",
    ]


def slow_down(monkeypatch: pytest.MonkeyPatch, method: str, seconds: float = 0.3) -> None:
    """Make ``MediaSession.<method>`` (adding a listener) take ``seconds``: an example that
    bridges the caller before it listens then misses what comes first."""
    from ari.media.session import MediaSession

    original = getattr(MediaSession, method)

    def slow(self: MediaSession, *args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MediaSession, method, slow)


def test_example_media_dtmf_hears_a_key_pressed_as_the_caller_is_bridged(
    ari_sim: Simulator, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example listens before it bridges: a key pressed at once is answered, however slowly
    the listener is added (it was added after the bridge, and such a key went unheard)."""
    slow_down(monkeypatch, "on")
    app = "media-dtmf-at-once"
    example = load("media_dtmf")
    lines: List[str] = []

    def say(line: str) -> None:
        if line.endswith("listening for keys"):
            time.sleep(0.3)  # a slow report too: the key's answer must still come after it
        lines.append(line)

    finished = example.main(client, app, say=say)
    client.start(app)
    cid = ari_sim.call(app)
    ari_sim.wait_for_event("ChannelEnteredBridge", lambda e: e["channel"]["id"] == cid, timeout=WAIT)
    ari_sim.dtmf(cid, "#")
    assert finished.wait(WAIT), lines
    assert lines[-2:] == [f"{lines[0].split(':')[0]}: pressed #, goodbye", f"{lines[0].split(':')[0]}: hung up"]


def test_example_media_record_keeps_the_first_frames_however_slowly_it_listens(
    ari_sim: Simulator, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example bridges once it listens for audio: no frame of the caller's is lost before."""
    slow_down(monkeypatch, "on_audio")
    app = "media-record-slow"
    path = tmp_path / "caller.wav"
    finished = load("media_record").main(client, app, path, seconds=0.6, say=lambda line: None)
    client.start(app)
    ari_sim.call(app, far_end=FarEnd(ring=0.0, audio="tone:1000"))
    assert finished.wait(WAIT)
    with wave.open(str(path)) as wav:
        assert wav.readframes(wav.getnframes()) == codecs.tone(1000, 0.6, "slin16", 0.3)
    ari_sim.wait_idle(WAIT)


@pytest.mark.parametrize("mode", ["persistent", "per_call"])
def test_example_outbound(mode: str) -> None:
    from ari.testing.outbound import Outbound

    said: List[str] = []
    with ari.serve("127.0.0.1", 0) as server:
        load("outbound").main(server, said.append, "hello")
        apps = ("hello", "other") if mode == "persistent" else ()
        with Simulator(speed=50, outbound=Outbound(server.ws_url + "/ari", apps=apps, mode=mode)) as sim:
            ignored = sim.call("other", answer=False) if mode == "persistent" else None
            channel_id = sim.call("hello", answer=False)
            assert wait_for(lambda: any(" left " in line for line in said))
            if ignored is not None:
                sim.hangup(ignored)
            sim.wait_idle(WAIT)
    assert [line.split(": ", 1)[1].split(" ")[0] for line in said] == ["entered", "hang", "left"]
    assert all(line.startswith(f"{channel_id}: ") for line in said)
    played = [e["playback"]["media_uri"] for e in sim.events_sent if e["type"] == "PlaybackFinished"]
    assert played == ["sound:hello-world"]


def wait_for(predicate: Any, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
