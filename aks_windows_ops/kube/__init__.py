"""The Kubernetes side: API clients from AKS kubeconfigs, cordon/drain, and workload placement checks.

This package is the only place that imports ``kubernetes``. Its names load on first use, so importing
``aks_windows_ops.kube`` stays cheap until a function is actually needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aks_windows_ops.kube.client import (
        AKS_AAD_SCOPE,
        TokenCredential,
        api_client_for_aad,
        api_client_from_kubeconfig,
        load_kubeconfig,
    )
    from aks_windows_ops.kube.drain import (
        DrainPlan,
        DrainResult,
        NodeDrain,
        PodRef,
        PodVerdict,
        cordon,
        drain_nodes,
        plan_drain,
        uncordon,
    )
    from aks_windows_ops.kube.workloads import (
        ControllerRef,
        PlacementProblem,
        aks_node_labels,
        controller_of,
        find_unplaceable,
        pods_on_nodes,
        read_workload_objects,
        verify_replacements,
    )

__all__ = [
    "AKS_AAD_SCOPE",
    "ControllerRef",
    "DrainPlan",
    "DrainResult",
    "NodeDrain",
    "PlacementProblem",
    "PodRef",
    "PodVerdict",
    "TokenCredential",
    "aks_node_labels",
    "api_client_for_aad",
    "api_client_from_kubeconfig",
    "controller_of",
    "cordon",
    "drain_nodes",
    "find_unplaceable",
    "load_kubeconfig",
    "movable_pods",
    "plan_drain",
    "pods_on_nodes",
    "pool_nodes",
    "read_workload_objects",
    "uncordon",
    "verify_replacements",
]

_HOMES = {
    "client": (
        "AKS_AAD_SCOPE",
        "TokenCredential",
        "api_client_for_aad",
        "api_client_from_kubeconfig",
        "load_kubeconfig",
    ),
    "drain": (
        "DrainPlan",
        "DrainResult",
        "NodeDrain",
        "PodRef",
        "PodVerdict",
        "cordon",
        "drain_nodes",
        "plan_drain",
        "uncordon",
    ),
    "workloads": (
        "ControllerRef",
        "PlacementProblem",
        "aks_node_labels",
        "controller_of",
        "find_unplaceable",
        "movable_pods",
        "pods_on_nodes",
        "pool_nodes",
        "read_workload_objects",
        "verify_replacements",
    ),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
