"""``Microsoft.Network``: virtual networks, subnets and their address usage (Azure CNI reserves pod IPs per node)."""

from __future__ import annotations

import copy
import re

from azure.core.rest import HttpRequest

from aks_windows_ops.testing._http import FakeResponse
from aks_windows_ops.testing.arm.state import ArmError, ArmState, Json

#: Azure reserves five addresses in every subnet (https://learn.microsoft.com/azure/virtual-network/virtual-networks-faq).
RESERVED_PER_SUBNET = 5
_SUBNET_ID = re.compile(
    r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft.Network/virtualNetworks/([^/]+)/subnets/([^/]+)",
    re.IGNORECASE,
)


def prefix_size(prefix: str) -> int:
    """How many addresses a CIDR prefix holds."""
    bits = int(prefix.split("/")[1])
    return int(2 ** (32 - bits))


def subnet_limit(subnet: Json) -> int:
    """The usable addresses of a subnet body."""
    return prefix_size(subnet["properties"]["addressPrefix"]) - RESERVED_PER_SUBNET


class Network(ArmState):
    """Serves virtual networks and counts the addresses the simulated pools take."""

    def _subnet_usage(self, subnet_id: str) -> tuple[int, int] | None:
        m = _SUBNET_ID.search(subnet_id)
        if not m:
            return None
        vnet = self.vnets.get((m.group(1), m.group(2).lower(), m.group(3).lower()))
        if vnet is None:
            return None
        for s in vnet["properties"]["subnets"]:
            if s["name"].lower() == m.group(4).lower():
                return self._subnet_used(s["id"]), subnet_limit(s)
        return None

    def _subnet_prefix(self, subnet_id: str) -> str:
        for vnet in self.vnets.values():
            for s in vnet["properties"]["subnets"]:
                if s["id"].lower() == subnet_id.lower():
                    return str(s["properties"]["addressPrefix"])
        return "unknown"

    def _subnet_used(self, subnet_id: str) -> int:
        used = self.subnet_base_usage.get(subnet_id.lower(), 0)
        for cluster in self.clusters.values():
            mode = (cluster.props.get("networkProfile") or {}).get("networkPluginMode")
            for pool in cluster.pools.values():
                if (pool.get("vnetSubnetID") or "").lower() != subnet_id.lower():
                    continue
                count = int(pool.get("count", 0))
                if mode == "overlay" or pool.get("podSubnetID"):
                    used += count
                else:
                    used += count * (int(pool.get("maxPods") or 30) + 1)
        return used

    def _network(self, request: HttpRequest, method: str, sub: str, rg: str, rest: list[str]) -> FakeResponse:
        low = [p.lower() for p in rest]
        if len(low) >= 2 and low[0] == "virtualnetworks":
            vnet = self.vnets.get((sub, rg.lower(), low[1]))
            if vnet is None:
                raise ArmError(404, "ResourceNotFound", f"Virtual network {rest[1]} was not found.")
            if len(low) == 2 and method == "GET":
                return FakeResponse(request, 200, copy.deepcopy(vnet))
            if low[2:] == ["usages"]:
                values = [
                    {
                        "currentValue": float(self._subnet_used(s["id"])),
                        "limit": float(subnet_limit(s)),
                        "id": s["id"],
                        "name": {"value": "Subnet size and usage", "localizedValue": "Subnet size and usage"},
                        "unit": "Count",
                    }
                    for s in vnet["properties"]["subnets"]
                ]
                return FakeResponse(request, 200, {"value": values})
            if low[2:] == ["subnets"]:
                return FakeResponse(request, 200, {"value": copy.deepcopy(vnet["properties"]["subnets"])})
            if len(low) == 4 and low[2] == "subnets":
                for s in vnet["properties"]["subnets"]:
                    if s["name"].lower() == low[3]:
                        return FakeResponse(request, 200, copy.deepcopy(s))
                raise ArmError(404, "NotFound", f"Subnet {rest[3]} was not found.")
        raise ArmError(404, "InvalidResourceType", "/".join(rest))

    def add_vnet(
        self,
        subscription: str,
        resource_group: str,
        name: str,
        *,
        address_prefix: str = "10.0.0.0/8",
        subnets: dict[str, str] | None = None,
        used: dict[str, int] | None = None,
        location: str = "westeurope",
    ) -> dict[str, str]:
        """Create a virtual network with subnets ``{name: prefix}``; ``used`` adds addresses taken by others.

        Returns:
            The subnet ids by name.
        """
        with self._lock:
            self.add_resource_group(subscription, resource_group, location)
            vnet_id = (
                f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Network/"
                f"virtualNetworks/{name}"
            )
            ids: dict[str, str] = {}
            subnet_bodies = []
            for sname, prefix in (subnets or {}).items():
                sid = f"{vnet_id}/subnets/{sname}"
                ids[sname] = sid
                subnet_bodies.append(
                    {
                        "id": sid,
                        "name": sname,
                        "type": "Microsoft.Network/virtualNetworks/subnets",
                        "properties": {"addressPrefix": prefix, "provisioningState": "Succeeded"},
                    }
                )
                if used and sname in used:
                    self.subnet_base_usage[sid.lower()] = int(used[sname])
            self.vnets[(subscription, resource_group.lower(), name.lower())] = {
                "id": vnet_id,
                "name": name,
                "type": "Microsoft.Network/virtualNetworks",
                "location": location,
                "properties": {
                    "addressSpace": {"addressPrefixes": [address_prefix]},
                    "subnets": subnet_bodies,
                    "provisioningState": "Succeeded",
                },
            }
            return ids
