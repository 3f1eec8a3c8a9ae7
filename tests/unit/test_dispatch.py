"""The listener registry and the dispatcher threads (no sockets)."""

import gc
import json
import logging
import threading
import time

import pytest

from ari.dispatch import Dispatcher
from ari.events import Promoter

from ..support import wait_until


def make(client, **options):
    return Dispatcher(client.meta.events, Promoter(client.meta), **options)


def frames(*events):
    """Events as the reader hands them over: JSON text frames."""
    return [json.dumps(event).encode() for event in events]


def channel_event(event_type, channel_id, **fields):
    return {"type": event_type, "channel": {"id": channel_id}, **fields}


class Both:
    """The registry's methods and the dispatcher's ``deliver`` on one object, as tests use them."""

    def __init__(self, client):
        self.registry = client.meta.events
        self.dispatcher = make(client)
        self.deliver = self.dispatcher.deliver

    def __getattr__(self, name):
        return getattr(self.registry, name)


@pytest.fixture
def events(client):
    return Both(client)


def test_client_level_handlers_in_order_with_the_instance(client, events):
    calls = []
    client.on("StasisStart", lambda e, ch: calls.append(("a", e.type, ch.id)))
    client.on("StasisStart", lambda e, ch: calls.append(("b", e.type, ch.id)))
    events.deliver(channel_event("StasisStart", "c1"))
    assert calls == [("a", "StasisStart", "c1"), ("b", "StasisStart", "c1")]


def test_instance_listeners_only_for_their_resource(client, events):
    calls = []
    ch = client.Channel("c1")
    ch.on("ChannelDtmfReceived", lambda e, c: calls.append(e.digit))
    events.deliver(channel_event("ChannelDtmfReceived", "c2", digit="1"))
    events.deliver(channel_event("ChannelDtmfReceived", "c1", digit="2"))
    assert calls == ["2"]


def test_factory_instance_listener_before_create(client, events):
    pb = client.Playback()
    seen = []
    pb.once("PlaybackFinished", lambda e, p: seen.append(p.id))
    events.deliver({"type": "PlaybackFinished", "playback": {"id": pb.id, "state": "done"}})
    events.deliver({"type": "PlaybackFinished", "playback": {"id": pb.id, "state": "done"}})
    assert seen == [pb.id]


def test_once_and_remove_and_aliases(client, events):
    calls = []

    def h(e, ch):
        calls.append(ch.id)

    client.once("StasisEnd", h)
    events.deliver(channel_event("StasisEnd", "c1"))
    events.deliver(channel_event("StasisEnd", "c2"))
    assert calls == ["c1"]
    client.on("StasisEnd", h)
    client.removeListener("StasisEnd", h)
    client.once("StasisEnd", h)
    client.remove_listener("StasisEnd", h)  # removes a once-handler by the handler itself
    events.deliver(channel_event("StasisEnd", "c3"))
    client.on("StasisEnd", h)
    client.on("StasisStart", h)
    client.removeAllListeners("StasisEnd")
    events.deliver(channel_event("StasisEnd", "c4"))
    events.deliver(channel_event("StasisStart", "c5"))
    client.remove_all_listeners()
    events.deliver(channel_event("StasisStart", "c6"))
    assert calls == ["c1", "c5"]
    assert events.signal_count() == 0


def test_a_raising_handler_is_logged_and_the_rest_still_run(client, caplog):
    errors = []
    events = make(client, on_handler_error=lambda exc, event: errors.append((exc, event.type)))
    calls = []

    def bad(e, ch):
        raise RuntimeError("boom")

    client.on("StasisStart", bad)
    client.on("StasisStart", lambda e, ch: calls.append(ch.id))
    with caplog.at_level(logging.ERROR, logger="ari"):
        events.deliver(channel_event("StasisStart", "c1"))
    assert calls == ["c1"]
    assert len(errors) == 1 and str(errors[0][0]) == "boom" and errors[0][1] == "StasisStart"
    assert not caplog.records  # the application's hook has it: reported once


