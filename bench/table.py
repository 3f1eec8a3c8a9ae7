"""The result table: one row per figure, its ceiling, the ratio and the target, pass or fail.

Its one job is collecting and printing rows; the modules measuring them decide what a
figure and its ceiling are.  A row without a target is shown for information only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional


@dataclass
class Row:
    """One figure.  ``ratio`` is figure / ceiling; ``target`` applies to ``checked`` ("ratio" or
    "value"), and ``at_least`` says which side of it passes."""

    name: str
    value: float
    unit: str
    ceiling: Optional[float] = None
    ceiling_name: str = ""
    target: Optional[float] = None
    checked: str = "ratio"
    at_least: bool = True
    note: str = ""

    @property
    def ratio(self) -> Optional[float]:
        if self.ceiling is None or not self.ceiling:
            return None
        return self.value / self.ceiling

    @property
    def passed(self) -> Optional[bool]:
        if self.target is None:
            return None
        measured = self.ratio if self.checked == "ratio" else self.value
        if measured is None:
            return False
        return measured >= self.target if self.at_least else measured < self.target


def _num(value: Optional[float], unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 0.1:
        text = f"{value:.3f}"
    else:
        text = f"{value:.4f}"
    return f"{text} {unit}".rstrip()


class Table:
    """Rows in the order they were measured; ``render()`` the text, ``failed()`` the misses."""

    def __init__(self) -> None:
        self.rows: List[Row] = []

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def failed(self) -> List[Row]:
        return [row for row in self.rows if row.passed is False]

    def render(self) -> str:
        header = ("figure", "value", "ceiling", "ratio", "target", "result", "notes")
        lines = []
        for row in self.rows:
            ceiling = f"{_num(row.ceiling, row.unit)} ({row.ceiling_name})" if row.ceiling is not None else "-"
            ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
            if row.target is None:
                target, result = "-", ""
            else:
                side = ">=" if row.at_least else "<"
                shown = f"{row.target:.3g}x" if row.checked == "ratio" else _num(row.target, row.unit)
                target = f"{'ratio' if row.checked == 'ratio' else 'value'} {side} {shown}"
                result = "PASS" if row.passed else "FAIL"
            lines.append((row.name, _num(row.value, row.unit), ceiling, ratio, target, result, row.note))
        widths = [max(len(str(cells[i])) for cells in [header, *lines]) for i in range(len(header))]
        out = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip(), "  ".join("-" * w for w in widths)]
        out += ["  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in lines]
        return "\n".join(out)
