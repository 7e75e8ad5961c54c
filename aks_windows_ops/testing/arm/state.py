"""The simulator's state: clusters, operations, the node resource groups' resources, and the shared base class.

Every other module of the ARM simulator adds one job to :class:`ArmState` (see the package docstring).
"""

from __future__ import annotations

import datetime as _dt
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aks_windows_ops.testing import catalog
from aks_windows_ops.testing._http import Fault, JournalEntry, VirtualClock
from aks_windows_ops.testing.fake_registry import FakeRegistry

if TYPE_CHECKING:
    from aks_windows_ops.testing.resource_graph import ResourceGraph

#: The public ARM endpoint the SDK clients address.
ARM = "https://management.azure.com"
#: A JSON object as the wire carries it.
Json = dict[str, Any]
#: ``(subscription, resource group lower-cased, name lower-cased)``: how ARM names are compared.
Key = tuple[str, str, str]

#: Virtual durations in seconds (the recordings' and the AKS docs' figures).
DEFAULT_DURATIONS: dict[str, float] = {
    "create_cluster": 480.0,
    "delete_cluster": 600.0,
    "create_pool": 390.0,  # 5-8 min
    "delete_pool": 180.0,  # 1 minute recorded for an empty pool; draining nodes takes longer
    "scale_pool": 180.0,
    "update_pool": 120.0,
    "update_cluster": 120.0,
    "gmsa_enable": 780.0,  # recorded: Upgrading for about 13 minutes
    "windows_profile_base": 720.0,  # password / AHUB: 12-14 min for one node
    "windows_profile_per_node": 120.0,
    "control_plane_upgrade": 900.0,  # ~15 min
    "pool_upgrade_per_node": 300.0,
    "node_image_linux_per_node": 180.0,
    "node_image_windows_per_node": 300.0,  # ~5 min per node plus the image pull
    "windows_image_pull": 900.0,
    "vm_update": 60.0,
    "abort": 30.0,
}


class KubeTwin(Protocol):
    """What the ARM simulator needs from the Kubernetes simulator whose nodes follow its pools."""

    control_plane_version: str | None

    def use_registry(self, registry: FakeRegistry) -> None:
        """Take image builds from the simulated registries."""

    def kubeconfig(self, cluster_name: str = ..., *, aad: bool = ...) -> dict[str, Any]:
        """A kubeconfig for the cluster."""

    def sync_pool(
        self,
        name: str,
        *,
        os_type: str = ...,
        os_sku: str | None = ...,
        count: int,
        labels: Mapping[str, str] | None = ...,
        taints: Sequence[str] | None = ...,
        kubernetes_version: str = ...,
        max_pods: int = ...,
        mode: str = ...,
    ) -> list[str]:
        """Make the pool's nodes match the pool."""

    def delete_pool(self, name: str) -> list[str]:
        """Remove the pool's nodes."""


class ThrottleModel(Protocol):
    """A request-limit model (``testing.throttle.ArmThrottle``): seconds to wait, or ``None`` to admit."""

    def check(self, fake: Any, method: str, path: str, kind: str) -> float | None:
        """Admit a request or answer how long the caller must wait."""


