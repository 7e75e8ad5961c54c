"""Pure rules: the FAQ's limits as functions of plain data, with no I/O (design notes, "Layers").

* :mod:`~aks_windows_ops.rules.validation`: ``check_*``/``validate_*`` pairs for names, credentials, OS SKUs,
  modes, max pods, counts and whole pool specs (Service facts: FAQ rules; Credentials).
* :mod:`~aks_windows_ops.rules.versions`: Kubernetes version parsing, upgrade paths and pool skew (Service facts: How the Azure CLI does it).
* :mod:`~aks_windows_ops.rules.capacity`: Azure CNI address arithmetic (Service facts: Azure CNI capacity).
* :mod:`~aks_windows_ops.rules.preflight`: a cluster snapshot in, sorted findings out.
* :mod:`~aks_windows_ops.rules.finding_kinds`: the catalogue of preflight finding codes and their fixed facts.
* :mod:`~aks_windows_ops.rules.workloads`: the Windows manifest lint.
"""

from __future__ import annotations

from aks_windows_ops.rules.capacity import (
    CapacityVerdict,
    addresses_needed,
    fits,
    surge_nodes,
    usable_addresses,
)
from aks_windows_ops.rules.preflight import PreflightReport, preflight
from aks_windows_ops.rules.validation import (
    FaqSection,
    check_admin_password,
    check_admin_username,
    check_pool_spec,
    default_max_pods,
    default_os_sku,
    validate_admin_password,
    validate_admin_username,
    validate_pool_spec,
)
from aks_windows_ops.rules.versions import (
    KubernetesVersion,
    check_pool_skew,
    check_upgrade_path,
    parse_version,
    plan_version_hops,
)
from aks_windows_ops.rules.workloads import lint_workloads

__all__ = [
    "CapacityVerdict",
    "FaqSection",
    "KubernetesVersion",
    "PreflightReport",
    "addresses_needed",
    "check_admin_password",
    "check_admin_username",
    "check_pool_skew",
    "check_pool_spec",
    "check_upgrade_path",
    "default_max_pods",
    "default_os_sku",
    "fits",
    "lint_workloads",
    "parse_version",
    "plan_version_hops",
    "preflight",
    "surge_nodes",
    "usable_addresses",
    "validate_admin_password",
    "validate_admin_username",
    "validate_pool_spec",
]
