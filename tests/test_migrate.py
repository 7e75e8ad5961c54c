"""Migrate and delete: replace a Windows pool without losing a workload (real SDK and kubernetes clients)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import migrate_support as ms
import pytest

from aks_windows_ops import errors as E
from aks_windows_ops import resume
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.runbooks.checkpoints import JsonFileCheckpointStore, MemoryCheckpointStore
from aks_windows_ops.runbooks.events import Event, EventKind
from aks_windows_ops.runbooks.migrate import apply_migration, plan_migration
from aks_windows_ops.runbooks.runner import RunStatus
from aks_windows_ops.runbooks.steps import ClusterContext
from aks_windows_ops.testing import SimulatedCrash


def _fast(ctx: ClusterContext) -> ClusterContext:
    return ctx


def _end_state(fake: Any, kube: Any) -> dict[str, Any]:
    props = fake.cluster_state(ms.SUB, ms.RG, ms.NAME)["properties"]
    shop = kube.pods("shop")
    return {
        "pools": sorted(
            (p["name"], p.get("osSKU"), p["provisioningState"]) for p in props["agentPoolProfiles"]
        ),
        "nodes": sorted({p["spec"].get("nodeName", "")[:9] for p in shop}),
        "ready": sorted((p["metadata"]["name"].split("-")[0], p["status"].get("phase")) for p in shop),
    }


def test_migrates_ws2019_pool_with_zero_pods_lost() -> None:
    fake, kube, clients = ms.build()
    try:
        plan, ctx = plan_migration(clients, ms.RG, ms.NAME, "win19", reason="os-upgrade")
        assert fake.writes() == []
        assert [s.kind for s in plan.steps] == [
            "create_pool",
            "drain_pool",
            "verify_replacements",
            "delete_pool",
        ]
        assert plan.steps[0].params["properties"]["osSKU"] == "Windows2022"
        assert plan.steps[0].params["properties"]["nodeTaints"] == ["os=windows:NoSchedule"]
        assert any(
            "cannot tell whether image mcr.microsoft.com/dotnet/framework/aspnet:4.8" in w
            for w in plan.warnings
        )
        mark = kube.history_mark()
        result = apply_migration(plan, _fast(ctx), checkpoints=MemoryCheckpointStore())
        assert result.ok, result.message
        assert kube.pdb_violations(since=mark) == []
        for owner, budget_min in (
            ("Deployment/shop/web", 3),
            ("Deployment/shop/api", 2),
            ("StatefulSet/shop/ledger", 1),
        ):
            assert min(kube.ready_history(owner, since=mark)) >= budget_min, owner
        state = _end_state(fake, kube)
        assert [p[0] for p in state["pools"]] == ["system", "win192"]
        assert state["nodes"] == ["akswin192"]
        assert len(kube.pods("shop")) == 4 + 3 + 2 + 2 + 3  # with the scenario's storefront
        assert all(phase == "Running" for _, phase in state["ready"])
        assert len(kube.pods("kube-system")) == 3  # the DaemonSet follows the new nodes
    finally:
        kube.stop()


def test_a_budget_that_never_allows_an_eviction_is_refused_at_plan_time() -> None:
    fake, kube, clients = ms.build()
    try:
        kube.apply(JOBS_PDB)
        with pytest.raises(E.UnsafeOperation) as info:
            plan_migration(clients, ms.RG, ms.NAME, "win19", reason="sp-rotation")
        assert "shop/jobs-pdb" in str(info.value) and "minAvailable 2" in str(info.value)
        assert "Lower minAvailable of shop/jobs-pdb to 1" in (info.value.remediation or "")
        assert fake.writes() == []
    finally:
        kube.stop()


JOBS_PDB = {
    "apiVersion": "policy/v1",
    "kind": "PodDisruptionBudget",
    "metadata": {"name": "jobs-pdb", "namespace": "shop"},
    "spec": {"selector": {"matchLabels": {"app": "jobs"}}, "minAvailable": 2},
}


def test_blocking_pdb_ends_in_drain_blocked_with_old_pool_intact_and_uncordoned() -> None:
    fake, kube, clients = ms.build()
    try:
        plan, ctx = plan_migration(clients, ms.RG, ms.NAME, "win19", reason="sp-rotation", drain_timeout=1.0)
        kube.apply(JOBS_PDB)  # appears after the plan was made
        result = apply_migration(plan, _fast(ctx), checkpoints=MemoryCheckpointStore())
        assert result.status is RunStatus.FAILED
        assert isinstance(result.error, E.DrainBlocked)
        assert "shop/jobs-pdb" in result.error.pdbs
        pools = {
            p["name"] for p in fake.cluster_state(ms.SUB, ms.RG, ms.NAME)["properties"]["agentPoolProfiles"]
        }
        assert "win19" in pools
        old_nodes = kube.nodes(pool="win19")
        assert old_nodes and all(not n["spec"].get("unschedulable") for n in old_nodes)
        message, remediation = str(result.error), result.error.remediation or ""
        assert "stay cordoned" not in message and "still cordoned" not in message
        assert f"all {len(old_nodes)} of its nodes are schedulable" in message
        new_pool = plan.steps[0].params["pool"]
        assert f"new pool {new_pool} exists" in message and "running and billed" in message
        assert (
            f"az aks nodepool delete --resource-group {ms.RG} --cluster-name {ms.NAME} --name {new_pool}"
            in remediation
        )
        ready = {
            name: sum(
                1
                for p in kube.pods("shop")
                if p["metadata"]["name"].startswith(name + "-")
                and any(
                    c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])
                )
            )
            for name in ("web", "api", "jobs", "ledger")
        }
        assert ready == {"web": 4, "api": 3, "jobs": 2, "ledger": 2}
        assert fake.requests(method="DELETE") == []
    finally:
        kube.stop()


def test_preflight_refusals_send_no_write() -> None:
    fake, kube, clients = ms.build()
    try:
        pinned = ms.workloads()[0]
        pinned["metadata"]["name"] = "pinned"
        pinned["spec"]["selector"] = {"matchLabels": {"app": "pinned"}}
        pinned["spec"]["template"]["metadata"]["labels"] = {"app": "pinned"}
        pinned["spec"]["template"]["spec"]["nodeSelector"]["agentpool"] = "win19"
        kube.apply(pinned)
        kube.settle()
        with pytest.raises(E.PreflightFailed) as info:
            plan_migration(clients, ms.RG, ms.NAME, "win19", reason="sp-rotation")
        assert (
            info.value.findings[0].code == "POD_CANNOT_MOVE" and "pinned" in info.value.findings[0].resource
        )
        with pytest.raises(E.PreflightFailed):
            plan_migration(clients, ms.RG, ms.NAME, "system", reason="custom")
        with pytest.raises(E.InvalidInput):
            plan_migration(clients, ms.RG, ms.NAME, "win19", reason="because")
        with pytest.raises(E.InvalidInput):
            plan_migration(clients, ms.RG, ms.NAME, "win19", reason="sp-rotation", new_pool="toolong1")
        with pytest.raises(E.InvalidInput):
            plan_migration(clients, ms.RG, ms.NAME, "win19", reason="max-pods")
        assert fake.writes() == []
    finally:
        kube.stop()


def test_max_pods_change_makes_a_new_pool_with_the_new_value() -> None:
    fake, kube, clients = ms.build()
    try:
        plan, ctx = plan_migration(
            clients, ms.RG, ms.NAME, "win19", reason="max-pods", max_pods=60, new_pool="win60"
        )
        assert plan.steps[0].params["properties"]["maxPods"] == 60
        assert (
            plan.steps[0].params["properties"]["osSKU"] == "Windows2019"
        )  # same host build: images keep working
        assert apply_migration(plan, _fast(ctx), checkpoints=MemoryCheckpointStore()).ok
        assert fake.pool_state(ms.SUB, ms.RG, ms.NAME, "win60")["maxPods"] == 60
    finally:
        kube.stop()


def test_old_image_reason_upgrades_the_control_plane_first() -> None:
    from aks_windows_ops.testing.fake_azure import FakeAzure
    from aks_windows_ops.testing.fake_kube import FakeKubernetes

    kube = FakeKubernetes(ready_delay=0.0).start()
    try:
        fake = FakeAzure.from_scenario("legacy-2019", kube=kube)
        clients = AzureClients.for_simulator(
            fake, "00000000-0000-0000-0000-000000000003", polling_interval=60
        )
        plan, ctx = plan_migration(clients, "rg-erp", "aks-erp", "erpwin", reason="old-image")
        # the cluster is on 1.17 (created January 2020, never upgraded): the next minor the region offers
        assert [s.kind for s in plan.steps][:2] == ["update_control_plane", "create_pool"]
        assert plan.steps[0].params["version"] == "1.18.1"
        result = apply_migration(plan, _fast(ctx), checkpoints=MemoryCheckpointStore())
        assert result.ok, result.message
        props = fake.cluster_state("00000000-0000-0000-0000-000000000003", "rg-erp", "aks-erp")["properties"]
        assert props["currentKubernetesVersion"] == "1.18.1"
        assert {p["name"] for p in props["agentPoolProfiles"]} == {"nodepool1", "erpwi2"}
    finally:
        kube.stop()


def _crash_on_event(kind: EventKind, step_prefix: str, nth: int) -> Any:
    seen = {"n": 0}

    def hook(event: Event) -> None:
        if event.kind is kind and (event.step_id or "").startswith(step_prefix):
            seen["n"] += 1
            if seen["n"] == nth:
                raise SimulatedCrash(f"crash at {kind.value} #{nth} of {step_prefix}")

    return hook


def _resume(fake: Any, kube: Any, plan_id: str, store: Any) -> Any:
    clients = AzureClients.for_simulator(fake, ms.SUB, polling_interval=60)
    # A new process: the Kubernetes client comes from the cluster's user kubeconfig.
    return resume(plan_id, clients, checkpoints=store)


CRASHES: list[tuple[str, Any]] = [
    *[
        (f"step-start:{p}", ("event", EventKind.STEP_STARTED, p, 1))
        for p in ("create-pool", "drain", "verify-moved", "delete-pool")
    ],
    *[
        (f"step-done:{p}", ("event", EventKind.STEP_SUCCEEDED, p, 1))
        for p in ("create-pool", "drain", "verify-moved", "delete-pool")
    ],
    *[(f"mid-drain:{n}", ("event", EventKind.WAITING, "drain", n)) for n in (2, 6, 12)],
    *[
        (f"arm:{kind}:{k}", ("arm", kind, k))
        for kind in ("crash_before", "crash_after")
        for k in (1, 3, 6, 9, 12)
    ],
]


@pytest.mark.parametrize(("label", "crash"), CRASHES, ids=[c[0] for c in CRASHES])
def test_crash_anywhere_then_resume_reaches_the_same_end_state(
    tmp_path: Path, label: str, crash: Any
) -> None:
    fake, kube, clients = ms.build()
    try:
        plan, ctx = plan_migration(clients, ms.RG, ms.NAME, "win19", reason="os-upgrade")
        store = JsonFileCheckpointStore(tmp_path / "migrate.json")
        mark = kube.history_mark()
        hook = None
        if crash[0] == "event":
            hook = _crash_on_event(crash[1], crash[2], crash[3])
        else:
            fake.add_fault(crash[1], skip=crash[2], times=1)
        crashed = False
        try:
            result = apply_migration(plan, _fast(ctx), checkpoints=store, on_event=hook)
        except SimulatedCrash:
            crashed = True
            fake.clear_faults()
            result = _resume(fake, kube, plan.id, store)
        assert result.ok, (label, result.message)
        assert crashed, f"{label}: the crash point was never reached"
        state = _end_state(fake, kube)
        assert [p[0] for p in state["pools"]] == ["system", "win192"], label
        assert state["nodes"] == ["akswin192"], label
        assert kube.pdb_violations(since=mark) == [], label
        writes = [
            (e.method, e.path) for e in fake.journal if e.kind == "write" and e.status and e.status < 400
        ]
        assert len(writes) == len(set(writes)) == 2, (label, writes)  # one PUT (create) and one DELETE
    finally:
        kube.stop()


def test_old_image_fix_waits_for_a_control_plane_upgrade_already_running() -> None:
    from aks_windows_ops.azure import actions as az
    from aks_windows_ops.testing.fake_azure import FakeAzure
    from aks_windows_ops.testing.fake_kube import FakeKubernetes

    kube = FakeKubernetes(ready_delay=0.0).start()
    try:
        sub = "00000000-0000-0000-0000-000000000003"
        fake = FakeAzure.from_scenario("legacy-2019", kube=kube)
        clients = AzureClients.for_simulator(fake, sub, polling_interval=60)
        az.begin_control_plane_upgrade(clients, "rg-erp", "aks-erp", "1.18.1")
        plan, ctx = plan_migration(clients, "rg-erp", "aks-erp", "erpwin", reason="old-image")
        # The running upgrade is the fix's first step: waited for, not followed by a second upgrade.
        assert [s.kind for s in plan.steps][:2] == ["await_operation", "create_pool"]
        assert plan.steps[0].params["version"] == "1.18.1"
        result = apply_migration(plan, _fast(ctx), checkpoints=MemoryCheckpointStore())
        assert result.ok, result.message
        assert len(fake.requests(method="PUT", path="managedClusters/aks-erp$")) == 1
        props = fake.cluster_state(sub, "rg-erp", "aks-erp")["properties"]
        assert props["currentKubernetesVersion"] == "1.18.1"
        assert props["provisioningState"] == "Succeeded"
    finally:
        kube.stop()
