"""ari.media.session and the WebSocket's control texts: pacing, flow control, marks, events, closing."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from ari.errors import MediaError
from ari.media import codecs
from ari.media.session import Frame, MediaEvent, MediaSession
from ari.media.websocket import _typed, parse_control


class Recorder(MediaSession):
    """A session whose transport writes into a list, with the time of each frame."""

    def __init__(self, fmt: str = "ulaw", ptime: int = 20) -> None:
        codec = codecs.codec(fmt)
        super().__init__("chan-1", codec, ptime, codec.frame_bytes(ptime), "test")
        self.written: List[Tuple[float, Any]] = []
        self.shut = 0
        self.changed = threading.Condition()

    def _write_audio(self, frame: bytes) -> None:
        with self.changed:
            self.written.append((time.monotonic(), frame))
            self.changed.notify_all()

    def _send_mark(self, mark: Any) -> None:
        with self.changed:
            self.written.append((time.monotonic(), mark))
            self.changed.notify_all()
        super()._send_mark(mark)

    def _shutdown(self) -> None:
        self.shut += 1

    def wait_written(self, count: int, timeout: float = 5.0) -> List[Any]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.written) >= count, timeout), self.written
            return [item for _, item in self.written]


def test_send_cuts_any_length_into_whole_frames_and_pads_the_tail() -> None:
    with Recorder() as media:
        media.send(b"\x01" * 100)
        media.send(b"\x02" * 250)  # 350 bytes: two frames and a 30-byte tail
        items = media.wait_written(3)
        assert [len(f) for f in items] == [160, 160, 160]
        assert items[0] == b"\x01" * 100 + b"\x02" * 60
        assert items[2] == b"\x02" * 30 + b"\xff" * 130  # padded with ulaw silence
        assert media.frames_sent == 3 and media.queued_bytes == 0


def test_frames_are_paced_at_ptime_after_a_short_lead() -> None:
    with Recorder() as media:
        media.send(b"\x01" * 160 * 13)
        media.wait_written(13, timeout=5)
        times = [t for t, _ in media.written]
        # the first `lead` frames go at once, then one per 20 ms
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert sum(gaps[: media.lead - 1]) < 0.015
        assert 0.17 < times[-1] - times[0] < 0.5
        later = gaps[media.lead :]
        assert all(0.01 < gap < 0.05 for gap in later), later


def test_a_mark_follows_the_audio_before_it() -> None:
    with Recorder() as media:
        played: List[str] = []
        media.send(b"\x01" * 200)
        mark = media.mark("half", lambda m: played.append(m.name))
        media.send(b"\x02" * 160)
        items = media.wait_written(4)
        assert [type(i).__name__ for i in items] == ["bytes", "bytes", "Mark", "bytes"]
        assert items[1] == b"\x01" * 40 + b"\xff" * 120  # the audio before a mark is played out whole
        assert mark.wait(2) and mark.played and "played" in repr(mark)
        deadline = time.monotonic() + 2
        while not played and time.monotonic() < deadline:
            time.sleep(0.01)
        assert played == ["half"]
        assert media.drain(2)
        with pytest.raises(MediaError, match="no spaces"):
            media.mark("two words")


def test_xoff_holds_the_writer_until_xon_and_nothing_is_lost() -> None:
    with Recorder() as media:
        media.lead = 10**6  # a burst: only flow control holds it
        media._event(MediaEvent("MEDIA_XOFF", {}))
        assert media.xoff and media.xoff_count == 1
        media.send(b"\x01" * 160 * 50)
        time.sleep(0.1)
        assert media.written == [] and media.queued_bytes == 8000
        media._event(MediaEvent("MEDIA_XON", {}))
        assert len(media.wait_written(50)) == 50


def test_pause_holds_resume_goes_on_flush_drops() -> None:
    with Recorder() as media:
        media.lead = 10**6
        media.pause()
        media.send(b"\x01" * 1600)
        time.sleep(0.05)
        assert media.written == []
        media.flush()
        assert media.queued_bytes == 0
        media.resume()
        media.send(b"\x02" * 160)
        assert media.wait_written(1) == [b"\x02" * 160]


def test_received_frames_iterate_with_timing_until_closed() -> None:
    media = Recorder("slin16")
    for n in range(3):
        media._received(bytes([n]) * 640)
    frames: List[Frame] = []
    reader = threading.Thread(target=lambda: frames.extend(media))
    reader.start()
    time.sleep(0.05)
    media.close()
    reader.join(2)
    assert [(f.number, f.time, f.data[0]) for f in frames] == [(0, 0.0, 0), (1, 0.02, 1), (2, 0.04, 2)]
    assert media.read(0.01) is None and media.shut == 1
    media.close()  # idempotent
    assert media.shut == 1 and media.closed and "closed" in repr(media)
    with pytest.raises(MediaError, match="closed"):
        media.send(b"\0")


def test_unread_frames_beyond_the_backlog_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    with Recorder() as media:
        media._frames = type(media._frames)(maxlen=2)
        for _ in range(5):
            media._received(b"\0" * 160)
        assert media.frames_dropped == 3 and media.frames_received == 5
        assert "not being read" in caplog.text


def test_callbacks_run_on_the_handler_thread_and_a_raising_one_stops_nothing() -> None:
    errors: List[BaseException] = []
    seen: List[Any] = []
    with Recorder() as media:
        media.on_handler_error = errors.append

        def bad(frame: Frame) -> None:
            raise ValueError("boom")

        media.on_audio(bad)
        media.on_audio(lambda f: seen.append((threading.current_thread().name, f.number)))
        media.on("DTMF_END", lambda e: seen.append(e.digit))
        media._received(b"\0" * 160)
        media._event(parse_control("DTMF_END digit:5 channel_id:x"))
        deadline = time.monotonic() + 2
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert seen == [("ari-media-events-test", 0), "5"]
    assert [str(e) for e in errors] == ["boom"]


def test_closed_event_and_waiting() -> None:
    events: List[MediaEvent] = []
    media = Recorder()
    media.on("CLOSED", events.append)
    assert not media.wait_closed(0.01)
    media._closed_by("remote", 1000, "hung up")
    assert media.wait_closed(1)
    media.close()
    assert media.shut == 0  # closed by the far end: nothing to hang up
    assert events == [MediaEvent("CLOSED", {"code": 1000, "reason": "hung up", "by": "remote"})]
    assert media.close_code == 1000 and media.close_reason == "hung up"


def test_send_takes_bytes_only() -> None:
    with Recorder() as media, pytest.raises(MediaError, match="not str"):
        media.send("hello")  # type: ignore[arg-type]


def test_play_wav_converts_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(codecs.tone(400, 0.1, "slin"))
    with Recorder("slin16") as media:
        media.lead = 10**6
        mark = media.play_wav(path)
        assert mark.wait(2)
        frames = [f for f in media.wait_written(6) if isinstance(f, bytes)]
        assert [len(f) for f in frames] == [640] * 5 and codecs.rms(b"".join(frames)) > 5000
        with pytest.raises(MediaError, match="cannot read"):
            media.play_wav(tmp_path / "missing.wav")
        stereo = tmp_path / "s.wav"
        with wave.open(str(stereo), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(b"\0" * 64)
        with pytest.raises(MediaError, match="mono 16-bit"):
            media.play_wav(stereo)


def test_plain_text_controls() -> None:
    start = parse_control(
        "MEDIA_START connection_id:abc channel:WebSocket/INCOMING/0x1 channel_id:1.2 format:slin16 "
        "optimal_frame_size:640 ptime:20"
    )
    assert start.name == "MEDIA_START" and start.fields["optimal_frame_size"] == "640"
    assert start.fields["channel"] == "WebSocket/INCOMING/0x1"
    error = parse_control("ERROR channel_id:1.2 error_text:SET_MEDIA_DIRECTION only supports JSON format.\n")
    assert error.fields == {"channel_id": "1.2", "error_text": "SET_MEDIA_DIRECTION only supports JSON format."}
    assert parse_control("MEDIA_MARK_PROCESSED m-1").fields == {"correlation_id": "m-1"}
    assert parse_control("MEDIA_BUFFERING_COMPLETED").fields == {"correlation_id": ""}
    assert parse_control("MEDIA_XOFF") == MediaEvent("MEDIA_XOFF", {}, "MEDIA_XOFF")
    status = parse_control(
        "STATUS channel_id:1.2 queue_length:3 xon_level:800 xoff_level:900 queue_full:false "
        "bulk_media:true media_paused:false"
    )
    assert _typed(status.fields) == {
        "channel_id": "1.2",
        "queue_length": 3,
        "xon_level": 800,
        "xoff_level": 900,
        "queue_full": False,
        "bulk_media": True,
        "media_paused": False,
    }


def test_json_controls() -> None:
    event = parse_control('{"event":"DTMF_END","channel_id":"1.2","digit":"#"}')
    assert event.name == "DTMF_END" and event.digit == "#"
    with pytest.raises(MediaError, match="not valid JSON"):
        parse_control("{nope")
    with pytest.raises(MediaError, match="without an event name"):
        parse_control('{"command":"x"}')


def test_a_wait_for_an_answer_fails_when_the_media_closes() -> None:
    media = Recorder()
    failures: List[str] = []

    asked = threading.Event()

    def ask() -> None:
        try:
            media._wait_event("STATUS", asked.set, 5)  # sent once its waiter is in place
        except MediaError as error:
            failures.append(str(error))

    asking = threading.Thread(target=ask)
    asking.start()
    assert asked.wait(5)  # closing before the question is asked would be another case
    media._closed_by("remote", 1000, "hung up")
    asking.join(2)
    media.close()
    assert len(failures) == 1 and "closed before STATUS came (hung up)" in failures[0]
    with pytest.raises(MediaError, match="no STATUS within 0.01 s"):
        Recorder()._wait_event("STATUS", lambda: None, 0.01)
