"""Outbound WebSockets: the simulator connects to ``ari.Server`` as Asterisk does.

Persistent connections (one client per Asterisk, reconnects re-attached, queued events
delivered, several Asterisks at once), per-call connections (a client per call, closed after
StasisEnd, a failing or blocking call handler leaving the others alone), Basic auth, the
subprotocol and TLS.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

import ari
from ari.outbound import OutboundClient, Server
from ari.testing import Simulator
from ari.testing.outbound import Outbound

SPEED = 50.0


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.005)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server() -> Iterator[Server]:
    with ari.serve("127.0.0.1", 0) as srv:
        yield srv


def persistent(srv: Server, apps: Any = ("app",), **options: Any) -> Simulator:
    return Simulator(speed=SPEED, outbound=Outbound(srv.ws_url + "/ari", apps=tuple(apps), **options))


# -- persistent ------------------------------------------------------------------------------


def test_a_persistent_connection_gives_a_client_with_the_event_api_and_rest_over_the_socket(server: Server) -> None:
    connected: List[OutboundClient] = []
    registered: List[str] = []
    answered = threading.Event()
    server.on_connect(connected.append)
    server.on("ApplicationRegistered", lambda event: registered.append(event.application))

    def start(event: Any, channel: Any) -> None:
        channel.answer()  # over the socket: the server was given no URL
        channel.on("ChannelDtmfReceived", lambda e, ch: (ch.hangup(), answered.set()))

    server.on("StasisStart", start)
    with persistent(server, apps=("app", "other")) as sim:
        assert wait_until(lambda: server.clients)
        channel_id = sim.call("app", answer=False)
        sim.wait_for_event("ChannelStateChange", lambda e: e["channel"]["state"] == "Up")
        sim.dtmf(channel_id, "5")
        assert answered.wait(5)
        sim.wait_for_event("StasisEnd")
        client = server.client(sim.server.asterisk_id)
        assert connected == [client] and client.asterisk_id == sim.server.asterisk_id
        assert sorted(registered) == ["app", "other"]
        info = client.asterisk.get_info()  # type: ignore[attr-defined]
        assert info.system.entity_id == sim.server.asterisk_id
        with pytest.raises(ari.NotFound):
            client.channels.get(channelId="nope")  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError, match="start"):
            client.start("app")


def test_a_reconnect_of_the_same_asterisk_keeps_its_client_and_delivers_what_queued(server: Server) -> None:
    starts: List[str] = []
    connects: List[Any] = []
    server.on_connect(connects.append)
    server.on("StasisStart", lambda event, channel: starts.append(channel.id))
    reconnected = threading.Event()
    server.on("WebSocketConnected", lambda event: reconnected.set() if event.reconnected else None)
    with persistent(server) as sim:
        assert wait_until(lambda: server.clients)
        client = server.client(sim.server.asterisk_id)
        first = sim.call("app")
        assert wait_until(lambda: starts == [first])
        client.stop()  # the application drops the socket; Asterisk reconnects
        second = sim.call("app")  # Stasis() still works: the app stays registered
        assert reconnected.wait(5)
        assert wait_until(lambda: starts == [first, second])
        time.sleep(0.1)
        assert starts == [first, second]  # each event once: no handler added twice
        assert server.clients == {sim.server.asterisk_id: client} and connects == [client]
        assert client.channels.get(channelId=second).id == second  # type: ignore[attr-defined]


def test_events_queued_while_the_application_server_restarts_reach_the_new_one() -> None:
    port = free_port()
    before = ari.serve("127.0.0.1", port)
    with Simulator(speed=SPEED, outbound=Outbound(f"ws://127.0.0.1:{port}/ari", apps=("app",))) as sim:
        assert wait_until(lambda: before.clients)
        before.stop()
        channel_id = sim.call("app")  # nobody listening: Asterisk queues the events
        sim.hangup(channel_id)
        sim.wait_for_event("StasisEnd")
        seen: List[str] = []
        after = Server("127.0.0.1", port)
        after.on("StasisStart", lambda event, channel: seen.append("StasisStart"))
        after.on("StasisEnd", lambda event, channel: seen.append("StasisEnd"))
        after.on("ApplicationRegistered", lambda event: seen.append("ApplicationRegistered"))
        with after:
            assert wait_until(lambda: "ApplicationRegistered" in seen)
        assert seen.index("StasisStart") < seen.index("StasisEnd") < seen.index("ApplicationRegistered")


def test_several_asterisks_at_once_each_call_handled_on_its_own(server: Server) -> None:
    handled: List[tuple] = []

    def start(event: Any, channel: Any) -> None:
        channel.answer()
        handled.append((event.asterisk_id, channel.meta is server.client(event.asterisk_id).meta))

    server.on("StasisStart", start)
    with persistent(server) as one, persistent(server) as two:
        assert wait_until(lambda: len(server.clients) == 2)
        a, b = one.call("app", answer=False), two.call("app", answer=False)
        assert wait_until(lambda: len(handled) == 2)
        for sim, channel_id in ((one, a), (two, b)):
            sim.wait_for_event("ChannelStateChange", lambda e, c=channel_id: e["channel"]["id"] == c)
            assert sim.server.call_in_loop(sim.state.channel, channel_id).state == "Up"
        assert sorted(handled) == sorted([(one.server.asterisk_id, True), (two.server.asterisk_id, True)])


def test_basic_auth_and_the_subprotocol() -> None:
    with ari.serve("127.0.0.1", 0, username="app", password="secret") as srv:
        with persistent(srv, username="app", password="wrong") as refused:
            time.sleep(0.3)
            assert not srv.clients and refused.outbound is not None and not refused.outbound.connects
        with persistent(srv, username="app", password="secret") as sim:
            assert wait_until(lambda: srv.clients)
            assert srv.client(sim.server.asterisk_id).connected
    with ari.serve("127.0.0.1", 0) as srv:  # no subprotocol offered is fine too
        with persistent(srv, subprotocol=None):
            assert wait_until(lambda: srv.clients)


def test_a_connection_that_does_not_start_with_an_ari_event_is_closed(server: Server) -> None:
    from websockets.sync.client import connect

    with connect(server.ws_url, subprotocols=["ari"]) as ws:  # type: ignore[list-item]
        ws.send("hello")
        ws.recv_events_thread.join(5)
        assert ws.close_code == 1008
    assert not server.clients and not server.calls


# -- per call --------------------------------------------------------------------------------


def per_call(srv: Server) -> Simulator:
    return Simulator(speed=SPEED, outbound=srv.ws_url, mode="per_call")


def test_each_call_gets_its_own_client_closed_after_stasis_end(server: Server) -> None:
    calls: List[OutboundClient] = []
    started: List[tuple] = []

    @server.on_call
    def call(client: OutboundClient) -> None:
        calls.append(client)
        client.on(
            "StasisStart", lambda event, channel: (started.append((client.application, channel.id)), channel.answer())
        )

    with per_call(server) as sim:
        ids = [sim.call("ivr") for _ in range(3)]
        assert wait_until(lambda: len(started) == 3)
        names = {sim.server.call_in_loop(lambda i=i: sim.state.world.channels[i].name): i for i in ids}
        assert sorted(started) == sorted((f"ivr:{name}", i) for name, i in names.items())
        assert len(server.calls) == 3 and all(c.per_call for c in calls)
        for channel_id in ids:
            sim.hangup(channel_id)
        assert wait_until(lambda: all(c.finished.is_set() for c in calls), 5)
        assert server.calls == [] and sim.outbound is not None and sim.outbound.connects[server.ws_url] == 3


def test_a_call_handler_that_raises_or_blocks_leaves_the_other_calls_alone(server: Server) -> None:
    release = threading.Event()
    answered: List[str] = []
    order: List[str] = []

    @server.on_call
    def call(client: OutboundClient) -> None:
        order.append(client.application)
        if len(order) == 1:
            raise RuntimeError("a broken call handler")
        if len(order) == 2:
            release.wait(10)  # a stuck one
        client.on("StasisStart", lambda event, channel: (channel.answer(), answered.append(channel.id)))

    try:
        with per_call(server) as sim:
            sim.call("ivr")
            assert wait_until(lambda: len(order) == 1)
            sim.call("ivr")
            assert wait_until(lambda: len(order) == 2)
            third = sim.call("ivr")
            assert wait_until(lambda: answered == [third])
            release.set()
            assert wait_until(lambda: len(answered) == 2)
    finally:
        release.set()


def test_a_stop_while_a_call_connection_drops_leaves_no_linger_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A per-call connection lost before StasisEnd waits (a timer) for Asterisk to reconnect;
    a stop() arriving just as it is lost must still end that timer (it once outlived the server)."""
    detach = OutboundClient._detach
    claimed: List[bool] = []
    stopping: List[threading.Thread] = []  # only ever holds a started thread: the test joins it

    def detach_then_stop(self: OutboundClient, *args: Any, **kwargs: Any) -> None:
        detach(self, *args, **kwargs)
        if not claimed:  # the server stops right here, before the connection's loss is dealt with
            claimed.append(True)  # before start(): the stopper's own detach must not stop again
            stopper = threading.Thread(target=srv.stop)
            stopper.start()
            stopping.append(stopper)
            assert wait_until(lambda: srv._stopped)
            time.sleep(0.1)

    monkeypatch.setattr(OutboundClient, "_detach", detach_then_stop)
    started = threading.Event()
    srv = ari.serve("127.0.0.1", 0)
    srv.on_call(lambda client: client.on("StasisStart", lambda event, channel: started.set()))
    try:
        with per_call(srv) as sim:
            sim.call("ivr")
            assert started.wait(5)
        # the simulator closed the call's connection before any StasisEnd
        assert wait_until(lambda: stopping)
        stopping[0].join(10)
        assert not [t.name for t in threading.enumerate() if t.name == "ari-outbound-linger" and t.is_alive()]
    finally:
        srv.stop()


