"""Typed, immutable models of the library's public API.

SDK model classes never leak through the public API: the Azure adapter (``aks_windows_ops.azure``) maps them to
these frozen dataclasses. Enums are ``str`` enums with upper-case members (Azure SDK guidelines).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "WINDOWS_BUILDS",
    "ClusterRef",
    "ClusterSnapshot",
    "Finding",
    "NetworkPlugin",
    "OsSku",
    "OsType",
    "PoolMode",
    "PoolRef",
    "PoolSnapshot",
    "ResourceId",
    "Severity",
    "SubnetUsage",
    "VmssInstance",
    "VmssSnapshot",
]


class OsType(str, enum.Enum):
    """A pool's operating system type (``osType``)."""

    LINUX = "Linux"
    WINDOWS = "Windows"


class OsSku(str, enum.Enum):
    """OS SKUs (``osSKU``); the Windows ones are the FAQ's supported host versions (Service facts: FAQ rules)."""

    UBUNTU = "Ubuntu"
    AZURE_LINUX = "AzureLinux"
    CBL_MARINER = "CBLMariner"
    WINDOWS2019 = "Windows2019"
    WINDOWS2022 = "Windows2022"
    WINDOWS2025 = "Windows2025"
    WINDOWS_ANNUAL = "WindowsAnnual"

    @property
    def is_windows(self) -> bool:
        """Whether the SKU is a Windows Server version."""
        return self.value.startswith("Windows")


#: Windows host build per OS SKU (``node.kubernetes.io/windows-build``): process isolation only, so container
#: images must match the host build (FAQ "Which Windows operating systems are supported?").
WINDOWS_BUILDS: dict[OsSku, str] = {
    OsSku.WINDOWS2019: "10.0.17763",
    OsSku.WINDOWS2022: "10.0.20348",
    OsSku.WINDOWS2025: "10.0.26100",
    OsSku.WINDOWS_ANNUAL: "10.0.25398",
}


class PoolMode(str, enum.Enum):
    """Agent pool mode; Windows pools are ``User`` only (Service facts: FAQ rules)."""

    SYSTEM = "System"
    USER = "User"


class NetworkPlugin(str, enum.Enum):
    """Cluster network plugin; Windows pools need Azure CNI (FAQ "What network plug-ins are supported?")."""

    AZURE = "azure"
    KUBENET = "kubenet"
    NONE = "none"


class Severity(str, enum.Enum):
    """Severity of a preflight finding; ``ERROR`` means the service would reject the operation."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Order for sorting: error > warning > info."""
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True)
class ClusterRef:
    """Where a managed cluster lives."""

    subscription_id: str
    resource_group: str
    name: str

    def __str__(self) -> str:
        return f"{self.resource_group}/{self.name}"

    @property
    def path(self) -> str:
        """``subscription/resource group/name``: how plans, the CLI and the Functions name a cluster."""
        return f"{self.subscription_id}/{self.resource_group}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> ClusterRef | None:
        """Read ``subscription/resource group/name`` (surrounding slashes ignored); ``None`` for another shape.

        The one parser of the library's ``sub/rg/name`` cluster paths (plan targets, fleet and rollout lists).
        """
        parts = text.strip().strip("/").split("/") if isinstance(text, str) else []
        if len(parts) != 3 or not all(p.strip() for p in parts):
            return None
        return cls(parts[0], parts[1], parts[2])


