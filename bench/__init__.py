"""Benchmarks of ``ari``: each figure beside its raw ceiling measured in the same run.

``python -m bench`` (``--quick``, ``--only NAME``) runs connect, events, rest, latency and
memory against the project's own mock and simulator (or a feeder of prebuilt events), each
server in its own process, prints one table of figure, ceiling, ratio and target, and exits
1 when a figure misses its target.  Nothing here ships in the library.
"""

from __future__ import annotations

import time
from typing import Callable, List, TypeVar

T = TypeVar("T")


def best_of(runs: int, measure: Callable[[], float], higher: bool = True) -> float:
    """The best of ``runs`` measurements (highest rate, or lowest time with ``higher=False``)."""
    values: List[float] = [measure() for _ in range(runs)]
    return max(values) if higher else min(values)


def rss_mb() -> float:
    """This process's resident set size now, in MB (Linux ``/proc``)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    import resource

    return pages * resource.getpagesize() / 1e6


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (``VmHWM``).

    Not ``ru_maxrss``: Linux keeps that across ``exec``, so a child started from a large
    parent would report the parent's size.
    """
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e3
    raise RuntimeError("no VmHWM in /proc/self/status")


def wait(predicate: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    """Poll ``predicate`` up to ``timeout`` seconds (bench-side only, never in the library)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
