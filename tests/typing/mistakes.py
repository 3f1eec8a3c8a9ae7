"""Mistakes the stubs must make type checkers report: each line marked ``# E`` is one error.

Never run: tests/typing/test_stubs.py checks that mypy and pyright report exactly these lines.
"""

from __future__ import annotations

import ari

client = ari.connect("http://localhost:8088", "asterisk", "asterisk")
client.chanels.list()  # E: no such resource
client.channels.orginate(endpoint="PJSIP/1000")  # E: no such operation
client.channels.originate(app="hello")  # E: endpoint is required
client.channels.originate(endpoint="PJSIP/1000", timeout="30")  # E: timeout is an int
client.channels.originate(endpoint="PJSIP/1000", endpiont="x")  # E: no such parameter
client.bridges.create(type="mixing", bridgeId=1)  # E: an id is a string
client.device_states.update(deviceName="Stasis:x", deviceState="BUZY")  # E: not an allowed value
client.on("StasisStrat", print)  # E: no such event type
channel = client.channels.get(channelId="1")
print(channel.nmae)  # E: no such field
channel.answer(channelId="1")  # E: the instance fills channelId
name: int = channel.name  # E: a name is a string
client.Channel().hangup(reason="bye")  # E: not an allowed reason
