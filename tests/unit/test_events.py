"""Event objects and promotion (no sockets)."""

import pytest

from ari.events import Event, Instances, Promoter
from ari.resources import Resource


@pytest.fixture
def promoter(client):
    return Promoter(client.meta)


def test_one_resource_promoted_to_a_bound_instance(client, promoter):
    data = {"type": "ChannelDtmfReceived", "digit": "5", "duration_ms": 100, "channel": {"id": "c1", "name": "PJSIP/a"}}
    event, target, instances = promoter.promote(data)
    assert event.type == "ChannelDtmfReceived" and event["digit"] == "5" and event.digit == "5"
    assert target is event.channel and isinstance(target, Resource)
    assert type(target).__name__ == "Channel" and target.id == "c1" and target._key == ("Channel", "c1")
    assert target.meta is client.meta and callable(target.answer)
    assert instances == (target,)


def test_several_resources_give_instances(promoter):
    data = {"type": "ChannelEnteredBridge", "bridge": {"id": "b1"}, "channel": {"id": "c1"}}
    event, target, _ = promoter.promote(data)
    assert isinstance(target, Instances)
    assert target.bridge is target["bridge"] is event.bridge
    assert target.channel.id == "c1"
    with pytest.raises(AttributeError):
        target.playback  # noqa: B018


def test_event_without_resources_and_unknown_types(promoter, caplog):
    event, target, _ = promoter.promote({"type": "ApplicationReplaced", "application": "a"})
    assert target is None and event.application == "a"
    event, target, _ = promoter.promote({"type": "BrandNewEvent", "thing": {"x": 1}})
    promoter.promote({"type": "BrandNewEvent"})
    assert target is None and event.thing.x == 1
    assert [r.message for r in caplog.records].count(
        "event type 'BrandNewEvent' is not in the API description; delivered without promotion"
    ) == 1


def test_shapes_come_from_the_description(client, promoter):
    assert set(promoter.shapes) == set(client.meta.api.event_resources)
    fields = dict(promoter.shapes["PlaybackFinished"].fields)
    assert fields["playback"].__name__ == "Playback"


def test_event_access(promoter):
    event, _, _ = promoter.promote({"type": "StasisStart", "args": ["x"], "channel": {"id": "c1"}, "timestamp": "t"})
    assert "args" in event and event.get("nope") is None and len(event) == 4
    assert event.timestamp == "t" and list(event)[0] == "type"
    assert event.to_dict()["channel"] == {"id": "c1"}
    assert repr(event) == "<Event StasisStart channel=Channel('c1')>"
    with pytest.raises(AttributeError):
        event.nothing  # noqa: B018
    assert Event({"replace_channel": {"id": 1}}).replaceChannel == {"id": 1}


def test_route_key_prefers_the_channel(promoter):
    assert promoter.route_key({"type": "ChannelEnteredBridge", "bridge": {"id": "b"}, "channel": {"id": "c"}}) == (
        "Channel",
        "c",
    )
    assert promoter.route_key({"type": "BridgeDestroyed", "bridge": {"id": "b"}}) == ("Bridge", "b")
    assert promoter.route_key({"type": "ApplicationReplaced"}) is None
    assert promoter.route_key({"type": "Nope"}) is None


def test_repr_names_the_type_and_every_resource(promoter):
    event, _, _ = promoter.promote({"type": "ChannelEnteredBridge", "bridge": {"id": "b1"}, "channel": {"id": "c1"}})
    assert repr(event) == "<Event ChannelEnteredBridge bridge=Bridge('b1') channel=Channel('c1')>"
    event, _, _ = promoter.promote({"type": "ApplicationReplaced", "application": "a"})
    assert repr(event) == "<Event ApplicationReplaced>"


def test_dir_lists_the_fields(promoter):
    event, _, _ = promoter.promote({"type": "ChannelDtmfReceived", "digit": "5", "channel": {"id": "c1"}})
    names = dir(event)
    assert {"type", "digit", "channel", "to_dict", "get"} <= set(names)
    assert names == sorted(names)


