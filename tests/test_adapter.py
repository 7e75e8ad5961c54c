"""The Azure adapter: budget-capped retries, error translation, snapshot request counts."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from aks_windows_ops import errors as E
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.errors import translate
from aks_windows_ops.azure.facts import read_snapshot
from aks_windows_ops.azure.retry import is_transient, retrying


def test_retry_after_beyond_the_budget_raises_throttled_without_waiting(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    clients.deadline = clients.clock() + 60
    fake.add_fault("throttle", method="GET", times=1, retry_after=1200)
    start = fake.clock.monotonic()
    with pytest.raises(E.Throttled) as info:
        read_snapshot(clients, rg, name)
    assert info.value.retry_after == 1200
    assert fake.clock.monotonic() - start < 60


def test_retry_after_within_the_budget_is_honoured(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    clients.deadline = clients.clock() + 600
    fake.add_fault("throttle", method="GET", times=3, retry_after=20)
    snap = read_snapshot(clients, rg, name, upgrade_profiles=False, scale_sets=False, subnets=False)
    assert snap.ref.name == name
    assert fake.clock.monotonic() >= 60


def test_snapshot_reads_in_the_fewest_requests(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    snap = read_snapshot(clients, rg, name)
    # 1 cluster GET + 1 control plane profile + 4 pool profiles + 1 VMSS list + 2 Windows instance lists + 1 usage
    assert len(fake.journal) == 10
    assert {p.name for p in snap.pools} == {"system", "linux", "win22", "win25"}
    assert snap.scale_set_for("win22") is not None and snap.scale_set_for("system") is None
    light = read_snapshot(clients, rg, name, upgrade_profiles=False, scale_sets=False, subnets=False)
    assert len(fake.journal) == 11 and light.pools == tuple(
        p.__class__(**{**p.__dict__, "latest_node_image_version": None, "upgrade_versions": ()})
        for p in snap.pools
    )


def test_missing_cluster_is_not_found(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, _ = scenario("healthy")
    with pytest.raises(E.NotFound):
        read_snapshot(clients, rg, "nope")


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("SubnetIsFull", "Subnet is full", E.SubnetFull),
        ("InsufficientSubnetSize", "Pre-allocated IPs 276 exceeds IPs available 251", E.SubnetFull),
        (
            "UpgradeFailed",
            "Cannot evict pod as it would violate the pod's disruption budget. pdb: web/web-pdb",
            E.PdbBlockedUpgrade,
        ),
        ("QuotaExceeded", "Operation results in exceeding quota", E.QuotaExceeded),
        ("UpgradeBlockedOnDeprecatedAPIUsage", "deprecated API usage detected", E.DeprecatedApiBlocked),
        ("EtagMismatch", "etag mismatch", E.EtagMismatch),
        (
            "InvalidTemplateDeployment",
            "The following list of images referenced from the deployment template is not found: Publisher: MicrosoftWindowsServer",
            E.OldWindowsImage,
        ),
    ],
)
def test_translation_table(code: str, message: str, expected: type[E.AksWindowsOpsError]) -> None:
    from azure.core.exceptions import HttpResponseError as H

    err = H(message=message)
    err.error = type("ODataV4", (), {"code": code, "message": message})()  # the shape azure-core attaches
    out = translate(err)
    assert type(out) is expected
    assert out.remediation
    if expected is E.PdbBlockedUpgrade:
        assert out.pdb == "web/web-pdb"  # type: ignore[attr-defined]


def test_operation_conflict_from_a_real_409(scenario) -> None:  # type: ignore[no-untyped-def]
    from aks_windows_ops.azure import lro

    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    lro.start(cs.managed_clusters.begin_create_or_update, rg, name, mc)
    with pytest.raises(E.OperationConflict) as info:
        lro.start(cs.agent_pools.begin_upgrade_node_image_version, rg, name, "linux")
    assert info.value.code == "OperationNotAllowed"
    assert "wait" in info.value.remediation.lower()


def test_tenacity_factory_retries_transient_reads_on_virtual_time(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise HttpResponseError(message="busy", response=None)  # type: ignore[arg-type]
        return "ok"

    transient = HttpResponseError(message="x")
    transient.status_code = 503
    assert is_transient(transient)
    assert not is_transient(ValueError("x"))
    r = retrying(attempts=5, sleep=clients.sleep, remaining=lambda: 1000.0)
    with pytest.raises(HttpResponseError):
        r(flaky)  # status None is not transient: no retry
    assert calls["n"] == 1


def test_clients_are_lazy() -> None:
    bundle = AzureClients("sub", credential=object())
    assert "containerservice" not in bundle.__dict__
    assert bundle.remaining() is None
