"""Every typed error, produced from a simulated failure through the real SDK clients, carries its remediation.

The failures go through the library's own path (``azure.lro.start``/``wait`` and ``azure.facts``), which
translate azure-core exceptions (Service facts: FAQ rules; ARM behaviour). ``test_adapter.py`` holds the translation table
and the 409 from a node image upgrade during a cluster update; ``test_fake_azure.py`` the old-image recovery,
the subnet-size refusal at PUT, quota as an operation failure and the abort; this module covers the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import AzureError
from azure.mgmt.containerservice import models as m

from aks_windows_ops import errors as E
from aks_windows_ops.azure import lro
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import read_snapshot
from aks_windows_ops.testing.fake_azure import FakeAzure

Scenario = Callable[..., tuple[FakeAzure, AzureClients, str, str]]

OLD_PDB_MESSAGE = (
    "Drain of akswin19000001 did not complete: Too many req pod storefront-7d9c-2kq5x on node akswin19000001: "
    "shop/storefront-7d9c-2kq5x blocked by pdb storefront-pdb with unready pods []. "
    "See http://aka.ms/aks/debugdrainfailures"
)
CURRENT_PDB_MESSAGE = (
    "Drain node akswin19000001 failed when evicting pod storefront-7d9c-2kq5x failed with Too Many Requests "
    "error. This is often caused by a restrictive Pod Disruption Budget (PDB) policy. See "
    "http://aka.ms/aks/debugdrainfailures. Original error: Cannot evict pod as it would violate the pod's "
    "disruption budget.. PDB debug info: shop/storefront-7d9c-2kq5x blocked by pdb storefront-pdb "
    "(MinAvailable: 2) (CurrentHealthy: 2) (DesiredHealthy: 2) (ExpectedPods: 3) with 0 unready pods."
)


def _run(clients: AzureClients, begin: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Start and finish one long-running operation the way the runbooks do."""
    token = lro.start(begin, *args, **kwargs)
    return lro.wait(begin, token, *args, clock=clients.clock, sleep=clients.sleep)


def _windows_pool(subnet: str | None, *, count: int = 1, max_pods: int = 30) -> m.AgentPool:
    return m.AgentPool(
        properties=m.AgentPoolManagedClusterAgentPoolProfileProperties(
            os_type="Windows",
            os_sku="Windows2022",
            mode="User",
            count=count,
            vm_size="Standard_D4s_v5",
            max_pods=max_pods,
            vnet_subnet_id=subnet,
        )
    )


def _scale(clients: AzureClients, rg: str, name: str, pool: str, count: int) -> Any:
    cs = clients.containerservice
    body = cs.agent_pools.get(rg, name, pool)
    body.properties.count = count
    return _run(clients, cs.agent_pools.begin_create_or_update, rg, name, pool, body)


def _assert_chained(err: E.AksWindowsOpsError) -> None:
    assert isinstance(err.__cause__, AzureError)  # the SDK's exception is kept, chained with ``from``


def test_old_image_error_names_the_faq_fix(scenario: Scenario) -> None:
    fake, clients, rg, name = scenario("legacy-2019")
    subnet = fake.pool_state(clients.subscription_id, rg, name, "erpwin")["vnetSubnetID"]
    with pytest.raises(E.OldWindowsImage) as info:
        _run(
            clients,
            clients.containerservice.agent_pools.begin_create_or_update,
            rg,
            name,
            "erp22",
            _windows_pool(subnet),
        )
    err = info.value
    assert err.code == "InvalidTemplateDeployment"
    assert "2019-datacenter-core-smalldisk-2004" in str(err)
    assert "Upgrade the cluster control plane" in err.remediation and "move the pods" in err.remediation
    assert err.runbook == "migrate" and err.to_dict()["runbook"] == "migrate"
    _assert_chained(err)


def test_subnet_is_full_when_a_scale_out_fails(scenario: Scenario) -> None:
    fake, clients, rg, name = scenario("subnet-full")
    fake.add_fault(
        "fail_operation",
        method="PUT",
        path="agentPools/pos",
        code="SubnetIsFull",
        message="Subnet /subscriptions/.../subnets/aks with address prefix 10.30.1.0/24 does not have enough capacity for 31 IP addresses.",
    )
    with pytest.raises(E.SubnetFull) as info:
        _scale(clients, rg, name, "pos", 4)
    err = info.value
    assert err.code == "SubnetIsFull" and "enough capacity" in str(err)
    assert "max pods" in err.remediation and err.runbook == "migrate"
    assert fake.pool_state(clients.subscription_id, rg, name, "pos")["provisioningState"] == "Failed"
    _assert_chained(err)


