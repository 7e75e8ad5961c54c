"""Builders for the rules tests: a healthy cluster that each case changes in one place."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from aks_windows_ops.models import ClusterRef, ClusterSnapshot, OsType, PoolMode, PoolSnapshot

SUBNET = "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/nodes"


def make_pool(name: str = "sys", **changes: Any) -> PoolSnapshot:
    base = PoolSnapshot(
        name=name,
        os_type=OsType.LINUX,
        os_sku="Ubuntu",
        mode=PoolMode.SYSTEM,
        count=3,
        vm_size="Standard_D4s_v5",
        orchestrator_version="1.31.2",
        current_orchestrator_version="1.31.2",
        node_image_version="AKSUbuntu-2204gen2containerd-202501.01.0",
        provisioning_state="Succeeded",
        max_pods=30,
    )
    return dataclasses.replace(base, **changes)


def make_windows_pool(name: str = "win1", **changes: Any) -> PoolSnapshot:
    defaults: dict[str, Any] = {
        "os_type": OsType.WINDOWS,
        "os_sku": "Windows2022",
        "mode": PoolMode.USER,
        "count": 2,
        "node_image_version": "AKSWindows-2022-containerd-20348.2966.250110",
        "latest_node_image_version": "AKSWindows-2022-containerd-20348.2966.250110",
    }
    defaults.update(changes)
    return make_pool(name, **defaults)


def make_cluster(**changes: Any) -> ClusterSnapshot:
    """A cluster that preflight finds clean apart from the gMSA info."""
    base = ClusterSnapshot(
        ref=ClusterRef("00000000-0000-0000-0000-000000000000", "rg", "aks1"),
        location="westeurope",
        kubernetes_version="1.31.2",
        current_kubernetes_version="1.31.2",
        provisioning_state="Succeeded",
        network_plugin="azure",
        network_plugin_mode="overlay",
        identity_type="SystemAssigned",
        uses_service_principal=False,
        windows_admin_username="azureuser",
        license_type="None",
        gmsa_enabled=False,
        node_resource_group="MC_rg_aks1_westeurope",
        max_agent_pools=100,
        auto_upgrade_channel="none",
        pools=(make_pool(), make_windows_pool()),
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def cluster() -> Callable[..., ClusterSnapshot]:
    return make_cluster


@pytest.fixture
def pool() -> Callable[..., PoolSnapshot]:
    return make_pool


@pytest.fixture
def windows_pool() -> Callable[..., PoolSnapshot]:
    return make_windows_pool
