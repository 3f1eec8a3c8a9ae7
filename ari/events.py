"""Event objects: a parsed ARI event with its resource fields promoted to instances.

Its one job is the shape of an event: attribute and item access to every field, and
promotion of the fields that the server's own description (events.json, through
``api.event_resources``) declares as resources to instances bound to the client.  What
to promote is worked out once per event type, so the per-event path is a few dict
operations.  It also owns the two tables about events that others consult: ``ENDS``
(which events end the application's view of a resource, so its listeners go) and
``CLIENT_EVENTS`` (the client's own event types).  It must not touch the WebSocket,
blinker or any thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, NamedTuple, Optional, Tuple, Type

from .resources import Fields, Meta, Resource, fields_of

log = logging.getLogger(__name__)

Key = Tuple[Any, ...]

#: The events the client itself emits (Node ari-client's names), beside Asterisk's own.
CLIENT_EVENTS: FrozenSet[str] = frozenset({"WebSocketConnected", "WebSocketReconnecting", "WebSocketMaxRetries"})


class End(NamedTuple):
    """How an event ends the application's view of the resource in one of its fields."""

    field: str
    #: True: the resource may still be seen (a channel that left Stasis but that the application
    #: also subscribed to, as originate does); its listeners go ``ENDS_GRACE`` seconds later
    #: unless an event about it arrives meanwhile.
    deferred: bool = False


#: Event type -> the resource it ends; that resource's instance listeners are released after it.
#: A channel that entered Stasis from the dialplan is unsubscribed with its StasisEnd (a real
#: Asterisk sends the application no ChannelDestroyed after it); one the application originated
#: stays subscribed and ends with ChannelDestroyed.  The event does not say which, hence the grace.
ENDS: Dict[str, End] = {
    "ChannelDestroyed": End("channel"),
    "StasisEnd": End("channel", deferred=True),
    "BridgeDestroyed": End("bridge"),
    "PlaybackFinished": End("playback"),
    "PlaybackFailed": End("playback"),
    "RecordingFinished": End("recording"),
    "RecordingFailed": End("recording"),
}

#: Seconds a deferred end (StasisEnd) waits for another event about its resource.
ENDS_GRACE = 5.0


class OddEvent(ValueError):
    """An event whose shape the description rules out (a resource field that is not an object)."""


class Event(Fields):
    """One event: ``event.type``, ``event['digit']``, ``event.channel`` (an instance)...

    It wraps the dict parsed from the frame without copying; promoted fields hold
    instances, whose own data is the nested dict Asterisk sent.
    """

    __slots__ = ("_data", "received_at")

    def __init__(self, data: Dict[str, Any], received_at: Optional[float] = None) -> None:
        self._data = data
        #: ``time.monotonic()`` when the frame came off the event socket (None if not from it)
        self.received_at = received_at

    def _no_field(self, name: str) -> str:
        return f"{self._data.get('type', 'event')} has no field {name!r}"

    def __len__(self) -> int:
        return len(self._data)

    def get(self, name: str, default: Any = None) -> Any:
        return self._data.get(name, default)

    def keys(self) -> Any:
        return self._data.keys()

    def to_dict(self) -> Dict[str, Any]:
        """The event as Asterisk sent it (instances turned back into their data)."""
        return {k: (v.to_dict() if isinstance(v, Resource) else v) for k, v in self._data.items()}

    def __repr__(self) -> str:
        named = " ".join(
            f"{name}={type(value).__name__}({', '.join(map(repr, value._key[1:]))})"
            for name, value in self._data.items()
            if isinstance(value, Resource)
        )
        return f"<Event {self._data.get('type')}{' ' + named if named else ''}>"

    def __dir__(self) -> List[str]:
        # Fields first-class in a REPL's completion, beside the methods.
        return sorted({*object.__dir__(self), *(k for k in self._data if isinstance(k, str) and k.isidentifier())})


