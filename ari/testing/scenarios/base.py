"""What a scenario is, and the few moves most scenarios share (a call into the app, a hangup).

Its one job is those shared moves, written with the recorder's ``Runner`` only; it must not
talk to a server any other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict

if TYPE_CHECKING:
    from ..record import Runner


@dataclass(frozen=True)
class Scenario:
    name: str
    area: str
    doc: str
    run: Callable[[Runner], None]


def call_in(r: Runner, app: str, far_end: str = "wait", args: str = "", other: bool = False, **query: Any) -> str:
    """Originate ``Local/<far_end>@default`` into ``app``; wait for its StasisStart.

    Returns the channel id (given by the scenario; ``other`` gives the ;2 half an id too).
    """
    chan = r.new_id("c")
    params: Dict[str, Any] = {"endpoint": f"Local/{far_end}@default", "app": app, "channelId": chan}
    if args:
        params["appArgs"] = args
    if other:
        params["otherChannelId"] = chan + "-2"
    params.update(query)
    r.ok("POST", "/channels", params)
    r.wait("StasisStart", channel__id=chan)
    return chan


def call_via_dialplan(r: Runner, app: str, far_end: str = "wait") -> str:
    """Originate ``Local/<far_end>@default`` whose ;1 half enters ``app`` through the dialplan
    (``app-<app>``), as an incoming call would; returns the id of the half in the app."""
    chan = r.new_id("d")
    r.ok(
        "POST",
        "/channels",
        {
            "endpoint": f"Local/{far_end}@default",
            "extension": f"app-{app}",
            "context": "default",
            "channelId": chan,
            "otherChannelId": chan + "-2",
        },
    )
    r.wait("StasisStart", channel__id=chan)
    return chan


def hang_up(r: Runner, chan: str, destroyed: bool = True, **query: Any) -> None:
    """Hang ``chan`` up from the app and wait for its end (ChannelDestroyed, or StasisEnd for a
    channel whose ChannelDestroyed the app does not get)."""
    r.ok("DELETE", f"/channels/{chan}", query or None)
    if destroyed:
        r.wait("ChannelDestroyed", channel__id=chan)
    else:
        r.wait("StasisEnd", channel__id=chan)
