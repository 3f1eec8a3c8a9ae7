"""Dispatch for one client: the threads that call handlers, the backlog before them, delivery.

Its one job: take the text frames the reader hands over (``Sink.submit``) and the client's
own events (``Sink.emit``), and call the listeners that ``listeners.Listeners`` holds, from
dispatcher threads, in order, one receiver at a time with every exception isolated.
Serial mode runs every event on one ``ari-dispatch`` thread in arrival order; concurrent
mode runs a bounded pool (``ari-dispatch-N``) where any idle worker takes the next resource
that has events, one worker per resource at a time, so each resource's events stay in
order while different calls proceed in parallel.  After an event that ends a resource
(``events.ENDS``) its instance listeners are released.

The backlog between the reader and the handlers is bounded in frames and bytes.  When it is
full the reader waits (``Sink.submit`` blocks, so the socket stops being read and TCP pushes
back on Asterisk) for at most ``backlog_wait`` seconds a read, then lets one more read in so
pongs and answers to REST calls still arrive; past twice the bound, frames are dropped,
counted and logged.  While full, ``Sink.saturated`` is true and the client sends ``auto``
REST calls over HTTP (an answer on the socket would queue behind the backlog).

Nothing a handler raises, ``SystemExit`` and ``KeyboardInterrupt`` included, ends a
dispatcher thread.  It is reported to ``on_handler_error`` if given, else to the ``ari``
logger when the application configured logging, else to stderr as ``threading.excepthook``
does.  After ``stop()`` returns no handler starts: what was queued is dropped and counted.

It must not read sockets or split frames (stream.py does), hold listeners (listeners.py
does), nor know the shape of events beyond what ``events.Promoter`` tells it.
"""

from __future__ import annotations

import enum
import logging
import queue
import sys
import threading
import time
import traceback
from collections import OrderedDict, deque
from json import JSONDecoder, loads
from json.scanner import make_scanner
from typing import Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Tuple

from .events import ENDS, ENDS_GRACE, Event, Promoter
from .listeners import EVERY, Handler, Key, Listeners, handler_of
from .resources import Resource
from .threads import join_by

log = logging.getLogger(__name__)

ErrorHook = Callable[[BaseException, Event], Any]
#: Given the resources that have listeners, those that no longer exist (asked after a reconnect).
Sweep = Callable[[List[Key]], Iterable[Key]]

#: Frames waiting for the handlers beyond which the reader waits (TCP backpressure).
BACKLOG_FRAMES = 10_000
#: Bytes of frames waiting for the handlers beyond which the reader waits.
BACKLOG_BYTES = 16 * 1024 * 1024
#: The longest the reader waits per socket read: it must go on reading pongs and REST answers.
BACKLOG_WAIT = 1.0
#: Past this multiple of the bounds, frames that arrive are dropped (handlers are stuck).
BACKLOG_HARD = 2
#: What a decoded event holds in memory per byte of its JSON (measured on Asterisk 22's events
#: with tracemalloc: 2,900 bytes for 414).  Concurrent mode queues decoded events, so it counts
#: them at this weight: the bytes bound then bounds memory in both modes.
DECODED_WEIGHT = 7

_STOP = object()
_NO_KEY = object()  # _KeyedWork.take: no key finished (None is a key: the client's own events)


class DispatchState(enum.Enum):
    """Where a dispatcher is in its life: it may run again after a stop."""

    IDLE = "idle"
    RUNNING = "running"
    STOPPING = "stopping"


