"""Agent pools: create, update, scale, upgrade, delete and node image upgrades, with the service-side rules.

Rules from the FAQ and the AKS docs: Windows pool names are at most 6 characters; Windows needs Azure CNI and a
``windowsProfile``; a System pool is Linux; immutable properties need a new pool; Azure CNI reserves
``maxPods + 1`` addresses per node plus the surge nodes' (https://learn.microsoft.com/azure/aks/azure-cni-overview).
"""

from __future__ import annotations

import copy
import math
import re
import uuid
from typing import Any

from azure.core.rest import HttpRequest

from aks_windows_ops.testing import catalog
from aks_windows_ops.testing._http import FakeResponse
from aks_windows_ops.testing.arm.bodies import is_arm64, pool_defaults
from aks_windows_ops.testing.arm.compute import Compute
from aks_windows_ops.testing.arm.network import Network
from aks_windows_ops.testing.arm.state import ArmError, Cluster, Json
from aks_windows_ops.testing.arm.versions import NO_WINDOWS_2019_FROM, WINDOWS_2019_UNSUPPORTED, Versions

_WINDOWS_NAME = re.compile(r"^[a-z][a-z0-9]{0,5}$")
_LINUX_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
#: What the service answers when a Windows pool is created on a cluster still pinned to a retired image.
OLD_IMAGE_MESSAGE = (
    "The following list of images referenced from the deployment template is not found: Publisher: "
    "MicrosoftWindowsServer, Offer: WindowsServer, Sku: 2019-datacenter-core-smalldisk-2004, Version: latest. "
    "Please refer to https://docs.microsoft.com/en-us/azure/virtual-machines/windows/cli-ps-findimage for "
    "instructions on finding available images."
)
#: Pool properties a PUT may change in place.
_MUTABLE = (
    "nodeLabels",
    "nodeTaints",
    "upgradeSettings",
    "enableAutoScaling",
    "minCount",
    "maxCount",
    "tags",
)
#: Pool properties that need a new pool to change.
_IMMUTABLE = ("osType", "osSKU", "vmSize", "maxPods", "vnetSubnetID", "mode")


def surge_nodes(count: int, max_surge: str | None) -> int:
    """How many extra nodes an upgrade adds (``maxSurge`` as a count or a percentage; 10% by default)."""
    text = (max_surge or "10%").strip()
    if text.endswith("%"):
        return math.ceil(count * float(text[:-1]) / 100.0)
    return int(text)


def _stripped_etag(value: str | None) -> str:
    return (value or "").removeprefix("W/").strip('"')


