"""The Asterisk state model driven directly: fake clock, collecting sink, no sockets."""

from __future__ import annotations

import io
import wave

import pytest

from ari.testing.dialplan import FarEnd
from ari.testing.media import WAV_HEADER_BYTES, media_duration, number_words, tone_duration

from .sim_fakes import Harness


@pytest.fixture
def h() -> Harness:
    return Harness()


# -- originate --------------------------------------------------------------------------


def test_originate_into_app_answers_down_then_stasis_start_up(h: Harness) -> None:
    r = h.req(
        "POST", "/channels", "originate", endpoint="PJSIP/1001", app="app", appArgs="a,b", callerId='"Bob" <2000>'
    )
    assert r.status == 200
    assert r.body["state"] == "Down"
    assert r.body["name"].startswith("PJSIP/1001-")
    assert r.body["caller"] == {"name": "Bob", "number": "2000"}
    h.advance(0.5)
    assert "StasisStart" not in h.types()
    h.advance(1.0)
    start = h.of("StasisStart")[0]
    assert start["args"] == ["a", "b"]
    assert start["channel"]["state"] == "Up"
    assert start["channel"]["dialplan"]["app_data"] == "app,a,b"
    assert "ChannelCreated" not in h.types()
    assert {"type", "timestamp", "application", "asterisk_id"} <= set(start)


def test_originate_subscribe_all_sees_channel_created() -> None:
    h = Harness(subscribe_all=True)
    h.originate()
    assert h.types()[0] == "ChannelCreated"


def test_originate_errors(h: Harness) -> None:
    assert h.req("POST", "/channels", "originate", endpoint="PJSIP/nobody", app="app").status == 400
    assert h.req("POST", "/channels", "originate", endpoint="PJSIP/1000").status == 400
    r = h.req("POST", "/channels", "originate", endpoint="", app="app")
    assert r.body == {"message": "Endpoint must be specified"}
    h.originate(channelId="fixed")
    r = h.req("POST", "/channels", "originate", endpoint="PJSIP/1000", app="app", channelId="fixed")
    assert r.status == 409


def test_originate_with_id_and_variables(h: Harness) -> None:
    r = h.req(
        "POST",
        "/channels/mine",
        "originateWithId",
        path_params={"channelId": "mine"},
        endpoint="Local/wait@default",
        app="app",
        body={"variables": {"FOO": "bar"}},
    )
    assert r.status == 200 and r.body["id"] == "mine"
    assert "channelvars" not in r.body  # Asterisk shows only report_events variables there
    assert r.body["name"].endswith(";1")
    h.advance(0.1)
    assert h.chan("mine", "variable", "getChannelVar", "GET", variable="FOO").body == {"value": "bar"}


def test_busy_and_noanswer_far_ends(h: Harness) -> None:
    # As recorded on Asterisk 22 (tests/fixtures/asterisk-22.10.1/far_ends.json): the ;2 half
    # is busy (cause 17) while the ;1 half the app originated goes with cause 0.
    busy = h.originate("Local/busy@default")
    h.advance(0.1)
    assert [e["dialstatus"] for e in h.of("Dial")] == ["", "BUSY"]
    one, two = h.of("ChannelDestroyed")
    assert one["channel"]["id"] == busy and one["cause"] == 0
    assert two["channel"]["name"].endswith(";2")
    assert two["cause"] == 17 and two["cause_txt"] == "User busy"
    h.clear()
    h.originate("Local/noanswer@default", timeout=5)
    h.advance(4.9)
    assert "ChannelDestroyed" not in h.types()
    h.advance(0.2)
    assert [e["cause"] for e in h.of("ChannelDestroyed")] == [19, 19]
    assert [e["dialstatus"] for e in h.of("Dial")] == [""]


def test_originate_to_extension_stays_out_of_stasis(h: Harness) -> None:
    r = h.req("POST", "/channels", "originate", endpoint="PJSIP/1000", extension="100", context="internal")
    assert r.status == 200
    h.advance(2)
    assert h.types() == []
    assert r.body["dialplan"]["exten"] == "100"


