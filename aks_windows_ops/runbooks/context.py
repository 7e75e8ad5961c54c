"""What a procedure's steps run with: one typed context per cluster (design principle "resumable by construction").

A :class:`ClusterContext` carries everything the step actions of any procedure may use: the Azure client
bundle (and through it the one :class:`~aks_windows_ops.clock.Clock` every wait uses: the system's, or the
simulator's virtual clock), the cluster's name, a Kubernetes client for procedures that move pods, the
secrets a write sends (never written to a checkpoint), and the Kubernetes poll interval. A planner returns one
with its plan; :func:`aks_windows_ops.runbooks.procedures.resume` builds one in a new process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.clock import Clock
from aks_windows_ops.errors import AksWindowsOpsError
from aks_windows_ops.secrets import Secret

__all__ = ["KUBE_POLL_SECONDS", "ClusterContext"]

#: Seconds between Kubernetes polls while draining and while waiting for replacements (on the run's clock).
KUBE_POLL_SECONDS = 5.0


@dataclass
class ClusterContext:
    """What the step actions of every procedure use while they run on one cluster.

    Attributes:
        clients: the client bundle; its ``run_clock`` is the run's one clock.
        resource_group: the cluster's resource group.
        name: the cluster's name.
        cluster_wire: the cluster as read when the plan was made (used once, then re-read).
        secrets: secrets by name (the new admin password), never written to a checkpoint.
        abort_conflicting: abort a conflicting operation instead of waiting for it.
        results: final resources of finished operations, by step id (verify reads them, saving a GET).
        kube: a Kubernetes ``ApiClient`` for procedures that move pods (see ``Procedure.needs_kube``).
        kube_poll_seconds: seconds between Kubernetes polls while draining and while waiting for
            replacement pods (on the run's clock).
    """

    clients: AzureClients
    resource_group: str
    name: str
    cluster_wire: dict[str, Any] | None = None
    secrets: dict[str, Secret] = field(default_factory=dict)
    abort_conflicting: bool = False
    results: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    kube: Any = None
    kube_poll_seconds: float = KUBE_POLL_SECONDS

    def __post_init__(self) -> None:
        self.pool_cache: dict[str, dict[str, Any]] = {}
        if self.cluster_wire is not None:
            self.remember(self.cluster_wire)

    @property
    def clock(self) -> Clock:
        """The run's one clock (the clients'): the system's, or the simulator's virtual clock."""
        return self.clients.run_clock

    @property
    def run_target(self) -> str:
        """``subscription/resource_group/name``: what a plan applied with this context must target."""
        return f"{self.clients.subscription_id}/{self.resource_group}/{self.name}"

    @property
    def run_mode(self) -> str:
        """``azure`` or ``twin[:name]``: where this context's writes go (``AzureClients.mode``)."""
        return self.clients.mode

    def remember(self, wire: Mapping[str, Any] | None) -> None:
        """Keep the pools of a cluster reading, so the next step need not GET them again."""
        props = dict((wire or {}).get("properties") or {})
        for p in props.get("agentPoolProfiles") or []:
            self.pool_cache[str(p.get("name"))] = dict(p)

    def cluster(self, *, fresh_ok: bool = True) -> dict[str, Any]:
        """The cluster's wire JSON: the plan's reading once, a new GET afterwards."""
        if fresh_ok and self.cluster_wire is not None:
            return self.cluster_wire
        wire = az.get_cluster(self.clients, self.resource_group, self.name)
        self.remember(wire)
        return wire

    def pool(self, pool: str) -> dict[str, Any] | None:
        """A pool's properties: from the last reading that no write has made stale, else a GET of the pool."""
        if pool in self.pool_cache:
            return self.pool_cache[pool]
        try:
            wire = az.get_pool(self.clients, self.resource_group, self.name, pool)
        except AksWindowsOpsError as err:
            if type(err).__name__ == "NotFound":
                return None
            raise
        props = dict(wire.get("properties") or {})
        props["name"] = pool
        self.pool_cache[pool] = props
        return props

    def forget(self, pool: str | None = None) -> None:
        """Drop readings a write is about to make stale (one pool, or the whole cluster)."""
        self.cluster_wire = None
        if pool is None:
            self.pool_cache.clear()
        else:
            self.pool_cache.pop(pool, None)
