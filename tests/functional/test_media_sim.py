"""ari.media against the simulator: externalMedia over a WebSocket and RTP, with far ends that sound."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator, List, Tuple

import pytest

import ari
from ari import media
from ari.media import codecs
from ari.testing import Simulator
from ari.testing.dialplan import FarEnd

APP = "media-test"


@pytest.fixture
def client(ari_sim: Simulator) -> Iterator[Any]:
    with ari.connect(ari_sim.url, ari_sim.username, ari_sim.password) as c:
        c.start(APP)
        yield c


def bridged(sim: Simulator, client: Any, session: media.MediaSession, endpoint: str) -> Tuple[Any, Any]:
    """``session``'s channel in a mixing bridge with a call to ``endpoint``."""
    sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == session.channel.id)
    peer = client.channels.originate(endpoint=endpoint, app=APP)
    sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == peer.id)
    bridge = client.bridges.create(type="mixing")
    bridge.addChannel(channel=[session.channel.id, peer.id])
    return peer, bridge


def collect(session: media.MediaSession, quiet: float = 0.3) -> List[media.Frame]:
    frames = []
    while True:
        frame = session.read(quiet)
        if frame is None:
            return frames
        frames.append(frame)


def test_websocket_opens_with_media_start_and_echo_returns_what_is_sent(ari_sim: Simulator, client: Any) -> None:
    with media.open_websocket(client, APP, "slin16") as session:
        assert (session.format, session.frame_size, session.ptime, session.sample_rate) == ("slin16", 640, 20, 16000)
        assert session.channel.name.startswith("WebSocket/INCOMING/") and session.channel.state == "Down"
        start = ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == session.channel.id)
        assert start["channel"]["state"] == "Up"  # auto-answered on connect, then into the app
        assert session.connection_id == session.channel.channelvars["MEDIA_WEBSOCKET_CONNECTION_ID"]
        bridged(ari_sim, client, session, "Local/echo@default")
        tone = codecs.tone(440, 0.5, "slin16")
        session.send(tone)
        assert session.drain(5)
        frames = collect(session)
        assert len(frames) == 25 and {len(f.data) for f in frames} == {640}
        assert [f.number for f in frames] == list(range(25))
        assert frames[1].time == pytest.approx(0.02)
        assert b"".join(f.data for f in frames) == tone  # the echo is exact, frame for frame
    ari_sim.wait_for_event("ChannelDestroyed", lambda e: e["channel"]["id"] == session.channel.id)


def test_moh_sounds_like_music_and_a_tone_far_end_is_its_tone(ari_sim: Simulator, client: Any) -> None:
    ari_sim.add_far_end("Local/tone@default", FarEnd(ring=0.0, audio="tone:1000"))
    for endpoint in ("Local/moh@default", "Local/tone@default"):
        with media.open_websocket(client, APP, "ulaw") as session:
            got: List[media.Frame] = []
            enough = threading.Event()

            def heard(frame: media.Frame, got: List[media.Frame] = got, enough: threading.Event = enough) -> None:
                got.append(frame)
                if len(got) >= 25:
                    enough.set()

            session.on_audio(heard)
            bridged(ari_sim, client, session, endpoint)
            assert enough.wait(5)
            audio = b"".join(f.data for f in got[:25])
            assert codecs.rms(audio, "ulaw") > 1000
            if endpoint.endswith("tone@default"):
                assert audio == codecs.convert(codecs.tone(1000, 0.5, "slin", 0.3), "slin", "ulaw")


def test_marks_flush_pause_buffering_status(ari_sim: Simulator, client: Any) -> None:
    with media.open_websocket(client, APP, "ulaw") as session:
        ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == session.channel.id)
        session.lead = 10**6  # a burst: Asterisk's queue paces it
        session.send(b"\x7f" * 160 * 50)
        mark = session.mark("one-second")
        sent = time.monotonic()
        assert mark.wait(5)
        assert 0.9 < mark.played_at - sent < 1.5  # played when the second of audio before it had played
        session.pause()
        session.send(b"\x7f" * 160 * 10)
        time.sleep(0.1)
        status = session.status()
        assert status["media_paused"] is True and status["queue_length"] == 0  # held here, not there
        session.resume()
        session.start_buffering()
        assert session.status()["bulk_media"] is True
        done = session.stop_buffering("b1")
        assert done.name == "MEDIA_BUFFERING_COMPLETED" and done.fields["correlation_id"] == "b1"
        session.flush()
        assert session.queued_bytes == 0 and session.status()["queue_length"] == 0
        assert session.wait_queue_drained(5).name == "QUEUE_DRAINED"
        with pytest.raises(media.MediaError, match="JSON control format"):
            session.set_direction("in")
        with pytest.raises(media.MediaError, match="longer than"):
            session.command("MARK_MEDIA", correlation_id="x" * 200)


