"""Each write once, and "done" read from Azure: lost answers, refused writes, crashes and races.

The library talks to the simulator through the real SDK clients. The journal of requests the simulator
accepted is the evidence of what the library sent; the assertions are on the end state Azure holds and on
how many writes were accepted.
"""

from __future__ import annotations

from typing import Any

import migrate_support as ms
import pytest

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.errors import BudgetExhausted, LeaseHeld
from aks_windows_ops.runbooks.ahub import apply_ahub, plan_ahub_for_nodes, plan_disable_ahub, verify_ahub
from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore, SqliteCheckpointStore
from aks_windows_ops.runbooks.migrate import apply_migration, plan_migration
from aks_windows_ops.runbooks.password import MARKER_TAG, apply_password_rotation, plan_password_rotation
from aks_windows_ops.runbooks.patch import apply_patch, plan_patch
from aks_windows_ops.runbooks.pools import apply_add_pool, plan_add_windows_pool
from aks_windows_ops.secrets import Secret
from aks_windows_ops.testing import SimulatedCrash
from aks_windows_ops.testing.fake_azure import FakeAzure

LEGACY = ("00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps")  # ws2019-retiring
HEALTHY = ("00000000-0000-0000-0000-000000000001", "rg-prod", "aks-prod")
PASSWORD = "Rotated-Pa55w0rd!kq9"
CLUSTER_PUT = r"managedClusters/[^/]+$"


def _clients(fake: FakeAzure, sub: str) -> AzureClients:
    return AzureClients.for_simulator(fake, sub, polling_interval=60)


def _accepted(fake: FakeAzure, path: str, method: str = "PUT") -> list[Any]:
    return [e for e in fake.requests(method=method, path=path) if 200 <= e.status < 300]


def _password_puts(fake: FakeAzure) -> list[Any]:
    return [
        e
        for e in _accepted(fake, CLUSTER_PUT)
        if "adminPassword" in ((e.body or {}).get("properties", {}).get("windowsProfile") or {})
    ]


def _tags(fake: FakeAzure) -> dict[str, str]:
    sub, rg, name = LEGACY
    return dict(_clients(fake, sub).containerservice.managed_clusters.get(rg, name).tags or {})


def _someone_else_changes_the_cluster(fake: FakeAzure) -> None:
    """Another tool updates the cluster (a tag), so its eTag changes: proof of nothing about our write."""
    sub, rg, name = LEGACY
    clients = _clients(fake, sub)
    model = clients.containerservice.managed_clusters.get(rg, name)
    model.tags = {**(model.tags or {}), "owner": "team-b"}
    clients.containerservice.managed_clusters.begin_create_or_update(rg, name, model).result()
    fake.settle()


def _plan_rotation(fake: FakeAzure) -> Any:
    sub, rg, name = LEGACY
    fake.clusters[LEGACY].admin_password_set = False
    return plan_password_rotation(_clients(fake, sub), rg, name, new_password=Secret(PASSWORD))


# --------------------------------------------------------------------------------------------- password
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            {"kind": "error", "status": 409, "code": "OperationNotAllowed", "times": 0}, id="409-storm"
        ),
        pytest.param({"kind": "throttle", "retry_after": 5000, "times": 0}, id="long-429"),
        pytest.param({"kind": "reset", "times": 0}, id="resets"),
        pytest.param({"kind": "crash_before", "times": 1}, id="crash-before-put"),
    ],
)
def test_a_rotation_that_never_reached_azure_is_sent_on_resume_even_after_another_change(
    fault: dict[str, Any],
) -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    plan, ctx = _plan_rotation(fake)
    store = MemoryCheckpointStore()
    fake.add_fault(method="PUT", path=CLUSTER_PUT, **fault)
    try:
        first = apply_password_rotation(plan, ctx, checkpoints=store, time_budget=3600)
        assert not first.ok
    except SimulatedCrash:
        pass
    assert _password_puts(fake) == [] and not fake.clusters[LEGACY].admin_password_set
    fake.clear_faults()
    _someone_else_changes_the_cluster(fake)

    sub, rg, name = LEGACY
    _, again_ctx = plan_password_rotation(_clients(fake, sub), rg, name, new_password=Secret(PASSWORD))
    result = apply_password_rotation(plan, again_ctx, checkpoints=store)
    assert result.ok, result.message
    assert result.done == ("windows-password",) and result.skipped == ()
    assert len(_password_puts(fake)) == 1 and fake.clusters[LEGACY].admin_password_set
    assert _tags(fake)[MARKER_TAG] == f"{plan.id}/windows-password" and _tags(fake)["owner"] == "team-b"


