"""Bridge scenarios: every bridge type, channels in and out, variables, moh, video source,
and when BridgeDestroyed reaches the app.  Only recorder moves; no server access of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Tuple

from .base import Scenario, call_in, hang_up

if TYPE_CHECKING:
    from ..record import Runner


def bridge_types(r: Runner) -> None:
    app = "rec-brtypes"
    r.open(app)
    for kind in (
        "mixing",
        "holding",
        "dtmf_events",
        "proxy_media",
        "video_sfu",
        "video_single",
        "mixing,dtmf_events,proxy_media",
    ):
        r.step(f"create-{kind}")
        bridge = r.new_id("br")
        r.rest("POST", "/bridges", {"type": kind, "bridgeId": bridge, "name": f"n-{kind}"})
        r.rest("GET", f"/bridges/{bridge}")
        r.rest("DELETE", f"/bridges/{bridge}")
    r.step("create-generated-id")
    made = r.ok("POST", "/bridges")
    r.rest("GET", "/bridges")
    r.rest("DELETE", f"/bridges/{made['id']}")
    r.step("create-with-id")
    given = r.new_id("br")
    r.ok("POST", f"/bridges/{given}", {"type": "mixing", "name": "given"})
    r.rest("POST", f"/bridges/{given}", {"type": "holding", "name": "again"})
    r.rest("POST", "/bridges", {"bridgeId": given})
    r.step("bad-type")
    r.rest("POST", "/bridges", {"type": "nonsense"})
    r.step("unknown-bridge")
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/moh"), ("DELETE", "/moh"), ("DELETE", "/videoSource")):
        r.rest(method, "/bridges/nosuchbridge" + path)
    r.rest("POST", "/bridges/nosuchbridge/addChannel", {"channel": "x"})
    r.rest("POST", "/bridges/nosuchbridge/removeChannel", {"channel": "x"})
    r.rest("POST", "/bridges/nosuchbridge/play", {"media": "sound:beep"})
    r.rest("POST", "/bridges/nosuchbridge/record", {"name": "x", "format": "wav"})
    r.rest("GET", "/bridges/nosuchbridge/variable", {"variable": "X"})
    r.step("destroy")
    r.rest("DELETE", f"/bridges/{given}")
    r.rest("DELETE", f"/bridges/{given}")


def bridge_channels(r: Runner) -> None:
    app = "rec-brchan"
    r.open(app)
    r.step("calls")
    a = call_in(r, app)
    b = call_in(r, app, "echo")
    r.step("bridge")
    bridge = r.new_id("br")
    r.ok("POST", "/bridges", {"type": "mixing", "bridgeId": bridge})
    r.step("add")
    r.ok("POST", f"/bridges/{bridge}/addChannel", {"channel": f"{a},{b}", "role": "member"})
    r.wait("ChannelEnteredBridge", channel__id=a)
    r.wait("ChannelEnteredBridge", channel__id=b)
    r.rest("GET", f"/bridges/{bridge}")
    r.step("add-errors")
    r.rest("POST", f"/bridges/{bridge}/addChannel", {"channel": "nosuchchannel"})
    r.rest("POST", f"/bridges/{bridge}/addChannel")
    r.rest("POST", f"/bridges/{bridge}/removeChannel", {"channel": "nosuchchannel"})
    r.step("moh")
    r.rest("POST", f"/bridges/{bridge}/moh")
    r.rest("DELETE", f"/bridges/{bridge}/moh")
    r.step("video-source")
    r.rest("POST", f"/bridges/{bridge}/videoSource/{a}")
    r.rest("POST", f"/bridges/{bridge}/videoSource/nosuchchannel")
    r.rest("DELETE", f"/bridges/{bridge}/videoSource")
    r.step("variables")
    r.rest("POST", f"/bridges/{bridge}/variable", {"variable": "BV", "value": "1"})
    r.rest("GET", f"/bridges/{bridge}/variable", {"variable": "BV"})
    r.rest("GET", f"/bridges/{bridge}/variable", {"variable": "UNSET_ONE"})
    r.rest("POST", f"/bridges/{bridge}/variables", body={"variables": {"X": "1"}})
    r.rest("GET", f"/bridges/{bridge}/variables")
    r.rest("GET", f"/bridges/{bridge}/variables", {"variables": "X,BV"})
    r.step("remove")
    r.ok("POST", f"/bridges/{bridge}/removeChannel", {"channel": b})
    r.wait("ChannelLeftBridge", channel__id=b)
    r.rest("POST", f"/bridges/{bridge}/removeChannel", {"channel": b})
    r.step("destroy-holding-a-channel")
    r.ok("DELETE", f"/bridges/{bridge}")
    r.wait("ChannelLeftBridge", channel__id=a)
    r.sleep(0.5)
    r.step("hangup")
    hang_up(r, a)
    hang_up(r, b)


def bridge_destroyed(r: Runner) -> None:
    app = "rec-brdestroy"
    r.open(app)
    r.step("calls")
    a = call_in(r, app)
    bridge = r.new_id("br")
    r.ok("POST", "/bridges", {"type": "mixing", "bridgeId": bridge})
    r.ok("POST", f"/bridges/{bridge}/addChannel", {"channel": a})
    r.wait("ChannelEnteredBridge", channel__id=a)
    r.step("hangup-in-bridge")
    hang_up(r, a)
    r.sleep(0.5)
    r.rest("GET", f"/bridges/{bridge}")
    r.step("destroy-empty")
    r.ok("DELETE", f"/bridges/{bridge}")
    r.sleep(0.5)
    r.step("empty-bridge")
    lone = r.new_id("br")
    r.ok("POST", "/bridges", {"bridgeId": lone})
    r.ok("DELETE", f"/bridges/{lone}")
    r.sleep(0.5)
    r.step("subscribed-bridge")
    sub = r.new_id("br")
    r.ok("POST", "/bridges", {"bridgeId": sub})
    r.ok("POST", f"/applications/{app}/subscription", {"eventSource": f"bridge:{sub}"})
    r.ok("DELETE", f"/bridges/{sub}")
    r.wait("BridgeDestroyed", bridge__id=sub, required=False)


def bridge_media(r: Runner) -> None:
    app = "rec-brmedia"
    r.open(app)
    r.step("call")
    a = call_in(r, app, "moh")
    bridge = r.new_id("br")
    r.ok("POST", "/bridges", {"bridgeId": bridge})
    r.ok("POST", f"/bridges/{bridge}/addChannel", {"channel": a})
    r.wait("ChannelEnteredBridge", channel__id=a)
    r.step("play")
    pb = r.new_id("pb")
    r.ok("POST", f"/bridges/{bridge}/play", {"media": "sound:beep", "playbackId": pb})
    r.wait("PlaybackFinished", playback__id=pb)
    # The announcer leaves a few milliseconds after PlaybackFinished: a request sent at once
    # races it (bridge_helpers records when it has left).
    r.sleep(0.3)
    r.step("play-with-id")
    pb2 = r.new_id("pb")
    r.ok("POST", f"/bridges/{bridge}/play/{pb2}", {"media": "sound:beep"})
    r.wait("PlaybackFinished", playback__id=pb2)
    r.sleep(0.3)
    r.step("record")
    name = r.new_id("rb")
    r.ok("POST", f"/bridges/{bridge}/record", {"name": name, "format": "wav", "maxDurationSeconds": 1})
    r.wait("RecordingFinished", recording__name=name, timeout=10)
    r.rest("GET", f"/recordings/stored/{name}")
    r.rest("DELETE", f"/recordings/stored/{name}")
    r.step("record-errors")
    r.rest("POST", f"/bridges/{bridge}/record", {"name": "x", "format": "nosuchformat"})
    r.rest("POST", f"/bridges/{bridge}/record", {"format": "wav"})
    r.step("hangup")
    hang_up(r, a)
    r.rest("DELETE", f"/bridges/{bridge}")
    r.sleep(0.3)


def _peers(r: Runner, *chans: str) -> None:
    for chan in chans:
        r.rest("GET", f"/channels/{chan}/variable", {"variable": "BRIDGEPEER"})


def _join(r: Runner, bridge: str, chan: str) -> None:
    """Add ``chan`` to ``bridge`` and let Asterisk settle the members' BRIDGEPEER."""
    r.ok("POST", f"/bridges/{bridge}/addChannel", {"channel": chan})
    r.wait("ChannelEnteredBridge", channel__id=chan)
    r.sleep(0.3)