def test_no_available_addresses_is_a_subnet_problem(scenario: Scenario) -> None:
    fake, clients, rg, name = scenario("subnet-full")
    fake.add_fault(
        "fail_operation",
        method="PUT",
        path="agentPools/pos",
        code="NodesNotReady",
        message=(
            "Pods on node akspos000003 failed: failed to allocate for range 0: no IP addresses available in range "
            "set: 10.30.1.100-10.30.1.130 (No available addresses)"
        ),
    )
    with pytest.raises(E.SubnetFull) as info:
        _scale(clients, rg, name, "pos", 4)
    assert info.value.code == "NodesNotReady"
    assert "No available addresses" in str(info.value)
    assert "max pods" in info.value.remediation


def test_a_cluster_write_during_a_pool_operation_is_a_conflict_to_wait_out(scenario: Scenario) -> None:
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    pool = cs.agent_pools.get(rg, name, "linux")
    pool.properties.count = 3
    token = lro.start(cs.agent_pools.begin_create_or_update, rg, name, "linux", pool)
    mc = cs.managed_clusters.get(rg, name)
    mc.tags = {"owner": "ops"}
    operations = len(fake.operations)
    with pytest.raises(E.OperationConflict) as info:
        lro.start(cs.managed_clusters.begin_create_or_update, rg, name, mc)
    err = info.value
    assert type(err) is E.OperationConflict and err.code == "OperationNotAllowed"
    assert "in progress" in str(err) and "Wait" in err.remediation
    assert len(fake.operations) == operations  # the refused write started nothing
    _assert_chained(err)
    # Following the remediation works: wait, then the same write goes through.
    lro.wait(
        cs.agent_pools.begin_create_or_update,
        token,
        rg,
        name,
        "linux",
        pool,
        clock=clients.clock,
        sleep=clients.sleep,
    )
    _run(clients, cs.managed_clusters.begin_create_or_update, rg, name, mc)
    assert cs.managed_clusters.get(rg, name).tags == {"owner": "ops"}


def test_a_stale_etag_is_refused_with_412(scenario: Scenario) -> None:
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    stale = cs.managed_clusters.get(rg, name)
    fresh = cs.managed_clusters.get(rg, name)
    fresh.tags = {"changed": "by-someone-else"}
    _run(clients, cs.managed_clusters.begin_create_or_update, rg, name, fresh)
    stale.tags = {"mine": "too"}
    with pytest.raises(E.EtagMismatch) as info:
        lro.start(
            cs.managed_clusters.begin_create_or_update,
            rg,
            name,
            stale,
            etag=stale.e_tag,
            match_condition=MatchConditions.IfNotModified,
        )
    err = info.value
    assert isinstance(err, E.OperationConflict)  # callers waiting on conflicts see it too
    assert "Re-read" in err.remediation
    assert fake.writes()[-1].status == 412
    assert cs.managed_clusters.get(rg, name).tags == {"changed": "by-someone-else"}
    _assert_chained(err)


def test_an_etag_conflict_answered_with_409_is_the_same_error(scenario: Scenario) -> None:
    fake, clients, rg, name = scenario("healthy")
    fake.add_fault(
        "error",
        method="PUT",
        path="managedClusters/aks-prod$",
        status=409,
        code="EtagMismatch",
        message="The eTag of the request does not match the current eTag of managed cluster aks-prod.",
    )
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    with pytest.raises(E.EtagMismatch) as info:
        lro.start(cs.managed_clusters.begin_create_or_update, rg, name, mc)
    assert info.value.code == "EtagMismatch"


def _fail_win19_image_upgrade(
    fake: FakeAzure, clients: AzureClients, rg: str, name: str, message: str
) -> E.AksWindowsOpsError:
    fake.add_fault(
        "fail_operation",
        method="POST",
        path="agentPools/win19/upgradeNodeImageVersion",
        code="UpgradeFailed",
        message=message,
    )
    begin = clients.containerservice.agent_pools.begin_upgrade_node_image_version
    with pytest.raises(E.AksWindowsOpsError) as info:
        _run(clients, begin, rg, name, "win19")
    return info.value


def test_an_upgrade_blocked_by_a_pdb_carries_the_fix_and_can_be_reissued(scenario: Scenario) -> None:
    fake, clients, rg, name = scenario("ws2019-retiring")
    before = read_snapshot(clients, rg, name).pool("win19")
    err = _fail_win19_image_upgrade(fake, clients, rg, name, CURRENT_PDB_MESSAGE)
    assert isinstance(err, E.PdbBlockedUpgrade)
    assert err.code == "UpgradeFailed" and "disruption budget" in str(err)
    assert "PodDisruptionBudget" in err.remediation and "re-issue" in err.remediation
    assert err.runbook == "patch"
    _assert_chained(err)
    # Re-issuing the same upgrade once the budget allows a disruption completes it.
    fake.clear_faults()
    begin = clients.containerservice.agent_pools.begin_upgrade_node_image_version
    _run(clients, begin, rg, name, "win19")
    after = read_snapshot(clients, rg, name).pool("win19")
    assert after.node_image_version == before.latest_node_image_version != before.node_image_version


