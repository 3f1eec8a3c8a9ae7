"""Playbacks over simulated time: queueing per target, media lists, control, stop.

Its one job is the life of a Playback: ``queued`` in the 201 answer, then PlaybackStarted,
PlaybackContinuing between the items of a media list (and PlaybackStarted for each item),
and PlaybackFinished (``done``, or ``failed`` for media Asterisk cannot play).  Playbacks on
one channel or bridge play one after another, as Asterisk queues them.  It must not parse
requests.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .. import errors
from ..media import MediaError, MediaLost, media_duration
from .objects import ANNOUNCER, Playback

if TYPE_CHECKING:
    from .world import World


class PlaybackEngine:
    def __init__(self, world: World) -> None:
        self.w = world
        self.active: Dict[str, str] = {}  # target_uri -> playback id
        self.queues: Dict[str, List[str]] = {}

    def _route(self, pb: Playback) -> Dict[str, Any]:
        kind, _, ident = pb.target_uri.partition(":")
        if kind == "channel":
            return {"channels": [self.w.channels.get(ident)]}
        return {"bridge": self.w.bridges.get(ident)}

    def _emit(self, event_type: str, pb: Playback) -> None:
        self.w.emit(event_type, {"playback": pb.to_json()}, **self._route(pb))

    def _sounding(self, pb: Playback, delta: int) -> None:
        kind, _, ident = pb.target_uri.partition(":")
        if kind == "channel":
            ch = self.w.channels.get(ident)
            if ch is not None:
                ch.playing += delta
                self.w.audio_changed(ch)
        else:
            br = self.w.bridges.get(ident)
            if br is not None:
                br.playing += delta
                self.w.audio_changed(br=br)

    def recording_seconds(self, name: str) -> Optional[float]:
        stored = self.w.stored.get(name)
        return None if stored is None else stored.duration

    # -- lifecycle ------------------------------------------------------------------------

    def start(
        self, target_uri: str, media: List[str], playback_id: Optional[str], language: str, skipms: int
    ) -> Playback:
        """A new playback of ``media`` on ``target_uri`` (``channel:ID`` / ``bridge:ID``)."""
        if playback_id and playback_id in self.w.playbacks:
            raise errors.PlaybackExists()
        pb = Playback(playback_id or str(uuid.uuid4()), media, target_uri, language, skipms)
        self.play(pb)
        return pb

    def play(self, pb: Playback) -> None:
        self.w.playbacks[pb.id] = pb
        if pb.target_uri in self.active:
            self.queues.setdefault(pb.target_uri, []).append(pb.id)
        else:
            self.active[pb.target_uri] = pb.id
            # Asterisk answers 201 first and starts the playback on the channel's thread.
            pb.timer = self.w.later(0.0, lambda: self._item(pb, first=True))

    def _item(self, pb: Playback, first: bool = False) -> None:
        uri = pb.media[pb.index]
        try:
            length = media_duration(uri, self.w.sounds, self.recording_seconds)
        except MediaLost:
            pb.state = "playing"
            self._emit("PlaybackStarted", pb)
            self._vanish(pb)
            return
        except MediaError:
            pb.state = "playing"
            self._emit("PlaybackStarted", pb)
            self._finish(pb, "failed", sounding=not first)
            return
        pb.state = "playing"
        pb.item_length = length
        pb.remaining = length
        pb.started_at = self.w.now()
        pb.paused = False
        self._emit("PlaybackStarted", pb)
        if first:
            self._sounding(pb, +1)
            kind, _, ident = pb.target_uri.partition(":")
            if kind == "channel" and ident in self.w.channels:
                self.w.calls.media_flows(self.w.channels[ident])
            elif kind == "bridge" and ident in self.w.bridges:
                br = self.w.bridges[ident]
                if not self.w.calls.has_helper(br, ANNOUNCER):  # queued ones play through the same
                    self.w.calls.bridge_helper(br, ANNOUNCER)
        self._schedule(pb)

    def _schedule(self, pb: Playback) -> None:
        if pb.timer is not None:
            pb.timer.cancel()
            pb.timer = None
        if pb.remaining is not None:
            pb.started_at = self.w.now()
            pb.timer = self.w.later(pb.remaining, lambda: self._item_done(pb))

    def _item_done(self, pb: Playback) -> None:
        pb.timer = None
        if pb.id not in self.w.playbacks:
            return
        if pb.index + 1 < len(pb.media):
            pb.state = "continuing"
            self._emit("PlaybackContinuing", pb)
            pb.index += 1
            self._item(pb)
        else:
            self._finish(pb, "done")

    def _vanish(self, pb: Playback) -> None:
        """Gone without PlaybackFinished (as recorded on Asterisk 22 for a lost medium)."""
        self.w.playbacks.pop(pb.id, None)
        self._next(pb)

    def _next(self, pb: Playback) -> None:
        if self.active.get(pb.target_uri) == pb.id:
            del self.active[pb.target_uri]
            queue = self.queues.get(pb.target_uri)
            if queue:
                nxt = self.w.playbacks[queue.pop(0)]
                if not queue:
                    del self.queues[pb.target_uri]
                self.active[pb.target_uri] = nxt.id
                self._item(nxt, first=True)
                return
            kind, _, ident = pb.target_uri.partition(":")
            if kind == "bridge" and ident in self.w.bridges:
                # Nothing more to play: the announcer leaves the bridge (its control thread
                # runs out of commands and hangs it up; as recorded: bridge_helpers).
                self.w.calls.bridge_helper_gone(self.w.bridges[ident], ANNOUNCER)

    def _finish(self, pb: Playback, state: str, sounding: bool = True) -> None:
        if pb.timer is not None:
            pb.timer.cancel()
            pb.timer = None
        pb.state = state
        self.w.playbacks.pop(pb.id, None)
        self._emit("PlaybackFinished", pb)
        if sounding:
            self._sounding(pb, -1)
        self._next(pb)

    # -- requests -------------------------------------------------------------------------

    def stop(self, pb: Playback) -> None:
        if pb.state == "queued":
            queue = self.queues.get(pb.target_uri, [])
            if pb.id in queue:
                queue.remove(pb.id)
            if self.active.get(pb.target_uri) == pb.id:
                # Not started yet (its start is scheduled): cancel it and start the next.
                self._finish(pb, "done", sounding=False)
                return
            self.w.playbacks.pop(pb.id, None)
            pb.state = "done"
            self._emit("PlaybackFinished", pb)
            return
        self._finish(pb, "done")

    def stop_target(self, target_uri: str) -> None:
        pid = self.active.get(target_uri)
        if pid is not None and pid in self.w.playbacks:
            self.drop_queue(target_uri)
            self.stop(self.w.playbacks[pid])

    def drop_queue(self, target_uri: str) -> None:
        for pid in self.queues.pop(target_uri, []):
            self.w.playbacks.pop(pid, None)

    def _left(self, pb: Playback) -> Optional[float]:
        if pb.remaining is None:
            return None
        if pb.paused:
            return pb.remaining
        return pb.remaining - (self.w.now() - pb.started_at)

    def control(self, pb: Playback, operation: str) -> None:
        if pb.state not in ("playing", "paused"):
            if operation == "pause":
                raise errors.PauseNotPlaying()
            raise errors.PlaybackNotControllable()
        left = self._left(pb)
        if operation == "pause":
            if not pb.paused:
                pb.remaining = left
                pb.paused = True
                pb.state = "paused"
                if pb.timer is not None:
                    pb.timer.cancel()
                    pb.timer = None
            return
        if operation == "unpause":
            # playback_unpause (res_stasis_playback.c) publishes the playing state each time,
            # paused or not: a PlaybackStarted (as recorded).
            pb.state = "playing"
            self._emit("PlaybackStarted", pb)
            if pb.paused:
                pb.paused = False
                self._schedule(pb)
            return
        if pb.item_length is None or left is None:
            return  # a tone has no position to move
        skip = pb.skipms / 1000.0
        if operation == "restart":
            pb.remaining = pb.item_length
        elif operation == "reverse":
            pb.remaining = min(pb.item_length, left + skip)
        elif operation == "forward":
            pb.remaining = left - skip
            if pb.remaining <= 0:
                self._item_done(pb)
                return
        else:
            raise errors.InvalidPlaybackOperation(operation)
        if not pb.paused:
            self._schedule(pb)
