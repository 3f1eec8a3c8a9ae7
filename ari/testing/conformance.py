"""Compare a recorded transcript (a real Asterisk) with its replay (another server, usually the
simulator) and score how alike they are.

Its one job is the judgement: it turns two ``ari-transcript/1`` documents (``record.py``) into
``Check`` results (one per status, per answer body's shape and values, per wait, per event
expected in its resource's order, and per event's shape and values) and sums them per area.
It must not talk to any server: replaying is ``record.Runner.replay``'s job.

What differs between two runs for reasons that are not behaviour is normalised before any
value is compared; each rule says why:

- ``timestamp``, ``creationtime``, ``startup_time``, ``last_reload_time`` and any value in
  Asterisk's timestamp format: the clocks differ.  Compared by form only.
- Ids the server generated (unique ids ``1764548000.12``, uuids): each run counts from its own
  start.  Those a scenario used later are mapped (the replay learns them from answers and
  awaited events); the others are compared by form only.
- The counter in channel names (``Local/wait@default-0000001a;1``, ``Snoop/x-00000001``): it
  counts every channel since the server started, so it depends on what ran before.
- ``asterisk_id`` / ``entity_id``: the machine's MAC address.
- ``/asterisk/info``'s ``build`` and ``status``, module ``use_count``: the machine, the build
  and the uptime.  Compared by shape only.
- Recording durations: real ones run a little past their limit (2 s gives 2 or 3); compared
  as "zero" or "about this long" (within one second).
- The size of a downloaded recording: compared as "header only" (44 bytes) or "holds audio".
- Ports and addresses in ``channelvars`` (``UNICASTRTP_LOCAL_PORT``): chosen by the machine.
- The ``state`` in the answer to starting a recording: Asterisk makes the recording
  ``queued``, hands it to the channel's control thread (``stasis_app_send_command_async``)
  and then serialises it for the answer, so a thread that starts at once makes it
  ``recording``; both compare as ``queued``.
- Lists that reflect the whole server (``GET /channels``, modules, sounds, stored recordings):
  only the entries that belong to the scenario (they hold one of its ids or application names)
  are compared by value; the first entry by shape.
- Events on a ``subscribeAll`` socket that name none of the scenario's ids or applications:
  the shared Asterisk's other calls.
- A Local ``;2`` half whose far end answers first (``Answer()``, then ``Wait()``,
  ``MusicOnHold()``...): ``Answer()`` returns after 500 ms without a media frame
  (``__ast_answer``), and whether the next request lands before or after that depends on
  request latency, which the replay (at ``SPEED`` times Asterisk's pace) multiplies.  So its
  ChannelDialplan into priority 2 is dropped, and its location in ``Answer`` at 1 or in the
  next application at 2 (the ``dialplan`` of its events, the priority ChannelDestroyed keeps)
  compares as one.  That
  ``Answer()`` returns at 500 ms, or at once when media flows, is tested on the simulator's own
  clock (tests/functional/test_sim_local.py).
- A bridge's ``channels``: Asterisk's bridge snapshot keeps the ids in a hash container, so
  two members can be listed in either order.  Compared sorted.
- A uniqueid (a generated id: the scenarios give every channel of theirs an id) in the
  ``channels`` of a ChannelLeftBridge: when the last member leaves a bridge with music on hold,
  the music's announcer, being destroyed meanwhile, is sometimes no longer hidden from the
  event (a race; counted in tests/fixtures/bridge-moh-race-22.10.1.json, where
  tests/functional/test_bridge_moh_race.py checks the simulator against it).  Dropped.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Set, Tuple

from .record import GENERATED_ID

Json = Any

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
CHANNEL_COUNTER = re.compile(r"(?<=[-/])(0x[0-9a-f]+|[0-9a-f]{8})(?=;|$)")
TIME_KEYS = frozenset({"timestamp", "creationtime", "startup_time", "last_reload_time"})
MACHINE_KEYS = frozenset({"asterisk_id", "entity_id"})
DURATION_KEYS = frozenset({"duration", "talking_duration", "silence_duration"})
VOLATILE_VAR = re.compile(r"(_PORT|_ADDRESS|CONNECTION_ID)$")


@dataclass
class Check:
    area: str
    scenario: str
    what: str
    ok: bool
    detail: str = ""


@dataclass
class Score:
    checks: List[Check] = field(default_factory=list)

    def add(self, checks: Iterable[Check]) -> None:
        self.checks.extend(checks)

    @property
    def ratio(self) -> float:
        return sum(c.ok for c in self.checks) / len(self.checks) if self.checks else 1.0

    def by(self, attr: str) -> Dict[str, Tuple[int, int]]:
        out: Dict[str, Tuple[int, int]] = {}
        for c in self.checks:
            key = getattr(c, attr)
            ok, total = out.get(key, (0, 0))
            out[key] = (ok + c.ok, total + 1)
        return out

    def table(self) -> str:
        lines = [f"{'area':14} {'matched':>8} {'checks':>7} {'score':>7}"]
        for area, (ok, total) in sorted(self.by("area").items()):
            lines.append(f"{area:14} {ok:8} {total:7} {ok / total:7.1%}")
        ok = sum(c.ok for c in self.checks)
        lines.append(f"{'all':14} {ok:8} {len(self.checks):7} {self.ratio:7.1%}")
        return "\n".join(lines)

    def failures(self, limit: int = 1000) -> str:
        bad = [c for c in self.checks if not c.ok][:limit]
        return "\n".join(f"{c.scenario}: {c.what}: {c.detail}" for c in bad)


class Normaliser:
    """Rewrites one transcript's values so that two runs compare equal where only the
    reasons listed in the module docstring differ."""

    def __init__(self, ids: Dict[str, str]) -> None:
        self.ids = ids  # this run's generated id -> the recorded run's

    def __call__(self, value: Json, key: str = "") -> Json:
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [self(v, key) for v in value]
            if key == "channels" and all(isinstance(v, str) for v in items):
                items.sort()
            return items
        if key in TIME_KEYS or (isinstance(value, str) and TIMESTAMP.match(value)):
            return "<timestamp>" if value else value
        if key in MACHINE_KEYS:
            return "<machine>"
        if key in DURATION_KEYS and isinstance(value, int):
            return value
        if key == "$size" and isinstance(value, int):
            return "header-only" if value <= 44 else "audio"
        if isinstance(value, str):
            if VOLATILE_VAR.search(key):
                return "<volatile>"
            for mine, recorded in self.ids.items():
                if mine in value:
                    value = value.replace(mine, recorded)
            if GENERATED_ID.match(value):
                return "<generated-id>"
            if key == "name" or "/" in value:
                value = CHANNEL_COUNTER.sub("<n>", value)
        return value


def shape(value: Json) -> Json:
    """Field names and JSON types, recursively (a list by its first element)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def _equal(a: Json, b: Json) -> bool:
    """Equality, with durations equal when both are zero or within one second."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return False
        for k in a:
            x, y = a[k], b[k]
            if k in DURATION_KEYS and isinstance(x, int) and isinstance(y, int):
                if (x == 0) != (y == 0) or abs(x - y) > 1:
                    return False
            elif not _equal(x, y):
                return False
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _diff(a: Json, b: Json, path: str = "") -> str:
    """The first difference, for the report."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                return f"{path}.{k}: missing (Asterisk has it)"
            if k not in b:
                return f"{path}.{k}: unexpected (Asterisk has none)"
            d = _diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return ""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return ""
    if _equal(a, b):
        return ""
    return f"{path}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]}"


