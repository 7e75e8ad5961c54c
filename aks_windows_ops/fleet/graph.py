"""The fleet's scale sets and instances from Azure Resource Graph, indexed for the audit's clusters.

Two paged queries over every subscription in scope replace the per-cluster scale set list and the per-scale-set
instance lists of the ARM path (FAQ "Can I use Azure Hybrid Benefit with Windows nodes?": the scale set's model
and each instance carry ``licenseType``). Scale sets are matched to pools by the ``aks-managed-poolName`` tag in
the cluster's node resource group, as the ARM path does, and built by the same parser
(``azure.facts.scale_set_from_wire``), so both paths give the audit the same snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aks_windows_ops.models import VmssSnapshot

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.azure.resource_graph import GraphReader

__all__ = ["GraphIndex", "read_graph_index"]

_POOL_TAG = "aks-managed-poolName"


def _instance_key(row: dict[str, Any]) -> tuple[int, str]:
    tail = str(row.get("id") or "").rstrip("/").rsplit("/", 1)[-1]
    return (int(tail), "") if tail.isdigit() else (1 << 62, tail)


@dataclass
class GraphIndex:
    """Scale sets and their instances read from Resource Graph, by subscription and resource group.

    Attributes:
        scale_sets: scale set rows by ``(subscription, resource group)``, both lower case.
        instances: instance rows by ``(subscription, resource group, scale set)``, lower case.
        read_at: the audit clock's reading when the last page arrived (how fresh the rows are).
        requests: Resource Graph requests sent.
        waited: seconds spent waiting for the user's quota window.
    """

    scale_sets: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    instances: dict[tuple[str, str, str], list[dict[str, Any]]] = field(default_factory=dict)
    read_at: float = 0.0
    requests: int = 0
    waited: float = 0.0

    def scale_sets_for(
        self, subscription: str, node_resource_group: str, windows_pools: set[str]
    ) -> list[VmssSnapshot]:
        """The Windows pools' scale sets with their instances, as the ARM path reads them."""
        from aks_windows_ops.azure.facts import scale_set_from_wire

        sub, rg = subscription.lower(), node_resource_group.lower()
        out: list[VmssSnapshot] = []
        for row in self.scale_sets.get((sub, rg), []):
            pool = (row.get("tags") or {}).get(_POOL_TAG)
            if pool not in windows_pools:
                continue
            name = str(row.get("name"))
            wire = {
                "name": name,
                "sku": {"capacity": row.get("capacity") or 0},
                "properties": {"virtualMachineProfile": {"licenseType": row.get("licenseType")}},
            }
            vms = [
                {
                    "instanceId": str(vm.get("id") or "").rstrip("/").rsplit("/", 1)[-1],
                    "name": vm.get("name"),
                    "properties": {
                        "licenseType": vm.get("licenseType"),
                        "latestModelApplied": vm.get("latestModelApplied"),
                        "provisioningState": vm.get("provisioningState"),
                    },
                }
                for vm in sorted(self.instances.get((sub, rg, name.lower()), []), key=_instance_key)
            ]
            out.append(scale_set_from_wire(wire, node_resource_group, str(pool), vms))
        return out


def read_graph_index(reader: GraphReader, subscriptions: Sequence[str]) -> GraphIndex:
    """Read every scale set and scale-set VM of ``subscriptions`` from Resource Graph (two paged queries).

    Raises:
        AksWindowsOpsError: Resource Graph failed (403 when the caller may not use it), translated.
    """
    from aks_windows_ops.azure.resource_graph import SCALE_SET_VMS_QUERY, SCALE_SETS_QUERY

    index = GraphIndex()
    sets = reader.query(SCALE_SETS_QUERY, subscriptions)
    for row in sets.rows:
        key = (str(row.get("subscriptionId")).lower(), str(row.get("resourceGroup")).lower())
        index.scale_sets.setdefault(key, []).append(row)
    vms = reader.query(SCALE_SET_VMS_QUERY, subscriptions)
    for row in vms.rows:
        parts = str(row.get("id") or "").split("/")
        low = [p.lower() for p in parts]
        if "virtualmachinescalesets" not in low:
            continue
        vmss = low[low.index("virtualmachinescalesets") + 1]
        key3 = (str(row.get("subscriptionId")).lower(), str(row.get("resourceGroup")).lower(), vmss)
        index.instances.setdefault(key3, []).append(row)
    index.read_at = vms.read_at
    index.requests = sets.pages + vms.pages
    index.waited = sets.waited + vms.waited
    return index