def test_a_raising_handler_is_logged_when_logging_is_configured(client, caplog):
    events = make(client)
    client.on("StasisStart", lambda e, ch: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="ari"):
        events.deliver(channel_event("StasisStart", "c1"))
    record = caplog.records[-1]
    assert record.name.startswith("ari") and "StasisStart" in record.getMessage()
    assert "c1" in record.getMessage() and record.exc_info


def test_a_raising_error_hook_is_logged_too(client, caplog):
    def hook(exc, event):
        raise ValueError("hook")

    events = make(client, on_handler_error=hook)
    client.on("StasisStart", lambda e, ch: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="ari"):
        events.deliver(channel_event("StasisStart", "c1"))
    assert any("hook" in r.getMessage() and isinstance(r.exc_info[1], ValueError) for r in caplog.records)


def test_several_instances_reach_each_resources_listeners(client, events):
    calls = []
    client.Bridge("b1").on("ChannelEnteredBridge", lambda e, inst: calls.append(("bridge", inst.bridge.id)))
    client.Channel("c1").on("ChannelEnteredBridge", lambda e, inst: calls.append(("channel", inst["channel"].id)))
    events.deliver({"type": "ChannelEnteredBridge", "bridge": {"id": "b1"}, "channel": {"id": "c1"}})
    assert sorted(calls) == [("bridge", "b1"), ("channel", "c1")]


def test_events_without_resources_get_only_the_event(client, events):
    seen = []
    client.on("ApplicationReplaced", lambda *args: seen.append(args))
    events.deliver({"type": "ApplicationReplaced", "application": "a"})
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0].application == "a"


def test_listeners_added_and_removed_inside_a_handler(client, events):
    calls = []

    def second(e, ch):
        calls.append("second")

    def first(e, ch):
        calls.append("first")
        client.remove_listener("StasisStart", first)
        client.on("StasisStart", second)

    client.on("StasisStart", first)
    events.deliver(channel_event("StasisStart", "c1"))
    events.deliver(channel_event("StasisStart", "c1"))
    assert calls == ["first", "second"]


@pytest.mark.parametrize(
    "terminal", ["ChannelDestroyed", "BridgeDestroyed", "PlaybackFinished", "RecordingFinished", "RecordingFailed"]
)
def test_terminal_event_releases_instance_listeners(client, events, terminal):
    field = {"Channel": "channel", "Bridge": "bridge", "Playback": "playback", "Recording": "recording"}
    model = next(m for m in field if terminal.startswith(m))
    fired = []
    if model == "Recording":
        inst = client.LiveRecording("r1")
        key_field, data = "recording", {"name": "r1"}
    else:
        inst = getattr(client, model)("x1")
        key_field, data = field[model], {"id": "x1"}
    inst.on(terminal, lambda e, i: fired.append(e.type))
    inst.on("ChannelVarset", lambda e, i: None)
    assert events.keyed_count() == 1
    events.deliver({"type": terminal, key_field: data})
    assert fired == [terminal]
    assert events.keyed_count() == 0 and events.signal_count() == 0


def test_memory_flat_over_many_channels(client, events):
    def h(e, ch):
        pass

    def one_round(n, start):
        for i in range(start, start + n):
            ch = client.Channel(f"c{i}")
            ch.on("ChannelDtmfReceived", h)
            ch.on("ChannelDestroyed", h)
            events.deliver(channel_event("ChannelDtmfReceived", f"c{i}", digit="1"))
            events.deliver(channel_event("ChannelDestroyed", f"c{i}", cause=16))

    one_round(2000, 0)
    gc.collect()
    before = len(gc.get_objects())
    one_round(100_000, 10_000)
    gc.collect()
    after = len(gc.get_objects())
    assert events.keyed_count() == 0 and events.signal_count() == 0
    assert after - before < 1000, f"{after - before} more objects"