def _marks(transcript: Dict[str, Any]) -> Set[str]:
    """Strings that tie a value to the scenario: its given ids and application names."""
    marks = set(transcript.get("given_ids", []))
    marks.update(s["app"] for s in transcript["sockets"])
    return {m for m in marks if m}


def _belongs(value: Json, marks: Set[str]) -> bool:
    if isinstance(value, dict):  # every event names its application: not a tie
        value = {k: v for k, v in value.items() if k != "application"}
    text = json.dumps(value)
    return any(m in text for m in marks)


def _answer_for_compare(path: str, answer: Json, marks: Set[str]) -> Tuple[Json, Json]:
    """(value part, shape part) of an answer body, per the list and machine rules."""
    if path.startswith("/asterisk/info") and isinstance(answer, dict):
        fixed = {k: (shape(v) if k in ("build", "status") else v) for k, v in answer.items()}
        return fixed, shape(answer)
    if isinstance(answer, list):
        mine = sorted((x for x in answer if _belongs(x, marks)), key=json.dumps)
        return mine, shape(answer[:1])
    if re.search(r"^/(channels|bridges)/[^/]+/record$", path) and isinstance(answer, dict):
        if answer.get("state") == "recording":
            answer = dict(answer, state="queued")
        return answer, shape(answer)
    if path.startswith("/asterisk/modules/") and isinstance(answer, dict):
        return {k: v for k, v in answer.items() if k != "use_count"}, shape(answer)
    return answer, shape(answer)


def _event_key(event: Dict[str, Any]) -> str:
    for dotted in ("playback.id", "recording.name", "channel.id", "peer.id", "bridge.id", "device_state.name"):
        head, _, tail = dotted.partition(".")
        value = event.get(head)
        if isinstance(value, dict) and tail in value:
            return f"{head}:{value[tail]}"
    endpoint = event.get("endpoint")
    if isinstance(endpoint, dict):
        return f"endpoint:{endpoint.get('technology')}/{endpoint.get('resource')}"
    return "other"


