"""ARM behaviours from recordings and public reports, checked through the real SDK clients and the library:
node image upgrade of a current pool, current versions during an upgrade, gMSA enable, the default VM size, and
If-Match on pool upgrades."""

from __future__ import annotations

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerservice import models as m

from aks_windows_ops.azure import lro
from aks_windows_ops.errors import AzureOperationFailed
from aks_windows_ops.runbooks.patch import apply_patch, plan_patch
from aks_windows_ops.runbooks.runner import MemoryCheckpointStore, RunContext
from aks_windows_ops.runbooks.steps import ControlPlaneUpgrade, PoolUpgrade, VerifyCluster


def _next_minor(fake, version: str) -> str:  # type: ignore[no-untyped-def]
    major, minor = (int(x) for x in version.split(".")[:2])
    return max(
        (v for v in fake.kubernetes_versions if v.startswith(f"{major}.{minor + 1}.")),
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )


def _control_plane_upgraded(fake, clients, rg: str, name: str) -> str:  # type: ignore[no-untyped-def]
    """Upgrade the control plane to the next minor through the SDK (the FAQ's order: it goes first)."""
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    target = _next_minor(fake, mc.current_kubernetes_version)
    mc.kubernetes_version = target
    cs.managed_clusters.begin_create_or_update(rg, name, mc).result()
    return target


