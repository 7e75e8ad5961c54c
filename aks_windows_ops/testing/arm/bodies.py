"""Wire bodies of new clusters and pools: what the service fills in around what a PUT gives.

Defaults follow the AKS API reference (https://learn.microsoft.com/rest/api/aks/managed-clusters and
https://learn.microsoft.com/rest/api/aks/agent-pools) and the recordings; properties the service does not
set itself are kept as given (the service keeps GA fields such as ``gpuProfile``).
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping
from typing import Any

from aks_windows_ops.testing import catalog
from aks_windows_ops.testing.arm.state import ArmError, Cluster, Json, iso
from aks_windows_ops.testing.arm.versions import Versions


def build_cluster(fake: Versions, sub: str, rg: str, name: str, body: Json) -> Cluster:
    """Make the wire body of a new cluster from a PUT body, with the fields the service fills in."""
    props_in = copy.deepcopy(body.get("properties") or {})
    location = body.get("location", "westus2")
    version = fake.resolve_version(
        props_in.get("kubernetesVersion") or fake.default_kubernetes_version or fake.kubernetes_versions[-3]
    )
    dns = props_in.get("dnsPrefix") or f"{name}-dns"
    suffix = uuid.uuid5(uuid.NAMESPACE_DNS, f"{sub}/{rg}/{name}").hex[:8]
    network_in = props_in.get("networkProfile") or {}
    plugin = network_in.get("networkPlugin", "kubenet")
    network: Json = {
        "networkPlugin": plugin,
        "networkPolicy": network_in.get("networkPolicy", "none"),
        "networkDataplane": "azure",
        "loadBalancerSku": network_in.get("loadBalancerSku", "standard"),
        "loadBalancerProfile": {"managedOutboundIPs": {"count": 1}, "backendPoolType": "nodeIPConfiguration"},
        "serviceCidr": network_in.get("serviceCidr", "10.0.0.0/16"),
        "dnsServiceIP": network_in.get("dnsServiceIP", "10.0.0.10"),
        "outboundType": network_in.get("outboundType", "loadBalancer"),
        "serviceCidrs": [network_in.get("serviceCidr", "10.0.0.0/16")],
        "ipFamilies": ["IPv4"],
    }
    if plugin == "kubenet":
        network["podCidr"] = network_in.get("podCidr", "10.244.0.0/16")
        network["podCidrs"] = [network["podCidr"]]
        network["dockerBridgeCidr"] = network_in.get("dockerBridgeCidr", "172.17.0.1/16")
    if network_in.get("networkPluginMode"):
        network["networkPluginMode"] = network_in["networkPluginMode"]
        network["podCidr"] = network_in.get("podCidr", "10.244.0.0/16")
        network["podCidrs"] = [network["podCidr"]]
    props: Json = {
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "kubernetesVersion": version,
        "currentKubernetesVersion": version,
        "dnsPrefix": dns,
        "fqdn": f"{dns}-{suffix}.hcp.{location}.azmk8s.io",
        "azurePortalFQDN": f"{dns}-{suffix}.portal.hcp.{location}.azmk8s.io",
        "agentPoolProfiles": [],
        "nodeResourceGroup": props_in.get("nodeResourceGroup") or f"MC_{rg}_{name}_{location}",
        "enableRBAC": props_in.get("enableRBAC", True),
        "supportPlan": "KubernetesOfficial",
        "networkProfile": network,
        "maxAgentPools": 100,
        "disableLocalAccounts": props_in.get("disableLocalAccounts", False),
        "securityProfile": props_in.get("securityProfile") or {},
        "storageProfile": {
            "diskCSIDriver": {"enabled": True, "version": "v1"},
            "fileCSIDriver": {"enabled": True},
            "snapshotController": {"enabled": True},
        },
        "oidcIssuerProfile": {"enabled": False},
        "workloadAutoScalerProfile": {},
        "autoUpgradeProfile": props_in.get("autoUpgradeProfile") or {"nodeOSUpgradeChannel": "NodeImage"},
        "resourceUID": suffix * 3,
        "metricsProfile": {"costAnalysis": {"enabled": False}},
        "nodeProvisioningProfile": {"mode": "Manual", "defaultNodePools": "Auto"},
        "bootstrapProfile": props_in.get("bootstrapProfile") or {"artifactSource": "Direct"},
    }
    if network["outboundType"] in ("managedNATGateway", "userAssignedNATGateway"):
        # NAT gateway egress: no load-balancer outbound IPs; a managed gateway reports its own profile.
        network.pop("loadBalancerProfile", None)
        if network["outboundType"] == "managedNATGateway":
            nat_in = network_in.get("natGatewayProfile") or {}
            network["natGatewayProfile"] = {
                "managedOutboundIPProfile": dict(nat_in.get("managedOutboundIPProfile") or {"count": 1}),
                "idleTimeoutInMinutes": int(nat_in.get("idleTimeoutInMinutes") or 4),
            }
    if props_in.get("enablePodSecurityPolicy") is not None:
        props["enablePodSecurityPolicy"] = props_in["enablePodSecurityPolicy"]
    # The service keeps the other properties it is given (nodeResourceGroupProfile, ...).
    for key, value in props_in.items():
        if value is not None and key not in props and key not in _SERVICE_SET_CLUSTER_FIELDS:
            props[key] = copy.deepcopy(value)
    if props_in.get("linuxProfile"):
        props["linuxProfile"] = props_in["linuxProfile"]
    win_in = props_in.get("windowsProfile")
    if win_in is not None:
        win = {
            "adminUsername": win_in.get("adminUsername", "azureuser"),
            "enableCSIProxy": win_in.get("enableCSIProxy", True),
        }
        if win_in.get("licenseType"):
            win["licenseType"] = win_in["licenseType"]
        if win_in.get("gmsaProfile"):
            win["gmsaProfile"] = win_in["gmsaProfile"]
        props["windowsProfile"] = win
    identity_in = body.get("identity")
    cluster_body: Json = {
        "id": f"/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}",
        "location": location,
        "name": name,
        "type": "Microsoft.ContainerService/ManagedClusters",
        "kind": "Base",
        "properties": props,
        "sku": body.get("sku") or {"name": "Base", "tier": "Free"},
        "systemData": {
            "createdAt": iso(fake.base_time, fake.clock.monotonic()),
            "lastModifiedAt": iso(fake.base_time, fake.clock.monotonic()),
        },
    }
    if identity_in:
        cluster_body["identity"] = {
            "type": identity_in.get("type", "SystemAssigned"),
            "principalId": "00000000-0000-0000-0000-000000000001",
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        }
        # ARM still reports a placeholder service principal for managed-identity clusters.
        props["servicePrincipalProfile"] = {"clientId": "msi"}
    else:
        sp = props_in.get("servicePrincipalProfile") or {"clientId": "00000000-0000-0000-0000-000000000001"}
        props["servicePrincipalProfile"] = {"clientId": sp.get("clientId")}
    if body.get("tags"):
        cluster_body["tags"] = body["tags"]
    cluster = Cluster(sub, rg, name, cluster_body, windows_image_cutoff=fake.now_date())
    return cluster


def complete_cluster(cluster: Cluster) -> None:
    """Add what a finished create reports: the kubelet identity and the load balancer's outbound IPs."""
    props = cluster.props
    node_rg = props.get("nodeResourceGroup")
    base = f"/subscriptions/{cluster.subscription}/resourcegroups/{node_rg}/providers"
    if "identity" in cluster.body:
        props["identityProfile"] = {
            "kubeletidentity": {
                "resourceId": f"{base}/Microsoft.ManagedIdentity/userAssignedIdentities/{cluster.name}-agentpool",
                "clientId": "00000000-0000-0000-0000-000000000001",
                "objectId": "00000000-0000-0000-0000-000000000001",
            }
        }
    lb = (props.get("networkProfile") or {}).get("loadBalancerProfile")
    if isinstance(lb, dict):
        lb["effectiveOutboundIPs"] = [{"id": f"{base}/Microsoft.Network/publicIPAddresses/{uuid.uuid4()}"}]
    nat = (props.get("networkProfile") or {}).get("natGatewayProfile")
    if isinstance(nat, dict):
        count = int((nat.get("managedOutboundIPProfile") or {}).get("count") or 1)
        nat["effectiveOutboundIPs"] = [
            {"id": f"{base}/Microsoft.Network/publicIPAddresses/{uuid.uuid4()}"} for _ in range(count)
        ]


