"""Cluster twins: export a cluster's shape to a scenario file, and reach an ARM cluster's Kubernetes API.

design notes, "The simulator": any procedure can be rehearsed with ``--simulate FILE`` on a replica of a real cluster.
:func:`export_twin` reads the cluster (one snapshot, Service facts: How the Azure CLI does it, plus its creation date and the address
prefixes of its virtual networks) and, when asked, its workloads through the Kubernetes API, and writes them in
the format of :mod:`aks_windows_ops.testing.scenario`:

* pools: OS type and SKU, mode, count, VM size, version, node image, max pods, labels, taints, zones,
  autoscaler bounds, max surge and subnet;
* subnets: prefix and current usage (what AKS pools do not account for becomes ``used``, so the twin's
  ``list_usage`` reports the same numbers);
* the Windows profile: admin username, license type, gMSA. Never a password: ARM never returns it;
* Hybrid Benefit drift: instances whose license was removed by hand;
* workloads: Deployments, StatefulSets, DaemonSets, Services, PodDisruptionBudgets and unmanaged Pods, without
  ``status``, server-set metadata, cluster IPs, node bindings or literal values of secret-looking environment
  variables. Secrets and ConfigMaps are never read.

What the format cannot hold (pod subnets, non-terminal provisioning states, a license set on instances while the
cluster has none) is listed in the file's ``notes``. This module sits above ``azure`` and ``kube`` (it is where a
command turns an ARM cluster into a Kubernetes client: ``list_cluster_user_credentials``, Service facts: Moving pods).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.errors import translating
from aks_windows_ops.azure.facts import get_user_kubeconfig, read_snapshot
from aks_windows_ops.models import ClusterSnapshot, PoolSnapshot, ResourceId, SubnetUsage
from aks_windows_ops.rules import capacity, validation
from aks_windows_ops.rules.images import image_date
from aks_windows_ops.rules.lifecycle import still_on_old_windows_image

__all__ = [
    "SYSTEM_NAMESPACES",
    "cluster_api_client",
    "export_twin",
    "read_cluster_workloads",
    "sanitize_manifest",
    "write_twin",
]

#: Namespaces AKS manages; a twin leaves them out unless asked (AKS recreates their objects itself).
SYSTEM_NAMESPACES: tuple[str, ...] = ("kube-system", "kube-public", "kube-node-lease")

_SECRET_NAME = re.compile(r"pass|secret|token|key|credential|connection|pwd", re.IGNORECASE)
_DROPPED_METADATA = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "ownerReferences",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_DROPPED_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
)
_TWIN_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Service", "PodDisruptionBudget", "Pod")


# --- Kubernetes access from an ARM cluster --------------------------------------------------------------------


def cluster_api_client(clients: AzureClients, resource_group: str, name: str) -> Any:
    """A ``kubernetes.client.ApiClient`` for an AKS cluster (Service facts: Moving pods).

    The kubeconfig comes from ``list_cluster_user_credentials`` (the simulator's points at its
    ``FakeKubernetes``). Entra ID clusters (a kubeconfig whose user runs ``kubelogin``) get a token for the AKS server application
    from the client bundle's credential instead of the plugin. A loopback API server (the simulator) is reached
    without any proxy.
    """
    from aks_windows_ops.kube.client import api_client_for_aad, api_client_from_kubeconfig, load_kubeconfig

    data = load_kubeconfig(get_user_kubeconfig(clients, resource_group, name))
    uses_kubelogin = any(
        "kubelogin" in str(((u.get("user") or {}).get("exec") or {}).get("command") or "")
        for u in data.get("users") or []
    )
    api = api_client_for_aad(data, clients.credential) if uses_kubelogin else api_client_from_kubeconfig(data)
    host = str(api.configuration.host)
    if re.match(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)", host):
        api.configuration.proxy = None
        api.configuration.no_proxy = "*"
    return api


def sanitize_manifest(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """Strip a live object down to what recreates it: no status, server-set metadata or secret values.

    design principle "secrets never print" (secrets never print): literal values of environment variables whose names look secret
    (password, token, key, connection string ...) become ``<redacted>``; Secrets are never read at all. Returns
    ``None`` for objects a twin leaves out: pods owned by a controller (the controller recreates them)
    and kinds other than Deployment, StatefulSet, DaemonSet, Service, PodDisruptionBudget and Pod.
    """
    kind = str(manifest.get("kind") or "")
    if kind not in _TWIN_KINDS:
        return None
    meta_in = manifest.get("metadata") or {}
    if kind == "Pod" and any(ref.get("controller") for ref in meta_in.get("ownerReferences") or []):
        return None
    out: dict[str, Any] = {k: _deep(v) for k, v in manifest.items() if k != "status"}
    meta = out.setdefault("metadata", {})
    for key in _DROPPED_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in _DROPPED_ANNOTATIONS:
        annotations.pop(key, None)
    if not annotations:
        meta.pop("annotations", None)
    spec = out.get("spec") or {}
    if kind == "Service":
        for key in ("clusterIP", "clusterIPs", "healthCheckNodePort"):
            spec.pop(key, None)
    if kind == "Pod":
        spec.pop("nodeName", None)
    for pod_spec in _pod_specs(out):
        for container in [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]:
            for env in container.get("env") or []:
                if "value" in env and _SECRET_NAME.search(str(env.get("name") or "")):
                    env["value"] = "<redacted>"
    return out


def _deep(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value


def _pod_specs(manifest: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    if manifest.get("kind") == "Pod":
        spec = manifest.get("spec")
    else:
        spec = ((manifest.get("spec") or {}).get("template") or {}).get("spec")
    if isinstance(spec, dict):
        yield spec


def read_cluster_workloads(
    api: Any, *, namespace: str | None = None, exclude_namespaces: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Read the cluster's workload objects as manifests (``kube.workloads.read_workload_objects``).

    What preflight's workload rules (Service facts: FAQ rules) and a twin's ``workloads`` need: Deployments,
    StatefulSets, DaemonSets, Pods, Services and PodDisruptionBudgets.

    Args:
        api: a ``kubernetes.client.ApiClient``.
        namespace: one namespace, or all.
        exclude_namespaces: namespaces to leave out.
    """
    from aks_windows_ops.kube.workloads import read_workload_objects

    excluded = set(exclude_namespaces)
    return [
        m
        for m in read_workload_objects(api, namespace=namespace)
        if str((m.get("metadata") or {}).get("namespace") or "default") not in excluded
    ]