def test_a_call_whose_client_the_application_closed_is_gone_at_once(server: Server) -> None:
    """No linger timer for it (it used to wait 30 s for a reconnect that could feed nothing),
    and ``server.calls`` no longer lists it."""
    closed: List[OutboundClient] = []

    @server.on_call
    def call(client: OutboundClient) -> None:
        client.on("StasisStart", lambda event, channel: (client.close(), closed.append(client)))

    with per_call(server) as sim:
        sim.call("ivr")
        assert wait_until(lambda: closed) and closed[0].finished.wait(5)
        assert wait_until(lambda: server.calls == [])
        assert not [t.name for t in threading.enumerate() if t.name == "ari-outbound-linger"]


def test_a_call_whose_connection_cannot_be_made_fails() -> None:
    with Simulator(speed=SPEED, outbound=f"ws://127.0.0.1:{free_port()}/ari", mode="per_call") as sim:
        channel_id = sim.call("ivr")
        assert wait_until(lambda: channel_id not in sim.channel_ids())  # Stasis() failed: hung up
        assert not any(e["type"] == "StasisStart" for e in sim.events_sent)


# -- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return folder


def test_wss(certificate: Path) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    trust = ssl.create_default_context(cafile=str(certificate / "cert.pem"))
    with ari.serve("127.0.0.1", 0, ssl=context) as srv:
        assert srv.ws_url.startswith("wss://")
        with persistent(srv, ssl=trust) as sim:
            assert wait_until(lambda: srv.clients)
            assert srv.client(sim.server.asterisk_id).asterisk.get_info().system  # type: ignore[attr-defined]


