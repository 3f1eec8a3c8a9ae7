#!/usr/bin/env python3
"""Record how a real Asterisk ends a chan_websocket media channel, for the simulator's tests.

Run by hand against a real Asterisk (20.16+, 22.6+)::

    python scripts/record_media_hangups.py --url http://127.0.0.1:8088 \
        [--out tests/fixtures/media-hangups-22.10.1.json]

For each way a media WebSocket channel (``externalMedia``, ``connection_type=server``) can end
-- a DELETE before the application connects, a DELETE once it is connected, the application
closing its socket (code 1000 or 4000), the socket cut without a close frame, the HANGUP
command -- and a channel Asterisk connects out with (``connection_type=client`` through the
websocket_client.conf section ``media-out``, whose uri is ``ws://127.0.0.1:18791/media``:
deleted, or closed by the application) it records the events the application got about the channel (type, state, causes,
dial status, variables: the fields that do not change from run to run), the externalMedia
answer's ``channelvars`` names, whether GET shows ``channelvars``, and the close code Asterisk
sent.  It speaks plain ``requests`` and ``websockets`` (not ``ari``), so the facts do not
depend on the code they check; ``tests/functional/test_media_hangups.py`` runs it against the
simulator and compares.
"""

from __future__ import annotations

import argparse
import json
import queue
import threading
import time
import uuid
from typing import Any, Dict, List, Optional

import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.sync.server import ServerConnection
from websockets.sync.server import serve as ws_serve

APP = "media-hangups"
#: the fields of an event that say how a channel ended (ids and times left out)
KEPT = ("cause", "cause_txt", "tech_cause", "soft", "dialstatus", "dialstring", "variable", "value")
CASES = ("delete-down", "delete", "close-1000", "close-4000", "cut", "hangup-command")
#: Asterisk connecting out (websocket_client.conf ``media-out``: ws://127.0.0.1:<port>/media)
OUTBOUND_CASES = ("outbound-delete", "outbound-close")
OUTBOUND_CONNECTION, OUTBOUND_PORT = "media-out", 18791


def _event(data: Dict[str, Any]) -> Dict[str, Any]:
    channel = data.get("channel") or data.get("peer") or {}
    out: Dict[str, Any] = {"type": data["type"], "state": channel.get("state")}
    out.update({key: data[key] for key in KEPT if key in data})
    out["dialplan"] = [channel.get("dialplan", {}).get("app_name"), channel.get("dialplan", {}).get("app_data")]
    out["channelvars"] = "channelvars" in channel
    return out


