"""aks_windows_ops: the AKS "Windows Server node pools FAQ" as safe, typed, resumable operations.

Public names are loaded lazily (``__getattr__``) so that ``import aks_windows_ops`` imports no Azure SDK: a
cold start in Azure Functions pays only for what a run uses (Service facts: Anchor figures).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_WHERE: dict[str, str] = {
    "AksWindowsOpsError": "aks_windows_ops.errors",
    "ApplyResult": "aks_windows_ops.runbooks.runner",
    "AzureClients": "aks_windows_ops.azure.clients",
    "AzureOperationFailed": "aks_windows_ops.errors",
    "BudgetExhausted": "aks_windows_ops.errors",
    "ClusterContext": "aks_windows_ops.runbooks.context",
    "ClusterRef": "aks_windows_ops.models",
    "ClusterSnapshot": "aks_windows_ops.models",
    "DeprecatedApiBlocked": "aks_windows_ops.errors",
    "DrainBlocked": "aks_windows_ops.errors",
    "EtagMismatch": "aks_windows_ops.errors",
    "Finding": "aks_windows_ops.models",
    "FleetReport": "aks_windows_ops.fleet",
    "InvalidInput": "aks_windows_ops.errors",
    "LeaseHeld": "aks_windows_ops.errors",
    "LicenseReport": "aks_windows_ops.runbooks.ahub",
    "NotFound": "aks_windows_ops.errors",
    "OldWindowsImage": "aks_windows_ops.errors",
    "OperationCanceled": "aks_windows_ops.errors",
    "OperationConflict": "aks_windows_ops.errors",
    "OperationLost": "aks_windows_ops.errors",
    "OsSku": "aks_windows_ops.models",
    "PdbBlockedUpgrade": "aks_windows_ops.errors",
    "Plan": "aks_windows_ops.runbooks.plan",
    "PoolSnapshot": "aks_windows_ops.models",
    "PreflightFailed": "aks_windows_ops.errors",
    "PreflightReport": "aks_windows_ops.rules.preflight",
    "QuotaExceeded": "aks_windows_ops.errors",
    "RunInterrupted": "aks_windows_ops.errors",
    "Secret": "aks_windows_ops.secrets",
    "Severity": "aks_windows_ops.models",
    "Step": "aks_windows_ops.runbooks.plan",
    "SubnetFull": "aks_windows_ops.errors",
    "Throttled": "aks_windows_ops.errors",
    "UnsafeOperation": "aks_windows_ops.errors",
    "UntrustedCheckpoint": "aks_windows_ops.errors",
    "PROCEDURES": "aks_windows_ops.runbooks.registry",
    "Procedure": "aks_windows_ops.runbooks.registry",
    "apply": "aks_windows_ops.runbooks.procedures",
    "context_for": "aks_windows_ops.runbooks.procedures",
    "get_procedure": "aks_windows_ops.runbooks.registry",
    "apply_add_pool": "aks_windows_ops.runbooks.pools",
    "apply_ahub": "aks_windows_ops.runbooks.ahub",
    "apply_migration": "aks_windows_ops.runbooks.migrate",
    "apply_password_rotation": "aks_windows_ops.runbooks.password",
    "apply_patch": "aks_windows_ops.runbooks.patch",
    "audit": "aks_windows_ops.fleet",
    "export_twin": "aks_windows_ops.twin",
    "generate_password": "aks_windows_ops.secrets",
    "get_container_timezone": "aks_windows_ops.kube.timezone",
    "host_runs_image_build": "aks_windows_ops.rules.lifecycle",
    "lint_workloads": "aks_windows_ops.rules.workloads",
    "list_time_zones": "aks_windows_ops.kube.timezone",
    "load_lifecycle": "aks_windows_ops.lifecycle_file",
    "load_manifests": "aks_windows_ops.manifests",
    "plan_add_pool": "aks_windows_ops.runbooks.pools",
    "plan_add_windows_pool": "aks_windows_ops.runbooks.pools",
    "plan_ahub_for_nodes": "aks_windows_ops.runbooks.ahub",
    "plan_disable_ahub": "aks_windows_ops.runbooks.ahub",
    "plan_enable_ahub": "aks_windows_ops.runbooks.ahub",
    "plan_migration": "aks_windows_ops.runbooks.migrate",
    "plan_password_rotation": "aks_windows_ops.runbooks.password",
    "plan_patch": "aks_windows_ops.runbooks.patch",
    "preflight": "aks_windows_ops.rules.preflight",
    "read_snapshot": "aks_windows_ops.azure.facts",
    "resume": "aks_windows_ops.runbooks.procedures",
    "retirement_calendar": "aks_windows_ops.rules.preflight_lifecycle",
    "session_affinity_manifests": "aks_windows_ops.rules.affinity",
    "set_container_timezone": "aks_windows_ops.kube.timezone",
    "verify_ahub": "aks_windows_ops.runbooks.ahub",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'aks_windows_ops' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
