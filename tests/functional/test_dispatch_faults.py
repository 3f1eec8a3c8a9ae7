"""Handlers and events that misbehave, through a real socket: dispatch goes on, stop() means stop."""

from __future__ import annotations

import json
import logging
import re
import threading

import pytest

import ari
from ari.testing import MockServer

from ..support import Recorder, wait_until


def channel(mock, channel_id):
    return dict(mock.minimal("Channel"), id=channel_id)


def stasis_start(mock, channel_id, **fields):
    return {"type": "StasisStart", "application": "hello", "args": [], "channel": channel(mock, channel_id), **fields}


@pytest.fixture
def mock():
    with MockServer() as server:
        yield server


@pytest.mark.parametrize("mode", ["serial", "concurrent"])
def test_system_exit_and_keyboard_interrupt_in_handlers_never_end_dispatch(mock, mode):
    errors, seen = Recorder(), Recorder()
    with ari.connect(
        mock.url, mock.username, mock.password, dispatch=mode, dispatch_workers=2, on_handler_error=errors
    ) as client:

        def handler(event, ch):
            seen(ch.id)
            if ch.id == "exit":
                raise SystemExit(3)
            if ch.id == "interrupt":
                raise KeyboardInterrupt

        client.on("StasisStart", handler)
        runner = threading.Thread(target=client.run, args=("hello",), name="test-runner")
        runner.start()
        try:
            assert mock.wait_for_app("hello", 2)
            for cid in ("exit", "interrupt", "after-1", "after-2", "after-3"):
                mock.send_event(stasis_start(mock, cid))  # concurrent: one per resource, so all may die
            assert sorted(c for (c,) in seen.wait(5)) == ["after-1", "after-2", "after-3", "exit", "interrupt"]
            kinds = {type(error) for error, _ in errors.wait(2)}
            assert kinds == {SystemExit, KeyboardInterrupt}
        finally:
            client.stop()
            runner.join(3)
        assert not runner.is_alive()  # run() returns on stop()


def test_odd_events_in_concurrent_dispatch_are_skipped_and_logged(mock, caplog):
    with ari.connect(mock.url, mock.username, mock.password, dispatch="concurrent", dispatch_workers=2) as client:
        seen, reconnecting = Recorder(), Recorder()
        client.on("StasisStart", lambda e, ch: seen(ch.id))
        client.on("WebSocketReconnecting", reconnecting)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        odd = [
            {"type": ["StasisStart"], "channel": {"id": "x"}},
            {"type": "StasisStart", "channel": {"id": {"not": "hashable"}}},
            {"type": "StasisStart", "channel": {"id": ["x"]}},
            {"type": "StasisStart", "channel": "not an object"},
            {"type": 7},
        ]
        for event in odd:
            mock.send_raw("hello", json.dumps(event))
        mock.send_event(stasis_start(mock, "good"))
        assert seen.wait(1) == [("good",)]
        assert reconnecting.calls == []  # the reader never took an odd event for a lost socket
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == len(odd), skipped


def test_a_raising_handler_is_reported_on_stderr_when_nothing_else_listens(mock, monkeypatch, capfd):
    # pytest's own log capture sits on the root logger: cut the ari logger off it, as in a
    # program that configured no logging (the package has only its NullHandler).
    monkeypatch.setattr(logging.getLogger("ari"), "propagate", False)
    with ari.connect(mock.url, mock.username, mock.password) as client:
        seen = Recorder()

        def typo(event, ch):
            return ch.idd  # the typo that would otherwise swallow every event silently

        client.on("StasisStart", typo)
        client.on("StasisStart", lambda e, ch: seen(ch.id))
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        mock.send_event(stasis_start(mock, "c1"))
        assert seen.wait(1) == [("c1",)]
        client.stop()
    err = capfd.readouterr().err
    assert "Exception in handler" in err and "StasisStart" in err and "Traceback" in err
    assert "AttributeError" in err and "idd" in err and "ari-dispatch" in err


def test_a_raising_handler_goes_to_the_ari_logger_when_the_application_configured_one(mock, monkeypatch, capfd):
    logger = logging.getLogger("ari")
    monkeypatch.setattr(logger, "propagate", False)
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    logger.addHandler(handler)
    try:
        with ari.connect(mock.url, mock.username, mock.password) as client:
            seen = Recorder()
            client.on("StasisStart", lambda e, ch: 1 / 0)
            client.on("StasisStart", lambda e, ch: seen(ch.id))
            client.start("hello")
            assert mock.wait_for_app("hello", 2)
            mock.send_event(stasis_start(mock, "c1"))
            assert seen.wait(1)
            client.stop()
    finally:
        logger.removeHandler(handler)
    assert "ZeroDivisionError" not in capfd.readouterr().err
    raised = [r for r in records if r.exc_info and isinstance(r.exc_info[1], ZeroDivisionError)]
    assert len(raised) == 1 and "StasisStart" in raised[0].getMessage()


