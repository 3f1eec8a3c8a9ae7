"""Prints the conformance score (per area) at the end of the run that computed it."""

from __future__ import annotations

from typing import Any

import pytest

SCORE_KEY = pytest.StashKey[Any]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    score = config.stash.get(SCORE_KEY, None)
    if score is not None:
        terminalreporter.write_sep("-", "conformance with the recorded Asterisk")
        terminalreporter.write_line(score.table())
