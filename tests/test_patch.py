"""The patching runbook: FAQ order, refusals, request counts, crash-resume and time budgets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aks_windows_ops import errors as E
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.runbooks.checkpoints import JsonFileCheckpointStore, MemoryCheckpointStore
from aks_windows_ops.runbooks.patch import apply_patch, plan_patch
from aks_windows_ops.runbooks.runner import RunStatus, resume
from aks_windows_ops.runbooks.steps import AZURE_ACTIONS, ClusterContext
from aks_windows_ops.testing import SimulatedCrash
from aks_windows_ops.testing.fake_azure import FakeAzure

SUB, RG, NAME = "00000000-0000-0000-0000-000000000001", "rg-prod", "aks-prod"


def _state(fake: FakeAzure) -> dict[str, Any]:
    c = fake.cluster_state(SUB, RG, NAME)["properties"]
    return {
        "cp": c["currentKubernetesVersion"],
        "state": c["provisioningState"],
        "pools": {
            p["name"]: (p["currentOrchestratorVersion"], p["nodeImageVersion"], p["provisioningState"])
            for p in c["agentPoolProfiles"]
        },
    }


def _non_poll(fake: FakeAzure) -> list[tuple[str, str]]:
    return [(e.method, e.path.rsplit("/", 1)[-1]) for e in fake.journal if e.kind != "poll" and e.status]


def _clients(fake: FakeAzure) -> AzureClients:
    return AzureClients.for_simulator(fake, SUB, polling_interval=120)


def test_version_patch_in_faq_order_with_fewer_requests_than_the_cli() -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    plan, ctx = plan_patch(clients, RG, NAME, kubernetes_version="1.36.3")
    assert fake.writes() == []
    kinds = [s.kind for s in plan.steps]
    assert kinds == [
        "update_control_plane",
        "upgrade_pool",
        "upgrade_pool",
        "upgrade_pool",
        "upgrade_pool",
        "verify_cluster",
    ]
    assert [s.params.get("pool") for s in plan.steps[1:5]] == ["system", "linux", "win22", "win25"]
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.status is RunStatus.SUCCEEDED, result.message
    state = _state(fake)
    assert state["cp"] == "1.36.3"
    assert all(v[0] == "1.36.3" and v[2] == "Succeeded" for v in state["pools"].values())
    cli = 3 + 3 * 4  # az aks upgrade --control-plane-only (GET, PUT, final GET) + az aks nodepool upgrade x4
    assert len(_non_poll(fake)) <= cli
    body = fake.requests(method="PUT", path="managedClusters/aks-prod$")[0].body
    assert "servicePrincipalProfile" not in body["properties"]
    assert {p["name"]: p["orchestratorVersion"] for p in body["properties"]["agentPoolProfiles"]}[
        "win22"
    ] == "1.35.5"


def test_control_plane_only_costs_what_the_cli_costs() -> None:
    fake = FakeAzure.from_scenario("healthy")
    plan, ctx = plan_patch(_clients(fake), RG, NAME, kubernetes_version="1.36.3", pools=["system"])
    # the other pools stay within the 3-minor skew, so only the system pool follows
    assert [s.kind for s in plan.steps][:2] == ["update_control_plane", "upgrade_pool"]
    fake2 = FakeAzure.from_scenario("healthy")
    for name in ("linux", "win22", "win25"):
        fake2.clusters[(SUB, RG, NAME)].pools[name]["currentOrchestratorVersion"] = "1.36.3"
        fake2.clusters[(SUB, RG, NAME)].pools[name]["orchestratorVersion"] = "1.36.3"
    fake2.clusters[(SUB, RG, NAME)].pools["system"]["currentOrchestratorVersion"] = "1.36.3"
    fake2.clusters[(SUB, RG, NAME)].pools["system"]["orchestratorVersion"] = "1.36.3"
    fake2.clusters[(SUB, RG, NAME)].props["currentKubernetesVersion"] = "1.35.7"
    plan2, ctx2 = plan_patch(_clients(fake2), RG, NAME, kubernetes_version="1.36.3")
    assert [s.kind for s in plan2.steps] == ["update_control_plane"]
    assert apply_patch(plan2, ctx2, checkpoints=MemoryCheckpointStore()).ok
    # The CLI's GET, PUT and final GET, plus one read of the region's versions: an unknown patch is refused
    # at plan time, before any write.
    assert len(_non_poll(fake2)) <= 3 + 1


def test_node_image_only_counts_and_windows_note() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    clients = AzureClients.for_simulator(fake, "00000000-0000-0000-0000-000000000002", polling_interval=120)
    plan, ctx = plan_patch(clients, "rg-legacy-apps", "aks-apps", node_image_only=True)
    assert [s.id for s in plan.steps] == ["node-image:win19", "verify"]
    assert any("already on the newest image" in n.reason for n in plan.noops)
    assert apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore()).ok
    pool = fake.pool_state("00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps", "win19")
    assert pool["nodeImageVersion"].endswith(".260715")
    n = 2
    # az aks nodepool get-upgrades per pool (the same verification) + az aks upgrade --node-image-only
    assert len(_non_poll(fake)) <= n + 2 + n
    again, _ = plan_patch(clients, "rg-legacy-apps", "aks-apps", node_image_only=True, pools="windows")
    assert again.steps == ()
    assert "control plane upgrade" in again.noops[0].reason


def test_node_image_only_without_profiles_matches_the_cli() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    clients = AzureClients.for_simulator(fake, "00000000-0000-0000-0000-000000000002", polling_interval=120)
    plan, ctx = plan_patch(clients, "rg-legacy-apps", "aks-apps", node_image_only=True, check_latest=False)
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    # GET, POST x2, GET, as az aks upgrade --node-image-only; the POST that finds the pool current answers 200
    # with no operation, and the library reads that pool back before calling it done (one GET more).
    assert len(_non_poll(fake)) <= 2 + 2 + 1
    assert "already has the newest node image" in next(
        r.message for r in result.records if r.step_id == "node-image:system"
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kubernetes_version": "1.34.8"}, E.InvalidInput),  # downgrade
        ({"kubernetes_version": "not-a-version"}, E.InvalidInput),
        ({"kubernetes_version": "1.36.3", "node_image_only": True}, E.InvalidInput),
        ({"kubernetes_version": "1.36.3", "max_surge": "lots"}, E.InvalidInput),
        ({"node_image_only": True, "max_surge": "1"}, E.InvalidInput),
        ({"kubernetes_version": "1.36.3", "pools": ["nope"]}, E.InvalidInput),
    ],
)
def test_bad_input_is_refused_without_writes(kwargs: dict[str, Any], error: type[Exception]) -> None:
    fake = FakeAzure.from_scenario("healthy")
    with pytest.raises(error):
        plan_patch(_clients(fake), RG, NAME, **kwargs)
    assert fake.writes() == []


def test_minor_skip_refused_or_planned_as_hops() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    clients = AzureClients.for_simulator(fake, "00000000-0000-0000-0000-000000000002", polling_interval=120)
    with pytest.raises(E.InvalidInput, match="skip"):
        plan_patch(clients, "rg-legacy-apps", "aks-apps", kubernetes_version="1.34.10")
    # Windows2019 cannot go to 1.33: the hops plan is refused, pointing to the migrate runbook
    with pytest.raises(E.PreflightFailed) as info:
        plan_patch(clients, "rg-legacy-apps", "aks-apps", kubernetes_version="1.34.10", allow_hops=True)
    assert info.value.findings[0].runbook == "migrate"
    legacy = FakeAzure.from_scenario("legacy-2019")
    old = AzureClients.for_simulator(legacy, "00000000-0000-0000-0000-000000000003", polling_interval=120)
    plan, _ = plan_patch(old, "rg-erp", "aks-erp", kubernetes_version="1.18.1")
    assert plan.steps[0].params["version"] == "1.18.1"
    assert fake.writes() == [] and legacy.writes() == []


def test_hops_planned_when_asked() -> None:
    fake = FakeAzure.from_scenario("healthy")
    fake.clusters[(SUB, RG, NAME)].props["currentKubernetesVersion"] = "1.31.10"
    fake.clusters[(SUB, RG, NAME)].props["kubernetesVersion"] = "1.31.10"
    for p in fake.clusters[(SUB, RG, NAME)].pools.values():
        p["currentOrchestratorVersion"] = p["orchestratorVersion"] = "1.31.10"
    fake.clusters[(SUB, RG, NAME)].pools.pop("win25")
    plan, ctx = plan_patch(_clients(fake), RG, NAME, kubernetes_version="1.33.5", allow_hops=True)
    cps = [s.params["version"] for s in plan.steps if s.kind == "update_control_plane"]
    assert cps == ["1.32.7", "1.33.5"]
    assert apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore()).ok
    assert _state(fake)["cp"] == "1.33.5"


def _crash_run(k: int, tmp: Path, *, kind: str) -> tuple[dict[str, Any], list[tuple[str, str]], int]:
    fake = FakeAzure.from_scenario("healthy")
    store = JsonFileCheckpointStore(tmp / f"cp-{kind}-{k}.json")
    plan, ctx = plan_patch(_clients(fake), RG, NAME, kubernetes_version="1.36.3")
    fake.add_fault(kind, skip=k, times=1)
    crashed = 0
    try:
        result = apply_patch(plan, ctx, checkpoints=store)
        assert result.ok
    except SimulatedCrash:
        crashed = 1
        fake.clear_faults()
        clients = _clients(fake)  # a new process: new clients, no cached reading
        result = resume(
            plan.id,
            AZURE_ACTIONS,
            checkpoints=store,
            clock=clients.run_clock,
            extras={"cluster": ClusterContext(clients, RG, NAME)},
        )
        assert result.ok, result.message
    return _state(fake), _non_poll(fake), crashed


def test_crash_anywhere_then_resume_reaches_the_same_state_without_repeating_writes(tmp_path: Path) -> None:
    reference = FakeAzure.from_scenario("healthy")
    plan, ctx = plan_patch(_clients(reference), RG, NAME, kubernetes_version="1.36.3")
    planned = len(reference.journal)
    assert apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore()).ok
    want = _state(reference)
    total = len(reference.journal) - planned  # every request the apply sends is a crash point
    assert total > 10
    for kind in ("crash_before", "crash_after"):
        for k in range(total):
            state, requests, crashed = _crash_run(k, tmp_path, kind=kind)
            assert crashed, f"{kind} at request {k} was never reached"
            assert state == want, (kind, k)
            writes = [r for r in requests if r[0] in ("PUT", "POST", "DELETE")]
            assert len(writes) == len(set(writes)) == 5, (kind, k, writes)


def test_time_budget_carries_the_patch_over_several_invocations(tmp_path: Path) -> None:
    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    plan, ctx = plan_patch(clients, RG, NAME, kubernetes_version="1.36.3")
    store = JsonFileCheckpointStore(tmp_path / "budget.json")
    runs = 0
    while True:
        runs += 1
        result = apply_patch(
            plan,
            ctx if runs == 1 else ClusterContext(clients, RG, NAME),
            checkpoints=store,
            time_budget=5 * 60,
        )
        if result.status is RunStatus.SUCCEEDED:
            break
        assert result.status is RunStatus.PAUSED and result.resumable
        assert runs < 60
    assert runs >= 10  # a 65-minute patch in 5-minute invocations
    assert _state(fake)["cp"] == "1.36.3"
    writes = [r for r in _non_poll(fake) if r[0] == "PUT"]
    assert len(writes) == 5


def test_conflicting_operation_is_waited_for_not_resent() -> None:
    from aks_windows_ops.azure import lro

    fake = FakeAzure.from_scenario("healthy")
    clients = _clients(fake)
    plan, ctx = plan_patch(
        clients, RG, NAME, kubernetes_version="1.36.3", pools=["system", "linux", "win22", "win25"]
    )
    # someone else starts a scale operation on a pool after the plan was made
    pool = clients.containerservice.agent_pools.get(RG, NAME, "linux")
    pool.properties.count = 3
    lro.start(clients.containerservice.agent_pools.begin_create_or_update, RG, NAME, "linux", pool)
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    conflicts = [e for e in fake.journal if e.status == 409]
    assert conflicts, "the first write must have met the running operation"
    assert _state(fake)["pools"]["linux"][0] == "1.36.3"