@pytest.mark.parametrize(
    "data",
    [
        {"type": "StasisStart", "channel": "c1"},
        {"type": "StasisStart", "channel": ["c1"]},
        {"type": "ChannelEnteredBridge", "bridge": {"id": "b"}, "channel": 7},
    ],
)
def test_a_resource_field_that_is_not_an_object_is_an_odd_event(promoter, data):
    from ari.events import OddEvent

    with pytest.raises(OddEvent, match="not an object"):
        promoter.promote(dict(data))
    with pytest.raises(OddEvent):
        promoter.route_key(data)


def test_route_key_of_an_identity_that_is_not_a_value(promoter):
    from ari.events import OddEvent

    with pytest.raises(OddEvent, match="identity"):
        promoter.route_key({"type": "StasisStart", "channel": {"id": {"a": 1}}})
    with pytest.raises(OddEvent, match="identity"):
        promoter.route_key({"type": "StasisStart", "channel": {"id": ["x"]}})


def test_declared_fields_are_properties_that_read_as_the_fallback_does(client, promoter):
    # A declared field is a property (no failed lookup before __getattr__); its answers are the
    # same as the fallback's: nested objects as Data, the snake_case name, the same error.
    channel_cls = client.meta.instance_classes["Channel"]
    assert isinstance(vars(channel_cls)["caller"], property)
    channel = channel_cls({"id": "c1", "caller": {"name": "Al", "number": "1"}, "protocol_id": "p"})
    assert channel.id == "c1" and channel.caller.name == "Al" and channel.caller == {"name": "Al", "number": "1"}
    assert channel.protocolId == "p" == channel.protocol_id
    with pytest.raises(AttributeError, match="Channel has no field or operation 'state'"):
        channel.state  # noqa: B018 - declared, absent from this object
    assert not hasattr(channel, "name") and getattr(channel, "name", "none") == "none"
    with pytest.raises(AttributeError):
        channel.id = "c2"  # fields are read-only, as before
    assert callable(channel.hangup) and "hangup" not in client.meta.api.models["Channel"].properties


def test_methods_win_over_a_declared_field_of_the_same_name(client):
    # Bridge's description declares a field "channels"; an operation of that name would win.
    bridge_cls = client.meta.instance_classes["Bridge"]
    for name, attribute in vars(bridge_cls).items():
        if isinstance(attribute, property):
            assert not hasattr(Resource, name)
    assert bridge_cls({"id": "b1", "channels": ["c1"]}).channels == ["c1"]
    assert callable(bridge_cls({"id": "b1"}).on)  # Resource.on, not a field


def test_each_event_type_has_its_class_with_its_declared_and_inherited_fields(promoter):
    data = {"type": "StasisStart", "application": "app", "args": [], "channel": {"id": "c1"}, "asterisk_id": "a"}
    event, target, _ = promoter.promote(data)
    assert type(event).__name__ == "StasisStart" and isinstance(event, Event)
    names = {name for name, value in vars(type(event)).items() if isinstance(value, property)}
    assert {"args", "channel", "replace_channel", "application", "timestamp", "type", "asterisk_id"} <= names
    assert event.channel is target and event.application == "app" and event.asterisk_id == "a"
    assert event.type == "StasisStart" and event.args == []
    with pytest.raises(AttributeError, match="StasisStart has no field 'replace_channel'"):
        event.replace_channel  # noqa: B018 - declared, absent
    assert repr(event) == "<Event StasisStart channel=Channel('c1')>"
    assert callable(event.get) and event.get("args") == []  # Event's own methods stay
    other, _, _ = promoter.promote({"type": "StasisStart", "channel": {"id": "c2"}})
    assert type(other) is type(event)  # one class per type, made once
    assert type(promoter.promote({"type": "Dial"})[0]).__name__ == "Dial"


def test_an_event_type_gets_one_class_even_when_its_first_events_race(promoter):
    import threading

    barrier = threading.Barrier(8)
    classes = []

    def first():
        barrier.wait(5)
        classes.append(type(promoter.promote({"type": "ChannelHold", "channel": {"id": "c"}})[0]))

    threads = [threading.Thread(target=first) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(classes) == 8 and len(set(classes)) == 1 and classes[0].__name__ == "ChannelHold"