#: The VM sizes the simulator picks from, in order, when a pool is created without ``vmSize``. Since Azure CLI
#: 2.73 (https://github.com/Azure/azure-cli/pull/31424) the CLI sends no size and the service picks one "based on
#: quota and capacity" (https://learn.microsoft.com/azure/aks/quotas-skus-regions#supported-vm-sizes); its
#: logic is not published (https://github.com/MicrosoftDocs/azure-aks-docs/issues/247 reports an Arm64 size for
#: Linux). Windows cannot run on Arm64, so its list holds x64 sizes only.
DEFAULT_VM_SIZES: dict[str, tuple[str, ...]] = {
    "Linux": ("Standard_D8pds_v5", "Standard_D8ds_v5", "Standard_D8s_v5", "Standard_D8as_v5"),
    "Windows": ("Standard_D8ds_v5", "Standard_D8s_v5", "Standard_D8as_v5"),
}
_SIZE = re.compile(r"^Standard_[A-Z]+(\d+)(?:-\d+)?([a-z]*)_", re.IGNORECASE)


def vcpus(vm_size: str) -> int:
    """The vCPUs of an Azure VM size, from its name (``Standard_D8ds_v5``: 8); 2 when the name says nothing."""
    found = _SIZE.match(vm_size)
    return int(found.group(1)) if found else 2