class Instances(Dict[str, Resource]):
    """The instances an event names, when it names several: ``instances.bridge``, ``instances['channel']``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Resource:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class EventShape:
    """What one event type carries: the resource fields to promote, the field orders follow,
    and ``event``, which makes the event: an instance of the type's own ``Event`` subclass,
    whose declared fields are properties (``resources.field``)."""

    __slots__ = ("type", "fields", "route", "event", "_declared", "_made", "_lock")

    def __init__(
        self,
        event_type: str,
        fields: Tuple[Tuple[str, Type[Resource]], ...],
        declared: Iterable[str] = (),
        made: Optional[Dict[str, property]] = None,
    ) -> None:
        self.type = event_type
        self.fields = fields
        # The class is made with the type's first event (45 classes at start took 1 to 2 ms):
        # until then ``event`` is the method that makes it, then the class itself.
        self.event: Callable[[Dict[str, Any]], Event] = self._first
        self._declared = tuple(declared)
        self._made = made
        self._lock = threading.Lock()
        # Per-resource order in concurrent dispatch follows one field.  A call is the usual
        # unit of work, so the channel wins when an event names several (ChannelEnteredBridge).
        names = [name for name, _ in fields]
        route = "channel" if "channel" in names else (names[0] if names else None)
        self.route: Optional[Tuple[str, str, Tuple[str, ...]]] = None
        if route is not None:
            cls = dict(fields)[route]
            self.route = (route, cls.__name__, cls._identity_props)

    def _first(self, data: Dict[str, Any]) -> Event:
        with self._lock:  # concurrent dispatchers: one class per type all the same
            if self.event == self._first:
                self.event = type(
                    self.type,
                    (Event,),
                    {"__slots__": (), "__module__": __name__, **fields_of(self._declared, Event, made=self._made)},
                )
        return self.event(data)


class Promoter:
    """Turns parsed frames into ``(event, target, instances)`` for one client."""

    def __init__(self, meta: Meta) -> None:
        self.meta = meta
        self.shapes: Dict[str, EventShape] = {}
        models = meta.api.models
        parents = {sub: model.id for model in models.values() for sub in model.sub_types}
        made: Dict[str, property] = {}  # one property per field name, shared by the event classes
        for event_type, fields in meta.api.event_resources.items():
            promoted = tuple(
                (name, meta.instance_classes[model]) for name, model in fields.items() if model in meta.instance_classes
            )
            declared: List[str] = []
            lineage: List[str] = []
            model_id = event_type
            while model_id in models and model_id not in lineage:  # its own fields, then inherited ones
                lineage.append(model_id)
                declared.extend(models[model_id].properties)
                model_id = parents.get(model_id, "")
            self.shapes[event_type] = EventShape(event_type, promoted, declared, made)
        self._unknown: set = set()

    def promote(self, data: Dict[str, Any]) -> Tuple[Event, Any, Tuple[Resource, ...]]:
        """The event, what handlers get after it (an instance, ``Instances`` or None), the instances.

        ``data["type"]`` must be a string (the dispatcher's decoding checks); a resource field
        that is present but not an object raises ``OddEvent``.
        """
        shape = self.shapes.get(data["type"])
        if shape is None:
            self._note_unknown(data["type"])
            return Event(data), None, ()
        fields = shape.fields
        if len(fields) == 1:
            name, cls = fields[0]
            value = data.get(name)
            if type(value) is dict:
                instance = data[name] = cls(value)
                return shape.event(data), instance, (instance,)
            if value is not None:
                raise OddEvent(f"{data['type']} has a {name} that is not an object: {value!r:.80}")
            return shape.event(data), None, ()
        if not fields:
            return shape.event(data), None, ()
        found = Instances()
        for name, cls in fields:
            value = data.get(name)
            if type(value) is dict:
                found[name] = data[name] = cls(value)
            elif value is not None:
                raise OddEvent(f"{data['type']} has a {name} that is not an object: {value!r:.80}")
        if not found:
            return shape.event(data), None, ()
        instances = tuple(found.values())
        if len(found) == 1:
            return shape.event(data), instances[0], instances
        return shape.event(data), found, instances

    def route_key(self, data: Mapping[str, Any]) -> Optional[Key]:
        """The listener key of the resource that orders this event (raw frame, nothing built).

        Raises ``OddEvent`` for a routing field that is not an object or an identity that
        cannot be a key (a list, an object): such an event is skipped, never queued.
        """
        shape = self.shapes.get(data["type"])
        if shape is None or shape.route is None:
            return None
        name, model, props = shape.route
        value = data.get(name)
        if type(value) is not dict:
            if value is None:
                return None
            raise OddEvent(f"{data['type']} has a {name} that is not an object: {value!r:.80}")
        if len(props) == 1:  # nearly every resource: no generator to build the key
            identity = value.get(props[0])
            if type(identity) is str:
                return (model, identity)
            key: Key = (model, identity)
        else:
            key = (model, *[value.get(p) for p in props])
        try:
            hash(key)
        except TypeError:
            raise OddEvent(f"{data['type']} names a {model} whose identity is not a value: {key[1:]!r:.80}") from None
        return key

    def _note_unknown(self, event_type: Any) -> None:
        # Once per type: an unknown type repeats with every event of it.
        if event_type not in self._unknown and len(self._unknown) < 1000:
            self._unknown.add(event_type)
            log.warning("event type %r is not in the API description; delivered without promotion", event_type)


def client_event(event_type: str, **fields: Any) -> Event:
    """An event the client itself emits (``WebSocketConnected``...), shaped like Asterisk's."""
    return Event({"type": event_type, **fields})


__all__ = [
    "CLIENT_EVENTS",
    "ENDS",
    "ENDS_GRACE",
    "End",
    "Event",
    "EventShape",
    "Instances",
    "OddEvent",
    "Promoter",
    "client_event",
]