@dataclass(frozen=True)
class ResourceId:
    """An Azure resource id, read once: ``/subscriptions/S/resourceGroups/G/providers/NS/type/name[/type/name]``.

    The Azure resource id format (learn.microsoft.com, "Resource name rules" and ``az resource show --ids``);
    names keep their case, comparisons of ids are case-insensitive as in Azure.

    Attributes:
        subscription_id: the subscription.
        resource_group: the resource group.
        namespace: the resource provider, e.g. ``Microsoft.Network``.
        types: the resource types from the top, e.g. ``("virtualNetworks", "subnets")``.
        names: their names, e.g. ``("vnet-a", "nodes")``.
    """

    subscription_id: str
    resource_group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str | None) -> ResourceId | None:
        """Read a resource id; ``None`` when ``text`` is not one (no exception: callers skip those)."""
        parts = str(text or "").strip().strip("/").split("/")
        if (
            len(parts) < 6
            or len(parts) % 2
            or parts[0].lower() != "subscriptions"
            or parts[2].lower() != "resourcegroups"
            or parts[4].lower() != "providers"
            or not all(parts)
        ):
            return None
        rest = parts[6:]
        return cls(parts[1], parts[3], parts[5], tuple(rest[0::2]), tuple(rest[1::2])) if rest else None

    @property
    def name(self) -> str:
        """The resource's own (last) name."""
        return self.names[-1]

    def is_type(self, namespace: str, *types: str) -> bool:
        """Whether the id names a resource of ``namespace`` and exactly these ``types`` (any case)."""
        return self.namespace.lower() == namespace.lower() and tuple(t.lower() for t in self.types) == tuple(
            t.lower() for t in types
        )

    def __str__(self) -> str:
        tail = "/".join(f"{t}/{n}" for t, n in zip(self.types, self.names, strict=True))
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
            f"{self.namespace}/{tail}"
        )


@dataclass(frozen=True)
class PoolRef:
    """Where an agent pool lives."""

    cluster: ClusterRef
    name: str

    def __str__(self) -> str:
        return f"{self.cluster}/{self.name}"


@dataclass(frozen=True)
class Finding:
    """One preflight result: a stable code, what is wrong, and what fixes it.

    Attributes:
        code: stable identifier, e.g. ``WINDOWS_POOL_NAME_TOO_LONG``.
        severity: error (the service would refuse), warning, or info.
        message: one sentence about this cluster.
        remediation: what to do, naming the runbook that does it where one exists.
        faq: the FAQ section (question) or service-facts group the rule comes from.
        resource: the pool, service or pod the finding is about.
        runbook: the library runbook that fixes it, if any.
    """

    code: str
    severity: Severity
    message: str
    remediation: str = ""
    faq: str = ""
    resource: str = ""
    runbook: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "remediation": self.remediation,
            "faq": self.faq,
            "resource": self.resource,
            "runbook": self.runbook,
        }


@dataclass(frozen=True)
class VmssInstance:
    """One scale set instance as the node resource group shows it (Service facts: FAQ rules, AHUB)."""

    instance_id: str
    name: str
    license_type: str | None
    latest_model_applied: bool | None
    provisioning_state: str | None = None


@dataclass(frozen=True)
class VmssSnapshot:
    """A pool's scale set in the node resource group, found by the ``aks-managed-poolName`` tag."""

    name: str
    resource_group: str
    pool_name: str | None
    license_type: str | None
    capacity: int
    instances: tuple[VmssInstance, ...] = ()


@dataclass(frozen=True)
class SubnetUsage:
    """A subnet's address usage from the network usage API (Service facts: Azure CNI capacity)."""

    subnet_id: str
    address_prefix: str | None
    used: int
    limit: int

    @property
    def available(self) -> int:
        """Free addresses (Azure's 5 reserved ones are already out of ``limit``)."""
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class PoolSnapshot:
    """An agent pool as read from ARM, with its upgrade profile when it was read.

    ``provisioning_state`` stays a plain ``str``: the service adds states freely (Service facts: ARM behaviour).
    """

    name: str
    os_type: OsType
    os_sku: str | None
    mode: PoolMode
    count: int
    vm_size: str
    orchestrator_version: str | None
    current_orchestrator_version: str | None
    node_image_version: str | None
    provisioning_state: str | None
    max_pods: int | None
    vnet_subnet_id: str | None = None
    pod_subnet_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    enable_auto_scaling: bool = False
    min_count: int | None = None
    max_count: int | None = None
    max_surge: str | None = None
    latest_node_image_version: str | None = None
    upgrade_versions: tuple[str, ...] = ()
    power_state: str | None = None

    @property
    def is_windows(self) -> bool:
        """Whether the pool runs Windows Server."""
        return self.os_type is OsType.WINDOWS

    @property
    def os_sku_enum(self) -> OsSku | None:
        """The OS SKU as an :class:`OsSku`, or ``None`` when unset or unknown."""
        try:
            return OsSku(self.os_sku) if self.os_sku else None
        except ValueError:
            return None