# -- where REST calls go -------------------------------------------------------------------


def test_without_a_url_a_call_that_needs_http_says_so(server: Server) -> None:
    with persistent(server) as sim:
        assert wait_until(lambda: server.clients)
        client = server.client(sim.server.asterisk_id)
        with pytest.raises(ari.ConnectionError, match="url="):
            client.recordings.get_stored_file(recordingName="x")  # type: ignore[attr-defined]


def test_with_the_asterisks_url_the_description_and_http_calls_go_there() -> None:
    with Simulator(speed=SPEED) as http_side:
        url = http_side.url
        options = dict(url=url, ari_username="asterisk", ari_password="asterisk")
        with ari.serve("127.0.0.1", 0, transport="http", **options) as srv:
            with Simulator(speed=SPEED, outbound=Outbound(srv.ws_url, apps=("app",))) as sim:
                assert wait_until(lambda: srv.clients)
                client = srv.client(sim.server.asterisk_id)
                # REST went to the Asterisk at url, not over the connection: that one's info.
                assert client.asterisk.get_info().system.entity_id == http_side.server.asterisk_id  # type: ignore[attr-defined]
                with pytest.raises(ari.NotFound, match="Recording not found"):
                    client.recordings.get_stored_file(recordingName="x")  # type: ignore[attr-defined]


