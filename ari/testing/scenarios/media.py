"""Playback and recording scenarios: one sound, a list, control, unknown sound and scheme;
live and stored recordings with real audio and with silence.  Only recorder moves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Tuple

from .base import Scenario, call_in, hang_up

if TYPE_CHECKING:
    from ..record import Runner


def playback_one(r: Runner) -> None:
    app = "rec-play1"
    r.open(app)
    r.step("call")
    chan = call_in(r, app)
    r.step("play")
    pb = r.new_id("pb")
    r.ok("POST", f"/channels/{chan}/play", {"media": "sound:hello-world", "playbackId": pb, "lang": "en"})
    r.wait("PlaybackStarted", playback__id=pb)
    r.rest("GET", f"/playbacks/{pb}")
    r.wait("PlaybackFinished", playback__id=pb)
    r.rest("GET", f"/playbacks/{pb}")
    r.step("play-generated-id")
    made = r.ok("POST", f"/channels/{chan}/play", {"media": "sound:beep"})
    r.wait("PlaybackFinished", playback__id=made["id"])
    r.step("play-with-id")
    pb2 = r.new_id("pb")
    r.ok("POST", f"/channels/{chan}/play/{pb2}", {"media": "digits:12"})
    r.wait("PlaybackFinished", playback__id=pb2)
    r.step("other-schemes")
    for media in ("number:42", "characters:ab", "tone:ring;tonezone=us"):
        pid = r.new_id("pb")
        r.ok("POST", f"/channels/{chan}/play", {"media": media, "playbackId": pid})
        r.wait("PlaybackStarted", playback__id=pid)
        if media.startswith("tone:"):
            r.sleep(0.3)
            r.ok("DELETE", f"/playbacks/{pid}")
        r.wait("PlaybackFinished", playback__id=pid)
    r.step("errors")
    r.rest("POST", f"/channels/{chan}/play")
    r.rest("POST", f"/channels/{chan}/play/{pb2}", {"media": "sound:beep"})
    r.rest("GET", "/playbacks/nosuchplayback")
    r.rest("DELETE", "/playbacks/nosuchplayback")
    r.rest("POST", "/playbacks/nosuchplayback/control", {"operation": "pause"})
    r.sleep(0.5)
    r.step("hangup")
    hang_up(r, chan)


def playback_list(r: Runner) -> None:
    app = "rec-playlist"
    r.open(app)
    r.step("call")
    chan = call_in(r, app)
    r.step("play-list")
    pb = r.new_id("pb")
    r.ok("POST", f"/channels/{chan}/play", {"media": "sound:beep,sound:hello-world,digits:7", "playbackId": pb})
    r.wait("PlaybackContinuing", playback__id=pb)
    r.wait("PlaybackFinished", playback__id=pb, timeout=15)
    r.step("play-list-stopped")
    pb2 = r.new_id("pb")
    r.ok("POST", f"/channels/{chan}/play", {"media": "sound:hello-world,sound:hello-world", "playbackId": pb2})
    r.wait("PlaybackStarted", playback__id=pb2)
    r.ok("DELETE", f"/playbacks/{pb2}")
    r.wait("PlaybackFinished", playback__id=pb2)
    r.step("hangup")
    hang_up(r, chan)


def playback_control(r: Runner) -> None:
    app = "rec-playctl"
    r.open(app)
    r.step("call")
    chan = call_in(r, app)
    r.step("play")
    pb = r.new_id("pb")
    r.ok("POST", f"/channels/{chan}/play", {"media": "sound:demo-congrats", "playbackId": pb})
    r.wait("PlaybackStarted", playback__id=pb)
    for op in ("pause", "unpause", "restart", "forward", "reverse", "nonsense"):
        r.step(f"control-{op}")
        r.rest("POST", f"/playbacks/{pb}/control", {"operation": op})
        r.sleep(0.2)
    r.step("control-missing")
    r.rest("POST", f"/playbacks/{pb}/control")
    r.step("stop")
    r.ok("DELETE", f"/playbacks/{pb}")
    r.wait("PlaybackFinished", playback__id=pb)
    r.rest("POST", f"/playbacks/{pb}/control", {"operation": "pause"})
    r.step("queued")
    first, second = r.new_id("pb"), r.new_id("pb")
    r.ok("POST", f"/channels/{chan}/play", {"media": "sound:hello-world", "playbackId": first})
    r.ok("POST", f"/channels/{chan}/play", {"media": "sound:beep", "playbackId": second})
    r.rest("GET", f"/playbacks/{second}")
    r.rest("POST", f"/playbacks/{second}/control", {"operation": "pause"})
    r.wait("PlaybackFinished", playback__id=second, timeout=15)
    r.step("hangup")
    hang_up(r, chan)


def playback_unknown(r: Runner) -> None:
    app = "rec-playbad"
    r.open(app)
    r.step("call")
    chan = call_in(r, app)
    r.step("unknown-sound")
    pb = r.new_id("pb")
    r.rest("POST", f"/channels/{chan}/play", {"media": "sound:no-such-sound", "playbackId": pb})
    r.wait("PlaybackFinished", playback__id=pb, required=False)
    r.step("unknown-scheme")
    pb2 = r.new_id("pb")
    r.rest("POST", f"/channels/{chan}/play", {"media": "nosuchscheme:x", "playbackId": pb2})
    r.sleep(1.0)
    r.rest("GET", f"/playbacks/{pb2}")
    r.rest("DELETE", f"/playbacks/{pb2}")
    r.wait("PlaybackFinished", playback__id=pb2, required=False)
    r.step("unknown-recording")
    pb3 = r.new_id("pb")
    r.rest("POST", f"/channels/{chan}/play", {"media": "recording:no-such-recording", "playbackId": pb3})
    r.wait("PlaybackFinished", playback__id=pb3, required=False)
    r.step("hangup")
    hang_up(r, chan)


def recording_live_stored(r: Runner) -> None:
    app = "rec-record"
    r.open(app)
    r.step("call")
    chan = call_in(r, app, "moh")
    r.step("record")
    name = r.new_id("r")
    r.ok("POST", f"/channels/{chan}/record", {"name": name, "format": "wav", "maxDurationSeconds": 2, "beep": False})
    r.wait("RecordingStarted", recording__name=name)
    r.rest("GET", f"/recordings/live/{name}")
    r.wait("RecordingFinished", recording__name=name, timeout=10)
    r.step("stored")
    r.rest("GET", f"/recordings/stored/{name}")
    r.rest("GET", "/recordings/stored")
    r.rest("GET", f"/recordings/stored/{name}/file")
    r.step("copy")
    copy = r.new_id("r")
    r.rest("POST", f"/recordings/stored/{name}/copy", {"destinationRecordingName": copy})
    r.rest("POST", f"/recordings/stored/{name}/copy", {"destinationRecordingName": copy})
    r.rest("POST", "/recordings/stored/nosuchrecording/copy", {"destinationRecordingName": "x"})
    r.step("exists")
    r.rest("POST", f"/channels/{chan}/record", {"name": name, "format": "wav", "ifExists": "fail"})
    r.step("live-control")
    live = r.new_id("r")
    r.ok("POST", f"/channels/{chan}/record", {"name": live, "format": "wav", "terminateOn": "#"})
    r.wait("RecordingStarted", recording__name=live)
    for method, op in (("POST", "pause"), ("DELETE", "pause"), ("POST", "mute"), ("DELETE", "mute")):
        r.rest(method, f"/recordings/live/{live}/{op}")
    r.sleep(1.0)
    r.rest("POST", f"/recordings/live/{live}/stop")
    r.wait("RecordingFinished", recording__name=live)
    r.rest("GET", f"/recordings/stored/{live}")
    r.step("cancel")
    gone = r.new_id("r")
    r.ok("POST", f"/channels/{chan}/record", {"name": gone, "format": "wav"})
    r.wait("RecordingStarted", recording__name=gone)
    r.rest("DELETE", f"/recordings/live/{gone}")
    r.sleep(0.5)
    r.rest("GET", f"/recordings/stored/{gone}")
    r.step("errors")
    for method, path in (
        ("GET", "/live/x"),
        ("DELETE", "/live/x"),
        ("POST", "/live/x/stop"),
        ("POST", "/live/x/pause"),
        ("DELETE", "/live/x/pause"),
        ("POST", "/live/x/mute"),
        ("DELETE", "/live/x/mute"),
        ("GET", "/stored/x"),
        ("DELETE", "/stored/x"),
        ("GET", "/stored/x/file"),
    ):
        r.rest(method, "/recordings" + path.replace("/x", "/nosuchrecording"))
    r.rest("POST", f"/channels/{chan}/record", {"format": "wav"})
    r.rest("POST", f"/channels/{chan}/record", {"name": "y"})
    r.rest("POST", f"/channels/{chan}/record", {"name": "y", "format": "nosuchformat"})
    r.rest("POST", f"/channels/{chan}/record", {"name": "y", "format": "wav", "ifExists": "nonsense"})
    r.step("clean")
    for rec in (name, copy, live):
        r.rest("DELETE", f"/recordings/stored/{rec}")
    r.step("hangup")
    hang_up(r, chan)


def recording_silent(r: Runner) -> None:
    app = "rec-silent"
    r.open(app)
    r.step("call")
    chan = call_in(r, app, "wait")
    r.step("record")
    name = r.new_id("r")
    r.ok("POST", f"/channels/{chan}/record", {"name": name, "format": "wav", "maxDurationSeconds": 2})
    r.wait("RecordingFinished", recording__name=name, timeout=10)
    r.rest("GET", f"/recordings/stored/{name}")
    r.rest("GET", f"/recordings/stored/{name}/file")
    r.rest("DELETE", f"/recordings/stored/{name}")
    r.step("silence-limit")
    quiet = r.new_id("r")
    r.ok("POST", f"/channels/{chan}/record", {"name": quiet, "format": "wav", "maxSilenceSeconds": 1})
    r.wait("RecordingFinished", recording__name=quiet, timeout=10, required=False)
    r.rest("DELETE", f"/recordings/stored/{quiet}")
    r.step("hangup")
    hang_up(r, chan)


SCENARIOS: Tuple[Scenario, ...] = (
    Scenario("playback_one", "playbacks", "one playback of each media scheme; errors", playback_one),
    Scenario("playback_list", "playbacks", "a media list, played out and stopped", playback_list),
    Scenario("playback_control", "playbacks", "control operations, stop, queued playbacks", playback_control),
    Scenario("playback_unknown", "playbacks", "unknown sound, scheme and recording", playback_unknown),
    Scenario("recording_live_stored", "recordings", "live and stored recordings with audio", recording_live_stored),
    Scenario("recording_silent", "recordings", "a recording of a silent leg", recording_silent),
)
