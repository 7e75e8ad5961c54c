"""Routing: which part of the simulator answers an ARM path (resource groups, operations, AKS, Compute, Network)."""

from __future__ import annotations

from typing import Any

from azure.core.rest import HttpRequest

from aks_windows_ops.testing._http import FakeResponse
from aks_windows_ops.testing.arm.clusters import Clusters
from aks_windows_ops.testing.arm.state import ArmError, Cluster


class Router(Clusters):
    """Dispatches a request by its path."""

    def _route(
        self, request: HttpRequest, method: str, path: str, query: dict[str, str], body: Any
    ) -> FakeResponse:
        parts = path.strip("/").split("/")
        low = [p.lower() for p in parts]
        if low[:2] == ["providers", "microsoft.resourcegraph"]:
            from aks_windows_ops.testing.resource_graph import answer

            return answer(self, request, method, low[2:], body)
        if len(parts) < 2 or low[0] != "subscriptions":
            raise ArmError(404, "InvalidResourceType", f"No route for {path}")
        sub = parts[1]
        # /subscriptions/{s}/providers/{ns}/locations/{loc}/(operations|operationresults)/{id}
        if len(parts) >= 7 and low[2] == "providers" and low[4] == "locations":
            ns, loc = parts[3], parts[5]
            if low[6] == "operations" and len(parts) >= 8:
                return self._op_status(request, parts[7])
            if low[6] == "operationresults" and len(parts) >= 8:
                return self._op_result(request, parts[7])
            if low[6] == "kubernetesversions" and ns.lower() == "microsoft.containerservice":
                return FakeResponse(request, 200, self._versions_body(loc))
        if len(parts) == 4 and low[2] == "providers" and low[3] == "microsoft.containerservice":
            raise ArmError(404, "NotFound", path)
        if len(parts) == 5 and low[2] == "providers" and low[4] == "managedclusters":
            return FakeResponse(
                request, 200, {"value": [self._cluster_view(c) for c in self._clusters_in(sub)]}
            )
        if len(parts) >= 4 and low[2] == "resourcegroups":
            rg = parts[3]
            if len(parts) == 4:
                return self._resource_group(request, sub, rg)
            if len(parts) >= 6 and low[4] == "providers":
                ns = low[5]
                rest = parts[6:]
                if ns == "microsoft.containerservice":
                    return self._aks(request, method, sub, rg, rest, query, body)
                if ns == "microsoft.compute":
                    return self._compute(request, method, sub, rg, rest, body)
                if ns == "microsoft.network":
                    return self._network(request, method, sub, rg, rest)
        raise ArmError(404, "InvalidResourceType", f"The emulator has no route for {method} {path}")

    def _resource_group(self, request: HttpRequest, sub: str, rg: str) -> FakeResponse:
        location = self.resource_groups.get((sub, rg.lower()))
        if location is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return FakeResponse(
            request,
            200,
            {
                "id": f"/subscriptions/{sub}/resourceGroups/{rg}",
                "name": rg,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "properties": {"provisioningState": "Succeeded"},
            },
        )

    def _aks(
        self,
        request: HttpRequest,
        method: str,
        sub: str,
        rg: str,
        rest: list[str],
        query: dict[str, str],
        body: Any,
    ) -> FakeResponse:
        low = [p.lower() for p in rest]
        if low == ["managedclusters"]:
            return FakeResponse(
                request, 200, {"value": [self._cluster_view(c) for c in self._clusters_in(sub, rg)]}
            )
        if len(rest) < 2 or low[0] != "managedclusters":
            raise ArmError(404, "InvalidResourceType", "/".join(rest))
        name = rest[1]
        if len(rest) == 2:
            if method == "GET":
                return FakeResponse(request, 200, self._cluster_view(self._get_cluster(sub, rg, name)))
            if method == "PUT":
                return self._put_cluster(request, sub, rg, name, body)
            if method == "DELETE":
                return self._delete_cluster(request, sub, rg, name)
        cluster = self._get_cluster(sub, rg, name)
        sub_path = low[2:]
        if sub_path == ["upgradeprofiles", "default"] and method == "GET":
            return FakeResponse(request, 200, self._cluster_upgrade_profile(cluster))
        if sub_path == ["availableagentpoolversions"]:
            return FakeResponse(request, 200, self._available_pool_versions(cluster))
        if sub_path in (["listclusterusercredential"], ["listclusteradmincredential"]):
            return FakeResponse(request, 200, self._credentials(cluster, admin="admin" in sub_path[0]))
        if sub_path == ["abort"] and method == "POST":
            return self._abort(request, cluster, None)
        if sub_path == ["agentpools"] and method == "GET":
            views = [self._pool_view(cluster, p) for p in cluster.pools]
            return FakeResponse(request, 200, {"value": views, "nextLink": None})
        if len(sub_path) >= 2 and sub_path[0] == "agentpools":
            return self._agent_pool(request, method, cluster, rest[3], sub_path[2:], query, body)
        raise ArmError(404, "InvalidResourceType", "/".join(rest))

    def _agent_pool(
        self,
        request: HttpRequest,
        method: str,
        cluster: Cluster,
        pool: str,
        tail: list[str],
        query: dict[str, str],
        body: Any,
    ) -> FakeResponse:
        if not tail:
            if method == "GET":
                return FakeResponse(request, 200, self._pool_view(cluster, self._pool_name(cluster, pool)))
            if method == "PUT":
                return self._put_pool(request, cluster, pool, body)
            if method == "DELETE":
                return self._delete_pool(request, cluster, pool, query)
        pool = self._pool_name(cluster, pool)
        if tail == ["upgradeprofiles", "default"]:
            return FakeResponse(request, 200, self._pool_upgrade_profile(cluster, pool))
        if tail == ["upgradenodeimageversion"] and method == "POST":
            return self._node_image_upgrade(request, cluster, pool)
        if tail == ["abort"] and method == "POST":
            return self._abort(request, cluster, pool)
        raise ArmError(404, "InvalidResourceType", f"agentPools/{pool}/{'/'.join(tail)}")
