"""Kubernetes versions and node images: what the region offers, upgrade profiles, and the version-skew rules.

The rules are AKS's published ones (https://learn.microsoft.com/azure/aks/upgrade-cluster and
https://learn.microsoft.com/azure/aks/supported-kubernetes-versions): no downgrade, no skipped minor version,
pools at most three minor versions behind the control plane and never ahead of it; Windows Server 2019 ends at
Kubernetes 1.32 (FAQ: Windows Server versions).
"""

from __future__ import annotations

import re

from aks_windows_ops.testing import catalog
from aks_windows_ops.testing.arm.state import ArmError, ArmState, Cluster, Json

#: The first Kubernetes version without Windows Server 2019.
NO_WINDOWS_2019_FROM = (1, 33, 0)
WINDOWS_2019_UNSUPPORTED = (
    "Windows2019 is not supported for Kubernetes version 1.33 and later; use Windows2022 or Windows2025."
)


def check_step(subject: str, current: str, target: str) -> None:
    """Refuse a downgrade or an upgrade that skips a minor version (AKS upgrades one minor version at a time)."""
    c, t = catalog.parse_version(current), catalog.parse_version(target)
    if t < c:
        raise ArmError(
            400, "OperationNotAllowed", f"Downgrading {subject} from {current} to {target} is not allowed."
        )
    if t[1] > c[1] + 1:
        raise ArmError(
            400,
            "OperationNotAllowed",
            f"Upgrading {subject} from {current} to {target} skips a minor version; upgrade to "
            f"{c[0]}.{c[1] + 1} first.",
        )