class Pools(Compute, Network, Versions):
    """The agent pool API of ``Microsoft.ContainerService``."""

    def _pool_view(self, cluster: Cluster, pool: str) -> Json:
        props = copy.deepcopy(cluster.pools[pool])
        props.pop("name", None)
        props["eTag"] = self._pool_etag(cluster, pool)
        return {
            "id": cluster.pool_id(pool),
            "name": pool,
            "type": "Microsoft.ContainerService/managedClusters/agentPools",
            "properties": props,
        }

    def _pool_etag(self, cluster: Cluster, pool: str) -> str:
        return cluster.pool_etags.setdefault(pool, str(uuid.uuid4()))

    def _check_new_pool(
        self, cluster: Cluster, name: str, props: Json, *, creating_cluster: bool = False
    ) -> None:
        os_type = props.get("osType") or "Linux"
        if os_type == "Windows":
            if not _WINDOWS_NAME.match(name):
                raise ArmError(
                    400,
                    "InvalidParameter",
                    f"The agent pool name '{name}' is invalid: Windows agent pool names must be 1-6 lowercase "
                    "alphanumeric characters starting with a letter.",
                )
            plugin = (cluster.props.get("networkProfile") or {}).get("networkPlugin", "kubenet")
            if plugin != "azure":
                raise ArmError(
                    400,
                    "AzureCNIOnlyForWindows",
                    "Windows agent pools are only supported with the Azure CNI network plugin (networkPlugin=azure); "
                    f"this cluster uses '{plugin}'.",
                )
            if (props.get("mode") or "User") == "System":
                raise ArmError(400, "InvalidParameter", "System agent pools osType must be Linux.")
            if props.get("vmSize") and is_arm64(str(props["vmSize"])):
                raise ArmError(
                    400,
                    "InvalidParameter",
                    f"VM size {props['vmSize']} has an Arm64 processor; Windows agent pools need an x64 size.",
                )
            if cluster.props.get("windowsProfile") is None:
                raise ArmError(
                    400, "InvalidParameter", "A windowsProfile is required to add Windows agent pools."
                )
        elif not _LINUX_NAME.match(name):
            raise ArmError(
                400,
                "InvalidParameter",
                f"The agent pool name '{name}' is invalid: names must be 1-12 lowercase alphanumeric characters "
                "starting with a letter.",
            )
        if not creating_cluster and len(cluster.pools) >= int(cluster.props.get("maxAgentPools", 100)):
            raise ArmError(
                400,
                "InvalidParameter",
                f"The cluster already has the maximum of {cluster.props.get('maxAgentPools', 100)} agent pools.",
            )
        total = sum(int(p.get("count", 0)) for p in cluster.pools.values()) + int(props.get("count", 1))
        if total > 1000:
            raise ArmError(
                400, "InvalidParameter", f"The cluster would have {total} nodes; the limit is 1000."
            )
        max_pods = props.get("maxPods")
        if max_pods is not None and not 10 <= int(max_pods) <= 250:
            raise ArmError(400, "InvalidParameter", f"maxPods {max_pods} is out of the range 10-250.")
        cp = cluster.props.get("currentKubernetesVersion") or cluster.props.get("kubernetesVersion")
        version = props.get("orchestratorVersion") or cp
        if version and cp and not creating_cluster:
            self._validate_pool_version(cluster, cp, None, version, name)
        sku = props.get("osSKU")
        if sku == "Windows2019" and version and catalog.parse_version(version) >= NO_WINDOWS_2019_FROM:
            raise ArmError(400, "InvalidParameter", WINDOWS_2019_UNSUPPORTED)
        if sku == "Windows2025" and version and catalog.parse_version(version) < (1, 32, 0):
            raise ArmError(400, "InvalidParameter", "Windows2025 requires Kubernetes version 1.32 or later.")
        if sku and sku.startswith("Windows") and os_type != "Windows":
            raise ArmError(400, "InvalidParameter", f"osSKU {sku} requires osType Windows.")

    def _subnet_room(
        self, cluster: Cluster, name: str, props: Json, count: int, *, existing: int = 0
    ) -> None:
        subnet_id = props.get("vnetSubnetID")
        if not subnet_id:
            return
        usage = self._subnet_usage(subnet_id)
        if usage is None:
            return
        used, limit = usage
        mode = (cluster.props.get("networkProfile") or {}).get("networkPluginMode")
        pods_elsewhere = mode == "overlay" or props.get("podSubnetID")
        per_node = 1 if pods_elsewhere else int(props.get("maxPods") or 30) + 1
        surge = surge_nodes(count, (props.get("upgradeSettings") or {}).get("maxSurge"))
        needed = (count + surge) * per_node - existing * per_node
        available = limit - used
        if needed > available:
            raise ArmError(
                400,
                "InsufficientSubnetSize",
                f"Pre-allocated IPs {needed} exceeds IPs available {available} in Subnet Cidr "
                f"{self._subnet_prefix(subnet_id)}, Subnet Name {subnet_id.rsplit('/', 1)[-1]}. "
                "http://aka.ms/aks/insufficientsubnetsize",
            )

    def _check_pool_preconditions(
        self, request: HttpRequest, cluster: Cluster, name: str, existing: str | None
    ) -> None:
        """``If-None-Match: *`` refuses an existing pool; ``If-Match`` must carry the pool's current etag (412)."""
        if existing is not None and request.headers.get("If-None-Match") == "*":
            raise ArmError(412, "PreconditionFailed", f"Agent pool {name} already exists (If-None-Match: *).")
        pool_match = _stripped_etag(request.headers.get("If-Match"))
        if (
            pool_match
            and pool_match != "*"
            and (existing is None or pool_match != cluster.pool_etags.get(existing))
        ):
            raise ArmError(
                412, "PreconditionFailed", f"The eTag '{pool_match}' of agent pool {name} is stale."
            )

    def _put_pool(self, request: HttpRequest, cluster: Cluster, name: str, body: Any) -> FakeResponse:
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid.")
        props_in = dict(body.get("properties") or {})
        existing = next((p for p in cluster.pools if p.lower() == name.lower()), None)
        self._check_pool_preconditions(request, cluster, name, existing)
        self._ensure_idle(cluster, name)
        if existing is None:
            return self._create_pool(request, cluster, name, props_in)
        return self._update_pool(request, cluster, existing, props_in)

    def _create_pool(self, request: HttpRequest, cluster: Cluster, name: str, props_in: Json) -> FakeResponse:
        self._check_new_pool(cluster, name, props_in)
        pool = pool_defaults(self, cluster, name, props_in)
        self._subnet_room(cluster, name, pool, int(pool.get("count", 1)))
        pool["provisioningState"] = "Creating"
        cluster.pools[name] = pool
        self._touch(cluster, name)
        legacy = pool.get("osType") == "Windows" and cluster.legacy_windows_image

        def created() -> None:
            pool["provisioningState"] = "Succeeded"
            self._create_vmss(cluster, name)
            self._sync_kube(cluster, name)
            self._touch(cluster, name)

        op = self._begin(
            request,
            cluster,
            "create_pool",
            self.durations["create_pool"],
            pool=name,
            on_success=created,
            on_failure=self._mark(cluster, pool, "Failed", name),
            progress_total=int(pool.get("count", 1)),
        )
        if legacy:
            op.fail_with = ("InvalidTemplateDeployment", OLD_IMAGE_MESSAGE)
        return self._accepted(request, op, 201, self._pool_view(cluster, name))

    def _update_pool(self, request: HttpRequest, cluster: Cluster, name: str, props_in: Json) -> FakeResponse:
        pool = cluster.pools[name]
        cp = cluster.props["currentKubernetesVersion"]
        cur = pool.get("currentOrchestratorVersion") or cp
        target = props_in.get("orchestratorVersion") or pool.get("orchestratorVersion") or cur
        upgrading = catalog.parse_version(target) != catalog.parse_version(cur)
        if upgrading:
            self._validate_pool_version(cluster, cp, cur, target, name)
            if pool.get("osSKU") == "Windows2019" and catalog.parse_version(target) >= NO_WINDOWS_2019_FROM:
                raise ArmError(400, "InvalidParameter", WINDOWS_2019_UNSUPPORTED)
        for immutable in _IMMUTABLE:
            if immutable in props_in and props_in[immutable] not in (None, pool.get(immutable)):
                if immutable == "mode" and pool.get("osType") == "Linux":
                    continue
                raise ArmError(
                    400,
                    "InvalidParameter",
                    f"Changing property '{immutable}' of agent pool {name} is not allowed; create a new pool instead.",
                )
        old_count = int(pool.get("count", 0))
        new_count = int(props_in["count"] if "count" in props_in else pool.get("count", 1))
        if new_count != old_count:
            if (pool.get("mode") == "System") and new_count < 1:
                raise ArmError(400, "InvalidParameter", "System agent pools must have at least 1 node.")
            if new_count > old_count:
                self._subnet_room(cluster, name, pool, new_count - old_count)
        for key in _MUTABLE:
            if key in props_in:
                pool[key] = props_in[key]
        if props_in.get("mode"):
            if props_in["mode"] == "User" and pool.get("mode") == "System":
                others = [p for n, p in cluster.pools.items() if n != name and p.get("mode") == "System"]
                if not others:
                    raise ArmError(400, "InvalidParameter", "There has to be at least one system agent pool.")
            pool["mode"] = props_in["mode"]
        pool["orchestratorVersion"] = target
        pool["count"] = new_count
        if upgrading:
            # Recorded: the first read after an upgrade PUT already reports the target while the pool is Upgrading.
            pool["currentOrchestratorVersion"] = target
        if upgrading:
            state, duration = "Upgrading", self.durations["pool_upgrade_per_node"] * max(new_count, 1)
        elif new_count != old_count:
            state, duration = "Scaling", self.durations["scale_pool"]
        else:
            state, duration = "Updating", self.durations["update_pool"]
        pool["provisioningState"] = state
        self._touch(cluster, name)

        def failed() -> None:
            pool["provisioningState"] = "Failed"
            if upgrading:
                pool["currentOrchestratorVersion"] = (
                    cur  # the nodes that did not move still run the old version
                )
            self._touch(cluster, name)

        def done() -> None:
            pool["provisioningState"] = "Succeeded"
            if upgrading:
                pool["nodeImageVersion"] = self._latest_image(cluster, pool)
                self._reimage_vmss(cluster, name)
            self._resize_vmss(cluster, name)
            self._sync_kube(cluster, name)
            self._touch(cluster, name)

        op = self._begin(
            request,
            cluster,
            "upgrade_pool" if upgrading else "update_pool",
            duration,
            pool=name,
            on_success=done,
            on_failure=failed,
        )
        return self._accepted(request, op, 200, self._pool_view(cluster, name))

    def _delete_pool(
        self, request: HttpRequest, cluster: Cluster, name: str, query: dict[str, str]
    ) -> FakeResponse:
        existing = next((p for p in cluster.pools if p.lower() == name.lower()), None)
        if existing is None:
            return FakeResponse(request, 204, None)
        self._ensure_idle(cluster, existing)
        pool = cluster.pools[existing]
        if pool.get("mode") == "System":
            others = [p for n, p in cluster.pools.items() if n != existing and p.get("mode") == "System"]
            if not others:
                raise ArmError(
                    400,
                    "OperationNotAllowed",
                    "There has to be at least one system agent pool; the last System pool cannot be deleted.",
                )
        pool["provisioningState"] = "Deleting"
        self._touch(cluster, existing)
        ignore_pdb = query.get("ignore-pod-disruption-budget", "").lower() == "true"

        def done() -> None:
            cluster.pools.pop(existing, None)
            self._remove_vmss(cluster, existing)
            if self.kube is not None:
                self.kube.delete_pool(existing)
            self._touch(cluster, existing)

        op = self._begin(
            request, cluster, "delete_pool", self.durations["delete_pool"], pool=existing, on_success=done
        )
        op.kind = f"delete_pool:{'ignore-pdb' if ignore_pdb else 'honour-pdb'}"
        return self._accepted(request, op, 202, None)

    def _node_image_upgrade(self, request: HttpRequest, cluster: Cluster, name: str) -> FakeResponse:
        self._ensure_idle(cluster, name)
        pool = cluster.pools[name]
        latest = self._latest_image(cluster, pool)
        if pool.get("nodeImageVersion") == latest:
            # Already on the latest image: a synchronous 200 with the pool and no operation (the CLI prints the
            # pool and exits 0, https://github.com/Azure/AKS/issues/3355); never the 304 older docs described.
            return FakeResponse(request, 200, self._pool_view(cluster, name))
        count = max(int(pool.get("count", 1)), 1)
        if pool.get("osType") == "Windows":
            duration = (
                self.durations["windows_image_pull"] + self.durations["node_image_windows_per_node"] * count
            )
        else:
            duration = self.durations["node_image_linux_per_node"] * count
        pool["provisioningState"] = "UpgradingNodeImageVersion"
        self._touch(cluster, name)

        def done() -> None:
            pool["provisioningState"] = "Succeeded"
            pool["nodeImageVersion"] = latest
            self._reimage_vmss(cluster, name)
            self._touch(cluster, name)

        op = self._begin(
            request,
            cluster,
            "node_image_upgrade",
            duration,
            pool=name,
            on_success=done,
            on_failure=self._mark(cluster, pool, "Failed", name),
        )
        return self._accepted(request, op, 202, self._pool_view(cluster, name))