def test_the_simulator_serves_its_description_over_the_socket_as_asterisk_does(ari_sim: Simulator) -> None:
    import base64
    import json

    import websocket

    token = base64.b64encode(f"{ari_sim.username}:{ari_sim.password}".encode()).decode()
    ws = websocket.create_connection(
        ari_sim.url.replace("http", "ws", 1) + "/ari/events?app=docs", header=[f"Authorization: Basic {token}"]
    )
    try:
        answers = {}
        for n, (method, uri) in enumerate(
            [("GET", "api-docs/resources.json"), ("POST", "api-docs/resources.json"), ("GET", "api-docs/no.json")]
        ):
            ws.send(json.dumps({"type": "RESTRequest", "request_id": str(n), "transaction_id": str(n),
                                "method": method, "uri": uri}))  # fmt: skip
            while str(n) not in answers:
                frame = json.loads(ws.recv())
                if frame["type"] == "RESTResponse":
                    answers[frame["request_id"]] = frame
        # As Asterisk 22.10.1 answered them (asterisk-behaviour.md: api-docs over RESTRequest).
        assert answers["0"]["status_code"] == 200 and "apis" in json.loads(answers["0"]["message_body"])
        assert (answers["1"]["status_code"], json.loads(answers["1"]["message_body"])) == (
            405,
            {"message": "Unsupported method"},
        )
        assert (answers["2"]["status_code"], json.loads(answers["2"]["message_body"])) == (
            404,
            {"message": "Resource not found"},
        )
    finally:
        ws.close()


def test_concurrent_dispatch_once_and_instance_listeners_over_an_outbound_client() -> None:
    errors: List[Any] = []
    with ari.serve("127.0.0.1", 0, dispatch="concurrent", on_handler_error=lambda e, ev: errors.append(e)) as srv:
        firsts: List[str] = []
        hung: List[str] = []
        srv.once("StasisStart", lambda event, channel: firsts.append(channel.id))

        def start(event: Any, channel: Any) -> None:
            channel.once("ChannelHangupRequest", lambda e, ch: hung.append(ch.id))
            if len(hung) == 0:
                raise RuntimeError("a handler that raises")

        srv.on("StasisStart", start)
        with persistent(srv) as sim:
            assert wait_until(lambda: srv.clients)
            a, b = sim.call("app"), sim.call("app")
            assert wait_until(lambda: len(errors) == 2)
            sim.hangup(a)
            sim.hangup(b)
            assert wait_until(lambda: sorted(hung) == sorted([a, b]))
            assert firsts == [a]  # once: the first call only
            assert all(isinstance(e, RuntimeError) for e in errors)