class ArmError(Exception):
    """An ARM error answer: status, error code, message and extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def iso(base: _dt.datetime, seconds: float) -> str:
    """ARM's timestamp format for ``base`` plus ``seconds`` of virtual time."""
    return (base + _dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@dataclass
class Operation:
    """One asynchronous operation, polled through ``Azure-AsyncOperation``/``Location``."""

    id: str
    subscription: str
    location: str
    provider: str
    cluster_key: Key | None
    pool: str | None
    kind: str
    start: float
    duration: float
    on_success: Callable[[], None] | None = None
    on_failure: Callable[[], None] | None = None
    status: str = "InProgress"
    error: dict[str, str] | None = None
    fail_with: tuple[str, str] | None = None
    stuck: bool = False
    end: float | None = None
    progress_total: int = 0

    def status_body(self, now: float, base: _dt.datetime) -> Json:
        """The operation-status document at virtual time ``now``."""
        body: Json = {
            "name": self.id,
            "status": self.status,
            "startTime": iso(base, self.start),
        }
        if self.status == "InProgress" and self.progress_total and now > self.start + self.duration / 2:
            # The service reports free-text progress on long pool operations (2025 recordings).
            done = min(
                self.progress_total - 1, int((now - self.start) / max(self.duration, 1) * self.progress_total)
            )
            body["status"] = f"CreatingAgentPool: {done}/{self.progress_total} nodes completed"
        if self.end is not None:
            body["endTime"] = iso(base, self.end)
        if self.error:
            body["error"] = self.error
        return body


@dataclass
class Cluster:
    """A managed cluster: its wire body (without pools), its pools' wire properties and etags."""

    subscription: str
    resource_group: str
    name: str
    body: Json
    pools: dict[str, Json] = field(default_factory=dict)
    legacy_windows_image: bool = False
    windows_image_cutoff: _dt.date | None = None
    etag: str = ""
    admin_password_set: bool = False
    pool_etags: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        """The cluster's ARM key."""
        return (self.subscription, self.resource_group.lower(), self.name.lower())

    @property
    def props(self) -> Json:
        """The cluster's ``properties``."""
        props: Json = self.body["properties"]
        return props

    @property
    def location(self) -> str:
        """The cluster's region."""
        return str(self.body["location"])

    @property
    def id(self) -> str:
        """The cluster's resource id, spelled as the service does."""
        return (
            f"/subscriptions/{self.subscription}/resourcegroups/{self.resource_group}/providers/"
            f"Microsoft.ContainerService/managedClusters/{self.name}"
        )

    def pool_id(self, pool: str) -> str:
        """A pool's resource id."""
        return f"{self.id}/agentPools/{pool}"


class ArmState:
    """The in-memory ARM state every part of the simulator works on.

    Args:
        clock: the virtual clock (a new one by default).
        latency: real seconds to block on every request (benchmarks only).
        kube: an optional ``FakeKubernetes`` whose nodes follow the emulated pools.
        today: the simulated calendar date at virtual time zero.
        durations: overrides of :data:`DEFAULT_DURATIONS`.
        real_sleep: make ``sleep`` also sleep for real (benchmarks with real pacing).
    """

    def __init__(
        self,
        *,
        clock: VirtualClock | None = None,
        latency: float = 0.0,
        kube: Any = None,
        today: _dt.date = _dt.date(2026, 11, 26),
        durations: dict[str, float] | None = None,
        real_sleep: bool = False,
    ) -> None:
        self.latency = latency
        self.kube: KubeTwin | None = kube
        #: The container registries the simulated cluster pulls from (image builds; see ``fake_registry``).
        self.registry = FakeRegistry()
        if kube is not None:
            kube.use_registry(self.registry)
        self.today0 = today
        self.base_time = _dt.datetime(today.year, today.month, today.day, 8, 0, 0)
        self.clock = clock or VirtualClock(epoch=self.base_time)
        if kube is not None and hasattr(kube, "use_clock"):
            kube.use_clock(self.clock)  # one timeline: Kubernetes controllers advance with Azure operations
        self.durations = {**DEFAULT_DURATIONS, **(durations or {})}
        self.real_sleep = real_sleep
        self.faults: list[Fault] = []
        self.journal: list[JournalEntry] = []
        self.resource_groups: dict[tuple[str, str], str] = {}
        self.clusters: dict[Key, Cluster] = {}
        self.vmss: dict[Key, Json] = {}
        self.vms: dict[Key, dict[str, Json]] = {}
        self.vnets: dict[Key, Json] = {}
        self.subnet_base_usage: dict[str, int] = {}
        self.operations: dict[str, Operation] = {}
        #: A request-limit model (``testing.throttle.ArmThrottle``), or ``None`` for no limits.
        self.throttle: ThrottleModel | None = None
        #: Azure Resource Graph's quota and paging (``testing.resource_graph.ResourceGraph``; a default one on use).
        self.resource_graph: ResourceGraph | None = None
        #: Kubernetes versions the simulated region offers (the catalog's by default).
        self.kubernetes_versions: list[str] = list(catalog.KUBERNETES_VERSIONS)
        #: Regional vCPU quota left by VM size (a size not listed has enough): decides the default ``vmSize``.
        self.vcpu_quota: dict[str, int] = {}
        #: The version a cluster gets when a create leaves ``kubernetesVersion`` empty.
        self.default_kubernetes_version: str | None = None
        self._lock = threading.RLock()
        self._seq = 0

    def add_resource_group(self, subscription: str, name: str, location: str = "westeurope") -> None:
        """Create a resource group."""
        with self._lock:
            self.resource_groups[(subscription, name.lower())] = location

    def now_date(self) -> _dt.date:
        """The simulated calendar date now."""
        return (self.base_time + _dt.timedelta(seconds=self.clock.monotonic())).date()

    def _now_iso(self) -> str:
        return iso(self.base_time, self.clock.monotonic())

    def _touch(self, cluster: Cluster, pool: str | None = None) -> None:
        """A write changed the cluster (or one pool of it): new etags and ``systemData.lastModifiedAt``.

        The cluster's eTag changes with any change (its body holds the pools); a pool's only when that pool
        changes, or when the change was cluster-wide (``pool`` is ``None``).
        """
        cluster.etag = str(uuid.uuid4())
        if pool is None:
            cluster.pool_etags.clear()
        else:
            cluster.pool_etags.pop(pool, None)
        cluster.body.setdefault("systemData", {})["lastModifiedAt"] = self._now_iso()

    def _clusters_in(self, sub: str, rg: str | None = None) -> list[Cluster]:
        return [
            c
            for c in self.clusters.values()
            if c.subscription == sub and (rg is None or c.resource_group.lower() == rg.lower())
        ]

    def _get_cluster(self, sub: str, rg: str, name: str) -> Cluster:
        cluster = self.clusters.get((sub, rg.lower(), name.lower()))
        if cluster is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.ContainerService/managedClusters/{name}' under resource group '{rg}' "
                "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            )
        return cluster

    def _pool_name(self, cluster: Cluster, name: str) -> str:
        for existing in cluster.pools:
            if existing.lower() == name.lower():
                return existing
        raise ArmError(
            404,
            "NotFound",
            f"Agent pool '{name}' was not found in managed cluster '{cluster.name}'.",
        )

    def _node_rg(self, cluster: Cluster) -> str:
        return str(cluster.props.get("nodeResourceGroup"))
