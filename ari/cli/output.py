"""How the command line shows results: JSON, or a plain-text table; colour only for terminals.

Its one job is turning what an operation returned (instances, model data, lists of them,
bytes) into text.  It knows nothing about ARI or the client beyond ``to_dict()``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Sequence, TextIO

#: A cell wider than this is cut (with "..."): a table must stay readable in a terminal.
CELL_WIDTH = 40

COLOURS = {"type": "1;36", "time": "2", "key": "33", "error": "1;31"}


def plain(value: Any) -> Any:
    """JSON-ready data: instances and events as the fields Asterisk sent, lists and dicts recursively."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return plain(to_dict())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def to_json(value: Any, indent: int = 2) -> str:
    return json.dumps(plain(value), indent=indent, ensure_ascii=False, default=str)


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 3] + "..."


def _columns(rows: Sequence[Dict[str, Any]]) -> List[str]:
    """Scalar fields first (in the first row's order), then nested ones: the ids and states come first."""
    names: Dict[str, bool] = {}
    for row in rows:
        for key, value in row.items():
            names[key] = names.get(key, True) and not isinstance(value, (dict, list))
    return [k for k, scalar in names.items() if scalar] + [k for k, scalar in names.items() if not scalar]


def table(value: Any) -> str:
    """A list of objects as rows, one object as field/value lines, anything else as JSON."""
    data = plain(value)
    if isinstance(data, list) and all(isinstance(row, dict) for row in data):
        if not data:
            return "(none)"
        columns = _columns(data)
        cells = [[_cell(row.get(c, "")) for c in columns] for row in data]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
        return "\n".join(lines)
    if isinstance(data, dict):
        if not data:
            return "(empty)"
        width = max(len(k) for k in data)
        return "\n".join(f"{k.ljust(width)}  {_cell(v) if isinstance(v, (dict, list)) else v}" for k, v in data.items())
    if isinstance(data, list):
        return "\n".join(str(v) for v in data) or "(none)"
    return str(data)


def use_colour(choice: str, stream: TextIO) -> bool:
    """``always``, ``never`` or ``auto`` (a terminal, and NO_COLOR unset: https://no-color.org)."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, role: str, colour: bool) -> str:
    return f"\x1b[{COLOURS[role]}m{text}\x1b[0m" if colour else text


__all__ = ["paint", "plain", "table", "to_json", "use_colour"]