def test_serial_thread_keeps_arrival_order(client):
    events = make(client)
    order = []
    done = threading.Event()

    def h(e, ch):
        order.append((ch.id, e.n))
        if len(order) == 1000:
            done.set()

    client.on("ChannelDtmfReceived", h)
    events.start()
    try:
        submit = events.sink().submit
        for n in range(1000):
            submit(frames(channel_event("ChannelDtmfReceived", f"c{n % 7}", digit="1", n=n)), 0.0)
        assert done.wait(5)
    finally:
        events.stop()
    assert [n for _, n in order] == list(range(1000))
    assert threading.current_thread().name not in {"ari-dispatch"}


def test_concurrent_mode_wakes_the_worker_that_went_idle_last(client):
    # Events one at a time should stay on one hot worker: waking the one asleep longest made
    # every event a wake and a sleep of another thread (61 switches a call on a real Asterisk).
    events = make(client, mode="concurrent", workers=4)
    names = []
    handled = threading.Semaphore(0)

    def h(e, ch):
        names.append(threading.current_thread().name)
        handled.release()

    client.on("ChannelDtmfReceived", h)
    events.start()
    try:
        submit = events.sink().submit
        for n in range(12):
            # every worker asleep again before the next event, as between a call's events
            assert handled.acquire(timeout=5) if n else True
            assert wait_until(lambda: len(events._run.work._idle) == 4, 5)
            submit(frames(channel_event("ChannelDtmfReceived", f"c{n}", n=n)), 0.0)
        assert handled.acquire(timeout=5)
        assert len(names) == 12 and len(set(names[1:])) == 1, names
    finally:
        events.stop()


def test_concurrent_mode_keeps_per_resource_order_and_runs_in_parallel(client):
    events = make(client, mode="concurrent", workers=4)
    lock = threading.Lock()
    per_channel = {}
    threads = set()
    blocker = threading.Event()
    done = threading.Event()
    total = 400

    def h(e, ch):
        if ch.id == "slow" and e.n == 0:
            blocker.wait(5)  # one blocked call must not hold the others up
        with lock:
            per_channel.setdefault(ch.id, []).append(e.n)
            threads.add(threading.current_thread().name)
            if sum(map(len, per_channel.values())) == total:
                done.set()

    client.on("ChannelDtmfReceived", h)
    events.start()
    try:
        submit = events.sink().submit
        submit(frames(channel_event("ChannelDtmfReceived", "slow", n=0)), 0.0)
        submit(frames(*(channel_event("ChannelDtmfReceived", f"c{n % 13}", n=n) for n in range(1, total))), 0.0)
        # the other channels progress while "slow" blocks its worker
        deadline_ok = False
        for _ in range(50):
            with lock:
                if sum(map(len, per_channel.values())) >= 100:
                    deadline_ok = True
                    break
            done.wait(0.05)
        blocker.set()
        assert deadline_ok
        assert done.wait(5)
    finally:
        events.stop()
    for ns in per_channel.values():
        assert ns == sorted(ns)
    assert len(threads) > 1 and all(name.startswith("ari-dispatch-") for name in threads)


def test_remove_from_another_thread_during_dispatch(client):
    events = make(client)
    started, release, done = threading.Event(), threading.Event(), threading.Event()
    calls = []

    def slow(e, ch):
        started.set()
        release.wait(5)
        calls.append("slow")

    def other(e, ch):
        calls.append("other")
        if e.n == 1:
            done.set()

    client.on("ChannelDtmfReceived", slow)
    client.on("ChannelDtmfReceived", other)
    events.start()
    try:
        submit = events.sink().submit
        submit(frames(channel_event("ChannelDtmfReceived", "c1", n=0)), 0.0)
        assert started.wait(5)
        client.remove_listener("ChannelDtmfReceived", other)  # while slow() runs
        client.on("ChannelDtmfReceived", other)
        client.remove_listener("ChannelDtmfReceived", slow)
        release.set()
        submit(frames(channel_event("ChannelDtmfReceived", "c1", n=1)), 0.0)
        assert done.wait(5)
    finally:
        events.stop()
    assert calls[0] == "slow" and calls[-1] == "other" and calls.count("slow") == 1


