"""The listener registry of one client, and the only module that imports blinker.

Its one job: who listens to what.  Client-level listeners (``client.on(type, h)``) are the
receivers of one ``blinker`` signal per event type, in a ``Namespace`` of this client's own
(two clients never share a signal).  Instance listeners (``channel.on(type, h)``) are the
receivers of an anonymous ``blinker.Signal`` per resource key and event type, held in a plain
dict keyed by the resource: resources come and go by the thousand (one per call), and
ending one (``release``) must drop all of its listeners at once, which dropping its signals
does without touching blinker's own tables.  blinker's sender matching is not used for them:
its ``receivers_for`` yields receivers in set order, not in the order they were connected,
and identifies senders by ``id()``, so equal keys built twice would not match.

Receivers are connected with ``weak=False`` (user handlers are often lambdas) and only ever
changed through ``connect`` and ``disconnect``; the ordered snapshot that delivery walks is
read from the signal's public ``receivers`` mapping.  Event types are checked here, against
the server's description and the client's own events, so a typo fails at ``on()``.

It must not call handlers, own threads or read events (dispatch.py does).
"""

from __future__ import annotations

import difflib
import threading
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

import blinker

Handler = Callable[..., Any]
Key = Tuple[Any, ...]

#: The event type that listens to every event.
EVERY = "*"


class Once:
    """A receiver that runs its handler for one event only, even with several dispatchers."""

    __slots__ = ("handler", "_gate", "_remove")

    def __init__(self, handler: Handler, remove: Callable[[Once], None]) -> None:
        self.handler = handler
        self._gate = threading.Lock()
        self._remove = remove

    def __call__(self, *args: Any) -> Any:
        if not self._gate.acquire(blocking=False):
            return None  # already fired on another worker
        self._remove(self)
        return self.handler(*args)

    def __repr__(self) -> str:
        return f"<once {self.handler!r}>"


def handler_of(receiver: Handler) -> Handler:
    """The application's own handler behind a receiver (``once`` wraps it)."""
    return receiver.handler if isinstance(receiver, Once) else receiver


