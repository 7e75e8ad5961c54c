"""Faithful replacement pools: every settable property carries over except what the procedure changes."""

from __future__ import annotations

import math
from typing import Any

import migrate_support as ms
import pytest
from azure.mgmt.containerservice import models

from aks_windows_ops import errors as E
from aks_windows_ops.azure.pool_spec import get_pool_settable
from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
from aks_windows_ops.runbooks.migrate import apply_migration, plan_migration
from aks_windows_ops.runbooks.runner import RunStatus

SUBNET = f"/subscriptions/{ms.SUB}/resourceGroups/{ms.RG}/providers/Microsoft.Network/virtualNetworks/vnet-apps/subnets/aks"

#: A Windows pool with every settable property we know of set, plus one the SDK does not know yet.
RICH: dict[str, Any] = {
    "osType": "Windows",
    "osSKU": "Windows2019",
    "mode": "User",
    "count": 2,
    "vmSize": "Standard_D8ds_v5",
    "type": "VirtualMachineScaleSets",
    "maxPods": 40,
    "tags": {"team": "shop", "cost-center": "42"},
    "nodeLabels": {"tier": "legacy", "gpu": "true"},
    "nodeTaints": ["dedicated=rich:NoSchedule"],
    "availabilityZones": ["1", "2", "3"],
    "vnetSubnetID": SUBNET,
    "osDiskType": "Ephemeral",
    "osDiskSizeGB": 100,
    "kubeletDiskType": "Temporary",
    "scaleSetPriority": "Spot",
    "scaleSetEvictionPolicy": "Delete",
    "spotMaxPrice": 0.45,
    "enableNodePublicIP": True,
    "nodePublicIPPrefixID": f"/subscriptions/{ms.SUB}/resourceGroups/{ms.RG}/providers/Microsoft.Network/publicIPPrefixes/nodes",
    "gpuProfile": {"driver": "None"},
    "windowsProfile": {"disableOutboundNat": True},
    "upgradeSettings": {"maxSurge": "33%", "drainTimeoutInMinutes": 45, "nodeSoakDurationInMinutes": 5},
    "enableAutoScaling": True,
    "minCount": 2,
    "maxCount": 6,
    "scaleDownMode": "Deallocate",
    "kubeletConfig": {"imageGcHighThreshold": 85, "imageGcLowThreshold": 70, "containerLogMaxSizeMB": 20},
    "enableEncryptionAtHost": True,
    "enableFIPS": True,
    "networkProfile": {"allowedHostPorts": [{"portStart": 8000, "portEnd": 8010, "protocol": "TCP"}]},
    "securityProfile": {"enableVTPM": True, "enableSecureBoot": True},
    "proximityPlacementGroupID": f"/subscriptions/{ms.SUB}/resourceGroups/{ms.RG}/providers/Microsoft.Compute/proximityPlacementGroups/ppg",
    "futureSetting": {"enabled": True, "level": 3},
}

#: What an os-upgrade migration means to change.
CHANGED = {"osSKU", "orchestratorVersion", "nodeImageVersion", "powerState"}


def _create_rich(clients: Any) -> dict[str, Any]:
    poller = clients.containerservice.agent_pools.begin_create_or_update(
        ms.RG, ms.NAME, "rich", models.AgentPool({"properties": dict(RICH)})
    )
    poller.result()
    return get_pool_settable(clients, ms.RG, ms.NAME, "rich")


def test_replacement_pool_is_a_faithful_copy_read_back_through_the_sdk() -> None:
    fake, kube, clients = ms.build()
    try:
        old = _create_rich(clients)
        missing = [k for k in RICH if k not in old]
        assert missing == []  # the simulator kept everything it was given
        plan, ctx = plan_migration(clients, ms.RG, ms.NAME, "rich", reason="os-upgrade")
        reason = plan.steps[0].reason
        assert "osSKU: Windows2019 -> Windows2022" in reason
        for key in ("tags", "spotMaxPrice", "windowsProfile", "gpuProfile", "futureSetting"):
            assert f"{key}:" not in reason
        ctx.kube_poll_seconds = 0.02
        result = apply_migration(plan, ctx, checkpoints=MemoryCheckpointStore())
        assert result.status is RunStatus.SUCCEEDED, result.error
        new_name = plan.steps[0].params["pool"]
        new = get_pool_settable(clients, ms.RG, ms.NAME, new_name)
        differing = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        assert "osSKU" in differing and differing <= CHANGED, differing
        assert new["windowsProfile"] == {"disableOutboundNat": True}
        assert math.isclose(new["spotMaxPrice"], 0.45)
        assert new["futureSetting"] == {"enabled": True, "level": 3}
    finally:
        kube.stop()


def test_overrides_are_listed_as_differences() -> None:
    fake, kube, clients = ms.build()
    try:
        _create_rich(clients)
        fake.clear_journal()
        plan, _ = plan_migration(
            clients, ms.RG, ms.NAME, "rich", reason="max-pods", max_pods=60, vm_size="Standard_D16ds_v5"
        )
        reason = plan.steps[0].reason
        assert "maxPods: 40 -> 60" in reason and "vmSize: Standard_D8ds_v5 -> Standard_D16ds_v5" in reason
        props = plan.steps[0].params["properties"]
        assert props["osSKU"] == "Windows2019" and props["tags"] == RICH["tags"]
        assert fake.writes() == []
    finally:
        kube.stop()


@pytest.mark.parametrize("bad", [-1.0, 0.0, float("nan"), float("inf")])
def test_bad_timeouts_are_refused_before_any_request(bad: float) -> None:
    fake, kube, clients = ms.build()
    try:
        fake.clear_journal()
        with pytest.raises(E.InvalidInput) as info:
            plan_migration(clients, ms.RG, ms.NAME, "win19", reason="os-upgrade", drain_timeout=bad)
        assert "drain timeout" in str(info.value)
        with pytest.raises(E.InvalidInput):
            plan_migration(clients, ms.RG, ms.NAME, "win19", reason="os-upgrade", verify_timeout=bad)
        assert fake.journal == []
    finally:
        kube.stop()


@pytest.mark.parametrize("value", ["-1", "nan", "0"])
def test_cli_drain_timeout_is_validated_at_plan_time(value: str) -> None:
    from typer.testing import CliRunner

    from aks_windows_ops.cli import app

    result = CliRunner().invoke(
        app,
        [
            "migrate",
            "--simulate",
            "ws2019-retiring",
            "--pool",
            "win19",
            "--reason",
            "os-upgrade",
            "--drain-timeout",
            value,
            "--apply",
            "--yes",
        ],
    )
    assert result.exit_code == 4, result.output
    # The command line refuses it before planning, naming the option (the planner refuses it too).
    assert "--drain-timeout must be a positive duration" in result.stderr
    assert "Traceback" not in result.output and "Create" not in result.output