def test_user_far_end(h: Harness) -> None:
    h.state.add_far_end("PJSIP/9*", FarEnd(ring=2.0, dtmf="42", hangup_after=5.0))
    h.state.world.endpoints["PJSIP/900"] = "online"
    cid = h.originate("PJSIP/900")
    h.advance(2.1)
    assert h.of("StasisStart")
    h.advance(1.0)
    assert [e["digit"] for e in h.of("ChannelDtmfReceived")] == ["4", "2"]
    h.advance(5)
    assert h.of("ChannelDestroyed")[0]["channel"]["id"] == cid


# -- create / dial ----------------------------------------------------------------------


def test_create_then_dial(h: Harness) -> None:
    r = h.req("POST", "/channels/create", "create", endpoint="PJSIP/1002", app="app")
    cid = r.body["id"]
    h.advance(0)
    assert h.of("StasisStart")[0]["channel"]["state"] == "Down"
    assert h.chan(cid, "dial", "dial").status == 204
    assert h.chan(cid, "dial", "dial").status == 409
    h.advance(1.5)
    assert [e["channel"]["state"] for e in h.of("ChannelStateChange")] == ["Ringing", "Up"]
    assert h.of("Dial")[-1]["dialstatus"] == "ANSWER"


# -- channel operations -----------------------------------------------------------------


def test_answer_only_once(h: Harness) -> None:
    cid = h.incoming(answer=False)
    assert h.of("StasisStart")[0]["channel"]["state"] == "Ring"
    assert h.chan(cid, "answer", "answer").status == 204
    assert h.chan(cid, "answer", "answer").status == 204
    assert [e["channel"]["state"] for e in h.of("ChannelStateChange")] == ["Up"]


def test_not_found_and_not_in_stasis(h: Harness) -> None:
    r = h.chan("nope", "answer", "answer")
    assert (r.status, r.body) == (404, {"message": "Channel not found"})
    r = h.req("POST", "/channels", "originate", endpoint="PJSIP/1000", extension="1")
    r = h.chan(r.body["id"], "answer", "answer")
    assert (r.status, r.body) == (409, {"message": "Channel not in Stasis application"})


def test_hangup_sequence_and_reason(h: Harness) -> None:
    cid = h.incoming()
    h.clear()
    assert h.chan(cid, "", "hangup", "DELETE", reason="busy").status == 204
    # A call that entered through Stasis() in the dialplan: the app hears no ChannelDestroyed,
    # and an ARI hangup request reports Asterisk's soft-hangup flag (32) as its cause.
    assert h.types() == ["ChannelHangupRequest", "StasisEnd"]
    assert h.of("ChannelHangupRequest")[0]["cause"] == 32
    assert h.chan(cid, "", "get", "GET").status == 404
    h.clear()
    out = h.originate("Local/wait@default")
    h.advance(0.1)
    h.clear()
    assert h.chan(out, "", "hangup", "DELETE", reason="busy").status == 204
    destroyed = h.of("ChannelDestroyed")
    assert [e["channel"]["name"][-2:] for e in destroyed] == [";1", ";2"]
    assert destroyed[0]["channel"]["id"] == out
    assert destroyed[0]["cause"] == 17 and destroyed[0]["channel"]["dialplan"]["app_name"] == "AppDial2"


def test_far_end_hangup(h: Harness) -> None:
    cid = h.incoming()
    h.clear()
    h.state.hangup(cid, 16)
    assert h.types() == ["ChannelHangupRequest", "StasisEnd"]
    assert h.of("ChannelHangupRequest")[0]["cause"] == 16


def test_ring_hold_moh_silence_send_no_hold_events(h: Harness) -> None:
    cid = h.incoming(answer=False)
    h.clear()
    h.chan(cid, "ring", "ring")
    assert h.of("ChannelStateChange")[0]["channel"]["state"] == "Ringing"
    for action, nick in (("hold", "hold"), ("moh", "startMoh"), ("silence", "startSilence"), ("progress", "progress")):
        assert h.chan(cid, action, nick).status == 204
    assert h.chan(cid, "mute", "mute", direction="both").status == 204
    assert "ChannelHold" not in h.types()


