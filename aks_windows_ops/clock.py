"""One clock for everything that waits or tells the time.

Everything in the library that waits (LRO polls, drains, replacement checks, rate limiters, the runner's time
budget) or reads the date (lifecycle grading, records) takes a :class:`Clock`. In production it is
:class:`SystemClock`; under the simulator it is a virtual clock, so that a 14-minute Azure operation or a
10-minute blocked drain costs milliseconds of real time and still reports the same durations.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock", "system_clock"]


@runtime_checkable
class Clock(Protocol):
    """What a waiting step needs from time: the date, a monotonic reading and a way to wait."""

    def now(self) -> datetime:
        """Return the current date and time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Return seconds on a clock that never goes backwards (differences only are meaningful)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock (a virtual clock advances instead of waiting)."""
        ...


class SystemClock:
    """The machine's clock: :func:`time.monotonic`, :func:`time.sleep` and the UTC date."""

    def now(self) -> datetime:
        """Return the current UTC date and time."""
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep for real (never a negative amount)."""
        if seconds > 0:
            time.sleep(seconds)


system_clock = SystemClock()
