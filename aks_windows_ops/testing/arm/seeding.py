"""The seeding and inspection API scenarios and tests use: running clusters, and their state as a GET shows it."""

from __future__ import annotations

import copy
from typing import Any

from aks_windows_ops.testing.arm.clusters import Clusters
from aks_windows_ops.testing.arm.state import Json


class Seeding(Clusters):
    """Seeds state directly (no operation) and reads it back for assertions."""

    def add_cluster(self, subscription: str, resource_group: str, name: str, **spec: Any) -> None:
        """Seed a running cluster (see ``aks_windows_ops.testing.scenario`` for the fields)."""
        from aks_windows_ops.testing.scenario import seed_cluster

        with self._lock:
            seed_cluster(self, subscription, resource_group, name, spec)

    def cluster_state(self, subscription: str, resource_group: str, name: str) -> Json:
        """Return the cluster's wire JSON as a GET would (for assertions)."""
        with self._lock:
            return self._cluster_view(self._get_cluster(subscription, resource_group, name))

    def pool_state(self, subscription: str, resource_group: str, name: str, pool: str) -> Json:
        """Return a pool's wire properties (for assertions)."""
        with self._lock:
            cluster = self._get_cluster(subscription, resource_group, name)
            return copy.deepcopy(cluster.pools[self._pool_name(cluster, pool)])
