"""The shared client-side rate limiter on one Clock object (no clock/sleep pairs)."""

from __future__ import annotations

import datetime as dt

import pytest

from aks_windows_ops import errors as E
from aks_windows_ops.clock import Clock
from aks_windows_ops.ratelimit import BucketSpec, RateLimiter, TokenBucket, monotonic_and_sleep


class StepClock:
    """A Clock whose sleep advances it."""

    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def now(self) -> dt.datetime:
        return dt.datetime(2026, 11, 26, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_limiter_waits_its_turn_on_the_clock_it_is_given() -> None:
    clock = StepClock()
    assert isinstance(clock, Clock)
    limiter = RateLimiter(reads=BucketSpec(2, 4), cluster_gets=None, headroom=0, clock=clock)
    waits = [limiter.acquire("sub") for _ in range(4)]
    assert waits == [0.0, 0.0, pytest.approx(0.25), pytest.approx(0.25)]
    assert clock.slept == [pytest.approx(0.25), pytest.approx(0.25)] and limiter.calls == 4


def test_a_wait_past_the_deadline_raises_and_keeps_no_token() -> None:
    clock = StepClock()
    limiter = RateLimiter(reads=BucketSpec(1, 1), cluster_gets=None, headroom=0, clock=clock)
    limiter.acquire("sub")
    with pytest.raises(E.BudgetExhausted):
        limiter.acquire("sub", deadline=clock.t + 0.5)
    assert clock.slept == [] and limiter.ready_in(["sub"])["sub"] == pytest.approx(1.0)


def test_a_429_holds_the_subscription_bucket() -> None:
    clock = StepClock()
    limiter = RateLimiter(reads=BucketSpec(10, 2), cluster_gets=None, headroom=0, clock=clock)
    limiter.penalize("sub", 3.0)
    assert limiter.ready_in(["sub", "other"]) == {"sub": pytest.approx(3.5), "other": 0.0}


def test_plain_functions_still_work_and_bad_buckets_are_refused() -> None:
    clock = StepClock()
    monotonic, sleep = monotonic_and_sleep(clock.monotonic, clock.sleep)
    assert monotonic() == 100.0
    sleep(1.0)
    assert clock.t == 101.0
    with pytest.raises(E.InvalidInput):
        TokenBucket(BucketSpec(0, 1), clock=clock.monotonic)