def test_a_rotation_that_loses_a_race_to_a_concurrent_patch_still_sends_the_password_once() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    plan, ctx = _plan_rotation(fake)
    # Between our plan (eTag read) and our PUT, someone else changes the cluster: our If-Match PUT gets 412.
    _someone_else_changes_the_cluster(fake)
    result = apply_password_rotation(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    assert [e.status for e in fake.requests(method="PUT", path=CLUSTER_PUT)][-2:] == [412, 200]
    assert len(_password_puts(fake)) == 1 and fake.clusters[LEGACY].admin_password_set
    assert _tags(fake)[MARKER_TAG] == f"{plan.id}/windows-password"


def test_a_rotation_whose_answer_was_lost_is_proven_by_its_marker_and_not_sent_again() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    plan, ctx = _plan_rotation(fake)
    fake.add_fault("reset_after", method="PUT", path=CLUSTER_PUT)
    result = apply_password_rotation(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 1  # azure-core did not repeat it either
    assert len(_password_puts(fake)) == 1 and fake.clusters[LEGACY].admin_password_set


def test_a_crash_after_the_put_resumes_without_a_second_rotation_even_after_another_change() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    plan, ctx = _plan_rotation(fake)
    store = MemoryCheckpointStore()
    fake.add_fault("crash_after", method="PUT", path=CLUSTER_PUT)
    with pytest.raises(SimulatedCrash):
        apply_password_rotation(plan, ctx, checkpoints=store)
    fake.clear_faults()
    fake.settle()
    _someone_else_changes_the_cluster(fake)
    sub, rg, name = LEGACY
    _, again_ctx = plan_password_rotation(_clients(fake, sub), rg, name, new_password=Secret(PASSWORD))
    result = apply_password_rotation(plan, again_ctx, checkpoints=store)
    assert result.ok, result.message
    assert len(_password_puts(fake)) == 1 and result.sent == ()


# --------------------------------------------------------------------------------------------- lost answers
def _lost(fake: FakeAzure, method: str, path: str) -> None:
    fake.add_fault("reset_after", method=method, path=path)


def test_lost_answer_patch_sends_each_write_once() -> None:
    fake = FakeAzure.from_scenario("healthy")
    sub, rg, name = HEALTHY
    plan, ctx = plan_patch(_clients(fake, sub), rg, name, kubernetes_version="1.36.3")
    _lost(fake, "PUT", CLUSTER_PUT)
    _lost(fake, "PUT", r"agentPools/win22$")
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 1
    assert len(fake.requests(method="PUT", path=r"agentPools/win22$")) == 1
    state = fake.cluster_state(sub, rg, name)["properties"]
    assert state["currentKubernetesVersion"] == "1.36.3"
    assert all(p["currentOrchestratorVersion"] == "1.36.3" for p in state["agentPoolProfiles"])


def test_lost_answer_node_image_upgrade_posts_once() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    sub, rg, name = LEGACY
    fake.clusters[LEGACY].props["currentKubernetesVersion"] = fake.clusters[LEGACY].props["kubernetesVersion"]
    plan, ctx = plan_patch(_clients(fake, sub), rg, name, node_image_only=True, check_latest=False)
    _lost(fake, "POST", r"win19/upgradeNodeImageVersion$")
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    assert len(fake.requests(method="POST", path=r"win19/upgradeNodeImageVersion$")) == 1
    assert fake.pool_state(sub, rg, name, "win19")["provisioningState"] == "Succeeded"


def test_lost_answer_ahub_sends_each_write_once() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    sub, rg, name = LEGACY
    clients = _clients(fake, sub)
    plan, ctx = plan_disable_ahub(clients, rg, name)
    _lost(fake, "PUT", CLUSTER_PUT)
    assert apply_ahub(plan, ctx, checkpoints=MemoryCheckpointStore()).ok
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 1
    assert verify_ahub(clients, rg, name).cluster_license == "None"

    nodes, nodes_ctx = plan_ahub_for_nodes(clients, rg, name, instances=["win19/2"])
    before = len(fake.writes())
    _lost(fake, "PUT", r"virtualMachines/2$")
    assert apply_ahub(nodes, nodes_ctx, checkpoints=MemoryCheckpointStore()).ok
    assert len(fake.writes()) - before == 1


def test_lost_answer_add_pool_creates_it_once() -> None:
    fake = FakeAzure.from_scenario("healthy")
    sub, rg, name = HEALTHY
    plan, ctx = plan_add_windows_pool(_clients(fake, sub), rg, name, "win3", count=2)
    _lost(fake, "PUT", r"agentPools/win3$")
    result = apply_add_pool(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    assert len(fake.requests(method="PUT", path=r"agentPools/win3$")) == 1
    assert fake.pool_state(sub, rg, name, "win3")["provisioningState"] == "Succeeded"


def test_lost_answer_migrate_creates_its_pool_once() -> None:
    fake, kube, clients = ms.build()
    try:
        plan, ctx = plan_migration(clients, ms.RG, ms.NAME, "win19", reason="os-upgrade")
        ctx.extras["kube_poll"] = 0.02
        new_pool = str(plan.steps[0].params["pool"])
        _lost(fake, "PUT", rf"agentPools/{new_pool}$")
        _lost(fake, "DELETE", r"agentPools/win19$")
        result = apply_migration(plan, ctx, checkpoints=MemoryCheckpointStore())
        assert result.ok, result.message
        assert len(fake.requests(method="PUT", path=rf"agentPools/{new_pool}$")) == 1
        assert len(fake.requests(method="DELETE", path=r"agentPools/win19$")) == 1
        names = [
            p["name"] for p in fake.cluster_state(ms.SUB, ms.RG, ms.NAME)["properties"]["agentPoolProfiles"]
        ]
        assert new_pool in names and "win19" not in names
    finally:
        kube.stop()


def test_a_5xx_answer_on_a_write_is_read_back_before_anything_is_sent_again() -> None:
    fake = FakeAzure.from_scenario("healthy")
    sub, rg, name = HEALTHY
    plan, ctx = plan_add_windows_pool(_clients(fake, sub), rg, name, "win3", count=1)
    fault = fake.add_fault(
        "error", method="PUT", path=r"agentPools/win3$", status=503
    )  # refused, not applied
    result = apply_add_pool(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    assert fault.hits == 1  # azure-core did not repeat the PUT; the library read the pool, then sent it
    assert [e.status for e in fake.requests(method="PUT", path=r"agentPools/win3$")] == [503, 201]


# --------------------------------------------------------------------------------------------- drift, leases
def test_ahub_drift_put_back_after_a_run_is_fixed_by_the_same_command_with_the_same_store() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    sub, rg, name = LEGACY
    clients = _clients(fake, sub)
    store = MemoryCheckpointStore()
    plan, ctx = plan_ahub_for_nodes(clients, rg, name, instances=["win19/2"])
    assert apply_ahub(plan, ctx, checkpoints=store).ok and verify_ahub(clients, rg, name).ok
    fake.set_instance_license(sub, rg, name, "win19", "2", None)  # drift put back behind our back
    assert not verify_ahub(clients, rg, name).ok
    writes = len(fake.writes())
    again = apply_ahub(plan, ctx, checkpoints=store)
    license_step = next(s.id for s in plan.steps if s.kind == "license_instance")
    verify_step = next(s.id for s in plan.steps if s.kind == "verify_licenses")
    assert again.ok and again.drift == (license_step,), again.message
    assert again.done == (license_step, verify_step) and again.skipped == ()  # verification always runs
    assert len(fake.writes()) - writes == 1 and verify_ahub(clients, rg, name).ok
    clean = apply_ahub(plan, ctx, checkpoints=store)
    assert clean.ok and clean.skipped == (license_step,) and clean.done == (verify_step,)


def test_two_applies_of_one_plan_at_once_send_its_write_once(tmp_path: Any) -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    plan, ctx = _plan_rotation(fake)
    path = tmp_path / "shared.sqlite"
    first = SqliteCheckpointStore(path)
    from aks_windows_ops.runbooks.leases import LeaseHolder, lease_names

    # A second process holds the cluster's lease (it is applying right now).
    other = SqliteCheckpointStore(path)
    other.acquire_lease(lease_names(plan.id, plan.target)[0], LeaseHolder())
    with pytest.raises(LeaseHeld) as caught:
        apply_password_rotation(plan, ctx, checkpoints=first)
    assert "nothing was sent" in str(caught.value) and fake.writes() == []
    other.break_lease(lease_names(plan.id, plan.target)[0])
    assert apply_password_rotation(plan, ctx, checkpoints=first).ok
    assert apply_password_rotation(plan, ctx, checkpoints=SqliteCheckpointStore(path)).ok
    assert len(_password_puts(fake)) == 1


def test_a_stuck_operation_with_a_budget_pauses_naming_it() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    plan, ctx = _plan_rotation(fake)
    fake.add_fault("stuck", method="PUT", path=CLUSTER_PUT)
    result = apply_password_rotation(plan, ctx, checkpoints=MemoryCheckpointStore(), time_budget=3600)
    assert result.status.value == "paused" and isinstance(result.error, BudgetExhausted)
    assert str(result.error).startswith("Set the new Windows admin password")  # names the operation
    assert "still running after 3600 s" in str(result.error)


def test_a_dead_operation_token_is_replanned_from_the_current_state() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    plan, ctx = _plan_rotation(fake)
    store = MemoryCheckpointStore()
    paused = apply_password_rotation(plan, ctx, checkpoints=store, time_budget=60)
    assert not paused.ok and store.load(plan.id, "windows-password").operation is not None  # type: ignore[union-attr]
    fake.settle()
    fake.operations.clear()  # the service forgets the operation: its status URL answers 404
    result = apply_password_rotation(plan, ctx, checkpoints=store)
    assert result.ok, result.message
    assert len(_password_puts(fake)) == 1


def test_az_write_helpers_never_retry_a_write_inside_azure_core() -> None:
    fake = FakeAzure.from_scenario("healthy")
    sub, rg, name = HEALTHY
    fault = fake.add_fault("error", method="PUT", path=CLUSTER_PUT, status=500, times=0)
    with pytest.raises(Exception):  # noqa: B017 - the translated error type is not the point here
        az.begin_control_plane_upgrade(_clients(fake, sub), rg, name, "1.36.3")
    assert fault.hits == 1
