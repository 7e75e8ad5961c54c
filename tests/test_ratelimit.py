"""The shared client-side rate limiter on one Clock object (no clock/sleep pairs)."""

from __future__ import annotations

import pytest

from aks_windows_ops import errors as E
from aks_windows_ops.clock import Clock
from aks_windows_ops.ratelimit import BucketSpec, RateLimiter, TokenBucket, monotonic_and_sleep
from aks_windows_ops.testing import VirtualClock


def test_limiter_waits_its_turn_on_the_clock_it_is_given() -> None:
    clock = VirtualClock(100.0, record=True)
    assert isinstance(clock, Clock)
    limiter = RateLimiter(reads=BucketSpec(2, 4), cluster_gets=None, headroom=0, clock=clock)
    waits = [limiter.acquire("sub") for _ in range(4)]
    assert waits == [0.0, 0.0, pytest.approx(0.25), pytest.approx(0.25)]
    assert clock.sleeps == [pytest.approx(0.25), pytest.approx(0.25)] and limiter.calls == 4


def test_a_wait_past_the_deadline_raises_and_keeps_no_token() -> None:
    clock = VirtualClock(100.0, record=True)
    limiter = RateLimiter(reads=BucketSpec(1, 1), cluster_gets=None, headroom=0, clock=clock)
    limiter.acquire("sub")
    with pytest.raises(E.BudgetExhausted):
        limiter.acquire("sub", deadline=clock.monotonic() + 0.5)
    assert clock.sleeps == [] and limiter.ready_in(["sub"])["sub"] == pytest.approx(1.0)


def test_a_429_holds_the_subscription_bucket() -> None:
    clock = VirtualClock(100.0, record=True)
    limiter = RateLimiter(reads=BucketSpec(10, 2), cluster_gets=None, headroom=0, clock=clock)
    limiter.penalize("sub", 3.0)
    assert limiter.ready_in(["sub", "other"]) == {"sub": pytest.approx(3.5), "other": 0.0}


def test_plain_functions_still_work_and_bad_buckets_are_refused() -> None:
    clock = VirtualClock(100.0, record=True)
    monotonic, sleep = monotonic_and_sleep(clock.monotonic, clock.sleep)
    assert monotonic() == 100.0
    sleep(1.0)
    assert clock.monotonic() == 101.0
    with pytest.raises(E.InvalidInput):
        TokenBucket(BucketSpec(0, 1), clock=clock.monotonic)
