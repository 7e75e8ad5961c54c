"""Audit many clusters across many subscriptions, concurrently and within ARM's request limits.

The package, one job per module: :mod:`~aks_windows_ops.fleet.audit` (the audit and its workers),
:mod:`~aks_windows_ops.fleet.rows` (one cluster's row), :mod:`~aks_windows_ops.fleet.report` (the report and its
JSON/CSV forms), :mod:`~aks_windows_ops.fleet.render` (tables), :mod:`~aks_windows_ops.fleet.metering` and
:mod:`~aks_windows_ops.fleet.queue` (pacing and scheduling). The token buckets are
:mod:`aks_windows_ops.ratelimit`, re-exported here.
"""

from __future__ import annotations

from aks_windows_ops.fleet.audit import INCLUDE_ALL, audit
from aks_windows_ops.fleet.command import audit_command
from aks_windows_ops.fleet.report import FleetReport
from aks_windows_ops.fleet.rows import (
    COLUMNS,
    FleetRow,
    WindowsPoolRow,
    Ws2019Exposure,
    summarize_cluster,
    ws2019_exposure,
)
from aks_windows_ops.ratelimit import (
    AKS_CLUSTER_GETS,
    AKS_OPERATION_STATUS,
    AKS_RESOURCE_PUTS,
    ARM_DELETES,
    ARM_READS,
    ARM_WRITES,
    BucketSpec,
    RateLimiter,
    TokenBucket,
)
from aks_windows_ops.rules.images import image_date, image_lag_days

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
