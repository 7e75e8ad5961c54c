"""Audit many clusters across many subscriptions, concurrently and within ARM's request limits.

For every cluster of the given subscriptions (or an explicit list of clusters) the audit reads a
:class:`~aks_windows_ops.models.ClusterSnapshot` (``read_snapshot``), runs the FAQ preflight on it and compares
Azure Hybrid Benefit on the cluster with its scale sets, then summarises each cluster in one
:class:`FleetRow`: Kubernetes version, Windows pools and their OS SKU, node image age against the newest image
(days between the images' date stamps), Windows Server 2019 retirement exposure, AHUB drift, findings by
severity, and the error when the cluster could not be read. One failing cluster never fails the audit.

Limits (REFERENCE section 4). ARM meters requests per subscription and principal with token buckets (reads:
250 burst, 25 per second) and AKS meters GETs of one cluster (60 burst, 1 per second). The audit keeps under
them with a client-side :class:`RateLimiter` that reserves a token before each SDK call, so throttling (429) is
the exception rather than the way the rate is found. When ARM throttles anyway, azure-core's retry policy
waits the ``Retry-After`` (capped at the time budget by ``BudgetRetryPolicy``); if it still fails, the audit
waits the ``Retry-After`` itself, holds that subscription's bucket for as long, and reads the cluster again.

Concurrency. A ``ThreadPoolExecutor`` of ``concurrency`` workers pulls work from one queue: listing a
subscription's clusters first, then clusters, always from the subscription whose bucket is readiest, so that
one subscription's empty bucket never stalls workers that could serve another.

The module imports no Azure SDK: every request goes through ``aks_windows_ops.azure``.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from aks_windows_ops.errors import BudgetExhausted, InvalidInput, Throttled
from aks_windows_ops.models import ClusterRef, ClusterSnapshot, Finding, OsSku, Severity
from aks_windows_ops.rules.images import image_date, image_lag_days

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.rules.preflight import PreflightReport
    from aks_windows_ops.runbooks.ahub import LicenseReport

__all__ = [
    "AKS_CLUSTER_GETS",
    "AKS_OPERATION_STATUS",
    "AKS_RESOURCE_PUTS",
    "ARM_DELETES",
    "ARM_READS",
    "ARM_WRITES",
    "COLUMNS",
    "INCLUDE_ALL",
    "BucketSpec",
    "FleetReport",
    "FleetRow",
    "RateLimiter",
    "TokenBucket",
    "WindowsPoolRow",
    "Ws2019Exposure",
    "audit",
    "audit_command",
    "image_date",
    "image_lag_days",
    "summarize_cluster",
    "ws2019_exposure",
]


# --------------------------------------------------------------------------------------------- token buckets
@dataclass(frozen=True)
class BucketSpec:
    """A token bucket's shape: ``burst`` tokens at most, refilled at ``rate`` tokens per second.

    Attributes:
        burst: the bucket's capacity (requests allowed at once after a quiet period).
        rate: tokens added per second.
    """

    burst: float
    rate: float


#: ARM reads per subscription and principal (REFERENCE section 4).
ARM_READS = BucketSpec(250, 25)
#: ARM writes per subscription and principal (REFERENCE section 4).
ARM_WRITES = BucketSpec(200, 10)
#: ARM deletes per subscription and principal (REFERENCE section 4).
ARM_DELETES = BucketSpec(200, 10)
#: AKS PUT of one cluster or one agent pool: 20 burst, then 1 per minute (REFERENCE section 4).
AKS_RESOURCE_PUTS = BucketSpec(20, 1 / 60)
#: AKS GET of one managed cluster (REFERENCE section 4).
AKS_CLUSTER_GETS = BucketSpec(60, 1)
#: AKS operation status polls per subscription (REFERENCE section 4).
AKS_OPERATION_STATUS = BucketSpec(200, 2)


class TokenBucket:
    """A token bucket on an injectable clock (REFERENCE section 4: how ARM meters requests).

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
    """Client-side token buckets that keep an audit under ARM's read limits (REFERENCE section 4).

    One bucket per subscription for reads (ARM: 250 burst, 25 per second) and one per cluster for GETs of
    that cluster (AKS: 60 burst, 1 per second). Every SDK call reserves a token in each bucket that applies
    and waits its turn; a 429 holds the subscription's bucket for the ``Retry-After``.

    Args:
        reads: the per-subscription read bucket.
        cluster_gets: the per-cluster GET bucket.
        headroom: tokens of each burst left unused, for other callers of the same principal and for the delay
            between reserving a token here and the request reaching ARM.
        clock: monotonic seconds (real time by default).
        sleep: how to wait (``time.sleep`` by default; a virtual clock's advance in tests).
    """

    def __init__(
        self,
        *,
        reads: BucketSpec = ARM_READS,
        cluster_gets: BucketSpec | None = AKS_CLUSTER_GETS,
        headroom: float = 5.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.reads = BucketSpec(max(reads.burst - headroom, 1.0), reads.rate)
        self.cluster_gets = (
            BucketSpec(max(cluster_gets.burst - headroom, 1.0), cluster_gets.rate) if cluster_gets else None
        )
        self.clock: Callable[[], float] = clock or time.monotonic
        self.sleep: Callable[[float], None] = sleep or time.sleep
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


# --------------------------------------------------------------------------------------------- row model
class Ws2019Exposure:
    """How exposed a cluster is to the Windows Server 2019 retirement (FAQ "Which Windows operating systems are supported?").

    Windows Server 2019 is not available from Kubernetes 1.33 (REFERENCE section 1). Values are plain strings
    so that they serialise as they are.
    """

    NONE = "none"
    #: A Windows2019 pool on Kubernetes <= 1.31: plan the move to Windows2022.
    RETIRING = "retiring"
    #: A Windows2019 pool on 1.32: the next control plane upgrade is blocked until the pool is replaced.
    BLOCKS_UPGRADE = "blocks-upgrade"
    #: A Windows2019 pool at or above 1.33 (or a version that does not parse): unsupported.
    UNSUPPORTED = "unsupported"


def _minor(version: str | None) -> tuple[int, int] | None:
    if not version:
        return None
    m = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def ws2019_exposure(snapshot: ClusterSnapshot) -> tuple[str, tuple[str, ...]]:
    """Classify a cluster's exposure to the Windows Server 2019 retirement and name the pools concerned.

    FAQ "Which Windows operating systems are supported?" / REFERENCE section 1: Windows2019 is unsupported from
    Kubernetes 1.33; 1.32 is the last version that runs it. The highest of the control plane's and the pool's
    versions decides.

    Returns:
        ``(exposure, pools)`` where exposure is a :class:`Ws2019Exposure` value.
    """
    pools = tuple(
        p.name
        for p in snapshot.windows_pools
        if p.os_sku_enum is OsSku.WINDOWS2019 or p.os_sku == "Windows2019"
    )
    if not pools:
        return Ws2019Exposure.NONE, ()
    worst = Ws2019Exposure.RETIRING
    rank = {Ws2019Exposure.RETIRING: 0, Ws2019Exposure.BLOCKS_UPGRADE: 1, Ws2019Exposure.UNSUPPORTED: 2}
    cp = _minor(snapshot.current_kubernetes_version or snapshot.kubernetes_version)
    for pool in snapshot.windows_pools:
        if pool.name not in pools:
            continue
        versions = [
            v for v in (cp, _minor(pool.current_orchestrator_version or pool.orchestrator_version)) if v
        ]
        top = max(versions) if versions else None
        if top is None or top >= (1, 33):
            level = Ws2019Exposure.UNSUPPORTED
        elif top == (1, 32):
            level = Ws2019Exposure.BLOCKS_UPGRADE
        else:
            level = Ws2019Exposure.RETIRING
        if rank[level] > rank[worst]:
            worst = level
    return worst, pools


@dataclass(frozen=True)
class WindowsPoolRow:
    """One Windows pool in a :class:`FleetRow`: its OS SKU and how far its node image is behind.

    FAQ "Which Windows operating systems are supported?" (OS SKU) and "How do I patch my Windows nodes?" (image).

    Attributes:
        name: the pool name.
        os_sku: ``Windows2019``, ``Windows2022`` or ``Windows2025``.
        count: nodes.
        kubernetes_version: the pool's running version.
        node_image_version: the image it runs.
        latest_node_image_version: the newest image it may upgrade to (``None`` when not read).
        image_lag_days: days between the two images' date stamps (``None`` when unknown).
    """

    name: str
    os_sku: str | None
    count: int
    kubernetes_version: str | None
    node_image_version: str | None
    latest_node_image_version: str | None
    image_lag_days: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "name": self.name,
            "os_sku": self.os_sku,
            "count": self.count,
            "kubernetes_version": self.kubernetes_version,
            "node_image_version": self.node_image_version,
            "latest_node_image_version": self.latest_node_image_version,
            "image_lag_days": self.image_lag_days,
        }


