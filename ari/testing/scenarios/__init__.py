"""The scripted scenarios the recorder (``ari.testing.record``) runs against an ARI server.

Its one job is to list them: each is a ``Scenario`` (name, area, one-line doc, a function of a
``record.Runner``), grouped by area in the modules beside this one.  A scenario only uses the
runner's ``open``, ``step``, ``rest``/``ok``, ``wait``, ``sleep`` and ``new_id``, so that its
transcript replays anywhere.  Scenarios assume the dialplan of the shipped test Asterisk
(context ``default``: ``app-<name>``, ``echo``, ``wait``, ``hello``, ``dtmf``, ``moh``,
``noanswer``, ``busy``); they must not depend on anything else on the server.
"""

from __future__ import annotations

from typing import Tuple

from . import bridges, channels, media, system
from .base import Scenario

SCENARIOS: Tuple[Scenario, ...] = channels.SCENARIOS + bridges.SCENARIOS + media.SCENARIOS + system.SCENARIOS

__all__ = ["SCENARIOS", "Scenario"]
