"""aioari on the mock server: ``channels.get`` one after another, in op/s.

Run by bench/rest.py with an interpreter that has aioari (``pip install aioari``):
``python bench/peers/aioari_rest.py URL COUNT`` prints the rate.
"""

import asyncio
import sys
import time

import aioari


async def main(url: str, count: int) -> None:
    client = await aioari.connect(url, "asterisk", "asterisk")
    for i in range(100):  # warm the connection, as the other figures do
        await client.channels.get(channelId=f"w{i}")
    start = time.perf_counter()
    for i in range(count):
        await client.channels.get(channelId=f"c{i}")
    rate = count / (time.perf_counter() - start)
    await client.close()
    print(rate)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
