"""REST handlers of /playbacks, /recordings and /sounds, and the shared play/record starts.

Its one job is request -> engine call -> response for media: reading a play or record
request on a channel or bridge (answered 201 with the new object and a Location header),
controlling playbacks and live recordings, the stored recordings and the sound catalogue.
The state and timing live in ``playback.PlaybackEngine`` and ``recording.RecordingEngine``;
it must not change any state nor send any event itself.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

from .. import errors
from ..backend import SimRequest, SimResponse
from ..media import RECORDING_FORMATS, content_type, file_bytes
from .params import Handler, need, no_content, ok, q, q_bool, q_int, q_list
from .world import World


def start_playback(
    w: World, req: SimRequest, target_uri: str, playback_id: Optional[str], language: str
) -> SimResponse:
    media = q_list(req, "media")
    if not media:
        raise errors.MediaRequired()
    announcer = q(req, "announcer_format")
    if announcer and announcer not in RECORDING_FORMATS:
        raise errors.UnknownAnnouncerFormat(announcer)
    pb = w.playback.start(target_uri, media, playback_id, q(req, "lang") or language, q_int(req, "skipms", 3000))
    return ok(pb.to_json(), 201, Location="/playbacks/" + pb.id)


def start_recording(w: World, req: SimRequest, target_uri: str) -> SimResponse:
    name = need(req, "name", "Recording name is required")
    fmt = need(req, "format", "Recording format is required")
    if fmt not in RECORDING_FORMATS:
        raise errors.UnknownRecordingFormat(fmt)
    max_duration = q_int(req, "maxDurationSeconds", 0)
    max_silence = q_int(req, "maxSilenceSeconds", 0)
    if max_duration < 0:
        raise errors.NegativeLimit("maxDurationSeconds")
    if max_silence < 0:
        raise errors.NegativeLimit("maxSilenceSeconds")
    rec = w.recording.record(
        name,
        fmt,
        target_uri,
        max_duration=max_duration,
        max_silence=max_silence,
        terminate_on=q(req, "terminateOn") or "none",
        if_exists=q(req, "ifExists") or "fail",
        beep=q_bool(req, "beep"),
    )
    return ok(rec.to_json(), 201, Location="/recordings/live/" + name)


# -- /playbacks -------------------------------------------------------------------------


def playback_get(w: World, req: SimRequest) -> SimResponse:
    return ok(w.find_playback(req.path_params["playbackId"]).to_json())


def playback_stop(w: World, req: SimRequest) -> SimResponse:
    w.playback.stop(w.find_playback(req.path_params["playbackId"]))
    return no_content()


def playback_control(w: World, req: SimRequest) -> SimResponse:
    pb = w.find_playback(req.path_params["playbackId"])
    operation = need(req, "operation", "operation is required")
    if operation not in ("restart", "pause", "unpause", "reverse", "forward"):
        raise errors.InvalidPlaybackOperation(operation)
    w.playback.control(pb, operation)
    return no_content()


# -- /recordings ------------------------------------------------------------------------


def _name(req: SimRequest) -> str:
    return req.path_params["recordingName"]


def list_stored(w: World, req: SimRequest) -> SimResponse:
    return ok([w.stored[n].to_json() for n in sorted(w.stored)])


def get_stored(w: World, req: SimRequest) -> SimResponse:
    return ok(w.stored_recording(_name(req)).to_json())


def delete_stored(w: World, req: SimRequest) -> SimResponse:
    w.recording.delete_stored(_name(req))
    return no_content()


def get_stored_file(w: World, req: SimRequest) -> SimResponse:
    stored = w.stored_recording(_name(req))
    return SimResponse(200, raw=file_bytes(stored.format, stored.sound), content_type=content_type(stored.format))


def copy_stored(w: World, req: SimRequest) -> SimResponse:
    name = w.stored_recording(_name(req)).name
    dest = need(req, "destinationRecordingName", "destinationRecordingName is required")
    return ok(w.recording.copy_stored(name, dest).to_json())


def get_live(w: World, req: SimRequest) -> SimResponse:
    return ok(w.live_recording(_name(req)).to_json())


def live_stop(w: World, req: SimRequest) -> SimResponse:
    w.recording.finish(w.live_recording(_name(req)).name, "done")
    return no_content()


def live_cancel(w: World, req: SimRequest) -> SimResponse:
    w.recording.finish(w.live_recording(_name(req)).name, "canceled")
    return no_content()


def _session(setter: str, value: bool) -> Handler:
    def handler(w: World, req: SimRequest) -> SimResponse:
        rec = w.recording.in_session(_name(req))
        getattr(w.recording, setter)(rec, value)
        return no_content()

    return handler


# -- /sounds ----------------------------------------------------------------------------


def list_sounds(w: World, req: SimRequest) -> SimResponse:
    lang, fmt = q(req, "lang"), q(req, "format")
    out = []
    for sound in w.sounds.values():
        pairs = [(lg, f) for lg, f in sound.formats if (lang is None or lg == lang) and (fmt is None or f == fmt)]
        if pairs:
            out.append(sound.to_json(pairs))
    if not out:
        raise errors.NoSoundsMatched()
    return ok(out)


def get_sound(w: World, req: SimRequest) -> SimResponse:
    return ok(w.sound(req.path_params["soundId"]).to_json())


HANDLERS: Dict[Tuple[str, str], Handler] = {
    ("playbacks", "get"): playback_get,
    ("playbacks", "stop"): playback_stop,
    ("playbacks", "control"): playback_control,
    ("recordings", "listStored"): list_stored,
    ("recordings", "getStored"): get_stored,
    ("recordings", "deleteStored"): delete_stored,
    ("recordings", "getStoredFile"): get_stored_file,
    ("recordings", "copyStored"): copy_stored,
    ("recordings", "getLive"): get_live,
    ("recordings", "cancel"): live_cancel,
    ("recordings", "stop"): live_stop,
    ("recordings", "pause"): _session("set_paused", True),
    ("recordings", "unpause"): _session("set_paused", False),
    ("recordings", "mute"): _session("set_muted", True),
    ("recordings", "unmute"): _session("set_muted", False),
    ("sounds", "list"): list_sounds,
    ("sounds", "get"): get_sound,
}
