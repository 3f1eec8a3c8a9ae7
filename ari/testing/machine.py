"""``Machine``: the facts of one Asterisk installation that are configuration, not behaviour.

Its one job is to name what differs from one real Asterisk to the next although both run the
same code: the limits of ``asterisk.conf`` (``/asterisk/info``'s ``config``), which sorcery
configuration classes are loaded (a system without ``res_pjsip`` answers 404 "configClass
'res_pjsip' not found"), and which sound files are installed (languages, formats, and whether
the ``core-sounds-<lang>.txt`` descriptions that give a sound its ``text`` are there).  The
simulator's defaults describe a usual packaged install; ``tests/conformance`` replays with
``RECORDED_MACHINE``, the machine of ``../shared/asterisk/`` that recorded the transcripts.
It must not hold state that changes while the simulator runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Machine:
    """One installation's configuration facts (see the module docstring)."""

    #: ``maxcalls``, ``maxfiles``, ``maxload`` of asterisk.conf; 0 is unset, and Asterisk then
    #: leaves the field out of ``/asterisk/info`` (resource_asterisk.c sets each only if nonzero).
    max_channels: int = 0
    max_open_files: int = 0
    max_load: float = 0.0
    #: ``systemname``, and the ``runuser``/``rungroup`` of asterisk.conf ("" when unset).
    system_name: str = "asterisk-sim"
    run_user: str = "asterisk"
    run_group: str = "asterisk"
    #: The sorcery configuration classes ``/asterisk/config/dynamic`` reaches (loaded modules).
    config_classes: Tuple[str, ...] = ("res_pjsip",)
    #: Installed sounds: every core sound in each language, in each format (a format is the
    #: codec Asterisk names for the file: ``.wav`` files are ``slin``), and whether the sound
    #: descriptions are installed (without them a sound has no ``text``).
    sound_languages: Tuple[str, ...] = ("en",)
    extra_sound_languages: Tuple[str, ...] = ("es", "fr")  # a few sounds only (media.py)
    sound_formats: Tuple[str, ...] = ("gsm", "ulaw")
    sound_descriptions: bool = True


#: A usual packaged install: the simulator's default (a frozen value, not mutable state).
DEFAULT_MACHINE = Machine()

#: ``../shared/asterisk/``, where ``tests/fixtures/asterisk-22.10.1`` was recorded: built from
#: source, asterisk.conf with ``maxcalls = 500`` and no system name or run user, no res_pjsip,
#: the core sounds in English as .gsm and .wav without their description file.
RECORDED_MACHINE = Machine(
    max_channels=500,
    system_name="",
    run_user="",
    run_group="",
    config_classes=(),
    extra_sound_languages=(),
    sound_formats=("gsm", "slin"),
    sound_descriptions=False,
)