class Listeners:
    """``meta.events``: the client's listeners, client-level and per resource."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        #: every event type ``on()`` accepts (``EVERY`` included)
        self.known: FrozenSet[str] = frozenset((*known, EVERY))
        self._ns = blinker.Namespace()
        #: event type -> its signal's receivers in order, remade after every change: delivery
        #: reads one dict entry per event instead of copying the signal's receivers each time
        self._snapshots: Dict[str, Tuple[Handler, ...]] = {}
        self._keyed: Dict[Key, Dict[str, blinker.Signal]] = {}
        #: resources with listeners that an event has named: they existed (a factory instance
        #: waiting for its create call has not), so a reconnect may check they still do
        self._seen: Set[Key] = set()
        self._lock = threading.RLock()

    # -- changing ------------------------------------------------------------------------
    def check(self, event_type: Any) -> None:
        """Raise ``ValueError`` (with the nearest known names) for a type no event has."""
        if event_type in self.known:
            return
        if not isinstance(event_type, str):
            raise TypeError(f"event type must be a string, got {type(event_type).__name__}")
        close = difflib.get_close_matches(event_type, self.known, n=3)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"unknown event type {event_type!r}{hint} (Asterisk's are in client.api.event_types, the client's "
            f"own are WebSocketConnected, WebSocketReconnecting..., and {EVERY!r} listens to every event)"
        )

    def add(self, event_type: str, handler: Handler, key: Optional[Key] = None, once: bool = False) -> None:
        """Connect ``handler`` to ``event_type`` for the client (``key`` None) or one resource."""
        self.check(event_type)
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        with self._lock:
            signal = self._signal(event_type, key)
            receiver: Handler = handler
            if once:
                receiver = Once(handler, lambda r: self._disconnect(event_type, r, key))
            signal.connect(receiver, weak=False)
            self._refresh(event_type, key, signal)

    def remove(self, event_type: str, handler: Handler, key: Optional[Key] = None) -> None:
        """Disconnect ``handler`` (added with ``on`` or ``once``); unknown handlers are ignored."""
        with self._lock:
            signal = self._find(event_type, key)
            if signal is None:
                return
            for receiver in tuple(signal.receivers.values()):
                if receiver == handler or handler_of(receiver) == handler:
                    signal.disconnect(receiver)
            self._refresh(event_type, key, signal)
            self._forget_if_empty(event_type, key, signal)

    def remove_all(self, event_type: Optional[str] = None, key: Optional[Key] = None) -> None:
        """Disconnect every handler of ``event_type`` (every type when None) at one level."""
        with self._lock:
            if key is not None:
                signals = self._keyed.get(key, {})
                for name in [event_type] if event_type is not None else list(signals):
                    signal = signals.get(name)
                    if signal is not None:
                        self._disconnect_all(signal)
                        self._forget_if_empty(name, key, signal)
                return
            names = [event_type] if event_type is not None else list(self._ns)
            for name in names:
                signal = self._ns.get(name)
                if signal is not None:
                    self._disconnect_all(signal)
                    self._refresh(name, None, signal)

    def release(self, key: Key) -> bool:
        """Forget every instance listener of one resource (its end was seen); True if it had any."""
        with self._lock:
            self._seen.discard(key)
            return self._keyed.pop(key, None) is not None

    def mark_seen(self, key: Key) -> None:
        """An event named this resource (it has listeners): it exists, or existed."""
        if key not in self._seen:
            with self._lock:
                if key in self._keyed:
                    self._seen.add(key)

    # -- reading -------------------------------------------------------------------------
    def receivers(self, event_type: str) -> Tuple[Handler, ...]:
        """The client-level receivers of ``event_type``, in the order they were connected."""
        return self._snapshots.get(event_type, ())

    @property
    def by_type(self) -> Mapping[str, Tuple[Handler, ...]]:
        """Event type -> its client-level receivers in order: a live view, read per event by delivery."""
        return self._snapshots

    def keyed_receivers(self, key: Key, event_type: str) -> Optional[Tuple[Handler, ...]]:
        """The receivers of ``event_type`` about one resource; None when it has no listeners at all."""
        per_key = self._keyed.get(key)
        if per_key is None:
            return None
        signal = per_key.get(event_type)
        if signal is None:
            return ()
        return tuple(signal.receivers.values())

    @property
    def any_keyed(self) -> bool:
        """Whether any resource has listeners (else events need no promotion for them)."""
        return bool(self._keyed)

    def has(self, key: Key) -> bool:
        return key in self._keyed

    def keys(self) -> List[Key]:
        """The resources that have listeners now."""
        with self._lock:
            return list(self._keyed)

    def seen_keys(self) -> List[Key]:
        """The resources that have listeners and that an event has named."""
        with self._lock:
            return [key for key in self._seen if key in self._keyed]

    def keyed_count(self) -> int:
        """How many resources have instance listeners (tests check nothing leaks)."""
        return len(self._keyed)

    def signal_count(self) -> int:
        """How many signals have receivers, client-level and per resource."""
        with self._lock:
            client = sum(1 for signal in self._ns.values() if signal.receivers)
            return client + sum(len(per_key) for per_key in self._keyed.values())

    # -- internals -----------------------------------------------------------------------
    def _signal(self, event_type: str, key: Optional[Key]) -> blinker.Signal:
        if key is None:
            return self._ns.signal(event_type)
        per_key = self._keyed.setdefault(key, {})
        signal = per_key.get(event_type)
        if signal is None:
            signal = per_key[event_type] = blinker.Signal()
        return signal

    def _find(self, event_type: str, key: Optional[Key]) -> Optional[blinker.Signal]:
        if key is None:
            return self._ns.get(event_type)
        per_key = self._keyed.get(key)
        return per_key.get(event_type) if per_key is not None else None

    def _disconnect(self, event_type: str, receiver: Handler, key: Optional[Key]) -> None:
        with self._lock:
            signal = self._find(event_type, key)
            if signal is not None:
                signal.disconnect(receiver)
                self._refresh(event_type, key, signal)
                self._forget_if_empty(event_type, key, signal)

    def _refresh(self, event_type: str, key: Optional[Key], signal: blinker.Signal) -> None:
        if key is not None:
            return  # instance signals are read directly: few events reach each
        receivers = tuple(signal.receivers.values())
        if receivers:
            self._snapshots[event_type] = receivers
        else:
            self._snapshots.pop(event_type, None)

    @staticmethod
    def _disconnect_all(signal: blinker.Signal) -> None:
        for receiver in tuple(signal.receivers.values()):
            signal.disconnect(receiver)

    def _forget_if_empty(self, event_type: str, key: Optional[Key], signal: blinker.Signal) -> None:
        # Only instance signals are forgotten: client-level ones are one per known type, bounded.
        if key is None or signal.receivers:
            return
        per_key = self._keyed.get(key)
        if per_key is not None and per_key.get(event_type) is signal:
            del per_key[event_type]
            if not per_key:
                del self._keyed[key]
                self._seen.discard(key)


__all__ = ["EVERY", "Handler", "Key", "Listeners", "Once", "handler_of"]
