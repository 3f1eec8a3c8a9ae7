"""The mock ARI server: a loopback server answering from a stub table, recording every request.

Its one job is unit tests of an application: say what an operation answers (``stub``), push
events (``send_event``), then check what the application asked (``requests``).  Operations
without a stub answer something plausible worked out from the description: ``[]`` for a
``List[...]``, 204 for ``void``, and for a model an object with its required properties filled.
It keeps no Asterisk state; ``Simulator`` does that.

``MockBackend`` is all of it, a ``backend.Backend`` like the simulator's; ``MockServer`` is a
``LoopbackServer`` serving one, and reaches it only through the server's public API
(``backend``, ``call_in_loop``, ``running``).
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from . import description as _description
from .backend import EventSink, Scheduler, SimRequest, SimResponse
from .server import LoopbackServer

T = TypeVar("T")

Body = Any  # a JSON-serialisable value, or a callable ``fn(request) -> value``


@dataclass(frozen=True)
class RecordedRequest(SimRequest):
    """A request the mock answered: the checked ``SimRequest``, as the server handed it over.

    ``headers`` come without Authorization; ``transport`` says how it came ("http", or
    "websocket" for a RESTRequest on the events socket, whose headers are then the socket's
    upgrade request's, as Asterisk passes them).
    """


@dataclass(frozen=True)
class _Stub:
    status: int
    body: Body


_SCALARS: Dict[str, Any] = {
    "string": "",
    "int": 0,
    "long": 0,
    "double": 0.0,
    "float": 0.0,
    "boolean": False,
    "object": {},
    "containers": {},
}


_CREATED = frozenset({"play", "playWithId", "record"})


class _Defaults:
    """What an unstubbed operation answers, worked out from the description."""

    def __init__(self, carried: Dict[str, Any]) -> None:
        self._models = _description.all_models(carried)
        self._shapes: Dict[str, List[Tuple[str, str, List[Any]]]] = {}

    def response(self, request: SimRequest, operation: Dict[str, Any], timestamp: str) -> SimResponse:
        returns = operation["returns"]
        if returns == "void":
            return SimResponse(204)
        if returns.startswith("List["):
            return SimResponse(200, [])
        if returns == "binary":
            return SimResponse(200, raw=b"", content_type="application/octet-stream")
        if returns in self._models:
            # Asterisk answers 201 Created to play and record.
            status = 201 if operation["nickname"] in _CREATED else 200
            return SimResponse(status, self.minimal(returns, request, timestamp))
        return SimResponse(200, _SCALARS.get(returns, {}))

    def minimal(self, model_id: str, request: Optional[SimRequest], timestamp: str, depth: int = 0) -> Dict[str, Any]:
        """An object of ``model_id`` with only its required properties, filled by type."""
        out: Dict[str, Any] = {}
        for name, kind, allowed in self._required(model_id):
            if name in ("id", "name") and request is not None and depth == 0:
                out[name] = _identity(name, model_id, request)
            elif allowed:
                out[name] = allowed[0]
            elif kind == "Date":
                out[name] = timestamp
            elif kind.startswith("List["):
                out[name] = []
            elif kind in self._models:
                out[name] = self.minimal(kind, None, timestamp, depth + 1) if depth < 3 else {}
            else:
                value = _SCALARS.get(kind, "")
                out[name] = dict(value) if isinstance(value, dict) else value
        return out

    def _required(self, model_id: str) -> List[Tuple[str, str, List[Any]]]:
        # Worked out once per model: a mock answers the same shapes many times.
        known = self._shapes.get(model_id)
        if known is None:
            props = self._models.get(model_id, {}).get("properties", {})
            known = self._shapes[model_id] = [
                (name, prop.get("type", "string"), list((prop.get("allowableValues") or {}).get("values") or ()))
                for name, prop in props.items()
                if prop.get("required")
            ]
        return known


def _identity(prop: str, model_id: str, request: SimRequest) -> str:
    """An ``id`` or ``name`` from the request when one fits the model, else a fresh one/"".

    ``/channels/{channelId}`` gives a Channel its id, ``?bridgeId=`` a Bridge, the last path
    parameter ``{snoopId}`` a snoop channel; ``/channels/{channelId}/play`` a new Playback id;
    ``/applications/{applicationName}`` an Application its name.
    """
    suffix = "Id" if prop == "id" else "Name"
    model = model_id.lower()
    candidates: List[Tuple[str, str]] = list(request.path_params.items())
    candidates += [(k, v) for k, v in request.query.items() if k not in request.path_params]
    for key, value in reversed(candidates):
        if key == prop and value:
            return value
        if key.endswith(suffix) and value:
            stem = key[: -len(suffix)].lower()
            if stem and (stem in model or model in stem):
                return value
    if prop == "id" and request.path_params and request.path.endswith("/" + list(request.path_params.values())[-1]):
        return list(request.path_params.values())[-1]
    return str(uuid.uuid4()) if prop == "id" else ""


class MockBackend:
    """The mock's backend: stubs, recorded requests, default answers, events pushed by tests.

    ``handle`` and the other Backend methods run on the server's loop thread; the stub tables
    are changed there too (``MockServer`` marshals), and ``requests`` is guarded by a lock
    so a test thread can read it at any time.
    """

    def __init__(self, carried: Dict[str, Any]) -> None:
        self.defaults = _Defaults(carried)
        self.operations = {(res, op["nickname"]): op for res, _, op in _description.iter_operations(carried)}
        self.stubs: Dict[Tuple[str, str], _Stub] = {}
        self.path_stubs: Dict[Tuple[str, str], _Stub] = {}
        self.scheduler: Optional[Scheduler] = None
        self.events: Optional[EventSink] = None
        self.subscribe_all: Dict[str, bool] = {}  # the connected apps
        self._requests: List[RecordedRequest] = []
        self._requests_lock = threading.Lock()

    # -- Backend ---------------------------------------------------------------------------

    def bind(self, scheduler: Scheduler, events: EventSink) -> None:
        self.scheduler, self.events = scheduler, events

    def handle(self, request: SimRequest) -> SimResponse:
        recorded = RecordedRequest(**{f.name: getattr(request, f.name) for f in dataclasses.fields(SimRequest)})
        with self._requests_lock:
            self._requests.append(recorded)
        stub = self.path_stubs.get((request.method, request.path)) or self.stubs.get(
            (request.resource, request.nickname)
        )
        if stub is None:
            assert self.scheduler is not None
            op = self.operations[(request.resource, request.nickname)]
            return self.defaults.response(request, op, self.scheduler.timestamp())
        body = stub.body(request) if callable(stub.body) else stub.body
        if isinstance(body, SimResponse):
            return body
        if isinstance(body, (bytes, bytearray)):
            return SimResponse(stub.status, raw=bytes(body), content_type="application/octet-stream")
        return SimResponse(stub.status, body)

    def app_connected(self, app: str, subscribe_all: bool) -> None:
        self.subscribe_all[app] = subscribe_all

    def app_disconnected(self, app: str) -> None:
        self.subscribe_all.pop(app, None)

    def event_allowed(self, app: str, event_type: str) -> bool:
        return True  # the mock keeps no event filters

    # -- stubs (loop thread) ---------------------------------------------------------------

    def set_stub(self, resource: str, nickname: str, stub: _Stub) -> None:
        self.stubs[(resource, nickname)] = stub

    def set_path_stub(self, method: str, path: str, stub: _Stub) -> None:
        self.path_stubs[(method, path)] = stub

    def clear_stubs(self) -> None:
        self.stubs.clear()
        self.path_stubs.clear()

    # -- recorded requests (any thread) ----------------------------------------------------

    @property
    def requests(self) -> List[RecordedRequest]:
        with self._requests_lock:
            return list(self._requests)

    def forget_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    # -- events (loop thread) --------------------------------------------------------------

    def send_event(self, event: Dict[str, Any], asterisk_id: str) -> None:
        """Push ``event`` to ``event["application"]``, or to every connected app."""
        assert self.scheduler is not None and self.events is not None
        event.setdefault("timestamp", self.scheduler.timestamp())
        event.setdefault("asterisk_id", asterisk_id)
        app = event.get("application")
        apps = [app] if app else sorted(self.subscribe_all)
        for name in apps:
            one = event if app else dict(event, application=name)
            self.events.send(name, one)

    def send_text(self, app: str, text: str) -> None:
        send_text = getattr(self.events, "send_text", None)
        if send_text is not None:
            send_text(app, text)


class MockServer(LoopbackServer):
    """A ``LoopbackServer`` serving a ``MockBackend``; takes the same options.

    ::

        with MockServer() as mock:
            mock.stub("channels", "get", body={"id": "c1", "state": "Up"})
            mock.stub_path("DELETE", "/channels/c1", status=404,
                           body={"message": "Channel not found"})
            ...  # run the application against mock.url
            assert mock.requests_for("channels", "hangup")
    """

    backend: MockBackend

    def __init__(self, **options: Any) -> None:
        carried = options.get("description")
        if carried is None:
            carried = options["description"] = _description.load()
        super().__init__(MockBackend(carried), **options)

    def _on_loop(self, fn: Callable[..., T], *args: Any) -> T:
        # Before start and after stop no loop runs: the tables are then this thread's alone.
        if self.running:
            return self.call_in_loop(fn, *args)
        return fn(*args)

    # -- stubs -----------------------------------------------------------------------------

    def stub(self, resource: str, nickname: str, status: int = 200, body: Body = None) -> None:
        """Answer operation ``resource.nickname`` with ``status`` and ``body``.

        ``body`` may be a callable ``fn(request) -> body`` (run on the server thread); it may
        also return a ``SimResponse`` to choose everything, and bytes answer a binary body.
        """
        if (resource, nickname) not in self.backend.operations:
            raise ValueError(f"no operation {resource}.{nickname} in the description")
        self._on_loop(self.backend.set_stub, resource, nickname, _Stub(status, body))

    def stub_path(self, method: str, path: str, status: int = 200, body: Body = None) -> None:
        """Answer ``method path`` (under /ari, percent-decoded, e.g. ``/channels/c1``).

        Path stubs win over ``stub``'s per-operation ones.
        """
        if path.startswith("/ari/"):
            path = path[4:]
        self._on_loop(self.backend.set_path_stub, method.upper(), path, _Stub(status, body))

    def clear(self) -> None:
        """Forget the recorded requests and every stub."""
        self.backend.forget_requests()
        self._on_loop(self.backend.clear_stubs)

    # -- recorded requests -----------------------------------------------------------------

    @property
    def requests(self) -> List[RecordedRequest]:
        """Every request answered so far (a copy), oldest first.

        Requests the server refused itself (auth, unknown path, bad parameters) are not here.
        """
        return self.backend.requests

    def requests_for(self, resource: str, nickname: str) -> List[RecordedRequest]:
        return [r for r in self.requests if r.resource == resource and r.nickname == nickname]

    # -- events ----------------------------------------------------------------------------

    def send_event(self, event: Dict[str, Any]) -> None:
        """Push ``event`` to ``event["application"]``, or to every connected app.

        ``timestamp``, ``asterisk_id`` and ``application`` are filled when missing.
        """
        self.call_in_loop(self.backend.send_event, dict(event), self.asterisk_id)

    def send_raw(self, app: str, text: str) -> None:
        """Send ``text`` as one text frame to ``app``'s socket, as it is (it need not be JSON)."""
        self.call_in_loop(self.backend.send_text, app, text)

    def subscribed_all(self, app: str) -> Optional[bool]:
        """Whether ``app`` connected with ``subscribeAll=true`` (None: not connected)."""
        return self.call_in_loop(self.backend.subscribe_all.get, app)

    def minimal(self, model_id: str) -> Dict[str, Any]:
        """A minimal object of ``model_id`` (required properties only), for building bodies."""
        return self.backend.defaults.minimal(model_id, None, "1970-01-01T00:00:00.000+0000")


__all__ = ["MockBackend", "MockServer", "RecordedRequest"]
