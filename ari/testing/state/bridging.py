"""Bridges as ``/bridges`` changes them: creation, membership requests, video source, music on hold, variables.

Its one job is the bridge operations an application asks for, with Asterisk 22's refusals
(the named errors of ``errors.py``) and events (BridgeCreated, BridgeVideoSourceChanged).
Entering, leaving and destroying a bridge are ``calls.CallEngine``'s, since hangups do them
too.  It must not parse requests.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Dict, List, Optional

from .. import errors
from .objects import MOH_ANNOUNCER, Bridge, Channel

if TYPE_CHECKING:
    from .world import World


class BridgeEngine:
    def __init__(self, world: World) -> None:
        self.w = world

    def check_new_id(self, bridge_id: Optional[str]) -> None:
        if bridge_id and bridge_id in self.w.bridges:
            raise errors.BridgeExists(bridge_id)

    def create(self, bridge_id: Optional[str], types: List[str], name: str, variables: Dict[str, str]) -> Bridge:
        w = self.w
        self.check_new_id(bridge_id)
        if not {"mixing", "holding", "video_sfu"} & set(types):
            # Asterisk finds no bridge technology for dtmf_events, proxy_media or video_single
            # alone, and words the failure as a duplicate id.
            raise errors.BridgeNotCreated(bridge_id or "(null)")
        br = Bridge(bridge_id or str(uuid.uuid4()), types, name, w.timestamp())
        br.vars.update(variables)
        w.bridges[br.id] = br
        w.emit("BridgeCreated", {"bridge": br.to_json()}, bridge=br)
        return br

    def members(self, ids: List[str]) -> List[Channel]:
        """The channels addChannel / removeChannel name (an unknown one is a 400 there)."""
        found = []
        for chan_id in ids:
            ch = self.w.channels.get(chan_id)
            if ch is None:
                raise errors.MemberNotFound()
            found.append(ch)
        return found

    def add_channels(self, br: Bridge, members: List[Channel]) -> None:
        for ch in members:
            if ch.app is None:
                raise errors.MemberNotInStasis()
            if ch.recording is not None:
                raise errors.ChannelRecording()
        for ch in members:
            self.w.calls.enter_bridge(br, ch)

    def remove_channels(self, br: Bridge, members: List[Channel]) -> None:
        for ch in members:
            if ch.bridge_id != br.id:
                raise errors.ChannelNotInBridge()
        for ch in members:
            self.w.calls.leave_bridge(ch)

    def destroy(self, br: Bridge) -> None:
        self.w.calls.destroy_bridge(br)

    def set_video_source(self, br: Bridge, chan_id: str) -> None:
        ch = self.w.channels.get(chan_id)
        if ch is None:
            raise errors.MemberNotFound()  # a 400 there, as for addChannel
        if ch.app is None:
            raise errors.ChannelNotInStasis()
        if ch.bridge_id != br.id:
            raise errors.ChannelNotInBridge()
        old = br.video_source_id
        br.video_mode = "single"
        br.video_source_id = ch.id
        if old != ch.id:
            fields: Dict[str, object] = {"bridge": br.to_json()}
            if old:
                fields["old_video_source_id"] = old
            self.w.emit("BridgeVideoSourceChanged", fields, bridge=br)

    def clear_video_source(self, br: Bridge) -> None:
        old = br.video_source_id
        br.video_mode = "talker"
        br.video_source_id = None
        if old:
            self.w.emit("BridgeVideoSourceChanged", {"bridge": br.to_json(), "old_video_source_id": old}, bridge=br)

    def set_moh(self, br: Bridge, value: bool) -> None:
        """Music on hold by an announcer channel that joins the bridge; it leaves on stopMoh, or
        by itself once no other channel is left (``CallEngine.leave_bridge``)."""
        if value and not br.moh:
            br.moh_id = self.w.unique_id()
            self.w.calls.bridge_helper(br, MOH_ANNOUNCER)
        elif br.moh and not value:
            br.moh_id = None
            self.w.calls.bridge_helper_gone(br, MOH_ANNOUNCER)
        br.moh = value
        self.w.audio_changed(br=br)

    # -- variables ------------------------------------------------------------------------

    def variable(self, br: Bridge, name: str) -> str:
        if name not in br.vars:
            raise errors.VariableNotFound()
        return br.vars[name]

    def variables(self, br: Bridge, names: List[str]) -> Dict[str, str]:
        if any(n not in br.vars for n in names):
            raise errors.VariableNotFound()
        return {n: br.vars[n] for n in names}

    def set_variables(self, br: Bridge, variables: Dict[str, str]) -> None:
        br.vars.update(variables)
