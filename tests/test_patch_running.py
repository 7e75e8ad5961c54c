"""Re-planning while an operation runs, or after it failed: "already done" only when Succeeded.

The service reports the target version in ``currentKubernetesVersion`` / ``currentOrchestratorVersion`` from
the first read after an upgrade PUT, while ``provisioningState`` is still ``Upgrading``: a plan made then must
wait for the running operation (sending nothing) and verify it, never call it done. The same holds for the
``licenseType`` and tags a password rotation or a Hybrid Benefit change set: shown as soon as the PUT is
accepted, done only once the cluster is ``Succeeded``.
"""

from __future__ import annotations

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.runbooks.ahub import apply_ahub, plan_disable_ahub, verify_ahub
from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
from aks_windows_ops.runbooks.password import apply_password_rotation, plan_password_rotation
from aks_windows_ops.runbooks.patch import apply_patch, plan_patch
from aks_windows_ops.runbooks.runner import RunStatus
from aks_windows_ops.secrets import Secret
from aks_windows_ops.testing.fake_azure import FakeAzure

SUB, RG, NAME = "00000000-0000-0000-0000-000000000001", "rg-prod", "aks-prod"
CLUSTER_PUT = "managedClusters/aks-prod$"


def _clients(fake: FakeAzure) -> AzureClients:
    return AzureClients.for_simulator(fake, SUB, polling_interval=120)


def _failed_license_change(fake: FakeAzure, clients: AzureClients) -> None:
    """A cluster update that fails: the cluster and every pool end Failed, licenseType already None."""
    fake.add_fault("fail_operation", method="PUT", path=CLUSTER_PUT, code="InternalError", message="boom")
    az.begin_windows_profile_update(clients, RG, NAME, license_type="None")
    fake.settle()
    assert _cluster(fake)["provisioningState"] == "Failed"


def _cluster(fake: FakeAzure) -> dict[str, object]:
    props: dict[str, object] = fake.cluster_state(SUB, RG, NAME)["properties"]
    return props


def test_replan_while_the_control_plane_upgrades_waits_and_sends_no_second_put() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    az.begin_control_plane_upgrade(clients, RG, NAME, "1.36.3")
    assert _cluster(fake)["provisioningState"] == "Upgrading"
    assert _cluster(fake)["currentKubernetesVersion"] == "1.36.3"  # the target, while it still runs
    plan, ctx = plan_patch(clients, RG, NAME, kubernetes_version="1.36.3")
    assert not any("control plane already" in n.reason for n in plan.noops)
    first = plan.steps[0]
    assert first.kind == "await_operation" and first.params["pool"] is None
    assert [s.kind for s in plan.steps[1:]] == ["upgrade_pool"] * 4 + ["verify_cluster"]
    assert plan.steps[-1].params["control_plane"] == "1.36.3"
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.status is RunStatus.SUCCEEDED, result.message
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 1  # only the upgrade started before the plan
    assert first.id not in result.sent
    props = _cluster(fake)
    assert props["provisioningState"] == "Succeeded"
    assert props["currentKubernetesVersion"] == "1.36.3"


def test_replan_while_only_the_control_plane_runs_verifies_the_cluster_state() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    # A stuck upgrade never finishes: the plan waits for it and the run must not report it done.
    fake.add_fault("stuck", method="PUT", path=CLUSTER_PUT)
    az.begin_control_plane_upgrade(clients, RG, NAME, "1.36.3")
    plan, ctx = plan_patch(clients, RG, NAME, kubernetes_version="1.36.3", pools=["system"])
    assert plan.steps[0].kind == "await_operation"
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore(), time_budget=3600)
    assert result.status is not RunStatus.SUCCEEDED
    assert result.sent == ()
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 1
    assert fake.requests(method="PUT", path="agentPools/") == []


