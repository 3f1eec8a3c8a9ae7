"""REST handlers of /channels: checks and answers as Asterisk 22's resource_channels.c.

Its one job is request -> engine call -> response (status, body, wording of errors); the
channel state machine itself is ``calls.CallEngine``.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

from ..backend import SimRequest, SimResponse
from ..dialplan import HANGUP_REASONS, UnknownEndpoint
from .calls import DTMF_DIGITS, parse_caller_id
from .objects import Channel
from .params import body_vars, need, no_content, ok, q, q_int, q_list
from .rest_media import start_playback, start_recording
from .world import AriError, World

Handler = Callable[[World, SimRequest], SimResponse]

# externalMedia takes a codec name (as in the UnicastRTP dial string's c() option), not a
# file format: "slin16", where recordings say "sln16".
MEDIA_CODECS = frozenset(
    ["ulaw", "alaw", "gsm", "g722", "g726", "g726aal2", "g729", "g723", "ilbc", "lpc10",
     "speex", "speex16", "speex32", "opus", "siren7", "siren14", "adpcm", "testlaw", "slin"]
    + [f"slin{rate}" for rate in (12, 16, 24, 32, 44, 48, 96, 192)])


def _args(req: SimRequest) -> list:
    value = q(req, "appArgs")
    return value.split(",") if value else []


def _check_new_ids(w: World, *ids: Optional[str]) -> None:
    for chan_id in ids:
        if chan_id and chan_id in w.channels:
            raise AriError(409, "Channel with given unique ID already exists")


def _originate(w: World, req: SimRequest, chan_id: Optional[str]) -> SimResponse:
    endpoint = need(req, "endpoint", "Endpoint must be specified")
    app = q(req, "app")
    extension = q(req, "extension")
    if app and (extension or q(req, "context") or q(req, "label")):
        raise AriError(400, "Option 'app' is mutually exclusive with 'extension', 'context', "
                            "'priority' and 'label'")
    if not app and not extension:
        raise AriError(400, "Application or extension must be specified")
    if "/" not in endpoint:
        raise AriError(400, "Endpoint parameter is invalid")
    other_id = q(req, "otherChannelId")
    _check_new_ids(w, chan_id, other_id)
    try:
        far = w.dialplan.far_end(endpoint)
    except UnknownEndpoint:
        # The description's answer for an endpoint no channel driver can reach.
        raise AriError(400, "Invalid parameters for originating a channel.") from None
    variables = body_vars(req)
    ch = w.calls.outgoing(endpoint, far, chan_id, other_id)
    caller = q(req, "callerId")
    if caller:
        ch.caller_name, ch.caller_number = parse_caller_id(caller)
    for name, value in variables.items():
        _apply_var(ch, name, value)
        ch.channelvars[name] = value
    if app:
        ch.pending_app = app
        ch.pending_args = _args(req)
    else:
        ch.context = q(req, "context") or "default"
        ch.exten = extension or "s"
        ch.priority = q_int(req, "priority", 1)
    timeout = q_int(req, "timeout", 30)
    response = ch.to_json()
    # Asterisk answers with the new channel (Down) and dials from another thread.
    limit = None if timeout < 0 else float(timeout)
    ch.timers.append(w.later(0.0, lambda: w.calls.dial(ch, limit)))
    return ok(response)


def _apply_var(ch: Channel, name: str, value: str) -> None:
    # The dialplan functions that change what the channel JSON shows.
    if name == "CALLERID(name)":
        ch.caller_name = value
    elif name == "CALLERID(num)":
        ch.caller_number = value
    elif name == "CALLERID(all)":
        ch.caller_name, ch.caller_number = parse_caller_id(value)
    elif name == "CHANNEL(language)":
        ch.language = value
    elif name == "CHANNEL(accountcode)":
        ch.accountcode = value
    ch.vars[name] = value


def _read_var(ch: Channel, name: str) -> Optional[str]:
    builtin = {"CALLERID(name)": ch.caller_name, "CALLERID(num)": ch.caller_number,
               "CHANNEL(name)": ch.name, "CHANNEL(state)": ch.state,
               "CHANNEL(language)": ch.language, "CHANNEL(accountcode)": ch.accountcode,
               "UNIQUEID": ch.id, "CHANNEL": ch.name, "CONTEXT": ch.context,
               "EXTEN": ch.exten, "PRIORITY": str(ch.priority), "LANGUAGE()": ch.language}
    if name in ch.vars:
        return ch.vars[name]
    return builtin.get(name)


def originate(w: World, req: SimRequest) -> SimResponse:
    return _originate(w, req, q(req, "channelId"))


def originate_with_id(w: World, req: SimRequest) -> SimResponse:
    return _originate(w, req, req.path_params["channelId"])


def create(w: World, req: SimRequest) -> SimResponse:
    endpoint = need(req, "endpoint", "Endpoint must be specified")
    app = need(req, "app", "Application must be specified")
    chan_id, other_id = q(req, "channelId"), q(req, "otherChannelId")
    _check_new_ids(w, chan_id, other_id)
    if "/" not in endpoint:
        raise AriError(400, "Endpoint parameter is invalid")
    try:
        far = w.dialplan.far_end(endpoint)
    except UnknownEndpoint:
        raise AriError(400, "Invalid parameters for originating a channel.") from None
    ch = w.calls.outgoing(endpoint, far, chan_id, other_id)
    for name, value in body_vars(req).items():
        _apply_var(ch, name, value)
        ch.channelvars[name] = value
    response = ch.to_json()
    # Asterisk answers first, then its channel thread runs Stasis(): StasisStart in Down.
    args = _args(req)
    ch.timers.append(w.later(0.0, lambda: w.calls.enter_stasis(ch, app, args)))
    return ok(response)


def dial(w: World, req: SimRequest) -> SimResponse:
    # resource_channels.c looks the Stasis control up first, as every channel operation.
    ch = _stasis(w, req)
    if ch.state != "Down":
        raise AriError(409, "Channel is not in the 'Down' state")
    if ch.dialed or ch.far_end is None:
        raise AriError(409, "Channel cannot be dialed.")
    caller_id = q(req, "caller")
    if caller_id and caller_id in w.channels:
        caller = w.channels[caller_id]
        ch.connected_name, ch.connected_number = caller.caller_name, caller.caller_number
    timeout = q_int(req, "timeout", 0)
    w.calls.dial(ch, float(timeout) if timeout > 0 else None)
    return no_content()


def list_channels(w: World, req: SimRequest) -> SimResponse:
    return ok([ch.to_json() for ch in w.channels.values()])


def get(w: World, req: SimRequest) -> SimResponse:
    return ok(w.channel(req.path_params["channelId"]).to_json())


def hangup(w: World, req: SimRequest) -> SimResponse:
    ch = w.channel(req.path_params["channelId"])
    code = q(req, "reason_code")
    reason = q(req, "reason")
    if code:
        try:
            cause = int(code)
        except ValueError:
            raise AriError(400, "Invalid reason for hangup provided") from None
    elif reason:
        if reason not in HANGUP_REASONS:
            raise AriError(400, "Invalid reason for hangup provided")
        cause = HANGUP_REASONS[reason]
    else:
        cause = 16
    w.calls.hangup(ch, cause, soft=True)
    return no_content()


def _stasis(w: World, req: SimRequest) -> Channel:
    return w.stasis_channel(req.path_params["channelId"])


def answer(w: World, req: SimRequest) -> SimResponse:
    w.calls.answer(_stasis(w, req))
    return no_content()


def ring(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    if ch.state != "Up":
        w.calls.set_state(ch, "Ringing")
    return no_content()


def ring_stop(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    if ch.state == "Ringing" and not ch.dialed:
        w.calls.set_state(ch, "Ring")
    return no_content()


def progress(w: World, req: SimRequest) -> SimResponse:
    _stasis(w, req)
    return no_content()


def send_dtmf(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    dtmf = q(req, "dtmf") or ""
    if not dtmf:
        raise AriError(400, "DTMF is required")
    if any(d not in DTMF_DIGITS and d not in ",wW" for d in dtmf):
        raise AriError(400, "Invalid DTMF")
    w.calls.send_dtmf(ch, dtmf, q_int(req, "before", 0), q_int(req, "between", 100),
                      q_int(req, "duration", 100), q_int(req, "after", 0))
    return no_content()


def mute(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    ch.muted.add(q(req, "direction") or "both")
    w.audio_changed(ch)
    return no_content()


def unmute(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    direction = q(req, "direction") or "both"
    if direction == "both":
        ch.muted.clear()
    else:
        ch.muted.discard(direction)
        if "both" in ch.muted:
            ch.muted.discard("both")
            ch.muted.add("out" if direction == "in" else "in")
    w.audio_changed(ch)
    return no_content()


def _flag(attr: str, value: bool) -> Handler:
    def handler(w: World, req: SimRequest) -> SimResponse:
        ch = _stasis(w, req)
        setattr(ch, attr, value)
        if attr == "moh" and value:
            ch.silence = False
        w.audio_changed(ch)
        return no_content()
    return handler


def play(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    return start_playback(w, req, "channel:" + ch.id, q(req, "playbackId"), ch.language)


def play_with_id(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    return start_playback(w, req, "channel:" + ch.id, req.path_params["playbackId"],
                          ch.language)


def record(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    if ch.bridge_id is not None:
        raise AriError(409, "Channel is currently bridged")
    return start_recording(w, req, "channel:" + ch.id)


def get_var(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    name = need(req, "variable", "Variable name is required")
    value = _read_var(ch, name)
    if value is None:
        raise AriError(404, "Provided variable was not found")
    return ok({"value": value})


def _set_var(w: World, ch: Channel, name: str, value: str) -> None:
    _apply_var(ch, name, value)
    w.emit("ChannelVarset", {"variable": name, "value": value, "channel": ch.to_json()},
           channels=[ch])


def set_var(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    name = need(req, "variable", "Variable name is required")
    _set_var(w, ch, name, q(req, "value") or "")
    return no_content()


def get_vars(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    names = q_list(req, "variables")
    if not names:
        raise AriError(400, "Variables parameter is required")
    out: Dict[str, str] = {}
    for name in names:
        value = _read_var(ch, name)
        if value is None:
            raise AriError(404, "Provided variable was not found")
        out[name] = value
    return ok({"variables": out})


def set_vars(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    variables = body_vars(req)
    if not variables:
        raise AriError(400, "Variables parameter is required")
    for name, value in variables.items():
        _set_var(w, ch, name, value)
    return no_content()


def continue_in_dialplan(w: World, req: SimRequest) -> SimResponse:
    ch = _stasis(w, req)
    priority = q(req, "priority")
    w.calls.continue_in_dialplan(ch, q(req, "context"), q(req, "extension"),
                                 int(priority) if priority else None)
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
        raise AriError(400, "Endpoint parameter not provided")
    if tech.lower() != ch.technology.lower():
        raise AriError(422, f"Endpoint technology '{tech}' does not match channel technology '{ch.technology}'")
    # The driver sends a 302 and the channel leaves: as a far-end hangup.
    w.calls.hangup(ch, 16, soft=False)
    return no_content()


def _snoop(w: World, req: SimRequest, snoop_id: Optional[str]) -> SimResponse:
    target = w.channel(req.path_params["channelId"])
    spy, whisper = q(req, "spy") or "none", q(req, "whisper") or "none"
    if spy == "none" and whisper == "none":
        raise AriError(400, "Spy or whisper must be specified")
    _check_new_ids(w, snoop_id)
    app = need(req, "app", "Application name is required")
    snoop = w.calls.new_channel(f"Snoop/{target.id}-{w.name_suffix()}", snoop_id)
    snoop.snoop_of = target.id
    snoop.state = "Up"
    snoop.answered_at = w.now()
    target.snoops.add(snoop.id)
    w.emit("ChannelCreated", {"channel": snoop.to_json()}, channels=[snoop])
    response = snoop.to_json()
    args = _args(req)
    snoop.timers.append(w.later(0.0, lambda: w.calls.enter_stasis(snoop, app, args)))
    return ok(response)


def snoop_channel(w: World, req: SimRequest) -> SimResponse:
    return _snoop(w, req, q(req, "snoopId"))


def snoop_channel_with_id(w: World, req: SimRequest) -> SimResponse:
    return _snoop(w, req, req.path_params["snoopId"])


def external_media(w: World, req: SimRequest) -> SimResponse:
    # The checks and their wording are ast_ari_channels_external_media's (22.10).
    app = need(req, "app", "app cannot be empty")
    host = q(req, "external_host")
    transport = q(req, "transport") or "udp"
    encapsulation = q(req, "encapsulation") or "rtp"
    connection_type = q(req, "connection_type") or "client"
    if transport == "websocket" and encapsulation != "none":
        raise AriError(400, "encapsulation must be 'none' for websocket transport")
    if encapsulation == "rtp" and transport != "udp":
        raise AriError(400, "transport must be 'udp' for rtp encapsulation")
    if encapsulation == "audiosocket" and transport != "tcp":
        raise AriError(400, "transport must be 'tcp' for audiosocket encapsulation")
    if transport != "websocket" and connection_type == "server":
        raise AriError(400, "'server' connection_type can only be used with the websocket transport")
    if not host:
        if connection_type == "client":
            raise AriError(400, "external_host is required for all but websocket server connections")
        host = "INCOMING"
    remote = None
    if transport == "websocket":
        if connection_type == "client" and (w.media is None or host not in w.media.clients):
            raise AriError(400, "external_host must be a valid websocket_client connection id.")
    else:
        remote = _host_port(host)
        if remote is None:
            raise AriError(400, "external_host must be <host>:<port> for all transports other than websocket")
    fmt = need(req, "format", "format cannot be empty")
    direction = q(req, "direction")
    if direction and direction not in ("both", "in", "out"):
        raise AriError(400, "Invalid direction specified")
    if fmt not in MEDIA_CODECS:
        raise AriError(400, f"format '{fmt}' is unknown")
    chan_id = q(req, "channelId")
    _check_new_ids(w, chan_id)
    if transport == "websocket":
        return _external_websocket(w, req, app, fmt, chan_id, direction, None if host == "INCOMING" else host)
    if encapsulation == "audiosocket":
        name = f"AudioSocket/{host}-{w.name_suffix()}"
    else:
        name = f"UnicastRTP/{host}-{w.name_suffix()}"
    ch = w.calls.new_channel(name, chan_id)
    if encapsulation == "rtp" and remote is not None:
        local = _rtp_local(w, ch, fmt, app, remote)
        ch.channelvars["UNICASTRTP_LOCAL_ADDRESS"] = local[0]
        ch.channelvars["UNICASTRTP_LOCAL_PORT"] = str(local[1])
        ch.vars.update(ch.channelvars)
    for name_, value in body_vars(req).items():
        _apply_var(ch, name_, value)
    w.emit("ChannelCreated", {"channel": ch.to_json()}, channels=[ch])
    ch.pending_app = app  # no ChannelCreated for the app's own channel; then Up (ChannelStateChange), StasisStart
    response = ch.to_json()  # Down: Asterisk answers the request before the channel is up

    def up() -> None:
        w.calls.answer(ch)
        w.calls.enter_stasis(ch, app, [])

    ch.timers.append(w.later(0.0, up))
    return ok(response)


def _host_port(host: str) -> Optional[Tuple[str, int]]:
    name, sep, port = host.rpartition(":")
    if not sep or not port.isdigit() or not name:
        return None
    return name.strip("[]"), int(port)


def _rtp_local(w: World, ch: Channel, fmt: str, app: str, remote: Tuple[str, int]) -> Tuple[str, int]:
    """The simulator's end of an RTP stream for a codec it can carry; a made-up port otherwise."""
    from ...media.codecs import CODECS

    codec = CODECS.get(fmt)
    if w.media is not None and codec is not None and codec.payload_type is not None:
        try:
            return w.media.rtp(ch, codec, app, remote)
        except RuntimeError:  # the state model driven without a server loop (unit tests)
            pass
    return "127.0.0.1", 10000 + (len(w.channels) * 2) % 10000


