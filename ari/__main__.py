"""``python -m ari``: the package's commands (``demo``).

Its one job is the command line: parse the subcommand and its options, run it, and turn
its failure into a message and an exit status.  What a command does lives in its module.

    python -m ari demo [--speed 10] [--digits '12*#']
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ari", description="Commands of the ari package.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="the DTMF example (examples/hello.py) on the embedded simulator, with a transcript"
    )
    demo.add_argument("--speed", type=float, default=10.0, help="simulated seconds per real second (default 10)")
    demo.add_argument("--digits", default="12*#", help="keys the caller presses (default '12*#'; # hangs up)")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from .demo import DemoError, run

    if args.speed <= 0:
        parser.error("--speed must be positive")
    bad = [d for d in args.digits if d not in "0123456789*#"]
    if bad:
        parser.error(f"--digits takes 0-9, * and #, not {''.join(bad)!r}")
    try:
        return run(speed=args.speed, digits=args.digits)
    except DemoError as e:
        print(f"python -m ari demo: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