def test_variables(h: Harness) -> None:
    cid = h.incoming()
    r = h.chan(cid, "variable", "getChannelVar", "GET", variable="X")
    assert r.status == 404
    h.chan(cid, "variable", "setChannelVar", variable="X", value="1")
    assert h.of("ChannelVarset")[0]["variable"] == "X"
    assert h.chan(cid, "variable", "getChannelVar", "GET", variable="X").body == {"value": "1"}
    h.req(
        "POST",
        f"/channels/{cid}/variables",
        "setChannelVars",
        path_params={"channelId": cid},
        body={"variables": {"A": "a", "B": "b"}},
    )
    r = h.chan(cid, "variables", "getChannelVars", "GET", variables="A,B")
    assert r.body == {"variables": {"A": "a", "B": "b"}}
    assert h.chan(cid, "variable", "getChannelVar", "GET", variable="CALLERID(num)").body == {"value": "1000"}


def test_echo_far_end_reports_dtmf_as_it_hangs_up(h: Harness) -> None:
    # As recorded (local_halves): Echo() on the ;2 half reports the digits only at its end.
    cid = h.originate("Local/echo@default")
    h.advance(0.1)
    h.chan(cid, "dtmf", "sendDTMF", dtmf="12#", between=100, duration=100)
    h.advance(1)
    assert h.of("ChannelDtmfReceived") == []
    assert h.chan(cid, "dtmf", "sendDTMF").status == 400
    h.chan(cid, "", "hangup", "DELETE")
    h.advance(0.1)
    assert [e["digit"] for e in h.of("ChannelDtmfReceived")] == ["1", "2", "#"]


def test_incoming_dtmf_spaced(h: Harness) -> None:
    cid = h.incoming()
    h.state.dtmf(cid, "123", gap=0.5)
    h.advance(0.6)
    assert len(h.of("ChannelDtmfReceived")) == 2
    h.advance(1)
    assert h.of("ChannelDtmfReceived")[2]["digit"] == "3"


def test_move_and_move_failed() -> None:
    h = Harness(apps=("app", "other"))
    cid = h.incoming()
    h.clear()
    h.chan(cid, "move", "move", app="ghost")
    assert h.types() == ["ApplicationMoveFailed"]
    h.chan(cid, "move", "move", app="other", appArgs="x")
    assert h.types("app")[-1] == "StasisEnd"
    assert h.of("StasisStart", "other")[0]["args"] == ["x"]


def test_continue_in_dialplan(h: Harness) -> None:
    cid = h.incoming()
    h.clear()
    h.chan(cid, "continue", "continueInDialplan", context="c", extension="e", priority=3)
    assert h.types() == ["StasisEnd"]
    r = h.chan(cid, "", "get", "GET")
    assert r.body["dialplan"]["context"] == "c" and r.body["dialplan"]["priority"] == 3
    assert h.chan(cid, "answer", "answer").status == 409


def test_snoop_and_external_media(h: Harness) -> None:
    cid = h.incoming()
    r = h.chan(cid, "snoop", "snoopChannel", spy="in", app="app", appArgs="s")
    assert r.status == 200 and r.body["name"].startswith("Snoop/")
    h.advance(0)
    assert h.of("StasisStart")[-1]["args"] == ["s"]
    r = h.req(
        "POST", "/channels/externalMedia", "externalMedia", app="app", external_host="127.0.0.1:4000", format="ulaw"
    )
    assert r.body["name"].startswith("UnicastRTP/")
    assert set(r.body["channelvars"]) == {"UNICASTRTP_LOCAL_ADDRESS", "UNICASTRTP_LOCAL_PORT"}
    h.state.hangup(cid)
    # A snoop channel entered Stasis by itself: the app hears its StasisEnd, not its end.
    assert [e for e in h.of("StasisEnd") if e["channel"]["name"].startswith("Snoop")]
    assert not [e for e in h.of("ChannelDestroyed") if e["channel"]["name"].startswith("Snoop")]


def test_rtp_statistics(h: Harness) -> None:
    cid = h.incoming()
    h.advance(2)
    body = h.chan(cid, "rtp_statistics", "rtpstatistics", "GET").body
    assert body["txcount"] == 100 and body["channel_uniqueid"] == cid


# -- bridges ----------------------------------------------------------------------------