@pytest.mark.parametrize("mode", ["serial", "concurrent"])
def test_no_handler_starts_after_stop_returns(mock, mode, caplog):
    gate, started, calls = threading.Event(), threading.Event(), []
    with ari.connect(mock.url, mock.username, mock.password, dispatch=mode, dispatch_workers=1) as client:

        def handler(event, ch):
            calls.append(ch.id)
            started.set()
            gate.wait(5)

        client.on("StasisStart", handler)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        for n in range(50):
            mock.send_event(stasis_start(mock, f"c{n}"))
        assert started.wait(2)
        dispatcher = client._dispatcher
        assert wait_until(lambda: dispatcher.backlog is not None and dispatcher.backlog.count >= 50, 5)
        client.stop()
        gate.set()  # the handler that was running finishes; nothing else may start
        # Some of the 49 may share c0's socket read: they are dropped once its handler returns.
        assert wait_until(lambda: client._dispatcher.dropped == 49, 2)
        threading.Event().wait(0.2)
        assert calls == ["c0"]
    said = [re.search(r"dropped (\d+) (more )?events", r.getMessage()) for r in caplog.records]
    assert sum(int(m.group(1)) for m in said if m) == 49


def test_listeners_of_resources_that_ended_while_the_socket_was_down_are_released(mock):
    with ari.connect(mock.url, mock.username, mock.password, reconnect_initial=0.05, reconnect_max=0.1) as client:
        dtmf, connected = Recorder(), Recorder()

        def on_start(event, ch):
            ch.on("ChannelDtmfReceived", dtmf)

        client.on("StasisStart", on_start)
        client.on("WebSocketConnected", connected)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        for cid in ("gone", "alive"):
            mock.send_event(stasis_start(mock, cid))
            mock.send_event(
                {"type": "ChannelDtmfReceived", "digit": "1", "duration_ms": 90, "channel": channel(mock, cid)}
            )
        dtmf.wait(2)
        unseen = client.Channel("factory-not-yet-created")
        unseen.on("StasisStart", dtmf)  # no event has named it: a reconnect must leave it
        registry = client.meta.events
        assert registry.keyed_count() == 3
        mock.stub("channels", "list", body=[channel(mock, "alive")])
        assert mock.drop_websockets() == 1
        assert connected.wait(2)[1][0].reconnected is True
        assert wait_until(lambda: registry.keyed_count() == 2, 3)
        assert set(registry.keys()) == {("Channel", "alive"), ("Channel", "factory-not-yet-created")}
        assert len(mock.requests_for("channels", "list")) == 1  # one call, not one per resource


def test_client_lifecycle_states(mock):
    client = ari.connect(mock.url, mock.username, mock.password)
    assert client.state is ari.ClientState.IDLE
    client.start("hello")
    assert client.state is ari.ClientState.RUNNING
    with pytest.raises(RuntimeError, match="already started"):
        client.start("hello")
    client.stop()
    assert client.state is ari.ClientState.IDLE
    client.start("hello")  # again, after a stop
    assert client.state is ari.ClientState.RUNNING
    client.close()
    assert client.state is ari.ClientState.CLOSED
    with pytest.raises(RuntimeError, match="closed"):
        client.start("hello")
    client.close()  # idempotent


def test_the_rest_of_a_batch_under_way_at_stop_is_dropped_and_counted(mock):
    gate, started, calls = threading.Event(), threading.Event(), []
    with ari.connect(mock.url, mock.username, mock.password) as client:

        def handler(event, ch):
            calls.append(ch.id)
            started.set()
            gate.wait(5)

        client.on("StasisStart", handler)
        client.start("hello")
        assert mock.wait_for_app("hello", 2)
        # Three events read in one socket read: one batch for the serial dispatcher.
        batch = [json.dumps(stasis_start(mock, f"b{n}")).encode() for n in range(3)]
        client._dispatcher._run.sink.submit(batch, 0.0)
        assert started.wait(2)
        client.stop()  # returns while the handler of b0 still runs (a bounded join)
        gate.set()
        assert wait_until(lambda: client._dispatcher.dropped == 2, 2)
        threading.Event().wait(0.2)
        assert calls == ["b0"]
