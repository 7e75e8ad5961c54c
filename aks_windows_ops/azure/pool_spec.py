"""Read an agent pool's settable properties: everything a PUT may carry, as the SDK's model defines it.

A replacement pool must be a faithful copy of the old one (FAQ: service principal rotation, the old-image
error and leaving Windows Server 2019 all replace a pool). Rather than listing fields, the pool is read with
the Azure SDK and serialised without the fields its model marks read-only (``as_dict(exclude_readonly=True)``
of ``azure-mgmt-containerservice``): properties the service adds in a newer API version, which the model does
not know, are kept as they came, so they are carried over too.
"""

from __future__ import annotations

from typing import Any

from aks_windows_ops.azure.errors import translating

__all__ = ["get_pool_settable"]


def get_pool_settable(clients: Any, rg: str, name: str, pool: str) -> dict[str, Any]:
    """GET an agent pool and return its settable ``properties`` (read-only fields removed, others kept).

    Args:
        clients: the client bundle.
        rg: the cluster's resource group.
        name: the cluster's name.
        pool: the pool's name.
    """
    with translating(f"reading pool {rg}/{name}/{pool}"):
        model = clients.containerservice.agent_pools.get(rg, name, pool)
    data: dict[str, Any] = model.as_dict(exclude_readonly=True)
    props = data.get("properties")
    return dict(props) if isinstance(props, dict) else {}