def test_bridge_lifecycle() -> None:
    h = Harness(apps=("app", "spy"))
    h.state.app_connected("spy", True)
    r = h.req("POST", "/bridges", "create", type="mixing", name="b")
    bid = r.body["id"]
    assert r.body["bridge_type"] == "mixing" and r.body["technology"] == "simple_bridge"
    assert h.types("app") == [] and h.types("spy") == ["BridgeCreated"]
    assert h.req("POST", "/bridges/x", "createWithId", path_params={"bridgeId": bid}).status == 409
    a, b = h.incoming(), h.incoming()
    assert h.bridge(bid, "addChannel", "addChannel", channel=f"{a},{b}").status == 204
    entered = h.of("ChannelEnteredBridge")
    assert [e["channel"]["id"] for e in entered] == [a, b]
    assert entered[-1]["bridge"]["channels"] == [a, b]
    assert h.bridge(bid, "addChannel", "addChannel", channel="nope").status == 400
    assert h.bridge("nope", "addChannel", "addChannel", channel=a).status == 404
    assert h.bridge(bid, "removeChannel", "removeChannel", channel=a).status == 204
    assert h.bridge(bid, "removeChannel", "removeChannel", channel=a).status == 422
    h.clear()
    h.bridge(bid, "", "destroy", "DELETE")
    # As recorded on Asterisk 22: the app of a channel still in the bridge hears it leave
    # (BRIDGEPEER cleared first) but not the bridge go.
    assert h.types() == ["ChannelVarset", "ChannelLeftBridge"]
    assert h.bridge(bid, "", "get", "GET").body == {"message": "Bridge not found"}


def test_holding_bridge_and_video_source(h: Harness) -> None:
    r = h.req("POST", "/bridges", "create", type="holding")
    assert r.body["technology"] == "holding_bridge"
    bid = h.req("POST", "/bridges", "create").body["id"]
    cid = h.incoming()
    assert h.req("POST", "", "setVideoSource", path_params={"bridgeId": bid, "channelId": cid}).status == 422
    h.bridge(bid, "addChannel", "addChannel", channel=cid)
    h.req("POST", "", "setVideoSource", path_params={"bridgeId": bid, "channelId": cid})
    assert h.bridge(bid, "", "get", "GET").body["video_source_id"] == cid


def test_originate_into_an_app_extension_enters_through_the_dialplan(h: Harness) -> None:
    # Recorded on Asterisk 22 (dialplan_entry.json): the ;1 half runs app-<name>, enters the
    # app at priority 2, and the app hears nothing of it after StasisEnd.
    r = h.req(
        "POST",
        "/channels",
        "originate",
        endpoint="Local/dtmf@default",
        extension="app-app",
        context="default",
        channelId="in1",
    )
    assert r.body["dialplan"]["app_name"] == "AppDial2" and r.body["dialplan"]["exten"] == "dtmf"
    h.advance(0.1)
    start = h.of("StasisStart")[0]["channel"]
    assert (start["id"], start["dialplan"]["exten"], start["dialplan"]["priority"]) == ("in1", "app-app", 2)
    assert h.types()[0] == "StasisStart"  # nothing of the dialling: the app did not originate
    h.advance(2)
    assert [e["digit"] for e in h.of("ChannelDtmfReceived")] == list("123#")
    h.clear()
    h.chan("in1", "", "hangup", "DELETE")
    h.advance(1)
    assert h.types() == ["ChannelHangupRequest", "StasisEnd"]


def test_bridge_destroyed_reaches_the_app_once_its_channel_hung_up_in_it(h: Harness) -> None:
    bid = h.req("POST", "/bridges", "create").body["id"]
    cid = h.originate("Local/wait@default")
    h.advance(0.1)
    h.bridge(bid, "addChannel", "addChannel", channel=cid)
    h.chan(cid, "", "hangup", "DELETE")
    h.clear()
    h.bridge(bid, "", "destroy", "DELETE")
    assert h.types() == ["BridgeDestroyed"]


def test_hangup_in_bridge_order(h: Harness) -> None:
    bid = h.req("POST", "/bridges", "create").body["id"]
    cid = h.incoming()
    h.bridge(bid, "addChannel", "addChannel", channel=cid)
    h.clear()
    h.chan(cid, "", "hangup", "DELETE")
    assert h.types() == ["ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd"]


# -- playbacks --------------------------------------------------------------------------


