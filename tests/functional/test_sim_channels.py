"""/channels on the simulator through the public client, as an application uses them.

Each test asserts what Asterisk 22 does: the answer, the events, and the status and wording
of its errors.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List

import pytest

import ari
from ari.testing import Simulator

APP = "chan-app"


@pytest.fixture
def client(ari_sim: Simulator) -> Iterator[Any]:
    with ari.connect(ari_sim.url, ari_sim.username, ari_sim.password) as c:
        c.start([APP, "other-app"])
        yield c


def _of(sim: Simulator, event_type: str, channel_id: str, start: int = 0) -> Dict[str, Any]:
    return sim.wait_for_event(event_type, lambda e: e.get("channel", {}).get("id") == channel_id, start=start)


def _types(sim: Simulator, channel_id: str, start: int = 0) -> List[str]:
    return [e["type"] for e in sim.events_sent[start:] if e.get("channel", {}).get("id") == channel_id]


def _incoming(sim: Simulator, **kw: Any) -> str:
    cid = sim.call(APP, **kw)
    _of(sim, "StasisStart", cid)
    return cid


def test_originate_echo_enters_app_up_with_args(ari_sim: Simulator, client: Any) -> None:
    ch = client.channels.originate(endpoint="Local/echo@default", app=APP, appArgs="x,y", callerId='"Bob" <200>')
    assert ch.state == "Down"
    start = _of(ari_sim, "StasisStart", ch.id)
    assert start["args"] == ["x", "y"]
    assert start["channel"]["state"] == "Up"
    assert start["channel"]["dialplan"]["app_data"] == f"{APP},x,y"
    assert start["channel"]["caller"] == {"name": "Bob", "number": "200"}
    assert "ChannelCreated" not in [
        e["type"] for e in ari_sim.events_sent if e["application"] == APP and e.get("channel", {}).get("id") == ch.id
    ]
    # Through a Local channel the digits reach its ;2 half (the app hears that half too);
    # Echo() there does not send them back, and the half reports them only as it hangs up,
    # its end then with no cause (as recorded on Asterisk 22: local_halves).
    mark = len(ari_sim.events_sent)
    ch.sendDTMF(dtmf="1,2", between=50, duration=80)
    # Answering an Up channel sends no event.
    ch.answer()
    assert client.channels.get(channelId=ch.id).state == "Up"
    assert not [e for e in ari_sim.events_sent[mark:] if e["type"] == "ChannelDtmfReceived"]
    mark = len(ari_sim.events_sent)
    ch.hangup(reason="busy")
    destroyed = _of(ari_sim, "ChannelDestroyed", ch.id, start=mark)
    assert (destroyed["cause"], destroyed["cause_txt"]) == (17, "User busy")
    assert _types(ari_sim, ch.id, mark) == ["ChannelHangupRequest", "StasisEnd", "ChannelVarset", "ChannelDestroyed"]
    first = ari_sim.wait_for_event("ChannelDtmfReceived", start=mark)
    assert first["channel"]["name"].endswith(";2") and first["application"] == APP
    assert first["digit"] == "1" and first["duration_ms"] == 80
    half = first["channel"]["id"]
    # The half's move past Answer() (a ChannelDialplan) comes 500 ms after it answered, or once
    # media flows: before or after ``mark`` depending on how fast this test ran.
    assert [t for t in _types(ari_sim, half, mark) if t != "ChannelDialplan"] == [
        "ChannelHangupRequest",
        "ChannelDtmfReceived",
        "ChannelDtmfReceived",
        "ChannelHangupRequest",
        "ChannelDestroyed",
    ]
    assert _of(ari_sim, "ChannelDestroyed", half, start=mark)["cause"] == 0


def test_originate_busy_and_noanswer_never_enter_the_app(ari_sim: Simulator, client: Any) -> None:
    busy = client.channels.originate(endpoint="Local/busy@default", app=APP)
    assert _of(ari_sim, "ChannelDestroyed", busy.id)["cause"] == 0  # the ;2 half's is 17
    noanswer = client.channels.originate(endpoint="Local/noanswer@default", app=APP, timeout=1)
    assert _of(ari_sim, "ChannelDestroyed", noanswer.id, start=0)["cause"] in (19, 18)
    sent = [e for e in ari_sim.events_sent if e.get("channel", {}).get("id") in (busy.id, noanswer.id)]
    assert "StasisStart" not in [e["type"] for e in sent]
    ari_sim.wait_idle()


def test_originate_with_id_pjsip_and_duplicate_id(ari_sim: Simulator, client: Any) -> None:
    ch = client.channels.originateWithId(channelId="my-chan", endpoint="PJSIP/1000", app=APP, otherChannelId="my-other")
    assert ch.id == "my-chan"
    assert ch.name.startswith("PJSIP/1000-")
    with pytest.raises(ari.Conflict) as caught:
        client.channels.originate(endpoint="PJSIP/1000", app=APP, channelId="my-chan")
    assert caught.value.message == "Channel with given unique ID already exists"
    ari_sim.hangup("my-chan")
    ari_sim.wait_idle()


def test_originate_parameter_errors(client: Any) -> None:
    with pytest.raises(ari.BadRequest) as caught:
        client.channels.originate(endpoint="Local/echo@default")
    assert caught.value.message == "Application or extension must be specified"
    with pytest.raises(ari.BadRequest) as caught:
        client.channels.originate(endpoint="Local/echo@default", app=APP, context="default")
    assert "mutually exclusive" in caught.value.message
    with pytest.raises(ari.BadRequest) as caught:
        client.channels.originate(endpoint="nonsense", app=APP)
    assert caught.value.message == "Invalid endpoint specified"
    with pytest.raises(ari.BadRequest) as caught:
        client.channels.originate(endpoint="PJSIP/nowhere", app=APP)
    assert caught.value.message == "Invalid parameters for originating a channel."
    with pytest.raises(ari.ServerError):  # no such channel driver: 500 {"error": "Allocation failed"}
        client.channels.originate(endpoint="IAX2/nowhere", app=APP)


def test_originate_to_dialplan_sets_variables(ari_sim: Simulator, client: Any) -> None:
    ch = client.channels.originate(
        endpoint="Local/echo@default",
        extension="100",
        context="internal",
        priority=2,
        variables={"CALLERID(name)": "Alice", "CALLERID(num)": "300", "CHANNEL(language)": "fr", "FOO": "bar"},
    )
    assert ch.caller.name == "Alice" and ch.caller.number == "300"
    assert ch.language == "fr"
    # Not in Stasis: channel operations are refused with 409, lookups still work.
    assert client.channels.get(channelId=ch.id).id == ch.id
    with pytest.raises(ari.Conflict) as caught:
        ch.answer()
    assert caught.value.message == "Channel not in Stasis application"
    assert ch.id in [c.id for c in client.channels.list()]
    ch.hangup()
    ari_sim.wait_idle()


def test_create_then_dial(ari_sim: Simulator, client: Any) -> None:
    ch = client.channels.create(
        endpoint="Local/echo@default", app=APP, appArgs="d", variables={"CALLERID(all)": '"Carol" <400>'}
    )
    start = _of(ari_sim, "StasisStart", ch.id)
    assert start["channel"]["state"] == "Down" and start["args"] == ["d"]
    assert start["channel"]["caller"] == {"name": "Carol", "number": "400"}
    caller = _incoming(ari_sim, caller="555")
    ch.dial(caller=caller, timeout=10)
    up = ari_sim.wait_for_event(
        "ChannelStateChange", lambda e: e["channel"]["id"] == ch.id and e["channel"]["state"] == "Up"
    )
    assert up["channel"]["connected"]["number"] == "555"
    with pytest.raises(ari.Conflict) as caught:
        ch.dial()
    assert caught.value.message == "Channel is not in the 'Down' state"
    # A missing required parameter never leaves the client.
    with pytest.raises(ari.ValidationError):
        client.channels.create(endpoint="Local/echo@default")
    with pytest.raises(ari.Conflict):
        client.channels.create(endpoint="Local/echo@default", app=APP, channelId=ch.id)
    with pytest.raises(ari.BadRequest):
        client.channels.create(endpoint="bad", app=APP)
    with pytest.raises(ari.ServerError) as failed:  # no such channel driver
        client.channels.create(endpoint="IAX2/x", app=APP)
    assert failed.value.status_code == 500


def test_dial_errors_use_asterisks_wording(ari_sim: Simulator, client: Any) -> None:
    caught: pytest.ExceptionInfo[ari.HTTPError]
    # resource_channels.c finds the Stasis control first, as for every channel operation.
    with pytest.raises(ari.NotFound) as caught:
        client.Channel("nope").dial()
    assert caught.value.message == "Channel not found"
    outside = client.channels.originate(endpoint="Local/echo@default", extension="100")
    with pytest.raises(ari.Conflict) as caught:
        outside.dial()
    assert caught.value.message == "Channel not in Stasis application"
    outside.hangup()
    ari_sim.wait_idle()


def test_unknown_channel_errors(client: Any) -> None:
    for call in (
        lambda: client.Channel("nope").answer(),
        lambda: client.channels.get(channelId="nope"),
        lambda: client.Channel("nope").hangup(),
        lambda: client.Channel("nope").ring(),
    ):
        with pytest.raises(ari.NotFound) as caught:
            call()
        assert caught.value.message == "Channel not found"


def test_ring_progress_hold_mute_moh_silence(ari_sim: Simulator, client: Any) -> None:
    cid = _incoming(ari_sim, answer=False)
    ch = client.Channel(cid)
    assert client.channels.get(channelId=cid).state == "Ring"
    ch.ring()
    assert client.channels.get(channelId=cid).state == "Ringing"
    ch.ringStop()
    assert client.channels.get(channelId=cid).state == "Ring"
    ch.progress()
    ch.answer()
    assert client.channels.get(channelId=cid).state == "Up"
    ch.ring()  # no effect on an answered channel
    assert client.channels.get(channelId=cid).state == "Up"
    mark = len(ari_sim.events_sent)
    ch.hold()
    ch.unhold()
    ch.startMoh(mohClass="default")
    ch.startSilence()
    ch.stopSilence()
    ch.stopMoh()
    ch.mute(direction="in")
    ch.unmute(direction="in")
    ch.mute(direction="both")
    ch.unmute(direction="out")
    ch.unmute(direction="both")
    # Asterisk refuses a mute without a direction, despite the described default.
    with pytest.raises(ari.BadRequest) as caught:
        ch.mute()
    assert caught.value.message == "Direction is required"
    # ARI's own hold request sends no ChannelHold (that comes from channel drivers).
    assert not {"ChannelHold", "ChannelUnhold"} & set(_types(ari_sim, cid, mark))
    with pytest.raises(ari.BadRequest):
        ch.sendDTMF(dtmf="")
    with pytest.raises(ari.BadRequest) as caught:
        ch.sendDTMF(dtmf="1x")
    assert caught.value.message == "Invalid DTMF"
    with pytest.raises(ari.ValidationError):
        ch.hangup(reason="nonsense")
    with pytest.raises(ari.BadRequest):
        ch.hangup(reason_code="abc")
    ch.hangup(reason_code="21")
    # A call that entered through the dialplan: its end reaches the app as StasisEnd only.
    assert _of(ari_sim, "ChannelHangupRequest", cid)["cause"] == 32
    _of(ari_sim, "StasisEnd", cid)


def test_channel_variables(ari_sim: Simulator, client: Any) -> None:
    cid = _incoming(ari_sim)
    ch = client.Channel(cid)
    with pytest.raises(ari.NotFound) as caught:
        ch.getChannelVar(variable="UNSET")
    assert caught.value.message == "Provided variable was not found"
    mark = len(ari_sim.events_sent)
    ch.setChannelVar(variable="GREETING", value="hi")
    varset = _of(ari_sim, "ChannelVarset", cid, start=mark)
    assert (varset["variable"], varset["value"]) == ("GREETING", "hi")
    assert ch.getChannelVar(variable="GREETING").value == "hi"
    assert ch.getChannelVar(variable="UNIQUEID").value == cid
    ch.setChannelVar(variable="CHANNEL(accountcode)", value="acct")
    assert client.channels.get(channelId=cid).accountcode == "acct"
    ch.setChannelVars(variables={"A": "1", "B": "2"})
    assert ch.getChannelVars(variables=["A", "B"]).variables == {"A": "1", "B": "2"}
    with pytest.raises(ari.NotFound):
        ch.getChannelVars(variables=["A", "UNSET"])


def test_continue_move_and_redirect(ari_sim: Simulator, client: Any) -> None:
    cid = _incoming(ari_sim)
    ch = client.Channel(cid)
    mark = len(ari_sim.events_sent)
    ch.move(app="missing-app", appArgs="q")
    failed = _of(ari_sim, "ApplicationMoveFailed", cid, start=mark)
    assert failed["destination"] == "missing-app" and failed["args"] == ["q"]
    ch.move(app="other-app", appArgs="m")
    moved = ari_sim.wait_for_event("StasisStart", lambda e: e["application"] == "other-app", start=mark)
    assert moved["args"] == ["m"]
    assert _of(ari_sim, "StasisEnd", cid, start=mark)["application"] == APP
    mark = len(ari_sim.events_sent)
    ch.continueInDialplan(context="internal", extension="200", priority=3)
    _of(ari_sim, "StasisEnd", cid, start=mark)
    got = client.channels.get(channelId=cid)
    assert (got.dialplan.context, got.dialplan.exten, got.dialplan.priority) == ("internal", "200", 3)
    with pytest.raises(ari.Conflict):
        ch.continueInDialplan()
    ch.hangup()
    other = client.Channel(_incoming(ari_sim))
    with pytest.raises(ari.UnprocessableEntity) as caught:
        other.redirect(endpoint="IAX2/200")
    assert "does not match" in caught.value.message
    with pytest.raises(ari.BadRequest):
        other.redirect(endpoint="PJSIP")
    mark = len(ari_sim.events_sent)
    other.redirect(endpoint="PJSIP/2000")
    _of(ari_sim, "StasisEnd", other.id, start=mark)
    ari_sim.wait_idle()


def test_snoop_and_external_media(ari_sim: Simulator, client: Any) -> None:
    cid = _incoming(ari_sim)
    with pytest.raises(ari.BadRequest) as caught:
        client.Channel(cid).snoopChannel(app=APP)
    assert caught.value.message == "Direction must be specified for at least spy or whisper"
    snoop = client.Channel(cid).snoopChannelWithId(snoopId="spy1", app=APP, spy="in", appArgs="s")
    assert snoop.id == "spy1" and snoop.name.startswith(f"Snoop/{cid}-")
    assert _of(ari_sim, "StasisStart", "spy1")["args"] == ["s"]
    with pytest.raises(ari.Conflict):
        client.Channel(cid).snoopChannel(app=APP, whisper="out", snoopId="spy1")
    with pytest.raises(ari.NotFound):
        client.Channel("nope").snoopChannel(app=APP, spy="both")

    rtp = client.channels.externalMedia(app=APP, external_host="127.0.0.1:9999", format="ulaw")
    assert rtp.name.startswith("UnicastRTP/127.0.0.1:9999-")
    assert int(rtp.channelvars["UNICASTRTP_LOCAL_PORT"]) > 0
    assert _of(ari_sim, "StasisStart", rtp.id)["channel"]["state"] == "Up"
    sock = client.channels.externalMedia(
        app=APP, external_host="127.0.0.1:9998", format="ulaw", encapsulation="audiosocket", transport="tcp", data="x"
    )
    assert sock.name.startswith("AudioSocket/")
    with pytest.raises(ari.BadRequest) as caught:
        client.channels.externalMedia(app=APP, format="ulaw", transport="websocket")
    assert caught.value.message == "encapsulation must be 'none' for websocket transport"
    ws = client.channels.externalMedia(
        app=APP, format="ulaw", transport="websocket", encapsulation="none", connection_type="server"
    )
    assert ws.name.startswith("WebSocket/INCOMING/") and ws.state == "Down"
    assert ws.channelvars["MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE"] == "160"
    with pytest.raises(ari.BadRequest):
        client.channels.externalMedia(app=APP, format="ulaw")
    with pytest.raises(ari.ServerError):
        client.channels.externalMedia(app=APP, external_host="h:1", format="nope")

    stats = client.Channel(cid).rtpstatistics()
    assert stats.channel_uniqueid == cid and stats.txcount >= 0
    with pytest.raises(ari.NotFound):
        client.Channel("nope").rtpstatistics()


def test_external_media_takes_codec_names(ari_sim: Simulator, client: Any) -> None:
    # Asterisk's externalMedia format is a codec ("slin16"), not a file format ("sln16").
    wide = client.channels.externalMedia(app=APP, external_host="127.0.0.1:9997", format="slin16")
    assert _of(ari_sim, "StasisStart", wide.id)["channel"]["name"].startswith("UnicastRTP/")
    with pytest.raises(ari.ServerError):  # Asterisk fails inside: a 500
        client.channels.externalMedia(app=APP, external_host="127.0.0.1:9997", format="sln16")
