"""Rehearsals run on one virtual clock: nothing in a simulated path waits in real time.

``time.sleep`` is made to fail for the whole of each test, so any real wait in the simulator, the drain, the
replacement check or the runner would fail it; what the tests assert is the outcome and the durations the
library reports, on the simulator's clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import migrate_support as ms
import pytest

from aks_windows_ops import errors as E
from aks_windows_ops.clock import Clock
from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
from aks_windows_ops.runbooks.migrate import apply_migration, plan_migration
from aks_windows_ops.runbooks.runner import RunStatus
from aks_windows_ops.testing import FakeAzure, FakeKubernetes, VirtualClock

NEVER = {
    "apiVersion": "policy/v1",
    "kind": "PodDisruptionBudget",
    "metadata": {"name": "jobs-never", "namespace": "shop"},
    "spec": {"selector": {"matchLabels": {"app": "jobs"}}, "maxUnavailable": 0},
}


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(seconds: float) -> None:
        raise AssertionError(f"a simulated path slept {seconds} s for real")

    monkeypatch.setattr(time, "sleep", refuse)


@pytest.fixture
def twin() -> Iterator[tuple[FakeAzure, FakeKubernetes, Any]]:
    fake, kube, clients = ms.build(ready_delay=20.0)  # pods take 20 virtual seconds to turn Ready
    try:
        yield fake, kube, clients
    finally:
        kube.stop()


def test_virtual_clock_is_a_clock_with_a_date() -> None:
    clock = VirtualClock(epoch=datetime(2027, 3, 1, 10, 0, 0))
    assert isinstance(clock, Clock)
    clock.sleep(90)
    assert clock.monotonic() == 90
    assert clock.now().isoformat() == "2027-03-01T10:01:30+00:00"


def test_azure_and_kubernetes_share_the_simulated_clock(twin: tuple[FakeAzure, FakeKubernetes, Any]) -> None:
    fake, kube, clients = twin
    assert kube.clock is fake.clock is clients.run_clock
    assert fake.clock.now().date() == fake.now_date()


def test_blocked_drain_waits_its_full_timeout_on_virtual_time(
    twin: tuple[FakeAzure, FakeKubernetes, Any],
) -> None:
    fake, kube, clients = twin
    plan, ctx = plan_migration(clients, ms.RG, ms.NAME, "win19", reason="sp-rotation")
    kube.apply(NEVER)  # appears after the plan was made (planning refuses a budget that is already there)
    result = apply_migration(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.status is RunStatus.FAILED
    assert isinstance(result.error, E.DrainBlocked)
    assert result.error.pdbs == ("shop/jobs-never",)
    assert "within 600 s per node" in str(result.error)
    drain = next(r for r in result.records if r.step_id == plan.steps[1].id)
    assert drain.state.value == "failed"
    # The old pool is back in service and kept; nothing was deleted.
    assert all(not n["spec"].get("unschedulable") for n in kube.nodes(pool="win19"))
    assert fake.requests(method="DELETE") == []


def test_the_run_budget_pauses_a_blocked_drain_and_a_later_run_finishes_it(
    twin: tuple[FakeAzure, FakeKubernetes, Any],
) -> None:
    fake, kube, clients = twin
    plan, ctx = plan_migration(clients, ms.RG, ms.NAME, "win19", reason="sp-rotation")
    kube.apply(NEVER)  # appears after the plan was made
    store = MemoryCheckpointStore()
    first = apply_migration(plan, ctx, checkpoints=store, time_budget=12 * 60)
    # The budget (12 min: the pool create takes about 7) ends inside the drain's 600 s per node: the run
    # pauses in the drain, it does not fail.
    assert first.status is RunStatus.PAUSED, first.message
    states = {r.step_id: r.state.value for r in first.records}
    assert states[plan.steps[0].id] == "succeeded" and states[plan.steps[1].id] != "failed"
    assert "time budget exhausted while draining" in first.message
    assert all(n["spec"].get("unschedulable") for n in kube.nodes(pool="win19"))
    kube.delete("PodDisruptionBudget", "jobs-never", "shop")
    second = apply_migration(plan, ctx, checkpoints=store)
    assert second.ok, second.message
    names = {p["name"] for p in fake.cluster_state(ms.SUB, ms.RG, ms.NAME)["properties"]["agentPoolProfiles"]}
    assert "win19" not in names
    assert all(p["spec"]["nodeName"].startswith("akswin") for p in kube.pods("shop"))
    assert all(p["status"]["phase"] == "Running" for p in kube.pods("shop"))


def test_full_migrate_waits_for_slow_pods_on_the_virtual_clock(
    twin: tuple[FakeAzure, FakeKubernetes, Any],
) -> None:
    fake, kube, clients = twin
    before = fake.clock.monotonic()
    plan, ctx = plan_migration(clients, ms.RG, ms.NAME, "win19", reason="os-upgrade")
    mark = kube.history_mark()
    result = apply_migration(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    assert kube.pdb_violations(since=mark) == []
    # Evictions had to wait for 20-second replacements, and those waits passed on the shared clock.
    assert fake.clock.monotonic() - before > 20
    assert all(p["status"]["phase"] == "Running" for p in kube.pods("shop"))