def is_arm64(vm_size: str) -> bool:
    """Whether a VM size has an Arm64 processor (a ``p`` among its feature letters: ``Standard_D8pds_v5``)."""
    found = _SIZE.match(vm_size)
    return found is not None and "p" in found.group(2).lower()


def default_vm_size(os_type: str, count: int, quota: Mapping[str, int]) -> str:
    """The first size of :data:`DEFAULT_VM_SIZES` for ``os_type`` whose regional vCPU quota fits ``count`` nodes.

    Args:
        os_type: ``Linux`` or ``Windows``.
        count: the pool's node count.
        quota: vCPUs left in the region by VM size; a size not listed has quota enough.

    Raises:
        ArmError: no candidate size has quota left (the service answers 400 with an insufficient-quota error).
    """
    candidates = DEFAULT_VM_SIZES["Windows" if os_type == "Windows" else "Linux"]
    for size in candidates:
        left = quota.get(size)
        if left is None or left >= vcpus(size) * max(count, 1):
            return size
    raise ArmError(
        400,
        "InsufficientVCPUQuota",
        f"No VM size with enough regional vCPU quota for {count} nodes (tried {', '.join(candidates)}); "
        "request more quota or pass vmSize.",
    )


def pool_defaults(fake: Versions, cluster: Cluster, name: str, props_in: Json) -> Json:
    """Fill a new pool's wire properties the way the service does (defaults from Service facts: FAQ rules)."""
    os_type = props_in.get("osType") or "Linux"
    if props_in.get("orchestratorVersion"):
        props_in = {**props_in, "orchestratorVersion": fake.resolve_version(props_in["orchestratorVersion"])}
    version = (
        props_in.get("orchestratorVersion")
        or cluster.props.get("currentKubernetesVersion")
        or cluster.props["kubernetesVersion"]
    )
    sku = props_in.get("osSKU")
    if not sku:
        if os_type == "Windows":
            sku = "Windows2019" if catalog.parse_version(version) < (1, 25, 0) else "Windows2022"
        else:
            sku = "Ubuntu"
    network = cluster.props.get("networkProfile") or {}
    if props_in.get("maxPods"):
        max_pods = int(props_in["maxPods"])
    elif network.get("networkPluginMode") == "overlay":
        max_pods = 250
    elif network.get("networkPlugin") == "azure" and not props_in.get("podSubnetID"):
        max_pods = 30
    else:
        max_pods = 110
    upgrade = props_in.get("upgradeSettings") or {}
    if not upgrade:
        upgrade = {"maxSurge": "10%", "maxUnavailable": "0"}
    pool: Json = {
        "name": name,
        "count": int(props_in["count"]) if props_in.get("count") is not None else 1,
        "vmSize": props_in.get("vmSize")
        or default_vm_size(os_type, int(props_in.get("count") or 1), fake.vcpu_quota),
        "osDiskSizeGB": int(props_in.get("osDiskSizeGB") or 128),
        "osDiskType": props_in.get("osDiskType") or "Managed",
        "kubeletDiskType": "OS",
        "workloadRuntime": "OCIContainer",
        "maxPods": max_pods,
        "type": "VirtualMachineScaleSets",
        "enableAutoScaling": bool(props_in.get("enableAutoScaling", False)),
        "scaleDownMode": "Delete",
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "orchestratorVersion": version,
        "currentOrchestratorVersion": version,
        "enableNodePublicIP": False,
        "enableCustomCATrust": False,
        "nodeLabels": dict(props_in.get("nodeLabels") or {}),
        "mode": props_in.get("mode") or "User",
        "enableEncryptionAtHost": False,
        "enableUltraSSD": False,
        "osType": os_type,
        "osSKU": sku,
        "nodeImageVersion": props_in.get("nodeImageVersion")
        or catalog.latest_image(
            sku, os_type, today=fake.now_date(), windows_cutoff=cluster.windows_image_cutoff
        ),
        "upgradeStrategy": "Rolling",
        "upgradeSettings": upgrade,
        "enableFIPS": bool(props_in.get("enableFIPS", False)),
        "networkProfile": {},
        "securityProfile": {"enableVTPM": False, "enableSecureBoot": False},
    }
    if props_in.get("nodeTaints"):
        pool["nodeTaints"] = list(props_in["nodeTaints"])
    if os_type == "Windows":
        pool["windowsProfile"] = dict(props_in.get("windowsProfile") or {})
    for key in (
        "vnetSubnetID",
        "podSubnetID",
        "availabilityZones",
        "minCount",
        "maxCount",
        "tags",
        "enableAutoScaling",
    ):
        if props_in.get(key) is not None:
            pool[key] = props_in[key]
    # The service keeps every other property it is given (spot settings, public IPs, GPU, kubelet config ...).
    for key, value in props_in.items():
        if value is not None and key not in pool and key not in _SERVICE_SET_POOL_FIELDS:
            pool[key] = copy.deepcopy(value)
    for key in _GIVEN_OVER_DEFAULT:
        given = props_in.get(key)
        if isinstance(given, dict) and isinstance(pool.get(key), dict):
            pool[key] = {**pool[key], **copy.deepcopy(given)}  # the service fills what is left out
        elif given is not None:
            pool[key] = copy.deepcopy(given)
    return pool