def test_a_pool_upgrading_at_the_target_is_waited_for_not_skipped() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    first, ctx0 = plan_patch(clients, RG, NAME, kubernetes_version="1.36.3", pools=["system"])
    done = apply_patch(first, ctx0, stop_after=first.steps[0].id, checkpoints=MemoryCheckpointStore())
    assert done.status is RunStatus.PAUSED and done.error is None
    pool = az.get_pool(clients, RG, NAME, "system")
    az.begin_pool_upgrade(clients, RG, NAME, "system", "1.36.3", cached=pool)
    assert fake.pool_state(SUB, RG, NAME, "system")["provisioningState"] == "Upgrading"
    plan, ctx = plan_patch(clients, RG, NAME, kubernetes_version="1.36.3", pools=["system"])
    assert [s.kind for s in plan.steps] == ["await_operation"]
    assert plan.steps[0].params["pool"] == "system"
    assert not any("pool already" in n.reason for n in plan.noops)
    writes = len(fake.writes())
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.status is RunStatus.SUCCEEDED, result.message
    assert len(fake.writes()) == writes
    assert fake.pool_state(SUB, RG, NAME, "system")["provisioningState"] == "Succeeded"


def test_replan_after_a_failed_upgrade_is_not_already_done() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    fake.add_fault("fail_operation", method="PUT", path=CLUSTER_PUT, code="UpgradeFailed", message="drain")
    az.begin_control_plane_upgrade(clients, RG, NAME, "1.36.3")
    fake.settle()
    assert _cluster(fake)["provisioningState"] == "Failed"
    plan, ctx = plan_patch(clients, RG, NAME, kubernetes_version="1.36.3")
    assert not any("control plane already" in n.reason for n in plan.noops)
    assert plan.steps[0].kind == "update_control_plane"
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.status is RunStatus.SUCCEEDED, result.message
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 2
    assert _cluster(fake)["provisioningState"] == "Succeeded"


def test_failed_at_the_target_sends_the_same_version_again() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    # A failed cluster update leaves the cluster and every pool Failed at their versions.
    _failed_license_change(fake, clients)
    props = _cluster(fake)
    current = str(props["currentKubernetesVersion"])
    plan, ctx = plan_patch(clients, RG, NAME, kubernetes_version=current, pools=["win22"])
    assert not any("already" in n.reason for n in plan.noops)
    kinds = [(s.kind, s.params.get("version")) for s in plan.steps]
    assert kinds[0] == ("update_control_plane", current)
    assert kinds[1][0] == "upgrade_pool" and plan.steps[1].params["pool"] == "win22"
    assert kinds[-1][0] == "verify_cluster"
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.status is RunStatus.SUCCEEDED, result.message
    assert _cluster(fake)["provisioningState"] == "Succeeded"
    assert fake.pool_state(SUB, RG, NAME, "win22")["provisioningState"] == "Succeeded"


def test_ahub_replanned_while_the_license_change_runs_waits_and_sends_nothing() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    az.begin_windows_profile_update(clients, RG, NAME, license_type="None")
    assert _cluster(fake)["provisioningState"] == "Updating"
    plan, ctx = plan_disable_ahub(clients, RG, NAME)
    assert [s.kind for s in plan.steps] == ["update_windows_profile", "verify_licenses"]
    assert not plan.noops
    result = apply_ahub(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.status is RunStatus.SUCCEEDED, result.message
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 1
    assert result.sent == ()
    assert verify_ahub(clients, RG, NAME).ok


def test_ahub_after_a_failed_license_change_sends_it_again() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    _failed_license_change(fake, clients)
    plan, ctx = plan_disable_ahub(clients, RG, NAME)
    assert plan.steps[0].kind == "update_windows_profile"
    result = apply_ahub(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.status is RunStatus.SUCCEEDED, result.message
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 2
    assert _cluster(fake)["provisioningState"] == "Succeeded"
    assert verify_ahub(clients, RG, NAME).ok


def test_password_rotation_that_failed_is_sent_again_on_the_next_run() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    plan, ctx = plan_password_rotation(clients, RG, NAME, new_password=Secret("Rotated-Pa55word!x9"))
    store = MemoryCheckpointStore()
    fake.add_fault("fail_operation", method="PUT", path=CLUSTER_PUT, code="InternalError", message="boom")
    first = apply_password_rotation(plan, ctx, checkpoints=store)
    assert first.status is RunStatus.FAILED
    assert (
        _cluster(fake)["provisioningState"] == "Failed"
    )  # the marker tag is on the cluster, but the write did not succeed
    second = apply_password_rotation(plan, ctx, checkpoints=store)
    assert second.status is RunStatus.SUCCEEDED, second.message
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 2
    assert _cluster(fake)["provisioningState"] == "Succeeded"
