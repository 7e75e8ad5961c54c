from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import pytest

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.testing.fake_azure import FakeAzure

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")
# Keys, leases and twins go to a private directory of the test run, never to the user's state directory.
os.environ.setdefault("AKS_WINDOWS_OPS_STATE_DIR", tempfile.mkdtemp(prefix="aks-windows-ops-state-"))

SCENARIO_TARGETS: dict[str, tuple[str, str, str]] = {
    "healthy": ("00000000-0000-0000-0000-000000000001", "rg-prod", "aks-prod"),
    "ws2019-retiring": ("00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps"),
    "legacy-2019": ("00000000-0000-0000-0000-000000000003", "rg-erp", "aks-erp"),
    "subnet-full": ("00000000-0000-0000-0000-000000000004", "rg-retail", "aks-retail"),
}


@pytest.fixture
def scenario() -> Callable[..., tuple[FakeAzure, AzureClients, str, str]]:
    """Build (fake, clients, resource_group, cluster_name) for a built-in scenario."""

    def build(name: str, **kwargs: Any) -> tuple[FakeAzure, AzureClients, str, str]:
        fake = FakeAzure.from_scenario(name, **kwargs)
        sub, rg, cluster = SCENARIO_TARGETS[name]
        return fake, AzureClients.for_simulator(fake, sub), rg, cluster

    return build