def test_two_persistent_connections_of_one_asterisk_feed_one_client(server: Server) -> None:
    apps: List[str] = []
    server.on("StasisStart", lambda event, channel: apps.append(event.application))
    url = server.ws_url + "/ari"
    slow = Outbound(url, apps=("a",), reconnect_interval=200.0)  # 4 s real before it comes back
    with Simulator(speed=SPEED, outbound=[slow, Outbound(url, apps=("b",), reconnect_interval=200.0)]) as sim:
        assert wait_until(lambda: server.clients and server.client(sim.server.asterisk_id).connected)
        assert wait_until(lambda: sim.outbound is not None and sim.outbound.connects.get(url) == 2)
        client = server.client(sim.server.asterisk_id)
        sim.call("a")
        sim.call("b")
        assert wait_until(lambda: sorted(apps) == ["a", "b"])
        client.stop()  # one connection goes; the other one carries REST at once
        started = time.monotonic()
        assert client.asterisk.get_info().system.entity_id == sim.server.asterisk_id  # type: ignore[attr-defined]
        assert time.monotonic() - started < 2.0 and len(server.clients) == 1


def test_a_client_the_application_closed_is_made_anew_on_reconnect(server: Server) -> None:
    made: List[OutboundClient] = []
    server.on_connect(made.append)
    with persistent(server) as sim:
        assert wait_until(lambda: made)
        made[0].close()  # Asterisk reconnects at once: a fresh client, hooks run again
        assert wait_until(lambda: len(made) == 2 and made[1].connected)
        assert made[0].closed and not made[1].closed
        assert server.client(sim.server.asterisk_id) is made[1]


def test_the_command_line_simulator_connects_out(server: Server) -> None:
    import signal
    import subprocess

    from ..support import cli_command

    calls: List[OutboundClient] = []
    server.on_call(calls.append)
    url = server.ws_url + "/ari"
    command = cli_command("--port", "0", "--speed", "50", "--outbound", url, "--outbound-mode", "per_call")
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            lines = [proc.stdout.readline() for _ in range(3)]
            assert f"outbound (per_call): connecting to {url}" in "".join(lines)
            proc.stdin.write("call ivr\n")
            proc.stdin.flush()
            assert wait_until(lambda: calls, 10)
            assert calls[0].application.startswith("ivr:PJSIP/1000-")
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


def test_a_handler_blocking_one_call_leaves_the_other_calls_alone(server: Server) -> None:
    release = threading.Event()
    answered: List[str] = []

    def start(event: Any, channel: Any) -> None:
        if not answered and not release.is_set():
            answered.append("blocked")
            release.wait(10)  # this call's dispatcher is stuck; the others have their own
            return
        channel.answer()
        answered.append(channel.id)

    server.on("StasisStart", start)
    try:
        with per_call(server) as sim:
            sim.call("ivr", answer=False)
            assert wait_until(lambda: answered == ["blocked"])
            others = [sim.call("ivr", answer=False) for _ in range(2)]
            assert wait_until(lambda: sorted(answered[1:]) == sorted(others))
    finally:
        release.set()


def test_an_unknown_event_type_is_refused_once_the_description_is_known() -> None:
    errors: List[BaseException] = []
    started: List[str] = []
    with ari.serve("127.0.0.1", 0, on_handler_error=lambda e, ev: errors.append(e)) as srv:
        srv.on("StasisStrat", lambda event, channel: None)  # no description yet: taken, checked per client
        srv.on("StasisStart", lambda event, channel: started.append(channel.id))
        with persistent(srv) as sim:
            channel_id = sim.call("app")
            assert wait_until(lambda: started == [channel_id])  # the connection works all the same
            assert len(errors) == 1 and "StasisStart" in str(errors[0])  # "did you mean"
            with pytest.raises(ValueError, match="did you mean 'StasisStart'"):
                srv.on("StasisStrat", lambda event, channel: None)  # now the description is known
