"""System scenarios: asterisk (info, ping, config, logging, modules, variables), endpoints,
sounds, device states, mailboxes, applications (subscribe, filter) and user events.
Only recorder moves; no server access of its own."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Tuple

from .base import Scenario, call_in, hang_up

if TYPE_CHECKING:
    from ..record import Runner


def asterisk_system(r: Runner) -> None:
    r.open("rec-system")
    r.step("info")
    r.rest("GET", "/asterisk/info")
    r.rest("GET", "/asterisk/info", {"only": "system"})
    r.rest("GET", "/asterisk/info", {"only": "build,status"})
    r.rest("GET", "/asterisk/info", {"only": "nonsense"})
    r.rest("GET", "/asterisk/ping")
    r.step("variables")
    var = "RECVAR_" + r.new_id()
    r.rest("POST", "/asterisk/variable", {"variable": var, "value": "v1"})
    r.rest("GET", "/asterisk/variable", {"variable": var})
    r.rest("GET", "/asterisk/variable", {"variable": "NOSUCHGLOBAL_X"})
    r.rest("GET", "/asterisk/variable")
    r.rest("POST", "/asterisk/variable", {"value": "1"})
    r.rest("GET", "/asterisk/variable", {"variable": "NOSUCHFUNC(x)"})
    r.step("modules")
    r.rest("GET", "/asterisk/modules")
    r.rest("GET", "/asterisk/modules/res_musiconhold.so")
    r.rest("GET", "/asterisk/modules/nosuchmodule.so")
    r.rest("PUT", "/asterisk/modules/res_musiconhold.so")
    r.rest("PUT", "/asterisk/modules/nosuchmodule.so")
    r.rest("POST", "/asterisk/modules/res_musiconhold.so")
    r.rest("POST", "/asterisk/modules/nosuchmodule.so")
    r.rest("DELETE", "/asterisk/modules/nosuchmodule.so")
    r.step("module-unload-load")
    r.rest("DELETE", "/asterisk/modules/app_morsecode.so")
    r.rest("GET", "/asterisk/modules/app_morsecode.so")
    r.rest("POST", "/asterisk/modules/app_morsecode.so")
    r.step("logging")
    r.rest("GET", "/asterisk/logging")
    log_name = "reclog-" + r.new_id()
    r.rest("POST", f"/asterisk/logging/{log_name}", {"configuration": "notice,warning"})
    r.rest("POST", f"/asterisk/logging/{log_name}", {"configuration": "notice"})
    r.rest("PUT", f"/asterisk/logging/{log_name}/rotate")
    r.rest("DELETE", f"/asterisk/logging/{log_name}")
    r.rest("DELETE", f"/asterisk/logging/{log_name}")
    r.rest("PUT", "/asterisk/logging/nosuchlog/rotate")
    r.rest("POST", "/asterisk/logging/badlog")
    r.step("config")
    r.rest("GET", "/asterisk/config/dynamic/res_pjsip/endpoint/nosuch")
    r.rest(
        "PUT",
        "/asterisk/config/dynamic/res_pjsip/endpoint/nosuch",
        body={"fields": [{"attribute": "allow", "value": "ulaw"}]},
    )
    r.rest("DELETE", "/asterisk/config/dynamic/res_pjsip/endpoint/nosuch")
    r.rest("GET", "/asterisk/config/dynamic/nosuchclass/nosuchtype/x")
    r.step("bad-path")
    r.rest("GET", "/nosuchresource")
    r.rest("PATCH", "/channels")


def endpoints_and_sounds(r: Runner) -> None:
    r.open("rec-endpoints")
    r.step("endpoints")
    r.rest("GET", "/endpoints")
    r.rest("GET", "/endpoints/Local")
    r.rest("GET", "/endpoints/PJSIP")
    r.rest("GET", "/endpoints/NoSuchTech")
    r.rest("GET", "/endpoints/Local/nosuch")
    r.rest("GET", "/endpoints/NoSuchTech/x")
    r.step("messages")
    r.rest("PUT", "/endpoints/sendMessage", {"to": "pjsip:nobody", "from": "me", "body": "hi"})
    r.rest("PUT", "/endpoints/sendMessage", {"from": "me"})
    r.rest("PUT", "/endpoints/Local/x/sendMessage", {"from": "me", "body": "hi"})
    r.rest("POST", "/endpoints/refer", {"to": "pjsip:nobody", "from": "me", "refer_to": "sip:x@y"})
    r.rest("POST", "/endpoints/Local/x/refer", {"from": "me", "refer_to": "sip:x@y"})
    r.step("sounds")
    r.rest("GET", "/sounds/hello-world")
    r.rest("GET", "/sounds/nosuchsound")
    r.rest("GET", "/sounds", {"lang": "en", "format": "gsm"})
    r.rest("GET", "/sounds", {"lang": "xx"})
    r.rest("GET", "/sounds", {"format": "nosuchformat"})


def device_states(r: Runner) -> None:
    # A fresh application name each recording: Asterisk keeps an application's device
    # subscriptions after its socket closes, so a fixed name shows earlier runs' devices.
    app = "rec-devstate-" + uuid.uuid4().hex[:8]
    r.open(app)
    name = "Stasis:rec" + r.new_id()
    r.step("subscribe")
    r.rest("POST", f"/applications/{app}/subscription", {"eventSource": f"deviceState:{name}"})
    r.step("update")
    r.rest("PUT", f"/deviceStates/{name}", {"deviceState": "BUSY"})
    r.wait("DeviceStateChanged", device_state__name=name, required=False)
    r.rest("GET", f"/deviceStates/{name}")
    r.rest("GET", "/deviceStates")
    r.step("update-again")
    r.rest("PUT", f"/deviceStates/{name}", {"deviceState": "INUSE"})
    r.wait("DeviceStateChanged", device_state__name=name, device_state__state="INUSE", required=False)
    r.step("errors")
    r.rest("PUT", f"/deviceStates/{name}", {"deviceState": "NONSENSE"})
    r.rest("PUT", f"/deviceStates/{name}")
    r.rest("PUT", "/deviceStates/Local:x", {"deviceState": "BUSY"})
    r.rest("GET", "/deviceStates/Stasis:nosuchdevice")
    r.rest("GET", "/deviceStates/Local:x")
    r.rest("DELETE", "/deviceStates/Local:x")
    r.step("delete")
    r.rest("DELETE", f"/deviceStates/{name}")
    r.rest("DELETE", f"/deviceStates/{name}")
    r.rest("GET", f"/deviceStates/{name}")
    r.step("unsubscribe")
    r.rest("DELETE", f"/applications/{app}/subscription", {"eventSource": f"deviceState:{name}"})


def mailboxes(r: Runner) -> None:
    r.open("rec-mailbox")
    name = "recbox" + r.new_id()
    r.step("update")
    r.rest("PUT", f"/mailboxes/{name}", {"oldMessages": 1, "newMessages": 2})
    r.rest("GET", f"/mailboxes/{name}")
    r.rest("GET", "/mailboxes")
    r.step("errors")
    r.rest("PUT", f"/mailboxes/{name}", {"oldMessages": 1})
    r.rest("PUT", f"/mailboxes/{name}", {"oldMessages": "x", "newMessages": 2})
    r.rest("GET", "/mailboxes/nosuchbox")
    r.rest("DELETE", "/mailboxes/nosuchbox")
    r.step("delete")
    r.rest("DELETE", f"/mailboxes/{name}")
    r.rest("GET", f"/mailboxes/{name}")


def applications(r: Runner) -> None:
    app, other = "rec-apps", "rec-apps2"
    r.open(app)
    r.open(other, subscribe_all=True)
    r.step("list")
    r.rest("GET", "/applications")
    r.rest("GET", f"/applications/{app}")
    r.rest("GET", "/applications/nosuchapp")
    r.step("call")
    chan = call_in(r, app)
    r.step("subscribe")
    bridge = r.new_id("br")
    r.ok("POST", "/bridges", {"bridgeId": bridge})
    r.rest("POST", f"/applications/{app}/subscription", {"eventSource": f"bridge:{bridge}"})
    r.rest("POST", f"/applications/{app}/subscription", {"eventSource": "endpoint:Local"})
    r.rest("POST", f"/applications/{app}/subscription", {"eventSource": f"channel:{chan},bridge:{bridge}"})
    r.rest("GET", f"/applications/{app}")
    r.step("subscribe-errors")
    r.rest("POST", f"/applications/{app}/subscription", {"eventSource": "channel:nosuch"})
    r.rest("POST", f"/applications/{app}/subscription", {"eventSource": "nonsense:x"})
    r.rest("POST", f"/applications/{app}/subscription")
    r.rest("POST", "/applications/nosuchapp/subscription", {"eventSource": "endpoint:Local"})
    r.rest("DELETE", f"/applications/{app}/subscription", {"eventSource": "bridge:nosuch"})
    r.rest("DELETE", f"/applications/{app}/subscription", {"eventSource": "endpoint:PJSIP/x"})
    r.step("unsubscribe")
    r.rest("DELETE", f"/applications/{app}/subscription", {"eventSource": f"bridge:{bridge}"})
    r.rest("DELETE", f"/applications/{app}/subscription", {"eventSource": "endpoint:Local"})
    r.rest("GET", f"/applications/{app}")
    r.step("filter")
    r.rest(
        "PUT", f"/applications/{app}/eventFilter", body={"allowed": [{"type": "ChannelVarset"}, {"type": "StasisEnd"}]}
    )
    r.rest("GET", f"/applications/{app}")
    r.ok("POST", f"/channels/{chan}/variable", {"variable": "F", "value": "1"})
    r.rest("POST", f"/channels/{chan}/ring")
    r.wait("ChannelVarset", channel__id=chan, variable="F")
    r.rest("PUT", f"/applications/{app}/eventFilter", body={"disallowed": [{"type": "ChannelVarset"}]})
    r.ok("POST", f"/channels/{chan}/variable", {"variable": "G", "value": "1"})
    r.rest("PUT", f"/applications/{app}/eventFilter", body={"nonsense": []})
    r.rest("PUT", f"/applications/{app}/eventFilter")
    r.rest("PUT", "/applications/nosuchapp/eventFilter", body={"allowed": []})
    r.step("hangup")
    r.rest("DELETE", f"/bridges/{bridge}")
    hang_up(r, chan)


def user_events(r: Runner) -> None:
    app = "rec-userevt"
    r.open(app)
    r.step("call")
    chan = call_in(r, app)
    r.step("user-event")
    r.rest("POST", "/events/user/MyEvent", {"application": app}, body={"variables": {"k": "v", "n": "1"}})
    r.wait("ChannelUserevent", eventname="MyEvent")
    r.rest("POST", "/events/user/WithSource", {"application": app, "source": f"channel:{chan}"})
    r.wait("ChannelUserevent", eventname="WithSource")
    r.step("errors")
    r.rest("POST", "/events/user/MyEvent", {"application": "nosuchapp"})
    r.rest("POST", "/events/user/MyEvent")
    r.rest("POST", "/events/user/MyEvent", {"application": app, "source": "channel:nosuch"})
    r.rest("POST", "/events/user/MyEvent", {"application": app, "source": "nonsense:x"})
    r.step("claim")
    r.rest("POST", "/events/claim", {"channelId": chan, "application": app})
    r.rest("POST", "/events/claim", {"channelId": "nosuch", "application": app})
    r.step("hangup")
    hang_up(r, chan)


SCENARIOS: Tuple[Scenario, ...] = (
    Scenario("asterisk_system", "asterisk", "info, ping, variables, modules, logging, config", asterisk_system),
    Scenario("endpoints_and_sounds", "endpoints", "endpoints, messages, refer, sounds", endpoints_and_sounds),
    Scenario("device_states", "deviceStates", "Stasis device states and their events", device_states),
    Scenario("mailboxes", "mailboxes", "mailboxes", mailboxes),
    Scenario("applications", "applications", "applications: subscribe, unsubscribe, filter", applications),
    Scenario("user_events", "events", "user events and claim", user_events),
)