class Backlog:
    """Frames and bytes between the reader and the handlers, with a bound and a policy for it.

    The reader splits frames several times faster than handlers run; unchecked, a burst or a
    stuck handler would hold the whole stream in memory.
    """

    def __init__(
        self,
        frames: int = BACKLOG_FRAMES,
        size: int = BACKLOG_BYTES,
        wait: float = BACKLOG_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if frames < 1 or size < 1 or wait < 0:
            raise ValueError("backlog bounds must be positive")
        self.frames_limit = frames
        self.bytes_limit = size
        self.wait = wait
        self.count = 0
        self.size = 0
        #: frames dropped: beyond the hard bound, or queued when the dispatcher stopped
        self.dropped = 0
        self._clock = clock
        # done() runs per event in concurrent mode: it takes the lock itself (a C context
        # manager, not the Condition's Python one) and notifies only when the reader waits.
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._waiting = 0
        self._closed = False
        self._full_since: Optional[float] = None
        self._dropped_in_episode = 0

    @property
    def saturated(self) -> bool:
        return self.count >= self.frames_limit or self.size >= self.bytes_limit

    def add(self, frames: int, size: int) -> bool:
        """``frames`` frames of ``size`` bytes arrive: wait (bounded) while full; False if dropped."""
        with self._room:
            if self._closed:
                self.dropped += frames
                return False
            if self.saturated:
                self._note_full()
                deadline = self._clock() + self.wait
                while self.saturated and not self._closed:
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        break
                    self._waiting += 1
                    try:
                        self._room.wait(remaining)
                    finally:
                        self._waiting -= 1
                if self._closed:
                    self.dropped += frames
                    return False
                hard = BACKLOG_HARD
                if self.count + frames > hard * self.frames_limit or self.size + size > hard * self.bytes_limit:
                    if not self._dropped_in_episode:
                        log.warning(
                            "event backlog at %d frames, %d bytes (twice its bound): handlers are stuck; "
                            "dropping new events until they catch up",
                            self.count,
                            self.size,
                        )
                    self.dropped += frames
                    self._dropped_in_episode += frames
                    return False
            self.count += frames
            self.size += size
            return True

    def done(self, frames: int, size: int) -> None:
        with self._lock:
            self.count -= frames
            self.size -= size
            if self._waiting or self._full_since is not None:
                if self.count < self.frames_limit and self.size < self.bytes_limit:  # not saturated
                    self._room.notify_all()
                    if self._full_since is not None:
                        self._note_relieved()

    def close(self) -> int:
        """No more frames: wake a waiting reader; return how many frames were still waiting."""
        with self._room:
            self._closed = True
            self._room.notify_all()
            return self.count

    def note_dropped(self, frames: int) -> None:
        with self._room:
            self.dropped += frames

    def _note_full(self) -> None:
        if self._full_since is None:
            self._full_since = self._clock()
            log.warning(
                "event backlog full (%d frames, %d bytes; bounds %d, %d): the reader waits for the handlers "
                "and REST calls go over HTTP meanwhile",
                self.count,
                self.size,
                self.frames_limit,
                self.bytes_limit,
            )

    def _note_relieved(self) -> None:
        assert self._full_since is not None
        log.info(
            "event backlog under its bound again after %.1fs (%d events dropped meanwhile)",
            self._clock() - self._full_since,
            self._dropped_in_episode,
        )
        self._full_since = None
        self._dropped_in_episode = 0


class Sink:
    """What the event stream hands frames and client events to (seam 1 of the core)."""

    __slots__ = ("submit", "emit", "_backlog")

    def __init__(
        self, submit: Callable[[List[bytes], float], None], emit: Callable[[Event], None], backlog: Backlog
    ) -> None:
        #: ``submit(batch, received_at)``: text frames of one socket read; may block (bounded)
        self.submit = submit
        #: ``emit(event)``: a client event (``WebSocketConnected``...), in line with the frames
        self.emit = emit
        self._backlog = backlog

    @property
    def saturated(self) -> bool:
        """True while the backlog is full: REST answers on the socket would wait behind it."""
        return self._backlog.saturated


class _Call:
    """A queued client event (``WebSocketConnected``...), dispatched in line with Asterisk's."""

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event


#: The C scanner behind json.loads.  Its wrappers (a whitespace regex, an end check, the
#: bytes encoding guess) took a fifth of decoding an event: 2.74 us -> 2.13 us per event,
#: measured in bench/.  Anything unusual falls back to json.loads for its exact behaviour.
_scan: Callable[[str, int], Tuple[Any, int]] = make_scanner(JSONDecoder())  # type: ignore[arg-type]  # typeshed: a class


Parse = Callable[[bytes], Any]


def fast_loads() -> Optional[Parse]:
    """orjson's parser when installed (``pip install ari[speed]``), else None.

    It takes an event in 1.5 us against 3.9 for json's scanner (bench/eventpath.py) and answers
    the same (tests/unit/test_dispatch.py).  Imported when a dispatcher starts, not with ari
    (4 ms at connect otherwise).
    """
    try:
        from orjson import loads
    except ImportError:
        return None
    return loads


def _parse(payload: bytes, fast: Optional[Parse]) -> Any:
    """The JSON value of a frame; raises ``ValueError`` exactly when ``json.loads`` would."""
    if fast is not None:
        try:
            return fast(payload)
        except ValueError:
            pass  # what orjson refuses (NaN, integers past 64 bits...) gets json's own verdict
    text = payload.decode()
    try:
        data, end = _scan(text, 0)
    except StopIteration:  # not a JSON value at index 0 (leading whitespace, or garbage)
        data, end = loads(text), len(text)
    if end != len(text) and text[end:].strip():
        data = loads(text)  # raises for the trailing garbage, as json.loads would
    return data


def _json_parse(payload: bytes) -> Any:
    return _parse(payload, None)


def _skipped(data: Dict[str, Any], exc: BaseException) -> None:
    log.warning("skipped an event %s: %r", data.get("type"), exc, exc_info=not isinstance(exc, ValueError))


def _decode(payload: bytes, fast: Optional[Parse] = None) -> Optional[Dict[str, Any]]:
    """A text frame's event, or None (logged) when it is not a JSON object with a string type.

    ``fast``: orjson's parser (``fast_loads()``), or None for json's alone.
    """
    try:
        data = _parse(payload, fast)
    except ValueError:
        log.warning("skipped a frame that is not JSON (%d bytes): %.80r", len(payload), payload)
        return None
    if type(data) is not dict:
        log.warning("skipped a frame that is not a JSON object: %.80r", payload)
        return None
    if type(data.get("type")) is not str:
        log.warning("skipped an event whose type is not a string: %.80r", payload)
        return None
    return data


class _KeyedWork:
    """The concurrent dispatchers' work: one FIFO per resource key, one worker per key at a time.

    Any idle worker takes the next key that has work, so a handler blocked on one call
    never holds up another call's events (a worker per hash bucket would).  A key stays
    claimed until its worker has handled the head item; further items wait behind it.

    New work wakes the worker that went idle last (a stack of sleeping workers, not a
    condition's queue, which wakes the one asleep longest): the pool then runs on as few
    hot threads as the load needs.  With 8 workers on a real Asterisk the queue's order
    took each event to another worker, 61 context switches a call against 25 with 2
    (bench/README.rst).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Dict[Any, Deque[Any]] = {}
        self._ready: Deque[Any] = deque()
        self._idle: List[threading.Lock] = []  # each sleeping worker's gate, the latest last
        self._stopped = False

    @property
    def busy_keys(self) -> Mapping[Any, Any]:
        """Keys with an item queued or being handled: a live view, read without the lock by
        the submitter (one at a time: the stream's read token), which alone adds keys."""
        return self._pending

    def _wake(self, count: int) -> None:
        # Under self._lock.  A gate released before its worker blocks on it just lets it through.
        idle = self._idle
        while count and idle:
            idle.pop().release()
            count -= 1

    def put_many(self, items: List[Tuple[Any, Any]]) -> None:
        with self._lock:
            if self._stopped:
                return
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
                self._wake(woken)

    def take(self, gate: threading.Lock, finished: Any = _NO_KEY) -> Optional[Tuple[Any, Any]]:
        """Release ``finished`` (the key whose head item the caller has handled, if any) and
        return the next (key, item) to handle, sleeping on ``gate`` (the caller's own lock,
        held) while there is none; None once stopped.  One lock round per event, not two."""
        while True:
            with self._lock:
                if finished is not _NO_KEY:
                    self._finish(finished)
                    finished = _NO_KEY
                if self._stopped:
                    return None
                if self._ready:
                    key = self._ready.popleft()
                    return key, self._pending[key][0]
                self._idle.append(gate)
            gate.acquire()  # until put_many or stop releases it

    def _finish(self, key: Any) -> None:
        # Under self._lock: the head item of ``key`` was handled; release the key, or queue it again.
        queued = self._pending.get(key)
        if queued is None:  # dropped by stop() meanwhile
            return
        queued.popleft()
        if queued:
            # Behind the others: one busy call cannot starve the rest.  No wake: the worker
            # finishing it takes work next, and every other ready key woke one when queued.
            self._ready.append(key)
        else:
            del self._pending[key]

    def stop(self) -> int:
        """Stop taking work; return how many items were dropped (a running one is not counted)."""
        with self._lock:
            self._stopped = True
            dropped = sum(len(q) for q in self._pending.values()) - (
                len(self._pending) - len(self._ready)  # keys claimed by a worker: their head runs
            )
            self._pending.clear()
            self._ready.clear()
            self._wake(len(self._idle))
            return dropped


class _Endings:
    """Resources whose end is deferred (a channel's StasisEnd), released unless seen again."""

    def __init__(self, grace: float, clock: Callable[[], float]) -> None:
        self.grace = grace
        self._clock = clock
        #: key -> when its listeners go; read unlocked per event (empty almost always)
        self.due: OrderedDict[Key, float] = OrderedDict()
        self._lock = threading.Lock()

    def defer(self, key: Key) -> None:
        with self._lock:
            self.due.pop(key, None)
            self.due[key] = self._clock() + self.grace

    def cancel(self, key: Key) -> None:
        with self._lock:
            self.due.pop(key, None)

    def expired(self) -> List[Key]:
        now = self._clock()
        gone: List[Key] = []
        with self._lock:
            due = self.due
            while due:
                key, when = next(iter(due.items()))
                if when > now:
                    break
                del due[key]
                gone.append(key)
        return gone


class _Run:
    """One start-to-stop of the dispatcher: its queues, threads and backlog."""

    __slots__ = ("inbox", "work", "threads", "backlog", "halted", "retired", "sink", "fast")

    def __init__(self, backlog: Backlog, fast: Optional[Parse] = None) -> None:
        self.inbox: Optional[queue.SimpleQueue] = None  # serial mode
        self.work: Optional[_KeyedWork] = None  # concurrent mode
        self.threads: List[threading.Thread] = []
        self.backlog = backlog
        self.halted = False
        self.retired = False  # stop() has added its backlog's drops to the dispatcher's count
        self.sink: Optional[Sink] = None
        self.fast = fast  # orjson's parser, when installed


def _logging_configured(logger: logging.Logger) -> bool:
    """Whether records of ``logger`` reach a handler the application set (not just a NullHandler)."""
    current: Optional[logging.Logger] = logger
    while current is not None:
        if any(not isinstance(h, logging.NullHandler) for h in current.handlers):
            return True
        if not current.propagate:
            return False
        current = current.parent
    return False


class Dispatcher:
    """The dispatcher threads of one client, delivering to its ``Listeners``."""

    def __init__(
        self,
        listeners: Listeners,
        promoter: Promoter,
        *,
        mode: str = "serial",
        workers: int = 4,
        on_handler_error: Optional[ErrorHook] = None,
        backlog_frames: int = BACKLOG_FRAMES,
        backlog_bytes: int = BACKLOG_BYTES,
        backlog_wait: float = BACKLOG_WAIT,
        sweep: Optional[Sweep] = None,
        grace: float = ENDS_GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_mode(mode, workers)
        self.listeners = listeners
        self._by_type = listeners.by_type
        self._by_key = listeners.by_key
        self.promoter = promoter
        self._promote = promoter.promote
        self.mode = mode
        self.size = 1 if mode == "serial" else workers
        self.on_handler_error = on_handler_error
        self.sweep = sweep
        self._backlog_options = (backlog_frames, backlog_bytes, backlog_wait, clock)
        Backlog(*self._backlog_options)  # checks the bounds now
        self._endings = _Endings(grace, clock)
        self._due = self._endings.due  # a live view: empty almost always
        self._lock = threading.Lock()  # start and stop run once each (websocket-client's teardown lock)
        self._run: Optional[_Run] = None
        self._halted = False
        self.state = DispatchState.IDLE
        #: frames dropped in earlier runs (a run's own count is in its backlog)
        self._dropped_before = 0

    # -- delivery ------------------------------------------------------------------------
    def deliver(self, data: Dict[str, Any], received_at: Optional[float] = None) -> None:
        """Dispatch one decoded event on the calling thread (the dispatcher threads call this).

        Raises ``events.OddEvent`` for an event whose resource fields are not objects.
        """
        # The per-event path: live views read without a call (the handler lists, whether any
        # resource has listeners, the deferred ends), the common case's handler loop inline.
        event_type = data["type"]
        by_type = self._by_type
        receivers = by_type.get(event_type, ())
        every = by_type.get(EVERY, ())
        keyed = self._by_key
        if not receivers and not every and not keyed:
            return  # nobody listens: not even promotion is worth doing
        event, target, instances = self._promote(data)
        event.received_at = received_at
        args = (event,) if target is None else (event, target)
        if receivers:
            for receiver in receivers:
                if self._halted:
                    return  # stop() returned or is returning: no handler starts
                try:
                    receiver(*args)
                except BaseException as exc:  # SystemExit and KeyboardInterrupt too: dispatch goes on
                    self._report(exc, receiver, event, args)
        if every:
            self._call(every, (event,), event)
        if instances and keyed:
            self._deliver_keyed(event_type, data, instances, args, event)
        if self._due:
            for key in self._endings.expired():
                self.listeners.release(key)

    def _deliver_keyed(
        self,
        event_type: str,
        data: Dict[str, Any],
        instances: Tuple[Resource, ...],
        args: Tuple[Any, ...],
        event: Event,
    ) -> None:
        listeners, endings = self.listeners, self._endings
        end = ENDS.get(event_type)
        for instance in instances:
            key = instance._key
            scoped = listeners.keyed_receivers(key, event_type)
            if scoped is None:
                continue
            listeners.mark_seen(key)
            if endings.due and (end is None or not end.deferred):
                endings.cancel(key)  # an event about it: the application still sees it
            if scoped:
                self._call(scoped, args, event)
        if end is not None:
            ended = data.get(end.field)
            if isinstance(ended, Resource) and listeners.has(ended._key):
                if end.deferred:
                    endings.defer(ended._key)
                else:
                    endings.cancel(ended._key)
                    listeners.release(ended._key)

    def emit(self, event: Event) -> None:
        """Dispatch a client event (``WebSocketReconnecting``...) in line with the stream's events."""
        run = self._run
        if run is None:
            if not self._halted:
                self._emit_now(event)
            return
        if run.halted:
            return
        if run.inbox is not None:
            run.inbox.put(_Call(event))
        elif run.work is not None:
            run.work.put_many([(None, _Call(event))])

    def _emit_now(self, event: Event) -> None:
        event_type = event["type"]
        receivers = self.listeners.receivers(event_type)
        if receivers:
            self._call(receivers, (event,), event)
        every = self.listeners.receivers(EVERY)
        if every:
            self._call(every, (event,), event)
        if event_type == "WebSocketConnected" and event.get("reconnected") and self.sweep is not None:
            self._sweep()

    def _sweep(self) -> None:
        """After a reconnect: release the listeners of resources that ended while the socket was down."""
        listeners = self.listeners
        keys = listeners.seen_keys()
        if not keys or self.sweep is None:
            return
        try:
            gone = list(self.sweep(keys))
        except Exception as exc:  # a failed check leaves the listeners; the next end releases them
            log.info("could not check which resources ended while the event socket was down: %s", exc)
            return
        for key in gone:
            self._endings.cancel(key)
            listeners.release(key)
        if gone:
            log.info("released the listeners of %d resources that ended while the event socket was down", len(gone))

    def _call(self, receivers: Tuple[Handler, ...], args: Tuple[Any, ...], event: Event) -> None:
        # One receiver at a time: blinker's send() would stop at the first that raises.
        for receiver in receivers:
            if self._halted:
                return  # stop() returned or is returning: no handler starts
            try:
                receiver(*args)
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: dispatch goes on
                self._report(exc, receiver, event, args)

    def _report(self, exc: BaseException, receiver: Handler, event: Event, args: Tuple[Any, ...]) -> None:
        hook = self.on_handler_error
        if hook is not None:
            try:
                hook(exc, event)
                return
            except BaseException as hook_exc:
                exc, receiver = hook_exc, hook
        target = args[1] if len(args) > 1 else None
        resource: Any = getattr(target, "_key", None) if target is not None else None
        if resource is None and target is not None:
            resource = [getattr(i, "_key", None) for i in target.values()]
        what = f"handler {handler_of(receiver)!r} for {event.get('type')} (resource {resource})"
        if _logging_configured(log):
            log.error("%s raised", what, exc_info=exc)
            return
        stream = sys.stderr
        if stream is None:  # pythonw: nowhere to write, as threading.excepthook
            return
        try:
            stream.write(f"Exception in {what} on thread {threading.current_thread().name}:\n")
            stream.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            stream.flush()
        except Exception:  # a broken stderr must not end dispatch either
            pass

    # -- threads -------------------------------------------------------------------------
    @property
    def saturated(self) -> bool:
        run = self._run
        return run is not None and run.backlog.saturated

    @property
    def dropped(self) -> int:
        """Frames dropped so far: queued when the dispatcher stopped, or beyond the backlog's hard bound."""
        run = self._run
        return self._dropped_before + (run.backlog.dropped if run is not None else 0)

    @property
    def backlog(self) -> Optional[Backlog]:
        run = self._run
        return run.backlog if run is not None else None

    def start(self) -> Sink:
        """Start the dispatcher thread(s) and return the sink for the stream; idempotent."""
        with self._lock:
            if self._run is not None:
                assert self._run.sink is not None
                return self._run.sink
            run = _Run(Backlog(*self._backlog_options), fast_loads())
            if self.mode == "serial":
                run.inbox = queue.SimpleQueue()
                targets: List[Tuple[str, Callable[[_Run], None]]] = [("ari-dispatch", self._work_serial)]
            else:
                run.work = _KeyedWork()
                targets = [(f"ari-dispatch-{n + 1}", self._work_keyed) for n in range(self.size)]
            run.sink = Sink(self._submitter(run), self.emit, run.backlog)
            self._halted = False
            self._run = run
            self.state = DispatchState.RUNNING
            for name, target in targets:
                thread = threading.Thread(target=target, args=(run,), name=name, daemon=True)
                run.threads.append(thread)
                thread.start()
            return run.sink

    def sink(self) -> Sink:
        """The running dispatcher's sink: ``submit``, ``emit``, ``saturated``."""
        run = self._run
        if run is None or run.sink is None:
            raise RuntimeError("the dispatcher is not running")
        return run.sink

    def _submitter(self, run: _Run) -> Callable[[List[bytes], float], None]:
        """The function the reader calls with each batch of text frames and when they arrived.

        Serial mode decodes the JSON on the dispatcher thread (a backlog holds compact
        bytes, not objects); concurrent mode must decode on the reader to find each
        event's resource.  Neither raises: an odd event is skipped and logged.
        """
        backlog = run.backlog
        if run.inbox is not None:
            put = run.inbox.put

            def submit_serial(batch: List[bytes], received_at: float) -> None:
                size = sum(map(len, batch))
                if backlog.add(len(batch), size):
                    put((received_at, batch, size))

            return submit_serial
        work = run.work
        assert work is not None
        route, put_many, fast = self.promoter.route_key, work.put_many, run.fast
        parse = fast if fast is not None else _json_parse
        by_type, by_key, busy = self._by_type, self._by_key, work.busy_keys

        def submit(batch: List[bytes], received_at: float) -> None:
            items = []
            size = 0
            for payload in batch:
                try:
                    try:  # the common case inline, as _work_serial
                        data = parse(payload)
                    except ValueError:
                        data = None
                    if type(data) is not dict or type(data.get("type")) is not str:
                        data = _decode(payload, fast)
                        if data is None:
                            continue
                    key = route(data)
                except Exception as exc:  # never raised on the reader: it would take it for a lost socket
                    log.warning("skipped an event: %s", exc)
                    continue
                if not by_key and data["type"] not in by_type and EVERY not in by_type and key not in busy:
                    # Nobody listens (``deliver`` would return at once): waking a worker for it
                    # is most of what it costs (a call on Asterisk brings 17 events; apps
                    # listen to a few).  An event about a resource whose handlers run or wait
                    # is kept: a handler may be adding the listener the events behind it need.
                    continue
                n = len(payload) * DECODED_WEIGHT
                items.append((key, (received_at, data, n)))
                size += n
            if items and backlog.add(len(items), size):
                put_many(items)

        return submit

    def stop(self, timeout: float = 1.5) -> None:
        """Drop what is queued, end the threads; joins with a bound, never itself.

        Once it returns no handler starts (one running may finish).
        """
        with self._lock:
            run = self._run
            if run is None:
                return
            self._run = None
            self.state = DispatchState.STOPPING
            run.halted = self._halted = True
        dropped = 0
        if run.inbox is not None:
            while True:
                try:
                    item = run.inbox.get_nowait()
                except queue.Empty:
                    break
                if type(item) is tuple:
                    dropped += len(item[1])
            run.inbox.put(_STOP)
        if run.work is not None:
            dropped += run.work.stop()
        run.backlog.close()
        run.backlog.note_dropped(dropped)
        if dropped:
            log.warning("dropped %d events queued for the handlers: the client stopped", dropped)
        for thread in join_by(run.threads, time.monotonic() + timeout):
            log.warning("%s is still running a handler after %.1fs; left to finish", thread.name, timeout)
        with self._lock:
            self._dropped_before += run.backlog.dropped
            run.retired = True
            if self._run is None:
                self.state = DispatchState.IDLE

    def _work_serial(self, run: _Run) -> None:
        inbox = run.inbox
        assert inbox is not None
        get, deliver, backlog, fast = inbox.get, self.deliver, run.backlog, run.fast
        parse = fast if fast is not None else _json_parse
        while True:
            item = get()
            if item is _STOP:
                return
            if run.halted:
                continue
            if type(item) is not tuple:
                self._run_call(item)
                continue
            received_at, batch, size = item
            try:
                index = 0
                for payload in batch:
                    if run.halted:
                        self._drop_rest(run, len(batch) - index)
                        break
                    index += 1
                    # The common case inline (a call per step costs as much as the step);
                    # anything else gets _decode's exact verdict and its log line.
                    try:
                        data = parse(payload)
                    except ValueError:
                        data = None
                    if type(data) is not dict or type(data.get("type")) is not str:
                        data = _decode(payload, fast)
                        if data is None:
                            continue
                    try:
                        deliver(data, received_at)
                    except BaseException as exc:  # an odd event (or a bug here) must not leave the application deaf
                        _skipped(data, exc)
            finally:
                backlog.done(len(batch), size)

    def _drop_rest(self, run: _Run, frames: int) -> None:
        """The rest of a batch whose handler was running when stop() came: dropped and counted,
        whether stop() has already totted up (a handler outlasting its join) or not."""
        with self._lock:
            run.backlog.note_dropped(frames)
            if run.retired:
                self._dropped_before += frames
        log.warning("dropped %d more events of the batch under way: the client stopped", frames)

    def _work_keyed(self, run: _Run) -> None:
        work = run.work
        assert work is not None
        deliver, backlog, take = self.deliver, run.backlog, work.take
        gate = threading.Lock()  # this worker sleeps on it while there is no work
        gate.acquire()
        finished: Any = _NO_KEY
        while True:
            taken = take(gate, finished)
            if taken is None:
                return
            finished, item = taken  # its key is released by the next take
            try:
                if run.halted:
                    continue
                if type(item) is tuple:
                    self._deliver_safely(deliver, item[1], item[0])
                else:
                    self._run_call(item)
            finally:
                if type(item) is tuple:
                    backlog.done(1, item[2])

    @staticmethod
    def _deliver_safely(deliver: Callable[..., None], data: Dict[str, Any], received_at: float) -> None:
        try:
            deliver(data, received_at)
        except BaseException as exc:  # an odd event (or a bug here) must not leave the application deaf
            _skipped(data, exc)

    def _run_call(self, call: _Call) -> None:
        try:
            self._emit_now(call.event)
        except BaseException:
            log.exception("dispatching %s failed", call.event.get("type"))


def check_mode(mode: str, workers: int) -> None:
    """Raise ``ValueError`` for dispatch options no dispatcher takes (at connect, before any thread)."""
    if mode not in ("serial", "concurrent"):
        raise ValueError(f"dispatch must be 'serial' or 'concurrent', not {mode!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"dispatch_workers must be an int >= 1, not {workers!r}")


__all__ = ["Backlog", "DispatchState", "Dispatcher", "Sink", "check_mode"]
