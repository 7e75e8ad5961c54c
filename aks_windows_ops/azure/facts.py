"""Read a cluster's facts into an immutable :class:`~aks_windows_ops.models.ClusterSnapshot`.

Fewest requests (Service facts: How the Azure CLI does it): one cluster GET carries every pool (``agentPoolProfiles``), so pools are
not listed again; upgrade profiles only when asked (one for the control plane, one per pool for
``latestNodeImageVersion``); the node resource group's scale sets in one list plus one instance list per Windows
scale set, matched to pools by the ``aks-managed-poolName`` tag (never by rebuilding ``MC_rg_name_location``);
subnet usage in one ``list_usage`` per virtual network. SDK models are read through ``as_dict()`` (the wire
shape) and never leave this module.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.errors import translating
from aks_windows_ops.models import (
    ClusterRef,
    ClusterSnapshot,
    OsType,
    PoolMode,
    PoolSnapshot,
    ResourceId,
    SubnetUsage,
    VmssInstance,
    VmssSnapshot,
)

__all__ = [
    "available_versions",
    "cluster_ids_from_wire",
    "control_plane_upgrades_from_wire",
    "get_user_kubeconfig",
    "instance_from_wire",
    "list_clusters",
    "pool_from_wire",
    "read_scale_sets",
    "read_snapshot",
    "read_subnet_usage",
    "scale_set_from_wire",
    "snapshot_from_wire",
    "usage_from_wire",
    "vnets_of",
    "windows_pool_names",
]

_CUTOFF = _dt.datetime(2020, 2, 1, tzinfo=_dt.timezone.utc)


def _get(d: Mapping[str, Any] | None, *path: str, default: Any = None) -> Any:
    cur: Any = d
    for key in path:
        if not isinstance(cur, Mapping):
            return default
        cur = cur.get(key)
    return default if cur is None else cur


def pool_from_wire(
    name: str, p: Mapping[str, Any], upgrade_profile: Mapping[str, Any] | None = None
) -> PoolSnapshot:
    """Map an agent pool's wire properties (camelCase) to a :class:`PoolSnapshot`."""
    os_type = OsType.WINDOWS if str(p.get("osType", "Linux")).lower() == "windows" else OsType.LINUX
    mode = PoolMode.SYSTEM if str(p.get("mode", "User")).lower() == "system" else PoolMode.USER
    upgrades: tuple[str, ...] = ()
    latest = None
    if upgrade_profile:
        props = upgrade_profile.get("properties", upgrade_profile)
        upgrades = tuple(str(u.get("kubernetesVersion")) for u in props.get("upgrades") or [])
        latest = props.get("latestNodeImageVersion")
    return PoolSnapshot(
        name=name,
        os_type=os_type,
        os_sku=p.get("osSKU"),
        mode=mode,
        count=int(p.get("count") or 0),
        vm_size=str(p.get("vmSize") or ""),
        orchestrator_version=p.get("orchestratorVersion"),
        current_orchestrator_version=p.get("currentOrchestratorVersion"),
        node_image_version=p.get("nodeImageVersion"),
        provisioning_state=p.get("provisioningState"),
        max_pods=p.get("maxPods"),
        vnet_subnet_id=p.get("vnetSubnetID"),
        pod_subnet_id=p.get("podSubnetID"),
        labels=dict(p.get("nodeLabels") or {}),
        taints=tuple(p.get("nodeTaints") or ()),
        zones=tuple(p.get("availabilityZones") or ()),
        enable_auto_scaling=bool(p.get("enableAutoScaling")),
        min_count=p.get("minCount"),
        max_count=p.get("maxCount"),
        max_surge=_get(p, "upgradeSettings", "maxSurge"),
        latest_node_image_version=latest,
        upgrade_versions=upgrades,
        power_state=_get(p, "powerState", "code"),
    )


