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


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own state directory: rehearsal twins never leak between tests or into ``$HOME``."""
    monkeypatch.setenv("AKS_WINDOWS_OPS_STATE_DIR", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def scenario() -> Callable[..., tuple[FakeAzure, AzureClients, str, str]]:
    """Build (fake, clients, resource_group, cluster_name) for a built-in scenario."""

    def build(name: str, **kwargs: Any) -> tuple[FakeAzure, AzureClients, str, str]:
        fake = FakeAzure.from_scenario(name, **kwargs)
        sub, rg, cluster = SCENARIO_TARGETS[name]
        return fake, AzureClients.for_simulator(fake, sub), rg, cluster

    return build


#: ``AKS_WINDOWS_OPS_SLEEP_AUDIT=1`` makes every real ``time.sleep`` longer than 5 ms fail the test that made it
#: (the blob-store tests against Azurite and tests marked ``real_process``, which wait for a real
#: subprocess or a real client polling a served twin in wall time, are left alone): the check that simulated
#: paths wait on virtual time only.
_SLEEP_AUDIT = os.environ.get("AKS_WINDOWS_OPS_SLEEP_AUDIT") == "1"


@pytest.fixture(autouse=_SLEEP_AUDIT)
def _no_real_sleep(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    if "azurite" in request.fixturenames or request.node.get_closest_marker("real_process"):
        return
    real_sleep = time.sleep

    def audited(seconds: float) -> None:
        if seconds > 0.005:
            raise AssertionError(f"{request.node.nodeid} slept {seconds} s for real")
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", audited)
