"""Count and rate-limit the SDK calls a fleet read makes, without touching the SDK clients themselves.

:class:`MeteredClients` stands in for :class:`~aks_windows_ops.azure.clients.AzureClients`: every operation of
the container service, compute and network clients first passes the :class:`Meter`, which counts it and waits
for a token of the subscription's read bucket (and of the cluster's GET bucket for a GET of the cluster itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aks_windows_ops.ratelimit import RateLimiter

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.azure.clients import AzureClients

__all__ = ["Meter", "MeteredClients"]


class Meter:
    """Counts and rate-limits the SDK calls made for one cluster (or one listing)."""

    def __init__(
        self, limiter: RateLimiter | None, subscription: str, cluster_id: str | None, deadline: float | None
    ) -> None:
        self.limiter = limiter
        self.subscription = subscription
        self.cluster_id = cluster_id
        self.deadline = deadline
        self.calls = 0

    def before(self, group: str, method: str) -> None:
        """Count one call of ``group.method`` and wait for its tokens (``BudgetExhausted`` past the deadline)."""
        self.calls += 1
        if self.limiter is None:
            return
        # A GET of the cluster itself also spends the cluster's AKS GET bucket (AKS throttling limits).
        cluster = self.cluster_id if group == "managed_clusters" and method == "get" else None
        self.limiter.acquire(self.subscription, cluster=cluster, deadline=self.deadline)


class _MeteredGroup:
    def __init__(self, inner: Any, name: str, meter: Meter) -> None:
        self._inner = inner
        self._name = name
        self._meter = meter

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._inner, attr)
        if not callable(value) or attr.startswith("_"):
            return value
        meter, group = self._meter, self._name

        def call(*args: Any, **kwargs: Any) -> Any:
            meter.before(group, attr)
            return value(*args, **kwargs)

        return call


class _MeteredClient:
    def __init__(self, inner: Any, meter: Meter) -> None:
        self._inner = inner
        self._meter = meter

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._inner, attr)
        if attr == "send_request":  # a list sent as the SDK's own request (``azure.raw``): one read per page
            meter = self._meter

            def send(*args: Any, **kwargs: Any) -> Any:
                meter.before("send_request", "send_request")
                return value(*args, **kwargs)

            return send
        if attr.startswith("_") or callable(value):
            return value
        return _MeteredGroup(value, attr, self._meter)


class MeteredClients:
    """Stands in for ``AzureClients`` in the snapshot reads: same clients, each call (and each page) metered first."""

    def __init__(self, inner: AzureClients, meter: Meter) -> None:
        self._inner = inner
        self._meter = meter
        self.subscription_id = inner.subscription_id

    @property
    def containerservice(self) -> Any:
        return _MeteredClient(self._inner.containerservice, self._meter)

    @property
    def compute(self) -> Any:
        return _MeteredClient(self._inner.compute, self._meter)

    @property
    def network(self) -> Any:
        return _MeteredClient(self._inner.network, self._meter)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)
