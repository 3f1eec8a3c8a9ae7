"""``python -m ari.testing``: serve a simulated Asterisk (or the mock) until Ctrl-C.

    python -m ari.testing [--host 127.0.0.1] [--port 8088] [--user asterisk]
                          [--password asterisk] [--speed 1] [--mock]
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TYPE_CHECKING, List, Optional, Union

if TYPE_CHECKING:
    from .mock import MockServer
    from .simulator import Simulator


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ari.testing",
                                     description="Serve a simulated Asterisk ARI until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per real second (default 1)")
    parser.add_argument("--mock", action="store_true",
                        help="serve the stub-table MockServer instead of the Simulator")
    args = parser.parse_args(argv)
    options = dict(host=args.host, port=args.port, username=args.user, password=args.password,
                   speed=args.speed)
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
        server = Simulator(**options)
    server.start()
    kind = "mock" if args.mock else "simulator"
    print(f"ARI {kind} at {server.url}/ari  user={server.username} password={server.password}")
    print(f"events: {server.url.replace('http', 'ws', 1)}/ari/events?app=NAME  (Ctrl-C stops)")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
