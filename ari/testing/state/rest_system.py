"""REST handlers of /asterisk, /endpoints, /deviceStates, /mailboxes, /applications, /events.

Its one job is the system-wide resources that hold no call state: Asterisk's info, modules,
log channels, global variables and dynamic configuration; endpoints and messages; Stasis
device states; mailboxes; application subscriptions and filters; user events.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from ..backend import SimRequest, SimResponse
from .params import body_vars, need, no_content, ok, q, q_list
from .world import AriError, World

Handler = Callable[[World, SimRequest], SimResponse]


class SystemTables:
    """Per-simulator tables of modules, log channels and dynamic configuration."""

    def __init__(self) -> None:
        self.modules: Dict[str, Dict[str, Any]] = {
            name: {"name": name, "description": desc, "use_count": 0, "status": "Running",
                   "support_level": level}
            for name, desc, level in (
                ("res_ari.so", "Asterisk RESTful Interface", "core"),
                ("res_stasis.so", "Stasis application support", "core"),
                ("res_stasis_playback.so", "Stasis application playback support", "core"),
                ("res_stasis_recording.so", "Stasis application recording support", "core"),
                ("res_stasis_snoop.so", "Stasis application snoop support", "extended"),
                ("res_stasis_device_state.so", "Stasis application device state support",
                 "core"),
                ("chan_pjsip.so", "PJSIP Channel Driver", "core"),
                ("res_pjsip.so", "Basic SIP resource", "core"),
                ("res_musiconhold.so", "Music On Hold Resource", "core"),
                ("app_voicemail.so", "Comedian Mail (Voicemail System)", "core"),
                ("chan_rtp.so", "RTP Media Channel", "core"),
                ("bridge_simple.so", "Simple two channel bridging module", "core"),
                ("bridge_softmix.so", "Multi-party software based channel mixing", "core"),
                ("bridge_holding.so", "Holding bridge module", "core"),
                ("format_wav.so", "Microsoft WAV/WAV16 format (8kHz/16kHz Signed Linear)",
                 "core"),
            )}
        self.loadable = set(self.modules) | {"app_echo.so", "app_playback.so", "res_agi.so"}
        self.logs: Dict[str, Dict[str, str]] = {
            "/var/log/asterisk/messages": {"channel": "/var/log/asterisk/messages",
                                           "type": "File", "status": "Enabled",
                                           "configuration": "NOTICE WARNING ERROR"},
            "console": {"channel": "console", "type": "Console", "status": "Enabled",
                        "configuration": "NOTICE WARNING ERROR VERBOSE"},
        }
        self.config: Dict[Tuple[str, str], Dict[str, List[Dict[str, str]]]] = {
            ("res_pjsip", "endpoint"): {}, ("res_pjsip", "aor"): {}, ("res_pjsip", "auth"): {},
        }
        self.startup = ""


def _tables(w: World) -> SystemTables:
    tables: SystemTables = w.system
    return tables


# -- /asterisk --------------------------------------------------------------------------


def get_info(w: World, req: SimRequest) -> SimResponse:
    t = _tables(w)
    parts = {
        "build": {"os": "Linux", "kernel": "6.1.0", "options": "", "machine": "x86_64",
                  "date": "2026-01-01 00:00:00 UTC", "user": "asterisk"},
        "system": {"version": "22.10.1", "entity_id": w.asterisk_id},
        "config": {"name": "asterisk-sim", "default_language": "en", "max_channels": 0,
                   "max_open_files": 0, "max_load": 0.0,
                   "setid": {"user": "asterisk", "group": "asterisk"}},
        "status": {"startup_time": t.startup, "last_reload_time": t.startup},
    }
    only = q_list(req, "only")
    return ok({k: v for k, v in parts.items() if not only or k in only})


def ping(w: World, req: SimRequest) -> SimResponse:
    return ok({"asterisk_id": w.asterisk_id, "ping": "pong", "timestamp": w.timestamp()})


def list_modules(w: World, req: SimRequest) -> SimResponse:
    return ok([dict(m) for m in _tables(w).modules.values()])


def _module(w: World, req: SimRequest) -> str:
    name = req.path_params["moduleName"]
    if name not in _tables(w).modules:
        raise AriError(404, "Module not found in running modules")
    return name


def get_module(w: World, req: SimRequest) -> SimResponse:
    # resource_asterisk.c words this one differently from unload and reload.
    name = req.path_params["moduleName"]
    if name not in _tables(w).modules:
        raise AriError(404, "Module could not be found in running modules")
    return ok(dict(_tables(w).modules[name]))


def load_module(w: World, req: SimRequest) -> SimResponse:
    t = _tables(w)
    name = req.path_params["moduleName"]
    if name not in t.loadable or name in t.modules:
        raise AriError(409, "Module could not be loaded")
    t.modules[name] = {"name": name, "description": name, "use_count": 0,
                       "status": "Running", "support_level": "core"}
    return no_content()


def unload_module(w: World, req: SimRequest) -> SimResponse:
    del _tables(w).modules[_module(w, req)]
    return no_content()


def reload_module(w: World, req: SimRequest) -> SimResponse:
    _module(w, req)
    return no_content()


def list_logs(w: World, req: SimRequest) -> SimResponse:
    return ok([dict(v) for v in _tables(w).logs.values()])


def add_log(w: World, req: SimRequest) -> SimResponse:
    t = _tables(w)
    name = req.path_params["logChannelName"]
    if name in t.logs:
        raise AriError(409, "Log channel could not be created")
    t.logs[name] = {"channel": name, "type": "File", "status": "Enabled",
                    "configuration": need(req, "configuration", "Missing configuration")}
    return no_content()


def _log(w: World, req: SimRequest) -> str:
    name = req.path_params["logChannelName"]
    if name not in _tables(w).logs:
        raise AriError(404, "Log channel does not exist")
    return name


def delete_log(w: World, req: SimRequest) -> SimResponse:
    del _tables(w).logs[_log(w, req)]
    return no_content()


def rotate_log(w: World, req: SimRequest) -> SimResponse:
    _log(w, req)
    return no_content()


def get_global(w: World, req: SimRequest) -> SimResponse:
    name = need(req, "variable", "Variable name is required")
    return ok({"value": w.global_vars.get(name, "")})


def set_global(w: World, req: SimRequest) -> SimResponse:
    w.global_vars[need(req, "variable", "Variable name is required")] = q(req, "value") or ""
    return no_content()


def _config_type(w: World, req: SimRequest) -> Dict[str, List[Dict[str, str]]]:
    p = req.path_params
    found = _tables(w).config.get((p["configClass"], p["objectType"]))
    if found is None:
        raise AriError(404, "Unable to retrieve object type '{}' of configuration class '{}'"
                       .format(p["objectType"], p["configClass"]))
    return found


def get_object(w: World, req: SimRequest) -> SimResponse:
    objects = _config_type(w, req)
    oid = req.path_params["id"]
    if oid not in objects:
        raise AriError(404, f"Object '{oid}' not found")
    return ok([dict(t) for t in objects[oid]])


def update_object(w: World, req: SimRequest) -> SimResponse:
    objects = _config_type(w, req)
    body = req.body if isinstance(req.body, dict) else {}
    fields = body.get("fields", [])
    if not isinstance(fields, list) or not all(
            isinstance(f, dict) and "attribute" in f and "value" in f for f in fields):
        raise AriError(400, "Bad request body")
    oid = req.path_params["id"]
    current = {t["attribute"]: t["value"] for t in objects.get(oid, [])}
    current.update({str(f["attribute"]): str(f["value"]) for f in fields})
    objects[oid] = [{"attribute": k, "value": v} for k, v in current.items()]
    if req.path_params["objectType"] == "endpoint":
        # A sorcery-created PJSIP endpoint is dialable at once.
        w.endpoints.setdefault("PJSIP/" + oid, "offline")
        if oid not in w.dialplan.pjsip_endpoints:
            w.dialplan.pjsip_endpoints.append(oid)
    return ok([dict(t) for t in objects[oid]])


def delete_object(w: World, req: SimRequest) -> SimResponse:
    objects = _config_type(w, req)
    oid = req.path_params["id"]
    if oid not in objects:
        raise AriError(404, f"Object '{oid}' not found")
    del objects[oid]
    if req.path_params["objectType"] == "endpoint":
        w.endpoints.pop("PJSIP/" + oid, None)
        if oid in w.dialplan.pjsip_endpoints:
            w.dialplan.pjsip_endpoints.remove(oid)
    return no_content()


# -- /endpoints -------------------------------------------------------------------------


def endpoint_json(w: World, key: str) -> Dict[str, Any]:
    tech, _, resource = key.partition("/")
    return {"technology": tech, "resource": resource, "state": w.endpoints[key],
            "channel_ids": sorted(w.endpoint_channels.get(key, ()))}


def list_endpoints(w: World, req: SimRequest) -> SimResponse:
    return ok([endpoint_json(w, k) for k in w.endpoints])


def list_by_tech(w: World, req: SimRequest) -> SimResponse:
    tech = req.path_params.get("tech", "")
    found = [endpoint_json(w, k) for k in w.endpoints if k.split("/", 1)[0] == tech]
    if not found and tech not in ("PJSIP", "Local"):
        raise AriError(404, f"No Endpoints found - invalid tech {tech}")
    return ok(found)


def get_endpoint(w: World, req: SimRequest) -> SimResponse:
    key = "{}/{}".format(req.path_params.get("tech", ""), req.path_params.get("resource", ""))
    if key not in w.endpoints:
        raise AriError(404, "Endpoint not found")
    return ok(endpoint_json(w, key))


def _message(w: World, req: SimRequest, key: str, to: str) -> SimResponse:
    if key not in w.endpoints:
        raise AriError(404, "Endpoint not found")
    sender = need(req, "from", "from is required")
    message: Dict[str, Any] = {"from": sender, "to": to, "body": q(req, "body") or ""}
    variables = body_vars(req)
    if variables:
        message["variables"] = variables
    # Where an app is subscribed to the receiving endpoint, it sees the message arrive.
    w.emit("TextMessageReceived", {"message": message, "endpoint": endpoint_json(w, key)},
           endpoint=key)
    return no_content()


def _endpoint_uri(to: str) -> str:
    # "pjsip:1000" or "PJSIP/1000" or "pjsip:1000@host" -> "PJSIP/1000"
    tech, sep, rest = to.partition(":")
    if not sep:
        tech, sep, rest = to.partition("/")
    if not sep or not rest:
        raise AriError(400, "Invalid parameters for sending a message.")
    tech = {"pjsip": "PJSIP", "sip": "PJSIP"}.get(tech.lower(), tech)
    return "{}/{}".format(tech, rest.split("@", 1)[0])


def send_message(w: World, req: SimRequest) -> SimResponse:
    to = need(req, "to", "to is required")
    return _message(w, req, _endpoint_uri(to), to)


def send_message_to_endpoint(w: World, req: SimRequest) -> SimResponse:
    p = req.path_params
    key = "{}/{}".format(p.get("tech", ""), p.get("resource", ""))
    return _message(w, req, key, "{}:{}".format(p.get("tech", "").lower(), p.get("resource", "")))


def refer(w: World, req: SimRequest) -> SimResponse:
    if _endpoint_uri(need(req, "to", "to is required")) not in w.endpoints:
        raise AriError(404, "Endpoint not found")
    need(req, "refer_to", "refer_to is required")
    return no_content()


def refer_to_endpoint(w: World, req: SimRequest) -> SimResponse:
    p = req.path_params
    if "{}/{}".format(p.get("tech", ""), p.get("resource", "")) not in w.endpoints:
        raise AriError(404, "Endpoint not found")
    return no_content()


# -- /deviceStates ----------------------------------------------------------------------


def device_state(w: World, name: str) -> str:
    if name in w.device_states:
        return w.device_states[name]
    if name in w.endpoints:
        return "INUSE" if w.endpoint_channels.get(name) else "NOT_INUSE"
    return "UNKNOWN" if name.startswith("Stasis:") else "INVALID"


def list_devices(w: World, req: SimRequest) -> SimResponse:
    return ok([{"name": n, "state": s} for n, s in w.device_states.items()])


def get_device(w: World, req: SimRequest) -> SimResponse:
    name = req.path_params["deviceName"]
    return ok({"name": name, "state": device_state(w, name)})


def _controlled(req: SimRequest) -> str:
    name = req.path_params["deviceName"]
    if not name.startswith("Stasis:"):
        raise AriError(409, "Uncontrolled device specified")
    if name == "Stasis:":
        raise AriError(404, "Device name is missing")
    return name


def _device_changed(w: World, name: str, state: str) -> None:
    w.emit("DeviceStateChanged", {"device_state": {"name": name, "state": state}},
           device=name)


def update_device(w: World, req: SimRequest) -> SimResponse:
    name = _controlled(req)
    state = need(req, "deviceState", "deviceState is required")
    changed = w.device_states.get(name) != state
    w.device_states[name] = state
    if changed:
        _device_changed(w, name, state)
    return no_content()


def delete_device(w: World, req: SimRequest) -> SimResponse:
    name = _controlled(req)
    if w.device_states.pop(name, None) is None:
        raise AriError(404, "Device name is missing")
    _device_changed(w, name, "UNKNOWN")
    return no_content()


# -- /mailboxes -------------------------------------------------------------------------


def _mailbox_json(name: str, counts: Tuple[int, int]) -> Dict[str, Any]:
    return {"name": name, "old_messages": counts[0], "new_messages": counts[1]}


def list_mailboxes(w: World, req: SimRequest) -> SimResponse:
    return ok([_mailbox_json(n, c) for n, c in w.mailboxes.items()])


def get_mailbox(w: World, req: SimRequest) -> SimResponse:
    name = req.path_params["mailboxName"]
    if name not in w.mailboxes:
        raise AriError(404, "Mailbox not found")
    return ok(_mailbox_json(name, w.mailboxes[name]))


def update_mailbox(w: World, req: SimRequest) -> SimResponse:
    old, new = int(q(req, "oldMessages") or 0), int(q(req, "newMessages") or 0)
    w.mailboxes[req.path_params["mailboxName"]] = (old, new)
    return no_content()


def delete_mailbox(w: World, req: SimRequest) -> SimResponse:
    if w.mailboxes.pop(req.path_params["mailboxName"], None) is None:
        raise AriError(404, "Mailbox not found")
    return no_content()


# -- /applications ----------------------------------------------------------------------


def app_json(w: World, name: str) -> Dict[str, Any]:
    app = w.apps[name]
    channel_ids = sorted(c.id for c in w.channels.values()
                         if c.app == name or name in c.subscribers)
    return {"name": name, "channel_ids": channel_ids, "bridge_ids": sorted(app.bridge_ids),
            "endpoint_ids": sorted(app.endpoint_ids), "device_names": sorted(app.device_names),
            "events_allowed": list(app.allowed), "events_disallowed": list(app.disallowed)}


def list_apps(w: World, req: SimRequest) -> SimResponse:
    return ok([app_json(w, n) for n, a in w.apps.items() if a.connected])


def get_app(w: World, req: SimRequest) -> SimResponse:
    return ok(app_json(w, w.app(req.path_params["applicationName"]).name))


def _sources(req: SimRequest) -> List[Tuple[str, str]]:
    out = []
    for source in q_list(req, "eventSource"):
        scheme, sep, ident = source.partition(":")
        if not sep or scheme not in ("channel", "bridge", "endpoint", "deviceState"):
            raise AriError(400, f"Invalid event source URI scheme: {source}")
        out.append((scheme, ident))
    if not out:
        raise AriError(400, "Missing parameter eventSource")
    return out


def _check_source(w: World, scheme: str, ident: str) -> None:
    exists = {
        "channel": lambda: ident in w.channels,
        "bridge": lambda: ident in w.bridges,
        "endpoint": lambda: ident in w.endpoints or any(
            k.split("/", 1)[0] == ident for k in w.endpoints),
        "deviceState": lambda: True,
    }[scheme]()
    if not exists:
        raise AriError(422, "Event source does not exist")


def subscribe(w: World, req: SimRequest) -> SimResponse:
    app = w.app(req.path_params["applicationName"])
    sources = _sources(req)
    for scheme, ident in sources:
        _check_source(w, scheme, ident)
    for scheme, ident in sources:
        if scheme == "channel":
            w.channels[ident].subscribers.add(app.name)
        elif scheme == "bridge":
            app.bridge_ids.add(ident)
        elif scheme == "endpoint":
            app.endpoint_ids.add(ident)
        else:
            app.device_names.add(ident)
    return ok(app_json(w, app.name))


def unsubscribe(w: World, req: SimRequest) -> SimResponse:
    app = w.app(req.path_params["applicationName"])
    sources = _sources(req)
    for scheme, ident in sources:
        _check_source(w, scheme, ident)
        if scheme == "channel":
            held = app.name in w.channels[ident].subscribers
        elif scheme == "bridge":
            held = ident in app.bridge_ids
        elif scheme == "endpoint":
            held = ident in app.endpoint_ids
        else:
            held = ident in app.device_names
        if not held:
            raise AriError(409, "Application not subscribed to event source")
    for scheme, ident in sources:
        if scheme == "channel":
            w.channels[ident].subscribers.discard(app.name)
        elif scheme == "bridge":
            app.bridge_ids.discard(ident)
        elif scheme == "endpoint":
            app.endpoint_ids.discard(ident)
        else:
            app.device_names.discard(ident)
    return ok(app_json(w, app.name))


def _filter_list(value: Any) -> List[Dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
            isinstance(f, dict) and isinstance(f.get("type"), str) for f in value):
        raise AriError(400, "Invalid format for event filter")
    return [dict(f) for f in value]


def set_filter(w: World, req: SimRequest) -> SimResponse:
    app = w.app(req.path_params["applicationName"])
    body = req.body if isinstance(req.body, dict) else {}
    body = body.get("filter", body) if isinstance(body.get("filter"), dict) else body
    app.allowed = _filter_list(body.get("allowed"))
    app.disallowed = _filter_list(body.get("disallowed"))
    return ok(app_json(w, app.name))


# -- /events ----------------------------------------------------------------------------


def user_event(w: World, req: SimRequest) -> SimResponse:
    name = need(req, "application", "application is required")
    w.app(name)
    fields: Dict[str, Any] = {"eventname": req.path_params["eventName"]}
    for source in q_list(req, "source"):
        scheme, sep, ident = source.partition(":")
        if scheme == "channel" and sep:
            if ident not in w.channels:
                raise AriError(422, "Channel not found")
            fields["channel"] = w.channels[ident].to_json()
        elif scheme == "bridge" and sep:
            if ident not in w.bridges:
                raise AriError(422, "Bridge not found")
            fields["bridge"] = w.bridges[ident].to_json()
        elif scheme == "endpoint" and sep:
            if ident not in w.endpoints:
                raise AriError(422, "Endpoint not found")
            fields["endpoint"] = endpoint_json(w, ident)
        elif scheme == "deviceState" and sep:
            pass  # accepted; the event model has no place for it
        else:
            raise AriError(400, f"Invalid event source URI scheme: {source}")
    fields["userevent"] = body_vars(req)
    w.emit("ChannelUserevent", fields, only=name)
    return no_content()


def claim(w: World, req: SimRequest) -> SimResponse:
    # No channel is ever offered by broadcast in the simulator.
    raise AriError(404, "Channel not found or not in broadcast state.")


HANDLERS: Dict[Tuple[str, str], Handler] = {
    ("asterisk", "getInfo"): get_info,
    ("asterisk", "ping"): ping,
    ("asterisk", "listModules"): list_modules,
    ("asterisk", "getModule"): get_module,
    ("asterisk", "loadModule"): load_module,
    ("asterisk", "unloadModule"): unload_module,
    ("asterisk", "reloadModule"): reload_module,
    ("asterisk", "listLogChannels"): list_logs,
    ("asterisk", "addLog"): add_log,
    ("asterisk", "deleteLog"): delete_log,
    ("asterisk", "rotateLog"): rotate_log,
    ("asterisk", "getGlobalVar"): get_global,
    ("asterisk", "setGlobalVar"): set_global,
    ("asterisk", "getObject"): get_object,
    ("asterisk", "updateObject"): update_object,
    ("asterisk", "deleteObject"): delete_object,
    ("endpoints", "list"): list_endpoints,
    ("endpoints", "listByTech"): list_by_tech,
    ("endpoints", "get"): get_endpoint,
    ("endpoints", "sendMessage"): send_message,
    ("endpoints", "sendMessageToEndpoint"): send_message_to_endpoint,
    ("endpoints", "refer"): refer,
    ("endpoints", "referToEndpoint"): refer_to_endpoint,
    ("deviceStates", "list"): list_devices,
    ("deviceStates", "get"): get_device,
    ("deviceStates", "update"): update_device,
    ("deviceStates", "delete"): delete_device,
    ("mailboxes", "list"): list_mailboxes,
    ("mailboxes", "get"): get_mailbox,
    ("mailboxes", "update"): update_mailbox,
    ("mailboxes", "delete"): delete_mailbox,
    ("applications", "list"): list_apps,
    ("applications", "get"): get_app,
    ("applications", "subscribe"): subscribe,
    ("applications", "unsubscribe"): unsubscribe,
    ("applications", "filter"): set_filter,
    ("events", "userEvent"): user_event,
    ("events", "claimChannel"): claim,
}
