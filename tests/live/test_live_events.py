"""Events through the library on a real Asterisk (ARI_URL): promotion to instances, instance
listeners and their release, REST over the event socket, reconnect across a restart."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Any, List

import pytest

import ari
from ari.events import ENDS_GRACE

from .conftest import PASSWORD, URL, USER, WAIT, Seen, call_via_dialplan, hang_up_all, new_id


def _released(client: Any, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while client.meta.events.keyed_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    return client.meta.events.keyed_count() == 0


def test_instance_listeners_of_an_originated_call_fire_and_are_released(started: Any, app: str) -> None:
    seen = Seen()
    channel = started.Channel()
    channel.on("StasisStart", seen)
    channel.on("ChannelDestroyed", seen)
    channel.originate(endpoint="Local/wait@default", app=app)
    event, instance = seen.wait(lambda e: e.type == "StasisStart")
    assert instance.id == channel.id and event.channel.state == "Up"
    instance.hangup()
    seen.wait(lambda e: e.type == "ChannelDestroyed")
    assert _released(started), "the channel's listeners outlived ChannelDestroyed"


def test_instance_listeners_of_a_dialplan_call_are_released(started: Any, app: str) -> None:
    """A call entering through Stasis() gets no ChannelDestroyed after StasisEnd on a real
    Asterisk: its instance listeners must be released all the same (the library releases them
    once its grace after StasisEnd has passed, on the next event the application gets)."""
    seen = Seen()
    ended = Seen()

    def stasis_start(event: Any, channel: Any) -> None:
        channel.on("ChannelDtmfReceived", seen)
        channel.on("StasisEnd", ended)
        seen(event, channel)

    started.on("StasisStart", stasis_start)
    chan = call_via_dialplan(started, app, "dtmf")
    seen.wait(lambda e: e.type == "ChannelDtmfReceived" and e.digit == "#")
    started.channels.hangup(channelId=chan)
    ended.wait()
    time.sleep(ENDS_GRACE + 0.5)
    started.events.userEvent(eventName="LiveTick", application=app)  # any later event
    assert _released(started), (
        f"{started.meta.events.keyed_count()} instance listener(s) kept after the dialplan "
        "call's StasisEnd (Asterisk sends it no ChannelDestroyed)"
    )


def test_promotion_names_every_resource_of_a_bridge_event(started: Any, app: str) -> None:
    seen = Seen()
    started.on("StasisStart", seen)
    started.on("ChannelEnteredBridge", seen)
    chan = call_via_dialplan(started, app, "wait")
    seen.wait(lambda e: e.type == "StasisStart")
    bridge = started.bridges.create(type="holding")
    bridge.addChannel(channel=chan)
    event, instances = seen.wait(lambda e: e.type == "ChannelEnteredBridge")
    assert instances.bridge.id == bridge.id and instances.channel.id == chan
    assert isinstance(instances.channel, type(started.Channel()))
    bridge.destroy()
    started.channels.hangup(channelId=chan)


def test_rest_over_the_event_socket(app: str) -> None:
    seen = Seen()
    with ari.connect(URL, USER, PASSWORD, transport="websocket") as client:
        client.on("StasisStart", seen)
        client.start(app)
        try:
            assert client.asterisk.ping().asterisk_id
            chan = new_id("c")
            client.channels.originate(endpoint="Local/wait@default", app=app, channelId=chan)
            _, channel = seen.wait(lambda e: e.channel.id == chan)
            channel.answer()
            channel.setChannelVar(variable="OVER", value="socket")
            assert channel.getChannelVar(variable="OVER").value == "socket"
            with pytest.raises(ari.NotFound) as missing:
                client.channels.get(channelId="nosuchchannel")
            assert missing.value.message == "Channel not found"
            channel.hangup()
        finally:
            hang_up_all(client, app)
            client.stop()


def test_binary_download_goes_over_http_in_websocket_mode(app: str) -> None:
    seen = Seen()
    with ari.connect(URL, USER, PASSWORD, transport="websocket") as client:
        client.on("StasisStart", seen)
        client.on("RecordingFinished", seen)
        client.start(app)
        try:
            chan = new_id("c")
            client.channels.originate(endpoint="Local/moh@default", app=app, channelId=chan)
            _, channel = seen.wait(lambda e: e.type == "StasisStart")
            name = new_id("r")
            channel.record(name=name, format="wav", maxDurationSeconds=1)
            seen.wait(lambda e: e.type == "RecordingFinished")
            data = client.recordings.getStoredFile(recordingName=name)
            assert data[:4] == b"RIFF" and len(data) > 44
            client.recordings.deleteStored(recordingName=name)
            channel.hangup()
        finally:
            hang_up_all(client, app)
            client.stop()


@pytest.mark.skipif(not os.environ.get("ARI_RESTART_CMD"), reason="set ARI_RESTART_CMD")
def test_reconnect_across_an_asterisk_restart(app: str) -> None:
    seen = Seen()
    lost: List[Any] = []
    back = threading.Event()
    with ari.connect(URL, USER, PASSWORD, reconnect_initial=0.5, reconnect_max=2.0) as client:
        client.on("WebSocketReconnecting", lambda event: lost.append(event))
        client.on("WebSocketConnected", lambda event: back.set())
        client.on("StasisStart", seen)
        client.start(app)
        try:
            back.clear()
            subprocess.run(os.environ["ARI_RESTART_CMD"], shell=True, check=True, timeout=120)
            assert back.wait(90), "no WebSocketConnected after the restart"
            assert lost, "no WebSocketReconnecting"
            chan = new_id("c")
            client.channels.originate(endpoint="Local/wait@default", app=app, channelId=chan)
            seen.wait(lambda e: e.channel.id == chan, timeout=30)
            client.channels.hangup(channelId=chan)
        finally:
            hang_up_all(client, app)
            client.stop()