class Versions(ArmState):
    """Answers version questions and validates version changes."""

    def resolve_version(self, version: str) -> str:
        """A ``major.minor`` version means its latest patch in the region (as the service resolves it)."""
        text = str(version)
        if re.fullmatch(r"\d+\.\d+", text):
            patches = [v for v in self.kubernetes_versions if v.startswith(f"{text}.")]
            if patches:
                return max(patches, key=catalog.parse_version)
        return text

    def _versions_body(self, location: str) -> Json:
        by_minor: dict[str, list[str]] = {}
        for v in self.kubernetes_versions:
            major_n, minor_n = catalog.minor_of(v)
            by_minor.setdefault(f"{major_n}.{minor_n}", []).append(v)
        minors = list(by_minor)
        values = []
        for minor in minors:
            # The same upgrades a cluster on that patch sees in its upgrade profile (one region's answer).
            patches = {
                p: {"upgrades": [u["kubernetesVersion"] for u in self._upgrades_from(p)]}
                for p in by_minor[minor]
            }
            values.append(
                {
                    "version": minor,
                    "isDefault": minor == minors[-2],
                    "capabilities": {"supportPlan": ["KubernetesOfficial"]},
                    "patchVersions": patches,
                }
            )
        return {"values": values}

    def _upgrades_from(self, current: str, *, ceiling: str | None = None) -> list[Json]:
        cur = catalog.parse_version(current)
        out = []
        for v in self.kubernetes_versions:
            pv = catalog.parse_version(v)
            if pv <= cur or pv[0] != cur[0] or pv[1] > cur[1] + 1:
                continue
            if ceiling is not None and pv > catalog.parse_version(ceiling):
                continue
            out.append({"kubernetesVersion": v})
        return out

    def _cluster_upgrade_profile(self, cluster: Cluster) -> Json:
        cur = cluster.props["currentKubernetesVersion"]
        return {
            "id": f"{cluster.id}/upgradeprofiles/default",
            "name": "default",
            "type": "Microsoft.ContainerService/managedClusters/upgradeprofiles",
            "properties": {
                "controlPlaneProfile": {
                    "kubernetesVersion": cur,
                    "name": None,
                    "osType": "Linux",
                    "upgrades": self._upgrades_from(cur),
                },
                "agentPoolProfiles": [
                    {
                        "name": name,
                        "kubernetesVersion": p.get("currentOrchestratorVersion"),
                        "osType": p.get("osType", "Linux"),
                        "upgrades": self._upgrades_from(
                            p.get("currentOrchestratorVersion") or cur, ceiling=cur
                        ),
                    }
                    for name, p in cluster.pools.items()
                ],
            },
        }

    def _latest_image(self, cluster: Cluster, props: Json) -> str:
        return catalog.latest_image(
            props.get("osSKU"),
            props.get("osType", "Linux"),
            today=self.now_date(),
            windows_cutoff=cluster.windows_image_cutoff,
        )

    def _pool_upgrade_profile(self, cluster: Cluster, pool: str) -> Json:
        props = cluster.pools[pool]
        cur = props.get("currentOrchestratorVersion") or cluster.props["currentKubernetesVersion"]
        return {
            "id": f"{cluster.pool_id(pool)}/upgradeProfiles/default",
            "name": "default",
            "type": "Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles",
            "properties": {
                "kubernetesVersion": cur,
                "osType": props.get("osType", "Linux"),
                "upgrades": self._upgrades_from(cur, ceiling=cluster.props["currentKubernetesVersion"]),
                "latestNodeImageVersion": self._latest_image(cluster, props),
            },
        }

    def _available_pool_versions(self, cluster: Cluster) -> Json:
        cp = catalog.parse_version(cluster.props["currentKubernetesVersion"])
        return {
            "id": f"{cluster.id}/availableagentpoolversions",
            "name": "default",
            "type": "Microsoft.ContainerService/managedClusters/availableAgentpoolVersions",
            "properties": {
                "agentPoolVersions": [
                    {"kubernetesVersion": v, "default": False, "isPreview": False}
                    for v in self.kubernetes_versions
                    if catalog.parse_version(v) <= cp and cp[1] - catalog.parse_version(v)[1] <= 3
                ]
            },
        }

    def _validate_cluster_version(self, cluster: Cluster, cur: str, target: str) -> None:
        c, t = catalog.parse_version(cur), catalog.parse_version(target)
        if target not in self.kubernetes_versions and t != c:
            raise ArmError(
                400,
                "InvalidParameter",
                f"Version {target} is not supported in this region. Run 'az aks get-versions' for the supported list.",
            )
        check_step("the control plane", cur, target)
        if t <= c:
            return
        for name, pool in cluster.pools.items():
            pv = catalog.parse_version(pool.get("currentOrchestratorVersion") or cur)
            if t[1] - pv[1] > 3:
                raise ArmError(
                    400,
                    "OperationNotAllowed",
                    f"Control plane version {target} would be more than 3 minor versions ahead of agent pool "
                    f"{name} ({pool.get('currentOrchestratorVersion')}). Upgrade the pool first.",
                )
            if pool.get("osSKU") == "Windows2019" and t >= NO_WINDOWS_2019_FROM:
                raise ArmError(
                    400,
                    "OperationNotAllowed",
                    f"Windows Server 2019 (agent pool {name}) is not supported on Kubernetes 1.33 and later. "
                    "Migrate the pool to Windows2022 or Windows2025 first.",
                )

    def _validate_pool_version(
        self, cluster: Cluster, cp: str, current: str | None, target: str, name: str
    ) -> None:
        c = catalog.parse_version(cp)
        t = catalog.parse_version(target)
        if target not in self.kubernetes_versions:
            raise ArmError(400, "InvalidParameter", f"Version {target} is not supported in this region.")
        if t > c:
            raise ArmError(
                400,
                "InvalidParameter",
                f"Agent pool {name} version {target} cannot be greater than the control plane version {cp}.",
            )
        if t[0] != c[0] or c[1] - t[1] > 3:
            raise ArmError(
                400,
                "InvalidParameter",
                f"Agent pool {name} version {target} is more than 3 minor versions behind the control plane {cp}.",
            )
        if current:
            check_step(f"agent pool {name}", current, target)