def _created_before_2020(cluster: Mapping[str, Any]) -> bool:
    created = _get(cluster, "systemData", "createdAt")
    if not created:
        return False
    try:
        stamp = _dt.datetime.fromisoformat(
            str(created).replace("Z", "+00:00")[:26] + "+00:00"
            if "+" not in str(created) and "Z" in str(created)
            else str(created)
        )
    except ValueError:
        try:
            stamp = _dt.datetime.strptime(str(created)[:19], "%Y-%m-%dT%H:%M:%S").replace(
                tzinfo=_dt.timezone.utc
            )
        except ValueError:
            return False
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.timezone.utc)
    return stamp < _CUTOFF


def snapshot_from_wire(
    ref: ClusterRef,
    cluster: Mapping[str, Any],
    *,
    pool_profiles: Mapping[str, Mapping[str, Any]] | None = None,
    control_plane_upgrades: Iterable[str] = (),
    scale_sets: Iterable[VmssSnapshot] = (),
    subnets: Iterable[SubnetUsage] = (),
) -> ClusterSnapshot:
    """Build a :class:`ClusterSnapshot` from a cluster's wire JSON (``ManagedCluster.as_dict()``)."""
    props = cluster.get("properties") or {}
    identity = _get(cluster, "identity", "type")
    sp_client = _get(props, "servicePrincipalProfile", "clientId")
    uses_sp = identity is None and bool(sp_client) and sp_client != "msi"
    pools = tuple(
        pool_from_wire(str(p.get("name")), p, (pool_profiles or {}).get(str(p.get("name"))))
        for p in props.get("agentPoolProfiles") or []
    )
    win = props.get("windowsProfile")
    return ClusterSnapshot(
        ref=ref,
        location=str(cluster.get("location", "")),
        kubernetes_version=str(props.get("kubernetesVersion") or props.get("currentKubernetesVersion") or ""),
        current_kubernetes_version=str(
            props.get("currentKubernetesVersion") or props.get("kubernetesVersion") or ""
        ),
        provisioning_state=props.get("provisioningState"),
        network_plugin=_get(props, "networkProfile", "networkPlugin"),
        network_plugin_mode=_get(props, "networkProfile", "networkPluginMode"),
        identity_type=str(identity) if identity else None,
        uses_service_principal=uses_sp,
        windows_admin_username=(win or {}).get("adminUsername") if win is not None else None,
        license_type=(win or {}).get("licenseType"),
        gmsa_enabled=bool(_get(win, "gmsaProfile", "enabled", default=False)),
        node_resource_group=props.get("nodeResourceGroup"),
        max_agent_pools=int(props.get("maxAgentPools") or 100),
        auto_upgrade_channel=_get(props, "autoUpgradeProfile", "upgradeChannel"),
        pools=pools,
        control_plane_upgrades=tuple(control_plane_upgrades),
        scale_sets=tuple(scale_sets),
        subnets=tuple(subnets),
        created_before_2020=_created_before_2020(cluster),
        etag=cluster.get("eTag") or cluster.get("etag"),
        support_plan=props.get("supportPlan"),
    )


def windows_pool_names(profiles: Iterable[Mapping[str, Any]]) -> set[str]:
    """Names of the Windows pools among a cluster's ``agentPoolProfiles`` (wire JSON)."""
    return {str(p.get("name")) for p in profiles if str(p.get("osType")).lower() == "windows"}


def control_plane_upgrades_from_wire(profile: Mapping[str, Any]) -> list[str]:
    """The versions a cluster's upgrade profile (wire JSON) offers the control plane."""
    upgrades = _get(profile, "properties", "controlPlaneProfile", "upgrades", default=[]) or []
    return [str(u.get("kubernetesVersion")) for u in upgrades]


def instance_from_wire(v: Mapping[str, Any]) -> VmssInstance:
    """Map a scale-set VM's wire JSON to a :class:`VmssInstance` (its ``licenseType``: AHUB per instance)."""
    vp = v.get("properties") or {}
    return VmssInstance(
        instance_id=str(v.get("instanceId")),
        name=str(v.get("name")),
        license_type=vp.get("licenseType"),
        latest_model_applied=vp.get("latestModelApplied"),
        provisioning_state=vp.get("provisioningState"),
    )