def test_playback_list_sequence(h: Harness) -> None:
    cid = h.incoming()
    h.clear()
    r = h.chan(cid, "play", "play", media="sound:hello-world,sound:goodbye")
    assert r.status == 201 and r.body["state"] == "queued"
    assert r.headers["Location"] == "/playbacks/" + r.body["id"]
    h.advance(0)
    assert h.of("PlaybackStarted")[0]["playback"]["state"] == "playing"
    h.advance(1.3)
    assert h.types() == ["PlaybackStarted", "PlaybackContinuing", "PlaybackStarted"]
    h.advance(1)
    finished = h.of("PlaybackFinished")[0]["playback"]
    assert finished["state"] == "done" and finished["media_uri"] == "sound:goodbye"


def test_playbacks_queue_on_one_channel(h: Harness) -> None:
    cid = h.incoming()
    h.chan(cid, "play", "play", media="sound:hello-world")
    r = h.req("POST", "", "playWithId", path_params={"channelId": cid, "playbackId": "p2"}, media="sound:goodbye")
    assert r.status == 201
    assert (
        h.req(
            "POST", "", "playWithId", path_params={"channelId": cid, "playbackId": "p2"}, media="sound:goodbye"
        ).status
        == 409
    )
    h.advance(0.5)
    assert h.req("GET", "/playbacks/p2", "get", path_params={"playbackId": "p2"}).body["state"] == "queued"
    h.advance(1.0)
    assert h.req("GET", "/playbacks/p2", "get", path_params={"playbackId": "p2"}).body["state"] == "playing"


def test_playback_stop_control_and_unknown(h: Harness) -> None:
    cid = h.incoming()
    pid = h.chan(cid, "play", "play", media="sound:demo-congrats").body["id"]
    pp = {"playbackId": pid}
    h.advance(1)
    h.req("POST", "", "control", path_params=pp, operation="pause")
    h.advance(100)
    assert not h.of("PlaybackFinished")
    assert len(h.of("PlaybackStarted")) == 1  # a pause publishes no event
    h.req("POST", "", "control", path_params=pp, operation="unpause")
    # Each unpause publishes the playing state again (as recorded: playback_control).
    assert [e["playback"]["state"] for e in h.of("PlaybackStarted")] == ["playing", "playing"]
    h.req("POST", "", "control", path_params=pp, operation="forward")
    h.advance(8.9)
    assert h.of("PlaybackFinished")
    pid = h.chan(cid, "play", "play", media="tone:ring").body["id"]
    h.advance(1000)
    assert len(h.of("PlaybackFinished")) == 1
    assert h.req("DELETE", "", "stop", path_params={"playbackId": pid}).status == 204
    assert h.of("PlaybackFinished")[-1]["playback"]["state"] == "done"
    assert h.req("GET", "", "get", path_params={"playbackId": pid}).body == {"message": "Playback not found"}
    h.chan(cid, "play", "play", media="sound:no-such-sound")
    h.advance(0)
    assert h.of("PlaybackFinished")[-1]["playback"]["state"] == "failed"


def test_bridge_playback(h: Harness) -> None:
    bid = h.req("POST", "/bridges", "create").body["id"]
    cid = h.incoming()
    h.bridge(bid, "addChannel", "addChannel", channel=cid)
    r = h.bridge(bid, "play", "play", media="digits:123")
    assert r.body["target_uri"] == "bridge:" + bid
    h.advance(2)
    assert h.of("PlaybackFinished")


# -- recordings -------------------------------------------------------------------------


def _file(h: Harness, name: str) -> bytes:
    r = h.req("GET", "", "getStoredFile", path_params={"recordingName": name})
    assert r.status == 200 and r.content_type == "audio/wav"
    assert r.raw is not None
    return r.raw


def test_recording_silent_leg_is_header_only(h: Harness) -> None:
    cid = h.originate("Local/wait@default")
    h.advance(0.1)
    r = h.chan(cid, "record", "record", name="quiet", format="wav", maxDurationSeconds=3)
    assert r.status == 201 and r.body["state"] == "queued"
    h.advance(0)
    assert h.of("RecordingStarted")[0]["recording"]["state"] == "recording"
    h.advance(3)
    # A leg that sends no frame ends the recording after 4 s, whatever its limits (as
    # recorded: recording_silent, "No audio available" in __ast_play_and_record).
    assert not h.of("RecordingFinished")
    h.advance(1)
    done = h.of("RecordingFinished")[0]["recording"]
    # As on Asterisk 22: a leg that sends no audio gives duration 0, and the talking /
    # silence split is reported only when silence detection (maxSilenceSeconds) is on.
    assert done["duration"] == 0 and "talking_duration" not in done
    assert len(_file(h, "quiet")) == WAV_HEADER_BYTES


