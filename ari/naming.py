"""Name conversion between ARI's camelCase and Python's snake_case; nothing else."""

from __future__ import annotations

import keyword
import re
from functools import cache

_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@cache
def snake_case(name: str) -> str:
    """``originateWithId`` -> ``originate_with_id``, ``sendDTMF`` -> ``send_dtmf``."""
    return _BOUNDARY.sub("_", name).lower()


def python_name(name: str) -> str:
    """A usable Python identifier for an ARI name: snake_case, keywords escaped (``from_``)."""
    converted = snake_case(name)
    return converted + "_" if keyword.iskeyword(converted) else converted