def scale_set_from_wire(
    wire: Mapping[str, Any], node_rg: str, pool: str, instances: Iterable[Mapping[str, Any]]
) -> VmssSnapshot:
    """Map a scale set's and its VMs' wire JSON to a :class:`VmssSnapshot`.

    FAQ "Can I use Azure Hybrid Benefit with Windows nodes?": the scale set's model and each instance carry
    ``licenseType``.
    """
    return VmssSnapshot(
        name=str(wire["name"]),
        resource_group=node_rg,
        pool_name=pool,
        license_type=_get(wire, "properties", "virtualMachineProfile", "licenseType"),
        capacity=int(_get(wire, "sku", "capacity", default=0)),
        instances=tuple(instance_from_wire(v) for v in instances),
    )


def usage_from_wire(u: Mapping[str, Any]) -> SubnetUsage:
    """Map one entry of a virtual network's usage list (wire JSON) to a :class:`SubnetUsage`."""
    return SubnetUsage(
        subnet_id=str(u.get("id", "")),
        address_prefix=None,
        used=int(u.get("currentValue") or 0),
        limit=int(u.get("limit") or 0),
    )


def vnets_of(subnet_ids: Iterable[str]) -> tuple[set[str], list[tuple[str, str]]]:
    """The wanted subnet ids (lower case) and the ``(resource group, virtual network)`` pairs that hold them."""
    wanted = {s.lower() for s in subnet_ids if s}
    vnets: dict[tuple[str, str, str], tuple[str, str]] = {}
    for sid in sorted(wanted):
        rid = ResourceId.parse(sid)
        if rid is not None and rid.is_type("Microsoft.Network", "virtualNetworks", "subnets"):
            vnets[(rid.subscription_id, rid.resource_group, rid.names[0])] = (
                rid.resource_group,
                rid.names[0],
            )
    return wanted, list(vnets.values())


def cluster_ids_from_wire(
    items: Iterable[Mapping[str, Any]], resource_group: str | None
) -> list[tuple[str, str]]:
    """``(resource_group, name)`` of each managed cluster in a list response (wire JSON)."""
    out = []
    for mc in items:
        rid = ResourceId.parse(mc.get("id"))
        out.append((rid.resource_group if rid else resource_group or "", str(mc.get("name"))))
    return out


def read_scale_sets(clients: AzureClients, node_rg: str, windows_pools: set[str]) -> list[VmssSnapshot]:
    """The Windows pools' scale sets and instances, matched by the ``aks-managed-poolName`` tag (AKS docs).

    One scale set list in the node resource group plus one instance list per Windows scale set.
    """
    out: list[VmssSnapshot] = []
    compute = clients.compute
    for vmss in compute.virtual_machine_scale_sets.list(node_rg):
        wire = vmss.as_dict()
        pool = (wire.get("tags") or {}).get("aks-managed-poolName")
        if pool not in windows_pools:
            continue
        vms = [vm.as_dict() for vm in compute.virtual_machine_scale_set_vms.list(node_rg, wire["name"])]
        out.append(scale_set_from_wire(wire, node_rg, str(pool), vms))
    return out


def read_subnet_usage(clients: AzureClients, subnet_ids: Iterable[str]) -> list[SubnetUsage]:
    """Usage of the given subnets, one ``list_usage`` per virtual network (FAQ: subnet sizing for Azure CNI)."""
    wanted, vnets = vnets_of(subnet_ids)
    out: list[SubnetUsage] = []
    for rg, vnet in vnets:
        for usage in clients.network.virtual_networks.list_usage(rg, vnet):
            u = usage_from_wire(usage.as_dict())
            if u.subnet_id.lower() in wanted:
                out.append(u)
    return out


