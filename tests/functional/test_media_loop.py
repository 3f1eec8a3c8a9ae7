"""ari.media.MediaLoop: one thread serving many sessions' sockets and pacing, frames on absolute deadlines.

Each session here is a ``LoopSession`` over one end of a socket pair: it writes its frames
to the socket, and the test reads them at the other end with their arrival times.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, List, Optional, Tuple

import pytest

from ari.errors import MediaError
from ari.media import MediaLoop, MediaServer, codecs
from ari.media.session import LoopSession

FRAME = 160  # ulaw, 20 ms
PERIOD = 0.02


class PairSession(LoopSession):
    """A session whose transport is a socket pair: frames out, bytes in as received audio."""

    def __init__(self, name: str, loop: Optional[MediaLoop] = None, slow: Optional[Tuple[int, float]] = None) -> None:
        codec = codecs.codec("ulaw")
        self.far, near = socket.socketpair()
        super().__init__("chan-" + name, codec, 20, FRAME, name, near, loop)
        self.slow = slow  # (frame number, seconds): that frame's write takes that long
        self.write_times: List[float] = []
        try:
            self._start_loop()
        except MediaError:
            self.far.close()
            raise

    def _write_audio(self, frame: bytes) -> None:
        if self.slow is not None and len(self.write_times) == self.slow[0]:
            time.sleep(self.slow[1])  # a late turn of the loop's thread
        self.write_times.append(time.monotonic())
        self._sock.sendall(frame)

    def _on_readable(self) -> bool:
        data = self._sock.recv(65536)
        if not data:
            self._closed_by("remote", None, "hung up")
            return False
        self._received(data)
        return True

    def read_far(self, count: int, timeout: float = 5.0) -> List[float]:
        """Arrival times of ``count`` frames at the far end."""
        times: List[float] = []
        buffered = 0
        self.far.settimeout(timeout)
        while len(times) < count:
            data = self.far.recv(65536)
            assert data, "the session closed its socket"
            buffered += len(data)
            while buffered >= FRAME and len(times) < count:
                buffered -= FRAME
                times.append(time.monotonic())
        return times

    def close(self, timeout: float = 2.0) -> None:
        super().close(timeout)
        self.far.close()


def media_threads() -> List[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("ari-media"))


def test_sessions_on_one_loop_share_one_thread_and_each_is_paced() -> None:
    with MediaLoop("shared") as loop:
        sessions = [PairSession(f"s{n}", loop) for n in range(8)]
        assert media_threads() == ["ari-media-shared"]
        assert loop.sessions == 8
        for session in sessions:
            session.send(b"\x01" * FRAME * 15)
        for session in sessions:
            assert len(session.read_far(15)) == 15
            times = session.write_times
            gaps = [b - a for a, b in zip(times[session.lead :], times[session.lead + 1 :])]
            assert all(0.005 < gap < 0.045 for gap in gaps), gaps
            assert 0.2 < times[-1] - times[0] < 0.45
        for session in sessions:
            session.close()
        assert all(session.closed for session in sessions)
    assert media_threads() == []


def test_a_session_without_a_loop_has_a_thread_of_its_own() -> None:
    first, second = PairSession("a"), PairSession("b")
    assert media_threads() == ["ari-media-a", "ari-media-b"]
    first.close()
    second.close()
    assert media_threads() == []


def test_a_late_frame_does_not_shift_the_frames_after_it() -> None:
    # Frame 6's write takes 30 ms (less than the lead covers): the frames after it are still
    # due on the grid the run started with, so the loop catches up instead of sliding by 30 ms.
    with MediaLoop("late") as loop:
        session = PairSession("late", loop, slow=(6, 0.03))
        session.send(b"\x01" * FRAME * 20)
        session.read_far(20)
        writes = session.write_times
        start = writes[0]
        lead = session.lead
        offsets = sorted(writes[number] - (start + (number - lead + 1) * PERIOD) for number in range(10, 20))
        # never early; on the grid (a shifted schedule would sit 30 ms late), whatever one slow turn did
        assert offsets[0] > -0.003, offsets
        assert offsets[len(offsets) // 2] < 0.012, offsets
        # and the frame after the late one went at once, not a period later
        assert writes[7] - writes[6] < 0.012
        session.close()


def test_one_sessions_failure_closes_it_and_not_the_others() -> None:
    class Broken(PairSession):
        def _write_audio(self, frame: bytes) -> None:
            raise MediaError("the transport is gone")

    with MediaLoop("mixed") as loop:
        good, bad = PairSession("good", loop), Broken("bad", loop)
        bad.send(b"\x01" * FRAME)
        assert bad.wait_closed(2) and "transport is gone" in bad.close_reason
        good.send(b"\x01" * FRAME * 5)
        assert len(good.read_far(5)) == 5 and not good.closed
        bad.close()
        good.close()


def test_the_thread_ends_with_the_last_session_and_comes_back_with_a_new_one() -> None:
    loop = MediaLoop("again")
    first = PairSession("one", loop)
    first.far.sendall(b"\x02" * FRAME)
    frame = first.read(2)
    assert frame is not None and frame.data == b"\x02" * FRAME
    first.close()
    deadline = time.monotonic() + 2
    while media_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert media_threads() == [] and loop.thread is None
    second = PairSession("two", loop)
    assert media_threads() == ["ari-media-again"]
    second.send(b"\x01" * FRAME)
    assert len(second.read_far(1)) == 1
    loop.close()
    assert second.closed and media_threads() == []
    with pytest.raises(MediaError, match="closed"):
        PairSession("late", loop)  # its socket is closed too (filterwarnings = error would say)


def test_the_far_end_hanging_up_closes_only_its_session() -> None:
    with MediaLoop("hangup") as loop:
        gone, staying = PairSession("gone", loop), PairSession("staying", loop)
        gone.far.close()
        assert gone.wait_closed(2) and gone.close_reason == "hung up"
        staying.send(b"\x01" * FRAME * 3)
        assert len(staying.read_far(3)) == 3
        gone.close()
        staying.close()


def test_sessions_close_from_their_own_handlers() -> None:
    with MediaLoop("handler") as loop:
        session = PairSession("h", loop)
        done = threading.Event()

        def on_audio(frame: Any) -> None:
            session.close()
            done.set()

        session.on_audio(on_audio)
        session.far.sendall(b"\x02" * FRAME)
        assert done.wait(2) and session.closed


def _media_start(number: int) -> str:
    return (
        f"MEDIA_START connection_id:c{number} channel:WebSocket/test/0x{number} channel_id:ch{number} "
        "format:slin16 optimal_frame_size:640 ptime:20"
    )


def test_a_far_end_that_stops_reading_holds_up_only_its_own_session() -> None:
    # Two media WebSockets on a MediaServer's one loop; one far end reads nothing, so its TCP
    # buffers fill up: its session keeps the rest in its backlog (and writes no more audio until
    # the socket takes it), while the other session's frames go on being paced.
    from websockets.sync.client import connect as ws_connect

    with MediaServer() as server:
        peers = []
        try:
            stalled_peer = ws_connect(server.url, max_queue=1, compression=None, proxy=None, legacy=True)
            peers.append(stalled_peer)
            stalled_peer.send(_media_start(1))
            stalled = server.accept(5, channel_id="ch1")
            live_peer = ws_connect(server.url, compression=None, proxy=None, legacy=True)
            peers.append(live_peer)
            live_peer.send(_media_start(2))
            live = server.accept(5, channel_id="ch2")
            assert server.loop.thread is not None and server.loop.sessions == 2
            stalled.lead = stalled.max_ahead = 10**6
            stalled.send(b"\x01\x00" * 320 * 20000)  # 12.8 MB at once: more than any socket buffer holds
            deadline = time.monotonic() + 5
            while not stalled._wants_write() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert stalled._wants_write(), "the far end's buffers never filled"
            live.send(b"\x02\x00" * 320 * 10)
            started = time.monotonic()
            got = 0
            while got < 10:
                message = live_peer.recv(2)
                if isinstance(message, bytes):
                    got += 1
            assert time.monotonic() - started < 1.0
            assert not stalled.closed and stalled.queued_bytes > 0
        finally:
            for peer in peers:
                peer.socket.close()  # no closing handshake: one of them reads nothing
    assert media_threads() == []


def test_a_burst_of_reads_does_not_hold_up_a_frame_that_came_due() -> None:
    # Four sessions whose reading takes 30 ms each get data at once (120 ms of reading); a fifth
    # sends meanwhile: its frames go between the reads, never more than one read late.
    class SlowReader(PairSession):
        def _on_readable(self) -> bool:
            time.sleep(0.03)
            return super()._on_readable()

    with MediaLoop("burst") as loop:
        writer = PairSession("writer", loop)
        readers = [SlowReader(f"r{n}", loop) for n in range(4)]
        writer.send(b"\x01" * FRAME * 30)
        writer.read_far(writer.lead + 2)  # its run has begun: one frame each 20 ms
        for reader in readers:
            reader.far.sendall(b"\x02" * FRAME)
        writer.read_far(10)
        times = writer.write_times[writer.lead :]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert max(gaps) < 0.08, gaps  # the reads in one go would leave a gap of 120 ms
        for session in [writer, *readers]:
            session.close()
