#!/usr/bin/env python3
"""Count how often Asterisk lists a bridge's music on hold announcer in a ChannelLeftBridge.

Run by hand against a real Asterisk (its test dialplan: ``Local/wait@default``)::

    python scripts/record_bridge_moh_race.py --url http://127.0.0.1:8088 [--runs 8] \
        [--out tests/fixtures/bridge-moh-race-22.10.1.json]

Bridge music on hold is an announcer channel in the bridge (res_stasis.c bridge_moh_create),
hidden from the application.  When the last member leaves, the announcer is alone and Asterisk
makes it leave and hangs it up; meanwhile the member's ChannelLeftBridge is sanitised (internal
channels dropped by their latest snapshot), and an announcer already destroyed has none: its
uniqueid is then listed in ``bridge.channels``.  A race, so this script counts, for each case
(bridge type; no music, music started once a member is in, music started on the empty bridge;
members hung up one after the other or together), how many ids that are not members each
member's ChannelLeftBridge listed, and ``GET /bridges/{id}`` afterwards.  It speaks plain
``requests`` and ``websocket-client`` (not ``ari``), so the facts do not depend on the code
they check; ``tests/functional/test_bridge_moh_race.py`` runs it against the simulator.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections import Counter
from typing import Any, Dict, List

import requests
import websocket

APP = "bridge-moh-race"
#: (bridge type, when music on hold starts, how the members hang up)
CASES = (
    ("holding", "none", "apart"),
    ("holding", "after-first", "apart"),
    ("holding", "empty", "apart"),
    ("mixing", "none", "apart"),
    ("mixing", "after-first", "apart"),
    ("mixing", "empty", "apart"),
    ("mixing", "after-first", "together"),
)


class Events:
    """The application's events socket, on a thread of its own."""

    def __init__(self, url: str, user: str, password: str) -> None:
        root = url.replace("http", "ws", 1).rstrip("/")
        self.all: List[Dict[str, Any]] = []
        self.lock = threading.Condition()
        self._ws = websocket.create_connection(f"{root}/ari/events?app={APP}&api_key={user}:{password}", timeout=5)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                frame = self._ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            if not frame:
                return
            with self.lock:
                self.all.append(json.loads(frame))
                self.lock.notify_all()

    def wait(self, event_type: str, channel_id: str) -> Dict[str, Any]:
        def find() -> Any:
            for event in self.all:
                if event["type"] == event_type and event.get("channel", {}).get("id") == channel_id:
                    return event
            return None

        with self.lock:
            if not self.lock.wait_for(find, 10):
                raise RuntimeError(f"no {event_type} for {channel_id}")
            return find()

    def close(self) -> None:
        self._ws.close()
        self._thread.join(5)


def _key(case: Any) -> str:
    return "-".join(case)


def record(url: str, user: str, password: str, runs: int = 8, settle: float = 0.1) -> Dict[str, Any]:
    """The counts: per case, per member ("first", "last") and for GET afterwards ("get"), how
    many runs listed how many ids that are not members ("0", "1")."""
    rest = requests.Session()
    rest.auth = (user, password)
    base = url.rstrip("/") + "/ari"
    events = Events(url, user, password)
    out: Dict[str, Any] = {"runs": runs, "cases": {}}
    try:
        for case in CASES:
            kind, moh, hangup = case
            counts: Dict[str, Counter[str]] = {"first": Counter(), "last": Counter(), "get": Counter()}
            for _ in range(runs):
                ids = ["r" + uuid.uuid4().hex[:10] for _ in range(2)]
                for chan in ids:
                    params = {"endpoint": "Local/wait@default", "app": APP, "channelId": chan}
                    rest.post(f"{base}/channels", params=params, timeout=5).raise_for_status()
                    events.wait("StasisStart", chan)
                bridge = rest.post(f"{base}/bridges", params={"type": kind}, timeout=5).json()["id"]
                if moh == "empty":
                    rest.post(f"{base}/bridges/{bridge}/moh", timeout=5).raise_for_status()
                rest.post(f"{base}/bridges/{bridge}/addChannel", params={"channel": ids[0]}, timeout=5)
                events.wait("ChannelEnteredBridge", ids[0])
                if moh == "after-first":
                    rest.post(f"{base}/bridges/{bridge}/moh", timeout=5).raise_for_status()
                rest.post(f"{base}/bridges/{bridge}/addChannel", params={"channel": ids[1]}, timeout=5)
                events.wait("ChannelEnteredBridge", ids[1])
                time.sleep(settle)
                for chan in ids:
                    rest.delete(f"{base}/channels/{chan}", timeout=5)
                    if hangup == "apart":
                        events.wait("ChannelLeftBridge", chan)
                        time.sleep(settle)
                for which, chan in zip(("first", "last"), ids):
                    listed = events.wait("ChannelLeftBridge", chan)["bridge"]["channels"]
                    counts[which][str(len([c for c in listed if c not in ids]))] += 1
                time.sleep(settle)
                after = rest.get(f"{base}/bridges/{bridge}", timeout=5).json()["channels"]
                counts["get"][str(len([c for c in after if c not in ids]))] += 1
                rest.delete(f"{base}/bridges/{bridge}", timeout=5)
            out["cases"][_key(case)] = {k: dict(sorted(v.items())) for k, v in counts.items()}
    finally:
        events.close()
        rest.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--out", default="tests/fixtures/bridge-moh-race-22.10.1.json")
    args = parser.parse_args()
    facts = record(args.url, args.user, args.password, args.runs)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(json.dumps(facts, indent=1) + "\n")


if __name__ == "__main__":
    main()
