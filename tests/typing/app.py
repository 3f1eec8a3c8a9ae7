"""A sample application, type-checked (mypy and pyright, strict) against the shipped stubs.

Never run: tests/typing/test_stubs.py only checks that type checkers accept it.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, List, Optional

import ari

if TYPE_CHECKING:
    from ari.types import Bridge, Channel, ChannelDtmfReceived, StasisStart


def stasis_start(event: StasisStart, channel: Channel) -> None:
    print(event.application, event.args, channel.name, channel.caller.number)
    channel.answer()
    channel.play(media="sound:hello-world", lang="en")
    channel.send_dtmf(dtmf="12#", between=100)
    channel.sendDTMF(dtmf="3")


def dtmf(event: ChannelDtmfReceived, channel: Channel) -> None:
    if event.digit == "#":
        channel.hangup(reason="normal")


def main() -> None:
    client: ari.Client = ari.connect("http://localhost:8088", "asterisk", "asterisk")
    with client:
        channels: List[Channel] = client.channels.list()
        for channel in channels:
            print(channel.id, channel.state)
        created: Channel = client.channels.originate(endpoint="Local/wait@default", app="hello", timeout=30)
        same: Channel = client.channels.originate({"endpoint": "Local/wait@default", "app": "hello"})
        snake: Channel = client.channels.originate_with_id(channel_id="abc", endpoint="PJSIP/1000", app="hello")
        bridge: Bridge = client.Bridge()
        bridge.create(type="mixing,dtmf_events", name="conference")
        bridge.addChannel(channel=[created.id, same.id])
        bridge.add_channel(channel=snake.id, role="participant")
        future: Future[List[Bridge]] = client.bridges.list_async()
        print(len(future.result()))

        def done(err: Optional[BaseException], result: Optional[Channel]) -> None:
            print(err, result)

        pending: Future[Channel] = client.channels.get(channelId=created.id, callback=done)
        pending.result()
        info = client.asterisk.get_info()
        print(info.system.version, info.build.os)
        data: bytes = client.recordings.get_stored_file(recordingName="greeting")
        print(len(data))
        var: Any = client.asterisk.getGlobalVar(variable="X").value
        print(var)
        client.on("StasisStart", stasis_start)
        client.on("ChannelDtmfReceived", dtmf)
        client.on("WebSocketReconnecting", lambda event: print(event.error))
        client.on("*", lambda event: print(event.type))
        created.on("*", lambda event: print(event.type))
        client.device_states.update(deviceName="Stasis:x", deviceState="BUSY")
        client.run("hello")
