"""The ``ari`` command line (also ``python -m ari``): parse a command, run it, map failures to exit codes.

Its one job is the shell around the library: which command, which server and credentials
(options, else ``ARI_URL`` / ``ARI_USERNAME`` / ``ARI_PASSWORD``), and how a failure reads
and exits.  What a command does lives in its own module (``call``, ``tail``) or in the
module that owns it (``ari.spec``, ``ari.stubs``, ``ari.testing``, ``ari.demo``).  It uses
only the public client API, and it is never imported by the library.

Exit statuses: 0 done; 1 the server answered an error (404, 409...); 2 a usage error (an
unknown resource, operation, option or parameter value, a saved description that cannot be
read); 3 the server could not be reached or refused the credentials; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO

OK, SERVER_ERROR, USAGE, UNREACHABLE, INTERRUPTED = 0, 1, 2, 3, 130

COMMANDS = ("demo", "events", "spec", "stubs", "simulator")

EPILOG = """\
calling an operation:
  {prog} RESOURCE                      list the resource's operations
  {prog} RESOURCE OPERATION [--PARAM VALUE ...] [--json]
      e.g. {prog} channels list
           {prog} channels originate --endpoint Local/wait@default --app hello
           {prog} channels originate --help      (its parameters)

server and credentials: --url, --user, --password, else ARI_URL, ARI_USERNAME, ARI_PASSWORD
(URL default http://localhost:8088).

exit status: 0 done, 1 the server answered an error, 2 usage error (or an unreadable --spec folder),
3 server unreachable or credentials refused, 130 interrupted.
"""


class CommandError(Exception):
    """A command failed in a way the user can act on; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


def add_server_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """--url, --user, --password, --insecure, --spec; with ``suppress``, absent ones keep earlier values."""
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("server")
    group.add_argument("--url", default=default, help="ARI base URL (default $ARI_URL, else http://localhost:8088)")
    group.add_argument("--user", default=default, help="ARI user (default $ARI_USERNAME)")
    group.add_argument("--password", default=default, help="ARI password (default $ARI_PASSWORD)")
    group.add_argument(
        "--insecure", action="store_true", default=default, help="do not verify the server's TLS certificate"
    )
    group.add_argument(
        "--spec", default=default, metavar="FOLDER", help="build the API from a saved description (ari spec save)"
    )


def server(args: argparse.Namespace) -> Dict[str, Any]:
    """URL and credentials: options first, then the environment."""
    return {
        "url": getattr(args, "url", None) or os.environ.get("ARI_URL") or "http://localhost:8088",
        "username": getattr(args, "user", None) or os.environ.get("ARI_USERNAME"),
        "password": getattr(args, "password", None) or os.environ.get("ARI_PASSWORD"),
        "verify": not getattr(args, "insecure", False),
        "spec": getattr(args, "spec", None),
    }


def connect(args: argparse.Namespace) -> Any:
    """A client for the server the options name; failures become CommandError."""
    import ari

    options = server(args)
    url = options.pop("url")
    try:
        return ari.connect(url, options.pop("username"), options.pop("password"), **options)
    except ari.AuthenticationError as e:
        raise CommandError(
            f"{url} refused the credentials ({e.status_code}): pass --user and --password "
            "or set ARI_USERNAME and ARI_PASSWORD",
            UNREACHABLE,
        ) from e
    except ari.ConnectionError as e:
        raise CommandError(f"cannot reach ARI at {url}: {e}", UNREACHABLE) from e
    except ari.SpecError as e:
        # A saved folder that is wrong is the user's to fix; a server's own description is not.
        raise CommandError(f"unusable API description: {e}", USAGE if options.get("spec") else UNREACHABLE) from e
    except ari.HTTPError as e:
        raise CommandError(f"{url} answered {e.status_code} while describing its API: {e}", UNREACHABLE) from e


def _root_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Call Asterisk's ARI from a shell: any operation, events, descriptions, stubs, a simulator.",
        epilog=EPILOG.format(prog=prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_server_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="the DTMF example (examples/hello.py) on the embedded simulator, with a transcript"
    )
    demo.add_argument("--speed", type=float, default=10.0, help="simulated seconds per real second (default 10)")
    demo.add_argument("--digits", default="12*#", help="keys the caller presses (default '12*#'; # hangs up)")

    from . import tail

    tail.add_parser(commands, add_server_options)

    spec = commands.add_parser("spec", help="save the server's API description to a folder")
    spec_commands = spec.add_subparsers(dest="spec_command", metavar="ACTION", required=True)
    save = spec_commands.add_parser("save", help="save the description (for ari.connect(..., spec=FOLDER))")
    save.add_argument("folder")
    add_server_options(save, suppress=True)

    stubs = commands.add_parser("stubs", help="generate typed stubs (.pyi) from a description (python -m ari.stubs)")
    stubs.add_argument("source", help="a server URL, a saved description folder, or a carried version (22.10.1)")
    stubs.add_argument("out", help="the folder to write into")
    add_server_options(stubs, suppress=True)

    simulator = commands.add_parser(
        "simulator",
        aliases=["sim"],
        help="serve a simulated Asterisk (python -m ari.testing): ari simulator --help for its options",
        add_help=False,
    )
    del simulator  # its options are python -m ari.testing's own: main() hands them over unparsed
    return parser


def _first_word(argv: Sequence[str]) -> Optional[str]:
    """The first argument that is not an option or an option's value."""
    takes_value = {"--url", "--user", "--password", "--spec"}
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in takes_value:
            skip = True
        elif not word.startswith("-"):
            return word
    return None


def main(argv: Optional[List[str]] = None, prog: Optional[str] = None, out: TextIO = sys.stdout) -> int:
    """Run one command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = prog or os.path.basename(sys.argv[0] or "ari")
    if prog in ("__main__.py", "-c", ""):
        prog = "python -m ari"
    word = _first_word(argv)
    try:
        if word in ("simulator", "sim"):
            from ..testing.__main__ import main as serve

            return serve(argv[argv.index(word) + 1 :])
        if word is not None and word not in COMMANDS:
            from . import call

            return call.run(argv, prog, out)
        parser = _root_parser(prog)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return USAGE
        return _COMMANDS[args.command](args, parser, out)
    except CommandError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return INTERRUPTED


def _demo(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from ..demo import DemoError, run

    if args.speed <= 0:
        parser.error("--speed must be positive")
    bad = [d for d in args.digits if d not in "0123456789*#"]
    if bad:
        parser.error(f"--digits takes 0-9, * and #, not {''.join(bad)!r}")
    try:
        return run(speed=args.speed, digits=args.digits, out=out)
    except DemoError as e:
        raise CommandError(str(e), e.code) from e


def _events(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from . import tail

    return tail.run(args, out)


def _spec(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from .. import spec

    options = server(args)
    forwarded = ["save", options["url"], args.folder]
    if options["username"]:
        forwarded += ["--user", options["username"]]
    if options["password"]:
        forwarded += ["--password", options["password"]]
    if not options["verify"]:
        forwarded.append("--insecure")
    status = spec.main(forwarded)
    return UNREACHABLE if status else OK


def _stubs(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from .. import stubs

    options = server(args)
    forwarded = [args.source, args.out]
    if options["username"]:
        forwarded += ["--user", options["username"]]
    if options["password"]:
        forwarded += ["--password", options["password"]]
    return stubs.main(forwarded)


_COMMANDS: Dict[str, Callable[[argparse.Namespace, argparse.ArgumentParser, TextIO], int]] = {
    "demo": _demo,
    "events": _events,
    "spec": _spec,
    "stubs": _stubs,
}

__all__ = ["CommandError", "main"]
