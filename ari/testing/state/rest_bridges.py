"""REST handlers of /bridges: checks and answers as Asterisk 22's resource_bridges.c.

Its one job is request -> engine call -> response; membership events and destruction
live in ``calls.CallEngine``.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

from ..backend import SimRequest, SimResponse
from .objects import Bridge, Channel
from .params import body_vars, need, no_content, ok, q, q_list
from .rest_media import start_playback, start_recording
from .world import AriError, World

Handler = Callable[[World, SimRequest], SimResponse]

BRIDGE_TYPES = frozenset(["mixing", "holding", "dtmf_events", "proxy_media", "video_sfu",
                          "video_single", "sdp_label"])


def _create(w: World, req: SimRequest, bridge_id: Optional[str]) -> SimResponse:
    types = q_list(req, "type") or ["mixing"]
    for kind in types:
        if kind not in BRIDGE_TYPES:
            raise AriError(400, f"Invalid bridge type '{kind}'")
    if bridge_id and bridge_id in w.bridges:
        raise AriError(409, f"Bridge with id '{bridge_id}' already exists")
    br = Bridge(bridge_id or w.unique_id().replace(".", "-") + "-br", types,
                q(req, "name") or "", w.timestamp())
    br.vars.update(body_vars(req))
    w.bridges[br.id] = br
    w.emit("BridgeCreated", {"bridge": br.to_json()}, bridge=br)
    return ok(br.to_json())


def create(w: World, req: SimRequest) -> SimResponse:
    return _create(w, req, q(req, "bridgeId"))


def create_with_id(w: World, req: SimRequest) -> SimResponse:
    return _create(w, req, req.path_params["bridgeId"])


def list_bridges(w: World, req: SimRequest) -> SimResponse:
    return ok([br.to_json() for br in w.bridges.values()])


def _bridge(w: World, req: SimRequest) -> Bridge:
    return w.bridge(req.path_params["bridgeId"])


def get(w: World, req: SimRequest) -> SimResponse:
    return ok(_bridge(w, req).to_json())


def destroy(w: World, req: SimRequest) -> SimResponse:
    w.calls.destroy_bridge(_bridge(w, req))
    return no_content()


def _members(w: World, req: SimRequest) -> List[Channel]:
    ids = q_list(req, "channel")
    if not ids:
        raise AriError(400, "Missing parameter channel")
    found = []
    for chan_id in ids:
        ch = w.channels.get(chan_id)
        if ch is None:
            raise AriError(400, "Channel not found")
        found.append(ch)
    return found


def add_channel(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    members = _members(w, req)
    for ch in members:
        if ch.app is None:
            raise AriError(422, "Channel not in Stasis application")
        if ch.recording is not None:
            raise AriError(409, "Channel currently recording")
    for ch in members:
        w.calls.enter_bridge(br, ch)
    return no_content()


def remove_channel(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    members = _members(w, req)
    for ch in members:
        if ch.bridge_id != br.id:
            raise AriError(422, "Channel not in this bridge")
    for ch in members:
        w.calls.leave_bridge(ch)
    return no_content()


def set_video_source(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    ch = w.channels.get(req.path_params["channelId"])
    if ch is None:
        raise AriError(404, "Channel not found")
    if ch.app is None:
        raise AriError(409, "Channel not in Stasis application")
    if ch.bridge_id != br.id:
        raise AriError(422, "Channel not in this bridge")
    old = br.video_source_id
    br.video_mode = "single"
    br.video_source_id = ch.id
    if old != ch.id:
        fields: Dict[str, object] = {"bridge": br.to_json()}
        if old:
            fields["old_video_source_id"] = old
        w.emit("BridgeVideoSourceChanged", fields, bridge=br)
    return no_content()


def clear_video_source(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    br.video_mode = "talker"
    br.video_source_id = None
    return no_content()


def _moh(value: bool) -> Handler:
    def handler(w: World, req: SimRequest) -> SimResponse:
        br = _bridge(w, req)
        br.moh = value
        w.audio_changed(br=br)
        return no_content()
    return handler


def play(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    return start_playback(w, req, "bridge:" + br.id, q(req, "playbackId"), "en")


def play_with_id(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    return start_playback(w, req, "bridge:" + br.id, req.path_params["playbackId"], "en")


def record(w: World, req: SimRequest) -> SimResponse:
    return start_recording(w, req, "bridge:" + _bridge(w, req).id)


def get_var(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    name = need(req, "variable", "Variable name is required")
    if name not in br.vars:
        raise AriError(404, "Provided variable was not found")
    return ok({"value": br.vars[name]})


def set_var(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    br.vars[need(req, "variable", "Variable name is required")] = q(req, "value") or ""
    return no_content()


def get_vars(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    names = q_list(req, "variables")
    if not names:
        raise AriError(400, "Variables parameter is required")
    missing = [n for n in names if n not in br.vars]
    if missing:
        raise AriError(404, "Provided variable was not found")
    return ok({"variables": {n: br.vars[n] for n in names}})


def set_vars(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    variables = body_vars(req)
    if not variables:
        raise AriError(400, "Variables parameter is required")
    br.vars.update(variables)
    return no_content()


HANDLERS: Dict[Tuple[str, str], Handler] = {
    ("bridges", "list"): list_bridges,
    ("bridges", "create"): create,
    ("bridges", "createWithId"): create_with_id,
    ("bridges", "get"): get,
    ("bridges", "destroy"): destroy,
    ("bridges", "addChannel"): add_channel,
    ("bridges", "removeChannel"): remove_channel,
    ("bridges", "setVideoSource"): set_video_source,
    ("bridges", "clearVideoSource"): clear_video_source,
    ("bridges", "startMoh"): _moh(True),
    ("bridges", "stopMoh"): _moh(False),
    ("bridges", "play"): play,
    ("bridges", "playWithId"): play_with_id,
    ("bridges", "record"): record,
    ("bridges", "getBridgeVar"): get_var,
    ("bridges", "setBridgeVar"): set_var,
    ("bridges", "getBridgeVars"): get_vars,
    ("bridges", "setBridgeVars"): set_vars,
}