def test_node_image_upgrade_of_a_current_pool_is_done_after_a_read_back(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("ws2019-retiring")
    plan, ctx = plan_patch(clients, rg, name, node_image_only=True, check_latest=False)
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    # The POST for the current pool got 200 with no operation; the library read the pool back, then said so.
    posts = [e.seq for e in fake.requests(method="POST", path="system/upgradeNodeImageVersion$")]
    assert [e.status for e in fake.requests(method="POST", path="system/upgradeNodeImageVersion$")] == [200]
    assert any(e.seq > posts[0] for e in fake.requests(method="GET", path="agentPools/system$"))
    message = next(r.message for r in result.records if r.step_id == "node-image:system")
    assert "already has the newest node image" in message


def test_a_304_from_the_service_also_counts_as_done_after_a_read_back(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("ws2019-retiring")
    fake.add_fault(
        "error", method="POST", path="system/upgradeNodeImageVersion$", status=304, code="", message=""
    )
    plan, ctx = plan_patch(clients, rg, name, node_image_only=True, check_latest=False)
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    assert [e.status for e in fake.requests(method="POST", path="system/upgradeNodeImageVersion$")] == [304]
    assert "already has the newest node image" in next(
        r.message for r in result.records if r.step_id == "node-image:system"
    )


def test_a_node_image_answer_is_not_trusted_when_the_read_back_disagrees(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("ws2019-retiring")
    plan, ctx = plan_patch(clients, rg, name, node_image_only=True, pools=["win19"])
    # The service claims "not modified", but the pool is not on the image the upgrade profile offers.
    fake.add_fault(
        "error", method="POST", path="win19/upgradeNodeImageVersion$", status=304, code="", message=""
    )
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert not result.ok
    assert "expected" in result.message


def test_upgrade_put_reports_the_target_at_once_and_done_needs_succeeded(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    target = _next_minor(fake, mc.current_kubernetes_version)
    plan, cctx = plan_patch(clients, rg, name, kubernetes_version=target)
    run = RunContext(plan=plan, clock=clients.run_clock, extras={"cluster": cctx})
    cp_step = next(s for s in plan.steps if s.kind == "update_control_plane")
    mc.kubernetes_version = target
    lro.start(cs.managed_clusters.begin_create_or_update, rg, name, mc)
    during = cs.managed_clusters.get(rg, name)
    assert (during.provisioning_state, during.current_kubernetes_version) == ("Upgrading", target)
    cctx.forget()
    assert ControlPlaneUpgrade().check(cp_step, run).value == "in_flight"
    lro.start(cs.managed_clusters.begin_abort_latest_operation, rg, name)
    fake.settle()
    aborted = cs.managed_clusters.get(rg, name)
    assert (aborted.provisioning_state, aborted.current_kubernetes_version) == ("Canceled", target)
    cctx.forget()
    assert ControlPlaneUpgrade().check(cp_step, run).value == "ready"  # the version alone is not done
    verify = next(s for s in plan.steps if s.kind == "verify_cluster")
    with pytest.raises(AzureOperationFailed, match="Canceled"):
        VerifyCluster().verify(verify, run)


def test_pool_upgrade_reports_the_target_at_once_and_is_not_done_until_succeeded(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    target = _control_plane_upgraded(fake, clients, rg, name)
    plan2, cctx2 = plan_patch(clients, rg, name, kubernetes_version=target)
    run = RunContext(plan=plan2, clock=clients.run_clock, extras={"cluster": cctx2})
    step = next(s for s in plan2.steps if s.kind == "upgrade_pool")
    pool = str(step.params["pool"])
    body = cs.agent_pools.get(rg, name, pool)
    body.orchestrator_version = target
    lro.start(cs.agent_pools.begin_create_or_update, rg, name, pool, body)
    during = cs.agent_pools.get(rg, name, pool)
    assert (during.provisioning_state, during.current_orchestrator_version) == ("Upgrading", target)
    cctx2.forget()
    assert PoolUpgrade().check(step, run).value == "in_flight"
    lro.start(cs.agent_pools.begin_abort_latest_operation, rg, name, pool)
    fake.settle()
    cctx2.forget()
    assert cs.agent_pools.get(rg, name, pool).current_orchestrator_version == target
    assert PoolUpgrade().check(step, run).value == "ready"
    with pytest.raises(AzureOperationFailed, match="Canceled"):
        PoolUpgrade().verify(step, run)


def test_gmsa_enable_upgrades_the_cluster_for_about_13_minutes(scenario) -> None:  # type: ignore[no-untyped-def]
    from cassette_replay import durations_agree

    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    mc.windows_profile.gmsa_profile = m.WindowsGmsaProfile(enabled=True)
    started = clients.clock()
    lro.start(cs.managed_clusters.begin_create_or_update, rg, name, mc)
    assert cs.managed_clusters.get(rg, name).provisioning_state == "Upgrading"
    assert {p.provisioning_state for p in cs.agent_pools.list(rg, name)} == {"Updating"}
    fake.settle()  # virtual time to the operation's end
    took = clients.clock() - started
    assert durations_agree(13 * 60, took)  # the recordings' figure, within the replay's tolerance
    assert cs.managed_clusters.get(rg, name).provisioning_state == "Succeeded"


def _bare_pool(os_type: str, count: int = 1) -> m.AgentPool:
    return m.AgentPool(properties=m.ManagedClusterAgentPoolProfileProperties(os_type=os_type, count=count))  # type: ignore[call-arg]


def test_default_vm_size_is_picked_by_quota_and_never_arm64_for_windows(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    pools = clients.containerservice.agent_pools
    linux = pools.begin_create_or_update(rg, name, "lnx", _bare_pool("Linux")).result()
    assert linux.vm_size == "Standard_D8pds_v5"  # Linux may get an Arm64 size
    windows = pools.begin_create_or_update(rg, name, "win1", _bare_pool("Windows")).result()
    assert windows.vm_size == "Standard_D8ds_v5"  # Windows: x64 sizes only
    fake.vcpu_quota.update({"Standard_D8ds_v5": 8, "Standard_D8s_v5": 0})
    two = pools.begin_create_or_update(rg, name, "win2", _bare_pool("Windows", count=2)).result()
    assert two.vm_size == "Standard_D8as_v5"  # the first candidate with quota left for two nodes
    fake.vcpu_quota["Standard_D8as_v5"] = 0
    with pytest.raises(HttpResponseError, match="quota"):
        pools.begin_create_or_update(rg, name, "win3", _bare_pool("Windows", count=2)).result()
    arm = m.AgentPool(
        properties=m.ManagedClusterAgentPoolProfileProperties(
            os_type="Windows", count=1, vm_size="Standard_D4pds_v5"
        )  # type: ignore[call-arg]
    )
    with pytest.raises(HttpResponseError, match="Arm64"):
        pools.begin_create_or_update(rg, name, "win4", arm).result()


def test_pool_upgrades_carry_if_match_and_a_stale_etag_gets_412(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    pool = next(p.name for p in cs.agent_pools.list(rg, name))
    read = cs.agent_pools.get(rg, name, pool)
    read.count = (read.count or 1) + 1
    cs.agent_pools.begin_create_or_update(rg, name, pool, read).result()  # someone else changed the pool
    with pytest.raises(HttpResponseError) as err:
        cs.agent_pools.begin_create_or_update(
            rg, name, pool, read, etag=read.e_tag, match_condition=MatchConditions.IfNotModified
        ).result()
    assert err.value.status_code == 412
    # The library's pool upgrade sends the eTag it read; the simulator sees it on the PUT.
    target = _next_minor(fake, cs.managed_clusters.get(rg, name).current_kubernetes_version)
    plan, cctx = plan_patch(clients, rg, name, kubernetes_version=target)
    seen: list[str | None] = []
    original = fake._check_pool_preconditions

    def spy(request, cluster, pname, existing):  # type: ignore[no-untyped-def]
        if request.method == "PUT":
            seen.append(request.headers.get("If-Match"))
        original(request, cluster, pname, existing)

    fake._check_pool_preconditions = spy  # type: ignore[method-assign]
    fake.clear_journal()
    assert apply_patch(plan, cctx, checkpoints=MemoryCheckpointStore()).ok
    assert seen and all(seen)
    assert not [e for e in fake.writes() if e.status == 412]  # the eTags it sent were current


def test_a_pool_changed_after_planning_gets_412_then_one_upgrade_from_a_fresh_read(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    target = _control_plane_upgraded(fake, clients, rg, name)
    plan, cctx = plan_patch(clients, rg, name, kubernetes_version=target)
    pool = str(next(s for s in plan.steps if s.kind == "upgrade_pool").params["pool"])
    other = cs.agent_pools.get(rg, name, pool)
    other.tags = {"owner": "someone-else"}
    cs.agent_pools.begin_create_or_update(rg, name, pool, other).result()  # the plan's reading is stale now
    fake.clear_journal()
    assert apply_patch(plan, cctx, checkpoints=MemoryCheckpointStore()).ok
    puts = [e.status for e in fake.requests(method="PUT", path=f"agentPools/{pool}$")]
    assert puts == [412, 200]  # refused on the stale eTag, then sent once with the eTag read again
    assert cs.agent_pools.get(rg, name, pool).current_orchestrator_version == target
