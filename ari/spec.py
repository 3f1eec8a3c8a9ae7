"""Read an ARI API description (Swagger 1.1) into plain dicts, from a server or a folder.

This module knows the file layout Asterisk serves (``resources.json`` listing one
``api-docs/<name>.json`` per resource) and nothing about what the files mean:
``model.py`` interprets them.  It never imports requests; the HTTP fetch is passed in.

``python -m ari.spec save URL FOLDER`` saves a live server's description to a folder
that ``ari.connect(..., spec=FOLDER)`` can load later.
"""

from __future__ import annotations

import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

from .errors import SpecError

LISTING = "resources.json"
_API_PATH = re.compile(r"^/api-docs/(?P<name>[A-Za-z0-9_]+)\.\{format\}$")

#: fetch(path under /ari) -> parsed JSON; raises ari errors.
Fetch = Callable[[str], Any]


@dataclass(frozen=True)
class Description:
    """The raw description: the listing and one document per resource, in listed order."""

    listing: Dict[str, Any]
    documents: Dict[str, Dict[str, Any]]  # resource name -> its api-docs document

    def files(self) -> Dict[str, Dict[str, Any]]:
        """File name -> document, as Asterisk serves them under ``/ari/api-docs/``."""
        result = {LISTING: self.listing}
        result.update({f"{name}.json": doc for name, doc in self.documents.items()})
        return result


def resource_names(listing: Any, location: str = LISTING) -> List[str]:
    """The resource names a listing announces, in order (``/api-docs/channels.{format}`` -> channels)."""
    if not isinstance(listing, dict) or not isinstance(listing.get("apis"), list):
        raise SpecError(location, "not a Swagger resource listing (no 'apis' list)")
    names = []
    for index, entry in enumerate(listing["apis"]):
        path = entry.get("path") if isinstance(entry, dict) else None
        match = _API_PATH.match(path or "")
        if not match:
            raise SpecError(f"{location}: apis[{index}]", f"unexpected api path {path!r}")
        names.append(match.group("name"))
    return names


#: A first answer quicker than this means loopback or a near LAN, where fetching one document
#: after another over the kept-alive connection beats starting threads and their connections.
NEAR_ROUND_TRIP = 0.003


def fetch_description(
    fetch: Fetch, max_workers: int = 6, clock: Callable[[], float] = time.perf_counter
) -> Description:
    """Fetch ``resources.json`` and every document it lists: concurrently when the server is far.

    ``clock`` times the first answer (injected by tests: a loaded machine is slow on loopback too).
    """
    started = clock()
    listing = fetch(f"/api-docs/{LISTING}")
    round_trip = clock() - started
    names = resource_names(listing)

    def document(name: str) -> Any:
        return fetch(f"/api-docs/{name}.json")

    if max_workers <= 1 or round_trip < NEAR_ROUND_TRIP:
        return Description(listing, {name: document(name) for name in names})
    workers = min(max_workers, max(1, len(names)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ari-spec") as pool:
        docs = list(pool.map(document, names))
    return Description(listing, dict(zip(names, docs)))


def read_description(folder: str) -> Description:
    """Read a description saved by :func:`save_description` (or Asterisk's own api-docs layout)."""
    listing = _read_json(os.path.join(folder, LISTING))
    names = resource_names(listing, os.path.join(folder, LISTING))
    documents = {}
    for name in names:
        candidates = [os.path.join(folder, "api-docs", f"{name}.json"), os.path.join(folder, f"{name}.json")]
        path = next((c for c in candidates if os.path.exists(c)), candidates[0])
        documents[name] = _read_json(path)
    return Description(listing, documents)


def save_description(description: Description, folder: str) -> List[str]:
    """Write the description in Asterisk's layout (``resources.json``, ``api-docs/*.json``)."""
    os.makedirs(os.path.join(folder, "api-docs"), exist_ok=True)
    written = []
    for file_name, document in description.files().items():
        path = os.path.join(folder, file_name if file_name == LISTING else os.path.join("api-docs", file_name))
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=False)
            handle.write("\n")
        written.append(path)
    return written


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as exc:
        raise SpecError(path, "file not found") from exc
    except json.JSONDecodeError as exc:
        raise SpecError(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc


def _parse_args(argv: List[str]) -> Tuple[str, str, str, str, bool]:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ari.spec", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    save = commands.add_parser("save", help="save a live server's API description to a folder")
    save.add_argument("url", help="server base URL, e.g. http://localhost:8088")
    save.add_argument("folder")
    save.add_argument("--user", default=os.environ.get("ARI_USERNAME", "asterisk"))
    save.add_argument(
        "--password",
        default=os.environ.get("ARI_PASSWORD", "asterisk"),
        help="defaults to $ARI_PASSWORD, else 'asterisk'",
    )
    save.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    args = parser.parse_args(argv)
    return args.url, args.folder, args.user, args.password, not args.insecure


def main(argv: List[str] | None = None) -> int:
    import sys

    from .errors import ARIError
    from .http import HTTPTransport

    url, folder, user, password, verify = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with HTTPTransport(url, user, password, verify=verify) as transport:
            description = fetch_description(transport.get_json)
    except ARIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in save_description(description, folder):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main() in tests
    raise SystemExit(main())