@dataclass(frozen=True)
class ClusterSnapshot:
    """Everything the rules need to know about one cluster, read in the fewest requests.

    Attributes:
        ref: where the cluster lives.
        location: Azure region.
        kubernetes_version: the requested control plane version.
        current_kubernetes_version: the running control plane version.
        provisioning_state: as ARM reports it (a plain ``str``).
        network_plugin: ``azure``, ``kubenet`` or ``none``.
        network_plugin_mode: ``overlay`` or ``None`` (node subnet).
        identity_type: ``SystemAssigned``, ``UserAssigned`` or ``None`` (service principal).
        uses_service_principal: the cluster still authenticates with a service principal.
        windows_admin_username: ``windowsProfile.adminUsername``, or ``None`` without a Windows profile.
        license_type: ``windowsProfile.licenseType`` (``Windows_Server`` means AHUB on).
        gmsa_enabled: ``windowsProfile.gmsaProfile.enabled``.
        node_resource_group: where the scale sets live (never rebuilt from the cluster name).
        max_agent_pools: the cluster's pool limit (100).
        auto_upgrade_channel: ``none``, ``patch``, ``stable`` ... or ``None``.
        pools: the agent pools.
        control_plane_upgrades: versions the control plane may upgrade to.
        scale_sets: the Windows pools' scale sets (read when asked).
        subnets: usage of the subnets the pools use (read when asked).
        created_before_2020: ``systemData.createdAt`` is before February 2020 (the old Windows image is decided
            from this and the control plane version: ``rules.lifecycle.still_on_old_windows_image``).
        support_plan: ``KubernetesOfficial`` or ``AKSLongTermSupport`` (``None`` when not read).
        etag: the cluster's ``eTag`` for optimistic concurrency.
    """

    ref: ClusterRef
    location: str
    kubernetes_version: str
    current_kubernetes_version: str
    provisioning_state: str | None
    network_plugin: str | None
    network_plugin_mode: str | None
    identity_type: str | None
    uses_service_principal: bool
    windows_admin_username: str | None
    license_type: str | None
    gmsa_enabled: bool
    node_resource_group: str | None
    max_agent_pools: int
    auto_upgrade_channel: str | None
    pools: tuple[PoolSnapshot, ...]
    control_plane_upgrades: tuple[str, ...] = ()
    scale_sets: tuple[VmssSnapshot, ...] = ()
    subnets: tuple[SubnetUsage, ...] = ()
    created_before_2020: bool = False
    etag: str | None = None
    support_plan: str | None = None

    @property
    def windows_pools(self) -> tuple[PoolSnapshot, ...]:
        """The Windows pools, in ARM order."""
        return tuple(p for p in self.pools if p.is_windows)

    @property
    def has_windows_profile(self) -> bool:
        """Whether the cluster has a ``windowsProfile`` (needed for password and AHUB updates)."""
        return self.windows_admin_username is not None

    def pool(self, name: str) -> PoolSnapshot:
        """Return the pool called ``name``.

        Raises:
            KeyError: no such pool.
        """
        for p in self.pools:
            if p.name == name:
                return p
        raise KeyError(name)

    def scale_set_for(self, pool_name: str) -> VmssSnapshot | None:
        """Return the scale set tagged ``aks-managed-poolName=<pool_name>``, if it was read."""
        for s in self.scale_sets:
            if s.pool_name == pool_name:
                return s
        return None

    def subnet(self, subnet_id: str | None) -> SubnetUsage | None:
        """Return the usage of the subnet with this id (case-insensitive, as ARM ids are)."""
        if not subnet_id:
            return None
        for s in self.subnets:
            if s.subnet_id.lower() == subnet_id.lower():
                return s
        return None
