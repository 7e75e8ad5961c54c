"""aks_windows_ops: the AKS "Windows Server node pools FAQ" as safe, typed, resumable operations.

Public names are loaded lazily (``__getattr__``) so that ``import aks_windows_ops`` imports no Azure SDK: a
cold start in Azure Functions pays only for what a run uses (REFERENCE section 9).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_WHERE: dict[str, str] = {
    "AksWindowsOpsError": "aks_windows_ops.errors",
    "AzureClients": "aks_windows_ops.azure.clients",
    "AzureOperationFailed": "aks_windows_ops.errors",
    "BudgetExhausted": "aks_windows_ops.errors",
    "ClusterRef": "aks_windows_ops.models",
    "ClusterSnapshot": "aks_windows_ops.models",
    "DrainBlocked": "aks_windows_ops.errors",
    "EtagMismatch": "aks_windows_ops.errors",
    "Finding": "aks_windows_ops.models",
    "InvalidInput": "aks_windows_ops.errors",
    "NotFound": "aks_windows_ops.errors",
    "OldWindowsImage": "aks_windows_ops.errors",
    "OperationConflict": "aks_windows_ops.errors",
    "OsSku": "aks_windows_ops.models",
    "PdbBlockedUpgrade": "aks_windows_ops.errors",
    "PoolSnapshot": "aks_windows_ops.models",
    "PreflightFailed": "aks_windows_ops.errors",
    "Secret": "aks_windows_ops.secrets",
    "Severity": "aks_windows_ops.models",
    "SubnetFull": "aks_windows_ops.errors",
    "Throttled": "aks_windows_ops.errors",
    "UnsafeOperation": "aks_windows_ops.errors",
    "read_snapshot": "aks_windows_ops.azure.facts",
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
