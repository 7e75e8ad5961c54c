"""Adding a Windows pool: every FAQ check before the PUT, then Succeeded and Ready nodes."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from aks_windows_ops import errors as E
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.cli import app
from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
from aks_windows_ops.runbooks.pools import apply_add_pool, plan_add_windows_pool
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.fake_kube import FakeKubernetes

TARGETS = {
    "healthy": ("00000000-0000-0000-0000-000000000001", "rg-prod", "aks-prod"),
    "subnet-full": ("00000000-0000-0000-0000-000000000004", "rg-retail", "aks-retail"),
    "legacy-2019": ("00000000-0000-0000-0000-000000000003", "rg-erp", "aks-erp"),
}


def _setup(name: str, kube: Any = None) -> tuple[FakeAzure, AzureClients, str, str]:
    fake = FakeAzure.from_scenario(name, kube=kube)
    sub, rg, cluster = TARGETS[name]
    return fake, AzureClients.for_simulator(fake, sub, polling_interval=60), rg, cluster


def test_add_windows_pool_end_to_end_with_ready_nodes() -> None:
    kube = FakeKubernetes(ready_delay=0.0).start()
    try:
        fake, clients, rg, name = _setup("healthy", kube)
        plan, ctx = plan_add_windows_pool(
            clients, rg, name, "win3", count=2, max_pods=60, taints=["os=windows:NoSchedule"], pods_wanted=100
        )
        assert fake.writes() == []
        assert plan.steps[0].params["properties"]["osSKU"] == "Windows2022"  # the 1.33 default
        ctx.kube = kube.api_client()
        ctx.extras["kube_poll"] = 0.02
        result = apply_add_pool(plan, ctx, checkpoints=MemoryCheckpointStore())
        assert result.ok, result.message
        assert "2 nodes Ready" in result.records[0].message
        nodes = kube.nodes(pool="win3")
        assert len(nodes) == 2
        assert nodes[0]["metadata"]["labels"]["kubernetes.azure.com/os-sku"] == "Windows2022"
        # az aks nodepool add: list, PUT, final GET (3); we read the cluster and the subnet usage instead of the list
        assert len([e for e in fake.journal if e.kind != "poll"]) <= 3 + 1
    finally:
        kube.stop()


@pytest.mark.parametrize(
    ("scenario", "kwargs", "needle"),
    [
        ("healthy", {"pool": "windows"}, "6"),  # 7 characters
        (
            "healthy",
            {"pool": "win3", "count": 2, "max_pods": 20, "pods_wanted": 60},
            "No available addresses",
        ),
        ("subnet-full", {"pool": "pos2", "count": 3, "max_pods": 30}, "exceeds IPs available 76"),
        ("healthy", {"pool": "win3", "os_sku": "Windows2019"}, "Windows2019"),
        ("healthy", {"pool": "win22"}, "already"),
        ("legacy-2019", {"pool": "erp2"}, "February-2020"),
    ],
)
def test_bad_pools_are_refused_before_any_write(scenario: str, kwargs: dict[str, Any], needle: str) -> None:
    fake, clients, rg, name = _setup(scenario)
    kwargs = dict(kwargs)  # the parameters are shared by every run of the test: never change them
    pool = kwargs.pop("pool")
    with pytest.raises(E.InvalidInput) as info:
        plan_add_windows_pool(clients, rg, name, pool, **kwargs)
    assert needle.lower() in str(info.value).lower(), str(info.value)
    assert fake.writes() == []


def test_old_image_refusal_points_to_the_control_plane_upgrade() -> None:
    fake, clients, rg, name = _setup("legacy-2019")
    with pytest.raises(E.InvalidInput) as info:
        plan_add_windows_pool(clients, rg, name, "erp2")
    assert "control plane" in info.value.remediation


def test_cli_pool_add_plan_and_refusal() -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["pool", "add", "--simulate", "healthy", "-n", "win3", "--node-count", "2"])
    assert ok.exit_code == 0, ok.output
    assert "Create Windows2022 pool win3 (2 x" in ok.stdout
    assert "deprecated" not in ok.stderr
    # The old spelling (-p POOL, -c COUNT) still works, with a warning.
    old = runner.invoke(app, ["pool", "add", "--simulate", "healthy", "-p", "win3", "-c", "2"])
    assert old.exit_code == 0, old.output
    assert "Create Windows2022 pool win3 (2 x" in old.stdout
    assert "deprecated" in old.stderr
    bad = runner.invoke(app, ["pool", "add", "--simulate", "healthy", "-n", "windows7"])
    assert bad.exit_code == 4
    assert bad.stdout == ""
    assert "ERROR: --name must be a pool name" in bad.stderr
