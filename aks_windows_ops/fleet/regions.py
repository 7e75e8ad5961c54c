"""Facts of a region, read once per region for the whole fleet instead of once per cluster.

The Kubernetes versions a region offers (``managed_clusters.list_kubernetes_versions(location)``: each minor
with its patch versions and, for each patch, the versions it may upgrade to) answer what a cluster's upgrade
profile says about its control plane: the upgrades offered to a cluster on version X are the region's upgrades
of X (AKS "Supported Kubernetes versions": patch upgrades within the minor and the next minor). A cluster on a
version the region no longer lists (out of support) is answered by its own upgrade profile instead.

Not per region: the newest node image of a pool. The installed ``azure-mgmt-containerservice`` has no per-region
node image listing, and a Windows pool's newest image depends on its cluster (FAQ "How do I patch my Windows
nodes?": the updated Windows Server image is used only after a control plane upgrade), so each pool's upgrade
profile is still read per cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.azure.clients import AzureClients

__all__ = ["RegionVersions", "upgrades_by_version"]


def upgrades_by_version(listing: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Map each patch version of a ``list_kubernetes_versions`` answer (wire JSON) to the versions it may upgrade to."""
    out: dict[str, tuple[str, ...]] = {}
    for minor in listing.get("values") or []:
        for patch, info in (minor.get("patchVersions") or {}).items():
            out[str(patch)] = tuple(str(u) for u in ((info or {}).get("upgrades") or []))
    return out


class _Entry:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.upgrades: dict[str, tuple[str, ...]] | None = None


class RegionVersions:
    """The Kubernetes versions of each region, read on first use and shared by every cluster of the region.

    Thread safe: the first cluster of a region reads it (through its own, rate-limited clients), the others of
    that region wait for that one read. A failed read is not repeated: those clusters read their own upgrade
    profiles, as the ARM path does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._regions: dict[str, _Entry] = {}
        #: Regions read (one request each).
        self.requests = 0

    def control_plane_upgrades(
        self, clients: AzureClients, location: str, version: str
    ) -> tuple[str, ...] | None:
        """The upgrades the region offers a control plane on ``version``, or ``None`` when it cannot say.

        Implements AKS's version support policy as the service publishes it per region (module docstring).
        """
        key = location.lower().replace(" ", "")
        if not key or not version:
            return None
        with self._lock:
            entry = self._regions.get(key)
            owner = entry is None
            if entry is None:
                entry = self._regions[key] = _Entry()
        if owner:
            try:
                entry.upgrades = self._read(clients, location)
            except Exception:  # the clusters of the region read their own upgrade profiles
                entry.upgrades = None
            finally:
                entry.done.set()
        else:
            entry.done.wait()
        if entry.upgrades is None:
            return None
        return entry.upgrades.get(version)

    def _read(self, clients: AzureClients, location: str) -> dict[str, tuple[str, ...]]:
        from aks_windows_ops.azure.errors import translating
        from aks_windows_ops.azure.raw import get_json

        with self._lock:
            self.requests += 1
        with translating(f"listing Kubernetes versions in {location}"):
            listing = get_json(clients.containerservice.managed_clusters.list_kubernetes_versions, location)
        return upgrades_by_version(listing)