#: Flat columns of :meth:`FleetReport.to_csv`, :meth:`FleetReport.to_records` and the tables, in order.
COLUMNS: tuple[str, ...] = (
    "subscription",
    "resource_group",
    "cluster",
    "kubernetes_version",
    "windows_pools",
    "image_lag_days",
    "ws2019_exposure",
    "ws2019_pools",
    "license_type",
    "ahub_drift",
    "errors",
    "warnings",
    "infos",
    "error",
)


@dataclass(frozen=True)
class FleetRow:
    """One cluster of the fleet audit; an unreadable cluster has only its address and :attr:`error`.

    The columns follow the FAQ: OS SKU and WS2019 retirement ("Which Windows operating systems are
    supported?"), node image age ("How do I patch my Windows nodes?"), AHUB drift ("Can I use Azure Hybrid
    Benefit with Windows nodes?"), and the preflight findings (REFERENCE sections 1-5).

    Attributes:
        subscription: the subscription id.
        resource_group: the cluster's resource group (empty for a subscription that could not be listed).
        cluster: the cluster's name (empty for a subscription that could not be listed).
        kubernetes_version: the control plane's running version.
        location: the Azure region.
        windows_pools: the Windows pools with OS SKU and node image age.
        ws2019_exposure: a :class:`Ws2019Exposure` value.
        ws2019_pools: the pools on Windows2019.
        license_type: ``windowsProfile.licenseType`` (``Windows_Server`` = AHUB on); ``None`` when unset.
        ahub_drift: scale sets and instances whose license differs from the cluster's (``None`` = not read).
        ahub_missing: Windows pools whose scale set was not found by tag.
        findings: preflight findings, most severe first (empty when not run).
        error: why the cluster could not be audited, one line.
        error_type: the error's class name (``NotFound``, ``Throttled``, ``BudgetExhausted`` ...).
        attempts: reads of the cluster (more than 1 after throttling).
        api_calls: SDK calls made for it.
    """

    subscription: str
    resource_group: str
    cluster: str
    kubernetes_version: str | None = None
    location: str | None = None
    windows_pools: tuple[WindowsPoolRow, ...] = ()
    ws2019_exposure: str = Ws2019Exposure.NONE
    ws2019_pools: tuple[str, ...] = ()
    license_type: str | None = None
    ahub_drift: int | None = None
    ahub_missing: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    error_type: str | None = None
    attempts: int = 1
    api_calls: int = 0

    @property
    def ok(self) -> bool:
        """Read without error."""
        return self.error is None

    def count(self, severity: Severity) -> int:
        """Findings of one severity."""
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def errors(self) -> int:
        """Error findings (the service would refuse an operation)."""
        return self.count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        """Warning findings."""
        return self.count(Severity.WARNING)

    @property
    def infos(self) -> int:
        """Informational findings."""
        return self.count(Severity.INFO)

    @property
    def max_image_lag_days(self) -> int | None:
        """The largest node image lag over the Windows pools (``None`` when unknown)."""
        lags = [p.image_lag_days for p in self.windows_pools if p.image_lag_days is not None]
        return max(lags) if lags else None

    def record(self) -> dict[str, Any]:
        """The row flattened to :data:`COLUMNS` (strings, numbers and ``None``)."""
        return {
            "subscription": self.subscription,
            "resource_group": self.resource_group,
            "cluster": self.cluster,
            "kubernetes_version": self.kubernetes_version,
            "windows_pools": " ".join(f"{p.name}:{p.os_sku or 'Windows'}" for p in self.windows_pools),
            "image_lag_days": self.max_image_lag_days,
            "ws2019_exposure": self.ws2019_exposure if self.ok else None,
            "ws2019_pools": " ".join(self.ws2019_pools),
            "license_type": self.license_type,
            "ahub_drift": self.ahub_drift,
            "errors": self.errors if self.ok else None,
            "warnings": self.warnings if self.ok else None,
            "infos": self.infos if self.ok else None,
            "error": self.error,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the pools and findings in full."""
        return {
            "subscription": self.subscription,
            "resource_group": self.resource_group,
            "cluster": self.cluster,
            "location": self.location,
            "kubernetes_version": self.kubernetes_version,
            "windows_pools": [p.to_dict() for p in self.windows_pools],
            "image_lag_days": self.max_image_lag_days,
            "ws2019_exposure": self.ws2019_exposure if self.ok else None,
            "ws2019_pools": list(self.ws2019_pools),
            "license_type": self.license_type,
            "ahub_drift": self.ahub_drift,
            "ahub_missing": list(self.ahub_missing),
            "findings": {
                "errors": self.errors,
                "warnings": self.warnings,
                "infos": self.infos,
                "items": [f.to_dict() for f in self.findings],
            },
            "error": self.error,
            "error_type": self.error_type,
            "attempts": self.attempts,
            "api_calls": self.api_calls,
        }


def summarize_cluster(
    snapshot: ClusterSnapshot,
    *,
    report: PreflightReport | None = None,
    licenses: LicenseReport | None = None,
    attempts: int = 1,
    api_calls: int = 0,
) -> FleetRow:
    """Summarise one cluster's snapshot, preflight and license report in a :class:`FleetRow` (pure).

    Node image age follows FAQ "How do I patch my Windows nodes?", WS2019 exposure FAQ "Which Windows operating
    systems are supported?", AHUB drift FAQ "Can I use Azure Hybrid Benefit with Windows nodes?".
    """
    pools = tuple(
        WindowsPoolRow(
            name=p.name,
            os_sku=p.os_sku,
            count=p.count,
            kubernetes_version=p.current_orchestrator_version or p.orchestrator_version,
            node_image_version=p.node_image_version,
            latest_node_image_version=p.latest_node_image_version,
            image_lag_days=image_lag_days(p.node_image_version, p.latest_node_image_version),
        )
        for p in snapshot.windows_pools
    )
    exposure, ws2019 = ws2019_exposure(snapshot)
    return FleetRow(
        subscription=snapshot.ref.subscription_id,
        resource_group=snapshot.ref.resource_group,
        cluster=snapshot.ref.name,
        kubernetes_version=snapshot.current_kubernetes_version or snapshot.kubernetes_version,
        location=snapshot.location,
        windows_pools=pools,
        ws2019_exposure=exposure,
        ws2019_pools=ws2019,
        license_type=snapshot.license_type,
        ahub_drift=len(licenses.drift) if licenses is not None else None,
        ahub_missing=tuple(licenses.missing_pools) if licenses is not None else (),
        findings=tuple(report.findings) if report is not None else (),
        attempts=attempts,
        api_calls=api_calls,
    )


# --------------------------------------------------------------------------------------------- report
def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


@dataclass(frozen=True)
class FleetReport:
    """The result of :func:`audit`: one :class:`FleetRow` per cluster, sorted by subscription, group, name.

    Renders as text (``to_text``, a ``rich`` table), HTML in notebooks (``_repr_html_``), JSON, CSV and a
    pandas ``DataFrame``; :attr:`exit_code` follows the CLI's convention.

    Attributes:
        rows: the clusters (and subscriptions that could not be listed).
        subscriptions: the subscriptions audited.
        complete: every cluster was attempted within the time budget.
        elapsed: seconds on the audit's clock.
        api_calls: SDK calls made (one request each, unless azure-core retried or a list had several pages).
        waited: seconds spent waiting for rate-limit tokens, summed over workers.
        throttled: clusters read again after ARM answered 429.
    """

    rows: tuple[FleetRow, ...]
    subscriptions: tuple[str, ...] = ()
    complete: bool = True
    elapsed: float = 0.0
    api_calls: int = 0
    waited: float = 0.0
    throttled: int = 0

    @property
    def failed(self) -> tuple[FleetRow, ...]:
        """Rows that could not be audited."""
        return tuple(r for r in self.rows if not r.ok)

    @property
    def exit_code(self) -> int:
        """The CLI's convention: 2 errors found or a cluster failed, 1 warnings, 0 clean."""
        if self.failed or any(r.errors for r in self.rows):
            return 2
        if any(r.warnings for r in self.rows):
            return 1
        return 0

    def summary(self) -> dict[str, Any]:
        """Totals over the fleet."""
        ok = [r for r in self.rows if r.ok]
        return {
            "subscriptions": len(self.subscriptions),
            "clusters": sum(1 for r in self.rows if r.cluster),
            "failed": len(self.failed),
            "windows_pools": sum(len(r.windows_pools) for r in ok),
            "ws2019_exposed": sum(1 for r in ok if r.ws2019_exposure != Ws2019Exposure.NONE),
            "ahub_drift": sum(r.ahub_drift or 0 for r in ok),
            "errors": sum(r.errors for r in ok),
            "warnings": sum(r.warnings for r in ok),
            "infos": sum(r.infos for r in ok),
            "complete": self.complete,
            "elapsed_seconds": round(self.elapsed, 3),
            "api_calls": self.api_calls,
            "throttled": self.throttled,
        }

    def to_records(self) -> list[dict[str, Any]]:
        """The rows flattened to :data:`COLUMNS`."""
        return [r.record() for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report: the summary and every row in full."""
        return {"summary": self.summary(), "columns": list(COLUMNS), "rows": [r.to_dict() for r in self.rows]}

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON (:meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent, default=str)

    def to_csv(self) -> str:
        """The flattened rows as CSV with a header line of :data:`COLUMNS`."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for record in self.to_records():
            writer.writerow({k: "" if v is None else v for k, v in record.items()})
        return buffer.getvalue()

    def to_dataframe(self) -> Any:
        """The flattened rows as a ``pandas.DataFrame`` (pandas is optional: the ``notebooks`` extra).

        Raises:
            ImportError: pandas is not installed.
        """
        try:
            import pandas
        except ImportError as err:
            raise ImportError(
                "FleetReport.to_dataframe needs pandas: pip install 'aks-windows-ops[notebooks]'"
            ) from err
        return pandas.DataFrame(self.to_records(), columns=list(COLUMNS))

    def to_table(self) -> Any:
        """The report as a ``rich.table.Table``."""
        from rich.table import Table

        s = self.summary()
        table = Table(
            title=(
                f"Fleet audit: {_plural(s['clusters'], 'cluster')} in {_plural(s['subscriptions'], 'subscription')}, "
                f"{s['failed']} failed, {_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')}"
                + ("" if self.complete else " (stopped by the time budget)")
            )
        )
        table.add_column("subscription", no_wrap=True)
        table.add_column("resource group", no_wrap=True)
        table.add_column("cluster", no_wrap=True)
        table.add_column("k8s", no_wrap=True)
        table.add_column("Windows pools", min_width=18)
        table.add_column("lag (d)", justify="right", no_wrap=True)
        table.add_column("WS2019", min_width=14)
        table.add_column("AHUB", no_wrap=True)
        for severity in ("E", "W", "I"):
            table.add_column(severity, justify="right", no_wrap=True)
        table.add_column("error", overflow="fold", ratio=1, min_width=20)
        for i, row in enumerate(self.rows):
            first = i == 0 or self.rows[i - 1].subscription != row.subscription
            last = i + 1 == len(self.rows) or self.rows[i + 1].subscription != row.subscription
            bad = not row.ok or row.errors > 0
            if row.ok:
                exposure = row.ws2019_exposure
                if row.ws2019_pools:
                    exposure += ": " + " ".join(row.ws2019_pools)
                ahub = "on" if row.license_type == "Windows_Server" else "off"
                if row.ahub_drift:
                    ahub += f", {row.ahub_drift} drift"
                counts = [str(row.errors), str(row.warnings), str(row.infos)]
            else:
                exposure, ahub, counts = "-", "-", ["-", "-", "-"]
            table.add_row(
                row.subscription if first else "",  # the subscription heads its group of rows
                _cell(row.resource_group),
                _cell(row.cluster),
                _cell(row.kubernetes_version),
                _cell(" ".join(f"{p.name}:{p.os_sku or 'Windows'}" for p in row.windows_pools)),
                _cell(row.max_image_lag_days),
                exposure,
                ahub,
                *counts,
                _cell(row.error),
                style="red" if bad else None,
                end_section=last,
            )
        return table

    def __rich__(self) -> Any:
        return self.to_table()

    def to_text(self, *, width: int = 180) -> str:
        """The report as a plain-text table (no colour codes)."""
        from rich.console import Console

        buffer = io.StringIO()
        console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
        console.print(self.to_table())
        return buffer.getvalue()

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        s = self.summary()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
        body = []
        for record in self.to_records():
            bad = bool(record["error"]) or (record["errors"] or 0) > 0
            style = ' style="color:#b00020"' if bad else ""
            cells = "".join(f"<td>{html.escape(_cell(record[c]))}</td>" for c in COLUMNS)
            body.append(f"<tr{style}>{cells}</tr>")
        caption = html.escape(
            f"{_plural(s['clusters'], 'cluster')} in {_plural(s['subscriptions'], 'subscription')}: "
            f"{s['failed']} failed, {_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')}, "
            f"{s['ws2019_exposed']} exposed to the WS2019 retirement, {s['ahub_drift']} AHUB drift"
            + ("" if self.complete else " (incomplete: time budget)")
        )
        return (
            f'<table class="aks-windows-ops-fleet"><caption>{caption}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )


# --------------------------------------------------------------------------------------------- metering
class _Meter:
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
        self.calls += 1
        if self.limiter is None:
            return
        # A GET of the cluster itself also spends the cluster's AKS GET bucket (REFERENCE section 4).
        cluster = self.cluster_id if group == "managed_clusters" and method == "get" else None
        self.limiter.acquire(self.subscription, cluster=cluster, deadline=self.deadline)


class _MeteredGroup:
    def __init__(self, inner: Any, name: str, meter: _Meter) -> None:
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
    def __init__(self, inner: Any, meter: _Meter) -> None:
        self._inner = inner
        self._meter = meter

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._inner, attr)
        if attr.startswith("_") or callable(value):
            return value
        return _MeteredGroup(value, attr, self._meter)


class _MeteredClients:
    """Stands in for ``AzureClients`` in ``read_snapshot``: same clients, each call metered first."""

    def __init__(self, inner: AzureClients, meter: _Meter) -> None:
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


# --------------------------------------------------------------------------------------------- scheduling
class _Queue:
    """Work for the pool's workers: listings first, then clusters from the readiest subscription."""

    def __init__(self, limiter: RateLimiter | None) -> None:
        self._cond = threading.Condition()
        self._limiter = limiter
        self._listings: deque[str] = deque()
        self._clusters: dict[str, deque[ClusterRef]] = {}
        self._order: deque[str] = deque()
        self._listing_in_flight = 0
        self._closed = False

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

    def _pick_subscription(self) -> str:
        candidates = [s for s in self._order if self._clusters[s]]
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
                    return ("cluster", self._clusters[sub].popleft())
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


# --------------------------------------------------------------------------------------------- the audit
class _Unset:
    def __repr__(self) -> str:
        return "<default>"


_DEFAULT: Any = _Unset()

#: What :func:`audit` can read for each cluster: upgrade profiles (node image age), scale sets (AHUB drift),
#: the preflight findings, and subnet usage (capacity findings).
INCLUDE_ALL: tuple[str, ...] = ("images", "licenses", "findings", "subnets")


def _error_row(ref: ClusterRef, err: BaseException, *, attempts: int = 1, calls: int = 0) -> FleetRow:
    message = str(err) or type(err).__name__
    return FleetRow(
        subscription=ref.subscription_id,
        resource_group=ref.resource_group,
        cluster=ref.name,
        error=message.splitlines()[0],
        error_type=type(err).__name__,
        attempts=attempts,
        api_calls=calls,
    )


def _as_ref(item: ClusterRef | Sequence[str] | str) -> ClusterRef:
    if isinstance(item, ClusterRef):
        return item
    parts = item.strip("/").split("/") if isinstance(item, str) else list(item)
    if len(parts) != 3 or not all(parts):
        raise InvalidInput(
            f"a cluster is a ClusterRef, a (subscription, resource_group, name) tuple or 'sub/rg/name', got {item!r}"
        )
    return ClusterRef(str(parts[0]), str(parts[1]), str(parts[2]))


def _cluster_id(ref: ClusterRef) -> str:
    return (
        f"/subscriptions/{ref.subscription_id}/resourceGroups/{ref.resource_group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{ref.name}"
    )


def audit(
    clients_or_factory: AzureClients | Callable[[str], AzureClients],
    *,
    subscriptions: Iterable[str] | None = None,
    clusters: Iterable[ClusterRef | Sequence[str] | str] | None = None,
    resource_group: str | None = None,
    concurrency: int = 16,
    rate_limit: RateLimiter | None = _DEFAULT,
    time_budget: float | None = None,
    include: Iterable[str] = INCLUDE_ALL,
    retries: int = 2,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    on_row: Callable[[FleetRow], None] | None = None,
) -> FleetReport:
    """Audit every Windows-relevant fact of many clusters concurrently, within ARM's limits (module docstring).

    Implements REFERENCE section 4 (ARM and AKS token buckets, 429 with ``Retry-After``, Retry-After capped at
    the time budget) over the FAQ checks of ``rules.preflight`` (REFERENCE sections 1-5) and the AHUB
    verification of ``runbooks.ahub``.

    Args:
        clients_or_factory: an ``AzureClients`` (other subscriptions get ``for_subscription`` copies sharing
            its credential and transport) or a callable returning the bundle for a subscription id. The
            audit sets each bundle's ``deadline`` when a ``time_budget`` is given.
        subscriptions: subscription ids to discover clusters in (``list_clusters``); by default the bundle's
            own subscription.
        clusters: audit exactly these clusters instead of discovering them (``ClusterRef``,
            ``(subscription, resource_group, name)`` or ``"sub/rg/name"``).
        resource_group: discover only in this resource group.
        concurrency: worker threads (clusters read at once).
        rate_limit: the client-side limiter; omitted, ARM's read bucket per subscription and AKS's GET bucket
            per cluster on real time (or on ``clock``/``sleep`` when given); ``None`` disables it and leaves
            pacing to 429 handling.
        time_budget: seconds; clusters not started in time are reported with a ``BudgetExhausted`` error and
            the report is marked incomplete. ``Retry-After`` waits never go past it.
        include: what to read besides the cluster itself, from :data:`INCLUDE_ALL`: ``images`` (upgrade
            profiles: node image age), ``licenses`` (scale sets: AHUB drift), ``findings`` (preflight),
            ``subnets`` (subnet usage for the capacity findings).
        retries: reads of a cluster repeated after ARM kept answering 429 past azure-core's own retries.
        clock: monotonic seconds for the budget and the default limiter (real time by default).
        sleep: how to wait for ``Retry-After`` (``time.sleep`` by default).
        on_row: called with each row as soon as it is ready (from a worker thread).

    Returns:
        The :class:`FleetReport`; it always holds a row for every cluster found, failed ones with their error.

    Raises:
        InvalidInput: bad arguments (unknown ``include``, no subscription, ``concurrency`` < 1).
    """
    from aks_windows_ops.azure.clients import AzureClients

    wanted = tuple(dict.fromkeys(include))
    unknown = [w for w in wanted if w not in INCLUDE_ALL]
    problems = [f"unknown include {w!r}; choose from {', '.join(INCLUDE_ALL)}" for w in unknown]
    if concurrency < 1:
        problems.append(f"concurrency must be at least 1, got {concurrency}")
    if time_budget is not None and time_budget <= 0:
        problems.append(f"time_budget must be positive, got {time_budget}")
    refs = [_as_ref(c) for c in clusters] if clusters is not None else None
    base = clients_or_factory if isinstance(clients_or_factory, AzureClients) else None
    subs: list[str]
    if refs is not None:
        subs = list(dict.fromkeys(r.subscription_id for r in refs))
    elif subscriptions is not None:
        subs = list(dict.fromkeys(str(s) for s in subscriptions))
    elif base is not None:
        subs = [base.subscription_id]
    else:
        subs = []
        problems.append("give subscriptions= (or clusters=) when passing a factory instead of AzureClients")
    if problems:
        raise InvalidInput(problems)

    now: Callable[[], float] = clock or (
        rate_limit.clock if isinstance(rate_limit, RateLimiter) else time.monotonic
    )
    wait: Callable[[float], None] = sleep or (
        rate_limit.sleep if isinstance(rate_limit, RateLimiter) else time.sleep
    )
    limiter: RateLimiter | None = RateLimiter(clock=now, sleep=wait) if rate_limit is _DEFAULT else rate_limit
    started = now()
    deadline = started + time_budget if time_budget is not None else None

    if base is not None and len(subs) > 1:
        # Resolve the credential once so that every subscription's bundle shares it (and its token cache).
        _ = base.credential
    bundles: dict[str, AzureClients] = {}
    for sub in subs:
        if base is not None:
            bundle = base.for_subscription(sub)
        else:
            bundle = cast("Callable[[str], AzureClients]", clients_or_factory)(sub)
        if time_budget is not None:
            bundle.deadline = bundle.clock() + time_budget
        bundles[sub] = bundle

    queue = _Queue(limiter)
    rows: list[FleetRow] = []
    lock = threading.Lock()
    stats = {"throttled": 0, "calls": 0}
    flags = {"budget_hit": False}

    def emit(row: FleetRow) -> None:
        with lock:
            rows.append(row)
        if on_row is not None:
            on_row(row)

    def out_of_time() -> bool:
        return deadline is not None and now() >= deadline

    def do_listing(sub: str) -> None:
        from aks_windows_ops.azure.facts import list_clusters

        meter = _Meter(limiter, sub, None, deadline)
        try:
            found = list_clusters(cast("AzureClients", _MeteredClients(bundles[sub], meter)), resource_group)
        except Exception as err:  # one subscription failing never fails the audit
            if isinstance(err, BudgetExhausted):
                flags["budget_hit"] = True
            emit(_error_row(ClusterRef(sub, "", ""), err, calls=meter.calls))
            return
        finally:
            with lock:
                stats["calls"] += meter.calls
        queue.add_clusters(ClusterRef(sub, rg, name) for rg, name in found)

    def do_cluster(ref: ClusterRef) -> None:
        meter = _Meter(limiter, ref.subscription_id, _cluster_id(ref), deadline)
        try:
            read_cluster(ref, meter)
        finally:
            with lock:
                stats["calls"] += meter.calls

    def read_cluster(ref: ClusterRef, meter: _Meter) -> None:
        from aks_windows_ops.azure.facts import read_snapshot
        from aks_windows_ops.rules.preflight import preflight
        from aks_windows_ops.runbooks.ahub import license_report

        metered = cast("AzureClients", _MeteredClients(bundles[ref.subscription_id], meter))
        attempt = 0
        while True:
            attempt += 1
            try:
                snapshot = read_snapshot(
                    metered,
                    ref.resource_group,
                    ref.name,
                    upgrade_profiles="images" in wanted,
                    scale_sets="licenses" in wanted,
                    subnets="subnets" in wanted,
                )
                report = preflight(snapshot) if "findings" in wanted else None
                licenses = license_report(snapshot) if "licenses" in wanted else None
                emit(
                    summarize_cluster(
                        snapshot, report=report, licenses=licenses, attempts=attempt, api_calls=meter.calls
                    )
                )
                return
            except Throttled as err:
                # azure-core already waited and retried; wait the Retry-After ourselves, once more per retry.
                pause = err.retry_after if err.retry_after and err.retry_after > 0 else 1.0
                left = None if deadline is None else deadline - now()
                if attempt > retries or (left is not None and pause > left):
                    emit(_error_row(ref, err, attempts=attempt, calls=meter.calls))
                    return
                with lock:
                    stats["throttled"] += 1
                if limiter is not None:
                    limiter.penalize(ref.subscription_id, pause)
                wait(pause)
            except BudgetExhausted as err:
                flags["budget_hit"] = True
                emit(_error_row(ref, err, attempts=attempt, calls=meter.calls))
                return
            except Exception as err:  # one failing cluster never fails the audit
                emit(_error_row(ref, err, attempts=attempt, calls=meter.calls))
                return

    def worker() -> None:
        while True:
            if out_of_time():
                flags["budget_hit"] = True
                queue.close()
                return
            item = queue.next()
            if item is None:
                return
            kind, payload = item
            if kind == "list":
                try:
                    do_listing(payload)
                finally:
                    queue.listing_done()
            else:
                do_cluster(payload)

    if refs is not None:
        queue.add_clusters(refs)
    else:
        for sub in subs:
            queue.add_listing(sub)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fleet-audit") as pool:
        futures = [pool.submit(worker) for _ in range(concurrency)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            # Interrupted (or a simulated crash): let the other workers stop after their current cluster.
            queue.close()
            raise

    listings, skipped = queue.leftovers()
    budget_error = BudgetExhausted("not audited: the time budget ran out before this was started")
    for sub in listings:
        emit(_error_row(ClusterRef(sub, "", ""), budget_error))
    for ref in skipped:
        emit(_error_row(ref, budget_error, attempts=0))
    complete = not (flags["budget_hit"] or listings or skipped)
    rows.sort(
        key=lambda r: (
            subs.index(r.subscription) if r.subscription in subs else len(subs),
            r.resource_group.lower(),
            r.cluster.lower(),
        )
    )
    return FleetReport(
        rows=tuple(rows),
        subscriptions=tuple(subs),
        complete=complete,
        elapsed=now() - started,
        api_calls=stats["calls"],
        waited=limiter.waited if limiter is not None else 0.0,
        throttled=stats["throttled"],
    )


# --------------------------------------------------------------------------------------------- the command
def _scenario_subscriptions(fake: Any) -> list[str]:
    seen: dict[str, None] = {}
    for sub, _rg in getattr(fake, "resource_groups", {}):
        seen.setdefault(sub, None)
    for sub, _rg, _name in getattr(fake, "clusters", {}):
        seen.setdefault(sub, None)
    return list(seen)


def audit_command(
    *,
    subscriptions: Sequence[str] | None = None,
    simulate: str | None = None,
    output: str = "table",
    resource_group: str | None = None,
    concurrency: int = 16,
    time_budget: float | None = None,
    include: Iterable[str] = INCLUDE_ALL,
    write: Callable[[str], Any] | None = None,
    console: Any = None,
) -> int:
    """Run ``aks-windows-ops audit`` and return its exit code (0 clean, 1 warnings, 2 errors or failures).

    Implements the fleet audit (REFERENCE section 4 limits, FAQ checks of ``rules.preflight``) for the CLI.

    Args:
        subscriptions: subscription ids; default ``AZURE_SUBSCRIPTION_ID``, or every subscription of the
            scenario when simulating.
        simulate: a built-in scenario name or scenario file: audit the simulator instead of Azure.
        output: ``table``, ``json`` or ``csv``.
        resource_group: only clusters of this resource group.
        concurrency: worker threads.
        time_budget: seconds before the audit stops starting clusters.
        include: what to read (see :func:`audit`).
        write: where machine-readable output goes (``sys.stdout.write`` by default).
        console: a ``rich`` console for the table (a new one by default).

    Raises:
        InvalidInput: unknown output, or no subscription given.
    """
    import os
    import sys

    from aks_windows_ops.azure.clients import AzureClients

    if output not in ("table", "json", "csv"):
        raise InvalidInput(f"--output must be table, json or csv, got {output!r}")
    subs = list(subscriptions or [])
    clients: AzureClients
    if simulate:
        from aks_windows_ops.testing.scenario import load_scenario

        fake = load_scenario(simulate)
        subs = subs or _scenario_subscriptions(fake)
        if not subs:
            raise InvalidInput(f"scenario {simulate!r} has no subscription")
        clients = AzureClients.for_simulator(fake, subs[0])
    else:
        if not subs:
            env = os.environ.get("AZURE_SUBSCRIPTION_ID")
            if not env:
                raise InvalidInput("--subscription is required (or set AZURE_SUBSCRIPTION_ID)")
            subs = [env]
        clients = AzureClients(subs[0])
    report = audit(
        clients,
        subscriptions=subs,
        resource_group=resource_group,
        concurrency=concurrency,
        time_budget=time_budget,
        include=include,
    )
    out = write or sys.stdout.write
    if output == "json":
        out(report.to_json() + "\n")
    elif output == "csv":
        out(report.to_csv())
    else:
        if console is None:
            from rich.console import Console

            console = Console()
            if not console.is_terminal:
                console = Console(width=180)
        console.print(report.to_table())
    return report.exit_code