#: Cluster properties only the service sets (read-only in the API).
_SERVICE_SET_CLUSTER_FIELDS = frozenset(
    {
        "provisioningState",
        "powerState",
        "currentKubernetesVersion",
        "fqdn",
        "azurePortalFQDN",
        "privateFQDN",
        "maxAgentPools",
        "resourceUID",
        "agentPoolProfiles",
    }
)
#: Enum properties ARM accepts in any letter case, with their canonical spelling.
_ENUMS: dict[str, tuple[str, ...]] = {
    "osType": ("Linux", "Windows"),
    "osSKU": (
        "Ubuntu",
        "Ubuntu2204",
        "Ubuntu2404",
        "AzureLinux",
        "AzureLinux3",
        "CBLMariner",
        "Windows2019",
        "Windows2022",
        "Windows2025",
        "WindowsAnnual",
    ),
    "mode": ("System", "User", "Gateway"),
    "scaleSetPriority": ("Regular", "Spot"),
    "scaleSetEvictionPolicy": ("Delete", "Deallocate"),
    "scaleDownMode": ("Delete", "Deallocate"),
    "osDiskType": ("Managed", "Ephemeral"),
    "kubeletDiskType": ("OS", "Temporary"),
    "licenseType": ("None", "Windows_Server"),
    "outboundType": (
        "loadBalancer",
        "userDefinedRouting",
        "managedNATGateway",
        "userAssignedNATGateway",
        "none",
    ),
}
_ENUM_LOOKUP = {field: {v.lower(): v for v in values} for field, values in _ENUMS.items()}


def canonical_enums(body: Any) -> Any:
    """Spell enum values as the service does: ARM matches them case-insensitively (``"windows"`` is Windows)."""
    if isinstance(body, list):
        return [canonical_enums(item) for item in body]
    if not isinstance(body, dict):
        return body
    out: Json = {}
    for key, value in body.items():
        lookup = _ENUM_LOOKUP.get(key)
        if key in ("tags", "nodeLabels"):  # maps whose keys are data
            out[key] = value
        elif lookup is not None and isinstance(value, str):
            out[key] = lookup.get(value.lower(), value)
        else:
            out[key] = canonical_enums(value)
    return out


#: Pool properties only the service sets (read-only in the API).
_SERVICE_SET_POOL_FIELDS = frozenset({"provisioningState", "currentOrchestratorVersion", "eTag", "name"})
#: Properties with a service default above that a caller's value replaces.
_GIVEN_OVER_DEFAULT = (
    "enableNodePublicIP",
    "enableCustomCATrust",
    "enableEncryptionAtHost",
    "enableUltraSSD",
    "enableFIPS",
    "kubeletDiskType",
    "workloadRuntime",
    "scaleDownMode",
    "upgradeStrategy",
    "networkProfile",
    "securityProfile",
)