def read_snapshot(
    clients: AzureClients,
    resource_group: str,
    name: str,
    *,
    upgrade_profiles: bool = True,
    scale_sets: bool = True,
    subnets: bool = True,
) -> ClusterSnapshot:
    """Read a cluster into a :class:`ClusterSnapshot` in the fewest requests (module docstring).

    Args:
        clients: the client bundle for the cluster's subscription.
        resource_group: the cluster's resource group.
        name: the cluster's name.
        upgrade_profiles: read the control plane and pool upgrade profiles (versions, latest node image).
        scale_sets: read the Windows pools' scale sets and instances (license types).
        subnets: read the pools' subnet usage.

    Raises:
        NotFound: no such cluster.
        AksWindowsOpsError: any other Azure failure, translated.
    """
    ref = ClusterRef(clients.subscription_id, resource_group, name)
    cs = clients.containerservice
    with translating(f"reading cluster {resource_group}/{name}"):
        wire = cs.managed_clusters.get(resource_group, name).as_dict()
        props = wire.get("properties") or {}
        pool_profiles: dict[str, Mapping[str, Any]] = {}
        cp_upgrades: list[str] = []
        if upgrade_profiles:
            profile = cs.managed_clusters.get_upgrade_profile(resource_group, name).as_dict()
            cp_upgrades = control_plane_upgrades_from_wire(profile)
            for p in props.get("agentPoolProfiles") or []:
                pname = str(p.get("name"))
                pool_profiles[pname] = cs.agent_pools.get_upgrade_profile(
                    resource_group, name, pname
                ).as_dict()
        vmss: list[VmssSnapshot] = []
        windows = windows_pool_names(props.get("agentPoolProfiles") or [])
        if scale_sets and windows and props.get("nodeResourceGroup"):
            vmss = read_scale_sets(clients, str(props["nodeResourceGroup"]), windows)
        usage: list[SubnetUsage] = []
        if subnets:
            usage = read_subnet_usage(
                clients, [str(p.get("vnetSubnetID") or "") for p in props.get("agentPoolProfiles") or []]
            )
    return snapshot_from_wire(
        ref,
        wire,
        pool_profiles=pool_profiles,
        control_plane_upgrades=cp_upgrades,
        scale_sets=vmss,
        subnets=usage,
    )


def list_clusters(clients: AzureClients, resource_group: str | None = None) -> list[tuple[str, str]]:
    """Return ``(resource_group, name)`` of every cluster in the subscription (or one resource group)."""
    cs = clients.containerservice
    with translating("listing clusters"):
        items = (
            cs.managed_clusters.list_by_resource_group(resource_group)
            if resource_group
            else cs.managed_clusters.list()
        )
        return cluster_ids_from_wire((mc.as_dict() for mc in items), resource_group)


def available_versions(clients: AzureClients, location: str) -> list[str]:
    """Every Kubernetes patch version the region offers (``list_kubernetes_versions``; Service facts: How the Azure CLI does it).

    Used to plan intermediate minor hops: the cluster's upgrade profile lists only the next minor.
    """
    with translating(f"listing Kubernetes versions in {location}"):
        listing = clients.containerservice.managed_clusters.list_kubernetes_versions(location).as_dict()
    out: list[str] = []
    for minor in listing.get("values") or []:
        out.extend(str(v) for v in (minor.get("patchVersions") or {}))
    return out


def get_user_kubeconfig(clients: AzureClients, resource_group: str, name: str) -> bytes:
    """The cluster user kubeconfig (``list_cluster_user_credentials``; Service facts: Moving pods)."""
    with translating(f"reading the kubeconfig of {resource_group}/{name}"):
        creds = clients.containerservice.managed_clusters.list_cluster_user_credentials(resource_group, name)
    value = creds.kubeconfigs[0] if creds.kubeconfigs else None
    if value is None or value.value is None:
        from aks_windows_ops.errors import NotFound

        raise NotFound(f"cluster {resource_group}/{name} returned no kubeconfig")
    data = value.value
    return data if isinstance(data, bytes) else bytes(data)


def control_plane_upgrades(clients: AzureClients, resource_group: str, name: str) -> list[str]:
    """The versions the control plane may upgrade to (the cluster's upgrade profile; Service facts: How the Azure CLI does it)."""
    with translating(f"reading the upgrade profile of {resource_group}/{name}"):
        profile = clients.containerservice.managed_clusters.get_upgrade_profile(
            resource_group, name
        ).as_dict()
    upgrades = _get(profile, "properties", "controlPlaneProfile", "upgrades", default=[]) or []
    return [str(u.get("kubernetesVersion")) for u in upgrades]
