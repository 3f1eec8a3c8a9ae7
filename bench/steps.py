"""Events, step by step: CPU microseconds per event of each step of ari's path beside the stdlib ceiling's.

``python -m bench.steps [COUNT]`` (not part of ``python -m bench``: it explains a figure, it is
not one).  The same frames as ``bench/events.py`` (seven types over 1,000 channels), built in
memory and handed to each step on one thread, timed by that thread's CPU time (best of five),
so other work on a shared machine does not count:

- read: ``recv`` of the whole stream in 64 KiB reads over a loopback socket pair;
- split: ``websockets``' sans-I/O ``Protocol`` (what ``stream.Link`` uses) and its
  ``Frame.parse`` alone, beside a plain walk over the frame headers (the stdlib ceiling of
  ``bench/events.py``) and aiohttp's compiled ``WebSocketReader`` when aiohttp has it (a
  private class: shown, not used);
- decode: ``dispatch._decode`` as the dispatcher runs it (with orjson when installed) beside
  ``json.loads``;
- route, promote, call: ``Promoter.route_key``, ``Promoter.promote`` and the registry's
  ``deliver`` (promotion, the signal lookup and the handler call).

What is left between the sum of the steps and the measured rate is the hand-off between the
reader and dispatcher threads.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import sys
import threading
import time
from typing import Any, Callable, Dict, Generator, List

from .servers import EVENT_TYPES, PASSWORD, USER, Server, stream_blob

CHUNK = 65536


def _best(count: int, run: Callable[[], Any], rounds: int = 5) -> float:
    """CPU microseconds per event of ``run`` on this thread, best of ``rounds``."""
    values = []
    for _ in range(rounds):
        gc.collect()
        start = time.thread_time()
        run()
        values.append(time.thread_time() - start)
    return min(values) / count * 1e6


def _split_by_headers(chunks: List[bytes]) -> List[bytes]:
    data, pos, out = bytearray(), 0, []
    for chunk in chunks:
        data += chunk
        end = len(data)
        while end - pos >= 2:
            length, header = data[pos + 1] & 0x7F, 2
            if length == 126:
                if end - pos < 4:
                    break
                length, header = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if end - pos < 10:
                    break
                length, header = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
            if end - pos < header + length:
                break
            out.append(bytes(data[pos + header : pos + header + length]))
            pos += header + length
        del data[:pos]
        pos = 0
    return out


def measure(count: int) -> Dict[str, float]:
    from websockets.frames import Frame
    from websockets.protocol import Protocol, Side, State
    from websockets.streams import StreamReader

    import ari
    from ari.dispatch import _decode, fast_loads

    blob = stream_blob(count, 1000)
    chunks = [blob[i : i + CHUNK] for i in range(0, len(blob), CHUNK)]
    out: Dict[str, float] = {}

    def read() -> None:
        ours, theirs = socket.socketpair()
        writer = threading.Thread(target=lambda: (theirs.sendall(blob), theirs.close()))
        writer.start()
        while ours.recv(CHUNK):
            pass
        writer.join()
        ours.close()

    def split_websockets() -> None:
        protocol = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
        for chunk in chunks:
            protocol.receive_data(chunk)
            protocol.data_to_send()
            protocol.events_received()

    def split_frames_only() -> None:
        # websockets' frame parser without the Protocol around it (its state machine, the
        # event list): what stream.Link could save while still not framing by hand.
        reader = StreamReader()
        out: List[bytes] = []

        def frames() -> Generator[None, None, None]:
            while True:
                frame = yield from Frame.parse(reader.read_exact, mask=False, max_size=None)
                out.append(frame.data)

        parser = frames()
        next(parser)
        for chunk in chunks:
            reader.feed_data(chunk)
            next(parser)

    out["read: recv, 64 KiB at a time"] = _best(count, read)
    out["split: websockets Protocol (ari)"] = _best(count, split_websockets)
    out["split: websockets Frame.parse alone"] = _best(count, split_frames_only)
    out["split: frame headers walked (ceiling)"] = _best(count, lambda: _split_by_headers(chunks))
    aiohttp_split = _aiohttp_splitter(chunks, count)
    if aiohttp_split is not None:
        out["split: aiohttp WebSocketReader, compiled"] = _best(count, aiohttp_split)
    payloads = _split_by_headers(chunks)

    def each(fn: Callable[[Any], Any], items: List[Any]) -> Callable[[], None]:
        def run() -> None:
            for item in items:
                fn(item)

        return run

    gc.freeze()  # the payloads live on; what each step makes dies young, as in a stream
    fast = fast_loads()  # as a running dispatcher decodes: with orjson when installed
    out[f"decode: dispatch._decode (ari, {'orjson' if fast else 'json'})"] = _best(
        count, each(lambda p: _decode(p, fast), payloads)
    )
    out["decode: json.loads (ceiling)"] = _best(count, each(json.loads, payloads))
    gc.unfreeze()
    with Server("mock") as server:
        client = ari.connect(server.url, USER, PASSWORD)
        try:

            def handler(event: Any, instance: Any) -> None:
                instance.id  # noqa: B018 - as bench/events.py's handler

            for event_type in EVENT_TYPES:
                client.on(event_type, handler)
            from ari.dispatch import Dispatcher
            from ari.events import Promoter

            promoter = Promoter(client.meta)
            dispatcher = Dispatcher(client.meta.events, promoter)

            def on_fresh(fn: Callable[[Any], Any]) -> float:
                values = []
                for _ in range(5):
                    frames = [json.loads(p) for p in payloads]  # promotion replaces fields
                    gc.collect()
                    gc.freeze()
                    start = time.thread_time()
                    for data in frames:
                        fn(data)
                    values.append(time.thread_time() - start)
                    gc.unfreeze()
                return min(values) / count * 1e6

            out["route: Promoter.route_key"] = on_fresh(promoter.route_key)
            out["promote: Promoter.promote"] = on_fresh(promoter.promote)
            out["promote + route + call: deliver"] = on_fresh(lambda data: dispatcher.deliver(data, 0.0))
        finally:
            client.close()
    return out


def _aiohttp_splitter(chunks: List[bytes], count: int) -> Any:
    try:
        from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader
    except ImportError:
        return None
    loop = asyncio.new_event_loop()

    class Paused:
        _reading_paused = False

        def pause_reading(self) -> None:
            pass

        def resume_reading(self) -> None:
            pass

    def run() -> None:
        queue = WebSocketDataQueue(Paused(), 2**30, loop=loop)
        reader = WebSocketReader(queue, 0, False, False)
        buffer = queue._buffer
        for chunk in chunks:
            reader.feed_data(chunk)
            buffer.clear()

    try:
        run()
    except (TypeError, AttributeError):  # a private class: its signature changes between releases
        return None
    return run


def main(argv: List[str]) -> None:
    count = int(argv[0]) if argv else 50_000
    steps = measure(count)
    for name, us in steps.items():
        print(f"{name:42} {us:6.2f} us/event")
    ours = sum(steps[k] for k in steps if k.startswith(("read", "decode: dispatch", "promote + route")))
    ours += steps["split: websockets Protocol (ari)"]
    ceiling = steps["read: recv, 64 KiB at a time"] + sum(v for k, v in steps.items() if "(ceiling)" in k)
    print(f"{'sum of ari steps':42} {ours:6.2f} us/event")
    print(f"{'sum of ceiling steps':42} {ceiling:6.2f} us/event  (ratio {ceiling / ours:.2f}x)")


if __name__ == "__main__":
    main(sys.argv[1:])
