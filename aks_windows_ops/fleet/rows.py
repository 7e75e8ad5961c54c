"""One cluster of the fleet audit: the :class:`FleetRow` model and how a snapshot becomes one (pure).

The columns follow the FAQ: OS SKU and the Windows Server 2019 retirement ("Which Windows operating systems are
supported?"), node image age ("How do I patch my Windows nodes?"), Azure Hybrid Benefit drift ("Can I use Azure
Hybrid Benefit with Windows nodes?") and the preflight findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aks_windows_ops.models import ClusterSnapshot, Finding, OsSku, Severity
from aks_windows_ops.rules.images import image_lag_days
from aks_windows_ops.rules.versions import minor_of

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.rules.preflight import PreflightReport
    from aks_windows_ops.runbooks.ahub import LicenseReport

__all__ = ["COLUMNS", "FleetRow", "WindowsPoolRow", "Ws2019Exposure", "summarize_cluster", "ws2019_exposure"]


class Ws2019Exposure:
    """How exposed a cluster is to the Windows Server 2019 retirement (FAQ "Which Windows operating systems are supported?").

    Windows Server 2019 is not available from Kubernetes 1.33 (FAQ). Values are plain strings
    so that they serialise as they are.
    """

    NONE = "none"
    #: A Windows2019 pool on Kubernetes <= 1.31: plan the move to Windows2022.
    RETIRING = "retiring"
    #: A Windows2019 pool on 1.32: the next control plane upgrade is blocked until the pool is replaced.
    BLOCKS_UPGRADE = "blocks-upgrade"
    #: A Windows2019 pool at or above 1.33 (or a version that does not parse): unsupported.
    UNSUPPORTED = "unsupported"


def ws2019_exposure(snapshot: ClusterSnapshot) -> tuple[str, tuple[str, ...]]:
    """Classify a cluster's exposure to the Windows Server 2019 retirement and name the pools concerned.

    FAQ "Which Windows operating systems are supported?": Windows2019 is unsupported from
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
    cp = minor_of(snapshot.current_kubernetes_version or snapshot.kubernetes_version)
    for pool in snapshot.windows_pools:
        if pool.name not in pools:
            continue
        versions = [
            v for v in (cp, minor_of(pool.current_orchestrator_version or pool.orchestrator_version)) if v
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
    Benefit with Windows nodes?"), and the preflight findings (the FAQ).

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
        attempts: 1 plus the reads sent again for this cluster after a transient answer (throttling, 5xx).
        api_calls: SDK calls made for it.
        sources: where each group of facts came from: ``(("cluster", "arm"), ("licenses", "graph"), ...)``.
        graph_age: seconds between the Resource Graph read and this row (``None`` when nothing came from it);
            Resource Graph itself lags ARM by seconds to minutes.
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
    sources: tuple[tuple[str, str], ...] = ()
    graph_age: float | None = None

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
            "sources": dict(self.sources),
            "graph_age_seconds": self.graph_age,
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