def test_recording_moh_leg_holds_sound(h: Harness) -> None:
    cid = h.originate("Local/moh@default")
    h.advance(0.1)
    h.chan(cid, "record", "record", name="music", format="wav")
    h.advance(2)
    h.req("POST", "", "stop", path_params={"recordingName": "music"})
    data = _file(h, "music")
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
        assert w.getnframes() == 16000


def test_recording_of_playback_and_terminate_on(h: Harness) -> None:
    cid = h.incoming()
    h.chan(cid, "record", "record", name="r", format="wav", terminateOn="#")
    h.chan(cid, "play", "play", media="sound:hello-world")
    h.advance(3)
    h.state.dtmf(cid, "1#")
    h.advance(1)
    rec = h.of("RecordingFinished")[0]["recording"]
    assert rec["duration"] == 3  # a phone sends frames all along, sound or not
    assert len(_file(h, "r")) > WAV_HEADER_BYTES


def test_recording_conflicts_and_formats(h: Harness) -> None:
    cid = h.incoming()
    assert h.chan(cid, "record", "record", name="x", format="mp9").status == 422
    h.chan(cid, "record", "record", name="x", format="wav", maxDurationSeconds=1)
    h.advance(2)
    assert h.chan(cid, "record", "record", name="x", format="wav").status == 409
    assert h.chan(cid, "record", "record", name="x", format="wav", ifExists="overwrite").status == 201
    h.advance(0)
    h.req("DELETE", "", "cancel", path_params={"recordingName": "x"})
    # Asterisk 22 reports a cancelled recording as done, of no length, and keeps no file.
    canceled = h.of("RecordingFinished")[-1]["recording"]
    assert (canceled["state"], canceled["duration"]) == ("done", 0)
    rp = {"recordingName": "x"}
    assert h.req("POST", "", "copyStored", path_params=rp, destinationRecordingName="y").status == 200
    assert h.req("POST", "", "copyStored", path_params=rp, destinationRecordingName="y").status == 409
    names = [s["name"] for s in h.req("GET", "/recordings/stored", "listStored").body]
    assert names == ["x", "y"]
    assert h.req("DELETE", "", "deleteStored", path_params=rp).status == 204
    assert h.req("GET", "", "getStored", path_params=rp).status == 404


def test_recording_pause_mute_live_get(h: Harness) -> None:
    cid = h.originate("Local/moh@default")
    h.advance(0.1)
    h.chan(cid, "record", "record", name="p", format="wav", maxSilenceSeconds=30)
    rp = {"recordingName": "p"}
    h.advance(1)
    h.req("POST", "", "pause", path_params=rp)
    assert h.req("GET", "", "getLive", path_params=rp).body["state"] == "paused"
    h.advance(5)
    h.req("DELETE", "", "unpause", path_params=rp)
    h.req("POST", "", "mute", path_params=rp)
    h.advance(1)
    h.req("POST", "", "stop", path_params=rp)
    rec = h.of("RecordingFinished")[0]["recording"]
    assert (rec["duration"], rec["talking_duration"], rec["silence_duration"]) == (2, 1, 1)


def test_channel_in_bridge_cannot_record(h: Harness) -> None:
    bid = h.req("POST", "/bridges", "create").body["id"]
    cid = h.incoming()
    h.bridge(bid, "addChannel", "addChannel", channel=cid)
    assert h.chan(cid, "record", "record", name="z", format="wav").status == 409
    assert h.bridge(bid, "record", "record", name="z", format="wav").status == 201


# -- system resources -------------------------------------------------------------------


