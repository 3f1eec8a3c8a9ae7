"""Every operation family through the ``ari`` library against a real Asterisk (ARI_URL)."""

from __future__ import annotations

from typing import Any

import pytest

import ari

from ..support import wait_until
from .conftest import Seen, new_id, originate


def test_asterisk_info_ping_modules_logging_variables(client: Any) -> None:
    info = client.asterisk.getInfo()
    assert info.system["version"]
    assert client.asterisk.ping().asterisk_id
    modules = client.asterisk.listModules()
    assert any(m.name == "res_ari.so" for m in modules)
    assert client.asterisk.getModule(moduleName="res_ari.so").status == "Running"
    with pytest.raises(ari.NotFound):
        client.asterisk.getModule(moduleName="nosuchmodule.so")
    assert client.asterisk.listLogChannels()
    name = "LIVE_" + new_id()
    client.asterisk.setGlobalVar(variable=name, value="v1")
    assert client.asterisk.getGlobalVar(variable=name).value == "v1"
    with pytest.raises(ari.ValidationError):
        client.asterisk.getGlobalVar()  # checked before sending
    assert client.asterisk.getGlobalVar(variable="NOSUCH_" + new_id()).value == ""


def test_channel_operations(started: Any, app: str) -> None:
    seen = Seen()
    started.on("StasisStart", seen)
    started.on("ChannelVarset", seen)
    started.on("ChannelDestroyed", seen)
    chan = originate(started, app)
    _, channel = seen.wait(lambda e: e.type == "StasisStart" and e.channel.id == chan)
    assert channel.id == chan and channel.state == "Up"
    assert any(c.id == chan for c in started.channels.list())
    for call in (
        channel.ring,
        channel.ringStop,
        channel.hold,
        channel.unhold,
        channel.startMoh,
        channel.stopMoh,
        channel.startSilence,
        channel.stopSilence,
    ):
        call()
    channel.mute(direction="both")
    channel.unmute(direction="both")
    channel.sendDTMF(dtmf="1")
    channel.setChannelVar(variable="LIVE", value="yes")
    assert channel.getChannelVar(variable="LIVE").value == "yes"
    with pytest.raises(ari.NotFound):
        channel.getChannelVar(variable="UNSET_VARIABLE")
    with pytest.raises(ari.NotFound):
        started.channels.get(channelId="nosuchchannel")
    with pytest.raises(ari.BadRequest) as bad:
        started.channels.originate(endpoint="nothing", app=app)
    assert bad.value.message
    channel.hangup()
    seen.wait(lambda e: e.type == "ChannelDestroyed" and e.channel.id == chan)
    with pytest.raises(ari.NotFound):  # gone once destroyed (a DELETE races the teardown)
        channel.hangup()


def test_bridges_play_and_record(started: Any, app: str) -> None:
    seen = Seen()
    for kind in ("StasisStart", "ChannelEnteredBridge", "ChannelLeftBridge", "PlaybackFinished", "RecordingFinished"):
        started.on(kind, seen)
    chan = originate(started, app, "moh")
    seen.wait(lambda e: e.type == "StasisStart" and e.channel.id == chan)
    bridge = started.Bridge()
    bridge.create(type="mixing")
    bridge.addChannel(channel=chan)
    _, instances = seen.wait(lambda e: e.type == "ChannelEnteredBridge")
    assert instances.bridge.id == bridge.id and instances.channel.id == chan
    playback = started.Playback()
    bridge.play({"media": "sound:beep"}, playback)
    seen.wait(lambda e: e.type == "PlaybackFinished" and e.playback.id == playback.id)
    name = new_id("r")
    bridge.record(name=name, format="wav", maxDurationSeconds=1)
    seen.wait(lambda e: e.type == "RecordingFinished" and e.recording.name == name)
    started.recordings.deleteStored(recordingName=name)
    bridge.removeChannel(channel=chan)
    seen.wait(lambda e: e.type == "ChannelLeftBridge")
    bridge.destroy()
    with pytest.raises(ari.NotFound):
        started.bridges.get(bridgeId=bridge.id)


def test_playback_control_and_stop(started: Any, app: str) -> None:
    seen = Seen()
    started.on("StasisStart", seen)
    started.on("PlaybackStarted", seen)
    started.on("PlaybackFinished", seen)
    chan = originate(started, app)
    _, channel = seen.wait(lambda e: e.type == "StasisStart" and e.channel.id == chan)
    playback = started.Playback()
    channel.play({"media": "sound:demo-congrats"}, playback)
    seen.wait(lambda e: e.type == "PlaybackStarted")
    playback.control(operation="pause")
    assert started.playbacks.get(playbackId=playback.id).state == "paused"
    playback.control(operation="unpause")
    with pytest.raises(ari.ValidationError):
        playback.control(operation="nonsense")  # checked before sending
    playback.stop()
    event, _ = seen.wait(lambda e: e.type == "PlaybackFinished")
    assert event.playback.state in ("done", "stopped")
    # Asterisk sends PlaybackFinished a moment before it forgets the playback.
    assert wait_until(lambda: _gone(lambda: started.playbacks.get(playbackId=playback.id)), 2)


