"""The audit's work queue: subscription listings first, then clusters from the readiest subscription.

Workers pull from one queue, always from the subscription whose read bucket is readiest (round robin on ties),
so that one subscription's empty bucket never stalls workers that could serve another.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from aks_windows_ops.models import ClusterRef
from aks_windows_ops.ratelimit import RateLimiter

__all__ = ["WorkQueue"]


class WorkQueue:
    """Work for the pool's workers: listings first, then clusters from the readiest subscription."""

    def __init__(self, limiter: RateLimiter | None) -> None:
        self._cond = threading.Condition()
        self._limiter = limiter
        self._listings: deque[str] = deque()
        self._clusters: dict[str, deque[ClusterRef]] = {}
        self._order: deque[str] = deque()
        self._listing_in_flight = 0
        self._closed = False
        self._gate: Callable[[str], bool] | None = None

    def set_gate(self, gate: Callable[[str], bool] | None) -> None:
        """Hand out a subscription's clusters only once ``gate(subscription)`` is true (see :meth:`wake`)."""
        with self._cond:
            self._gate = gate
            self._cond.notify_all()

    def wake(self) -> None:
        """Look at the gate again: more subscriptions may have become ready."""
        with self._cond:
            self._cond.notify_all()

    def add_listing(self, subscription: str) -> None:
        with self._cond:
            self._listings.append(subscription)
            self._cond.notify()

    def add_clusters(self, refs: Iterable[ClusterRef]) -> None:
        with self._cond:
            for ref in refs:
                sub = ref.subscription_id
                if sub not in self._clusters:
                    self._clusters[sub] = deque()
                    self._order.append(sub)
                self._clusters[sub].append(ref)
            self._cond.notify_all()

    def listing_done(self) -> None:
        with self._cond:
            self._listing_in_flight -= 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _pick_subscription(self) -> str | None:
        candidates = [s for s in self._order if self._clusters[s]]
        if self._gate is not None:
            candidates = [s for s in candidates if self._gate(s)]
        if not candidates:
            return None
        chosen = candidates[0]
        if self._limiter is not None and len(candidates) > 1:
            ready = self._limiter.ready_in(candidates)
            chosen = min(candidates, key=lambda s: ready[s])  # min keeps the round-robin order on ties
        # Round robin: the chosen subscription goes to the back.
        self._order.remove(chosen)
        self._order.append(chosen)
        return chosen

    def next(self) -> tuple[str, Any] | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                if self._listings:
                    self._listing_in_flight += 1
                    return ("list", self._listings.popleft())
                if any(self._clusters.values()):
                    sub = self._pick_subscription()
                    if sub is not None:
                        return ("cluster", self._clusters[sub].popleft())
                    # Clusters wait for their subscription's Resource Graph rows: wake() comes with them.
                    self._cond.wait()
                    continue
                if self._listing_in_flight == 0:
                    return None
                self._cond.wait()

    def leftovers(self) -> tuple[list[str], list[ClusterRef]]:
        with self._cond:
            listings = list(self._listings)
            refs = [ref for q in self._clusters.values() for ref in q]
            self._listings.clear()
            for q in self._clusters.values():
                q.clear()
            return listings, refs