def test_device_states() -> None:
    h = Harness()
    h.req("POST", "", "subscribe", path_params={"applicationName": "app"}, eventSource="deviceState:Stasis:lamp")
    dp = {"deviceName": "Stasis:lamp"}
    assert h.req("PUT", "", "update", path_params=dp, deviceState="BUSY").status == 204
    assert h.of("DeviceStateChanged")[0]["device_state"] == {"name": "Stasis:lamp", "state": "BUSY"}
    assert h.req("GET", "/deviceStates/x", "get", path_params=dp).body["state"] == "BUSY"
    assert h.req("PUT", "", "update", path_params={"deviceName": "PJSIP/1000"}, deviceState="BUSY").status == 409
    assert h.req("DELETE", "/deviceStates/x", "delete", path_params=dp).status == 204
    assert h.req("GET", "/deviceStates", "list").body == []


def test_mailboxes(h: Harness) -> None:
    mp = {"mailboxName": "1000@default"}
    assert h.req("GET", "/mailboxes/x", "get", path_params=mp).status == 404
    h.req("PUT", "/mailboxes/x", "update", path_params=mp, oldMessages=1, newMessages=2)
    assert h.req("GET", "/mailboxes/x", "get", path_params=mp).body == {
        "name": "1000@default",
        "old_messages": 1,
        "new_messages": 2,
    }
    assert h.req("DELETE", "/mailboxes/x", "delete", path_params=mp).status == 204


def test_endpoints_and_messages(h: Harness) -> None:
    eps = h.req("GET", "/endpoints", "list").body
    assert {"technology": "PJSIP", "resource": "1000", "state": "online", "channel_ids": []} in eps
    ep = {"tech": "PJSIP", "resource": "1000"}
    assert h.req("GET", "/endpoints/x/y", "get", path_params=ep).status == 200
    assert h.req("GET", "/endpoints/x/y", "get", path_params={"tech": "PJSIP", "resource": "zz"}).status == 404
    h.req("POST", "", "subscribe", path_params={"applicationName": "app"}, eventSource="endpoint:PJSIP/1000")
    assert (
        h.req(
            "PUT", "/endpoints/sendMessage", "sendMessage", to="pjsip:1000", query_={"from": "x", "body": "hi"}
        ).status
        == 204
    )
    assert h.of("TextMessageReceived")[0]["message"]["body"] == "hi"
    cid = h.incoming()
    assert h.req("GET", "/endpoints/x/y", "get", path_params=ep).body["channel_ids"] == [cid]


def test_sounds(h: Harness) -> None:
    sounds = h.req("GET", "/sounds", "list", lang="fr").body
    assert sounds and all(f["language"] == "fr" for s in sounds for f in s["formats"])
    assert h.req("GET", "/sounds/x", "get", path_params={"soundId": "hello-world"}).status == 200
    assert h.req("GET", "/sounds/x", "get", path_params={"soundId": "nope"}).status == 404


def test_asterisk_resources(h: Harness) -> None:
    info = h.req("GET", "/asterisk/info", "getInfo", only="system").body
    assert list(info) == ["system"] and info["system"]["version"] == "22.10.1"
    assert h.req("GET", "/asterisk/ping", "ping").body["ping"] == "pong"
    mp = {"moduleName": "res_ari.so"}
    assert h.req("GET", "", "getModule", path_params=mp).body["status"] == "Running"
    assert h.req("DELETE", "", "unloadModule", path_params=mp).status == 204
    assert h.req("GET", "", "getModule", path_params=mp).status == 404
    assert h.req("POST", "", "loadModule", path_params=mp).status == 204
    assert h.req("POST", "", "loadModule", path_params={"moduleName": "x.so"}).status == 409
    assert h.req("GET", "/asterisk/variable", "getGlobalVar", variable="G").body == {"value": ""}
    h.req("POST", "/asterisk/variable", "setGlobalVar", variable="G", value="1")
    assert h.req("GET", "", "getGlobalVar", variable="G").body == {"value": "1"}
    lp = {"logChannelName": "debug.log"}
    assert h.req("POST", "", "addLog", path_params=lp, configuration="DEBUG").status == 204
    assert h.req("POST", "", "addLog", path_params=lp, configuration="DEBUG").status == 409
    assert h.req("DELETE", "", "deleteLog", path_params=lp).status == 204
    cp = {"configClass": "res_pjsip", "objectType": "endpoint", "id": "2000"}
    assert h.req("GET", "", "getObject", path_params=cp).status == 404
    r = h.req(
        "PUT", "", "updateObject", path_params=cp, body={"fields": [{"attribute": "context", "value": "default"}]}
    )
    assert r.body == [{"attribute": "context", "value": "default"}]
    assert h.req("DELETE", "", "deleteObject", path_params=cp).status == 204


