"""A ``Machine`` configures the simulator like one Asterisk installation: limits in
/asterisk/info, the loaded configuration classes, the installed sounds."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

import ari
from ari.testing import Simulator
from ari.testing.machine import RECORDED_MACHINE, Machine


@pytest.fixture
def recorded() -> Iterator[Any]:
    with Simulator(endpoints=(), machine=RECORDED_MACHINE) as sim:
        with ari.connect(sim.url, sim.username, sim.password) as c:
            yield c


def test_info_gives_only_the_limits_asterisk_conf_sets() -> None:
    with Simulator(machine=Machine(max_load=2.5)) as sim:
        with ari.connect(sim.url, sim.username, sim.password) as c:
            config = c.asterisk.getInfo(only=["config"]).config
    assert config["max_load"] == 2.5
    assert "max_channels" not in config and "max_open_files" not in config


def test_recorded_machine_info(recorded: Any) -> None:
    config = recorded.asterisk.getInfo(only=["config"]).config
    assert config["max_channels"] == 500
    assert config["name"] == "" and config["setid"] == {"user": "", "group": ""}


def test_without_res_pjsip_its_config_class_is_not_found(recorded: Any) -> None:
    for call, extra in (
        (recorded.asterisk.getObject, {}),
        (recorded.asterisk.updateObject, {"fields": [{"attribute": "allow", "value": "ulaw"}]}),
        (recorded.asterisk.deleteObject, {}),
    ):
        with pytest.raises(ari.NotFound) as caught:
            call(configClass="res_pjsip", objectType="endpoint", id="x", **extra)
        assert caught.value.message == "configClass 'res_pjsip' not found"


def test_sounds_are_the_installed_ones_without_descriptions(recorded: Any) -> None:
    sound = recorded.sounds.get(soundId="hello-world")
    assert [(f["language"], f["format"]) for f in sound.formats] == [("en", "gsm"), ("en", "slin")]
    assert getattr(sound, "text", None) is None
    with pytest.raises(ari.NotFound):
        recorded.sounds.list(lang="es")


def test_the_default_machine_describes_its_sounds() -> None:
    with Simulator() as sim:
        with ari.connect(sim.url, sim.username, sim.password) as c:
            assert c.sounds.get(soundId="hello-world").text == "Hello world."
