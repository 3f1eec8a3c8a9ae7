"""``ari RESOURCE OPERATION [--PARAM VALUE ...]``: call any operation the server describes.

Its one job is mapping a command line onto a generated method: the resource and operation
by either of their names, one ``--option`` per keyword the method's signature takes (ARI,
kebab-case and snake_case spellings), values as text (the operation checks and converts
them; ``{...}`` and ``[...]`` are read as JSON for body parameters), and the result shown
by ``output``.  It reads the client only through its public surface: ``client.resources``,
the methods' signatures and docstrings.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, TextIO

from . import OK, SERVER_ERROR, UNREACHABLE, USAGE, CommandError, add_server_options, connect
from .output import table, to_json

_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _snake(name: str) -> str:
    """``channelId`` -> ``channel_id`` (the spelling the client accepts besides ARI's)."""
    return _BOUNDARY.sub("_", name).lower()


def _kebab(name: str) -> str:
    return _snake(name).replace("_", "-")


def operations(collection: Any) -> Dict[str, Callable[..., Any]]:
    """Every operation of a collection by each of its names (snake_case and ARI's nickname)."""
    found: Dict[str, Callable[..., Any]] = {}
    for name in dir(type(collection)):
        if name.startswith("_") or name.endswith("_async") or name in ("meta", "resource"):
            continue
        method = getattr(collection, name)
        if callable(method) and hasattr(method, "__signature__"):
            found[name] = method
    return found


def find_resource(client: Any, word: str) -> Any:
    by_name = {}
    for name, collection in client.resources.items():
        by_name[name] = by_name[name.lower()] = by_name[_kebab(name)] = by_name[_kebab(name).replace("-", "_")] = (
            collection
        )
    collection = by_name.get(word) or by_name.get(word.lower())
    if collection is None:
        raise CommandError(_unknown("resource", word, sorted(client.resources)))
    return collection


def _unknown(what: str, word: str, choices: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what} {word!r}{hint} (one of: {', '.join(choices)})"


def _listing(collection: Any, prog: str) -> str:
    methods = operations(collection)
    lines = [f"operations of {collection.resource} ({prog} {collection.resource} OPERATION --help for one):"]
    seen = set()
    for method in methods.values():
        if method.__name__ in seen:
            continue
        seen.add(method.__name__)
        summary = (method.__doc__ or "").strip().splitlines()[0] if method.__doc__ else ""
        lines.append(f"  {method.__name__:<28} {summary}")
    return "\n".join(lines)


def _value(text: str) -> Any:
    """Text as given, or parsed JSON when it looks like an object or a list (variables, fields...)."""
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _operation_parser(prog: str, method: Callable[..., Any]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=method.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    group = parser.add_argument_group("parameters (ARI, kebab-case or snake_case spelling)")
    signature = inspect.signature(method)
    taken: Set[str] = set()
    for param in signature.parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY or param.name == "callback":
            continue
        spellings = dict.fromkeys(
            f"--{s}" for s in (param.name, _kebab(param.name.rstrip("_")), _snake(param.name.rstrip("_")))
        )
        taken.update(spellings)
        required = param.default is inspect.Parameter.empty
        group.add_argument(*spellings, dest=param.name, required=required, metavar="VALUE", type=_value)
    output = parser.add_argument_group("output")
    if "--json" not in taken:
        output.add_argument("--json", dest="_json", action="store_true", help="print the result as JSON")
    output.add_argument("--output", dest="_output", metavar="FILE", help="write a binary result (a recording) to FILE")
    add_server_options(parser, suppress=True)
    return parser


def run(argv: List[str], prog: str, out: TextIO) -> int:
    """``[server options] RESOURCE [OPERATION [options]]``."""
    front = argparse.ArgumentParser(prog=prog, add_help=False)
    add_server_options(front)
    front.add_argument("resource")
    front.add_argument("operation", nargs="?")
    args, rest = front.parse_known_args(argv)
    if args.operation is not None and args.operation.startswith("-"):
        rest.insert(0, args.operation)
        args.operation = None
    # Server options may also follow the operation: parse them out of the rest first.
    late = argparse.ArgumentParser(add_help=False)
    add_server_options(late, suppress=True)
    server_late, rest = late.parse_known_args(rest)
    for key, value in vars(server_late).items():
        setattr(args, key, value)
    with connect(args) as client:
        collection = find_resource(client, args.resource)
        methods = operations(collection)
        if args.operation is None:
            if rest and rest != ["--help"] and rest != ["-h"]:
                raise CommandError(f"{args.resource}: name an operation before the options {' '.join(rest)}")
            print(_listing(collection, prog), file=out)
            return OK
        method = methods.get(args.operation) or methods.get(args.operation.replace("-", "_"))
        if method is None:
            names = sorted({m.__name__ for m in methods.values()})
            raise CommandError(_unknown(f"operation of {collection.resource}", args.operation, names))
        parser = _operation_parser(f"{prog} {collection.resource} {method.__name__}", method)
        options = parser.parse_args(rest)
        values = {k: v for k, v in vars(options).items() if not k.startswith("_") and v is not None}
        for key in ("url", "user", "password", "insecure", "spec"):
            values.pop(key, None)
        return _call(method, values, options, out)


def _call(method: Callable[..., Any], values: Dict[str, Any], options: argparse.Namespace, out: TextIO) -> int:
    import ari

    try:
        result = method(**values)
    except ari.ValidationError as e:
        raise CommandError(str(e), USAGE) from e
    except ari.HTTPError as e:
        raise CommandError(str(e), SERVER_ERROR) from e
    except ari.ConnectionError as e:
        raise CommandError(str(e), UNREACHABLE) from e
    if result is None:
        return OK
    if isinstance(result, (bytes, bytearray)):
        return _binary(bytes(result), options._output, out)
    print(to_json(result) if options._json else table(result), file=out)
    return OK


def _binary(data: bytes, path: Optional[str], out: TextIO) -> int:
    if path:
        with open(path, "wb") as handle:
            handle.write(data)
        print(f"{len(data)} bytes written to {path}", file=sys.stderr)
        return OK
    if getattr(out, "isatty", lambda: False)():
        raise CommandError(f"the answer is binary ({len(data)} bytes): pass --output FILE or redirect stdout")
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        raise CommandError("the answer is binary: pass --output FILE")
    buffer.write(data)
    buffer.flush()
    return OK


__all__ = ["find_resource", "operations", "run"]
