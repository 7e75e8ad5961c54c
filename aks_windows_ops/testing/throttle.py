"""``ArmThrottle``: ARM's and AKS's request limits as token buckets, for ``FakeAzure.throttle``.

Azure Resource Manager ("Understand how Azure Resource Manager throttles requests") meters each subscription and principal with token buckets (reads 250 burst / 25 per
second, writes 200 / 10, deletes 200 / 10) and AKS adds its own: a PUT of one cluster or one agent pool gets 20
burst then 1 per minute, a GET of one cluster 60 / 1 per second, operation status polls 200 / 2 per second per
subscription. A request that finds a bucket empty is answered 429 with ``Retry-After`` (whole seconds, as ARM
sends them) and spends no token.

Install it with ``fake.throttle = ArmThrottle()`` (or :meth:`ArmThrottle.install`); the fake calls
:meth:`ArmThrottle.check` for every request that no scripted fault answered. Time is real (monotonic) by
default, so a benchmark can measure wall time against the bound the buckets impose; pass ``clock=fake.clock.now``
to let the SDK's ``Retry-After`` sleeps (virtual time) refill the buckets in tests.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

__all__ = ["ArmThrottle", "Limit"]


class _Shape(Protocol):
    @property
    def burst(self) -> float: ...

    @property
    def rate(self) -> float: ...


class Limit(NamedTuple):
    """The service side of a limit: ``burst`` requests at once, refilled at ``rate`` per second."""

    burst: float
    rate: float


# The service's own figures, written out here rather than taken from the client's limiter, so that a mistake
# in one side does not cancel out in a test that uses both.
_ARM_READS = Limit(250, 25)
_ARM_WRITES = Limit(200, 10)
_ARM_DELETES = Limit(200, 10)
_AKS_RESOURCE_PUTS = Limit(20, 1 / 60)
_AKS_CLUSTER_GETS = Limit(60, 1)
_AKS_OPERATION_STATUS = Limit(200, 2)


class _Bucket:
    """The service's meter: a full bucket to start, refilled continuously, a request takes one whole token."""

    def __init__(self, limit: _Shape, now: float) -> None:
        if limit.burst <= 0 or limit.rate <= 0:
            raise ValueError(f"a throttle limit needs a positive burst and rate, got {limit}")
        self.burst = float(limit.burst)
        self.rate = float(limit.rate)
        self.level = self.burst
        self.stamp = now

    def at(self, now: float) -> float:
        if now > self.stamp:
            self.level = min(self.burst, self.level + (now - self.stamp) * self.rate)
            self.stamp = now
        return self.level

    def wait(self, now: float) -> float:
        return max((1.0 - self.at(now)) / self.rate, 0.0)


_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
_CLUSTER = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.containerservice/managedclusters/[^/]+$",
    re.IGNORECASE,
)
_POOL = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.containerservice/managedclusters/[^/]+"
    r"/agentpools/[^/]+$",
    re.IGNORECASE,
)
_AKS = "/providers/microsoft.containerservice/"


class ArmThrottle:
    """Token buckets that answer 429 like ARM and AKS do (Azure Resource Manager throttling docs); the ``FakeAzure.throttle`` hook.

    Args:
        reads: per subscription, every GET (operation polls included).
        writes: per subscription, PUT / PATCH / POST.
        deletes: per subscription, DELETE.
        resource_puts: per cluster or agent pool, PUT of that resource.
        cluster_gets: per cluster, GET of the managed cluster itself.
        operation_status: per subscription, AKS operation status and result polls.
        clock: monotonic seconds (``time.monotonic`` by default).

    Attributes:
        checked: requests seen.
        throttled: 429 answers produced.
        throttled_by: 429 answers by bucket name (``reads``, ``cluster_gets`` ...).
    """

    def __init__(
        self,
        *,
        reads: _Shape = _ARM_READS,
        writes: _Shape = _ARM_WRITES,
        deletes: _Shape = _ARM_DELETES,
        resource_puts: _Shape = _AKS_RESOURCE_PUTS,
        cluster_gets: _Shape = _AKS_CLUSTER_GETS,
        operation_status: _Shape = _AKS_OPERATION_STATUS,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.specs: dict[str, _Shape] = {
            "reads": reads,
            "writes": writes,
            "deletes": deletes,
            "resource_puts": resource_puts,
            "cluster_gets": cluster_gets,
            "operation_status": operation_status,
        }
        self.clock: Callable[[], float] = clock or time.monotonic
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()
        self.checked = 0
        self.throttled = 0
        self.throttled_by: Counter[str] = Counter()

    def install(self, fake: Any) -> ArmThrottle:
        """Set this throttle as ``fake.throttle`` and return it."""
        fake.throttle = self
        return self

    def buckets_for(self, method: str, path: str, kind: str) -> list[tuple[str, str]]:
        """Return the ``(bucket name, key)`` pairs a request spends a token from.

        Args:
            method: the HTTP method.
            path: the URL path (no query).
            kind: the fake's classification: ``read``, ``write`` or ``poll``.
        """
        m = _SUBSCRIPTION.match(path)
        if m is None:
            return []
        sub = m.group(1).lower()
        low = path.lower().rstrip("/")
        method = method.upper()
        out: list[tuple[str, str]] = []
        if kind in ("read", "poll"):
            out.append(("reads", sub))
            if kind == "poll" and _AKS in low:
                out.append(("operation_status", sub))
            if method == "GET" and _CLUSTER.match(low):
                out.append(("cluster_gets", low))
            return out
        out.append(("deletes" if method == "DELETE" else "writes", sub))
        if method == "PUT" and (_CLUSTER.match(low) or _POOL.match(low)):
            out.append(("resource_puts", low))
        return out

    def _bucket(self, name: str, key: str) -> _Bucket:
        bucket = self._buckets.get((name, key))
        if bucket is None:
            bucket = self._buckets[(name, key)] = _Bucket(self.specs[name], self.clock())
        return bucket

    def check(self, fake: Any, method: str, path: str, kind: str) -> float | None:
        """Spend a token from every bucket the request falls in, or return the seconds to wait (a 429).

        The request is admitted only if every bucket has a token; otherwise none is spent and the longest
        wait is returned (the fake answers 429 with it as ``Retry-After``, rounded up).
        """
        pairs = self.buckets_for(method, path, kind)
        with self._lock:
            self.checked += 1
            now = self.clock()
            buckets = [(name, self._bucket(name, key)) for name, key in pairs]
            waits = [(bucket.wait(now), name) for name, bucket in buckets]
            worst = max(waits, default=(0.0, ""))
            if worst[0] > 0:
                self.throttled += 1
                self.throttled_by[worst[1]] += 1
                return worst[0]
            for _name, bucket in buckets:
                bucket.level -= 1.0
            return None

    def tokens(self, name: str, key: str) -> float:
        """Tokens left in one bucket (a full bucket if it was never used); for tests and reports."""
        with self._lock:
            return self._bucket(name, key.lower()).at(self.clock())