def test_applications_subscribe_filter_and_user_events(h: Harness) -> None:
    ap = {"applicationName": "app"}
    assert [a["name"] for a in h.req("GET", "/applications", "list").body] == ["app"]
    assert h.req("GET", "", "get", path_params={"applicationName": "x"}).status == 404
    bid = h.req("POST", "/bridges", "create").body["id"]
    assert h.req("POST", "", "subscribe", path_params=ap, eventSource="bridge:nope").status == 422
    assert h.req("POST", "", "subscribe", path_params=ap, eventSource="foo:x").status == 400
    r = h.req("POST", "", "subscribe", path_params=ap, eventSource="bridge:" + bid)
    assert r.body["bridge_ids"] == [bid]
    h.req("DELETE", "", "unsubscribe", path_params=ap, eventSource="bridge:" + bid)
    assert (
        h.req("DELETE", "", "unsubscribe", path_params=ap, eventSource="bridge:" + bid).status == 422
    )  # "Event source was not subscribed to"
    h.req("PUT", "", "filter", path_params=ap, body={"disallowed": [{"type": "ChannelVarset"}]})
    cid = h.incoming()
    h.chan(cid, "variable", "setChannelVar", variable="A", value="1")
    assert "ChannelVarset" not in h.types()
    r = h.req(
        "POST",
        "",
        "userEvent",
        path_params={"eventName": "ping"},
        application="app",
        source="channel:" + cid,
        body={"variables": {"k": "v"}},
    )
    assert r.status == 204
    ue = h.of("ChannelUserevent")[0]
    assert ue["eventname"] == "ping" and ue["userevent"] == {"eventname": "ping", "k": "v"}
    assert ue["channel"]["id"] == cid
    assert h.req("POST", "", "userEvent", path_params={"eventName": "x"}, application="ghost").status == 404


def test_unknown_operation_is_501(h: Harness) -> None:
    assert h.req("GET", "/foo", "bar").status == 501


# -- media helpers ----------------------------------------------------------------------


def test_media_durations() -> None:
    sounds = Harness().state.world.sounds
    assert media_duration("sound:hello-world", sounds, lambda n: None) == pytest.approx(1.2)
    assert media_duration("digits:123", sounds, lambda n: None) == pytest.approx(1.8)
    assert number_words(1234) == ["digits/1", "digits/thousand", "digits/2", "digits/hundred", "digits/30", "digits/4"]
    assert tone_duration("ring") is None
    assert tone_duration("!350+440/100,!0/100") == pytest.approx(0.2)
    assert media_duration("recording:r", sounds, lambda n: 4.0) == 4.0


def test_catalogue_has_the_node_example_sounds() -> None:
    sounds = Harness().state.world.sounds
    for name in ("vm-dialout", "vm-leavemsg", "vm-msgsaved", "vm-nomore", "vm-next", "demo-congrats"):
        assert (media_duration("sound:" + name, sounds, lambda n: None) or 0) > 0, name


def test_many_calls_are_cheap() -> None:
    h = Harness()
    ids = [h.incoming() for _ in range(1000)]
    for cid in ids:
        h.chan(cid, "play", "play", media="sound:hello-world")
    h.advance(2)
    assert len(h.of("PlaybackFinished")) == 1000
    for cid in ids:
        h.chan(cid, "", "hangup", "DELETE")
    assert h.state.is_idle()


def test_a_recording_of_a_leg_without_frames_counts_no_silence(h: Harness) -> None:
    # As recorded (recording_silent): a Local channel whose far end waits sends no frame, so
    # the recording has no length, no talking and no silence.
    cid = h.originate("Local/wait@default")
    h.advance(0.1)
    h.chan(cid, "record", "record", name="q", format="wav", maxSilenceSeconds=30)
    h.advance(2)
    h.req("POST", "", "stop", path_params={"recordingName": "q"})
    rec = h.of("RecordingFinished")[0]["recording"]
    assert (rec["duration"], rec["talking_duration"], rec["silence_duration"]) == (0, 0, 0)
