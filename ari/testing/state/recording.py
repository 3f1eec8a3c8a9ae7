"""Live recordings over simulated time and the stored recordings they leave.

Its one job is the life of a LiveRecording (``queued`` -> RecordingStarted ``recording`` ->
RecordingFinished ``done``/``canceled``), measuring how much of its time the target was
audible (``talking_duration``) or silent, honouring maxDurationSeconds, maxSilenceSeconds,
terminateOn, pause and mute, and storing the result as a StoredRecording whose file holds
only the captured sound.  It must not parse requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

from .. import errors
from .objects import RECORDER, LiveRecording, StoredRecording

if TYPE_CHECKING:
    from .world import World

BEEP_SECONDS = 0.25
#: How long a recording waits for a first frame before it ends (__ast_play_and_record).
NO_AUDIO_SECONDS = 4.0


class RecordingEngine:
    def __init__(self, world: World) -> None:
        self.w = world

    def _route(self, rec: LiveRecording) -> Dict[str, Any]:
        kind, _, ident = rec.target_uri.partition(":")
        if kind == "channel":
            return {"channels": [self.w.channels.get(ident)]}
        return {"bridge": self.w.bridges.get(ident)}

    def _audible(self, rec: LiveRecording) -> bool:
        kind, _, ident = rec.target_uri.partition(":")
        if kind == "channel":
            ch = self.w.channels.get(ident)
            return ch is not None and self.w.channel_audible(ch)
        br = self.w.bridges.get(ident)
        return br is not None and self.w.bridge_audible(br)

    def _framed(self, rec: LiveRecording) -> bool:
        """Audio frames reach the recording even when silent: a phone sends them all the time;
        a Local channel whose far end runs Wait() sends none (duration 0 on Asterisk)."""
        kind, _, ident = rec.target_uri.partition(":")
        br = self.w.bridges.get(ident) if kind == "bridge" else None
        if br is not None and br.bridge_type == "mixing" and br.technology() == "softmix":
            return True  # softmix mixes a frame every 20 ms for each channel, silence too
        members = [ident] if kind == "channel" else list(getattr(br, "channels", []))
        for cid in members:
            ch = self.w.channels.get(cid)
            while ch is not None and ch.snoop_of is not None:
                ch = self.w.channels.get(ch.snoop_of)
            if ch is not None and ch.technology not in ("Local", "Snoop"):
                return True
        return False

    def _set_target(self, rec: LiveRecording, name: Any) -> None:
        kind, _, ident = rec.target_uri.partition(":")
        target: Any = (self.w.channels if kind == "channel" else self.w.bridges).get(ident)
        if target is not None:
            target.recording = name

    def record(
        self,
        name: str,
        fmt: str,
        target_uri: str,
        *,
        max_duration: int,
        max_silence: int,
        terminate_on: str,
        if_exists: str,
        beep: bool,
    ) -> LiveRecording:
        """A new live recording of ``target_uri``; refused while ``name`` is taken."""
        if name in self.w.live_recordings or (if_exists == "fail" and name in self.w.stored):
            raise errors.RecordingExists(name)
        rec = LiveRecording(name, fmt, target_uri)
        rec.max_silence = max_silence
        rec.terminate_on = terminate_on
        rec.if_exists = if_exists
        self.start(rec, max_duration, beep)
        return rec

    def in_session(self, name: str) -> LiveRecording:
        """The live recording ``name`` while it records or is paused (else 404 / 409)."""
        rec = self.w.live_recording(name)
        if rec.state not in ("recording", "paused"):
            raise errors.RecordingNotInSession()
        return rec

    def copy_stored(self, name: str, destination: str) -> StoredRecording:
        stored = self.w.stored_recording(name)
        if destination in self.w.stored:
            raise errors.StoredRecordingExists()
        copy = StoredRecording(destination, stored.format, stored.sound, stored.duration)
        self.w.stored[destination] = copy
        return copy

    def delete_stored(self, name: str) -> None:
        if self.w.stored.pop(name, None) is None:
            raise errors.RecordingNotFound()

    def start(self, rec: LiveRecording, max_duration: int, beep: bool) -> None:
        self.w.live_recordings[rec.name] = rec
        self._set_target(rec, rec.name)
        delay = BEEP_SECONDS if beep else 0.0
        rec.timers.append(self.w.later(delay, lambda: self._begin(rec, max_duration)))

    def _begin(self, rec: LiveRecording, max_duration: int) -> None:
        if self.w.live_recordings.get(rec.name) is not rec:
            return
        rec.state = "recording"
        kind, _, ident = rec.target_uri.partition(":")
        if kind == "channel" and ident in self.w.channels:
            self.w.calls.media_flows(self.w.channels[ident])
        elif kind == "bridge" and ident in self.w.bridges:
            self.w.calls.bridge_helper(self.w.bridges[ident], RECORDER, replace=True)
        rec.last = rec.started = self.w.now()
        rec.last_audible = self._audible(rec)
        rec.max_duration = max_duration
        self.w.emit("RecordingStarted", {"recording": rec.to_json()}, **self._route(rec))
        if rec.last_audible or self._framed(rec):
            self._limits(rec)
        else:
            # __ast_play_and_record checks its limits as frames come; with none it gives up
            # after two ast_waitfor(chan, 2000) ("No audio available"): 4 s whatever the
            # limits (as recorded: recording_silent, both recordings).
            rec.no_audio = self.w.later(NO_AUDIO_SECONDS, lambda: self.finish(rec.name, "done"))

    def _limits(self, rec: LiveRecording) -> None:
        if rec.no_audio is not None:
            rec.no_audio.cancel()
            rec.no_audio = None
        if rec.max_duration > 0:
            left = max(0.0, rec.max_duration - (self.w.now() - rec.started))
            rec.timers.append(self.w.later(left, lambda: self.finish(rec.name, "done")))
        self._silence_watch(rec)

    def _accumulate(self, rec: LiveRecording) -> None:
        now = self.w.now()
        if rec.state in ("recording",) and not rec.paused and (rec.last_audible or self._framed(rec)):
            # Only frames are counted: a leg that sends none has no silence either (as
            # recorded: talking 0, silence 0 on a Local channel whose far end waits).
            rec.frames += now - rec.last
            if rec.last_audible and not rec.muted:
                rec.talking += now - rec.last
            else:
                rec.silent += now - rec.last
        rec.last = now

    def _silence_watch(self, rec: LiveRecording) -> None:
        if rec.max_silence <= 0 or rec.no_audio is not None:
            return  # no frame yet: no silence either
        hearing = rec.last_audible and not rec.muted
        if hearing or rec.paused:
            if rec.silence_timer is not None:
                rec.silence_timer.cancel()
                rec.silence_timer = None
        elif rec.silence_timer is None:
            rec.silence_timer = self.w.later(rec.max_silence, lambda: self.finish(rec.name, "done"))

    def sample(self, name: str, audible: bool) -> None:
        rec = self.w.live_recordings.get(name)
        if rec is None or rec.state == "queued":
            return
        self._accumulate(rec)
        rec.last_audible = audible
        if rec.no_audio is not None and (audible or self._framed(rec)):
            self._limits(rec)  # frames at last: the limits count from the start
            return
        self._silence_watch(rec)

    def dtmf(self, name: str, digit: str) -> None:
        rec = self.w.live_recordings.get(name)
        if rec is None or rec.state not in ("recording", "paused"):
            return
        if rec.terminate_on == "any" or rec.terminate_on == digit:
            self.finish(name, "done")

    def set_paused(self, rec: LiveRecording, paused: bool) -> None:
        self._accumulate(rec)
        rec.paused = paused
        if rec.state in ("recording", "paused"):
            rec.state = "paused" if paused else "recording"
        self._silence_watch(rec)

    def set_muted(self, rec: LiveRecording, muted: bool) -> None:
        self._accumulate(rec)
        rec.muted = muted
        self._silence_watch(rec)

    def finish(self, name: str, state: str) -> None:
        rec = self.w.live_recordings.pop(name, None)
        if rec is None:
            return
        self._accumulate(rec)
        for timer in rec.timers:
            timer.cancel()
        if rec.silence_timer is not None:
            rec.silence_timer.cancel()
        if rec.no_audio is not None:
            rec.no_audio.cancel()
            rec.no_audio = None
        self._set_target(rec, None)
        kind, _, ident = rec.target_uri.partition(":")
        if kind == "bridge" and ident in self.w.bridges:
            # The recorder leaves (a member left alone keeps naming it: as recorded,
            # bridge_media and bridge_helpers).
            self.w.calls.bridge_helper_gone(self.w.bridges[ident], RECORDER)
        canceled = state == "canceled"
        if canceled:
            # Asterisk reports a cancelled recording as done, of no length, and keeps no file.
            state, rec.frames = "done", 0.0
        rec.state = state
        if state == "done" and not canceled:
            previous = self.w.stored.get(name) if rec.if_exists == "append" else None
            sound = rec.talking + (previous.sound if previous else 0.0)
            length = rec.talking + rec.silent + (previous.duration if previous else 0.0)
            self.w.stored[name] = StoredRecording(name, rec.format, sound, length)
        self.w.emit("RecordingFinished", {"recording": rec.to_json()}, **self._route(rec))
