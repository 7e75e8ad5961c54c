"""Preflight rules that read the lifecycle data: Windows OS retirement, Kubernetes support, the pre-2020 image.

Pure: a :class:`~aks_windows_ops.models.ClusterSnapshot`, the :class:`~aks_windows_ops.rules.lifecycle.LifecycleData`
and an ``as_of`` date in, findings out. Every message says the date and what stops working then; severities follow
:func:`~aks_windows_ops.rules.lifecycle.grade` (error once past, warning within 12 months, info beyond; the end of a
Kubernetes minor's standard support within :data:`KUBERNETES_WARNING_WINDOW_DAYS`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from aks_windows_ops.models import ClusterSnapshot, Finding, PoolSnapshot, Severity
from aks_windows_ops.rules import finding_kinds as kinds
from aks_windows_ops.rules import versions
from aks_windows_ops.rules.findings import pool_resource
from aks_windows_ops.rules.lifecycle import (
    KubernetesMinor,
    LifecycleData,
    OsSkuLifecycle,
    grade,
    still_on_old_windows_image,
)

__all__ = [
    "KUBERNETES_WARNING_WINDOW_DAYS",
    "LTS_SUPPORT_PLAN",
    "RetirementRow",
    "kubernetes_support_findings",
    "old_image_findings",
    "retirement_calendar",
    "windows_os_findings",
]

#: ``supportPlan`` of a cluster on AKS Long Term Support.
LTS_SUPPORT_PLAN = "AKSLongTermSupport"

#: The end of a Kubernetes minor's standard support this many days ahead or closer is a warning (the end of Long
#: Term Support keeps the twelve-month window of the other lifecycle dates). AKS supports a minor for
#: about twelve months after its GA (learn.microsoft.com/azure/aks/supported-kubernetes-versions), so the
#: twelve-month window of the Windows OS dates would warn on every cluster from the day its minor ships; a new
#: minor arrives about every quarter, and the quarter before the end is when the upgrade is due.
KUBERNETES_WARNING_WINDOW_DAYS = 90


def _label(minor: tuple[int, int]) -> str:
    return f"{minor[0]}.{minor[1]}"


def _control_plane(s: ClusterSnapshot) -> str:
    return s.current_kubernetes_version or s.kubernetes_version


def _worst(*severities: Severity) -> Severity:
    return max(severities, key=lambda s: s.rank)


def _os_message(pool: PoolSnapshot, sku: OsSkuLifecycle, as_of: _dt.date) -> str:
    parts: list[str] = []
    if sku.retirement is not None:
        verb = "retired on" if sku.retirement <= as_of else "retires on"
        parts.append(
            f"{sku.name} {verb} {sku.retirement.isoformat()}: no security patches or new node images after it"
        )
    if sku.max_minor is not None:
        nxt = (sku.max_minor[0], sku.max_minor[1] + 1)
        parts.append(f"it runs on Kubernetes up to {_label(sku.max_minor)} (not on {_label(nxt)} and later)")
    if sku.image_removal is not None:
        verb = "were removed on" if sku.image_removal <= as_of else "are removed on"
        parts.append(
            f"its node images {verb} {sku.image_removal.isoformat()}, after which scaling and reimaging this pool fail"
        )
    return f"Windows pool {pool.name} ({sku.sku}): " + "; ".join(parts) + "."


def windows_os_findings(s: ClusterSnapshot, data: LifecycleData, as_of: _dt.date) -> Iterator[Finding]:
    """Windows OS SKU lifecycle per Windows pool (FAQ "Which Windows operating systems are supported?").

    Grades the retirement and image removal dates of each pool's OS SKU, checks the pool's Kubernetes version
    against the versions the SKU runs on, and warns when the pool is on the SKU's last minor.

    Args:
        s: the cluster.
        data: lifecycle data.
        as_of: the day to grade against.

    Yields:
        ``WINDOWS_OS_RETIRED`` / ``WINDOWS_OS_RETIRING`` / ``WINDOWS_OS_LIFECYCLE`` (by date),
        ``WINDOWS_OS_KUBERNETES_UNSUPPORTED``, ``WINDOWS_OS_LAST_KUBERNETES_MINOR``, ``WINDOWS_OS_UNKNOWN``.
    """
    cp_minor = versions.minor_of(_control_plane(s))
    for pool in s.windows_pools:
        resource = pool_resource(pool)
        sku = data.os_sku(pool.os_sku)
        if sku is None:
            if pool.os_sku:
                yield kinds.WINDOWS_OS_UNKNOWN.at(
                    resource,
                    f"Windows pool {pool.name} runs OS SKU {pool.os_sku}, which the lifecycle data "
                    f"({data.origin}, checked {data.checked.isoformat()}) does not list; its retirement was "
                    "not checked.",
                )
            continue
        dated = [d for d in (sku.retirement, sku.image_removal) if d is not None]
        if dated:
            severity = _worst(*(grade(d, as_of) for d in dated))
            yield kinds.WINDOWS_OS_BY_GRADE[severity].at(resource, _os_message(pool, sku, as_of))
        pool_minor = versions.minor_of(pool.current_orchestrator_version or pool.orchestrator_version)
        highest = max((m for m in (pool_minor, cp_minor) if m is not None), default=None)
        if highest is not None and sku.max_minor is not None and highest > sku.max_minor:
            yield kinds.WINDOWS_OS_KUBERNETES_UNSUPPORTED.at(
                resource,
                f"Windows pool {pool.name} ({sku.sku}) with Kubernetes {_label(highest)}: {sku.name} runs on "
                f"Kubernetes up to {_label(sku.max_minor)} only.",
            )
        elif pool_minor is not None and sku.min_minor is not None and pool_minor < sku.min_minor:
            yield kinds.WINDOWS_OS_KUBERNETES_UNSUPPORTED.at(
                resource,
                f"Windows pool {pool.name} ({sku.sku}) is on Kubernetes {_label(pool_minor)}; {sku.name} needs "
                f"{_label(sku.min_minor)} or later.",
                remediation=f"Upgrade the control plane and the pool to {_label(sku.min_minor)} or later (patch runbook).",
                runbook="patch",
            )
        elif highest is not None and sku.max_minor is not None and highest == sku.max_minor:
            yield kinds.WINDOWS_OS_LAST_KUBERNETES_MINOR.at(
                resource,
                f"Windows pool {pool.name} ({sku.sku}) is on Kubernetes {_label(highest)}, the last version "
                f"with {sku.name}; the next control plane upgrade is blocked until the pool moves to another "
                "Windows OS.",
            )


def _support_message(
    what: str, entry: KubernetesMinor, data: LifecycleData, as_of: _dt.date, lts: bool
) -> tuple[Severity, str]:
    label = entry.label
    std = entry.standard_support_end
    platform = data.platform_support_end(entry.minor)
    if lts and entry.lts_end is not None:
        severity = grade(entry.lts_end, as_of)
        verb = "ended on" if entry.lts_end <= as_of else "ends on"
        return severity, (
            f"{what} runs Kubernetes {label} on AKS Long Term Support, which {verb} {entry.lts_end.isoformat()}: "
            "no more patches or support for this minor after it."
        )
    severity = grade(std, as_of, window_days=KUBERNETES_WARNING_WINDOW_DAYS)
    if std > as_of:
        text = (
            f"{what} runs Kubernetes {label}; AKS standard support ends on {std.isoformat()}: no more patches or "
            "support requests for this minor after it."
        )
    else:
        text = (
            f"{what} runs Kubernetes {label}, out of AKS standard support since {std.isoformat()}: no patches"
        )
        nxt = f"{entry.minor[0]}.{entry.minor[1] + 4}"
        if platform is not None and platform > as_of:
            text += f"; only platform support remains, until Kubernetes {nxt} is generally available."
        elif platform is not None:
            text += f", and platform support also ended when Kubernetes {nxt} became generally available."
        else:
            text += "."
    if entry.lts_end is not None and entry.lts_end > as_of:
        text += f" AKS Long Term Support (supportPlan {LTS_SUPPORT_PLAN}) covers it until {entry.lts_end.isoformat()}."
    elif entry.lts_end is not None:
        text += f" Its AKS Long Term Support ended on {entry.lts_end.isoformat()} too."
    return severity, text


def kubernetes_support_findings(
    s: ClusterSnapshot, data: LifecycleData, as_of: _dt.date
) -> Iterator[Finding]:
    """AKS support of the control plane's and the pools' Kubernetes minors (AKS supported Kubernetes versions).

    Graded on the end of standard support, or of Long Term Support when the cluster's ``supportPlan`` is
    ``AKSLongTermSupport``. A pool is reported only when its minor differs from the control plane's.

    Args:
        s: the cluster.
        data: lifecycle data.
        as_of: the day to grade against.

    Yields:
        ``KUBERNETES_OUT_OF_SUPPORT`` (error), ``KUBERNETES_SUPPORT_ENDING`` (warning), ``KUBERNETES_SUPPORT_END``
        (info), ``KUBERNETES_VERSION_NOT_IN_DATA`` (info).
    """
    lts = (s.support_plan or "").lower() == LTS_SUPPORT_PLAN.lower()
    cp_minor = versions.minor_of(_control_plane(s))
    targets: list[tuple[str, str, tuple[int, int]]] = []
    if cp_minor is not None:
        targets.append((f"the control plane of {s.ref.name}", f"ManagedCluster/{s.ref}", cp_minor))
    for pool in s.pools:
        m = versions.minor_of(pool.current_orchestrator_version or pool.orchestrator_version)
        if m is not None and m != cp_minor:
            targets.append((f"pool {pool.name}", pool_resource(pool), m))
    known = sorted(data.kubernetes)
    for what, resource, minor in targets:
        entry = data.minor(minor)
        if entry is None and known and minor < known[0]:
            oldest = data.kubernetes[known[0]]
            yield kinds.KUBERNETES_OUT_OF_SUPPORT.at(
                resource,
                f"{what} runs Kubernetes {_label(minor)}, older than every minor in the lifecycle data (the oldest, "
                f"{oldest.label}, left standard support on {oldest.standard_support_end.isoformat()}): no "
                "patches, no support.",
            )
            continue
        if entry is None:
            yield kinds.KUBERNETES_VERSION_NOT_IN_DATA.at(
                resource,
                f"{what} runs Kubernetes {_label(minor)}, which the lifecycle data ({data.origin}, checked "
                f"{data.checked.isoformat()}) does not list; its support end was not checked.",
            )
            continue
        severity, message = _support_message(what, entry, data, as_of, lts)
        lts_offered = not lts and entry.lts_end is not None and entry.lts_end > as_of
        yield kinds.KUBERNETES_SUPPORT_BY_GRADE[severity].at(
            resource,
            message,
            remediation=(
                "Upgrade the control plane, then the pools, one minor at a time (patch runbook), or move the "
                f"cluster to the {LTS_SUPPORT_PLAN} plan."
                if lts_offered
                else None
            ),
        )


def old_image_findings(s: ClusterSnapshot, data: LifecycleData) -> Iterator[Finding]:
    """FAQ "Why am I seeing an error when I try to create a new Windows agent pool?", decided from evidence.

    Args:
        s: the cluster.
        data: lifecycle data.

    Yields:
        ``OLD_WINDOWS_IMAGE`` (error) while :func:`still_on_old_windows_image` holds.
    """
    if not still_on_old_windows_image(s, data):
        return
    newest = _label(data.old_image.newest_minor_then)
    yield kinds.OLD_WINDOWS_IMAGE.at(
        f"ManagedCluster/{s.ref}",
        f"the cluster was created before February 2020 and its control plane still runs Kubernetes "
        f"{_control_plane(s) or 'unknown'} (no newer than {newest}, the newest minor of that time), so it was "
        "never upgraded: adding a Windows pool fails with 'The following list of images referenced from the "
        "deployment template is not found'.",
    )


@dataclass(frozen=True)
class RetirementRow:
    """One Windows pool on the retirement calendar (FAQ "Which Windows operating systems are supported?").

    Attributes:
        cluster: ``resource_group/name``.
        pool: the pool's name.
        os_sku: its OS SKU.
        nodes: its node count.
        retirement: its OS's retirement date (``None``: none announced).
        image_removal: the day its node images are removed (``None``: none announced).
        severity: the grade of the nearer date against ``as_of`` (info when nothing is announced).
    """

    cluster: str
    pool: str
    os_sku: str
    nodes: int
    retirement: _dt.date | None
    image_removal: _dt.date | None
    severity: Severity

    @property
    def first_date(self) -> _dt.date | None:
        """The earlier of the two dates, or ``None``."""
        dates = [d for d in (self.retirement, self.image_removal) if d is not None]
        return min(dates) if dates else None


def retirement_calendar(
    snapshots: Iterable[ClusterSnapshot], data: LifecycleData, as_of: _dt.date
) -> list[RetirementRow]:
    """Every Windows pool of a fleet, soonest retirement first (FAQ "Which Windows operating systems are supported?").

    Args:
        snapshots: the clusters.
        data: lifecycle data.
        as_of: the day to grade against.

    Returns:
        One row per Windows pool: pools whose OS has dates first, by date; pools of an OS the data does not
        know, or with nothing announced, last.
    """
    rows: list[RetirementRow] = []
    for s in snapshots:
        for pool in s.windows_pools:
            sku = data.os_sku(pool.os_sku)
            retirement = sku.retirement if sku else None
            removal = sku.image_removal if sku else None
            dated = [d for d in (retirement, removal) if d is not None]
            severity = _worst(*(grade(d, as_of) for d in dated)) if dated else Severity.INFO
            rows.append(
                RetirementRow(
                    str(s.ref), pool.name, pool.os_sku or "?", pool.count, retirement, removal, severity
                )
            )
    return sorted(rows, key=lambda r: (r.first_date is None, r.first_date or _dt.date.max, r.cluster, r.pool))
