"""Password and Hybrid Benefit runs that meet a running or failed cluster operation: done only when Succeeded.

The service shows ``licenseType`` and tags as soon as it accepts the PUT; the cluster is done only once its
``provisioningState`` is ``Succeeded``.
"""

from __future__ import annotations

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.runbooks.ahub import apply_ahub, plan_disable_ahub, verify_ahub
from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
from aks_windows_ops.runbooks.password import apply_password_rotation, plan_password_rotation
from aks_windows_ops.runbooks.runner import RunStatus
from aks_windows_ops.secrets import Secret
from aks_windows_ops.testing.fake_azure import FakeAzure

SUB, RG, NAME = "00000000-0000-0000-0000-000000000001", "rg-prod", "aks-prod"
CLUSTER_PUT = "managedClusters/aks-prod$"


def _clients(fake: FakeAzure) -> AzureClients:
    return AzureClients.for_simulator(fake, SUB, polling_interval=60)


def _state(fake: FakeAzure) -> str:
    return str(fake.cluster_state(SUB, RG, NAME)["properties"]["provisioningState"])


def test_ahub_replanned_while_the_license_change_runs_waits_and_sends_nothing() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    az.begin_windows_profile_update(clients, RG, NAME, license_type="None")
    assert _state(fake) == "Updating"
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
    fake.add_fault("fail_operation", method="PUT", path=CLUSTER_PUT, code="InternalError", message="boom")
    az.begin_windows_profile_update(clients, RG, NAME, license_type="None")
    fake.settle()
    assert _state(fake) == "Failed"
    plan, ctx = plan_disable_ahub(clients, RG, NAME)
    assert plan.steps[0].kind == "update_windows_profile"
    result = apply_ahub(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.status is RunStatus.SUCCEEDED, result.message
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 2
    assert _state(fake) == "Succeeded"
    assert verify_ahub(clients, RG, NAME).ok


def test_password_rotation_that_failed_is_sent_again_on_the_next_run() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    plan, ctx = plan_password_rotation(clients, RG, NAME, new_password=Secret("Rotated-Pa55word!x9"))
    store = MemoryCheckpointStore()
    fake.add_fault("fail_operation", method="PUT", path=CLUSTER_PUT, code="InternalError", message="boom")
    first = apply_password_rotation(plan, ctx, checkpoints=store)
    assert first.status is RunStatus.FAILED
    assert _state(fake) == "Failed"  # the marker tag is on the cluster, but the write did not succeed
    second = apply_password_rotation(plan, ctx, checkpoints=store)
    assert second.status is RunStatus.SUCCEEDED, second.message
    assert len(fake.requests(method="PUT", path=CLUSTER_PUT)) == 2
    assert _state(fake) == "Succeeded"
