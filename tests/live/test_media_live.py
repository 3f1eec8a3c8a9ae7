"""ari.media on a real Asterisk (20.16+, 22.6+): run only when ARI_URL names one.

    ARI_URL=http://127.0.0.1:8088 [ARI_USERNAME=asterisk ARI_PASSWORD=asterisk] python -m pytest tests/live

Needs the dialplan of ../shared/asterisk (context ``default``: ``echo``, ``moh``, ``dtmf``) and, for
Asterisk connecting out, a websocket_client.conf section ``media-out`` (``connection_type =
per_call_config``, ``uri = ws://127.0.0.1:18791/media``, ``protocols = media``).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any, Iterator, List

import pytest

import ari
from ari import media
from ari.media import codecs

URL = os.environ.get("ARI_URL")
pytestmark = pytest.mark.skipif(not URL, reason="ARI_URL names no Asterisk to test against")


@pytest.fixture
def client() -> Iterator[Any]:
    assert URL is not None
    user = os.environ.get("ARI_USERNAME", "asterisk")
    password = os.environ.get("ARI_PASSWORD", "asterisk")
    with ari.connect(URL, user, password) as c:
        app = "media-live-" + uuid.uuid4().hex[:8]
        c.app_name = app  # type: ignore[attr-defined]
        c.start(app)
        time.sleep(0.3)
        yield c


def call(client: Any, session: media.MediaSession, endpoint: str) -> Any:
    """A call to ``endpoint`` in the test's application, bridged with ``session``'s channel."""
    peer = client.channels.originate(endpoint=endpoint, app=client.app_name)
    deadline = time.monotonic() + 5
    while client.channels.get(channelId=peer.id).state != "Up" and time.monotonic() < deadline:
        time.sleep(0.05)
    bridge = client.bridges.create(type="mixing")
    bridge.addChannel(channel=[session.channel.id, peer.id])
    return peer, bridge


def frames_for(session: media.MediaSession, seconds: float) -> List[media.Frame]:
    out: List[media.Frame] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        frame = session.read(0.1)
        if frame is not None:
            out.append(frame)
    return out


def test_audio_in_from_moh(client: Any) -> None:
    with media.open_websocket(client, client.app_name, "slin16") as session:
        assert (session.frame_size, session.ptime) == (640, 20)
        peer, bridge = call(client, session, "Local/moh@default")
        frames = frames_for(session, 1.0)
        assert 40 <= len(frames) <= 60 and {len(f.data) for f in frames} == {640}
        assert codecs.rms(b"".join(f.data for f in frames)) > 100
        peer.hangup()
        bridge.destroy()


def test_audio_out_comes_back_through_echo_and_marks_follow_it(client: Any) -> None:
    with media.open_websocket(client, client.app_name, "slin16") as session:
        peer, bridge = call(client, session, "Local/echo@default")
        tone = codecs.tone(440, 1.0, "slin16")
        started = time.monotonic()
        session.send(tone)
        mark = session.mark("after-tone")
        assert mark.wait(5)
        assert 0.9 < mark.played_at - started < 1.4
        back = b"".join(f.data for f in frames_for(session, 0.5))
        assert len(back) >= len(tone) * 0.9 and abs(codecs.rms(back) - codecs.rms(tone)) < 500
        peer.hangup()
        bridge.destroy()


def test_flow_control_under_a_burst(client: Any) -> None:
    with media.open_websocket(client, client.app_name, "ulaw") as session:
        session.lead = 10**6
        session.send(b"\x7f" * 160 * 1000)  # 20 s at once: the library stays short of XOFF
        time.sleep(0.5)
        status = session.status()
        assert status["queue_length"] <= session.max_ahead and not status["queue_full"]
        assert session.xoff_count == 0
        session.flush()
        session.lead = session.max_ahead = 950  # now past XOFF (900), short of the drop level (1000)
        session.send(b"\x7f" * 160 * 1000)
        deadline = time.monotonic() + 5
        while not session.xoff and time.monotonic() < deadline:
            time.sleep(0.02)
        status = session.status()
        assert session.xoff_count == 1 and status["queue_full"] and status["queue_length"] < 1000
        deadline = time.monotonic() + 8
        while session.xoff and time.monotonic() < deadline:  # Asterisk says MEDIA_XON below 800
            time.sleep(0.05)
        assert not session.xoff
        session.flush()


def test_dtmf_end(client: Any) -> None:
    with media.open_websocket(client, client.app_name, "ulaw") as session:
        digits: List[str] = []
        session.on("DTMF_END", lambda e: digits.append(e.digit))
        peer, bridge = call(client, session, "Local/dtmf@default")
        deadline = time.monotonic() + 6
        while len(digits) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert digits == ["1", "2", "3", "#"]
        peer.hangup()
        bridge.destroy()


def test_hangup_both_ways(client: Any) -> None:
    session = media.open_websocket(client, client.app_name, "slin16")
    time.sleep(0.3)
    session.channel.hangup()
    assert session.wait_closed(5) and session.close_code == 1000
    session.close()
    other = media.open_websocket(client, client.app_name, "slin16")
    time.sleep(0.3)
    other.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            client.channels.get(channelId=other.channel.id)
        except ari.NotFound:
            break
        time.sleep(0.05)
    else:
        pytest.fail("closing the media did not hang the channel up")


def test_rtp(client: Any) -> None:
    with media.open_rtp(client, client.app_name, "ulaw") as session:
        peer, bridge = call(client, session, "Local/echo@default")
        session.send(codecs.tone(440, 0.5, "ulaw"))
        assert session.drain(5)
        back = frames_for(session, 0.6)
        assert len(back) >= 20 and {len(f.data) for f in back} == {160}
        assert codecs.rms(b"".join(f.data for f in back), "ulaw") > 1000
        peer.hangup()
        bridge.destroy()
    with media.open_rtp(client, client.app_name, "slin16") as session:
        peer, bridge = call(client, session, "Local/moh@default")
        frames = frames_for(session, 1.0)
        assert len(frames) >= 40 and {len(f.data) for f in frames} == {640}
        with pytest.raises(media.MediaError, match="118"):
            session.send(frames[0].data)
        peer.hangup()
        bridge.destroy()


def test_asterisk_connects_out(client: Any) -> None:
    """Needs a websocket_client.conf section ``media-out`` whose uri is ws://127.0.0.1:18791/media."""
    with media.MediaServer(port=18791, path="/media", client=client) as server:
        try:
            session = media.open_outbound(client, client.app_name, server, "media-out", "slin16")
        except ari.BadRequest as error:
            pytest.skip(f"this Asterisk has no websocket_client 'media-out': {error.message}")
        with session:
            assert session.channel.name.startswith("WebSocket/media-out/")
            peer, bridge = call(client, session, "Local/echo@default")
            session.send(codecs.tone(440, 0.5, "slin16"))
            assert session.drain(5)
            assert len(frames_for(session, 0.5)) >= 20
            peer.hangup()
            bridge.destroy()