def test_flow_control_under_a_burst_drops_nothing(ari_sim: Simulator, client: Any) -> None:
    with media.open_websocket(client, APP, "ulaw") as session:
        ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == session.channel.id)
        flow: List[str] = []
        session.on("MEDIA_XOFF", lambda e: flow.append(e.name))
        session.on("MEDIA_XON", lambda e: flow.append(e.name))
        session.lead = session.max_ahead = 950  # past XOFF (900), short of the drop level (1000)
        session.send(b"\x7f" * 160 * 1100)  # 22 s at once
        deadline = time.monotonic() + 5
        while session.xoff_count == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert session.xoff and session.queued_bytes > 0  # held here instead of dropped there
        status = session.status()
        assert status["queue_full"] is True and 900 <= status["queue_length"] < 1000
        stream = ari_sim.server.call_in_loop(lambda: ari_sim.state.world.media.by_channel[session.channel.id])
        deadline = time.monotonic() + 6
        while "MEDIA_XON" not in flow and time.monotonic() < deadline:
            time.sleep(0.02)
        assert flow[:2] == ["MEDIA_XOFF", "MEDIA_XON"]  # after 100 frames played (2 s)
        deadline = time.monotonic() + 3
        while session.queued_bytes and time.monotonic() < deadline:
            time.sleep(0.02)
        assert session.queued_bytes == 0 and session.frames_sent == 1100
        assert stream.dropped == 0


def test_dtmf_from_the_bridge_becomes_dtmf_end(ari_sim: Simulator, client: Any) -> None:
    with media.open_websocket(client, APP, "slin16") as session:
        digits: List[str] = []
        session.on("DTMF_END", lambda e: digits.append(e.digit))
        caller = ari_sim.call(APP)
        ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == session.channel.id)
        bridge = client.bridges.create(type="mixing")
        bridge.addChannel(channel=[session.channel.id, caller])
        ari_sim.dtmf(caller, "12#")
        deadline = time.monotonic() + 3
        while len(digits) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert digits == ["1", "2", "#"]


def test_hangup_closes_the_media_and_closing_hangs_up(ari_sim: Simulator, client: Any) -> None:
    session = media.open_websocket(client, APP, "slin16")
    ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == session.channel.id)
    closed: List[media.MediaEvent] = []
    session.on("CLOSED", closed.append)
    session.channel.hangup()
    assert session.wait_closed(3)
    assert session.close_code == 1000 and session.read(0.1) is None
    session.close()
    assert closed and closed[0].fields["by"] == "remote"
    with pytest.raises(media.MediaError, match="closed"):
        session.send(b"\0" * 640)

    other = media.open_websocket(client, APP, "slin16")
    ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == other.channel.id)
    other.hangup()  # the HANGUP command
    assert other.wait_closed(3)
    other.close()
    third = media.open_websocket(client, APP, "slin16")
    ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == third.channel.id)
    third.close()
    destroyed = ari_sim.wait_for_event("ChannelDestroyed", lambda e: e["channel"]["id"] == third.channel.id)
    # as on Asterisk 22.10.1: chan_websocket queues the hangup and leaves the channel's cause unset
    assert (destroyed["cause"], destroyed["cause_txt"], destroyed["tech_cause"]) == (0, "Unknown", 1001)


def test_json_control_format_and_direction(ari_sim: Simulator, client: Any) -> None:
    with media.open_websocket(client, APP, "slin16", control_format="json") as session:
        assert session.json_format and session.start_fields["ptime"] == 20
        errors: List[media.MediaEvent] = []
        session.on("ERROR", errors.append)
        session.set_direction("in")
        session.mark("refused")
        deadline = time.monotonic() + 3
        while not errors and time.monotonic() < deadline:
            time.sleep(0.02)
        assert errors[0].fields["error_text"] == "MARK_MEDIA not supported while media direction is 'in'"
        assert session.status()["queue_length"] == 0