def _external_websocket(w: World, req: SimRequest, app: str, fmt: str, chan_id: Optional[str],
                        direction: Optional[str], connection: Optional[str]) -> SimResponse:
    """chan_websocket: the channel waits, Down, for /media/<id> (server) or for the application's
    server to answer Asterisk's call (client, ``connection`` a websocket_client)."""
    from ...media.codecs import CODECS

    options = q(req, "transport_data") or ""
    codec = CODECS.get(fmt)
    if w.media is None or codec is None:
        raise AriError(400, f"format '{fmt}' is not carried by the simulator's media WebSocket")
    ch = w.calls.new_channel(f"WebSocket/{connection or 'INCOMING'}/0x{w.name_suffix()}", chan_id)
    for name_, value in body_vars(req).items():
        _apply_var(ch, name_, value)
    media_direction = direction or _option(options, "d") or "both"
    json_format = _option(options, "f") == "json"
    auto_answer = "n" not in _bare_options(options)
    if connection is None:
        w.media.websocket(ch, codec, app, json_format=json_format, direction=media_direction, auto_answer=auto_answer)
    else:
        query = (_option(options, "v") or "").replace(",", "&")
        w.media.outbound(ch, codec, app, connection, json_format=json_format, direction=media_direction,
                         auto_answer=auto_answer, query=query)
    w.emit("ChannelCreated", {"channel": ch.to_json()}, channels=[ch])
    ch.pending_app = app  # the app hears the channel come Up, then StasisStart
    return ok(ch.to_json())


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
    if ch.technology not in ("PJSIP", "UnicastRTP", "SIP"):
        raise AriError(404, "Channel cannot be found.")
    elapsed = w.now() - ch.answered_at if ch.answered_at is not None else 0.0
    packets = int(elapsed * 50)  # 20 ms packetisation
    return ok({"txcount": packets, "rxcount": packets, "txjitter": 0.0, "rxjitter": 0.0,
               "txploss": 0, "rxploss": 0, "rtt": 0.0, "local_ssrc": 1234567,
               "remote_ssrc": 7654321, "txoctetcount": packets * 160,
               "rxoctetcount": packets * 160, "channel_uniqueid": ch.id})


def transfer_progress(w: World, req: SimRequest) -> SimResponse:
    _stasis(w, req)
    need(req, "states", "states is required")
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
    ("channels", "progress"): progress,
    ("channels", "sendDTMF"): send_dtmf,
    ("channels", "mute"): mute,
    ("channels", "unmute"): unmute,
    ("channels", "hold"): _flag("held", True),
    ("channels", "unhold"): _flag("held", False),
    ("channels", "startMoh"): _flag("moh", True),
    ("channels", "stopMoh"): _flag("moh", False),
    ("channels", "startSilence"): _flag("silence", True),
    ("channels", "stopSilence"): _flag("silence", False),
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