@pytest.mark.parametrize("message", [CURRENT_PDB_MESSAGE, OLD_PDB_MESSAGE], ids=["current", "older"])
def test_real_aks_drain_messages_name_the_pdb(scenario: Scenario, message: str) -> None:
    fake, clients, rg, name = scenario("ws2019-retiring")
    err = _fail_win19_image_upgrade(fake, clients, rg, name, message)
    assert isinstance(err, E.PdbBlockedUpgrade)
    assert err.pdb in ("storefront-pdb", "shop/storefront-pdb")


@pytest.mark.parametrize("during", ["request", "operation"])
def test_quota_exceeded_on_a_scale_out(scenario: Scenario, during: str) -> None:
    fake, clients, rg, name = scenario("healthy")
    message = (
        "Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota. "
        "Additional details - Deployment Model: Resource Manager, Location: westeurope, Current Limit: 100, "
        "Current Usage: 40, Additional Required: 192, (Minimum) New Limit Required: 232."
    )
    if during == "request":
        fake.add_fault(
            "error", method="PUT", path="agentPools/linux", status=400, code="QuotaExceeded", message=message
        )
    else:
        fake.add_fault(
            "fail_operation", method="PUT", path="agentPools/linux", code="QuotaExceeded", message=message
        )
    with pytest.raises(E.QuotaExceeded) as info:
        _scale(clients, rg, name, "linux", 50)
    assert info.value.code == "QuotaExceeded" and "standardDSv5Family" in str(info.value)
    assert "quota increase" in info.value.remediation
    _assert_chained(info.value)


def test_a_429_storm_on_reads_ends_as_throttled(scenario: Scenario) -> None:
    fake, clients, rg, name = scenario("healthy")
    fake.add_fault("throttle", method="GET", times=0, retry_after=2)
    start = fake.clock.monotonic()
    with pytest.raises(E.Throttled) as info:
        read_snapshot(clients, rg, name)
    err = info.value
    gets = fake.requests(method="GET")
    assert 1 < len(gets) <= clients.retry_total + 1  # retried, and then given up
    assert all(g.status == 429 for g in gets)
    assert fake.clock.monotonic() - start >= 2 * (
        len(gets) - 1
    )  # every Retry-After honoured, on virtual time
    assert err.retry_after == 2 and "concurrency" in err.remediation


def test_a_429_storm_on_a_write_changes_nothing(scenario: Scenario) -> None:
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    pool = cs.agent_pools.get(rg, name, "linux")
    pool.properties.count = 4
    fake.add_fault("throttle", method="PUT", times=0, retry_after=1)
    with pytest.raises(E.Throttled):
        lro.start(cs.agent_pools.begin_create_or_update, rg, name, "linux", pool)
    assert fake.operations == {}
    assert fake.pool_state(clients.subscription_id, rg, name, "linux")["count"] == 2


def test_an_upgrade_blocked_by_deprecated_api_usage(scenario: Scenario) -> None:
    fake, clients, rg, name = scenario("healthy")
    fake.add_fault(
        "error",
        method="PUT",
        path="managedClusters/aks-prod$",
        status=400,
        code="UpgradeBlockedOnDeprecatedAPIUsage",
        message=(
            "Upgrade is blocked due to deprecated API usage: /apis/flowcontrol.apiserver.k8s.io/v1beta3 was used "
            "in the last 12 hours; it is removed in 1.34. Please move off it or retry with enforcement overridden."
        ),
    )
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    mc.properties.kubernetes_version = "1.36.1"
    mc.properties.service_principal_profile = None
    with pytest.raises(E.DeprecatedApiBlocked) as info:
        lro.start(cs.managed_clusters.begin_create_or_update, rg, name, mc)
    err = info.value
    assert err.code == "UpgradeBlockedOnDeprecatedAPIUsage" and err.status_code == 400
    assert "deprecated APIs" in err.remediation
    assert read_snapshot(clients, rg, name, upgrade_profiles=False).current_kubernetes_version == "1.35.5"


def test_each_azure_failure_says_more_than_the_generic_remediation() -> None:
    generic = E.AzureOperationFailed.default_remediation
    for cls in (
        E.OldWindowsImage,
        E.SubnetFull,
        E.PdbBlockedUpgrade,
        E.QuotaExceeded,
        E.DeprecatedApiBlocked,
    ):
        assert cls("x").remediation and cls("x").remediation != generic
    assert E.OperationConflict("x").remediation != E.EtagMismatch("x").remediation
