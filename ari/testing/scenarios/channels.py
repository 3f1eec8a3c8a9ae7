"""Channel scenarios: originate (into the app, through the dialplan), both Local halves, the
far ends of the test dialplan, channel operations and their errors, dial, redirect, continue,
move, snoop, external media.  Only recorder moves; no server access of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Tuple

from .base import Scenario, call_in, call_via_dialplan, hang_up

if TYPE_CHECKING:
    from ..record import Runner


def originate_app(r: Runner) -> None:
    app = "rec-orig"
    r.open(app)
    r.step("originate")
    chan = r.new_id("c")
    r.ok(
        "POST",
        "/channels",
        {
            "endpoint": "Local/wait@default",
            "app": app,
            "appArgs": "argA,argB",
            "channelId": chan,
            "callerId": "Alice <1234>",
            "variables": None,
        },
        body={"variables": {"CALLERID(name)": "Alice", "MYVAR": "x"}},
    )
    r.wait("StasisStart", channel__id=chan)
    r.step("inspect")
    r.rest("GET", f"/channels/{chan}")
    r.rest("GET", "/channels")
    r.step("originate-with-id")
    second = r.new_id("c")
    r.ok("POST", f"/channels/{second}", {"endpoint": "Local/wait@default", "app": app, "otherChannelId": second + "-2"})
    r.wait("StasisStart", channel__id=second)
    hang_up(r, second)
    r.step("answer-up")
    r.rest("POST", f"/channels/{chan}/answer")
    r.step("hangup")
    hang_up(r, chan, reason="busy")


def originate_errors(r: Runner) -> None:
    app = "rec-origerr"
    r.open(app)
    r.step("missing-endpoint")
    r.rest("POST", "/channels", {"app": app})
    r.step("app-and-extension")
    r.rest("POST", "/channels", {"endpoint": "Local/wait@default", "app": app, "extension": "wait"})
    r.step("neither")
    r.rest("POST", "/channels", {"endpoint": "Local/wait@default"})
    r.step("bad-tech")
    r.rest("POST", "/channels", {"endpoint": "Nope/1000", "app": app})
    r.step("no-slash")
    r.rest("POST", "/channels", {"endpoint": "nothing", "app": app})
    r.step("duplicate-id")
    chan = call_in(r, app)
    r.rest("POST", "/channels", {"endpoint": "Local/wait@default", "app": app, "channelId": chan})
    r.rest("POST", f"/channels/{chan}", {"endpoint": "Local/wait@default", "app": app})
    r.step("unknown-channel")
    for method, path in (
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/answer"),
        ("POST", "/ring"),
        ("DELETE", "/ring"),
        ("POST", "/progress"),
        ("POST", "/hold"),
        ("DELETE", "/hold"),
        ("POST", "/mute"),
        ("DELETE", "/mute"),
        ("POST", "/moh"),
        ("DELETE", "/moh"),
        ("POST", "/silence"),
        ("DELETE", "/silence"),
        ("GET", "/rtp_statistics"),
    ):
        r.rest(method, "/channels/nosuchchannel" + path)
    r.rest("POST", "/channels/nosuchchannel/dtmf", {"dtmf": "1"})
    r.rest("POST", "/channels/nosuchchannel/play", {"media": "sound:beep"})
    r.rest("POST", "/channels/nosuchchannel/record", {"name": "x", "format": "wav"})
    r.rest("GET", "/channels/nosuchchannel/variable", {"variable": "X"})
    r.rest("POST", "/channels/nosuchchannel/variable", {"variable": "X", "value": "1"})
    r.rest("POST", "/channels/nosuchchannel/snoop", {"app": app, "spy": "in"})
    r.rest("POST", "/channels/nosuchchannel/continue")
    r.rest("POST", "/channels/nosuchchannel/move", {"app": app})
    r.rest("POST", "/channels/nosuchchannel/redirect", {"endpoint": "Local/wait@default"})
    r.rest("POST", "/channels/nosuchchannel/dial")
    r.step("bad-hangup-reason")
    r.rest("DELETE", f"/channels/{chan}", {"reason": "nonsense"})
    r.rest("DELETE", f"/channels/{chan}", {"reason": "normal", "reason_code": "16"})
    r.step("hangup")
    hang_up(r, chan)


def channel_operations(r: Runner) -> None:
    app = "rec-chanops"
    r.open(app)
    r.step("originate")
    chan = call_in(r, app, "wait")
    for step, method, path in (
        ("ring", "POST", "ring"),
        ("ring-stop", "DELETE", "ring"),
        ("progress", "POST", "progress"),
        ("hold", "POST", "hold"),
        ("unhold", "DELETE", "hold"),
        ("moh", "POST", "moh"),
        ("moh-stop", "DELETE", "moh"),
        ("silence", "POST", "silence"),
        ("silence-stop", "DELETE", "silence"),
        ("mute", "POST", "mute"),
        ("unmute", "DELETE", "mute"),
    ):
        r.step(step)
        r.rest(method, f"/channels/{chan}/{path}")
    r.step("mute-direction")
    r.rest("POST", f"/channels/{chan}/mute", {"direction": "both"})
    r.rest("DELETE", f"/channels/{chan}/mute", {"direction": "in"})
    r.rest("DELETE", f"/channels/{chan}/mute", {"direction": "out"})
    r.step("mute-bad-direction")
    r.rest("POST", f"/channels/{chan}/mute", {"direction": "sideways"})
    r.step("moh-class")
    r.rest("POST", f"/channels/{chan}/moh", {"mohClass": "default"})
    r.rest("DELETE", f"/channels/{chan}/moh")
    r.step("dtmf")
    r.rest("POST", f"/channels/{chan}/dtmf", {"dtmf": "12", "between": 50, "duration": 60})
    r.rest("POST", f"/channels/{chan}/dtmf")
    r.step("rtp-statistics")
    r.rest("GET", f"/channels/{chan}/rtp_statistics")
    r.step("transfer-progress")
    r.rest("POST", f"/channels/{chan}/transfer_progress", {"states": "channel_answered"})
    r.rest("POST", f"/channels/{chan}/transfer_progress", {"states": "nonsense"})
    r.step("hangup")
    hang_up(r, chan)


def channel_variables(r: Runner) -> None:
    app = "rec-chanvars"
    r.open(app)
    r.step("originate")
    chan = call_in(r, app)
    r.step("set")
    r.rest("POST", f"/channels/{chan}/variable", {"variable": "FOO", "value": "bar"})
    r.rest("POST", f"/channels/{chan}/variable", {"variable": "EVENTED", "value": "1", "report_events": True})
    r.step("get")
    r.rest("GET", f"/channels/{chan}/variable", {"variable": "FOO"})
    r.rest("GET", f"/channels/{chan}/variable", {"variable": "CHANNEL"})
    r.rest("GET", f"/channels/{chan}/variable", {"variable": "CALLERID(num)"})
    r.step("get-errors")
    r.rest("GET", f"/channels/{chan}/variable", {"variable": "UNSET_VARIABLE"})
    r.rest("GET", f"/channels/{chan}/variable", {"variable": "NOSUCHFUNC(x)"})
    r.rest("GET", f"/channels/{chan}/variable")
    r.rest("POST", f"/channels/{chan}/variable", {"value": "1"})
    r.step("many")
    r.rest("POST", f"/channels/{chan}/variables", body={"variables": {"A": "1", "B": "2"}})
    r.rest("GET", f"/channels/{chan}/variables", {"variables": "A,B"})
    r.rest("GET", f"/channels/{chan}/variables", {"variables": "A,B,UNSET_ONE"})
    r.rest("GET", f"/channels/{chan}/variables")
    r.step("hangup")
    hang_up(r, chan)


def dialplan_entry(r: Runner) -> None:
    app = "rec-dpentry"
    r.open(app)
    r.step("originate")
    chan = call_via_dialplan(r, app, "dtmf")
    r.step("dtmf-from-far-end")
    r.wait("ChannelDtmfReceived", channel__id=chan, digit="#")
    r.step("inspect")
    r.rest("GET", f"/channels/{chan}")
    r.rest("GET", f"/channels/{chan}-2")
    r.step("hangup")
    hang_up(r, chan, destroyed=False)
    r.sleep(1.0)
    r.step("gone")
    r.rest("GET", f"/channels/{chan}")


def dialplan_entry_far_hangup(r: Runner) -> None:
    app = "rec-dpfar"
    r.open(app)
    r.step("originate")
    chan = call_via_dialplan(r, app, "wait")
    r.step("far-end-hangs-up")
    r.ok("DELETE", f"/channels/{chan}-2")
    r.wait("StasisEnd", channel__id=chan)
    r.sleep(1.0)


def local_halves(r: Runner) -> None:
    app = "rec-halves"
    r.open(app)
    r.step("originate")
    chan = call_in(r, app, "echo", other=True)
    r.step("dtmf-echo")
    r.ok("POST", f"/channels/{chan}/dtmf", {"dtmf": "5"})
    r.wait("ChannelDtmfReceived", channel__id=chan, digit="5", timeout=3, required=False)
    r.step("inspect")
    r.rest("GET", f"/channels/{chan}-2")
    r.step("hangup")
    hang_up(r, chan)
    r.wait("ChannelDestroyed", channel__id=chan + "-2", required=False)


def far_ends(r: Runner) -> None:
    app = "rec-farends"
    r.open(app, subscribe_all=False)
    r.step("busy")
    busy = r.new_id("b")
    r.rest("POST", "/channels", {"endpoint": "Local/busy@default", "app": app, "channelId": busy})
    r.wait("ChannelDestroyed", channel__id=busy, required=False)
    r.step("noanswer")
    quiet = r.new_id("n")
    r.rest("POST", "/channels", {"endpoint": "Local/noanswer@default", "app": app, "channelId": quiet, "timeout": 2})
    r.wait("ChannelDestroyed", channel__id=quiet, timeout=8, required=False)
    r.step("unknown-extension")
    nowhere = r.new_id("u")
    r.rest("POST", "/channels", {"endpoint": "Local/nowhere@default", "app": app, "channelId": nowhere})
    r.wait("ChannelDestroyed", channel__id=nowhere, required=False)
    r.step("hello")
    hello = call_in(r, app, "hello")
    r.sleep(1.0)
    hang_up(r, hello)
    r.step("moh")
    moh = call_in(r, app, "moh")
    r.sleep(0.5)
    hang_up(r, moh)


def originate_dialplan_targets(r: Runner) -> None:
    app = "rec-dptarget"
    r.open(app)
    r.step("extension-priority")
    chan = r.new_id("p")
    r.ok(
        "POST",
        "/channels",
        {
            "endpoint": "Local/wait@default",
            "extension": f"app-{app}",
            "context": "default",
            "priority": 1,
            "channelId": chan,
            "otherChannelId": chan + "-2",
        },
    )
    r.wait("StasisStart", channel__id=chan)
    hang_up(r, chan, destroyed=False)
    r.step("label")
    r.rest(
        "POST",
        "/channels",
        {"endpoint": "Local/wait@default", "extension": f"app-{app}", "context": "default", "label": "nosuchlabel"},
    )
    r.step("extension-only")
    ext = r.new_id("e")
    r.rest("POST", "/channels", {"endpoint": "Local/wait@default", "extension": "echo", "channelId": ext})
    r.sleep(1.0)
    r.rest("GET", f"/channels/{ext}")
    r.rest("DELETE", f"/channels/{ext}")


def create_and_dial(r: Runner) -> None:
    app = "rec-dial"
    r.open(app)
    r.step("create")
    chan = r.new_id("c")
    r.ok(
        "POST",
        "/channels/create",
        {"endpoint": "Local/wait@default", "app": app, "channelId": chan, "otherChannelId": chan + "-2"},
    )
    r.wait("StasisStart", channel__id=chan)
    r.rest("GET", f"/channels/{chan}")
    r.step("create-duplicate")
    r.rest("POST", "/channels/create", {"endpoint": "Local/wait@default", "app": app, "channelId": chan})
    r.step("dial")
    r.ok("POST", f"/channels/{chan}/dial", {"timeout": 10})
    r.wait("Dial", peer__id=chan, dialstatus="ANSWER", required=False)
    r.sleep(0.5)
    r.step("dial-again")
    r.rest("POST", f"/channels/{chan}/dial")
    r.step("hangup")
    hang_up(r, chan)
    r.step("dial-noanswer")
    quiet = r.new_id("q")
    r.ok("POST", "/channels/create", {"endpoint": "Local/noanswer@default", "app": app, "channelId": quiet})
    r.wait("StasisStart", channel__id=quiet)
    r.ok("POST", f"/channels/{quiet}/dial", {"timeout": 2})
    r.wait("Dial", peer__id=quiet, dialstatus="NOANSWER", timeout=8, required=False)
    r.sleep(0.5)
    r.rest("DELETE", f"/channels/{quiet}")
    r.sleep(0.5)
    r.step("dial-busy")
    busy = r.new_id("b")
    r.ok("POST", "/channels/create", {"endpoint": "Local/busy@default", "app": app, "channelId": busy})
    r.wait("StasisStart", channel__id=busy)
    r.ok("POST", f"/channels/{busy}/dial")
    r.wait("Dial", peer__id=busy, dialstatus="BUSY", required=False)
    r.sleep(0.5)
    r.rest("DELETE", f"/channels/{busy}")
    r.sleep(0.5)


def continue_move_redirect(r: Runner) -> None:
    app, other = "rec-moves", "rec-moves2"
    r.open(app)
    r.open(other)
    r.step("continue")
    chan = call_in(r, app)
    r.ok("POST", f"/channels/{chan}/continue", {"context": "default", "extension": "wait", "priority": 1})
    r.wait("StasisEnd", channel__id=chan)
    r.sleep(0.5)
    r.rest("GET", f"/channels/{chan}")
    r.rest("DELETE", f"/channels/{chan}")
    r.step("continue-back-into-app")
    back = call_in(r, app)
    r.ok("POST", f"/channels/{back}/continue", {"context": "default", "extension": f"app-{other}"})
    r.wait("StasisStart", channel__id=back)
    r.rest("DELETE", f"/channels/{back}")
    r.wait("StasisEnd", channel__id=back)
    r.sleep(0.5)
    r.step("move")
    moved = call_in(r, app)
    r.ok("POST", f"/channels/{moved}/move", {"app": other, "appArgs": "x,y"})
    r.wait("StasisStart", channel__id=moved, application=other)
    r.step("move-unknown-app")
    r.rest("POST", f"/channels/{moved}/move", {"app": "rec-nobody"})
    r.step("move-hangup")
    hang_up(r, moved)
    r.step("redirect")
    red = call_in(r, app)
    r.rest("POST", f"/channels/{red}/redirect", {"endpoint": "Local/echo@default"})
    r.rest("POST", f"/channels/{red}/redirect")
    r.rest("POST", f"/channels/{red}/redirect", {"endpoint": "Nope/x"})
    r.sleep(0.5)
    r.rest("DELETE", f"/channels/{red}")
    r.sleep(1.0)


def snoop(r: Runner) -> None:
    app = "rec-snoop"
    r.open(app)
    r.step("originate")
    chan = call_in(r, app, "moh")
    r.step("snoop-with-id")
    spy = r.new_id("s")
    r.ok("POST", f"/channels/{chan}/snoop/{spy}", {"app": app, "spy": "both", "whisper": "none", "appArgs": "spying"})
    r.wait("StasisStart", channel__id=spy)
    r.rest("GET", f"/channels/{spy}")
    r.step("snoop-generated-id")
    snooped = r.ok("POST", f"/channels/{chan}/snoop", {"app": app, "spy": "in"})
    r.wait("StasisStart", channel__id=snooped["id"])
    r.step("snoop-errors")
    r.rest("POST", f"/channels/{chan}/snoop", {"app": app, "spy": "sideways"})
    r.rest("POST", f"/channels/{chan}/snoop", {"spy": "in"})
    r.rest("POST", f"/channels/{chan}/snoop", {"app": app})
    r.step("hangup-snoops")
    hang_up(r, spy, destroyed=False)
    hang_up(r, snooped["id"], destroyed=False)
    r.step("hangup")
    hang_up(r, chan)


def external_media(r: Runner) -> None:
    app = "rec-extmedia"
    r.open(app)
    r.step("rtp")
    rtp = r.new_id("x")
    r.ok(
        "POST",
        "/channels/externalMedia",
        {"app": app, "channelId": rtp, "external_host": "127.0.0.1:40000", "format": "ulaw"},
    )
    r.wait("StasisStart", channel__id=rtp, required=False)
    r.rest("GET", f"/channels/{rtp}")
    r.rest("GET", f"/channels/{rtp}/rtp_statistics")
    hang_up(r, rtp)
    r.step("websocket-server")
    wsm = r.new_id("w")
    r.ok(
        "POST",
        "/channels/externalMedia",
        {
            "app": app,
            "channelId": wsm,
            "transport": "websocket",
            "encapsulation": "none",
            "connection_type": "server",
            "format": "slin16",
        },
    )
    r.sleep(0.5)
    r.rest("GET", f"/channels/{wsm}")
    r.rest("DELETE", f"/channels/{wsm}")
    r.sleep(0.5)
    r.step("errors")
    r.rest("POST", "/channels/externalMedia", {"app": app, "format": "ulaw"})
    r.rest("POST", "/channels/externalMedia", {"app": app, "external_host": "127.0.0.1:40002"})
    r.rest(
        "POST", "/channels/externalMedia", {"app": app, "external_host": "127.0.0.1:40002", "format": "nosuchformat"}
    )
    r.rest("POST", "/channels/externalMedia", {"external_host": "127.0.0.1:40002", "format": "ulaw"})
    r.rest(
        "POST",
        "/channels/externalMedia",
        {
            "app": app,
            "external_host": "127.0.0.1:40002",
            "format": "ulaw",
            "encapsulation": "audiosocket",
            "transport": "udp",
        },
    )


SCENARIOS: Tuple[Scenario, ...] = (
    Scenario("originate_app", "channels", "originate into the app, inspect, answer, hangup", originate_app),
    Scenario("originate_errors", "channels", "originate's and channel operations' errors", originate_errors),
    Scenario("channel_operations", "channels", "ring, progress, hold, moh, silence, mute, dtmf", channel_operations),
    Scenario("channel_variables", "channels", "channel variables and functions, and errors", channel_variables),
    Scenario(
        "dialplan_entry",
        "dialplan",
        "a call entering the app through Stasis() in the dialplan; DTMF from the far end; hangup from the app",
        dialplan_entry,
    ),
    Scenario(
        "dialplan_entry_far_hangup",
        "dialplan",
        "a dialplan-entered call whose far end hangs up",
        dialplan_entry_far_hangup,
    ),
    Scenario(
        "originate_dialplan_targets",
        "dialplan",
        "originate with extension, context, priority, label",
        originate_dialplan_targets,
    ),
    Scenario("local_halves", "dialplan", "both Local halves of an originate to echo", local_halves),
    Scenario("far_ends", "dialplan", "busy, noanswer, unknown extension, hello, moh", far_ends),
    Scenario("create_and_dial", "channels", "channels/create then dial: answer, noanswer, busy", create_and_dial),
    Scenario("continue_move_redirect", "channels", "continue, move to another app, redirect", continue_move_redirect),
    Scenario("snoop", "channels", "snoop with and without id, and errors", snoop),
    Scenario("external_media", "media", "external media over RTP and WebSocket, errors", external_media),
)
