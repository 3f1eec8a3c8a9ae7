#!/usr/bin/env python3
"""Record what a real Asterisk does with externalMedia, for the simulator's media tests.

Run by hand against a real Asterisk (20.16+, 22.6+; ``Local/echo``, ``Local/moh`` and
``Local/dtmf`` in context ``default`` as ../shared/asterisk sets them up)::

    python scripts/record_media_facts.py --url http://127.0.0.1:8088 \
        [--out tests/functional/data/media-22.10.1.json]

It speaks the media protocols with the plain ``websockets`` client and a UDP socket (not
``ari.media``, so that the facts do not depend on the code they check) and writes the texts
Asterisk sent, the statuses it answered, the events it emitted and what its RTP carried.
"""

from __future__ import annotations

import argparse
import collections
import json
import socket
import struct
import threading
import time
from typing import Any, Dict, List

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

import ari

APP = "media-facts"


class Events:
    def __init__(self, client: Any) -> None:
        self.all: List[Dict[str, Any]] = []
        for name in (
            "StasisStart",
            "StasisEnd",
            "ChannelStateChange",
            "ChannelHangupRequest",
            "ChannelDestroyed",
            "ChannelDtmfReceived",
            "ChannelVarset",
        ):
            client.on(name, self._heard)

    def _heard(self, event: Any, *_: Any) -> None:
        data = dict(event._data) if hasattr(event, "_data") else dict(event)
        self.all.append(data)

    def about(self, channel_id: str) -> List[List[str]]:
        out = []
        for e in self.all:
            ch = e.get("channel")
            ch_id = getattr(ch, "id", None) if ch is not None else None
            if ch_id == channel_id and e["type"] != "ChannelVarset":
                out.append([e["type"], getattr(ch, "state", ""), str(e.get("cause", ""))])
        return out


