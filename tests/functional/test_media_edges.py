"""ari.media at its edges: failures while opening, RTP from any sender, WebSocket framing details."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Iterator, List

import pytest
from websockets.sync.server import serve

import ari
from ari import media
from ari.media import codecs, rtp
from ari.testing.mock import MockServer

CHANNEL = {"id": "em-1", "name": "WebSocket/INCOMING/0x1", "state": "Down"}


@pytest.fixture
def mock() -> Iterator[MockServer]:
    server = MockServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mock_client(mock: MockServer) -> Iterator[Any]:
    with ari.connect(mock.url, "asterisk", "asterisk") as client:
        yield client


def test_a_channel_without_a_connection_id_is_hung_up(mock: MockServer, mock_client: Any) -> None:
    mock.stub("channels", "externalMedia", body={**CHANNEL, "channelvars": {}})
    with pytest.raises(media.MediaError, match="MEDIA_WEBSOCKET_CONNECTION_ID"):
        media.open_websocket(mock_client, "app", "slin16", channel_id="em-1", variables={"A": "1"}, data="d")
    (created,) = mock.requests_for("channels", "externalMedia")
    assert created.query["transport"] == "websocket" and created.query["connection_type"] == "server"
    assert created.query["channelId"] == "em-1" and created.body == {"variables": {"A": "1"}}
    assert [r.path for r in mock.requests_for("channels", "hangup")] == ["/channels/em-1"]


def test_a_failed_connection_hangs_the_new_channel_up(mock: MockServer, mock_client: Any) -> None:
    mock.stub("channels", "externalMedia", body={**CHANNEL, "channelvars": {"MEDIA_WEBSOCKET_CONNECTION_ID": "c1"}})
    with pytest.raises(media.MediaError, match="404"):  # the mock has no /media/c1
        media.open_websocket(
            mock_client, "app", "ulaw", control_format="json", direction="in", auto_answer=False, timeout=2
        )
    (created,) = mock.requests_for("channels", "externalMedia")
    assert created.query["transport_data"] == "f(json)d(in)n"
    assert len(mock.requests_for("channels", "hangup")) == 1
    mock.stub("channels", "externalMedia", body={**CHANNEL, "channelvars": {}})
    server = media.MediaServer()
    try:
        with pytest.raises(media.MediaError, match="no media connection for channel em-1"):
            media.open_outbound(
                mock_client,
                "app",
                server,
                "out",
                "slin16",
                channel_id="em-1",
                transport_data="f(json)",
                variables={"B": "2"},
                timeout=0.1,
            )
    finally:
        server.close()
    assert len(mock.requests_for("channels", "hangup")) == 2


def test_open_rtp_sends_where_the_channel_says_and_closes_its_socket_on_refusal(
    mock: MockServer, mock_client: Any
) -> None:
    mock.stub("channels", "externalMedia", status=400, body={"message": "nope"})
    with pytest.raises(ari.BadRequest):
        media.open_rtp(mock_client, "app", "ulaw")
    with pytest.raises(media.MediaError, match="unknown audio format 'g729'"):
        media.open_rtp(mock_client, "app", "g729")
    asterisk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    asterisk.bind(("127.0.0.1", 0))
    asterisk.settimeout(2)
    port = asterisk.getsockname()[1]
    mock.stub(
        "channels",
        "externalMedia",
        body={
            "id": "rtp-1",
            "name": "UnicastRTP/x",
            "state": "Down",
            "channelvars": {"UNICASTRTP_LOCAL_ADDRESS": "127.0.0.1", "UNICASTRTP_LOCAL_PORT": str(port)},
        },
    )
    with media.open_rtp(mock_client, "app", "alaw", channel_id="rtp-1", variables={"V": "1"}, data="d") as session:
        assert session.remote == ("127.0.0.1", port)
        session.send(codecs.tone(300, 0.04, "alaw"))
        first, _ = asterisk.recvfrom(2048)
        packet = rtp.parse(first)
        assert packet.payload_type == 8 and len(packet.payload) == 160 and packet.ssrc == session.ssrc
    assert [r.path for r in mock.requests_for("channels", "hangup")] == ["/channels/rtp-1"]
    asterisk.close()


def test_rtp_from_any_sender_dtmf_once_and_bad_packets_counted() -> None:
    sock = media.bind()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(2)
    session = media.RtpMedia("chan-9", codecs.codec("slin16"), sock, None)
    digits: List[str] = []
    session.on("DTMF_END", lambda e: digits.append(e.digit))
    try:
        with pytest.raises(media.MediaError, match="no address"):
            session.send_dtmf("1")
        audio = codecs.tone(500, 0.02, "slin16")
        target = sock.getsockname()
        peer.sendto(rtp.RtpPacket(118, 1, 320, 7, codecs.byteswap(audio)).to_bytes(), target)
        peer.sendto(b"junk", target)
        peer.sendto(rtp.RtpPacket(0, 2, 480, 7, b"\xff" * 160).to_bytes(), target)  # not our payload type
        start = rtp.TelephoneEvent("7", False, 10, 160).to_bytes()
        end = rtp.TelephoneEvent("7", True, 10, 800).to_bytes()
        peer.sendto(rtp.RtpPacket(101, 3, 1000, 7, start).to_bytes(), target)
        for n in range(3):
            peer.sendto(rtp.RtpPacket(101, 4 + n, 1000, 7, end).to_bytes(), target)
        peer.sendto(rtp.RtpPacket(101, 9, 1000, 7, b"\x01").to_bytes(), target)
        frame = session.read(2)
        assert frame is not None and frame.data == audio  # big-endian on the wire, native here
        deadline = time.monotonic() + 2
        while (not digits or session.packets_ignored < 3) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert digits == ["7"] and session.packets_ignored == 3 and session.remote_ssrc == 7
        assert session.remote == peer.getsockname()  # learnt from the first packet
        session.send_dtmf("#")
        for _ in range(3):
            event = rtp.parse_event(rtp.parse(peer.recvfrom(2048)[0]).payload)
            assert event is not None and event.digit == "#" and event.end
        with pytest.raises(media.MediaError, match="not one of"):
            session.send_dtmf("x")
    finally:
        session.close()
        peer.close()
    assert sock.fileno() == -1


def test_a_media_server_takes_fragments_pings_and_json(tmp_path: Any) -> None:
    """A WebSocket peer that fragments, pings and speaks JSON: what Asterisk may do, taken in whole."""
    from websockets.sync.client import connect

    with media.MediaServer() as server:
        ws = connect(server.url, legacy=True) if _has_legacy() else connect(server.url)
        try:
            ws.send(
                '{"event":"MEDIA_START","connection_id":"c","channel":"WebSocket/c/0x1","channel_id":"9.9",'
                '"format":"ulaw","optimal_frame_size":160,"ptime":20,"channel_variables":{}}'
            )
            session = server.accept(5)
            assert session.json_format and session.channel == "9.9" and session.frame_size == 160
            ws.send([b"\x01" * 100, b"\x02" * 60])  # one message in two fragments
            ws.ping()
            ws.send('{"event":"DTMF_END","channel_id":"9.9","digit":"4"}')
            ws.send("not json {")
            frame = session.read(2)
            assert frame is not None and frame.data == b"\x01" * 100 + b"\x02" * 60
            digits: List[str] = []
            session.on("DTMF_END", lambda e: digits.append(e.digit))
            session.command("GET_STATUS")
            assert ws.recv(2) == '{"command":"GET_STATUS"}'
            ws.close()
            assert session.wait_closed(3) and session.close_code == 1000
        finally:
            ws.close()


def _has_legacy() -> bool:
    import inspect

    from websockets.sync.client import connect

    return "legacy" in inspect.signature(connect).parameters


def test_a_server_that_never_starts_media(caplog: pytest.LogCaptureFixture) -> None:
    """A peer that is not chan_websocket: no MEDIA_START, audio first, or nothing at all."""

    def handler(ws: Any) -> None:
        path = ws.request.path
        if path == "/audio":
            ws.send(b"\0" * 10)
        elif path == "/text":
            ws.send("HELLO there")
        elif path == "/bad":
            ws.send("MEDIA_START format:slin16")
        time.sleep(0.3)

    with serve(handler, "127.0.0.1", 0) as server:
        port = server.socket.getsockname()[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            for path, problem in (
                ("/audio", "not MEDIA_START"),
                ("/text", "not MEDIA_START"),
                ("/bad", "without a usable format"),
                ("/none", "closed before MEDIA_START|no MEDIA"),
            ):
                with pytest.raises(media.MediaError, match=problem):
                    media.connect(f"ws://127.0.0.1:{port}{path}", timeout=1)
        finally:
            server.shutdown()
            thread.join(2)
    with pytest.raises(media.MediaError, match="cannot connect"):
        media.connect("ws://127.0.0.1:9/media/x", timeout=1)
    with pytest.raises(media.MediaError):
        media.connect("http://not-a-websocket", timeout=1)
