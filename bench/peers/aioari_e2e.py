"""The end-to-end application written with aioari, run as its own process by ``bench/e2e.py``.

``python bench/peers/aioari_e2e.py URL USER PASSWORD CALLS CONCURRENCY PREFIX DEADLINE``: the same
application and protocol as ``bench/e2e_ari.py`` (READY, GO on stdin, one JSON line).  aioari
awaits each handler before it reads the next event, so the handlers start tasks, as an
application that runs calls side by side must.
"""

import asyncio
import json
import os
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from bench.e2e_ari import APP, ENDPOINT, SOUND, install_connect_counter, usage  # noqa: E402

connects = install_connect_counter()

import aioari  # noqa: E402


async def main(url, user, password, calls, concurrency, prefix, deadline):
    client = await aioari.connect(url, user, password)
    slots = asyncio.Semaphore(concurrency)
    started = {}
    rest = defaultdict(list)
    call_ms = []
    errors = []
    all_done = asyncio.Event()
    tasks = set()

    async def timed(op, coro):
        t0 = time.perf_counter()
        try:
            return await coro
        finally:
            rest[op].append((time.perf_counter() - t0) * 1e3)

    def spawn(coro):
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def end_call(cid):
        t0 = started.pop(cid, None)
        if t0 is None:
            return
        call_ms.append((time.perf_counter() - t0) * 1e3)
        slots.release()
        if len(call_ms) == calls:
            all_done.set()

    async def handle_start(channel):
        try:
            await timed("answer", channel.answer())
            await timed("play", channel.play(media=SOUND, playbackId=f"{channel.id}-p"))
        except Exception as exc:
            errors.append(f"answer/play: {exc!r}"[:300])

    async def handle_finished(cid):
        try:
            await timed("hangup", client.channels.hangup(channelId=cid))
        except Exception as exc:
            errors.append(f"hangup: {exc!r}"[:300])

    def on_start(channels, event):
        channel = channels["channel"]  # StasisStart has two Channel fields: aioari passes both by name
        if channel.id in started:
            spawn(handle_start(channel))

    def on_finished(playback, event):
        cid = event["playback"]["target_uri"].split(":", 1)[1]
        if cid in started:
            spawn(handle_finished(cid))

    def on_end(channel, event):
        end_call(channel.id)

    client.on_channel_event("StasisStart", on_start)
    client.on_playback_event("PlaybackFinished", on_finished)
    client.on_channel_event("StasisEnd", on_end)
    runner = asyncio.ensure_future(client.run(apps=APP))
    while not client.websockets:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # aioari says nothing when the socket is open: let the upgrade finish
    print("READY", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if line.strip() != "GO":
        return {}
    connects[0] = 0
    u0 = usage()
    start = time.perf_counter()
    limit = time.monotonic() + deadline

    async def originate(cid):
        try:
            await timed("originate", client.channels.originate(endpoint=ENDPOINT, app=APP, channelId=cid))
        except Exception as exc:
            errors.append(f"originate: {exc!r}"[:300])
            end_call(cid)

    try:
        for i in range(calls):
            await asyncio.wait_for(slots.acquire(), max(0.01, limit - time.monotonic()))
            cid = f"{prefix}-{i}"
            started[cid] = time.perf_counter()
            spawn(originate(cid))
        await asyncio.wait_for(all_done.wait(), max(0.01, limit - time.monotonic()))
    except asyncio.TimeoutError:
        errors.append("deadline reached")
    seconds = time.perf_counter() - start
    u1 = usage()
    result = {
        "client": "aioari",
        "calls": len(call_ms),
        "seconds": seconds,
        "call_ms": call_ms,
        "rest_ms": dict(rest),
        "errors": errors,
        "connects": connects[0],
        **{k: u1[k] - u0[k] for k in u0},
    }
    runner.cancel()
    await client.close()
    return result


if __name__ == "__main__":
    url, user, password, calls, concurrency, prefix, deadline = sys.argv[1:8]
    out = asyncio.run(main(url, user, password, int(calls), int(concurrency), prefix, float(deadline)))
    print(json.dumps(out), flush=True)