def test_bad_options(client):
    with pytest.raises(ValueError):
        make(client, mode="parallel")
    with pytest.raises(ValueError):
        make(client, mode="concurrent", workers=0)
    with pytest.raises(TypeError):
        client.on("StasisStart", "not callable")


@pytest.mark.parametrize("mode", ["serial", "concurrent"])
def test_frames_that_are_not_json_objects_are_skipped_and_logged(client, caplog, mode):
    events = make(client, mode=mode, workers=2)
    seen = []
    done = threading.Event()

    def handler(e, ch):
        seen.append(e.n)
        if e.n == 2:
            done.set()

    client.on("ChannelDtmfReceived", handler)
    events.start()
    try:
        submit = events.sink().submit
        good = frames(channel_event("ChannelDtmfReceived", "c1", n=1), channel_event("ChannelDtmfReceived", "c1", n=2))
        # JSON that orjson refuses (a lone surrogate) still gets json's verdict: delivered.
        surrogate = good[0].replace(b'"n": 1', b'"n": 3, "x": "\\ud800"')
        submit([good[0], b"{not json", b"[1, 2]", b'{"type": 5}', surrogate, good[1]], 0.0)
        assert done.wait(5)
    finally:
        events.stop()
    assert seen == [1, 3, 2]
    assert "not JSON (9 bytes)" in caplog.text and "not a JSON object" in caplog.text
    assert "whose type is not a string" in caplog.text


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"type":"A","n":1}', {"type": "A", "n": 1}),
        (b'  {"type": "A"}  \n', {"type": "A"}),
        ('{"type":"caf\u00e9"}'.encode(), {"type": "caf\u00e9"}),
        (b'{"type":"A"} trailing', None),
        (b"", None),
        (b"\xff\xfe{}", None),
        (b"[1, 2]", None),
        (b'"text"', None),
    ],
)
@pytest.mark.parametrize("fast", [True, False], ids=["orjson", "json"])
def test_decoding_frames(payload, expected, fast, caplog):
    from ari import dispatch

    parser = dispatch.fast_loads() if fast else None
    if fast and parser is None:
        pytest.skip("orjson is not installed (pip install ari[speed])")
    assert dispatch._decode(payload, parser) == expected
    assert dispatch._decode(bytearray(payload), parser) == expected  # what the reader hands over
    if expected is None:
        assert "skipped a frame" in caplog.text


@pytest.mark.parametrize(
    "payload",
    [
        b'{"type":"A","type":"B"}',
        b'{"type":"\\ud800"}',  # a lone surrogate: orjson refuses it, json takes it
        b'{"type":"A","x":1e400}',  # infinity: the same
        b'{"type":"A","x":NaN}',
        b'{"type":"A","n":9223372036854775807,"m":-9223372036854775808,"f":-0.0}',
        b'{"type":"A","nested":{"a":[1,2,{"b":null}],"t":true}}',
    ],
)
def test_decoding_with_orjson_gives_what_json_gives(payload):
    """orjson is only faster: whatever it refuses gets json's verdict, whatever it takes json takes alike.

    (Integers past 64 bits are the one difference: orjson makes them floats.  Asterisk's JSON
    library, jansson, cannot write them: its integers are 64-bit.)
    """
    from ari import dispatch

    parser = dispatch.fast_loads()
    if parser is None:
        pytest.skip("orjson is not installed (pip install ari[speed])")
    fast = dispatch._decode(payload, parser)
    plain = dispatch._decode(payload, None)
    assert repr(fast) == repr(plain)  # repr: NaN is not equal to itself
    assert fast == json.loads(payload) or repr(fast) == repr(json.loads(payload))


def test_importing_ari_and_connecting_does_not_load_orjson():
    """orjson loads when a dispatcher starts: importing ari and building a client stay as light."""
    import subprocess
    import sys

    code = "import sys, ari.client, ari.dispatch; print('orjson' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("mode", ["serial", "concurrent"])