# --- export ---------------------------------------------------------------------------------------------------


def _created(clients: AzureClients, resource_group: str, name: str) -> _dt.date | None:
    with translating(f"reading cluster {resource_group}/{name}"):
        wire = clients.containerservice.managed_clusters.get(resource_group, name).as_dict()
    text = str(((wire.get("systemData") or {}).get("createdAt")) or "")
    try:
        return _dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _identity(snap: ClusterSnapshot) -> str:
    if snap.identity_type:
        return snap.identity_type
    return "service_principal" if snap.uses_service_principal else "SystemAssigned"


def _pool_addresses(snap: ClusterSnapshot, pool: PoolSnapshot) -> int:
    mode = capacity.cni_mode(snap.network_plugin, snap.network_plugin_mode, pool.pod_subnet_id)
    max_pods = pool.max_pods or validation.default_max_pods(
        snap.network_plugin, snap.network_plugin_mode, pool.pod_subnet_id
    )
    if mode is capacity.CniMode.NODE_SUBNET:
        return pool.count * (max_pods + 1)
    return pool.count


def _vnet_entries(
    clients: AzureClients, snap: ClusterSnapshot, notes: list[str]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Virtual networks per ``(subscription, resource group)`` with the subnets the pools use."""
    wanted: dict[tuple[str, str, str], dict[str, str]] = {}
    for pool in snap.pools:
        rid = _subnet_id(pool.vnet_subnet_id)
        if rid is not None:
            key = (rid.subscription_id, rid.resource_group, rid.names[0])
            wanted.setdefault(key, {})[rid.name] = pool.vnet_subnet_id or ""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (sub, rg, vnet), subnets in sorted(wanted.items()):
        bundle = clients if sub == clients.subscription_id else clients.for_subscription(sub)
        prefixes: dict[str, str] = {}
        address_space = ""
        try:
            with translating(f"reading virtual network {rg}/{vnet}"):
                wire = bundle.network.virtual_networks.get(rg, vnet).as_dict()
            props = wire.get("properties") or wire
            address_space = str(((props.get("addressSpace") or {}).get("addressPrefixes") or [""])[0])
            for s in props.get("subnets") or []:
                sprops = s.get("properties") or s
                prefixes[str(s.get("name")).lower()] = str(sprops.get("addressPrefix") or "")
        except Exception as err:  # a twin is still useful without the prefixes: sized from the usage
            notes.append(
                f"virtual network {rg}/{vnet} could not be read ({err}); subnet prefixes are sized guesses"
            )
        entry_subnets: dict[str, str] = {}
        used: dict[str, int] = {}
        for subnet, subnet_id in sorted(subnets.items()):
            usage = snap.subnet(subnet_id)
            prefix = prefixes.get(subnet.lower()) or _prefix_for(usage)
            entry_subnets[subnet] = prefix
            if usage is not None:
                aks = sum(
                    _pool_addresses(snap, p)
                    for p in snap.pools
                    if (p.vnet_subnet_id or "").lower() == subnet_id.lower()
                )
                others = usage.used - aks
                if others > 0:
                    used[subnet] = others
        entry: dict[str, Any] = {
            "name": vnet,
            "address_prefix": address_space or _supernet(entry_subnets.values()),
            "subnets": entry_subnets,
        }
        if used:
            entry["used"] = used
        out.setdefault((sub, rg), []).append(entry)
    return out


def _prefix_for(usage: SubnetUsage | None) -> str:
    size = (usage.limit if usage else 251) + capacity.AZURE_RESERVED_ADDRESSES
    bits = 32 - max(3, math.ceil(math.log2(max(size, 8))))
    return f"10.0.0.0/{bits}"


def _supernet(prefixes: Iterable[str]) -> str:
    nets = [ipaddress.ip_network(p, strict=False) for p in prefixes if p]
    if not nets:
        return "10.0.0.0/8"
    net = nets[0]
    while not all(n.subnet_of(net) for n in nets):  # type: ignore[arg-type]
        net = net.supernet()
    return str(net)


def _subnet_ref(snap: ClusterSnapshot, subnet_id: str | None) -> str | None:
    rid = _subnet_id(subnet_id)
    if rid is None:
        return subnet_id or None
    if (
        rid.subscription_id == snap.ref.subscription_id
        and rid.resource_group.lower() == snap.ref.resource_group.lower()
    ):
        return f"{rid.names[0]}/{rid.name}"
    return subnet_id


def _subnet_id(text: str | None) -> ResourceId | None:
    rid = ResourceId.parse(text)
    return rid if rid is not None and rid.is_type("Microsoft.Network", "virtualNetworks", "subnets") else None


def _pool_entry(snap: ClusterSnapshot, pool: PoolSnapshot, notes: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": pool.name,
        "mode": pool.mode.value,
        "os_type": pool.os_type.value,
    }
    if pool.os_sku:
        entry["os_sku"] = pool.os_sku
    entry["count"] = pool.count
    if pool.vm_size:
        entry["vm_size"] = pool.vm_size
    version = pool.current_orchestrator_version or pool.orchestrator_version
    if version:
        entry["version"] = version
    if pool.node_image_version:
        entry["node_image"] = pool.node_image_version
    if pool.max_pods is not None:
        entry["max_pods"] = pool.max_pods
    subnet = _subnet_ref(snap, pool.vnet_subnet_id)
    if subnet:
        entry["subnet"] = subnet
    if pool.max_surge:
        entry["max_surge"] = pool.max_surge
    if pool.labels:
        entry["labels"] = dict(pool.labels)
    if pool.taints:
        entry["taints"] = list(pool.taints)
    if pool.zones:
        entry["zones"] = list(pool.zones)
    if pool.enable_auto_scaling:
        entry["autoscale"] = True
        if pool.min_count is not None:
            entry["min_count"] = pool.min_count
        if pool.max_count is not None:
            entry["max_count"] = pool.max_count
    if pool.pod_subnet_id:
        notes.append(
            f"pool {pool.name} uses pod subnet {pool.pod_subnet_id}; the twin puts its pods on the node subnet"
        )
    if (pool.provisioning_state or "Succeeded").lower() != "succeeded":
        notes.append(f"pool {pool.name} was {pool.provisioning_state}; the twin starts it Succeeded")
    vmss = snap.scale_set_for(pool.name)
    if pool.is_windows and vmss is not None:
        cluster_on = (snap.license_type or "").lower() == "windows_server"
        ordered = sorted(vmss.instances, key=lambda i: int(i.instance_id) if i.instance_id.isdigit() else 0)
        unlicensed = [
            str(index)
            for index, instance in enumerate(ordered)
            if cluster_on and (instance.license_type or "").lower() != "windows_server"
        ]
        if unlicensed:
            entry["unlicensed_instances"] = unlicensed
        if not cluster_on and any((i.license_type or "").lower() == "windows_server" for i in ordered):
            notes.append(
                f"pool {pool.name}: instances carry Windows_Server licenses the cluster does not set; the twin "
                "leaves them unlicensed"
            )
    return entry


def export_twin(
    clients: AzureClients,
    resource_group: str,
    name: str,
    *,
    workloads: Iterable[Mapping[str, Any]] | None = None,
    scenario_name: str | None = None,
) -> dict[str, Any]:
    """Export a cluster's shape as a scenario dict that ``FakeAzure.from_scenario`` loads (module docstring).

    Implements the "Interfaces" issue's twin export (design notes, "The simulator"). Reads only.

    Args:
        clients: the client bundle of the cluster's subscription (real or simulated).
        resource_group: the cluster's resource group.
        name: the cluster's name.
        workloads: manifests to include (from :func:`read_cluster_workloads`); each is passed through
            :func:`sanitize_manifest`.
        scenario_name: the scenario's ``name`` (``twin-<cluster>`` by default).

    Raises:
        NotFound: no such cluster.
        AksWindowsOpsError: any other Azure failure, translated.
    """
    snap = read_snapshot(clients, resource_group, name)
    notes: list[str] = []
    created = _created(clients, resource_group, name)
    cluster: dict[str, Any] = {
        "name": snap.ref.name,
        "kubernetes_version": snap.current_kubernetes_version or snap.kubernetes_version,
        "network_plugin": snap.network_plugin or "kubenet",
    }
    if snap.network_plugin_mode:
        cluster["network_plugin_mode"] = snap.network_plugin_mode
    cluster["identity"] = _identity(snap)
    if created is not None:
        cluster["created"] = created.isoformat()
    if still_on_old_windows_image(snap):
        # Created before February 2020 and still on a control plane minor of that time: never upgraded since.
        cluster["legacy_windows_image"] = True
    image_dates = [
        d
        for p in snap.windows_pools
        if (d := image_date(p.latest_node_image_version or p.node_image_version))
    ]
    if image_dates:
        cluster["windows_image_date"] = max(image_dates).isoformat()
    cluster["auto_upgrade_channel"] = snap.auto_upgrade_channel or "none"
    if snap.has_windows_profile:
        profile: dict[str, Any] = {"admin_username": snap.windows_admin_username}
        if snap.license_type and snap.license_type != "None":
            profile["license_type"] = snap.license_type
        if snap.gmsa_enabled:
            profile["gmsa"] = True
        cluster["windows_profile"] = profile
    if (snap.provisioning_state or "Succeeded").lower() != "succeeded":
        notes.append(f"the cluster was {snap.provisioning_state}; the twin starts it Succeeded")
    cluster["pools"] = [_pool_entry(snap, p, notes) for p in snap.pools]
    if workloads is not None:
        cluster["workloads"] = [s for m in workloads if (s := sanitize_manifest(m)) is not None]
    vnets = _vnet_entries(clients, snap, notes)
    sub_id = snap.ref.subscription_id
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    home = (sub_id, snap.ref.resource_group.lower())
    groups[home] = {"name": snap.ref.resource_group, "location": snap.location}
    for (vsub, vrg), entries in vnets.items():
        key = (vsub, vrg.lower())
        group = groups.setdefault(key, {"name": vrg, "location": snap.location})
        group.setdefault("vnets", []).extend(entries)
    groups[home]["clusters"] = [cluster]
    subscriptions: dict[str, list[dict[str, Any]]] = {}
    for (gsub, _), group in groups.items():
        subscriptions.setdefault(gsub, []).append(group)
    return {
        "name": scenario_name or f"twin-{snap.ref.name}",
        "description": (
            f"Twin of {snap.ref.resource_group}/{snap.ref.name} (subscription {sub_id}), Kubernetes "
            f"{cluster['kubernetes_version']}, {len(snap.pools)} pool(s), {len(snap.windows_pools)} Windows."
        ),
        "exported_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "notes": notes,
        # The versions the region offers this cluster (its own and its control plane upgrades), so that a twin
        # of a cluster older than the simulator's catalog can rehearse its upgrade.
        "kubernetes_versions": sorted(
            {v for v in (snap.current_kubernetes_version, *snap.control_plane_upgrades) if v}
        ),
        "subscriptions": [
            {"id": sid, "resource_groups": rgs}
            for sid, rgs in sorted(subscriptions.items(), key=lambda i: i[0])
        ],
    }


def write_twin(scenario: Mapping[str, Any], path: str | Path) -> Path:
    """Write a scenario dict as YAML that ``--simulate FILE`` loads (design notes, "The simulator"); return the path."""
    target = Path(path)
    text = yaml.safe_dump(dict(scenario), sort_keys=False, default_flow_style=False, width=120)
    target.write_text(text, encoding="utf-8")
    return target
