"""aioari on the feeder's stream: events/s through object-event handlers (it builds objects per event).

Run by bench/events.py with an interpreter that has aioari (``pip install aioari``):
``python bench/peers/aioari_events.py URL COUNT`` prints the rate.
"""

import asyncio
import sys
import time

import aioari

TYPES_BY_OBJECT = {
    "channel": ("StasisStart", "ChannelStateChange", "ChannelVarset", "ChannelDtmfReceived", "StasisEnd"),
    "playback": ("PlaybackStarted", "PlaybackFinished"),
}


async def main(url: str, count: int) -> None:
    client = await aioari.connect(url, "asterisk", "asterisk")
    seen = 0
    done = asyncio.Event()

    def handler(*args: object) -> None:
        nonlocal seen
        seen += 1
        if seen == count:
            done.set()

    for event_type in TYPES_BY_OBJECT["channel"]:
        client.on_channel_event(event_type, handler)
    for event_type in TYPES_BY_OBJECT["playback"]:
        client.on_playback_event(event_type, handler)
    start = time.perf_counter()
    task = asyncio.create_task(client.run(apps="bench"))
    await asyncio.wait_for(done.wait(), 120)
    rate = count / (time.perf_counter() - start)
    await client.close()
    task.cancel()
    print(rate)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
