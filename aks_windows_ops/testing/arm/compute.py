"""``Microsoft.Compute`` in the node resource group: the pools' scale sets and instances, kept in step with AKS.

License changes follow the FAQ ("Can I use Azure Hybrid Benefit with Windows nodes?"): AKS writes the Windows
profile's ``licenseType`` to the scale set model and reimages the instances.
"""

from __future__ import annotations

import copy
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

from azure.core.rest import HttpRequest

from aks_windows_ops.testing._http import FakeResponse
from aks_windows_ops.testing.arm.operations import Operations
from aks_windows_ops.testing.arm.state import ArmError, Cluster, Json, Key


def set_license(target: Json, license_type: str | None) -> None:
    """Write ``licenseType`` to a model or instance's properties; ``None``/``"None"`` removes it."""
    if license_type and license_type != "None":
        target["licenseType"] = license_type
    else:
        target.pop("licenseType", None)


class Compute(Operations):
    """The scale sets behind the pools, and the Compute API over them."""

    def _vmss_name(self, cluster: Cluster, pool: str) -> str:
        digits = str(zlib.crc32(cluster.name.encode()) % 10**8).zfill(8)
        return f"aks-{pool}-{digits}-vmss"

    def _create_vmss(self, cluster: Cluster, pool: str) -> None:
        props = cluster.pools[pool]
        rg = self._node_rg(cluster)
        self.resource_groups.setdefault((cluster.subscription, rg.lower()), cluster.location)
        name = self._vmss_name(cluster, pool)
        windows = props.get("osType") == "Windows"
        win = cluster.props.get("windowsProfile") or {}
        profile: Json = {
            "osProfile": {
                "computerNamePrefix": f"aks{pool}" if windows else f"aks-{pool}-{name.split('-')[2]}-vmss",
                "adminUsername": win.get("adminUsername", "azureuser") if windows else "azureuser",
            },
            "storageProfile": {
                "osDisk": {"osType": "Windows" if windows else "Linux", "createOption": "FromImage"}
            },
        }
        if windows:
            set_license(profile, win.get("licenseType") or None)
        vmss = {
            "id": f"/subscriptions/{cluster.subscription}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}",
            "name": name,
            "type": "Microsoft.Compute/virtualMachineScaleSets",
            "location": cluster.location,
            "tags": {
                "aks-managed-poolName": pool,
                "aks-managed-createOperationID": str(uuid.uuid4()),
                "aks-managed-orchestrator": f"Kubernetes:{props.get('currentOrchestratorVersion')}",
            },
            "sku": {"name": props.get("vmSize"), "tier": "Standard", "capacity": int(props.get("count", 0))},
            "properties": {
                "singlePlacementGroup": False,
                "orchestrationMode": "Uniform",
                "upgradePolicy": {"mode": "Manual"},
                "provisioningState": "Succeeded",
                "virtualMachineProfile": profile,
            },
        }
        key = (cluster.subscription, rg.lower(), name.lower())
        self.vmss[key] = vmss
        self.vms[key] = {}
        self._resize_vmss(cluster, pool)

    def _vm_body(self, vmss: Json, index: int, windows: bool, pool: str) -> Json:
        name = f"{vmss['name']}_{index}"
        computer = f"aks{pool}{index:06d}" if windows else f"{vmss['name']}{index:06d}"
        body: Json = {
            "id": f"{vmss['id']}/virtualMachines/{index}",
            "name": name,
            "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
            "location": vmss["location"],
            "instanceId": str(index),
            "tags": dict(vmss.get("tags") or {}),
            "properties": {
                "latestModelApplied": True,
                "provisioningState": "Succeeded",
                "osProfile": {"computerName": computer},
            },
        }
        set_license(body["properties"], vmss["properties"]["virtualMachineProfile"].get("licenseType"))
        return body

    def _find_vmss(self, cluster: Cluster, pool: str) -> tuple[Key, Json] | None:
        rg = self._node_rg(cluster).lower()
        for key, vmss in self.vmss.items():
            if (
                key[0] == cluster.subscription
                and key[1] == rg
                and (vmss.get("tags") or {}).get("aks-managed-poolName") == pool
            ):
                return key, vmss
        return None

    def _resize_vmss(self, cluster: Cluster, pool: str) -> None:
        found = self._find_vmss(cluster, pool)
        if found is None:
            return
        key, vmss = found
        count = int(cluster.pools[pool].get("count", 0))
        windows = cluster.pools[pool].get("osType") == "Windows"
        vmss["sku"]["capacity"] = count
        vms = self.vms.setdefault(key, {})
        while len(vms) < count:
            index = max((int(i) for i in vms), default=-1) + 1
            vms[str(index)] = self._vm_body(vmss, index, windows, pool)
        while len(vms) > count:
            vms.pop(max(vms, key=int))

    def _reimage_vmss(self, cluster: Cluster, pool: str) -> None:
        """Apply the cluster's Windows model to the pool's scale set and reimage its instances (FAQ AHUB)."""
        found = self._find_vmss(cluster, pool)
        if found is None:
            return
        key, vmss = found
        profile = vmss["properties"]["virtualMachineProfile"]
        if cluster.pools[pool].get("osType") == "Windows":
            set_license(profile, (cluster.props.get("windowsProfile") or {}).get("licenseType"))
        for vm in self.vms.get(key, {}).values():
            vm["properties"]["latestModelApplied"] = True
            set_license(vm["properties"], profile.get("licenseType"))

    def _remove_vmss(self, cluster: Cluster, pool: str) -> None:
        found = self._find_vmss(cluster, pool)
        if found is not None:
            self.vmss.pop(found[0], None)
            self.vms.pop(found[0], None)

    def _sync_kube(self, cluster: Cluster, pool: str) -> None:
        if self.kube is None or pool not in cluster.pools:
            return
        p = cluster.pools[pool]
        self.kube.control_plane_version = str(cluster.props["currentKubernetesVersion"])
        self.kube.sync_pool(
            pool,
            os_type=p.get("osType", "Linux"),
            os_sku=p.get("osSKU"),
            count=int(p.get("count", 0)),
            labels=dict(p.get("nodeLabels") or {}),
            taints=list(p.get("nodeTaints") or []),
            kubernetes_version=p.get("currentOrchestratorVersion")
            or cluster.props["currentKubernetesVersion"],
            max_pods=int(p.get("maxPods") or 30),
            mode=str(p.get("mode") or "User"),
        )

    def _compute(
        self, request: HttpRequest, method: str, sub: str, rg: str, rest: list[str], body: Any
    ) -> FakeResponse:
        low = [p.lower() for p in rest]
        if low == ["virtualmachinescalesets"] and method == "GET":
            items = [v for k, v in self.vmss.items() if k[0] == sub and k[1] == rg.lower()]
            return FakeResponse(request, 200, {"value": copy.deepcopy(items)})
        if len(low) < 2 or low[0] != "virtualmachinescalesets":
            raise ArmError(404, "InvalidResourceType", "/".join(rest))
        key = (sub, rg.lower(), low[1])
        vmss = self.vmss.get(key)
        if vmss is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Compute/virtualMachineScaleSets/{rest[1]}' under resource group '{rg}' was not found.",
            )
        writing = method in ("PUT", "PATCH")
        if len(low) == 2:
            if method == "GET":
                return FakeResponse(request, 200, copy.deepcopy(vmss))
            if writing:
                profile_in = ((body or {}).get("properties") or {}).get("virtualMachineProfile") or {}
                if "licenseType" in profile_in:
                    set_license(vmss["properties"]["virtualMachineProfile"], profile_in["licenseType"])
                    for vm in self.vms.get(key, {}).values():
                        vm["properties"]["latestModelApplied"] = False
                return self._compute_lro(request, vmss)
        if len(low) >= 3 and low[2] == "virtualmachines":
            vms = self.vms.get(key, {})
            if len(low) == 3 and method == "GET":
                return FakeResponse(request, 200, {"value": copy.deepcopy(list(vms.values()))})
            if len(low) == 4:
                instance = vms.get(rest[3])
                if instance is None:
                    raise ArmError(404, "NotFound", f"Instance {rest[3]} not found in {rest[1]}.")
                if method == "GET":
                    return FakeResponse(request, 200, copy.deepcopy(instance))
                if writing:
                    props_in = (body or {}).get("properties") or {}
                    if "licenseType" in props_in:
                        set_license(instance["properties"], props_in["licenseType"])
                    return self._compute_lro(request, instance)
        raise ArmError(404, "InvalidResourceType", "/".join(rest))

    def _compute_lro(self, request: HttpRequest, resource: Json) -> FakeResponse:
        resource["properties"]["provisioningState"] = "Updating"

        def done() -> None:
            resource["properties"]["provisioningState"] = "Succeeded"

        sub = request.url.split("/subscriptions/")[1].split("/")[0]
        op = self._start_operation(
            None,
            "vm_update",
            self.durations["vm_update"],
            subscription=sub,
            location=resource.get("location", "westus2"),
            provider="Microsoft.Compute",
            on_success=done,
            path=request.url,
        )
        return self._accepted(request, op, 200, copy.deepcopy(resource))

    def set_instance_license(
        self,
        subscription: str,
        resource_group: str,
        name: str,
        pool: str,
        instance_id: str,
        license_type: str | None,
    ) -> None:
        """Change one instance's license type behind AKS's back (to test drift reports)."""
        with self._lock:
            cluster = self._get_cluster(subscription, resource_group, name)
            found = self._find_vmss(cluster, pool)
            if found is None:
                raise KeyError(pool)
            set_license(self.vms[found[0]][instance_id]["properties"], license_type)

    def scale_sets(
        self, subscription: str, resource_group: str, name: str
    ) -> Iterator[tuple[Json, list[Json]]]:
        """Yield each scale set of the cluster's node resource group with its instances (for assertions)."""
        with self._lock:
            cluster = self._get_cluster(subscription, resource_group, name)
            rg = self._node_rg(cluster).lower()
            items = [
                (copy.deepcopy(v), copy.deepcopy(list(self.vms.get(k, {}).values())))
                for k, v in self.vmss.items()
                if k[0] == subscription and k[1] == rg
            ]
        yield from items