def bridge_helpers(r: Runner) -> None:
    """The helper channels Asterisk puts in a bridge (an announcer to play, a recorder, the music
    on hold announcer) as the members' BRIDGEPEER shows them, in a holding and a mixing bridge:
    when each joins and leaves, and the music on hold ending as the last member leaves."""
    app = "rec-brhelp"
    r.open(app)
    for kind in ("holding", "mixing"):
        r.step(f"{kind}-two")
        a = call_in(r, app)
        b = call_in(r, app)
        bridge = r.new_id("br")
        r.ok("POST", "/bridges", {"type": kind, "bridgeId": bridge})
        r.ok("POST", f"/bridges/{bridge}/addChannel", {"channel": f"{a},{b}"})
        r.wait("ChannelEnteredBridge", channel__id=a)
        r.wait("ChannelEnteredBridge", channel__id=b)
        r.sleep(0.3)
        _peers(r, a, b)
        r.step(f"{kind}-playback-stopped")
        pb = r.new_id("pb")
        r.ok("POST", f"/bridges/{bridge}/play", {"media": "sound:demo-congrats", "playbackId": pb})
        r.wait("PlaybackStarted", playback__id=pb)
        r.sleep(0.3)
        _peers(r, a)
        r.ok("DELETE", f"/playbacks/{pb}")
        r.wait("PlaybackFinished", playback__id=pb)
        r.sleep(0.3)
        _peers(r, a)
        r.step(f"{kind}-playback-finished")
        pb = r.new_id("pb")
        r.ok("POST", f"/bridges/{bridge}/play", {"media": "sound:beep", "playbackId": pb})
        r.wait("PlaybackFinished", playback__id=pb)
        r.sleep(0.5)
        _peers(r, a)
        r.step(f"{kind}-recording")
        name = r.new_id("rh")
        r.ok("POST", f"/bridges/{bridge}/record", {"name": name, "format": "wav", "maxDurationSeconds": 1})
        r.wait("RecordingFinished", recording__name=name, timeout=10)
        r.sleep(0.5)
        _peers(r, a)
        r.rest("DELETE", f"/recordings/stored/{name}")
        r.step(f"{kind}-moh")
        r.ok("POST", f"/bridges/{bridge}/moh")
        r.sleep(0.3)
        _peers(r, a, b)
        r.step(f"{kind}-first-leaves")
        hang_up(r, a)
        r.sleep(0.3)
        _peers(r, b)
        r.rest("GET", f"/bridges/{bridge}")
        r.step(f"{kind}-last-leaves")
        hang_up(r, b)
        r.sleep(0.5)
        r.rest("GET", f"/bridges/{bridge}")
        r.step(f"{kind}-after-moh-ended")
        c = call_in(r, app)
        _join(r, bridge, c)
        _peers(r, c)
        d = call_in(r, app)
        _join(r, bridge, d)
        _peers(r, c, d)
        r.step(f"{kind}-hangup")
        hang_up(r, c)
        hang_up(r, d)
        r.ok("DELETE", f"/bridges/{bridge}")
        r.step(f"{kind}-moh-on-empty")
        bridge = r.new_id("br")
        r.ok("POST", "/bridges", {"type": kind, "bridgeId": bridge})
        r.ok("POST", f"/bridges/{bridge}/moh")
        r.sleep(0.3)
        e = call_in(r, app)
        _join(r, bridge, e)
        _peers(r, e)
        r.ok("POST", f"/bridges/{bridge}/removeChannel", {"channel": e})
        r.wait("ChannelLeftBridge", channel__id=e)
        r.sleep(0.3)
        f = call_in(r, app)
        _join(r, bridge, f)
        _peers(r, f)
        r.step(f"{kind}-moh-on-empty-hangup")
        hang_up(r, e)
        hang_up(r, f)
        r.ok("DELETE", f"/bridges/{bridge}")
        r.sleep(0.3)


SCENARIOS: Tuple[Scenario, ...] = (
    Scenario("bridge_types", "bridges", "every bridge type; create, get, list, destroy; errors", bridge_types),
    Scenario(
        "bridge_channels", "bridges", "channels in and out of a bridge; moh, video, variables; errors", bridge_channels
    ),
    Scenario("bridge_destroyed", "bridges", "when BridgeDestroyed reaches the app", bridge_destroyed),
    Scenario("bridge_media", "bridges", "play and record on a bridge", bridge_media),
    Scenario(
        "bridge_helpers",
        "bridges",
        "BRIDGEPEER as announcers, recorders and music on hold join and leave holding and mixing bridges",
        bridge_helpers,
    ),
)
