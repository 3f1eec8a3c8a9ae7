"""REST handlers of /channels: reading and answering requests as Asterisk 22's resource_channels.c.

Its one job is request -> engine call -> response: parse the parameters (refusing malformed
ones with the named errors of ``errors.py``), call ``calls.CallEngine`` or
``media_channels.MediaChannelEngine``, serialise what they return.  It must not change any
state nor send any event itself.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .. import errors
from ..backend import SimRequest, SimResponse
from ..dialplan import HANGUP_REASONS
from .calls import DTMF_DIGITS
from .objects import Channel
from .params import Handler, body_vars, need, no_content, ok, q, q_int, q_list
from .rest_media import start_playback, start_recording
from .world import World

# externalMedia takes a codec name (as in the UnicastRTP dial string's c() option), not a
# file format: "slin16", where recordings say "sln16".
MEDIA_CODECS = frozenset(
    [
        "ulaw",
        "alaw",
        "gsm",
        "g722",
        "g726",
        "g726aal2",
        "g729",
        "g723",
        "ilbc",
        "lpc10",
        "speex",
        "speex16",
        "speex32",
        "opus",
        "siren7",
        "siren14",
        "adpcm",
        "testlaw",
        "slin",
    ]
    + [f"slin{rate}" for rate in (12, 16, 24, 32, 44, 48, 96, 192)]
)


# transfer_progress's states (res/ari/resource_channels.c).
TRANSFER_STATES = frozenset({"channel_progress", "channel_answered", "channel_unavailable", "channel_declined"})


def _args(req: SimRequest) -> List[str]:
    value = q(req, "appArgs")
    return value.split(",") if value else []


def _originate(w: World, req: SimRequest, chan_id: Optional[str]) -> SimResponse:
    endpoint = need(req, "endpoint", "Endpoint must be specified")
    app = q(req, "app")
    extension = q(req, "extension")
    # Asterisk 22 lets app win over a lone extension (recorded: 200, into the app).
    if app and (q(req, "context") or q(req, "label")):
        raise errors.AppExclusive()
    if app:
        extension = None
    if extension and q(req, "label"):
        raise errors.LabelNotFound()  # the test dialplan has no labels
    if not app and not extension:
        raise errors.AppOrExtensionRequired()
    if "/" not in endpoint:
        raise errors.InvalidEndpoint()
    other_id = q(req, "otherChannelId")
    w.calls.check_new_ids(chan_id, other_id)
    far = w.calls.reach(endpoint)
    ch = w.calls.originate(
        endpoint,
        far,
        chan_id,
        other_id,
        caller=q(req, "callerId"),
        variables=body_vars(req),
        app=app,
        args=_args(req),
        context=q(req, "context"),
        extension=extension,
        priority=q_int(req, "priority", 1),
        timeout=q_int(req, "timeout", 30),
    )
    # Asterisk answers with the new channel (Down) and dials from another thread.
    return ok(ch.to_json())


def originate(w: World, req: SimRequest) -> SimResponse:
    return _originate(w, req, q(req, "channelId"))


def originate_with_id(w: World, req: SimRequest) -> SimResponse:
    return _originate(w, req, req.path_params["channelId"])


def create(w: World, req: SimRequest) -> SimResponse:
    endpoint = need(req, "endpoint", "Endpoint must be specified")
    app = need(req, "app", "Application must be specified")
    chan_id, other_id = q(req, "channelId"), q(req, "otherChannelId")
    w.calls.check_new_ids(chan_id, other_id)
    if "/" not in endpoint:
        raise errors.InvalidEndpoint()
    far = w.calls.reach(endpoint)
    ch = w.calls.create(endpoint, far, chan_id, other_id, variables=body_vars(req), app=app, args=_args(req))
    return ok(ch.to_json())


def _stasis(w: World, req: SimRequest) -> Channel:
    return w.stasis_channel(req.path_params["channelId"])


def dial(w: World, req: SimRequest) -> SimResponse:
    # resource_channels.c looks the Stasis control up first, as every channel operation.
    ch = _stasis(w, req)
    w.calls.dial_created(ch, q(req, "caller"), q_int(req, "timeout", 0))
    return no_content()


def list_channels(w: World, req: SimRequest) -> SimResponse:
    return ok([ch.to_json() for ch in w.channels.values()])


def get(w: World, req: SimRequest) -> SimResponse:
    return ok(w.channel(req.path_params["channelId"]).to_json())


def hangup(w: World, req: SimRequest) -> SimResponse:
    ch = w.channel(req.path_params["channelId"])
    code = q(req, "reason_code")
    reason = q(req, "reason")
    if code and reason:
        raise errors.ReasonAndCode()
    if code:
        try:
            cause = int(code)
        except ValueError:
            raise errors.InvalidHangupReason() from None
    elif reason:
        if reason not in HANGUP_REASONS:
            raise errors.InvalidHangupReason()
        cause = HANGUP_REASONS[reason]
    else:
        cause = 16
    w.calls.hangup(ch, cause, soft=True)
    return no_content()


def answer(w: World, req: SimRequest) -> SimResponse:
    w.calls.answer(_stasis(w, req))
    return no_content()


def ring(w: World, req: SimRequest) -> SimResponse:
    w.calls.ring(_stasis(w, req))
    return no_content()


def ring_stop(w: World, req: SimRequest) -> SimResponse:
    w.calls.ring_stop(_stasis(w, req))
    return no_content()


def send_dtmf(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    dtmf = q(req, "dtmf") or ""
    if not dtmf:
        raise errors.DtmfRequired()
    if any(d not in DTMF_DIGITS and d not in ",wW" for d in dtmf):
        raise errors.InvalidDtmf()
    w.calls.send_dtmf(
        ch,
        dtmf,
        q_int(req, "before", 0),
        q_int(req, "between", 100),
        q_int(req, "duration", 100),
        q_int(req, "after", 0),
    )
    return no_content()


def mute(w: World, req: SimRequest) -> SimResponse:
    # The channel first, then the direction Asterisk requires despite the described default.
    ch = _stasis(w, req)
    w.calls.mute(ch, need(req, "direction", "Direction is required"))
    return no_content()


def unmute(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    w.calls.unmute(ch, need(req, "direction", "Direction is required"))
    return no_content()


def _moh(value: bool) -> Handler:
    def handler(w: World, req: SimRequest) -> SimResponse:
        w.calls.set_moh(_stasis(w, req), value)
        return no_content()

    return handler


def _accepted(w: World, req: SimRequest) -> SimResponse:
    """progress, hold, unhold, startSilence, stopSilence: nothing an application observes
    changes (ChannelHold comes from channel drivers, not from ARI's hold; silence is no sound)."""
    _stasis(w, req)
    return no_content()


def play(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    return start_playback(w, req, "channel:" + ch.id, q(req, "playbackId"), ch.language)


def play_with_id(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    return start_playback(w, req, "channel:" + ch.id, req.path_params["playbackId"], ch.language)


def record(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    if ch.bridge_id is not None:
        raise errors.ChannelBridged()
    return start_recording(w, req, "channel:" + ch.id)


def get_var(w: World, req: SimRequest) -> SimResponse:
    if req.path_params["channelId"] not in w.channels:
        raise errors.ProvidedChannelNotFound()
    ch = _stasis(w, req)
    name = need(req, "variable", "Variable name is required")
    return ok({"value": w.calls.variable(ch, name)})


def set_var(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    name = need(req, "variable", "Variable name is required")
    w.calls.set_variable(ch, name, q(req, "value") or "", report=(q(req, "report_events") or "").lower() == "true")
    return no_content()


def get_vars(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    names = q_list(req, "variables")
    if not names:
        raise errors.VariablesRequired()
    return ok({"variables": w.calls.variables(ch, names)})


def set_vars(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    variables = body_vars(req)
    if not variables:
        raise errors.VariablesRequired()
    for name, value in variables.items():
        w.calls.set_variable(ch, name, value)
    return no_content()


def continue_in_dialplan(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    priority = q(req, "priority")
    w.calls.continue_in_dialplan(ch, q(req, "context"), q(req, "extension"), int(priority) if priority else None)
    return no_content()


def move(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    w.calls.move(ch, need(req, "app", "app is required"), _args(req))
    return no_content()


def redirect(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    endpoint = need(req, "endpoint", "Endpoint parameter not provided")
    tech, _, resource = endpoint.partition("/")
    if not resource:
        raise errors.EndpointNotProvided()
    w.calls.redirect(ch, tech)
    return no_content()


def _snoop(w: World, req: SimRequest, snoop_id: Optional[str]) -> SimResponse:
    if req.path_params["channelId"] not in w.channels:
        raise errors.ProvidedChannelNotFound()
    target = w.channel(req.path_params["channelId"])
    spy, whisper = q(req, "spy") or "none", q(req, "whisper") or "none"
    if spy == "none" and whisper == "none":
        raise errors.SpyOrWhisperRequired()
    w.calls.check_new_ids(snoop_id)
    app = need(req, "app", "Application name is required")
    snoop = w.media_channels.snoop(target, snoop_id, app, _args(req))
    return ok(snoop.to_json())


def snoop_channel(w: World, req: SimRequest) -> SimResponse:
    return _snoop(w, req, q(req, "snoopId"))


def snoop_channel_with_id(w: World, req: SimRequest) -> SimResponse:
    return _snoop(w, req, req.path_params["snoopId"])


def external_media(w: World, req: SimRequest) -> SimResponse:
    # The checks and their order are ast_ari_channels_external_media's (22.10).
    app = need(req, "app", "app cannot be empty")
    host = q(req, "external_host")
    transport = q(req, "transport") or "udp"
    encapsulation = q(req, "encapsulation") or "rtp"
    connection_type = q(req, "connection_type") or "client"
    if transport == "websocket" and encapsulation != "none":
        raise errors.WebSocketNeedsNoEncapsulation()
    if encapsulation == "rtp" and transport != "udp":
        raise errors.RtpNeedsUdp()
    if encapsulation == "audiosocket" and transport != "tcp":
        raise errors.AudioSocketNeedsTcp()
    if transport != "websocket" and connection_type == "server":
        raise errors.ServerNeedsWebSocket()
    if not host:
        if connection_type == "client":
            raise errors.ExternalHostRequired()
        host = "INCOMING"
    remote = None
    if transport == "websocket":
        if connection_type == "client" and host not in w.media.clients:
            raise errors.UnknownWebSocketClient()
    else:
        remote = _host_port(host)
        if remote is None:
            raise errors.ExternalHostNotHostPort()
    fmt = need(req, "format", "format cannot be empty")
    direction = q(req, "direction")
    if direction and direction not in ("both", "in", "out"):
        raise errors.InvalidMediaDirection()
    if fmt not in MEDIA_CODECS:
        raise errors.UnknownCodec(fmt)
    chan_id = q(req, "channelId")
    w.calls.check_new_ids(chan_id)
    if transport == "websocket":
        options = q(req, "transport_data") or ""
        # The endpoint Asterisk dials, less its "WebSocket/": what its Dial events name.
        dialstring = host + (f"/{options}" if options else "/" if direction else "")
        dialstring += f"d({direction})" if direction else ""
        ch = w.media_channels.external_websocket(
            app,
            fmt,
            None if host == "INCOMING" else host,
            chan_id,
            body_vars(req),
            dialstring=dialstring,
            json_format=_option(options, "f") == "json",
            direction=direction or _option(options, "d") or "both",
            auto_answer="n" not in _bare_options(options),
            query=(_option(options, "v") or "").replace(",", "&"),
        )
    else:
        ch = w.media_channels.external_media(
            app, host, encapsulation, transport, chan_id, body_vars(req), fmt=fmt, remote=remote
        )
    answer = ch.to_json()
    # The variables the channel driver set (the answer shows the channel's variables; GET and
    # events do not).
    shown = {k: v for k, v in ch.vars.items() if k.startswith(("UNICASTRTP_", "MEDIA_WEBSOCKET_"))}
    if shown:
        answer["channelvars"] = {**answer.get("channelvars", {}), **shown}
    return ok(answer)


def _host_port(host: str) -> Optional[Tuple[str, int]]:
    name, sep, port = host.rpartition(":")
    if not sep or not port.isdigit() or not name:
        return None
    return name.strip("[]"), int(port)


def _option(options: str, letter: str) -> Optional[str]:
    """The argument of a dial option ``x(arg)`` in ``transport_data``."""
    at = options.find(letter + "(")
    if at < 0:
        return None
    end = options.find(")", at)
    return options[at + 2 : end] if end > at else None


def _bare_options(options: str) -> str:
    """The option letters outside any ``(...)`` argument."""
    out, depth = [], 0
    for char in options:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(char)
    return "".join(out)


def rtp_statistics(w: World, req: SimRequest) -> SimResponse:
    ch = w.channel(req.path_params["channelId"])
    if ch.technology in ("Local", "Snoop", "WebSocket", "AudioSocket"):
        raise errors.UnsupportedChannelType()  # no RTP instance at all (a 403 there)
    if ch.technology not in ("PJSIP", "SIP"):
        # UnicastRTP: no statistics until RTP has flowed both ways.
        raise errors.RtpInfoNotFound()
    elapsed = w.now() - ch.answered_at if ch.answered_at is not None else 0.0
    packets = int(elapsed * 50)  # 20 ms packetisation
    return ok(
        {
            "txcount": packets,
            "rxcount": packets,
            "txjitter": 0.0,
            "rxjitter": 0.0,
            "txploss": 0,
            "rxploss": 0,
            "rtt": 0.0,
            "local_ssrc": 1234567,
            "remote_ssrc": 7654321,
            "txoctetcount": packets * 160,
            "rxoctetcount": packets * 160,
            "channel_uniqueid": ch.id,
        }
    )


def transfer_progress(w: World, req: SimRequest) -> SimResponse:
    _stasis(w, req)
    states = need(req, "states", "states is required")
    if states not in TRANSFER_STATES:
        raise errors.InvalidTransferStates()
    return no_content()


HANDLERS: Dict[Tuple[str, str], Handler] = {
    ("channels", "list"): list_channels,
    ("channels", "originate"): originate,
    ("channels", "originateWithId"): originate_with_id,
    ("channels", "create"): create,
    ("channels", "get"): get,
    ("channels", "dial"): dial,
    ("channels", "hangup"): hangup,
    ("channels", "answer"): answer,
    ("channels", "ring"): ring,
    ("channels", "ringStop"): ring_stop,
    ("channels", "progress"): _accepted,
    ("channels", "sendDTMF"): send_dtmf,
    ("channels", "mute"): mute,
    ("channels", "unmute"): unmute,
    ("channels", "hold"): _accepted,
    ("channels", "unhold"): _accepted,
    ("channels", "startMoh"): _moh(True),
    ("channels", "stopMoh"): _moh(False),
    ("channels", "startSilence"): _accepted,
    ("channels", "stopSilence"): _accepted,
    ("channels", "play"): play,
    ("channels", "playWithId"): play_with_id,
    ("channels", "record"): record,
    ("channels", "getChannelVar"): get_var,
    ("channels", "setChannelVar"): set_var,
    ("channels", "getChannelVars"): get_vars,
    ("channels", "setChannelVars"): set_vars,
    ("channels", "continueInDialplan"): continue_in_dialplan,
    ("channels", "move"): move,
    ("channels", "redirect"): redirect,
    ("channels", "snoopChannel"): snoop_channel,
    ("channels", "snoopChannelWithId"): snoop_channel_with_id,
    ("channels", "externalMedia"): external_media,
    ("channels", "rtpstatistics"): rtp_statistics,
    ("channels", "transfer_progress"): transfer_progress,
}
