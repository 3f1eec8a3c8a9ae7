"""``python -m ari.testing``: serve a simulated Asterisk (or the mock) until Ctrl-C.

    python -m ari.testing [--host 127.0.0.1] [--port 8088] [--user asterisk]
                          [--password asterisk] [--speed 1] [--mock]
                          [--outbound ws://APP:PORT/ari [--outbound-mode persistent|per_call]
                           [--outbound-apps a,b] [--outbound-user U --outbound-password P]]

The simulator also takes commands on standard input, one a line, to play the caller's
part for an application under test: ``call APP [CALLER [ARG...]]``, ``dtmf CHANNEL DIGITS``,
``hangup CHANNEL [CAUSE]``, ``channels``, ``help``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, List, Optional, Union

if TYPE_CHECKING:
    from .mock import MockServer
    from .simulator import Simulator


COMMANDS = """commands: call APP [CALLER [ARG...]] | dtmf CHANNEL DIGITS | hangup CHANNEL [CAUSE] | channels | help"""


def run_command(sim: Simulator, line: str) -> str:
    """One command line against the simulator; the answer to print."""
    words = line.split()
    if not words:
        return ""
    command, rest = words[0].lower(), words[1:]
    try:
        if command == "call" and rest:
            caller = rest[1] if len(rest) > 1 else "1000"
            return f"channel {sim.call(rest[0], caller=caller, args=rest[2:])}"
        if command == "dtmf" and len(rest) == 2:
            sim.dtmf(rest[0], rest[1])
            return f"sent {rest[1]}"
        if command == "hangup" and rest:
            sim.hangup(rest[0], int(rest[1]) if len(rest) > 1 else 16)
            return f"hung up {rest[0]}"
        if command == "channels":
            return " ".join(sim.channel_ids()) or "no channels"
    except Exception as exc:  # a typo must not end the server
        return f"error: {exc}"
    return COMMANDS


def _commands(sim: Simulator) -> None:
    try:
        for line in sys.stdin:
            answer = run_command(sim, line)
            if answer:
                print(answer, flush=True)
    except (OSError, ValueError):  # no usable standard input (a service, a test runner)
        return


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ari.testing", description="Serve a simulated Asterisk ARI until Ctrl-C."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)")
    parser.add_argument("--mock", action="store_true", help="serve the stub-table MockServer instead of the Simulator")
    parser.add_argument(
        "--outbound",
        metavar="URL",
        help="also connect out to an application's ws:// server, as Asterisk's outbound_websocket does",
    )
    parser.add_argument("--outbound-mode", choices=("persistent", "per_call"), default="persistent")
    parser.add_argument("--outbound-apps", default="", help="the apps it carries, a,b (persistent: required)")
    parser.add_argument("--outbound-user", help="Basic auth sent to the application")
    parser.add_argument("--outbound-password")
    args = parser.parse_args(argv)
    options = dict(host=args.host, port=args.port, username=args.user, password=args.password, speed=args.speed)
    server: Union[MockServer, Simulator]
    if args.mock:
        from .mock import MockServer

        server = MockServer(**options)
    else:
        try:
            from .simulator import Simulator
        except ImportError as e:
            print(f"the simulator is not available ({e}); try --mock", file=sys.stderr)
            return 2
        outbound = None
        if args.outbound:
            from .outbound import Outbound

            try:
                outbound = Outbound(
                    args.outbound,
                    apps=args.outbound_apps,
                    mode=args.outbound_mode,
                    username=args.outbound_user,
                    password=args.outbound_password,
                )
            except ValueError as e:
                parser.error(str(e))
        server = Simulator(**options, outbound=outbound)
    server.start()
    previous = _stop_on_sigterm()
    try:
        kind = "mock" if args.mock else "simulator"
        print(f"ARI {kind} at {server.url}/ari  user={server.username} password={server.password}")
        print(f"events: {server.url.replace('http', 'ws', 1)}/ari/events?app=NAME  (Ctrl-C stops)")
        if args.outbound:
            print(f"outbound ({args.outbound_mode}): connecting to {args.outbound}")
        if not args.mock:
            print(COMMANDS)
            threading.Thread(target=_commands, args=(server,), name="ari-sim-commands", daemon=True).start()
        sys.stdout.flush()
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> Any:
    """SIGTERM (a service manager, ``kill``) stops the server as cleanly as Ctrl-C does."""
    try:
        return signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: signals are not ours to take
        return None


if __name__ == "__main__":
    sys.exit(main())
