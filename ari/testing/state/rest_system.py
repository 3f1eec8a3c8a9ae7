"""REST handlers of /asterisk, /endpoints, /deviceStates, /mailboxes, /applications, /events.

Its one job is request -> engine call -> response for the system-wide resources that hold no
call state; the tables and every change to them are ``system.SystemEngine``'s.  It must not
change any state nor send any event itself.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .. import errors
from ..backend import SimRequest, SimResponse
from .params import Handler, body_vars, need, no_content, ok, q, q_list
from .system import SOURCE_SCHEMES
from .world import World


def _key(req: SimRequest) -> str:
    """The endpoint ``{tech}/{resource}`` of the path."""
    p = req.path_params
    return "{}/{}".format(p.get("tech", ""), p.get("resource", ""))


# -- /asterisk --------------------------------------------------------------------------


def get_info(w: World, req: SimRequest) -> SimResponse:
    only = q_list(req, "only")
    return ok({k: v for k, v in w.system.info().items() if not only or k in only})


def ping(w: World, req: SimRequest) -> SimResponse:
    return ok({"asterisk_id": w.asterisk_id, "ping": "pong", "timestamp": w.timestamp()})


def list_modules(w: World, req: SimRequest) -> SimResponse:
    return ok([dict(m) for m in w.system.modules.values()])


def get_module(w: World, req: SimRequest) -> SimResponse:
    return ok(w.system.module(req.path_params["moduleName"]))


def load_module(w: World, req: SimRequest) -> SimResponse:
    w.system.load_module(req.path_params["moduleName"])
    return no_content()


def unload_module(w: World, req: SimRequest) -> SimResponse:
    w.system.unload_module(req.path_params["moduleName"])
    return no_content()


def reload_module(w: World, req: SimRequest) -> SimResponse:
    w.system.reload_module(req.path_params["moduleName"])
    return no_content()


def list_logs(w: World, req: SimRequest) -> SimResponse:
    return ok([dict(v) for v in w.system.logs.values()])


def add_log(w: World, req: SimRequest) -> SimResponse:
    name = req.path_params["logChannelName"]
    w.system.check_new_log(name)
    w.system.add_log(name, need(req, "configuration", "Missing configuration"))
    return no_content()


def delete_log(w: World, req: SimRequest) -> SimResponse:
    w.system.delete_log(req.path_params["logChannelName"])
    return no_content()


def rotate_log(w: World, req: SimRequest) -> SimResponse:
    w.system.rotate_log(req.path_params["logChannelName"])
    return no_content()


def get_global(w: World, req: SimRequest) -> SimResponse:
    name = need(req, "variable", "Variable name is required")
    return ok({"value": w.global_vars.get(name, "")})


def set_global(w: World, req: SimRequest) -> SimResponse:
    name = need(req, "variable", "Variable name is required")
    w.system.set_global(name, q(req, "value") or "")
    return no_content()


def _config(req: SimRequest) -> Tuple[str, str, str]:
    p = req.path_params
    return p["configClass"], p["objectType"], p["id"]


def get_object(w: World, req: SimRequest) -> SimResponse:
    return ok(w.system.config_object(*_config(req)))


def update_object(w: World, req: SimRequest) -> SimResponse:
    config_class, object_type, oid = _config(req)
    w.system.config_type(config_class, object_type)
    body = req.body if isinstance(req.body, dict) else {}
    fields = body.get("fields", [])
    if not isinstance(fields, list) or not all(
        isinstance(f, dict) and "attribute" in f and "value" in f for f in fields
    ):
        raise errors.InvalidConfigBody()
    return ok(w.system.update_object(config_class, object_type, oid, fields))


def delete_object(w: World, req: SimRequest) -> SimResponse:
    w.system.delete_object(*_config(req))
    return no_content()


# -- /endpoints -------------------------------------------------------------------------


def list_endpoints(w: World, req: SimRequest) -> SimResponse:
    return ok([w.system.endpoint_json(k) for k in w.endpoints])


def list_by_tech(w: World, req: SimRequest) -> SimResponse:
    keys = w.system.endpoints_of(req.path_params.get("tech", ""))
    return ok([w.system.endpoint_json(k) for k in keys])


def get_endpoint(w: World, req: SimRequest) -> SimResponse:
    return ok(w.system.endpoint_json(w.endpoint(_key(req))))


def _message(w: World, req: SimRequest, key: str, to: str) -> SimResponse:
    w.endpoint(key)
    sender = need(req, "from", "from is required")
    message: Dict[str, Any] = {"from": sender, "to": to, "body": q(req, "body") or ""}
    variables = body_vars(req)
    if variables:
        message["variables"] = variables
    # Where an app is subscribed to the receiving endpoint, it sees the message arrive.
    w.system.message_received(key, message)
    return no_content()


def _endpoint_uri(to: str) -> str:
    # "pjsip:1000" or "PJSIP/1000" or "pjsip:1000@host" -> "PJSIP/1000"
    tech, sep, rest = to.partition(":")
    if not sep:
        tech, sep, rest = to.partition("/")
    if not sep or not rest:
        raise errors.InvalidMessageParameters()
    tech = {"pjsip": "PJSIP", "sip": "PJSIP"}.get(tech.lower(), tech)
    return "{}/{}".format(tech, rest.split("@", 1)[0])


def send_message(w: World, req: SimRequest) -> SimResponse:
    to = need(req, "to", "to is required")
    return _message(w, req, _endpoint_uri(to), to)


def send_message_to_endpoint(w: World, req: SimRequest) -> SimResponse:
    p = req.path_params
    return _message(w, req, _key(req), "{}:{}".format(p.get("tech", "").lower(), p.get("resource", "")))


def refer(w: World, req: SimRequest) -> SimResponse:
    w.endpoint(_endpoint_uri(need(req, "to", "to is required")))
    need(req, "refer_to", "refer_to is required")
    return no_content()


def refer_to_endpoint(w: World, req: SimRequest) -> SimResponse:
    w.endpoint(_key(req))
    return no_content()


# -- /deviceStates ----------------------------------------------------------------------


def list_devices(w: World, req: SimRequest) -> SimResponse:
    return ok([{"name": n, "state": s} for n, s in w.device_states.items()])


def get_device(w: World, req: SimRequest) -> SimResponse:
    name = req.path_params["deviceName"]
    return ok({"name": name, "state": w.system.device_state(name)})


def update_device(w: World, req: SimRequest) -> SimResponse:
    name = w.system.controlled(req.path_params["deviceName"])
    w.system.update_device(name, need(req, "deviceState", "deviceState is required"))
    return no_content()


def delete_device(w: World, req: SimRequest) -> SimResponse:
    w.system.delete_device(w.system.controlled(req.path_params["deviceName"]))
    return no_content()


# -- /mailboxes -------------------------------------------------------------------------


def _mailbox_json(name: str, counts: Tuple[int, int]) -> Dict[str, Any]:
    return {"name": name, "old_messages": counts[0], "new_messages": counts[1]}


def list_mailboxes(w: World, req: SimRequest) -> SimResponse:
    return ok([_mailbox_json(n, c) for n, c in w.mailboxes.items()])


def get_mailbox(w: World, req: SimRequest) -> SimResponse:
    name = req.path_params["mailboxName"]
    return ok(_mailbox_json(name, w.system.mailbox(name)))


def update_mailbox(w: World, req: SimRequest) -> SimResponse:
    old, new = _atoi(q(req, "oldMessages")), _atoi(q(req, "newMessages"))
    w.system.update_mailbox(req.path_params["mailboxName"], old, new)
    return no_content()


def delete_mailbox(w: World, req: SimRequest) -> SimResponse:
    w.system.delete_mailbox(req.path_params["mailboxName"])
    return no_content()


# -- /applications ----------------------------------------------------------------------


def list_apps(w: World, req: SimRequest) -> SimResponse:
    return ok([w.system.app_json(n) for n, a in w.apps.items() if a.connected])


def get_app(w: World, req: SimRequest) -> SimResponse:
    return ok(w.system.app_json(w.app(req.path_params["applicationName"]).name))


def _sources(req: SimRequest) -> List[Tuple[str, str]]:
    out = []
    for source in q_list(req, "eventSource"):
        scheme, sep, ident = source.partition(":")
        if not sep or scheme not in SOURCE_SCHEMES:
            raise errors.InvalidEventSource(source)
        out.append((scheme, ident))
    if not out:
        raise errors.MissingParameter("Missing parameter eventSource")
    return out


def subscribe(w: World, req: SimRequest) -> SimResponse:
    app = w.app(req.path_params["applicationName"])
    w.system.subscribe(app, _sources(req))
    return ok(w.system.app_json(app.name))


def unsubscribe(w: World, req: SimRequest) -> SimResponse:
    app = w.app(req.path_params["applicationName"])
    w.system.unsubscribe(app, _sources(req))
    return ok(w.system.app_json(app.name))


def _filter_list(value: Any) -> List[Dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(f, dict) and isinstance(f.get("type"), str) for f in value):
        raise errors.InvalidEventFilter()
    return [dict(f) for f in value]


def set_filter(w: World, req: SimRequest) -> SimResponse:
    app = w.app(req.path_params["applicationName"])
    body = req.body if isinstance(req.body, dict) else {}
    body = body.get("filter", body) if isinstance(body.get("filter"), dict) else body
    if not body:
        w.system.set_filter(app, [], [])  # no filter at all clears both lists
        return ok(w.system.app_json(app.name))
    # A list a filter leaves out is kept (as recorded on Asterisk 22).
    w.system.set_filter(
        app,
        _filter_list(body["allowed"]) if "allowed" in body else app.allowed,
        _filter_list(body["disallowed"]) if "disallowed" in body else app.disallowed,
    )
    return ok(w.system.app_json(app.name))


# -- /events ----------------------------------------------------------------------------


def user_event(w: World, req: SimRequest) -> SimResponse:
    name = need(req, "application", "application is required")
    w.app(name)
    sources: Dict[str, Any] = {}
    for source in q_list(req, "source"):
        scheme, sep, ident = source.partition(":")
        if not sep or scheme not in SOURCE_SCHEMES:
            raise errors.InvalidEventSource(source)
        field, value = w.system.source_json(scheme, ident)
        if field is not None:
            sources[field] = value
    w.system.user_event(name, req.path_params["eventName"], sources, body_vars(req))
    return no_content()


def claim(w: World, req: SimRequest) -> SimResponse:
    w.system.claim()
    return no_content()


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


def _atoi(value: Optional[str]) -> int:
    """C's atoi, as Asterisk reads mailbox counts: leading digits, else 0."""
    digits = ""
    for ch in (value or "").strip():
        if not (ch.isdigit() or (ch in "+-" and not digits)):
            break
        digits += ch
    try:
        return int(digits)
    except ValueError:
        return 0