def _event_groups(transcript: Dict[str, Any], norm: Normaliser, marks: Set[str]) -> Dict[Tuple[str, str], List[Json]]:
    groups: Dict[Tuple[str, str], List[Json]] = {}
    sockets = transcript["sockets"]
    for item in transcript["events"]:
        spec = sockets[item["socket"]]
        event = item["event"]
        if spec["subscribeAll"] and not _belongs(event, marks):
            continue
        event = norm(event)
        if event.get("type") == "ChannelLeftBridge" and isinstance(event.get("bridge"), dict):
            listed = event["bridge"].get("channels")
            if isinstance(listed, list) and "<generated-id>" in listed:
                kept = [c for c in listed if c != "<generated-id>"]
                event = dict(event, bridge=dict(event["bridge"], channels=kept))
        groups.setdefault((spec["app"], _event_key(event)), []).append(event)
    return {key: _answer_then_wait(events) for key, events in groups.items()}


ANSWERING = ("Answer", 1)


def _answer_then_wait(events: List[Json]) -> List[Json]:
    """One resource's events with a Local ;2 half's Answer()-or-Wait() made one place (the
    module docstring says why)."""

    def place(event: Json) -> Tuple[Any, Any]:
        dialplan = event.get("channel", {}).get("dialplan", {})
        return dialplan.get("app_name"), dialplan.get("priority")

    name = events[0].get("channel", {}).get("name", "") if events else ""
    if not (name.startswith("Local/") and name.endswith(";2")) or ANSWERING not in map(place, events):
        return events
    out = []
    for event in events:
        where = place(event)
        if event["type"] == "ChannelDialplan" and where[1] == 2:
            continue
        if where == ANSWERING or where[1] == 2 or (where[0] == "" and where[1] == 1):
            event = json.loads(json.dumps(event))
            event["channel"]["dialplan"].update(
                app_name=where[0] and "<Answer-or-Wait>", app_data="<Answer-or-Wait>", priority=0
            )
        out.append(event)
    return out


def compare(recorded: Dict[str, Any], replayed: Dict[str, Any]) -> List[Check]:
    """Every check of one scenario: ``recorded`` is the reference, ``replayed`` the server
    under test (its ``ids`` maps the ids it generated from the recorded ones)."""
    area, name = recorded["area"], recorded["scenario"]
    back = {mine: rec for rec, mine in replayed.get("ids", {}).items()}
    ref_norm, sut_norm = Normaliser({}), Normaliser(back)
    marks = _marks(recorded)
    checks: List[Check] = []

    def check(what: str, ok: bool, detail: str = "") -> None:
        checks.append(Check(area, name, what, ok, "" if ok else detail))

    for i, (want, got) in enumerate(zip(recorded["actions"], replayed["actions"])):
        label = f"#{i} {want['step']}"
        if want["kind"] == "rest":
            label += f" {want['method']} {want['path']}"
            check(
                label + " status",
                want["status"] == got["status"],
                f"{got['status']} != {want['status']} ({json.dumps(got['answer'])[:100]})",
            )
            if want["answer"] is None and got["answer"] is None:
                continue
            w_val, w_shape = _answer_for_compare(want["path"], ref_norm(want["answer"]), marks)
            g_val, g_shape = _answer_for_compare(want["path"], sut_norm(got["answer"]), marks)
            check(label + " body shape", w_shape == g_shape, _diff(g_shape, w_shape))
            check(label + " body values", _equal(w_val, g_val), _diff(g_val, w_val))
        elif want["kind"] == "wait":
            label += f" wait {want['type']}"
            found, expected = got["event"] is not None, want["event"] is not None
            check(label, found == expected, "not sent" if expected else "sent, where Asterisk sent none")
    missing = len(recorded["actions"]) - len(replayed["actions"])
    if missing > 0:
        for _ in range(missing):
            check("action not replayed", False, replayed.get("error", "replay stopped"))

    want_groups = _event_groups(recorded, ref_norm, marks)
    got_groups = _event_groups(replayed, sut_norm, marks)
    for key in sorted(set(want_groups) | set(got_groups)):
        want_list, got_list = want_groups.get(key, []), got_groups.get(key, [])
        w_types = [e["type"] for e in want_list]
        g_types = [e["type"] for e in got_list]
        matcher = difflib.SequenceMatcher(a=w_types, b=g_types, autojunk=False)
        matched: Dict[int, int] = {}
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                matched[block.a + k] = block.b + k
        label = f"events {key[0]} {key[1]}"
        for wi, event in enumerate(want_list):
            gi = matched.get(wi)
            check(f"{label} #{wi} {event['type']}", gi is not None, f"missing (sent: {g_types})")
            if gi is None:
                continue
            other = got_list[gi]
            check(
                f"{label} #{wi} {event['type']} fields", shape(event) == shape(other), _diff(shape(other), shape(event))
            )
            check(f"{label} #{wi} {event['type']} values", _equal(event, other), _diff(other, event))
        extra = [g_types[gi] for gi in range(len(got_list)) if gi not in matched.values()]
        for t in extra:
            check(f"{label} unexpected {t}", False, f"Asterisk sent: {w_types}")
    return checks


def load(path: Any) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data: Dict[str, Any] = json.load(f)
    return data