def test_not_auto_answered_until_answer(ari_sim: Simulator, client: Any) -> None:
    with media.open_websocket(client, APP, "ulaw", auto_answer=False, direction="out") as session:
        start = ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == session.channel.id)
        assert start["channel"]["state"] == "Down"
        session.answer()
        ari_sim.wait_for_event(
            "ChannelStateChange", lambda e: e["channel"]["id"] == session.channel.id and e["channel"]["state"] == "Up"
        )


def test_unknown_and_taken_connections(ari_sim: Simulator, client: Any) -> None:
    with pytest.raises(media.MediaError, match="404"):
        media.connect(ari_sim.url.replace("http", "ws") + "/media/nope", timeout=2)
    with media.open_websocket(client, APP, "ulaw") as session:
        with pytest.raises(media.MediaError, match="409"):
            media.connect(media.media_url(client, session.connection_id), timeout=2)
    with pytest.raises(media.MediaError, match="unknown audio format"):
        media.open_websocket(client, APP, "gsm")
    with pytest.raises(media.MediaError, match="control_format"):
        media.open_websocket(client, APP, "ulaw", control_format="xml")
    with pytest.raises(media.MediaError, match="direction"):
        media.open_websocket(client, APP, "ulaw", direction="sideways")


@pytest.mark.parametrize("fmt", ["ulaw", "alaw"])
def test_rtp_echo_and_hangups(ari_sim: Simulator, client: Any, fmt: str) -> None:
    session = media.open_rtp(client, APP, fmt)
    assert session.channel.state == "Down"  # the answer comes first; then Up and StasisStart
    assert session.remote == (
        session.channel.channelvars["UNICASTRTP_LOCAL_ADDRESS"],
        int(session.channel.channelvars["UNICASTRTP_LOCAL_PORT"]),
    )
    peer, _ = bridged(ari_sim, client, session, "Local/echo@default")
    tone = codecs.tone(440, 0.4, fmt)
    session.send(tone)
    assert session.drain(5)
    frames = collect(session)
    assert b"".join(f.data for f in frames) == tone and session.packets_received == 20
    digits: List[str] = []
    session.on("DTMF_END", lambda e: digits.append(e.digit))
    peer.sendDTMF(dtmf="5*")
    # No event tells that the digits went by: a Local channel running Echo() reports them only as
    # it hangs up (recorded).  Digits carried to the RTP leg would arrive within a few frames.
    time.sleep(0.3)
    assert digits == []  # UnicastRTP carries no DTMF (recorded: only payload type 0 while digits flowed)
    session.close()
    ari_sim.wait_for_event("ChannelDestroyed", lambda e: e["channel"]["id"] == session.channel.id)

    other = media.open_rtp(client, APP, fmt)
    ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == other.channel.id)
    other.channel.hangup()
    assert other.wait_closed(3) and other.close_reason == "hung up"
    other.close()


def test_rtp_slin16_flows_from_asterisk_only(ari_sim: Simulator, client: Any) -> None:
    ari_sim.add_far_end("Local/tone@default", FarEnd(ring=0.0, audio="tone:500"))
    with media.open_rtp(client, APP, "slin16") as session:
        bridged(ari_sim, client, session, "Local/tone@default")
        frames = [session.read(2) for _ in range(10)]
        assert all(f is not None and len(f.data) == 640 for f in frames)
        audio = b"".join(f.data for f in frames if f is not None)
        assert audio == codecs.tone(500, 0.2, "slin16")  # payload type 118, big-endian on the wire
        with pytest.raises(media.MediaError, match="drops the payload type 118"):
            session.send(audio)
        # What Asterisk would drop, the simulator drops too: a raw slin16 packet is not heard.
        stream = ari_sim.server.call_in_loop(lambda: ari_sim.state.world.media.by_channel[session.channel.id])
        session._write_audio(audio[:640])
        time.sleep(0.1)
        assert stream.queue_length == 0 and stream.wire.received == 0


