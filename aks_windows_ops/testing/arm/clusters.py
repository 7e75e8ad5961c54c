"""Managed clusters: create, update (versions, Windows profile, licence, gMSA), delete, abort, credentials.

Side effects from the FAQ: a new Windows admin password or a licence change reimages the Windows pools ("How do
I change the administrator password for Windows Server nodes on my cluster?", "Can I use Azure Hybrid Benefit
with Windows nodes?"); a node image upgrade picks up a newer Windows image only after a control plane upgrade.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from azure.core.rest import HttpRequest

from aks_windows_ops.testing import catalog
from aks_windows_ops.testing._http import FakeResponse
from aks_windows_ops.testing.arm.bodies import build_cluster, complete_cluster, pool_defaults
from aks_windows_ops.testing.arm.pools import Pools, _stripped_etag
from aks_windows_ops.testing.arm.state import ArmError, Cluster, Json


class Clusters(Pools):
    """The managed cluster API of ``Microsoft.ContainerService``."""

    def _cluster_view(self, cluster: Cluster) -> Json:
        view = copy.deepcopy(cluster.body)
        profiles = []
        for name, props in cluster.pools.items():
            entry = {"name": name}
            entry.update({k: v for k, v in copy.deepcopy(props).items() if k != "name"})
            entry["eTag"] = self._pool_etag(cluster, name)
            profiles.append(entry)
        view["properties"]["agentPoolProfiles"] = profiles
        view["eTag"] = cluster.etag
        return view

    def _credentials(self, cluster: Cluster, *, admin: bool) -> Json:
        if self.kube is not None:
            kubeconfig = self.kube.kubeconfig(cluster.name)
        else:
            kubeconfig = {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": cluster.name, "cluster": {"server": f"https://{cluster.props.get('fqdn')}:443"}}
                ],
                "users": [{"name": "user", "user": {"token": "fake"}}],
                "contexts": [{"name": cluster.name, "context": {"cluster": cluster.name, "user": "user"}}],
                "current-context": cluster.name,
            }
        import yaml

        text = yaml.safe_dump(kubeconfig).encode("utf-8")
        return {
            "kubeconfigs": [
                {"name": "clusterAdmin" if admin else "clusterUser", "value": base64.b64encode(text).decode()}
            ]
        }

    def _check_if_match(self, request: HttpRequest, cluster: Cluster) -> None:
        if_match = _stripped_etag(request.headers.get("If-Match"))
        if if_match and if_match not in ("*", cluster.etag):
            raise ArmError(
                412,
                "PreconditionFailed",
                f"Operation is not allowed: the eTag '{if_match}' does not match the current eTag of "
                f"managed cluster {cluster.name}.",
            )

    def _put_cluster(self, request: HttpRequest, sub: str, rg: str, name: str, body: Any) -> FakeResponse:
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid.")
        existing = self.clusters.get((sub, rg.lower(), name.lower()))
        if existing is None:
            return self._create_cluster(request, sub, rg, name, body)
        cluster = existing
        self._check_if_match(request, cluster)
        self._ensure_idle(cluster)
        props_in = body.get("properties") or {}
        props = cluster.props
        cur = props["currentKubernetesVersion"]
        target = self.resolve_version(props_in.get("kubernetesVersion") or props["kubernetesVersion"])
        self._validate_cluster_version(cluster, cur, target)
        # Pool versions sent in agentPoolProfiles: a full upgrade when they move with the control plane.
        pool_targets: dict[str, str] = {}
        for prof in props_in.get("agentPoolProfiles") or []:
            pname = prof.get("name")
            if pname in cluster.pools and prof.get("orchestratorVersion"):
                wanted = self.resolve_version(prof["orchestratorVersion"])
                if wanted != cluster.pools[pname].get("currentOrchestratorVersion"):
                    pool_targets[pname] = wanted
        for pname, pv in pool_targets.items():
            self._validate_pool_version(
                cluster, target, cluster.pools[pname].get("currentOrchestratorVersion"), pv, pname
            )
        upgrade_cp = catalog.parse_version(target) != catalog.parse_version(cur)
        if upgrade_cp and not pool_targets:
            channel = (props.get("autoUpgradeProfile") or {}).get("upgradeChannel")
            if channel and channel.lower() != "none":
                raise ArmError(
                    400,
                    "OperationNotAllowed",
                    "Control plane only upgrade is not allowed while cluster auto-upgrade channel is "
                    f"'{channel}'. Disable auto-upgrade or upgrade the whole cluster.",
                )
        win_in = props_in.get("windowsProfile") or {}
        win = props.get("windowsProfile")
        password = win_in.get("adminPassword")
        license_type = win_in.get("licenseType")
        if (password or license_type) and win is None:
            raise ArmError(
                400, "InvalidParameter", "The cluster has no windowsProfile; it has no Windows admin."
            )
        if password is not None and not 8 <= len(password) <= 123:
            raise ArmError(
                400,
                "InvalidParameter",
                "The value of parameter windowsProfile.adminPassword is invalid: it must be 8-123 characters and "
                "meet the Windows password complexity requirements.",
            )
        if (
            win is not None
            and win_in.get("adminUsername")
            and win_in["adminUsername"] != win.get("adminUsername")
        ):
            raise ArmError(
                400, "InvalidParameter", "windowsProfile.adminUsername cannot be changed by an update."
            )
        license_changed = license_type is not None and license_type != (win or {}).get("licenseType", "None")
        gmsa_changed = "gmsaProfile" in win_in and win_in["gmsaProfile"] != (win or {}).get("gmsaProfile")
        gmsa_enabling = gmsa_changed and bool((win_in.get("gmsaProfile") or {}).get("enabled"))
        windows_pools = [n for n, p in cluster.pools.items() if p.get("osType") == "Windows"]
        reimage_windows = bool(password) or license_changed
        # Apply the desired state now; runtime fields move when the operation completes.
        props["kubernetesVersion"] = target
        for key in ("autoUpgradeProfile", "tags"):
            if key in props_in:
                props[key] = props_in[key]
        if win is not None:
            if license_type is not None:
                win["licenseType"] = license_type
            for key in ("gmsaProfile", "enableCSIProxy"):
                if key in win_in:
                    win[key] = win_in[key]
            if password:
                cluster.admin_password_set = True
        if "tags" in body:
            cluster.body["tags"] = body["tags"]
        if upgrade_cp:
            state = "Upgrading"
            duration = self.durations["control_plane_upgrade"] + sum(
                self.durations["pool_upgrade_per_node"] * max(cluster.pools[p].get("count", 1), 1)
                for p in pool_targets
            )
        elif reimage_windows or gmsa_enabling:
            nodes = sum(max(cluster.pools[p].get("count", 1), 1) for p in windows_pools)
            per_node = self.durations["windows_profile_per_node"]
            duration = self.durations["windows_profile_base"] + per_node * max(nodes - 1, 0)
            # Recorded: enabling gMSA upgrades the cluster (provisioningState Upgrading) for about 13 minutes.
            state = "Upgrading" if gmsa_enabling else "Updating"
            if gmsa_enabling:
                duration = max(duration, self.durations["gmsa_enable"])
        else:
            state = "Updating"
            duration = self.durations["update_cluster"]
        props["provisioningState"] = state
        moving = set(pool_targets)
        if reimage_windows or gmsa_changed:
            # Recorded: a PUT that changes the Windows profile, licence or gMSA moves every pool, Linux too.
            moving |= set(cluster.pools)
        previous = {p: cluster.pools[p].get("currentOrchestratorVersion") for p in pool_targets}
        for pname in moving:
            cluster.pools[pname]["provisioningState"] = "Upgrading" if pname in pool_targets else "Updating"
            if pname in pool_targets:
                cluster.pools[pname]["orchestratorVersion"] = pool_targets[pname]
                # Recorded: the current-version fields report the target as soon as the upgrade starts.
                cluster.pools[pname]["currentOrchestratorVersion"] = pool_targets[pname]
        if upgrade_cp:
            props["currentKubernetesVersion"] = target
        self._touch(cluster)

        def done() -> None:
            props["provisioningState"] = "Succeeded"
            if upgrade_cp:
                if self.kube is not None:
                    self.kube.control_plane_version = target
                cluster.windows_image_cutoff = self.now_date()
                cluster.legacy_windows_image = False
            for pname in moving:
                pool = cluster.pools.get(pname)
                if pool is None:
                    continue
                pool["provisioningState"] = "Succeeded"
                if pname in pool_targets:
                    pool["nodeImageVersion"] = self._latest_image(cluster, pool)
                self._reimage_vmss(cluster, pname)
                self._sync_kube(cluster, pname)
            self._touch(cluster)

        def failed() -> None:
            props["provisioningState"] = "Failed"
            if upgrade_cp:
                props["currentKubernetesVersion"] = cur  # the control plane did not move
            for pname in moving:
                if pname in cluster.pools:
                    cluster.pools[pname]["provisioningState"] = "Failed"
                    if pname in previous:
                        cluster.pools[pname]["currentOrchestratorVersion"] = previous[pname]
            self._touch(cluster)

        op = self._begin(
            request,
            cluster,
            "upgrade_cluster" if upgrade_cp else "update_cluster",
            duration,
            on_success=done,
            on_failure=failed,
        )
        return self._accepted(request, op, 200, self._cluster_view(cluster))

    def _create_cluster(self, request: HttpRequest, sub: str, rg: str, name: str, body: Json) -> FakeResponse:
        if (sub, rg.lower()) not in self.resource_groups:
            self.resource_groups[(sub, rg.lower())] = body.get("location", "westus2")
        cluster = build_cluster(self, sub, rg, name, body)
        profiles = (body.get("properties") or {}).get("agentPoolProfiles") or []
        for prof in profiles:
            props = {k: v for k, v in prof.items() if k != "name"}
            self._check_new_pool(cluster, prof["name"], props, creating_cluster=True)
        self.clusters[cluster.key] = cluster
        for prof in profiles:
            pool = pool_defaults(self, cluster, prof["name"], {k: v for k, v in prof.items() if k != "name"})
            pool["provisioningState"] = "Creating"
            cluster.pools[prof["name"]] = pool
        cluster.props["provisioningState"] = "Creating"
        self._touch(cluster)

        def done() -> None:
            cluster.props["provisioningState"] = "Succeeded"
            complete_cluster(cluster)
            for pname, pool in cluster.pools.items():
                pool["provisioningState"] = "Succeeded"
                self._create_vmss(cluster, pname)
                self._sync_kube(cluster, pname)
            self._touch(cluster)

        op = self._begin(
            request, cluster, "create_cluster", self.durations["create_cluster"], on_success=done
        )
        return self._accepted(request, op, 201, self._cluster_view(cluster))

    def _delete_cluster(self, request: HttpRequest, sub: str, rg: str, name: str) -> FakeResponse:
        cluster = self.clusters.get((sub, rg.lower(), name.lower()))
        if cluster is None:
            return FakeResponse(request, 204, None)
        cluster.props["provisioningState"] = "Deleting"

        def done() -> None:
            for pname in list(cluster.pools):
                self._remove_vmss(cluster, pname)
                if self.kube is not None:
                    self.kube.delete_pool(pname)
            self.clusters.pop(cluster.key, None)

        op = self._begin(
            request, cluster, "delete_cluster", self.durations["delete_cluster"], on_success=done
        )
        return self._accepted(request, op, 202, None)

    def _abort(self, request: HttpRequest, cluster: Cluster, pool: str | None) -> FakeResponse:
        running = self._busy(cluster, pool)
        if running is None or (pool is not None and running.pool != pool) or running.kind == "abort":
            raise ArmError(
                409,
                "OperationNotAllowed",
                "There is no running operation to abort on this resource; it may have finished already.",
            )
        running.status = "Canceled"
        running.end = self.clock.monotonic()
        running.error = {
            "code": "OperationCanceled",
            "message": "The operation was canceled by an abort request.",
        }
        target = cluster.pools.get(running.pool) if running.pool else cluster.props
        on_success = None
        if target is not None:
            target["provisioningState"] = "Canceling"
            on_success = self._mark(cluster, target, "Canceled")
        op = self._begin(request, cluster, "abort", self.durations["abort"], pool=pool, on_success=on_success)
        return self._accepted(request, op, 202, None)
