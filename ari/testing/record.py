"""Record what an ARI server does: run scripted scenarios and write one JSON transcript each.

The counterpart of node ari-client's ``genfixtures``::

    python -m ari.testing.record http://127.0.0.1:8088 --user asterisk --password asterisk \\
        --out tests/fixtures/asterisk-22.10.1/ [--only NAME ...]

Its one job is to drive a server through scenarios (``ari.testing.scenarios``) and to write
down every REST request and answer and every event from the socket, in order, each tagged with
the scenario step during which it happened.  The same ``Runner`` replays a transcript against
another server (the conformance suite replays against the simulator), mapping the ids the
first server generated to the ones the second one generated.

It talks to the server with plain ``requests`` and ``websocket-client``, never through the
``ari`` client: a recording must not depend on the library it is used to check.  It must not
judge what it records (that is ``conformance.py``).

Transcript format (``ari-transcript/1``)::

    {"format": "ari-transcript/1", "scenario": "playback_one", "area": "playbacks",
     "doc": "...", "asterisk": "22.10.1", "sockets": [{"app": "rec-x", "subscribeAll": false}],
     "actions": [
       {"step": "play", "kind": "rest", "method": "POST", "path": "/channels/ID/play",
        "query": {"media": "sound:hello-world"}, "body": null, "status": 201, "answer": {...}},
       {"step": "play", "kind": "wait", "type": "PlaybackFinished",
        "match": {"playback.id": "ID"}, "timeout": 10.0, "event": 7},   # index into events
       {"step": "play", "kind": "sleep", "seconds": 1.0}],
     "events": [{"step": "play", "socket": 0, "event": {...}}]}
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence
from urllib.parse import urlsplit, urlunsplit

import requests
import websocket

log = logging.getLogger(__name__)

FORMAT = "ari-transcript/1"
Event = Dict[str, Any]
Json = Any

#: Values Asterisk generates that differ from run to run: channel unique ids ("1764548000.12")
#: and uuids (bridges, playbacks, snoops created without a given id).
GENERATED_ID = re.compile(r"^(\d{9,11}\.\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


class ScenarioFailed(RuntimeError):
    """A scenario could not go on (an expected event never came, the server went away)."""


def lookup(value: Json, dotted: str) -> Json:
    """``value["a"]["b"]`` for ``"a.b"``; None when any part is missing."""
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class _Socket:
    """One event WebSocket for one application; its reader thread appends to a shared log."""

    def __init__(self, runner: Runner, index: int, app: str, subscribe_all: bool) -> None:
        self.runner = runner
        self.index = index
        parts = urlsplit(runner.base)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = f"app={app}&subscribeAll={'true' if subscribe_all else 'false'}"
        url = urlunsplit((scheme, parts.netloc, parts.path + "/events", query, ""))
        self.ws = websocket.create_connection(
            url, timeout=runner.timeout, header=[f"Authorization: {runner.auth_header}"]
        )
        self.ws.settimeout(0.2)
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._read, name=f"ari-record-{app}", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.closing.is_set():
            try:
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketException, OSError):
                break
            if not frame:
                break
            try:
                event = json.loads(frame)
            except ValueError:
                log.warning("not JSON on the event socket: %.80r", frame)
                continue
            self.runner._on_event(self.index, event)

    def close(self) -> None:
        self.closing.set()
        try:
            self.ws.close()
        except (websocket.WebSocketException, OSError):
            pass
        self.thread.join(2.0)


class Runner:
    """Runs one scenario (a function of a ``Runner``) or replays one transcript, recording.

    ``speed``: how many scenario seconds pass per real second on the server (1 for a real
    Asterisk; the simulator's speed when replaying against it): sleeps and waits shrink by it.
    """

    def __init__(self, url: str, username: str, password: str, *, timeout: float = 10.0, speed: float = 1.0) -> None:
        base = url.rstrip("/")
        self.base = base if base.endswith("/ari") else base + "/ari"
        self.timeout = timeout
        self.speed = speed
        self.http = requests.Session()
        self.http.auth = (username, password)
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.auth_header = f"Basic {token}"
        self.sockets: List[_Socket] = []
        self.socket_specs: List[Dict[str, Any]] = []
        self.actions: List[Dict[str, Any]] = []
        self.events: List[Dict[str, Any]] = []
        self.current_step = "setup"
        self.given_ids: List[str] = []
        self._cond = threading.Condition()
        self.ids: Dict[str, str] = {}  # replay: recorded generated id -> this server's id

    # -- the scenario-facing API ----------------------------------------------------------------

    def open(self, app: str, subscribe_all: bool = False) -> None:
        """Open an event socket for ``app`` (before the steps that need it)."""
        sock = _Socket(self, len(self.sockets), app, subscribe_all)
        self.sockets.append(sock)
        self.socket_specs.append({"app": app, "subscribeAll": subscribe_all})

    def step(self, name: str) -> None:
        with self._cond:
            self.current_step = name

    def new_id(self, prefix: str = "") -> str:
        """A fresh id for the scenario to give (fixed length and random: Asterisk refuses a given
        id that is a prefix of a live one)."""
        value = prefix + uuid.uuid4().hex[:12]
        self.given_ids.append(value)
        return value

    def rest(self, method: str, path: str, query: Optional[Dict[str, Any]] = None, body: Json = None) -> Dict[str, Any]:
        """Send one request and record it; returns the action (``status``, ``answer``)."""
        query = {k: v for k, v in (query or {}).items() if v is not None}
        params = {k: ("true" if v is True else "false" if v is False else v) for k, v in query.items()}
        kwargs: Dict[str, Any] = {"params": params, "timeout": self.timeout}
        if body is not None:
            kwargs["json"] = body
        try:
            response = self.http.request(method, self.base + path, **kwargs)
        except requests.RequestException as e:
            raise ScenarioFailed(f"{method} {path}: {e}") from e
        answer: Json
        content_type = response.headers.get("Content-Type", "")
        if not response.content:
            answer = None
        elif "json" in content_type:
            try:
                answer = response.json()
            except ValueError:
                answer = {"$text": response.text[:200]}
        else:
            answer = {"$binary": content_type, "$size": len(response.content)}
        action = {
            "step": self.current_step,
            "kind": "rest",
            "method": method,
            "path": path,
            "query": query,
            "body": body,
            "status": response.status_code,
            "answer": answer,
        }
        self.actions.append(action)
        return action

    def ok(self, method: str, path: str, query: Optional[Dict[str, Any]] = None, body: Json = None) -> Json:
        """``rest`` for a request the scenario needs to succeed; returns the answer body."""
        action = self.rest(method, path, query, body)
        if action["status"] >= 300:
            raise ScenarioFailed(f"{method} {path} -> {action['status']} {action['answer']}")
        return action["answer"]

    def wait(self, event_type: str, timeout: float = 10.0, required: bool = True, **match: Any) -> Optional[Event]:
        """Wait for an event of ``event_type`` whose fields (dotted names, ``__`` for ``.``)
        have the given values, not yet claimed by an earlier wait; record the wait."""
        fields = {k.replace("__", "."): v for k, v in match.items()}
        index = self._wait_for(event_type, fields, timeout / self.speed)
        self.actions.append(
            {
                "step": self.current_step,
                "kind": "wait",
                "type": event_type,
                "match": fields,
                "timeout": timeout,
                "event": index,
            }
        )
        if index is None:
            if required:
                raise ScenarioFailed(f"no {event_type} {fields} within {timeout}s")
            return None
        return self.events[index]["event"]

    def sleep(self, seconds: float) -> None:
        self.actions.append({"step": self.current_step, "kind": "sleep", "seconds": seconds})
        time.sleep(seconds / self.speed)

    # -- recording ----------------------------------------------------------------------------

    def _on_event(self, socket: int, event: Event) -> None:
        with self._cond:
            self.events.append({"step": self.current_step, "socket": socket, "event": event})
            self._cond.notify_all()

    def _wait_for(self, event_type: str, fields: Dict[str, Any], timeout: float) -> Optional[int]:
        claimed = {a["event"] for a in self.actions if a["kind"] == "wait"}

        def find() -> Optional[int]:
            for i, item in enumerate(self.events):
                event = item["event"]
                if i in claimed or event.get("type") != event_type:
                    continue
                if all(lookup(event, k) == v for k, v in fields.items()):
                    return i
            return None

        with self._cond:
            found: List[int] = []

            def ready() -> bool:
                i = find()
                if i is not None:
                    found.append(i)
                return i is not None

            self._cond.wait_for(ready, timeout)
        return found[0] if found else None

    def settle(self, quiet: float = 0.5, limit: float = 5.0) -> None:
        """Let trailing events arrive: return after ``quiet`` seconds with none (at most
        ``limit``)."""
        deadline = time.monotonic() + limit / self.speed
        with self._cond:
            while time.monotonic() < deadline:
                seen = len(self.events)
                self._cond.wait(quiet / self.speed)
                if len(self.events) == seen:
                    return

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets = []
        self.http.close()

    def transcript(self, name: str, area: str, doc: str, version: str) -> Dict[str, Any]:
        with self._cond:
            return {
                "format": FORMAT,
                "scenario": name,
                "area": area,
                "doc": doc,
                "asterisk": version,
                "sockets": list(self.socket_specs),
                "given_ids": list(self.given_ids),
                "actions": list(self.actions),
                "events": list(self.events),
            }

    # -- replay -------------------------------------------------------------------------------

    def _learn(self, recorded: Json, here: Json) -> None:
        """Map ids the recorded server generated to the ones this server generated, by walking
        the recorded answer (or event) and this one side by side."""
        if isinstance(recorded, dict) and isinstance(here, dict):
            for key, value in recorded.items():
                if key in here:
                    self._learn(value, here[key])
        elif isinstance(recorded, list) and isinstance(here, list):
            for a, b in zip(recorded, here):
                self._learn(a, b)
        elif (
            isinstance(recorded, str)
            and isinstance(here, str)
            and recorded != here
            and GENERATED_ID.match(recorded)
            and recorded not in self.ids
        ):
            self.ids[recorded] = here

    def _swap(self, value: Json) -> Json:
        if isinstance(value, str):
            for old, new in self.ids.items():
                if old in value:
                    value = value.replace(old, new)
            return value
        if isinstance(value, dict):
            return {k: self._swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._swap(v) for v in value]
        return value

    def replay(self, transcript: Dict[str, Any], settle: bool = True) -> None:
        """Do what ``transcript`` did, in the same step order, against this runner's server."""
        for spec in transcript["sockets"]:
            self.open(spec["app"], spec["subscribeAll"])
        self.given_ids = list(transcript.get("given_ids", []))
        recorded_events = transcript["events"]
        for action in transcript["actions"]:
            self.step(action["step"])
            if action["kind"] == "rest":
                mine = self.rest(
                    action["method"],
                    self._swap(action["path"]),
                    self._swap(action["query"]),
                    self._swap(action["body"]),
                )
                self._learn(action["answer"], mine["answer"])
            elif action["kind"] == "wait":
                found = self.wait(
                    action["type"],
                    action["timeout"],
                    required=False,
                    **{k.replace(".", "__"): self._swap(v) for k, v in action["match"].items()},
                )
                if found is not None and action["event"] is not None:
                    self._learn(recorded_events[action["event"]]["event"], found)
            elif action["kind"] == "sleep":
                self.sleep(action["seconds"])
        if settle:
            self.settle()


# ---------------------------------------------------------------------------------------------
# Recording scenarios


def server_version(runner: Runner) -> str:
    info = runner.http.get(runner.base + "/asterisk/info", timeout=runner.timeout)
    info.raise_for_status()
    return str(info.json().get("system", {}).get("version", "unknown"))


def cleanup(runner: Runner) -> None:
    """Best effort, unrecorded: hang up channels and destroy bridges the scenario left."""
    mine = set(runner.given_ids)
    for kind in ("channels", "bridges"):
        try:
            listed = runner.http.get(f"{runner.base}/{kind}", timeout=runner.timeout).json()
        except (requests.RequestException, ValueError):
            return
        for item in listed:
            if (
                item.get("id") in mine
                or any(i in str(item.get("name", "")) for i in mine)
                or (
                    kind == "channels"
                    and lookup(item, "dialplan.app_name") == "Stasis"
                    and any(s["app"] in str(lookup(item, "dialplan.app_data")) for s in runner.socket_specs)
                )
            ):
                runner.http.delete(f"{runner.base}/{kind}/{item['id']}", timeout=runner.timeout)


def record_one(
    url: str,
    username: str,
    password: str,
    scenario: Any,
    out: Path,
    version: Optional[str] = None,
    speed: float = 1.0,
) -> Dict[str, Any]:
    """Run ``scenario`` against the server at ``url`` and write its transcript into ``out``
    (``speed``: simulated seconds per real second, for a simulator)."""
    runner = Runner(url, username, password, speed=speed)
    version = version or server_version(runner)
    error = None
    try:
        scenario.run(runner)
        runner.settle(quiet=1.0, limit=8.0)
    except ScenarioFailed as e:
        error = str(e)
        log.error("scenario %s failed: %s", scenario.name, e)
    finally:
        runner.step("cleanup")
        cleanup(runner)
        transcript = runner.transcript(scenario.name, scenario.area, scenario.doc, version)
        runner.close()
    if error is not None:
        transcript["error"] = error
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{scenario.name}.json"
    path.write_text(json.dumps(transcript, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return transcript


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .scenarios import SCENARIOS

    parser = argparse.ArgumentParser(prog="python -m ari.testing.record", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--out", help="folder (default tests/fixtures/asterisk-<version>/)")
    parser.add_argument("--only", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    if args.list:
        for s in SCENARIOS:
            sys.stdout.write(f"{s.area:12} {s.name:32} {s.doc}\n")
        return 0
    probe = Runner(args.url, args.user, args.password)
    try:
        version = server_version(probe)
    except (requests.RequestException, ValueError) as e:
        sys.stderr.write(f"cannot read {probe.base}/asterisk/info: {e}\n")
        return 2
    finally:
        probe.close()
    out = Path(args.out or f"tests/fixtures/asterisk-{version}")
    failed = 0
    for scenario in chosen:
        started = time.monotonic()
        transcript = record_one(args.url, args.user, args.password, scenario, out, version)
        status = "FAILED: " + transcript["error"] if "error" in transcript else "ok"
        sys.stdout.write(
            f"{scenario.name:32} {len(transcript['actions']):3} actions "
            f"{len(transcript['events']):4} events "
            f"{time.monotonic() - started:5.1f}s {status}\n"
        )
        failed += "error" in transcript
    return 1 if failed else 0


Scenario = Callable[[Runner], None]

if __name__ == "__main__":
    sys.exit(main())
