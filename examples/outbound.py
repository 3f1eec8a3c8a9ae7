"""Asterisk connects to the application: answer each call, play hello-world, hang up.

The application is the WebSocket server (``ari.serve``); Asterisk opens the connection
(ari.conf ``type = outbound_websocket``).  With ``connection_type = per_call_config`` each
call arrives on a connection of its own, so several copies of this script can share the
calls: behind a load balancer, or on one port with ``--reuse-port`` (SO_REUSEPORT).  With
``connection_type = persistent`` one connection per Asterisk carries every call.  REST calls
go back over the same socket.  Everything it does is reported through ``say``.

    python examples/outbound.py --port 8765 [--user app --password secret] [--reuse-port]

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
from typing import Any, Callable

import ari


def main(server: ari.Server, say: Callable[[str], Any] = print) -> None:
    """Register the handlers on ``server``: on each call's client, or on each Asterisk's."""

    def attach(client: Any) -> None:
        def stasis_start(event: Any, channel: Any) -> None:
            say(f"{channel.id}: entered {event.application}, answering")
            channel.answer()
            playback = client.Playback()

            def finished(event: Any, instance: Any) -> None:
                say(f"{channel.id}: hang up")
                channel.hangup()

            playback.once("PlaybackFinished", finished)
            channel.play({"media": "sound:hello-world"}, playback)

        client.on("StasisStart", stasis_start)
        client.on("StasisEnd", lambda event, channel: say(f"{channel.id}: left {event.application}"))

    server.on_call(attach)  # per_call_config: one client per call
    server.on_connect(attach)  # persistent: one client per Asterisk


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--user", help="Basic auth Asterisk must send (websocket_client.conf username)")
    parser.add_argument("--password")
    parser.add_argument("--reuse-port", action="store_true", help="share the port with other processes")
    args = parser.parse_args()
    pid, lock = os.getpid(), threading.Lock()

    def say(line: str) -> None:
        with lock:  # calls run on threads of their own: one whole line at a time
            print(f"[{pid}] {line}", flush=True)

    server = ari.Server(args.host, args.port, username=args.user, password=args.password, reuse_port=args.reuse_port)
    main(server, say)
    server.start()
    say(f"listening on {server.ws_url}")
    server.serve_forever()


if __name__ == "__main__":
    cli()