def test_rtp_refuses_what_it_cannot_carry(client: Any) -> None:
    with pytest.raises(media.MediaError, match="no RTP payload type"):
        media.RtpMedia("x", media.Codec("odd", 8000, 2, None), None, None)  # type: ignore[arg-type]
    with pytest.raises(media.MediaError, match="cannot open an RTP socket"):
        media.open_rtp(client, APP, "ulaw", host="203.0.113.1")


def test_a_burst_stays_short_of_xoff_by_itself(ari_sim: Simulator, client: Any) -> None:
    with media.open_websocket(client, APP, "ulaw") as session:
        ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == session.channel.id)
        session.lead = 10**6  # as fast as allowed
        session.send(b"\x7f" * 160 * 1000)
        deadline = time.monotonic() + 5
        while session.frames_sent < session.max_ahead and time.monotonic() < deadline:
            time.sleep(0.01)
        queued = session.status()["queue_length"]
        # our clock and Asterisk's tick are not in phase: a frame or two either way, far from XOFF (900)
        assert session.max_ahead - 10 <= queued <= session.max_ahead + 2 and session.xoff_count == 0
        session.flush()


def test_asterisk_connects_out_to_a_media_server(ari_sim: Simulator, client: Any) -> None:
    with media.MediaServer(path="/media", client=client) as server:
        ari_sim.add_websocket_client("media-out", server.url)
        session = media.open_outbound(client, APP, server, "media-out", "slin16", transport_data="v(call=1)")
        assert session.channel.name.startswith("WebSocket/media-out/")
        assert session.connection_id == "media-out" and session.channel_name == session.channel.name
        start = ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == session.channel.id)
        assert start["channel"]["state"] == "Up"
        bridged_peer = client.channels.originate(endpoint="Local/echo@default", app=APP)
        ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == bridged_peer.id)
        client.bridges.create(type="mixing").addChannel(channel=[session.channel.id, bridged_peer.id])
        tone = codecs.tone(700, 0.2, "slin16")
        session.send(tone)
        assert session.drain(5)
        assert b"".join(f.data for f in collect(session)) == tone
        session.close()
        ari_sim.wait_for_event("ChannelDestroyed", lambda e: e["channel"]["id"] == session.channel.id)
        with pytest.raises(media.MediaError, match="no media connection for channel x within"):
            server.accept(0.05, channel_id="x")


def test_a_media_server_nobody_listens_on_destroys_the_channel(ari_sim: Simulator, client: Any) -> None:
    ari_sim.add_websocket_client("media-down", "ws://127.0.0.1:9/media")
    channel = client.channels.externalMedia(
        app=APP,
        transport="websocket",
        encapsulation="none",
        connection_type="client",
        external_host="media-down",
        format="ulaw",
    )
    assert channel.state == "Down"
    destroyed = ari_sim.wait_for_event("ChannelDestroyed", lambda e: e["channel"]["id"] == channel.id)
    assert destroyed["cause"] == 3
    assert [e["type"] for e in ari_sim.events_sent if e.get("channel", {}).get("id") == channel.id] == [
        "ChannelDestroyed"
    ]  # as Asterisk 22.10.1 did: no StasisStart, no hangup request
    with pytest.raises(ari.BadRequest, match="valid websocket_client"):
        client.channels.externalMedia(
            app=APP,
            transport="websocket",
            encapsulation="none",
            connection_type="client",
            external_host="nope",
            format="ulaw",
        )


def test_a_media_server_refuses_other_paths(client: Any) -> None:
    with media.MediaServer(path="/media") as server:
        with pytest.raises(media.MediaError, match="404"):
            media.connect(f"ws://{server.host}:{server.port}/other", timeout=2)
        with pytest.raises(media.MediaError, match="within 0.05 s"):
            server.accept(0.05)
    with pytest.raises(media.MediaError, match="no media connection"):
        server.accept(0.05)  # closed


def test_closing_the_client_closes_its_media_and_ends_their_threads(ari_sim: Simulator) -> None:
    c = ari.connect(ari_sim.url, ari_sim.username, ari_sim.password)
    c.start(APP)
    sessions = [media.open_websocket(c, APP, "ulaw"), media.open_rtp(c, APP, "ulaw")]
    assert not any(s.closed for s in sessions)
    c.close()
    assert all(s.closed for s in sessions)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("ari-media")]
    with pytest.raises(ari.ClosedError):
        c.meta.adopt(sessions[0])