def test_a_running_dispatcher_decodes_with_orjson_when_installed(client, mode):
    from ari import dispatch

    parser = dispatch.fast_loads()
    if parser is None:
        pytest.skip("orjson is not installed (pip install ari[speed])")
    seen = []
    done = threading.Event()
    dispatcher = make(client, mode=mode)
    client.meta.events.add("StasisStart", lambda event, channel: (seen.append(channel.id), done.set()))
    sink = dispatcher.start()
    try:
        assert dispatcher._run is not None and dispatcher._run.fast is parser
        sink.submit(frames(channel_event("StasisStart", "c1", application="app")), 0.0)
        assert done.wait(5)
        assert seen == ["c1"]
    finally:
        dispatcher.stop()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("mode", ["serial", "concurrent"])
def test_a_full_backlog_holds_the_reader_a_bounded_time_and_says_saturated(client, mode, caplog):
    events = make(client, mode=mode, workers=1, backlog_frames=3, backlog_bytes=10**6, backlog_wait=0.2)
    gate, handled = threading.Event(), []

    def held(e, ch):
        gate.wait(5)
        handled.append(e.n)

    client.on("ChannelDtmfReceived", held)
    sink = events.start()
    try:
        assert not sink.saturated
        one = [frames(channel_event("ChannelDtmfReceived", "c1", digit="1", n=n))[0] for n in range(5)]
        started = time.monotonic()
        sink.submit(one[:3], 0.0)  # reaches the bound: no wait yet
        assert time.monotonic() - started < 0.15
        assert sink.saturated and events.saturated
        sink.submit(one[3:4], 0.0)  # full: the reader waits its bounded time, then is let through
        waited = time.monotonic() - started
        assert 0.19 < waited < 2.0
        assert events.backlog.count == 4 and events.dropped == 0
        gate.set()
        assert wait_until(lambda: len(handled) >= 4 and not events.backlog.count, 5)
        assert handled == [0, 1, 2, 3] and not sink.saturated
    finally:
        gate.set()
        events.stop()
    assert any("event backlog full" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("mode", ["serial", "concurrent"])
def test_a_reader_waiting_on_a_full_backlog_wakes_as_soon_as_handlers_make_room(client, mode, caplog):
    caplog.set_level(logging.INFO, logger="ari.dispatch")
    events = make(client, mode=mode, workers=1, backlog_frames=2, backlog_wait=5.0)
    gate = threading.Event()
    client.on("ChannelDtmfReceived", lambda e, ch: gate.wait(5))
    sink = events.start()
    try:
        batch = frames(*(channel_event("ChannelDtmfReceived", "c1", n=n) for n in range(2)))
        sink.submit(batch, 0.0)
        threading.Timer(0.1, gate.set).start()
        started = time.monotonic()
        sink.submit(frames(channel_event("ChannelDtmfReceived", "c1", n=2)), 0.0)
        assert 0.05 < time.monotonic() - started < 2.0  # woken by the handlers, not the 5 s bound
        assert wait_until(lambda: "under its bound again" in caplog.text, 5)
    finally:
        gate.set()
        events.stop()


def test_the_backlog_is_bounded_in_bytes_too(client):
    events = make(client, backlog_frames=1000, backlog_bytes=300, backlog_wait=0.05)
    gate = threading.Event()
    client.on("ChannelDtmfReceived", lambda e, ch: gate.wait(5))
    sink = events.start()
    try:
        big = frames(channel_event("ChannelDtmfReceived", "c1", pad="x" * 400))
        sink.submit(big, 0.0)
        assert sink.saturated  # one frame, but 400 bytes of the 300 allowed
    finally:
        gate.set()
        events.stop()


@pytest.mark.parametrize("mode", ["serial", "concurrent"])
def test_past_twice_the_bound_frames_are_dropped_counted_and_logged(client, mode, caplog):
    events = make(client, mode=mode, workers=1, backlog_frames=2, backlog_wait=0.01)
    gate, handled = threading.Event(), []

    def held(e, ch):
        gate.wait(5)
        handled.append(e.n)

    client.on("ChannelDtmfReceived", held)
    sink = events.start()
    try:
        for n in range(8):
            sink.submit(frames(channel_event("ChannelDtmfReceived", "c1", n=n)), 0.0)
        assert events.backlog.count == 4 and events.dropped == 4  # 2 x the bound, then dropped
        gate.set()
        assert wait_until(lambda: len(handled) >= 4, 5)
        assert handled == [0, 1, 2, 3]
    finally:
        gate.set()
        events.stop()
    assert any("dropping new events" in r.getMessage() for r in caplog.records)


def test_stop_wakes_a_reader_waiting_on_a_full_backlog(client):
    events = make(client, backlog_frames=1, backlog_wait=10.0)
    gate = threading.Event()
    client.on("ChannelDtmfReceived", lambda e, ch: gate.wait(5))
    sink = events.start()
    submitted = threading.Event()

    def reader():
        sink.submit(frames(channel_event("ChannelDtmfReceived", "c1", n=0)), 0.0)
        sink.submit(frames(channel_event("ChannelDtmfReceived", "c1", n=1)), 0.0)
        submitted.set()

    thread = threading.Thread(target=reader, name="test-reader")
    thread.start()
    try:
        threading.Event().wait(0.1)
        assert not submitted.is_set()
        events.stop(timeout=0.1)
        assert submitted.wait(2)
    finally:
        gate.set()
        thread.join(2)


def test_stasis_end_releases_a_channels_listeners_after_the_grace_unless_seen_again(client):
    clock = Clock()
    events = make(client, grace=5.0, clock=clock)
    registry = client.meta.events
    for cid in ("dialplan", "originated", "back"):
        client.Channel(cid).on("ChannelDtmfReceived", lambda e, ch: None)
        events.deliver(channel_event("StasisStart", cid))
        events.deliver(channel_event("StasisEnd", cid))
    assert registry.keyed_count() == 3  # within the grace: an originated channel's last events may follow
    clock.now += 1
    events.deliver(channel_event("ChannelVarset", "originated", variable="X", value="1"))  # still subscribed
    events.deliver(channel_event("StasisStart", "back"))  # back into Stasis
    clock.now += 5
    events.deliver(channel_event("ChannelDtmfReceived", "back", digit="1"))
    assert set(registry.keys()) == {("Channel", "originated"), ("Channel", "back")}
    events.deliver(channel_event("ChannelDestroyed", "originated"))
    assert set(registry.keys()) == {("Channel", "back")}


def test_a_channels_own_stasis_end_listener_fires_before_it_is_released(client):
    clock = Clock()
    events = make(client, grace=0.0, clock=clock)
    fired = []
    ch = client.Channel("c1")
    ch.on("StasisEnd", lambda e, c: fired.append(c.id))
    events.deliver(channel_event("StasisEnd", "c1"))
    events.deliver(channel_event("ChannelDtmfReceived", "other"))
    events.deliver(channel_event("StasisEnd", "c1"))
    assert fired == ["c1"] and client.meta.events.keyed_count() == 0


def test_an_unknown_event_type_is_refused_with_a_suggestion(client):
    with pytest.raises(ValueError, match=r"unknown event type 'StasisStrat'; did you mean 'StasisStart'"):
        client.on("StasisStrat", lambda e, ch: None)
    with pytest.raises(ValueError, match="WebSocketConnected"):
        client.once("WebSocketConected", lambda e: None)
    with pytest.raises(ValueError, match="ChannelDtmfReceived"):
        client.Channel("c1").on("ChannelDtmfRecieved", lambda e, ch: None)
    with pytest.raises(TypeError):
        client.on(None, lambda e: None)
    for known in ("StasisStart", "WebSocketConnected", "WebSocketReconnecting", "WebSocketMaxRetries", "*"):
        client.on(known, lambda *args: None)


def test_star_listens_to_every_event(client, events):
    seen = []
    client.on("*", lambda event: seen.append(event.type))
    events.deliver(channel_event("StasisStart", "c1"))
    events.deliver({"type": "ApplicationReplaced", "application": "a"})
    events.deliver({"type": "BrandNewEvent"})
    events.dispatcher.emit(__import__("ari.events").events.client_event("WebSocketConnected", attempt=0))
    assert seen == ["StasisStart", "ApplicationReplaced", "BrandNewEvent", "WebSocketConnected"]


def test_blinker_tables_are_changed_only_through_connect_and_disconnect(client):
    import blinker

    registry = client.meta.events

    def h(e, ch):
        return None

    client.on("StasisStart", h)
    client.once("StasisStart", h)
    signal = registry._ns.signal("StasisStart")
    assert isinstance(signal, blinker.NamedSignal) and len(signal.receivers) == 2
    client.remove_all_listeners()
    assert not signal.receivers and not signal._by_receiver  # disconnect keeps blinker's indexes in step


def test_concurrent_mode_queues_no_event_that_nobody_listens_to(client, monkeypatch):
    # Each queued event wakes a worker: for the 14 of a call's 17 events no handler wants,
    # that was most of the dispatcher's cost on a real Asterisk (bench/README.rst).
    from ari import dispatch

    queued = []
    put_many = dispatch._KeyedWork.put_many
    monkeypatch.setattr(
        dispatch._KeyedWork, "put_many", lambda self, items: (queued.extend(items), put_many(self, items))
    )
    events = make(client, mode="concurrent", workers=2)
    heard = threading.Event()
    client.on("ChannelDtmfReceived", lambda e, ch: heard.set())
    events.start()
    try:
        submit = events.sink().submit
        submit(frames(*(channel_event("ChannelVarset", f"c{n}", variable="x", value="1") for n in range(50))), 0.0)
        submit(frames(channel_event("ChannelDtmfReceived", "c1", digit="1")), 0.0)
        assert heard.wait(5)
        assert [item[1]["type"] for _, item in queued] == ["ChannelDtmfReceived"]
    finally:
        events.stop()


def test_an_event_behind_a_running_handler_is_kept_for_the_listener_it_adds(client):
    events = make(client, mode="concurrent", workers=2)
    entered, go = threading.Event(), threading.Event()
    values = []

    def stasis_start(e, ch):
        entered.set()
        go.wait(5)
        client.on("ChannelVarset", lambda e, ch: values.append((ch.id, e.value)))

    client.on("StasisStart", stasis_start)
    events.start()
    try:
        submit = events.sink().submit
        submit(frames(channel_event("StasisStart", "c1")), 0.0)
        assert entered.wait(5)
        # Nobody listens to ChannelVarset yet: c1's is kept (its handler runs), c2's is not.
        submit(frames(channel_event("ChannelVarset", "c1", value="kept")), 0.0)
        submit(frames(channel_event("ChannelVarset", "c2", value="dropped")), 0.0)
        go.set()
        assert wait_until(lambda: values, 5)
        submit(frames(channel_event("ChannelVarset", "c2", value="after")), 0.0)
        assert wait_until(lambda: len(values) == 2, 5)
        assert values == [("c1", "kept"), ("c2", "after")]
    finally:
        events.stop()


def test_with_an_instance_listener_anywhere_every_event_is_queued(client):
    events = make(client, mode="concurrent", workers=2)
    bridge = client.Bridge("b1")
    got = []
    bridge.on("ChannelEnteredBridge", lambda e, instances: got.append(instances.channel.id))
    events.start()
    try:
        submit = events.sink().submit
        submit(frames({"type": "ChannelEnteredBridge", "channel": {"id": "c9"}, "bridge": {"id": "b1"}}), 0.0)
        assert wait_until(lambda: got, 5)
        assert got == ["c9"]
    finally:
        events.stop()
