"""/asterisk, /endpoints, /deviceStates, /mailboxes, /applications and /events on the simulator,
through the public client."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

import ari
from ari.testing import Simulator

APP = "sys-app"


@pytest.fixture
def client(ari_sim: Simulator) -> Iterator[Any]:
    with ari.connect(ari_sim.url, ari_sim.username, ari_sim.password) as c:
        c.start(APP)
        yield c


def test_info_and_ping(ari_sim: Simulator, client: Any) -> None:
    info = client.asterisk.getInfo()
    assert all(getattr(info, part, None) for part in ("build", "system", "config", "status"))
    assert info.system["entity_id"] == ari_sim.server.asterisk_id
    only = client.asterisk.getInfo(only=["system"])
    assert only.system["version"].startswith("22.")
    assert getattr(only, "build", None) is None
    pong = client.asterisk.ping()
    assert pong.ping == "pong" and pong.asterisk_id == ari_sim.server.asterisk_id


def test_modules(client: Any) -> None:
    names = [m.name for m in client.asterisk.listModules()]
    assert "res_ari.so" in names
    assert client.asterisk.getModule(moduleName="res_ari.so").status == "Running"
    with pytest.raises(ari.NotFound) as caught:
        client.asterisk.getModule(moduleName="app_echo.so")
    assert caught.value.message == "Module could not be found in running modules"
    client.asterisk.loadModule(moduleName="app_echo.so")
    assert client.asterisk.getModule(moduleName="app_echo.so").name == "app_echo.so"
    with pytest.raises(ari.Conflict):
        client.asterisk.loadModule(moduleName="no_such_module.so")
    client.asterisk.reloadModule(moduleName="app_echo.so")
    client.asterisk.unloadModule(moduleName="app_echo.so")
    for call in (client.asterisk.unloadModule, client.asterisk.reloadModule):
        with pytest.raises(ari.NotFound) as caught:
            call(moduleName="app_echo.so")
        assert caught.value.message == "Module not found in running modules"


def test_logging(client: Any) -> None:
    assert "console" in [c.channel for c in client.asterisk.listLogChannels()]
    client.asterisk.addLog(logChannelName="debug_log", configuration="DEBUG")
    added = [c for c in client.asterisk.listLogChannels() if c.channel == "debug_log"]
    assert added and added[0].configuration == "DEBUG"
    with pytest.raises(ari.Conflict):
        client.asterisk.addLog(logChannelName="debug_log", configuration="DEBUG")
    client.asterisk.deleteLog(logChannelName="debug_log")
    for call in (client.asterisk.rotateLog, client.asterisk.deleteLog):
        with pytest.raises(ari.NotFound) as caught:
            call(logChannelName="debug_log")
        assert caught.value.message == "Log channel does not exist"


def test_rotating_a_log_drops_the_channels_added_over_ari(client: Any) -> None:
    # As recorded (asterisk_system, step logging): a rotate reloads logger.conf, so a channel
    # added over ARI is gone after it, and deleting it is a 404.
    client.asterisk.addLog(logChannelName="mine", configuration="NOTICE")
    client.asterisk.rotateLog(logChannelName="mine")
    assert "mine" not in [c.channel for c in client.asterisk.listLogChannels()]
    with pytest.raises(ari.NotFound):
        client.asterisk.deleteLog(logChannelName="mine")
    # Logger.conf's own channels stay, and are not removable.
    assert "console" in [c.channel for c in client.asterisk.listLogChannels()]
    with pytest.raises(ari.NotFound):
        client.asterisk.deleteLog(logChannelName="console")


def test_global_variables(client: Any) -> None:
    # An unset global reads as empty, not as an error.
    assert client.asterisk.getGlobalVar(variable="UNSET_GLOBAL").value == ""
    client.asterisk.setGlobalVar(variable="G", value="42")
    assert client.asterisk.getGlobalVar(variable="G").value == "42"


def test_dynamic_config_makes_a_dialable_endpoint(ari_sim: Simulator, client: Any) -> None:
    with pytest.raises(ari.NotFound):
        client.asterisk.getObject(configClass="res_pjsip", objectType="endpoint", id="7000")
    with pytest.raises(ari.NotFound) as caught:
        client.asterisk.getObject(configClass="res_pjsip", objectType="nothing", id="x")
    assert "nothing" in caught.value.message
    fields = [{"attribute": "context", "value": "default"}, {"attribute": "allow", "value": "ulaw"}]
    made = client.asterisk.updateObject(configClass="res_pjsip", objectType="endpoint", id="7000", fields=fields)
    assert {"attribute": "allow", "value": "ulaw"} in [dict(t) for t in made]
    got = client.asterisk.getObject(configClass="res_pjsip", objectType="endpoint", id="7000")
    assert len(got) == 2
    assert client.endpoints.get(tech="PJSIP", resource="7000").resource == "7000"
    client.asterisk.deleteObject(configClass="res_pjsip", objectType="endpoint", id="7000")
    with pytest.raises(ari.NotFound):
        client.asterisk.deleteObject(configClass="res_pjsip", objectType="endpoint", id="7000")
    with pytest.raises(ari.NotFound) as caught:
        client.endpoints.get(tech="PJSIP", resource="7000")
    assert caught.value.message == "Endpoint not found"


def test_endpoints_and_messages(ari_sim: Simulator, client: Any) -> None:
    caught: pytest.ExceptionInfo[ari.HTTPError]
    listed = client.endpoints.list()
    assert "PJSIP" in {e.technology for e in listed}
    pjsip = client.endpoints.listByTech(tech="PJSIP")
    assert pjsip and all(e.technology == "PJSIP" for e in pjsip)
    with pytest.raises(ari.NotFound) as caught:
        client.endpoints.listByTech(tech="IAX9")
    assert caught.value.message == "No Endpoints found - invalid tech IAX9"
    resource = pjsip[0].resource
    client.applications.subscribe(applicationName=APP, eventSource=f"endpoint:PJSIP/{resource}")
    mark = len(ari_sim.events_sent)
    client.endpoints.sendMessage(to=f"pjsip:{resource}", from_="pjsip:app", body="hi", variables={"X": "1"})
    got = ari_sim.wait_for_event("TextMessageReceived", start=mark)
    assert got["message"] == {"from": "pjsip:app", "to": f"pjsip:{resource}", "body": "hi", "variables": {"X": "1"}}
    client.endpoints.sendMessageToEndpoint(tech="PJSIP", resource=resource, from_="pjsip:app", body="again")
    assert (
        ari_sim.wait_for_event("TextMessageReceived", lambda e: e["message"]["body"] == "again")["message"]["to"]
        == f"pjsip:{resource}"
    )
    with pytest.raises(ari.NotFound):
        client.endpoints.sendMessage(to="pjsip:nobody", from_="pjsip:app")
    with pytest.raises(ari.BadRequest) as caught:
        client.endpoints.sendMessage(to="garbage", from_="pjsip:app")
    assert caught.value.message == "Invalid parameters for sending a message."
    client.endpoints.refer(to=f"pjsip:{resource}", from_="pjsip:app", refer_to="pjsip:2000")
    client.endpoints.referToEndpoint(tech="PJSIP", resource=resource, from_="pjsip:app", refer_to="pjsip:2000")
    with pytest.raises(ari.NotFound):
        client.endpoints.refer(to="pjsip:nobody", from_="pjsip:app", refer_to="pjsip:2000")
    with pytest.raises(ari.NotFound):
        client.endpoints.referToEndpoint(tech="PJSIP", resource="nobody", from_="a", refer_to="b")


def test_device_states(ari_sim: Simulator, client: Any) -> None:
    caught: pytest.ExceptionInfo[ari.HTTPError]
    client.applications.subscribe(applicationName=APP, eventSource="deviceState:Stasis:lamp")
    assert client.deviceStates.get(deviceName="Stasis:lamp").state == "UNKNOWN"
    mark = len(ari_sim.events_sent)
    client.deviceStates.update(deviceName="Stasis:lamp", deviceState="BUSY")
    changed = ari_sim.wait_for_event("DeviceStateChanged", start=mark)
    assert changed["device_state"] == {"name": "Stasis:lamp", "state": "BUSY"}
    assert changed["application"] == APP
    assert client.deviceStates.get(deviceName="Stasis:lamp").state == "BUSY"
    assert {"name": "Stasis:lamp", "state": "BUSY"} in [
        {"name": d.name, "state": d.state} for d in client.deviceStates.list()
    ]
    client.deviceStates.delete(deviceName="Stasis:lamp")
    assert client.deviceStates.get(deviceName="Stasis:lamp").state == "UNKNOWN"
    client.deviceStates.delete(deviceName="Stasis:lamp")  # again: Asterisk answers 204
    with pytest.raises(ari.Conflict) as caught:
        client.deviceStates.update(deviceName="PJSIP/1000", deviceState="BUSY")
    assert caught.value.message == "Uncontrolled device specified"
    with pytest.raises(ari.Conflict):
        client.deviceStates.delete(deviceName="PJSIP/1000")
    assert client.deviceStates.get(deviceName="PJSIP/1000").state == "NOT_INUSE"
    assert client.deviceStates.get(deviceName="Nope/1").state == "INVALID"


def test_mailboxes(client: Any) -> None:
    client.mailboxes.update(mailboxName="1000@default", oldMessages=1, newMessages=3)
    box = client.mailboxes.get(mailboxName="1000@default")
    assert (box.old_messages, box.new_messages) == (1, 3)
    assert [m.name for m in client.mailboxes.list()] == ["1000@default"]
    client.mailboxes.delete(mailboxName="1000@default")
    for call, words in (
        (client.mailboxes.get, "Mailbox is does not exist"),
        (client.mailboxes.delete, "Mailbox does not exist"),
    ):
        with pytest.raises(ari.NotFound) as caught:
            call(mailboxName="1000@default")
        assert caught.value.message == words  # Asterisk's own wording, "is" included


def test_applications(ari_sim: Simulator, client: Any) -> None:
    caught: pytest.ExceptionInfo[ari.HTTPError]
    assert APP in [a.name for a in client.applications.list()]
    with pytest.raises(ari.NotFound) as caught:
        client.applications.get(applicationName="nobody")
    assert caught.value.message == "Application not found"
    bridge = client.bridges.create()
    cid = ari_sim.call(APP)
    app = client.applications.subscribe(
        applicationName=APP, eventSource=[f"bridge:{bridge.id}", "endpoint:PJSIP", f"channel:{cid}"]
    )
    assert app.bridge_ids == [bridge.id] and "PJSIP" in app.endpoint_ids
    assert cid in app.channel_ids
    with pytest.raises(ari.UnprocessableEntity) as caught:
        client.applications.subscribe(applicationName=APP, eventSource="bridge:nope")
    assert caught.value.message == "Event source does not exist"
    with pytest.raises(ari.BadRequest):
        client.applications.subscribe(applicationName=APP, eventSource="weird:thing")
    app = client.applications.unsubscribe(applicationName=APP, eventSource=[f"bridge:{bridge.id}", "endpoint:PJSIP"])
    assert app.bridge_ids == [] and app.endpoint_ids == []
    with pytest.raises(ari.UnprocessableEntity) as caught:
        client.applications.unsubscribe(applicationName=APP, eventSource=f"bridge:{bridge.id}")
    assert caught.value.message == "Event source was not subscribed to"
    client.applications.subscribe(applicationName=APP, eventSource="deviceState:Stasis:x")
    assert client.applications.unsubscribe(applicationName=APP, eventSource="deviceState:Stasis:x").device_names == []
    filtered = client.applications.filter(applicationName=APP, filter={"allowed": [{"type": "StasisStart"}]})
    assert filtered.events_allowed == [{"type": "StasisStart"}]
    # Only the allowed type reaches the app now.
    mark = len(ari_sim.events_sent)
    client.Channel(cid).setChannelVar(variable="V", value="1")
    other = ari_sim.call(APP)
    ari_sim.wait_for_event("StasisStart", lambda e: e["channel"]["id"] == other, start=mark)
    assert [e["type"] for e in ari_sim.events_sent[mark:] if e["application"] == APP] == ["StasisStart"]
    with pytest.raises(ari.BadRequest):
        client.applications.filter(applicationName=APP, filter={"allowed": ["StasisStart"]})
    cleared = client.applications.filter(applicationName=APP)
    assert cleared.events_allowed == [] and cleared.events_disallowed == []


def test_user_events(ari_sim: Simulator, client: Any) -> None:
    cid = ari_sim.call(APP)
    bridge = client.bridges.create()
    mark = len(ari_sim.events_sent)
    client.events.userEvent(
        eventName="custom",
        application=APP,
        source=[f"channel:{cid}", f"bridge:{bridge.id}", "endpoint:PJSIP/1000", "deviceState:Stasis:x"],
        variables={"k": "v"},
    )
    got = ari_sim.wait_for_event("ChannelUserevent", start=mark)
    assert (got["eventname"], got["userevent"]) == ("custom", {"eventname": "custom", "k": "v"})
    assert got["channel"]["id"] == cid and got["bridge"]["id"] == bridge.id
    assert got["endpoint"]["resource"] == "1000"
    with pytest.raises(ari.NotFound) as caught:
        client.events.userEvent(eventName="custom", application="nobody")
    assert caught.value.message == "Application not found"
    for source in ("channel:nope", "bridge:nope", "endpoint:PJSIP/nope"):
        with pytest.raises(ari.UnprocessableEntity):
            client.events.userEvent(eventName="custom", application=APP, source=source)
    with pytest.raises(ari.BadRequest):
        client.events.userEvent(eventName="custom", application=APP, source="weird")
