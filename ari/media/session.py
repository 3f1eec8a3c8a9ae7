"""A call's media as Python objects: frames in, paced audio out, marks, events, one lifecycle.

Its one job is what every media transport shares: the queue of received frames (an iterator,
or a callback per frame on a handler thread), the pump that cuts ``send()``'s bytes into
frames and paces them at ``ptime`` (holding while the far end said MEDIA_XOFF, never
dropping), marks, the events (DTMF_END, ERROR, hangup...) and closing once; and
``LoopSession``, a session whose socket and pump a ``MediaLoop`` (``loop.py``) serves.  It
must not speak a protocol: a transport (``websocket.py``, ``udp.py``) subclasses it and
implements ``_on_readable``, ``_write_audio`` and its closing.

Threads, all daemons named ``ari-media-*`` and ended by ``close()``: the loop's (its own, or
one shared by every session given the same ``MediaLoop``: the sockets and the pacing) and a
handler thread, started when the first callback is registered.  No user callback runs on the
loop's thread.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
import time
import wave
from typing import Any, Callable, Deque, Dict, Iterator, List, NamedTuple, Optional, Union

from ..errors import MediaError
from ..threads import join_by
from .codecs import Codec, Converter
from .loop import MediaLoop

log = logging.getLogger(__name__)

#: Asterisk's chan_websocket queue levels (QUEUE_LENGTH_XOFF_LEVEL / _XON_LEVEL / _MAX)
XOFF_LEVEL, XON_LEVEL, QUEUE_MAX = 900, 800, 1000


class Frame(NamedTuple):
    """One frame of received audio."""

    data: bytes  # raw codec bytes in the session's format (signed linear: native byte order)
    number: int  # frames received before this one
    time: float  # media time in seconds: where this frame starts in the received stream
    received: float  # time.monotonic() when it arrived


class MediaEvent(NamedTuple):
    """A control message from the far end, or the session's own ``CLOSED``.

    ``name`` is Asterisk's (``DTMF_END``, ``ERROR``, ``MEDIA_XOFF``, ``MEDIA_XON``,
    ``MEDIA_MARK_PROCESSED``, ``MEDIA_BUFFERING_COMPLETED``, ``QUEUE_DRAINED``, ``STATUS``)
    or ``CLOSED`` (``fields``: ``code``, ``reason``, ``by`` = ``local`` | ``remote``);
    ``fields`` holds its ``key:value`` parts (or JSON members) as strings, ``text`` the frame.
    """

    name: str
    fields: Dict[str, Any]
    text: str = ""

    @property
    def digit(self) -> Optional[str]:
        return self.fields.get("digit")


class Mark:
    """A point in the sent audio; ``wait()`` returns once everything before it has played."""

    def __init__(self, name: str, callback: Optional[Callable[[Mark], Any]]) -> None:
        self.name = name
        self.callback = callback
        self.sent_at: Optional[float] = None  # monotonic: the writer passed it on
        self.played_at: Optional[float] = None  # monotonic: the far end said it played
        self._done = threading.Event()

    @property
    def played(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        return self._done.wait(timeout)

    def __repr__(self) -> str:
        return f"<Mark {self.name!r} {'played' if self.played else 'pending'}>"


class _Stop:
    """End of the handler queue."""


Handler = Callable[..., Any]


class MediaSession:
    """The media of one call (``channel``), in ``codec`` frames of ``frame_size`` bytes every ``ptime`` ms.

    Read by iterating (``for frame in media``) or ``read()``, or with ``on_audio(callback)``;
    write with ``send(bytes)`` (any length), ``play_wav(path)``, ``mark()``; events with
    ``on(name, callback)``.  ``close()`` (or leaving the ``with`` block) hangs the call up.
    """

    #: frames sent ahead of real time, so the far end's queue never runs dry; raise it to burst
    lead = 3
    #: the most frames ever ahead of real time, whatever ``lead`` says: Asterisk's MEDIA_XOFF comes
    #: back too late to stop a burst (the frames are on the wire by then) and it drops frames at 1000
    max_ahead = XOFF_LEVEL - 50
    #: frames kept for the iterator before the oldest are dropped (60 s at 20 ms)
    backlog = 3000

    def __init__(self, channel: Any, codec: Codec, ptime: int, frame_size: int, name: str) -> None:
        self.channel = channel
        self.codec = codec
        self.ptime = ptime
        self.frame_size = frame_size
        self._name = name
        self._mutex = threading.Lock()
        self._lock = threading.Condition(self._mutex)  # received frames, closing
        self._writable = threading.Condition(self._mutex)  # kicked: queued audio, XON, resume, closing
        self._frames: Deque[Frame] = collections.deque(maxlen=self.backlog)
        self.frames_received = 0
        self.frames_sent = 0
        self.frames_dropped = 0  # received frames the iterator lost because nobody read them
        self.xoff_count = 0
        self._received_bytes = 0
        # writer
        self._out: Deque[Union[bytes, Mark]] = collections.deque()
        self._partial = bytearray()
        self._xoff = False
        self._paused = False
        self._paused_at = 0.0
        self._held = 0.0  # seconds the far end held its queue (paused) that the writer has not counted yet
        self._restart = False  # the far end's queue was flushed: the next frame starts a new run
        self._staged: Union[bytes, Mark, None] = None  # the next item, waiting for its time
        self._run_start = 0.0  # when the current run of frames began (the far end's queue never ran dry)
        self._run_frames = 0
        self._tail_since: Optional[float] = None
        self._kicked = False
        self._writer: Optional[threading.Thread] = None
        self._marks: Dict[str, List[Mark]] = {}
        self._mark_ids = itertools.count(1)
        # handlers
        self._audio_handlers: List[Handler] = []
        self._handlers: Dict[str, List[Handler]] = {}
        self._handler_queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._handler_thread: Optional[threading.Thread] = None
        self._waiters: Dict[str, List[Callable[[MediaEvent], None]]] = {}
        self._closed = False
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self.on_handler_error: Optional[Callable[[BaseException], Any]] = None

    # -- facts ----------------------------------------------------------------------------

    @property
    def format(self) -> str:
        return self.codec.name

    @property
    def sample_rate(self) -> int:
        return self.codec.rate

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        channel = getattr(self.channel, "id", self.channel)
        return f"<{type(self).__name__} {channel} {self.codec.name} {self.ptime}ms {state}>"

    # -- reading --------------------------------------------------------------------------

    def _received(self, data: bytes) -> None:
        """A transport's reader got one frame of audio."""
        now = time.monotonic()
        with self._lock:
            frame = Frame(data, self.frames_received, self.codec.duration(self._received_bytes), now)
            self.frames_received += 1
            self._received_bytes += len(data)
            if len(self._frames) == self._frames.maxlen:
                self.frames_dropped += 1
                if self.frames_dropped == 1:
                    log.warning("%r: received audio is not being read; dropping the oldest frames", self)
            self._frames.append(frame)
            self._lock.notify_all()
        if self._audio_handlers:
            self._handler_queue.put((self._audio_handlers, frame))

    def read(self, timeout: Optional[float] = None) -> Optional[Frame]:
        """The next received frame; None once the media is closed and every frame was read, or on timeout."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._frames or self._closed, timeout):
                return None
            return self._frames.popleft() if self._frames else None

    def __iter__(self) -> Iterator[Frame]:
        """Received frames until the media closes."""
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def on_audio(self, callback: Callable[[Frame], Any]) -> Callable[[Frame], Any]:
        """Call ``callback(frame)`` for every received frame, in order, on the handler thread."""
        self._audio_handlers = [*self._audio_handlers, callback]
        self._start_handlers()
        return callback

    # -- events ---------------------------------------------------------------------------

    def on(self, name: str, callback: Callable[[MediaEvent], Any]) -> Callable[[MediaEvent], Any]:
        """Call ``callback(event)`` for each ``name`` event (``DTMF_END``, ``ERROR``, ``CLOSED``, ...)."""
        with self._lock:
            self._handlers[name] = [*self._handlers.get(name, []), callback]
        self._start_handlers()
        return callback

    def _event(self, event: MediaEvent) -> None:
        """A transport's reader got a control message: act on it, then hand it to the handlers."""
        name = event.name
        if name == "MEDIA_XOFF":
            with self._lock:
                self._xoff = True
                self.xoff_count += 1
        elif name == "MEDIA_XON":
            with self._lock:
                self._xoff = False
                self._wake()
        elif name == "MEDIA_MARK_PROCESSED":
            self._mark_played(str(event.fields.get("correlation_id", "")))
        with self._lock:
            waiters = self._waiters.pop(name, [])
        for waiter in waiters:
            waiter(event)
        handlers = self._handlers.get(name)
        if handlers:
            self._handler_queue.put((handlers, event))

    def _wait_event(self, name: str, send: Callable[[], None], timeout: float) -> MediaEvent:
        got: List[MediaEvent] = []
        ready = threading.Event()

        def waiter(event: MediaEvent) -> None:
            got.append(event)
            ready.set()

        with self._lock:
            self._check_open()
            self._waiters.setdefault(name, []).append(waiter)
        send()
        if not ready.wait(timeout):
            with self._lock:
                if waiter in self._waiters.get(name, []):
                    self._waiters[name].remove(waiter)
            raise MediaError(f"{self!r}: no {name} within {timeout} s")
        if got[0].name == "CLOSED":
            raise MediaError(f"{self!r}: the media closed before {name} came ({self.close_reason})")
        return got[0]

    def _start_handlers(self) -> None:
        with self._lock:
            if self._handler_thread is not None or self._closed:
                return
            self._handler_thread = threading.Thread(
                target=self._run_handlers, name=f"ari-media-events-{self._name}", daemon=True
            )
        self._handler_thread.start()

    def _run_handlers(self) -> None:
        while True:
            item = self._handler_queue.get()
            if item is _Stop:
                return
            handlers, argument = item
            for handler in handlers:
                try:
                    handler(argument)
                except BaseException as error:  # noqa: B036 - a handler never stops the others
                    self._report(error)

    def _report(self, error: BaseException) -> None:
        if self.on_handler_error is not None:
            try:
                self.on_handler_error(error)
                return
            except BaseException:  # noqa: B036, S110 - fall back to the log
                pass
        log.error("%r: a media handler raised", self, exc_info=(type(error), error, error.__traceback__))

    # -- writing --------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Queue ``data`` (any length, in the session's format) to be played after what is queued."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise MediaError(f"send() takes bytes of {self.codec.name} audio, not {type(data).__name__}")
        if not data:
            return
        with self._lock:
            self._check_open()
            self._out.append(bytes(data))
            self._wake()
        self._start_writer()

    def mark(self, name: Optional[str] = None, callback: Optional[Callable[[Mark], Any]] = None) -> Mark:
        """A mark after the audio queued so far: ``callback(mark)`` (handler thread) once it has played."""
        mark = Mark(name or f"mark-{next(self._mark_ids)}", callback)
        if " " in mark.name or len(mark.name) > 100:
            raise MediaError(f"mark name {mark.name!r}: no spaces and at most 100 characters")
        with self._lock:
            self._check_open()
            self._out.append(mark)
            self._wake()
        self._start_writer()
        return mark

    def drain(self, timeout: Optional[float] = None) -> bool:
        """Wait until everything queued so far has played; False on timeout."""
        return self.mark().wait(timeout)

    def play_wav(self, path: Any, mark: Optional[str] = None) -> Mark:
        """Queue a WAV file (PCM 16-bit or 8-bit ulaw/alaw-free PCM, any rate, mono) converted to the
        session's format; returns a mark after it."""
        try:
            with wave.open(str(path), "rb") as wav:
                if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                    raise MediaError(f"{path}: play_wav takes mono 16-bit PCM WAV files")
                rate = wav.getframerate()
                pcm = wav.readframes(wav.getnframes())
        except (OSError, EOFError, wave.Error) as error:
            raise MediaError(f"{path}: cannot read the WAV file ({error})") from error
        source = Codec(f"slin@{rate}", rate, 2, None)
        self.send(Converter(source, self.codec).convert(pcm))
        return self.mark(mark)

    def flush(self) -> None:
        """Drop the audio not yet played: what is queued here and in the far end's queue."""
        with self._lock:
            self._check_open()
            dropped = [item for item in self._out if isinstance(item, Mark)]
            self._out.clear()
            self._partial.clear()
            self._staged = None
            self._restart = True
        for item in dropped:
            log.debug("%r: mark %s flushed before it was sent", self, item.name)
        self._flush_remote()

    def pause(self) -> None:
        """Stop playing (the far end plays silence); ``resume()`` goes on from the same place."""
        with self._lock:
            self._check_open()
            if not self._paused:
                self._paused = True
                self._paused_at = time.monotonic()
        self._pause_remote(True)

    def resume(self) -> None:
        with self._lock:
            self._check_open()
            if self._paused:
                self._paused = False
                self._held += time.monotonic() - self._paused_at
            self._wake()
        self._pause_remote(False)

    continue_media = resume

    @property
    def queued_bytes(self) -> int:
        """Audio accepted by ``send()`` not yet written to the transport."""
        with self._lock:
            return len(self._partial) + sum(len(item) for item in self._out if isinstance(item, bytes))

    @property
    def xoff(self) -> bool:
        return self._xoff

    def _wake(self) -> None:
        """Under the lock: something for the writer (audio, a mark, XON, resume, closing)."""
        self._kicked = True
        self._writable.notify_all()

    def _start_writer(self) -> None:
        """Start the thread that writes (a transport with its own I/O loop writes from it instead)."""
        with self._lock:
            if self._writer is not None or self._closed:
                return
            self._writer = threading.Thread(target=self._run_writer, name=f"ari-media-write-{self._name}", daemon=True)
        self._writer.start()

    def _next_item(self) -> Union[bytes, Mark, None]:
        """Under the lock: a whole frame, a mark, or None when a frame is not ready yet."""
        size = self.frame_size
        while self._out and len(self._partial) < size:
            item = self._out[0]
            if isinstance(item, Mark):
                if self._partial:  # the audio before a mark is played out whole, padded
                    return self._pad()
                return self._out.popleft()
            self._out.popleft()
            self._partial += item
        if len(self._partial) >= size:
            frame = bytes(self._partial[:size])
            del self._partial[:size]
            return frame
        return None

    def _pad(self) -> bytes:
        frame = bytes(self._partial) + self.codec.silence(self.frame_size - len(self._partial))
        self._partial.clear()
        return frame

    def _pump(self) -> Optional[float]:
        """Write every item that is due; return when the next one is (monotonic), None if none is queued.

        Frames go at most ``min(lead, max_ahead)`` ahead of real time in a run, then one per
        ``ptime``; nothing while the far end said MEDIA_XOFF or the media is paused; a tail
        shorter than a frame waits one period for more, then goes padded with silence.
        """
        period = self.ptime / 1000.0
        while True:
            with self._mutex:
                self._kicked = False
                if self._closed:
                    return None
                now = time.monotonic()
                if self._staged is None:
                    if self._xoff or self._paused or self._transport_full():
                        return None
                    item = self._next_item()
                    if item is None:
                        if not self._partial or self._out:
                            self._tail_since = None
                            return None
                        self._tail_since = now if self._tail_since is None else self._tail_since
                        if now - self._tail_since < period:
                            return self._tail_since + period
                        item = self._pad()
                    self._tail_since = None
                    self._staged = item
                item = self._staged
                if not isinstance(item, Mark):
                    # A paused far end played nothing meanwhile; a flushed one holds nothing.
                    self._run_start += self._held
                    self._held = 0.0
                    if self._restart or now > self._run_start + self._run_frames * period:
                        self._run_start, self._run_frames, self._restart = now, 0, False
                    due = self._run_start + (self._run_frames + 1 - min(self.lead, self.max_ahead)) * period
                    if due > now:
                        return due
                    self._run_frames += 1
                self._staged = None
            if isinstance(item, Mark):
                item.sent_at = time.monotonic()
                self._send_mark(item)
            else:
                self._write_audio(item)
                self.frames_sent += 1

    def _run_writer(self) -> None:
        """The writer thread of a transport without an I/O loop of its own."""
        try:
            while True:
                due = self._pump()
                with self._mutex:
                    if self._closed:
                        return
                    timeout = None if due is None else due - time.monotonic()
                    if timeout is None or timeout > 0:
                        self._writable.wait_for(lambda: self._kicked or self._closed, timeout)
        except MediaError as error:
            if not self._closed:
                log.warning("%r: writing stopped: %s", self, error)
        except Exception:  # never a dead writer without a word
            log.exception("%r: the writer failed", self)

    def _send_mark(self, mark: Mark) -> None:
        """Default: the far end has no mark command; the mark plays when its frame time has passed."""
        self._marks.setdefault(mark.name, []).append(mark)
        self._mark_played(mark.name)

    def _mark_played(self, name: str) -> None:
        with self._lock:
            pending = self._marks.get(name)
            mark = pending.pop(0) if pending else None
            if pending == []:
                del self._marks[name]
        if mark is None:
            return
        mark.played_at = time.monotonic()
        mark._done.set()
        if mark.callback is not None:
            self._handler_queue.put(([mark.callback], mark))
            self._start_handlers()

    # -- transport hooks ------------------------------------------------------------------

    def _write_audio(self, frame: bytes) -> None:
        raise NotImplementedError

    def _transport_full(self) -> bool:
        """Under the lock: the transport still holds bytes it could not write (the writer waits)."""
        return False

    def _flush_remote(self) -> None:
        """The far end drops its queue too (a command where the transport has one)."""

    def _pause_remote(self, paused: bool) -> None:
        """The far end stops / goes on playing (a command where the transport has one)."""

    def _shutdown(self) -> None:
        """Close the transport and hang the call up; called once, by ``close()``."""

    # -- lifecycle ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            reason = f" ({self.close_reason})" if self.close_reason else ""
            raise MediaError(f"{self!r}: the media is closed{reason}")

    def _closed_by(self, by: str, code: Optional[int] = None, reason: str = "") -> bool:
        """Mark the session closed (once); the ``CLOSED`` event goes to the handlers. True the first time."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self.close_code = code
            self.close_reason = reason or ("closed by the application" if by == "local" else "hung up")
            self._lock.notify_all()
            self._wake()
            waiters = self._waiters
            self._waiters = {}
        closed = MediaEvent("CLOSED", {"code": code, "reason": self.close_reason, "by": by})
        handlers = self._handlers.get("CLOSED")
        if handlers:
            self._handler_queue.put((handlers, closed))
        self._handler_queue.put(_Stop)
        for pending in waiters.values():  # a status() or stop_buffering() waiting: it fails now
            for waiter in pending:
                waiter(closed)
        return True

    def close(self, timeout: float = 2.0) -> None:
        """Hang the call up and end the media's threads (idempotent, safe from a handler)."""
        first = self._closed_by("local", 1000)
        if first:
            try:
                self._shutdown()
            except Exception:  # closing never raises for a far end already gone
                log.debug("%r: shutdown failed", self, exc_info=True)
        self._join(timeout)

    def _join(self, timeout: float) -> None:
        join_by([t for t in self._threads() if t is not None], time.monotonic() + timeout)

    def _threads(self) -> List[Optional[threading.Thread]]:
        return [self._writer, self._handler_thread]

    def wait_closed(self, timeout: Optional[float] = None) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._closed, timeout)

    def __enter__(self) -> MediaSession:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LoopSession(MediaSession):
    """A session served by a ``MediaLoop``: its thread reads the socket and writes the paced frames.

    ``loop`` None gives the session a loop of its own (one thread, ``ari-media-<name>``);
    sessions given the same loop share its one thread.  A transport implements
    ``_on_readable`` (False once the far end is gone) and may implement ``_flush_commands``
    and the closing (``_begin_finish``, ``_on_closing_readable``, ``_end_finish``), all called
    on the loop's thread, never blocking it.
    """

    def __init__(
        self,
        channel: Any,
        codec: Codec,
        ptime: int,
        frame_size: int,
        name: str,
        sock: Any,
        loop: Optional[MediaLoop] = None,
    ) -> None:
        super().__init__(channel, codec, ptime, frame_size, name)
        self._sock = sock
        self._own_loop = loop is None
        self._loop: MediaLoop = MediaLoop(name) if loop is None else loop
        self._started = False
        self._finished = threading.Event()  # the loop has closed the transport
        self._loop_thread: Optional[threading.Thread] = None  # its own loop's thread

    def _start_loop(self) -> None:
        self._started = True
        try:
            self._loop.add(self)
        except MediaError as error:  # a closed loop: the session ends before it began
            self._started = False
            self._closed_by("local", None, str(error))
            self._join(0.0)
            raise
        if self._own_loop:
            self._loop_thread = self._loop.thread

    def _wake(self) -> None:
        super()._wake()
        if self._started:
            self._loop.kick(self)

    def _start_writer(self) -> None:
        """The loop writes."""

    def _on_readable(self) -> bool:
        raise NotImplementedError

    def _flush_commands(self) -> None:
        """Send what other threads asked for (the loop's thread owns the socket)."""

    def _begin_finish(self) -> bool:
        """Start closing the transport once the session is closed; True to wait for the far end
        (``_on_closing_readable`` until it returns True, or a deadline), False when done."""
        return False

    def _on_closing_readable(self) -> bool:
        """Read while closing; True once the far end has closed too."""
        return True

    def _end_finish(self) -> None:
        """Close the transport for good."""
        self._sock.close()

    def _wants_write(self) -> bool:
        """Bytes wait for the socket to take them: the loop watches it for writing."""
        return False

    def _on_writable(self) -> None:
        """The socket takes bytes again: write what waits (never blocking)."""

    def _join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if not self._started:
            if not self._finished.is_set():
                self._end_finish()
                self._finished.set()
        elif not self._loop.on_thread():
            self._finished.wait(max(0.0, deadline - time.monotonic()))
        super()._join(max(0.0, deadline - time.monotonic()))

    def _threads(self) -> List[Optional[threading.Thread]]:
        # Its own loop's thread ends with its only session; a shared one goes on for the others.
        return [self._loop_thread, *super()._threads()]
