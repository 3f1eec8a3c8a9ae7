"""Asterisk connects to the application: answer each call, play hello-world, hang up.

The application is the WebSocket server (``ari.serve``); Asterisk opens the connection
(ari.conf ``type = outbound_websocket``).  With ``connection_type = per_call_config`` each
call arrives on a connection of its own, so several copies of this script can share the
calls: behind a load balancer, or on one port with ``--reuse-port`` (SO_REUSEPORT).  With
``connection_type = persistent`` one connection per Asterisk carries every call.  REST calls
go back over the same socket.  Everything it does is reported through ``say``.

    python examples/outbound.py --port 8765 [--ws-user app --ws-password secret] [--reuse-port]
                                [--app my-app] [--url http://asterisk:8088 --user asterisk --password asterisk]

Asterisk side (websocket_client.conf and ari.conf)::

    [my-app]                              [my-app]
    type = websocket_client               type = outbound_websocket
    connection_type = per_call_config     websocket_client_id = my-app
    uri = ws://127.0.0.1:8765/ari         apps = my-app
    protocols = ari                       local_ari_user = asterisk

Against the simulator: ``python -m ari.testing --outbound ws://127.0.0.1:8765/ari --outbound-mode per_call``,
then ``call my-app`` on its prompt.
"""

from __future__ import annotations

import argparse
import os
import threading
from typing import Any, Callable, Optional

import ari


def main(server: ari.Server, say: Callable[[str], Any] = print, app: Optional[str] = None) -> None:
    """Register the handlers on ``server``: on each call's client, or on each Asterisk's.

    ``app``: only calls into this application (a per-call one is ``<app>:<channel name>``).
    """

    def attach(client: Any) -> None:
        def stasis_start(event: Any, channel: Any) -> None:
            if app is not None and event.application.split(":", 1)[0] != app:
                return
            say(f"{channel.id}: entered {event.application}, answering")
            channel.answer()
            playback = client.Playback()

            def finished(event: Any, instance: Any) -> None:
                say(f"{channel.id}: hang up")
                channel.hangup()

            playback.once("PlaybackFinished", finished)
            channel.play({"media": "sound:hello-world"}, playback)

        client.on("StasisStart", stasis_start)

        def stasis_end(event: Any, channel: Any) -> None:
            if app is None or event.application.split(":", 1)[0] == app:
                say(f"{channel.id}: left {event.application}")

        client.on("StasisEnd", stasis_end)

    server.on_call(attach)  # per_call_config: one client per call
    server.on_connect(attach)  # persistent: one client per Asterisk


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--ws-user", help="Basic auth Asterisk must send (websocket_client.conf username)")
    parser.add_argument("--ws-password")
    parser.add_argument("--app", help="only calls into this application (default: every one)")
    parser.add_argument("--url", help="the Asterisk's ARI URL: REST over HTTP instead of the connection")
    parser.add_argument("--user", default="asterisk", help="ARI user for --url")
    parser.add_argument("--password", default="asterisk", help="ARI password for --url")
    parser.add_argument("--reuse-port", action="store_true", help="share the port with other processes")
    args = parser.parse_args()
    pid, lock = os.getpid(), threading.Lock()

    def say(line: str) -> None:
        with lock:  # calls run on threads of their own: one whole line at a time
            print(f"[{pid}] {line}", flush=True)

    http = dict(url=args.url, ari_username=args.user, ari_password=args.password, transport="http") if args.url else {}
    server = ari.Server(
        args.host, args.port, username=args.ws_user, password=args.ws_password, reuse_port=args.reuse_port, **http
    )
    main(server, say, args.app)
    try:
        server.start()
        say(f"listening on {server.ws_url}")
        server.serve_forever()  # until Ctrl-C
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    cli()