class Events:
    """The application's events socket, on a thread of its own."""

    def __init__(self, ws_root: str, user: str, password: str) -> None:
        self.all: List[Dict[str, Any]] = []
        self._ws = ws_connect(f"{ws_root}/ari/events?app={APP}&api_key={user}:{password}", proxy=None, legacy=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self._ws:
                self.all.append(json.loads(message))
        except ConnectionClosed:
            pass

    def about(self, channel_id: str) -> List[Dict[str, Any]]:
        out = []
        for data in list(self.all):
            channel = data.get("channel") or data.get("peer") or {}
            if channel.get("id") == channel_id:
                out.append(_event(data))
        return out

    def close(self) -> None:
        self._ws.close()
        self._thread.join(5)


def _close_code(ws: ClientConnection) -> Optional[int]:
    try:
        while True:
            ws.recv(3)
    except (ConnectionClosed, TimeoutError):
        pass
    close = ws.protocol.close_rcvd
    return close.code if close is not None else None


class Accepting:
    """A plain ``websockets`` server taking the media connections Asterisk opens."""

    def __init__(self, port: int) -> None:
        self.connections: queue.Queue[ServerConnection] = queue.Queue()
        self._done = threading.Event()
        self._server = ws_serve(self._handler, "127.0.0.1", port, subprotocols=["media"], compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _handler(self, ws: ServerConnection) -> None:
        self.connections.put(ws)
        self._done.wait()  # the connection stays open until the case is over

    def close(self) -> None:
        self._done.set()
        self._server.shutdown()
        self._thread.join(5)


def record(
    url: str, user: str, password: str, settle: float = 0.5, outbound_port: Optional[int] = OUTBOUND_PORT
) -> Dict[str, Any]:
    """The facts; with ``outbound_port`` the cases where Asterisk connects out (``media-out``) too."""
    rest = requests.Session()
    rest.auth = (user, password)
    root = url.rstrip("/")
    ws_root = "ws" + root[len("http") :]
    events = Events(ws_root, user, password)
    facts: Dict[str, Any] = {}
    try:
        time.sleep(0.2)
        for case in CASES:
            facts[case] = _inbound(case, rest, root, ws_root, events, settle)
        if outbound_port is not None:
            accepting = Accepting(outbound_port)
            try:
                for case in OUTBOUND_CASES:
                    facts[case] = _outbound(case, rest, root, accepting, events, settle)
            finally:
                accepting.close()
    finally:
        events.close()
        rest.close()
    return facts


def _external_media(rest: Any, root: str, channel_id: str, **params: str) -> Dict[str, Any]:
    """POST /channels/externalMedia for a slin16 WebSocket media channel; its answer."""
    query = {"app": APP, "channelId": channel_id, "transport": "websocket", "encapsulation": "none"}
    reply = rest.post(f"{root}/ari/channels/externalMedia", params={**query, **params, "format": "slin16"}, timeout=10)
    reply.raise_for_status()
    answer: Dict[str, Any] = reply.json()
    return answer


def _inbound(case: str, rest: Any, root: str, ws_root: str, events: Events, settle: float) -> Dict[str, Any]:
    channel_id = "m" + uuid.uuid4().hex[:12]
    answer = _external_media(rest, root, channel_id, connection_type="server")
    entry: Dict[str, Any] = {"answer_channelvars": sorted(answer.get("channelvars", {}))}
    ws: Optional[ClientConnection] = None
    if case != "delete-down":
        connection = answer["channelvars"]["MEDIA_WEBSOCKET_CONNECTION_ID"]
        ws = ws_connect(f"{ws_root}/media/{connection}", proxy=None, legacy=True)
        ws.recv(5)  # MEDIA_START
    time.sleep(settle)
    shown = rest.get(f"{root}/ari/channels/{channel_id}", timeout=10).json()
    entry["get_has_channelvars"] = "channelvars" in shown
    if case.startswith("delete"):
        rest.delete(f"{root}/ari/channels/{channel_id}", timeout=10)
    elif case.startswith("close-") and ws is not None:
        ws.close(int(case.split("-")[1]))
    elif case == "cut" and ws is not None:
        ws.socket.close()  # no close frame: a read error on Asterisk's side
    elif case == "hangup-command" and ws is not None:
        ws.send("HANGUP")
    if ws is not None and case in ("delete", "hangup-command"):
        entry["close_code"] = _close_code(ws)
    time.sleep(settle)
    if ws is not None:
        ws.close()
    entry["events"] = events.about(channel_id)
    return entry


def _outbound(case: str, rest: Any, root: str, accepting: Accepting, events: Events, settle: float) -> Dict[str, Any]:
    channel_id = "o" + uuid.uuid4().hex[:12]
    answer = _external_media(rest, root, channel_id, connection_type="client", external_host=OUTBOUND_CONNECTION)
    entry: Dict[str, Any] = {"answer_channelvars": sorted(answer.get("channelvars", {}))}
    ws = accepting.connections.get(timeout=10)
    entry["path"] = ws.request.path if ws.request is not None else None
    ws.recv(5)  # MEDIA_START
    time.sleep(settle)
    if case == "outbound-delete":
        rest.delete(f"{root}/ari/channels/{channel_id}", timeout=10)
        entry["close_code"] = _close_code(ws)
    else:
        ws.close()
    time.sleep(settle)
    entry["events"] = events.about(channel_id)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--out", default="tests/fixtures/media-hangups-22.10.1.json")
    args = parser.parse_args()
    facts = record(args.url, args.user, args.password)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(facts, out, indent=1, sort_keys=True)
        out.write("\n")


if __name__ == "__main__":
    main()
