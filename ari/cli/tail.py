"""``ari events APP [APP ...]``: print an application's events as they come, filtered, in colour.

Its one job is the event tail: open the event socket for the apps (``client.start``), listen
to every event type the server describes and the client's own connection events, keep the
ones the filters let through and print each as one line (or one JSON object a line).  It
reads the client only through its public surface (``client.api.event_types``, ``on``,
``start``, ``stop``).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import threading
import time
from typing import Any, Callable, List, Sequence, Set, TextIO

from . import OK, USAGE, CommandError, connect
from .output import paint, plain, use_colour

#: The client's own events (connection life), shown between the server's.
CLIENT_EVENTS = ("WebSocketConnected", "WebSocketReconnecting", "WebSocketMaxRetries")

#: Fields every event has; a line leaves them out.
_COMMON = {"type", "application", "timestamp", "asterisk_id"}


def add_parser(commands: Any, add_server_options: Callable[..., None]) -> None:
    parser = commands.add_parser(
        "events",
        help="print an application's events as they come (like wscat on /ari/events)",
        description="Print the events of one or more Stasis applications until Ctrl-C (or --count).",
    )
    parser.add_argument("apps", nargs="+", metavar="APP", help="the application(s) to register and listen as")
    parser.add_argument(
        "--type", dest="types", action="append", default=[], metavar="TYPE", help="only these event types (repeat)"
    )
    parser.add_argument(
        "--not-type", dest="not_types", action="append", default=[], metavar="TYPE", help="leave these types out"
    )
    parser.add_argument("--id", dest="ids", action="append", default=[], help="only events about this resource id")
    parser.add_argument("--subscribe-all", action="store_true", help="every event source, not only the app's own")
    parser.add_argument("--count", type=int, metavar="N", help="stop after N events")
    parser.add_argument("--json", action="store_true", help="one JSON object a line, as Asterisk sent it")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour (default auto)")
    add_server_options(parser, suppress=True)


def _check_types(names: Sequence[str], known: Sequence[str]) -> None:
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise CommandError(f"unknown event type {name!r}{hint}", USAGE)


def _ids(data: Any) -> Set[str]:
    """Every id an event names: its resources' ids and names, at the top level."""
    found: Set[str] = set()
    for value in data.values() if isinstance(data, dict) else ():
        if isinstance(value, dict):
            found.update(str(value[k]) for k in ("id", "name") if k in value)
    return found


def line(data: Any, colour: bool) -> str:
    """``12:00:01.234 StasisStart channel=PJSIP/1000-00000001 (Up) args=[]``."""
    stamp = time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"
    parts: List[str] = []
    for key, value in data.items():
        if key in _COMMON:
            continue
        if isinstance(value, dict):
            shown = value.get("name") or value.get("id") or value.get("resource")
            if shown is None:
                shown = json.dumps(value, separators=(",", ":"))
            state = value.get("state")
            text = f"{shown} ({state})" if state else str(shown)
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, separators=(",", ":"))
        parts.append(f"{paint(key, 'key', colour)}={text}")
    kind = paint(f"{data.get('type', '?'):<24}", "type", colour)
    return f"{paint(stamp, 'time', colour)} {kind} {' '.join(parts)}".rstrip()


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.count is not None and args.count < 1:
        raise CommandError("--count must be at least 1", USAGE)
    colour = use_colour(args.color, out)
    with connect(args) as client:
        known = [*client.api.event_types, *CLIENT_EVENTS]
        _check_types(args.types, known)
        _check_types(args.not_types, known)
        # The client's own events (connection life) go to stderr unless asked for by --type:
        # stdout carries what Asterisk sent, and --json stays one Asterisk event a line.
        wanted = set(args.types) or set(client.api.event_types)
        wanted -= set(args.not_types)
        ids = set(args.ids)
        done = threading.Event()
        lock = threading.Lock()
        shown = [0]

        def show(event: Any, *instances: Any) -> None:
            data = plain(event)
            if ids and not ids & _ids(data):
                return
            with lock:
                if done.is_set():
                    return
                text = json.dumps(data, ensure_ascii=False) if args.json else line(data, colour)
                print(text, file=out, flush=True)
                shown[0] += 1
                if args.count is not None and shown[0] >= args.count:
                    done.set()

        for event_type in sorted(wanted):
            client.on(event_type, show)

        def notice(event: Any) -> None:
            if event.type == "WebSocketConnected" and not event.get("reconnected"):
                return  # the first connection: "listening as" says it
            fields = " ".join(f"{k}={v}" for k, v in plain(event).items() if k != "type")
            print(f"-- {event.type} {fields}", file=sys.stderr, flush=True)
            if event.type == "WebSocketMaxRetries":
                done.set()

        for event_type in CLIENT_EVENTS:
            if event_type not in wanted:
                client.on(event_type, notice)
        client.start(args.apps, subscribe_all=args.subscribe_all)
        print(f"listening as {', '.join(args.apps)} (Ctrl-C stops)", file=sys.stderr, flush=True)
        try:
            done.wait()
        finally:
            client.stop()
    return OK


__all__ = ["add_parser", "line", "run"]
