"""Drain analysis at plan time: budgets that never allow an eviction, unmanaged pods, room on the new pool."""

from __future__ import annotations

from typing import Any

import migrate_support as ms
import pytest

from aks_windows_ops import errors as E
from aks_windows_ops.kube.drain_analysis import blocking_budgets, pool_room
from aks_windows_ops.runbooks.migrate import plan_migration
from aks_windows_ops.runbooks.patch import plan_patch


def _pod(name: str, labels: dict[str, str], *, owned: bool = True, cpu: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": name, "labels": labels}
    if owned:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": "rs", "controller": True}]
    container: dict[str, Any] = {"name": "c", "image": "x"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu, "memory": "1Gi"}}
    return {
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [container]},
        "status": {"phase": "Running"},
    }


def _pdb(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "b", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "a"}}, **spec},
    }


@pytest.mark.parametrize(
    ("spec", "owned", "blocks"),
    [
        ({"maxUnavailable": 0}, True, True),
        ({"maxUnavailable": "0%"}, True, True),
        ({"maxUnavailable": 1}, True, False),
        ({"maxUnavailable": "10%"}, True, False),  # rounds up to 1
        ({"minAvailable": 3}, True, True),
        ({"minAvailable": 4}, True, True),
        ({"minAvailable": 2}, True, False),
        ({"minAvailable": "100%"}, True, True),
        ({"minAvailable": "60%"}, True, False),
        ({"minAvailable": 2}, False, False),  # an integer minAvailable works over unmanaged pods
        ({"maxUnavailable": 1}, False, True),
        ({"minAvailable": "50%"}, False, True),
    ],
)
def test_blocking_budgets(spec: dict[str, Any], owned: bool, blocks: bool) -> None:
    pods = [_pod(f"p{i}", {"app": "a"}, owned=owned) for i in range(3)]
    found = blocking_budgets([_pdb(spec)], pods)
    assert bool(found) is blocks
    if found:
        assert found[0].subject == "shop/b" and found[0].code == "PDB_NEVER_ALLOWS_EVICTION"


def test_budget_over_pods_that_do_not_move_is_ignored() -> None:
    pods = [_pod(f"p{i}", {"app": "a"}) for i in range(2)]
    other = _pod("q", {"app": "other"})
    assert blocking_budgets([_pdb({"maxUnavailable": 0})], [*pods, other], evicting=[other]) == []


def test_pool_room_counts_pods_and_requests() -> None:
    moving = [_pod(f"p{i}", {}, cpu="1") for i in range(10)]
    assert pool_room(moving, nodes=2, max_pods=5, per_node_pods=1) != []
    assert pool_room(moving, nodes=2, max_pods=6) == []
    small = {"cpu": "3860m", "memory": "12880792Ki"}
    found = pool_room(moving, nodes=2, max_pods=30, allocatable=small)
    assert [f.code for f in found] == ["NEW_POOL_TOO_SMALL"] and "CPU" in found[0].message
    assert pool_room(moving, nodes=3, max_pods=30, allocatable=small) == []


def test_migrate_refuses_unmanaged_pods_unless_forced_and_a_pool_without_room() -> None:
    fake, kube, clients = ms.build()
    try:
        node = kube.nodes(pool="win19")[0]["metadata"]["name"]
        kube.apply(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "loner", "namespace": "shop"},
                "spec": {
                    "nodeName": node,
                    "tolerations": ms.TOLERATE,
                    "containers": [{"name": "c", "image": "mcr.microsoft.com/windows/servercore:ltsc2019"}],
                },
            }
        )
        kube.settle()
        fake.clear_journal()
        with pytest.raises(E.UnsafeOperation) as info:
            plan_migration(clients, ms.RG, ms.NAME, "win19", reason="sp-rotation")
        assert "shop/loner" in str(info.value) and "--force" in (info.value.remediation or "")
        plan, _ = plan_migration(clients, ms.RG, ms.NAME, "win19", reason="sp-rotation", force=True)
        assert any("shop/loner" in w for w in plan.warnings)
        kube.delete("Pod", "loner", "shop")
        with pytest.raises(E.UnsafeOperation) as info:
            plan_migration(clients, ms.RG, ms.NAME, "win19", reason="sp-rotation", count=1, max_pods=10)
        assert "pool win192 takes 9 moved pods" in str(info.value) and "must move" in str(info.value)
        assert fake.writes() == []
    finally:
        kube.stop()


def test_patch_refuses_a_budget_that_blocks_a_pool_upgrade_before_any_write() -> None:
    fake, kube, clients = ms.build()
    try:
        kube.apply(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "api-pdb", "namespace": "shop"},
                "spec": {"selector": {"matchLabels": {"app": "api"}}, "maxUnavailable": 0},
            }
        )
        fake.clear_journal()
        with pytest.raises(E.UnsafeOperation) as info:
            plan_patch(clients, ms.RG, ms.NAME, node_image_only=True, pools="windows", kube=kube.api_client())
        assert "shop/api-pdb" in str(info.value) and "maxUnavailable 0" in str(info.value)
        assert fake.writes() == []
        plan, _ = plan_patch(clients, ms.RG, ms.NAME, node_image_only=True, pools="windows")
        assert any("not checked" in w for w in plan.warnings)
    finally:
        kube.stop()
