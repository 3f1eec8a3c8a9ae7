"""REST handlers of /playbacks, /recordings and /sounds, and the shared play/record starts.

Its one job is request -> engine call -> response for media: starting a playback or a
live recording on a channel or bridge (201 with the new object and a Location header),
controlling them, and the stored recordings and sound catalogue.  The timing lives in
``playback`` and ``recording``.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

from ..backend import SimRequest, SimResponse
from ..media import RECORDING_FORMATS, content_type, file_bytes
from .objects import LiveRecording, Playback, StoredRecording
from .params import need, no_content, ok, q, q_bool, q_int, q_list
from .world import AriError, World

Handler = Callable[[World, SimRequest], SimResponse]


def start_playback(w: World, req: SimRequest, target_uri: str, playback_id: Optional[str],
                   language: str) -> SimResponse:
    media = q_list(req, "media")
    if not media:
        raise AriError(400, "media parameter is required")
    announcer = q(req, "announcer_format")
    if announcer and announcer not in RECORDING_FORMATS:
        raise AriError(422, f"Requested announcer format '{announcer}' is unknown")
    if playback_id and playback_id in w.playbacks:
        raise AriError(409, "A playback with the same id already exists")
    pb = Playback(playback_id or w.unique_id().replace(".", "-") + "-pb", media, target_uri,
                  q(req, "lang") or language, q_int(req, "skipms", 3000))
    w.playback.play(pb)
    return ok(pb.to_json(), 201, Location="/playbacks/" + pb.id)


def start_recording(w: World, req: SimRequest, target_uri: str) -> SimResponse:
    name = need(req, "name", "Recording name is required")
    fmt = need(req, "format", "Recording format is required")
    if fmt not in RECORDING_FORMATS:
        raise AriError(422, f"Unknown format: {fmt}")
    max_duration = q_int(req, "maxDurationSeconds", 0)
    max_silence = q_int(req, "maxSilenceSeconds", 0)
    if max_duration < 0:
        raise AriError(400, "maxDurationSeconds cannot be negative")
    if max_silence < 0:
        raise AriError(400, "maxSilenceSeconds cannot be negative")
    if_exists = q(req, "ifExists") or "fail"
    if name in w.live_recordings or (if_exists == "fail" and name in w.stored):
        raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
    rec = LiveRecording(name, fmt, target_uri)
    rec.max_silence = max_silence
    rec.terminate_on = q(req, "terminateOn") or "none"
    rec.if_exists = if_exists
    w.recording.start(rec, max_duration, q_bool(req, "beep"))
    return ok(rec.to_json(), 201, Location="/recordings/live/" + name)


# -- /playbacks -------------------------------------------------------------------------


def _playback(w: World, req: SimRequest) -> Playback:
    pb = w.playbacks.get(req.path_params["playbackId"])
    if pb is None:
        raise AriError(404, "Playback not found")
    return pb


def playback_get(w: World, req: SimRequest) -> SimResponse:
    return ok(_playback(w, req).to_json())


def playback_stop(w: World, req: SimRequest) -> SimResponse:
    w.playback.stop(_playback(w, req))
    return no_content()


def playback_control(w: World, req: SimRequest) -> SimResponse:
    pb = _playback(w, req)
    operation = need(req, "operation", "operation is required")
    if operation not in ("restart", "pause", "unpause", "reverse", "forward"):
        raise AriError(400, f"Invalid operation {operation}")
    w.playback.control(pb, operation)
    return no_content()


# -- /recordings ------------------------------------------------------------------------


def _stored_name(req: SimRequest) -> str:
    return req.path_params["recordingName"]


def list_stored(w: World, req: SimRequest) -> SimResponse:
    return ok([w.stored[n].to_json() for n in sorted(w.stored)])


def get_stored(w: World, req: SimRequest) -> SimResponse:
    stored = w.stored.get(_stored_name(req))
    if stored is None:
        raise AriError(404, "Recording not found")
    return ok(stored.to_json())


def delete_stored(w: World, req: SimRequest) -> SimResponse:
    if w.stored.pop(_stored_name(req), None) is None:
        raise AriError(404, "Recording not found")
    return no_content()


def get_stored_file(w: World, req: SimRequest) -> SimResponse:
    stored = w.stored.get(_stored_name(req))
    if stored is None:
        raise AriError(404, "Recording not found")
    return SimResponse(200, raw=file_bytes(stored.format, stored.sound),
                       content_type=content_type(stored.format))


def copy_stored(w: World, req: SimRequest) -> SimResponse:
    stored = w.stored.get(_stored_name(req))
    if stored is None:
        raise AriError(404, "Recording not found")
    dest = need(req, "destinationRecordingName", "destinationRecordingName is required")
    if dest in w.stored:
        raise AriError(409, "A recording with the same name already exists on the system")
    copy = StoredRecording(dest, stored.format, stored.sound, stored.duration)
    w.stored[dest] = copy
    return ok(copy.to_json())


def _live(w: World, req: SimRequest) -> LiveRecording:
    rec = w.live_recordings.get(_stored_name(req))
    if rec is None:
        raise AriError(404, "Recording not found")
    return rec


def get_live(w: World, req: SimRequest) -> SimResponse:
    return ok(_live(w, req).to_json())


def live_stop(w: World, req: SimRequest) -> SimResponse:
    w.recording.finish(_live(w, req).name, "done")
    return no_content()


def live_cancel(w: World, req: SimRequest) -> SimResponse:
    w.recording.finish(_live(w, req).name, "canceled")
    return no_content()


def _in_session(w: World, req: SimRequest) -> LiveRecording:
    rec = _live(w, req)
    if rec.state not in ("recording", "paused"):
        raise AriError(409, "Recording not in session")
    return rec


def live_pause(w: World, req: SimRequest) -> SimResponse:
    w.recording.set_paused(_in_session(w, req), True)
    return no_content()


def live_unpause(w: World, req: SimRequest) -> SimResponse:
    w.recording.set_paused(_in_session(w, req), False)
    return no_content()


def live_mute(w: World, req: SimRequest) -> SimResponse:
    w.recording.set_muted(_in_session(w, req), True)
    return no_content()


def live_unmute(w: World, req: SimRequest) -> SimResponse:
    w.recording.set_muted(_in_session(w, req), False)
    return no_content()


# -- /sounds ----------------------------------------------------------------------------


def list_sounds(w: World, req: SimRequest) -> SimResponse:
    lang, fmt = q(req, "lang"), q(req, "format")
    out = []
    for sound in w.sounds.values():
        pairs = [(lg, f) for lg, f in sound.formats
                 if (lang is None or lg == lang) and (fmt is None or f == fmt)]
        if pairs:
            out.append({"id": sound.id, "text": sound.text,
                        "formats": [{"language": lg, "format": f} for lg, f in pairs]})
    return ok(out)


def get_sound(w: World, req: SimRequest) -> SimResponse:
    sound = w.sounds.get(req.path_params["soundId"])
    if sound is None:
        raise AriError(404, "Sound not found")
    return ok(sound.to_json())


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
    ("recordings", "pause"): live_pause,
    ("recordings", "unpause"): live_unpause,
    ("recordings", "mute"): live_mute,
    ("recordings", "unmute"): live_unmute,
    ("sounds", "list"): list_sounds,
    ("sounds", "get"): get_sound,
}