def _gone(get: Any) -> bool:
    try:
        get()
    except ari.NotFound:
        return True
    return False


def test_recording_download_is_a_wav_with_audio(started: Any, app: str) -> None:
    seen = Seen()
    started.on("StasisStart", seen)
    started.on("RecordingFinished", seen)
    chan = originate(started, app, "moh")
    _, channel = seen.wait(lambda e: e.type == "StasisStart" and e.channel.id == chan)
    name = new_id("r")
    channel.record(name=name, format="wav", maxDurationSeconds=1, ifExists="overwrite")
    event, recording = seen.wait(lambda e: e.type == "RecordingFinished")
    assert recording.name == name
    data = started.recordings.getStoredFile(recordingName=name)
    assert isinstance(data, bytes) and data[:4] == b"RIFF" and len(data) > 44
    copy = new_id("r")
    started.recordings.copyStored(recordingName=name, destinationRecordingName=copy)
    assert {r.name for r in started.recordings.listStored()} >= {name, copy}
    for rec in (name, copy):
        started.recordings.deleteStored(recordingName=rec)
    with pytest.raises(ari.NotFound):
        started.recordings.getStoredFile(recordingName=name)


def test_device_states_mailboxes_sounds_endpoints(started: Any, app: str) -> None:
    seen = Seen()
    started.on("DeviceStateChanged", seen)
    device = "Stasis:" + new_id()
    started.applications.subscribe(applicationName=app, eventSource=f"deviceState:{device}")
    started.deviceStates.update(deviceName=device, deviceState="BUSY")
    event, state = seen.wait(lambda e: e.type == "DeviceStateChanged")
    assert state.name == device and event.device_state.state == "BUSY"
    assert started.deviceStates.get(deviceName=device).state == "BUSY"
    started.deviceStates.delete(deviceName=device)
    box = new_id("mb")
    started.mailboxes.update(mailboxName=box, oldMessages=1, newMessages=2)
    assert started.mailboxes.get(mailboxName=box).new_messages == 2
    started.mailboxes.delete(mailboxName=box)
    with pytest.raises(ari.NotFound):
        started.mailboxes.get(mailboxName=box)
    assert started.sounds.get(soundId="hello-world").id == "hello-world"
    assert isinstance(started.endpoints.list(), list)


def test_applications_subscribe_filter_and_user_events(started: Any, app: str) -> None:
    seen = Seen()
    started.on("ChannelUserevent", seen)
    assert started.applications.get(applicationName=app).name == app
    bridge = started.Bridge()
    bridge.create()
    started.applications.subscribe(applicationName=app, eventSource=f"bridge:{bridge.id}")
    assert bridge.id in started.applications.get(applicationName=app).bridge_ids
    started.applications.unsubscribe(applicationName=app, eventSource=f"bridge:{bridge.id}")
    started.applications.filter(applicationName=app, filter={"allowed": [{"type": "ChannelUserevent"}]})
    started.events.userEvent(eventName="LiveEvent", application=app, variables={"k": "v"})
    event, _ = seen.wait(lambda e: e.type == "ChannelUserevent")
    assert event.eventname == "LiveEvent" and event.userevent["k"] == "v"
    started.applications.filter(applicationName=app, filter={})
    bridge.destroy()
    with pytest.raises(ari.NotFound):
        started.applications.get(applicationName="nosuchapp-" + new_id())


def test_snoop_and_external_media(started: Any, app: str) -> None:
    seen = Seen()
    started.on("StasisStart", seen)
    chan = originate(started, app, "moh")
    _, channel = seen.wait(lambda e: e.type == "StasisStart" and e.channel.id == chan)
    spy = channel.snoopChannel(app=app, spy="in")
    seen.wait(lambda e: e.type == "StasisStart" and e.channel.id == spy.id)
    spy.hangup()
    media = started.channels.externalMedia(app=app, external_host="127.0.0.1:40010", format="ulaw")
    assert media.channelvars["UNICASTRTP_LOCAL_PORT"]
    seen.wait(lambda e: e.type == "StasisStart" and e.channel.id == media.id)
    media.hangup()
    channel.hangup()


def test_dial_continue_move_redirect(started: Any, app: str) -> None:
    seen = Seen()
    for kind in ("StasisStart", "StasisEnd", "Dial"):
        started.on(kind, seen)
    created = started.channels.create(endpoint="Local/wait@default", app=app, channelId=new_id("c"))
    seen.wait(lambda e: e.type == "StasisStart" and e.channel.id == created.id)
    created.dial(timeout=10)
    seen.wait(lambda e: e.type == "Dial" and e.dialstatus == "ANSWER")
    created.continueInDialplan(context="default", extension="wait", priority=1)
    seen.wait(lambda e: e.type == "StasisEnd" and e.channel.id == created.id)
    started.channels.hangup(channelId=created.id)
    moved = originate(started, app)
    seen.wait(lambda e: e.type == "StasisStart" and e.channel.id == moved)
    with pytest.raises(ari.NotFound):
        started.channels.move(channelId="nosuchchannel", app=app)
    started.channels.hangup(channelId=moved)
