"""Client-side token buckets: keep a caller under Azure Resource Manager's and AKS's request limits.

Azure Resource Manager meters requests per subscription and principal with token buckets (reads: 250 burst, 25
per second; writes and deletes: 200 burst, 10 per second; see "Understand how Azure Resource Manager throttles
requests" in the Azure docs) and AKS adds its own per resource (a GET of one managed cluster: 60 burst, 1 per
second; a PUT of one cluster or agent pool: 20 burst, then 1 per minute; operation status polls: 200 burst, 2 per
second per subscription). :class:`RateLimiter` reserves a token before each request so that throttling (429)
stays the exception rather than the way the rate is found.

Time comes from a :class:`~aks_windows_ops.clock.Clock` (real time by default; a virtual clock under the
simulator), so a rate-limited run costs no real time in tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aks_windows_ops.clock import Clock, system_clock
from aks_windows_ops.errors import BudgetExhausted, InvalidInput

__all__ = [
    "AKS_CLUSTER_GETS",
    "AKS_OPERATION_STATUS",
    "AKS_RESOURCE_PUTS",
    "ARM_DELETES",
    "ARM_READS",
    "ARM_WRITES",
    "BucketSpec",
    "RateLimiter",
    "TokenBucket",
]


@dataclass(frozen=True)
class BucketSpec:
    """A token bucket's shape: ``burst`` tokens at most, refilled at ``rate`` tokens per second.

    Attributes:
        burst: the bucket's capacity (requests allowed at once after a quiet period).
        rate: tokens added per second.
    """

    burst: float
    rate: float


#: ARM reads per subscription and principal (Azure Resource Manager throttling docs).
ARM_READS = BucketSpec(250, 25)
#: ARM writes per subscription and principal (Azure Resource Manager throttling docs).
ARM_WRITES = BucketSpec(200, 10)
#: ARM deletes per subscription and principal (Azure Resource Manager throttling docs).
ARM_DELETES = BucketSpec(200, 10)
#: AKS PUT of one cluster or one agent pool: 20 burst, then 1 per minute (Azure Resource Manager throttling docs).
AKS_RESOURCE_PUTS = BucketSpec(20, 1 / 60)
#: AKS GET of one managed cluster (Azure Resource Manager throttling docs).
AKS_CLUSTER_GETS = BucketSpec(60, 1)
#: AKS operation status polls per subscription (Azure Resource Manager throttling docs).
AKS_OPERATION_STATUS = BucketSpec(200, 2)


class TokenBucket:
    """A token bucket on an injectable clock (how Azure Resource Manager meters requests).

    Not locked: the owner (``RateLimiter``, ``ArmThrottle``) holds its own lock around every call, because a
    request usually has to pass several buckets at once.

    Args:
        spec: burst and rate.
        clock: monotonic seconds.
        tokens: the initial fill (a full bucket by default).
    """

    def __init__(self, spec: BucketSpec, *, clock: Callable[[], float], tokens: float | None = None) -> None:
        if spec.burst <= 0 or spec.rate <= 0:
            raise InvalidInput(f"a token bucket needs a positive burst and rate, got {spec}")
        self.spec = spec
        self._clock = clock
        self._tokens = float(spec.burst if tokens is None else tokens)
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        if now > self._stamp:
            self._tokens = min(self.spec.burst, self._tokens + (now - self._stamp) * self.spec.rate)
            self._stamp = now

    @property
    def tokens(self) -> float:
        """Tokens available now (negative while reservations are outstanding)."""
        self._refill()
        return self._tokens

    def wait_time(self, n: float = 1.0) -> float:
        """Seconds until ``n`` tokens are available, without taking them (0 when they are)."""
        self._refill()
        missing = n - self._tokens
        return max(missing / self.spec.rate, 0.0)

    def try_take(self, n: float = 1.0) -> float:
        """Take ``n`` tokens if available and return 0, else take nothing and return the wait in seconds."""
        wait = self.wait_time(n)
        if wait <= 0:
            self._tokens -= n
        return wait

    def take(self, n: float = 1.0) -> None:
        """Take ``n`` tokens unconditionally (the caller checked :meth:`wait_time` across its buckets)."""
        self._refill()
        self._tokens -= n

    def reserve(self, n: float = 1.0) -> float:
        """Reserve ``n`` tokens now, possibly in debt, and return how long to wait before using them.

        Each caller waits exactly once for its own turn (no thundering herd of sleepers re-checking).
        """
        self._refill()
        self._tokens -= n
        return max(-self._tokens / self.spec.rate, 0.0)

    def refund(self, n: float = 1.0) -> None:
        """Give back tokens taken or reserved but not used."""
        self._refill()
        self._tokens = min(self.spec.burst, self._tokens + n)

    def hold(self, seconds: float) -> None:
        """Leave no token for ``seconds`` (after a 429 with ``Retry-After``)."""
        self._refill()
        self._tokens = min(self._tokens, -max(seconds, 0.0) * self.spec.rate)


class RateLimiter:
    """Client-side token buckets that keep an audit under ARM's read limits (Azure Resource Manager throttling docs).

    One bucket per subscription for reads (ARM: 250 burst, 25 per second) and one per cluster for GETs of
    that cluster (AKS: 60 burst, 1 per second). Every SDK call reserves a token in each bucket that applies
    and waits its turn; a 429 holds the subscription's bucket for the ``Retry-After``.

    Args:
        reads: the per-subscription read bucket.
        cluster_gets: the per-cluster GET bucket.
        headroom: tokens of each burst left unused, for other callers of the same principal and for the delay
            between reserving a token here and the request reaching ARM.
        clock: a :class:`~aks_windows_ops.clock.Clock` (real time by default), or a function returning
            monotonic seconds together with ``sleep``.
        sleep: how to wait, with a plain ``clock`` function (the clock's own ``sleep`` otherwise).
    """

    def __init__(
        self,
        *,
        reads: BucketSpec = ARM_READS,
        cluster_gets: BucketSpec | None = AKS_CLUSTER_GETS,
        headroom: float = 5.0,
        clock: Clock | Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.reads = BucketSpec(max(reads.burst - headroom, 1.0), reads.rate)
        self.cluster_gets = (
            BucketSpec(max(cluster_gets.burst - headroom, 1.0), cluster_gets.rate) if cluster_gets else None
        )
        monotonic, wait = monotonic_and_sleep(clock, sleep)
        #: Monotonic seconds.
        self.clock: Callable[[], float] = monotonic
        #: How the limiter waits for a token.
        self.sleep: Callable[[float], None] = wait
        self._lock = threading.Lock()
        self._subscriptions: dict[str, TokenBucket] = {}
        self._clusters: dict[str, TokenBucket] = {}
        #: Calls admitted so far.
        self.calls = 0
        #: Seconds spent waiting for tokens, summed over callers.
        self.waited = 0.0

    def _sub(self, subscription: str) -> TokenBucket:
        bucket = self._subscriptions.get(subscription)
        if bucket is None:
            bucket = self._subscriptions[subscription] = TokenBucket(self.reads, clock=self.clock)
        return bucket

    def acquire(
        self, subscription: str, *, cluster: str | None = None, deadline: float | None = None
    ) -> float:
        """Wait until a read in ``subscription`` (and a GET of ``cluster``, when given) is allowed.

        Args:
            subscription: the subscription the request goes to.
            cluster: the cluster's resource id (or any stable key) when the request GETs that cluster.
            deadline: an absolute time on :attr:`clock`; waiting beyond it raises instead.

        Returns:
            The seconds waited.

        Raises:
            BudgetExhausted: the wait would end after ``deadline`` (no token is kept).
        """
        with self._lock:
            buckets = [self._sub(subscription)]
            if cluster is not None and self.cluster_gets is not None:
                key = cluster.lower()
                bucket = self._clusters.get(key)
                if bucket is None:
                    bucket = self._clusters[key] = TokenBucket(self.cluster_gets, clock=self.clock)
                buckets.append(bucket)
            wait = max(b.reserve() for b in buckets)
            if deadline is not None and self.clock() + wait > deadline:
                for b in buckets:
                    b.refund()
                raise BudgetExhausted(
                    f"the time budget runs out before ARM's read limit allows the next request to {subscription}"
                )
            self.calls += 1
            self.waited += wait
        if wait > 0:
            self.sleep(wait)
        return wait

    def ready_in(self, subscriptions: Iterable[str]) -> dict[str, float]:
        """Seconds until each subscription's read bucket has a token (0 = now)."""
        with self._lock:
            return {s: self._sub(s).wait_time() for s in subscriptions}

    def penalize(self, subscription: str, seconds: float) -> None:
        """Hold the subscription's read bucket empty for ``seconds`` (ARM answered 429 with ``Retry-After``)."""
        with self._lock:
            self._sub(subscription).hold(seconds)


def monotonic_and_sleep(
    clock: Clock | Callable[[], float] | None, sleep: Callable[[float], None] | None = None
) -> tuple[Callable[[], float], Callable[[float], None]]:
    """Split a :class:`~aks_windows_ops.clock.Clock` (or a monotonic function and a sleep) into the two functions.

    Args:
        clock: a ``Clock``, a function returning monotonic seconds, or ``None`` for real time.
        sleep: how to wait; overrides the clock's own ``sleep``.

    Returns:
        ``(monotonic, sleep)``.
    """
    if clock is None:
        clock = system_clock
    if isinstance(clock, Clock):
        return clock.monotonic, sleep or clock.sleep
    return clock, sleep or system_clock.sleep