def recv_texts(ws: Any, seconds: float) -> List[str]:
    texts = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            message = ws.recv(max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        if isinstance(message, str):
            texts.append(message)
    return texts


def wait_text(ws: Any, prefix: str, seconds: float = 5.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = ws.recv(max(0.01, deadline - time.monotonic()))
        if isinstance(message, str) and message.startswith(prefix):
            return message
    raise TimeoutError(prefix)


def media_ws(client: Any, url: str, fmt: str, transport_data: str = "") -> Any:
    params: Dict[str, Any] = {
        "app": APP,
        "transport": "websocket",
        "encapsulation": "none",
        "connection_type": "server",
        "format": fmt,
    }
    if transport_data:
        params["transport_data"] = transport_data
    channel = client.channels.externalMedia(**params)
    conn = channel.channelvars["MEDIA_WEBSOCKET_CONNECTION_ID"]
    ws = ws_connect(
        f"{url.replace('http', 'ws')}/media/{conn}", subprotocols=["media"], compression=None, proxy=None, max_size=None
    )
    ws.__enter__()
    return channel, ws


def bridge(client: Any, *ids: str) -> Any:
    br = client.bridges.create(type="mixing")
    br.addChannel(channel=list(ids))
    return br


#: seconds to let an originated call answer and enter the application
SETTLE = 0.6
#: seconds to watch the RTP while Local/dtmf sends its digits (it starts after 1 s)
DTMF_WINDOW = 2.0


def originate(client: Any, endpoint: str) -> Any:
    peer = client.channels.originate(endpoint=endpoint, app=APP)
    time.sleep(SETTLE)
    return peer


def record(url: str, user: str, password: str) -> Dict[str, Any]:
    facts: Dict[str, Any] = {}
    with ari.connect(url, user, password) as client:
        events = Events(client)
        client.start(APP)
        time.sleep(0.3)

        # -- WebSocket: answer, MEDIA_START, events --------------------------------------
        channel, ws = media_ws(client, url, "slin16")
        facts["ws_answer"] = {
            "name_prefix": channel.name.rsplit("/", 1)[0] + "/",
            "state": channel.state,
            "channelvars": sorted(channel.channelvars),
        }
        start = ws.recv(5)
        facts["ws_media_start"] = (
            start.replace(channel.channelvars["MEDIA_WEBSOCKET_CONNECTION_ID"], "{connection_id}")
            .replace(channel.id, "{channel_id}")
            .replace(channel.name, "{channel}")
        )
        time.sleep(0.3)
        with client_errors():
            client.channels.externalMedia(app=APP, transport="websocket", format="ulaw")
        try:
            ws_connect(
                f"{url.replace('http', 'ws')}/media/{channel.channelvars['MEDIA_WEBSOCKET_CONNECTION_ID']}",
                proxy=None,
                legacy=True,
            )
        except InvalidStatus as error:
            facts["ws_second_connection_status"] = error.response.status_code
        try:
            ws_connect(f"{url.replace('http', 'ws')}/media/not-a-connection", proxy=None, legacy=True)
        except InvalidStatus as error:
            facts["ws_unknown_connection_status"] = error.response.status_code

        # -- commands ---------------------------------------------------------------------
        ws.send("GET_STATUS")
        facts["ws_status"] = wait_text(ws, "STATUS").replace(channel.id, "{channel_id}")
        ws.send("SET_MEDIA_DIRECTION in")
        facts["ws_set_direction_plain"] = wait_text(ws, "ERROR").replace(channel.id, "{channel_id}")
        ws.send(b"\0" * 640 * 25)
        ws.send("MARK_MEDIA m1")
        t0 = time.monotonic()
        facts["ws_mark"] = wait_text(ws, "MEDIA_MARK_PROCESSED")
        facts["ws_mark_after_half_second"] = round(time.monotonic() - t0, 2)
        ws.send("START_MEDIA_BUFFERING")
        ws.send(b"\0" * 100)
        ws.send("STOP_MEDIA_BUFFERING b1")
        facts["ws_buffering_completed"] = wait_text(ws, "MEDIA_BUFFERING_COMPLETED")
        ws.send("MARK_MEDIA")
        facts["ws_mark_without_id"] = wait_text(ws, "MEDIA_MARK_PROCESSED")
        ws.send("REPORT_QUEUE_DRAINED")
        facts["ws_queue_drained"] = wait_text(ws, "QUEUE_DRAINED")
        ws.send("PAUSE_MEDIA")
        ws.send("GET_STATUS")
        facts["ws_status_paused"] = wait_text(ws, "STATUS").replace(channel.id, "{channel_id}")
        ws.send("CONTINUE_MEDIA")
        ws.send("NOT_A_COMMAND")
        facts["ws_unknown_command_answers"] = recv_texts(ws, 0.3)

        # -- flow control under a burst: 1100 frames at once ------------------------------
        ws.send("FLUSH_MEDIA")
        for _ in range(1100):
            ws.send(b"\x01\x00" * 320)
        ws.send("GET_STATUS")
        texts = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            message = ws.recv(5)
            if isinstance(message, str):
                texts.append(message.split(" ")[0])
                if message.startswith("STATUS"):
                    facts["ws_burst_status"] = message.replace(channel.id, "{channel_id}")
                    break
        facts["ws_burst_texts_before_status"] = texts
        t0 = time.monotonic()
        facts["ws_burst_xon"] = wait_text(ws, "MEDIA_XON", 10)
        facts["ws_burst_xon_after_seconds"] = round(time.monotonic() - t0, 1)
        ws.send("FLUSH_MEDIA")

        # -- audio in from moh, echo back, DTMF -----------------------------------------
        moh = originate(client, "Local/moh@default")
        br = bridge(client, channel.id, moh.id)
        frames = collections.Counter()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            message = ws.recv(2)
            if isinstance(message, bytes):
                frames[len(message)] += 1
        facts["ws_moh_frame_sizes_in_one_second"] = dict(frames)
        moh.hangup()
        dtmf = originate(client, "Local/dtmf@default")
        br.addChannel(channel=[dtmf.id])
        facts["ws_dtmf_end"] = wait_text(ws, "DTMF_END", 5).replace(channel.id, "{channel_id}")
        dtmf.hangup()
        br.destroy()

        # -- hangup from the application: socket closed with --------------------------------
        channel.hangup()
        try:
            while True:
                ws.recv(3)
        except ConnectionClosed as closed:
            facts["ws_closed_on_delete"] = [closed.rcvd.code if closed.rcvd else None]
        time.sleep(0.3)
        facts["ws_events"] = events.about(channel.id)

        # -- closing the socket hangs up -------------------------------------------------
        channel2, ws2 = media_ws(client, url, "ulaw", "f(json)")
        start2 = json.loads(ws2.recv(5))
        facts["ws_json_media_start_keys"] = sorted(start2)
        facts["ws_json_optimal_frame_size"] = start2["optimal_frame_size"]
        ws2.send(json.dumps({"command": "GET_STATUS"}))
        facts["ws_json_status_keys"] = sorted(json.loads(wait_text(ws2, "{", 3)))
        ws2.send(json.dumps({"command": "SET_MEDIA_DIRECTION", "direction": "in"}))
        ws2.send(json.dumps({"command": "MARK_MEDIA", "correlation_id": "x"}))
        facts["ws_json_error_when_in"] = json.loads(wait_text(ws2, "{", 3))["error_text"]
        time.sleep(0.2)
        ws2.close()
        time.sleep(0.5)
        facts["ws_events_socket_closed"] = events.about(channel2.id)

        # -- RTP ----------------------------------------------------------------------------
        for fmt in ("ulaw", "slin16"):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(0.5)
            port = sock.getsockname()[1]
            rtp = client.channels.externalMedia(app=APP, external_host=f"127.0.0.1:{port}", format=fmt)
            time.sleep(0.3)
            entry: Dict[str, Any] = {
                "name_prefix": rtp.name.split("/")[0] + "/",
                "state": rtp.state,
                "channelvars": sorted(rtp.channelvars),
            }
            moh = originate(client, "Local/moh@default")
            br = bridge(client, rtp.id, moh.id)
            types = collections.Counter()
            t0 = time.monotonic()
            while time.monotonic() - t0 < 1.0:
                data, _ = sock.recvfrom(4096)
                types[f"{data[1] & 0x7F}/{len(data) - 12}"] += 1
            entry["received_in_one_second"] = dict(types)
            moh.hangup()
            # What the application sends: does it come back through an echo?
            echo = originate(client, "Local/echo@default")
            br.addChannel(channel=[echo.id])
            remote = (rtp.channelvars["UNICASTRTP_LOCAL_ADDRESS"], int(rtp.channelvars["UNICASTRTP_LOCAL_PORT"]))
            pt = 0 if fmt == "ulaw" else 118
            size = 160 if fmt == "ulaw" else 640
            for n in range(50):
                sock.sendto(
                    struct.pack("!BBHII", 0x80, pt, n, n * size // (1 if fmt == "ulaw" else 2), 1234) + b"\x10" * size,
                    remote,
                )
                time.sleep(0.02)
            back = 0
            try:
                while True:
                    sock.recvfrom(4096)
                    back += 1
            except socket.timeout:
                pass
            entry["echoed_packets_of_50"] = back
            # DTMF from the bridge: does anything arrive (RFC 4733)?
            dtmf = originate(client, "Local/dtmf@default")
            br.addChannel(channel=[dtmf.id])
            seen = collections.Counter()
            t0 = time.monotonic()
            while time.monotonic() - t0 < DTMF_WINDOW:
                try:
                    data, _ = sock.recvfrom(4096)
                except socket.timeout:
                    continue
                seen[data[1] & 0x7F] += 1
            entry["payload_types_while_dtmf"] = sorted(seen)
            for peer in (echo, dtmf):
                with client_errors():
                    peer.hangup()
            br.destroy()
            rtp.hangup()
            time.sleep(0.3)
            entry["events"] = events.about(rtp.id)
            facts[f"rtp_{fmt}"] = entry
            sock.close()
        client.stop()
    return facts


class client_errors:  # noqa: N801 - used as a statement
    """Record nothing and go on when Asterisk refuses (the refusal itself is what some steps check)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, tb: Any) -> bool:
        return kind is not None and issubclass(kind, ari.ARIError)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--out", default="tests/functional/data/media-22.10.1.json")
    args = parser.parse_args()
    facts = record(args.url, args.user, args.password)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(facts, out, indent=1, sort_keys=True)
        out.write("\n")
    print(json.dumps(facts, indent=1, sort_keys=True))


if __name__ == "__main__":
    threading.current_thread().name = "record"
    main()
