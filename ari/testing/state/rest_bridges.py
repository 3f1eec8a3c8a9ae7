"""REST handlers of /bridges: reading and answering requests as Asterisk 22's resource_bridges.c.

Its one job is request -> engine call -> response: parse the parameters, call
``bridging.BridgeEngine`` (membership, video, music on hold, variables), serialise what it
returns.  It must not change any state nor send any event itself.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .. import errors
from ..backend import SimRequest, SimResponse
from ..media import RECORDING_FORMATS
from .objects import RECORDER, Bridge
from .params import Handler, body_vars, need, no_content, ok, q, q_list
from .rest_media import start_playback, start_recording
from .world import World

BRIDGE_TYPES = frozenset(["mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label"])


def _create(w: World, req: SimRequest, bridge_id: Optional[str]) -> SimResponse:
    types = q_list(req, "type") or ["mixing"]
    for kind in types:
        if kind not in BRIDGE_TYPES:
            raise errors.BridgeNotCreated(bridge_id or "(null)")
    w.bridging.check_new_id(bridge_id)  # before the body is read, as Asterisk does
    br = w.bridging.create(bridge_id, types, q(req, "name") or "", body_vars(req))
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
    w.bridging.destroy(_bridge(w, req))
    return no_content()


def _member_ids(req: SimRequest) -> List[str]:
    ids = q_list(req, "channel")
    if not ids:
        raise errors.MissingParameter("Missing parameter channel")
    return ids


def add_channel(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    w.bridging.add_channels(br, w.bridging.members(_member_ids(req)))
    return no_content()


def remove_channel(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    w.bridging.remove_channels(br, w.bridging.members(_member_ids(req)))
    return no_content()


def set_video_source(w: World, req: SimRequest) -> SimResponse:
    w.bridging.set_video_source(_bridge(w, req), req.path_params["channelId"])
    return no_content()


def clear_video_source(w: World, req: SimRequest) -> SimResponse:
    w.bridging.clear_video_source(_bridge(w, req))
    return no_content()


def _moh(value: bool) -> Handler:
    def handler(w: World, req: SimRequest) -> SimResponse:
        w.bridging.set_moh(_bridge(w, req), value)
        return no_content()

    return handler


def play(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    return start_playback(w, req, "bridge:" + br.id, q(req, "playbackId"), "en")


def play_with_id(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    return start_playback(w, req, "bridge:" + br.id, req.path_params["playbackId"], "en")


def record(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    fmt = q(req, "format") or ""
    if fmt not in RECORDING_FORMATS:
        raise errors.UnknownRecordingFormat(fmt)
    try:
        if not q(req, "name"):
            raise errors.RecordingNameMissing()
        return start_recording(w, req, "bridge:" + br.id)
    except errors.SimError:
        # resource_bridges.c pushes its Recorder channel into the bridge as soon as the
        # format is known, before it reads the other options: a request refused after
        # that still had a recorder join the bridge (BRIDGEPEER names it, as recorded).
        w.calls.bridge_helper(br, RECORDER, replace=True)
        raise


def get_var(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    name = need(req, "variable", "Variable name is required")
    return ok({"value": w.bridging.variable(br, name)})


def set_var(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    name = need(req, "variable", "Variable name is required")
    w.bridging.set_variables(br, {name: q(req, "value") or ""})
    return no_content()


def get_vars(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    names = q_list(req, "variables")
    if not names:
        raise errors.VariablesRequired()
    return ok({"variables": w.bridging.variables(br, names)})


def set_vars(w: World, req: SimRequest) -> SimResponse:
    br = _bridge(w, req)
    variables = body_vars(req)
    if not variables:
        raise errors.VariablesRequired()
    w.bridging.set_variables(br, variables)
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
