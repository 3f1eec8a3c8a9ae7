"""Listeners and dispatch for one client, and the only module that imports blinker.

Its one job: hold the client's listeners (client-level, keyed by event type; instance
listeners, keyed by event type and resource key) in one ``blinker.Namespace`` per client,
and call them from dispatcher threads in order, one receiver at a time with each
exception isolated.  Serial mode runs every event on one ``ari-dispatch`` thread in
arrival order; concurrent mode runs a bounded pool (``ari-dispatch-N``) where any idle
worker takes the next resource that has events, one worker per resource at a time, so
each resource's events stay in order while different calls proceed in parallel.  Instance listeners are released once
their resource's terminal event has been dispatched.

It must not read sockets or parse frames (stream.py does), nor know the shape of
events beyond what ``events.Promoter`` tells it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from json import JSONDecoder, loads
from json.scanner import make_scanner
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import blinker

from .events import Event, Promoter

log = logging.getLogger(__name__)

Handler = Callable[..., Any]
Key = Tuple[Any, ...]
ErrorHook = Callable[[BaseException, Event], Any]

#: event type -> the field naming the resource it ends; that resource's listeners are then released
TERMINAL: Dict[str, str] = {
    "ChannelDestroyed": "channel",
    "BridgeDestroyed": "bridge",
    "PlaybackFinished": "playback",
    "RecordingFinished": "recording",
    "RecordingFailed": "recording",
}

_SEP = "\x1f"  # never in an event type: separates keyed signal names from client-level ones
_STOP = object()

#: Frames handed to the dispatcher but not yet dispatched, beyond which the reader pauses.
BACKLOG_LIMIT = 20_000
#: The longest the reader pauses per socket read: it must go on reading REST answers that a
#: handler may be waiting for, so it slows down, never stops.
BACKLOG_PAUSE = 0.01


class _Backlog:
    """Counts frames between the reader and the handlers so a firehose cannot fill memory.

    The reader can split frames several times faster than handlers run; unchecked, a burst
    waits in memory whole (up to 90 MB for the benchmark's 150,000 events).
    """

    __slots__ = ("limit", "pause", "count", "_room")

    def __init__(self, limit: int, pause: float) -> None:
        self.limit = limit
        self.pause = pause
        self.count = 0
        self._room = threading.Condition(threading.Lock())

    def add(self, n: int) -> None:
        """``n`` more frames queued; past the limit, wait (bounded) for the handlers."""
        with self._room:
            self.count += n
            if self.count > self.limit:
                self._room.wait(self.pause)

    def done(self, n: int) -> None:
        with self._room:
            self.count -= n
            if self.count <= self.limit:
                self._room.notify_all()


class _Once:
    """A receiver that runs its handler for one event only, even with several dispatchers."""

    __slots__ = ("handler", "_gate", "_remove")

    def __init__(self, handler: Handler, remove: Callable[[_Once], None]) -> None:
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


class _Call:
    """A queued client event (``WebSocketConnected``...), dispatched in line with Asterisk's."""

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event


#: The C scanner behind json.loads.  Its wrappers (a whitespace regex, an end check, the
#: bytes encoding guess) took a fifth of decoding an event: 2.74 us -> 2.13 us per event,
#: measured in bench/.  Anything unusual falls back to json.loads for its exact behaviour.
_scan: Callable[[str, int], Tuple[Any, int]] = make_scanner(JSONDecoder())  # type: ignore[arg-type]  # typeshed: a class


def _decode(payload: bytes) -> Optional[Dict[str, Any]]:
    """A text frame's event, or None (logged) when it is not a JSON object."""
    try:
        text = payload.decode()
        try:
            data, end = _scan(text, 0)
        except StopIteration:  # not a JSON value at index 0 (leading whitespace, or garbage)
            data, end = loads(text), len(text)
        if end != len(text) and text[end:].strip():
            data = loads(text)  # raises for the trailing garbage, as json.loads would
    except ValueError:
        log.warning("skipped a frame that is not JSON (%d bytes): %.80r", len(payload), payload)
        return None
    if type(data) is not dict:
        log.warning("skipped a frame that is not a JSON object: %.80r", payload)
        return None
    return data


class _KeyedWork:
    """The concurrent dispatchers' work: one FIFO per resource key, one worker per key at a time.

    Any idle worker takes the next key that has work, so a handler blocked on one call
    never holds up another call's events (a worker per hash bucket would).  A key stays
    claimed until its worker has handled the head item; further items wait behind it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._pending: Dict[Any, Deque[Any]] = {}
        self._ready: Deque[Any] = deque()
        self._stopped = False

    def put_many(self, items: List[Tuple[Any, Any]]) -> None:
        with self._cond:
            pending, ready = self._pending, self._ready
            woken = 0
            for key, item in items:
                queued = pending.get(key)
                if queued is None:
                    pending[key] = deque((item,))
                    ready.append(key)
                    woken += 1
                else:
                    queued.append(item)
            if woken:
                self._cond.notify(woken)

    def take(self) -> Optional[Tuple[Any, Any]]:
        """The next (key, item) to handle; None once stopped and nothing is ready."""
        with self._cond:
            while not self._ready:
                if self._stopped:
                    return None
                self._cond.wait()
            key = self._ready.popleft()
            return key, self._pending[key][0]

    def done(self, key: Any) -> None:
        """The head item of ``key`` was handled: release the key, or queue it again."""
        with self._cond:
            queued = self._pending[key]
            queued.popleft()
            if queued:
                self._ready.append(key)  # behind the others: one busy call cannot starve the rest
                self._cond.notify()
            else:
                del self._pending[key]

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


class Dispatcher:
    """``meta.events``: the listener registry and the dispatcher threads of one client."""

    def __init__(
        self,
        promoter: Promoter,
        *,
        mode: str = "serial",
        workers: int = 4,
        on_handler_error: Optional[ErrorHook] = None,
        backlog_limit: int = BACKLOG_LIMIT,
        backlog_pause: float = BACKLOG_PAUSE,
    ) -> None:
        if mode not in ("serial", "concurrent"):
            raise ValueError(f"dispatch must be 'serial' or 'concurrent', not {mode!r}")
        if workers < 1:
            raise ValueError("dispatch_workers must be >= 1")
        self.promoter = promoter
        self.mode = mode
        self.size = 1 if mode == "serial" else workers
        self.on_handler_error = on_handler_error
        self._ns = blinker.Namespace()
        self._keyed: Dict[Key, Dict[str, blinker.NamedSignal]] = {}
        self._lock = threading.RLock()
        self._queues: List[queue.SimpleQueue] = []  # serial mode: the one dispatcher's inbox
        self._work: Optional[_KeyedWork] = None  # concurrent mode
        self._threads: List[threading.Thread] = []
        self._state = threading.Lock()  # start/stop run once each (websocket-client's teardown lock)
        self.backlog = _Backlog(backlog_limit, backlog_pause)

    # -- the registry ------------------------------------------------------------------
    def add(self, event_type: str, handler: Handler, key: Optional[Key] = None, once: bool = False) -> None:
        """Connect ``handler`` to ``event_type`` for the client (``key`` None) or one resource."""
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        with self._lock:
            signal = self._signal(event_type, key)
            receiver: Handler = _Once(handler, lambda r: self._disconnect(event_type, r, key)) if once else handler
            signal.connect(receiver, weak=False)

    def remove(self, event_type: str, handler: Handler, key: Optional[Key] = None) -> None:
        """Disconnect ``handler`` (added with ``on`` or ``once``); unknown handlers are ignored."""
        with self._lock:
            signal = self._find(event_type, key)
            if signal is None:
                return
            for receiver in tuple(signal.receivers.values()):
                if receiver == handler or (isinstance(receiver, _Once) and receiver.handler == handler):
                    signal.disconnect(receiver)
            self._drop_if_empty(event_type, key, signal)

    def remove_all(self, event_type: Optional[str] = None, key: Optional[Key] = None) -> None:
        """Disconnect every handler of ``event_type`` (every type when None) at one level."""
        with self._lock:
            if key is not None:
                signals = self._keyed.get(key, {})
                for name in [event_type] if event_type is not None else list(signals):
                    signal = signals.get(name)
                    if signal is not None:
                        signal.receivers.clear()
                        self._drop_if_empty(name, key, signal)
                return
            names = [event_type] if event_type is not None else [n for n in self._ns if _SEP not in n]
            for name in names:
                signal = self._ns.pop(name, None)
                if signal is not None:
                    signal.receivers.clear()

    def listeners(self, event_type: str, key: Optional[Key] = None) -> List[Handler]:
        """The handlers connected to ``event_type`` at one level, in the order they were added."""
        signal = self._find(event_type, key)
        if signal is None:
            return []
        return [r.handler if isinstance(r, _Once) else r for r in tuple(signal.receivers.values())]

    def keyed_count(self) -> int:
        """How many resources have instance listeners (tests check nothing leaks)."""
        return len(self._keyed)

    def signal_count(self) -> int:
        return len(self._ns)

    def _signal(self, event_type: str, key: Optional[Key]) -> blinker.NamedSignal:
        if key is None:
            if _SEP in event_type:
                raise ValueError(f"invalid event type {event_type!r}")
            return self._ns.signal(event_type)
        per_key = self._keyed.setdefault(key, {})
        signal = per_key.get(event_type)
        if signal is None:
            signal = per_key[event_type] = self._ns.signal(_SEP.join((event_type, *map(str, key))))
        return signal

    def _find(self, event_type: str, key: Optional[Key]) -> Optional[blinker.NamedSignal]:
        if key is None:
            return self._ns.get(event_type)
        per_key = self._keyed.get(key)
        return per_key.get(event_type) if per_key is not None else None

    def _disconnect(self, event_type: str, receiver: Handler, key: Optional[Key]) -> None:
        with self._lock:
            signal = self._find(event_type, key)
            if signal is not None:
                signal.disconnect(receiver)
                self._drop_if_empty(event_type, key, signal)

    def _drop_if_empty(self, event_type: str, key: Optional[Key], signal: blinker.NamedSignal) -> None:
        if signal.receivers:
            return
        if self._ns.get(signal.name) is signal:
            del self._ns[signal.name]
        if key is not None:
            per_key = self._keyed.get(key)
            if per_key is not None and per_key.get(event_type) is signal:
                del per_key[event_type]
                if not per_key:
                    del self._keyed[key]

    def release(self, key: Key) -> None:
        """Forget every instance listener of one resource (after its terminal event)."""
        with self._lock:
            per_key = self._keyed.pop(key, None)
            if per_key:
                for signal in per_key.values():
                    signal.receivers.clear()
                    if self._ns.get(signal.name) is signal:
                        del self._ns[signal.name]

    # -- dispatching -------------------------------------------------------------------
    def deliver(self, data: Dict[str, Any], received_at: Optional[float] = None) -> None:
        """Dispatch one parsed frame on the calling thread (the dispatcher threads call this)."""
        event_type = data.get("type")
        signal = self._ns.get(event_type)  # type: ignore[arg-type]
        keyed = self._keyed
        if (signal is None or not signal.receivers) and not keyed:
            return  # nobody listens: not even promotion is worth doing
        event, target, instances = self.promoter.promote(data)
        event.received_at = received_at
        args = (event,) if target is None else (event, target)
        if signal is not None:
            self._call(signal, args, event)
        if keyed and instances:
            for instance in instances:
                per_key = keyed.get(instance._key)
                if per_key:
                    scoped = per_key.get(event_type)  # type: ignore[arg-type]
                    if scoped is not None:
                        self._call(scoped, args, event)
            field = TERMINAL.get(event_type)  # type: ignore[arg-type]
            if field is not None:
                ended = data.get(field)
                if ended is not None and not isinstance(ended, dict):
                    self.release(ended._key)

    def emit(self, event: Event) -> None:
        """Dispatch a client event (``WebSocketReconnecting``...) in line with the stream's events."""
        work = self._work
        if self._queues:
            self._queues[0].put(_Call(event))
        elif work is not None:
            work.put_many([(None, _Call(event))])
        else:
            self._emit_now(event)

    def _emit_now(self, event: Event) -> None:
        signal = self._ns.get(event["type"])
        if signal is not None:
            self._call(signal, (event,), event)

    def _call(self, signal: blinker.NamedSignal, args: Tuple[Any, ...], event: Event) -> None:
        # One receiver at a time: blinker's send() would stop at the first that raises.
        for receiver in tuple(signal.receivers.values()):
            try:
                receiver(*args)
            except Exception as exc:
                self._failed(exc, receiver, event, args)

    def _failed(self, exc: Exception, receiver: Handler, event: Event, args: Tuple[Any, ...]) -> None:
        target = args[1] if len(args) > 1 else None
        resource = getattr(target, "_key", None) if target is not None else None
        if resource is None and target is not None:
            resource = [getattr(i, "_key", None) for i in target.values()]
        log.error(
            "handler %r for %s (resource %s) raised",
            getattr(receiver, "handler", receiver),
            event.get("type"),
            resource,
            exc_info=exc,
        )
        hook = self.on_handler_error
        if hook is not None:
            try:
                hook(exc, event)
            except Exception:
                log.exception("on_handler_error hook %r raised", hook)

    # -- threads -----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return bool(self._threads)

    def start(self) -> None:
        """Start the dispatcher thread(s); idempotent."""
        with self._state:
            if self._threads:
                return
            if self.mode == "serial":
                self._queues = [queue.SimpleQueue()]
                targets: List[Tuple[str, Callable[..., None], Any]] = [
                    ("ari-dispatch", self._work_serial, self._queues[0])
                ]
            else:
                self._work = _KeyedWork()
                targets = [(f"ari-dispatch-{n + 1}", self._work_keyed, self._work) for n in range(self.size)]
            for name, target, work in targets:
                thread = threading.Thread(target=target, args=(work,), name=name, daemon=True)
                self._threads.append(thread)
                thread.start()

    def submitter(self) -> Callable[[List[bytes], float], None]:
        """The function the reader calls with each batch of text frames and when they arrived.

        Serial mode decodes the JSON on the dispatcher thread (a backlog holds compact
        bytes, not objects); concurrent mode must decode on the reader to find each
        event's resource.
        """
        backlog = self.backlog
        if self._queues:
            put = self._queues[0].put

            def submit_serial(batch: List[bytes], received_at: float) -> None:
                put((received_at, batch))
                backlog.add(len(batch))

            return submit_serial
        work = self._work
        if work is None:
            raise RuntimeError("the dispatcher is not running")
        route, put_many = self.promoter.route_key, work.put_many

        def submit(batch: List[bytes], received_at: float) -> None:
            items = []
            for payload in batch:
                data = _decode(payload)
                if data is not None:
                    items.append((route(data), (received_at, data)))
            put_many(items)
            backlog.add(len(items))

        return submit

    def stop(self, timeout: float = 1.5) -> None:
        """Let queued events finish, then end the threads; joins with a bound, never itself."""
        with self._state:
            threads, queues, work = self._threads, self._queues, self._work
            self._threads, self._queues, self._work = [], [], None
        for inbox in queues:
            inbox.put(_STOP)
        if work is not None:
            work.stop()
        deadline = time.monotonic() + timeout
        current = threading.current_thread()
        for thread in threads:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    log.warning("%s is still running a handler after %.1fs; left to finish", thread.name, timeout)

    def _work_serial(self, inbox: queue.SimpleQueue) -> None:
        get, deliver, backlog = inbox.get, self.deliver, self.backlog
        while True:
            item = get()
            if type(item) is tuple:
                received_at, batch = item
                for payload in batch:
                    data = _decode(payload)
                    if data is None:
                        continue
                    try:
                        deliver(data, received_at)
                    except Exception:  # a bug here must not leave the application deaf
                        log.exception("dispatching %s failed", data.get("type"))
                backlog.done(len(batch))
            elif item is _STOP:
                return
            else:
                self._run_call(item)

    def _work_keyed(self, work: _KeyedWork) -> None:
        deliver, backlog = self.deliver, self.backlog
        while True:
            taken = work.take()
            if taken is None:
                return
            key, item = taken
            try:
                if type(item) is tuple:
                    deliver(item[1], item[0])
                else:
                    self._run_call(item)
            except Exception:  # a bug here must not leave the application deaf
                log.exception("dispatching an event about %s failed", key)
            finally:
                work.done(key)
                if type(item) is tuple:
                    backlog.done(1)

    def _run_call(self, call: _Call) -> None:
        try:
            self._emit_now(call.event)
        except Exception:
            log.exception("dispatching %s failed", call.event.get("type"))


__all__ = ["TERMINAL", "Dispatcher"]
