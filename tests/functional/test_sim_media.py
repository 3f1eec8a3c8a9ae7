"""Playbacks, recordings and sounds on the simulator through the public client."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

import ari
from ari.testing import Simulator

APP = "media-app"


@pytest.fixture
def client(ari_sim: Simulator) -> Iterator[Any]:
    with ari.connect(ari_sim.url, ari_sim.username, ari_sim.password) as c:
        c.start(APP)
        yield c


def _incoming(sim: Simulator) -> str:
    cid = sim.call(APP)
    sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == cid)
    return cid


def _finished(sim: Simulator, playback_id: str, start: int = 0) -> Any:
    return sim.wait_for_event("PlaybackFinished", lambda e: e["playback"]["id"] == playback_id, start=start)


def test_playback_control_and_stop() -> None:
    # Slow enough that a 12.8 s sound is still playing while it is controlled.
    with Simulator(speed=5) as sim, ari.connect(sim.url, sim.username, sim.password) as client:
        client.start(APP)
        cid = _incoming(sim)
        pb = client.Channel(cid).playWithId(playbackId="long", media="sound:demo-congrats", skipms=500)
        sim.wait_for_event("PlaybackStarted", lambda e: e["playback"]["id"] == "long")
        assert client.playbacks.get(playbackId="long").state == "playing"
        pb.control(operation="pause")
        assert client.playbacks.get(playbackId="long").state == "paused"
        pb.control(operation="pause")  # pausing again changes nothing
        pb.control(operation="forward")
        pb.control(operation="reverse")
        pb.control(operation="restart")
        pb.control(operation="unpause")
        assert client.playbacks.get(playbackId="long").state == "playing"
        pb.control(operation="unpause")
        pb.control(operation="forward")
        pb.control(operation="reverse")
        with pytest.raises(ari.Conflict):
            client.Channel(cid).playWithId(playbackId="long", media="sound:beep")
        # A second playback waits its turn; stopping it while queued finishes it at once.
        queued = client.Channel(cid).play(media="sound:beep")
        assert client.playbacks.get(playbackId=queued.id).state == "queued"
        mark = len(sim.events_sent)
        queued.stop()
        assert _finished(sim, queued.id, mark)["playback"]["state"] == "done"
        pb.stop()
        assert _finished(sim, "long", mark)["playback"]["state"] == "done"
        with pytest.raises(ari.NotFound) as caught:
            client.playbacks.get(playbackId="long")
        assert caught.value.message == "Playback not found"
        with pytest.raises(ari.NotFound):
            pb.stop()
        with pytest.raises(ari.NotFound):
            pb.control(operation="pause")
        client.Channel(cid).hangup()
        sim.wait_idle()


def test_media_list_continues_and_tone_has_no_position(ari_sim: Simulator, client: Any) -> None:
    cid = _incoming(ari_sim)
    pb = client.Channel(cid).play(media=["sound:beep", "sound:goodbye"], lang="en")
    cont = ari_sim.wait_for_event("PlaybackContinuing", lambda e: e["playback"]["id"] == pb.id)
    assert cont["playback"]["media_uri"] == "sound:beep"
    assert _finished(ari_sim, pb.id)["playback"]["media_uri"] == "sound:goodbye"
    started = [e for e in ari_sim.events_sent if e["type"] == "PlaybackStarted" and e["playback"]["id"] == pb.id]
    assert len(started) == 2
    tone = client.Channel(cid).play(media="tone:ring")
    ari_sim.wait_for_event("PlaybackStarted", lambda e: e["playback"]["id"] == tone.id)
    tone.control(operation="forward")
    assert client.playbacks.get(playbackId=tone.id).state == "playing"
    tone.stop()
    _finished(ari_sim, tone.id)
    with pytest.raises(ari.UnprocessableEntity) as caught:
        client.bridges.create().play(media="sound:beep", announcer_format="nope")
    assert caught.value.message == "Requested announcer format 'nope' is unknown"


def test_live_recording_operations(ari_sim: Simulator, client: Any) -> None:
    caught: pytest.ExceptionInfo[ari.HTTPError]
    cid = _incoming(ari_sim)
    rec = client.Channel(cid).record(name="live1", format="wav", beep=True, terminateOn="#")
    assert rec.state == "queued"
    ari_sim.wait_for_event("RecordingStarted", lambda e: e["recording"]["name"] == "live1")
    live = client.recordings.getLive(recordingName="live1")
    assert live.state == "recording" and live.target_uri == f"channel:{cid}"
    rec.pause()
    assert client.recordings.getLive(recordingName="live1").state == "paused"
    rec.unpause()
    rec.mute()
    rec.unmute()
    assert client.recordings.getLive(recordingName="live1").state == "recording"
    ari_sim.dtmf(cid, "1")
    assert client.recordings.getLive(recordingName="live1").state == "recording"
    ari_sim.dtmf(cid, "#")
    done = ari_sim.wait_for_event("RecordingFinished", lambda e: e["recording"]["name"] == "live1")
    assert done["recording"]["state"] == "done"
    with pytest.raises(ari.NotFound) as caught:
        client.recordings.getLive(recordingName="live1")
    assert caught.value.message == "Recording not found"
    with pytest.raises(ari.NotFound):
        rec.pause()
    # The stored file exists now, so the default ifExists=fail refuses the name.
    with pytest.raises(ari.Conflict) as caught:
        client.Channel(cid).record(name="live1", format="wav")
    assert "already exists" in caught.value.message
    over = client.Channel(cid).record(name="live1", format="wav", ifExists="overwrite")
    over.stop()
    ari_sim.wait_for_event("RecordingFinished", lambda e: e["recording"]["name"] == "live1", start=0)
    cancelled = client.Channel(cid).record(name="gone", format="wav")
    cancelled.cancel()
    with pytest.raises(ari.NotFound):
        client.recordings.getStored(recordingName="gone")
    with pytest.raises(ari.UnprocessableEntity):
        client.Channel(cid).record(name="bad", format="mp9")
    # The description's minimum: a negative limit never leaves the client.
    with pytest.raises(ari.ValidationError):
        client.Channel(cid).record(name="neg", format="wav", maxDurationSeconds=-1)


def test_stored_recordings(ari_sim: Simulator, client: Any) -> None:
    cid = _incoming(ari_sim)
    client.Channel(cid).record(name="memo", format="wav", maxDurationSeconds=1)
    done = ari_sim.wait_for_event("RecordingFinished", lambda e: e["recording"]["name"] == "memo")
    assert done["recording"]["duration"] == 1
    assert [r.name for r in client.recordings.listStored()] == ["memo"]
    stored = client.recordings.getStored(recordingName="memo")
    assert stored.format == "wav"
    data = client.recordings.getStoredFile(recordingName="memo")
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert len(data) == 44  # a silent leg: just the header
    copy = client.recordings.copyStored(recordingName="memo", destinationRecordingName="memo2")
    assert copy.name == "memo2"
    with pytest.raises(ari.Conflict):
        client.recordings.copyStored(recordingName="memo", destinationRecordingName="memo2")
    client.recordings.deleteStored(recordingName="memo")
    for call in (
        lambda: client.recordings.getStored(recordingName="memo"),
        lambda: client.recordings.deleteStored(recordingName="memo"),
        lambda: client.recordings.getStoredFile(recordingName="memo"),
        lambda: client.recordings.copyStored(recordingName="memo", destinationRecordingName="x"),
    ):
        with pytest.raises(ari.NotFound) as caught:
            call()
        assert caught.value.message == "Recording not found"
    assert [r.name for r in client.recordings.listStored()] == ["memo2"]


def test_sounds(client: Any) -> None:
    sounds = client.sounds.list()
    assert "hello-world" in [s.id for s in sounds]
    english_gsm = client.sounds.list(lang="en", format="gsm")
    assert english_gsm and all((f["language"], f["format"]) == ("en", "gsm") for s in english_gsm for f in s.formats)
    with pytest.raises(ari.NotFound) as caught:
        client.sounds.list(lang="xx")
    assert caught.value.message == "No sounds found that matched the query"
    hello = client.sounds.get(soundId="hello-world")
    assert hello.text == "Hello world."
    with pytest.raises(ari.NotFound):
        client.sounds.get(soundId="no-such-sound")
