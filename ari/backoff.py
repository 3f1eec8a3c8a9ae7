"""The reconnect backoff policy: an immutable value object, and nothing else.

``Backoff`` says how long to wait before reconnect attempt *n* (exponential, capped,
with jitter) and when to give up.  It never sleeps, owns no thread and performs no
I/O; the random source is injected so tests are deterministic (urllib3 ``Retry`` style).
"""

from __future__ import annotations

import random as _random
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Optional


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt ``n`` (1-based): ``min(maximum, initial * factor ** (n - 1))``, jittered.

    ``jitter`` is a fraction: the delay is spread uniformly over ``[d * (1 - jitter), d]`` so that
    many clients restarted together do not reconnect in lock step, and never exceeds ``maximum``.
    ``max_retries=None`` retries forever.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    max_retries: Optional[int] = None
    random: Callable[[], float] = field(default=_random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0:
            raise ValueError("backoff delays must not be negative")
        if self.factor < 1:
            raise ValueError(f"backoff factor must be >= 1, got {self.factor!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter must be within [0, 1], got {self.jitter!r}")
        if self.max_retries is not None and self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0 or None, got {self.max_retries!r}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt ``attempt`` (1 for the first retry)."""
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        exponent = min(attempt - 1, 64)  # beyond that the cap applies anyway; avoids overflow
        base = min(self.maximum, self.initial * self.factor**exponent)
        if self.jitter:
            base *= 1.0 - self.jitter * self.random()
        return base

    def exhausted(self, attempt: int) -> bool:
        """True when attempt ``attempt`` must not be made."""
        return self.max_retries is not None and attempt > self.max_retries

    def delays(self) -> Iterator[float]:
        """The successive delays, finite when ``max_retries`` is set."""
        attempt = 1
        while not self.exhausted(attempt):
            yield self.delay(attempt)
            attempt += 1

    def with_options(self, **changes: object) -> Backoff:
        """A copy with some fields changed (the policy itself never changes)."""
        return replace(self, **changes)  # type: ignore[arg-type]


__all__ = ["Backoff"]
