"""Every registered procedure through the one public ``apply`` and ``resume``, with public names only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import aks_windows_ops as ops
from aks_windows_ops.runbooks.events import Event, EventKind
from aks_windows_ops.testing import FakeAzure, FakeKubernetes, SimulatedCrash, load_scenario

Check = Callable[[Any, "Cluster", Any], None]


@dataclass
class Cluster:
    fake: FakeAzure
    kube: FakeKubernetes
    sub: str
    rg: str
    name: str

    def clients(self) -> Any:
        """A new client bundle (a new process: no cached reading)."""
        return ops.AzureClients.for_simulator(self.fake, self.sub, polling_interval=60)


@pytest.fixture
def twin_of() -> Iterator[Callable[[str], Cluster]]:
    started: list[FakeKubernetes] = []

    def build(scenario: str) -> Cluster:
        kube = FakeKubernetes(ready_delay=0.0).start()
        started.append(kube)
        fake = load_scenario(scenario, kube=kube)
        (sub, _, _), cluster = next(iter(fake.clusters.items()))
        return Cluster(fake, kube, sub, cluster.resource_group, cluster.name)

    yield build
    for kube in started:
        kube.stop()


def _snapshot(c: Cluster) -> Any:
    return ops.read_snapshot(c.clients(), c.rg, c.name)


def _next_version(c: Cluster, clients: Any) -> str:
    """The newest version the cluster may upgrade to in one minor step (what the region offers today)."""
    from aks_windows_ops.azure.facts import control_plane_upgrades

    def minor(version: str) -> tuple[int, int]:
        major, minor_part = version.split(".")[:2]
        return int(major), int(minor_part)

    current = minor(str(_snapshot(c).current_kubernetes_version))
    offered = [
        v for v in control_plane_upgrades(clients, c.rg, c.name) if minor(v) <= (current[0], current[1] + 1)
    ]
    return max(offered, key=lambda v: tuple(int(x) for x in v.split(".")))


def _patched(plan: Any, c: Cluster, kube: Any) -> None:
    target = str(plan.steps[0].params["version"])
    snap = _snapshot(c)
    assert snap.current_kubernetes_version == target
    assert {p.current_orchestrator_version for p in snap.pools} == {target}


def _rotated(plan: Any, c: Cluster, kube: Any) -> None:
    from aks_windows_ops.runbooks.password import MARKER_TAG

    cluster = c.clients().containerservice.managed_clusters.get(c.rg, c.name)
    assert (cluster.tags or {})[MARKER_TAG] == f"{plan.id}/{plan.steps[0].id}"
    assert cluster.provisioning_state == "Succeeded"


def _licensed(plan: Any, c: Cluster, kube: Any) -> None:
    report = ops.verify_ahub(c.clients(), c.rg, c.name)
    assert report.ok and report.cluster_license == "Windows_Server"


def _pool_added(plan: Any, c: Cluster, kube: Any) -> None:
    pools = {p.name: p for p in _snapshot(c).pools}
    assert pools["wnew"].os_type.value == "Windows" and pools["wnew"].provisioning_state == "Succeeded"


def _migrated(plan: Any, c: Cluster, kube: Any) -> None:
    names = {p.name for p in _snapshot(c).pools}
    new_pool = str(plan.steps[0].params["pool"])
    assert "win19" not in names and new_pool in names
    from kubernetes import client

    nodes = client.CoreV1Api(kube).list_node(label_selector=f"agentpool={new_pool}").items
    assert nodes and all(not n.spec.unschedulable for n in nodes)


@dataclass(frozen=True)
class Case:
    procedure: str
    scenario: str
    plan: Callable[[Cluster, Any], tuple[Any, Any]]
    check: Check
    alias: Callable[..., Any]


def _kube_client(c: Cluster) -> Any:
    return c.kube.api_client()


CASES = [
    Case(
        "patch",
        "healthy",
        lambda c, cl: ops.plan_patch(cl, c.rg, c.name, kubernetes_version=_next_version(c, cl)),
        _patched,
        ops.apply_patch,
    ),
    Case(
        "rotate-password",
        "ws2019-retiring",
        lambda c, cl: ops.plan_password_rotation(cl, c.rg, c.name, new_password=ops.Secret("N3w-Pa55word!x")),
        _rotated,
        ops.apply_password_rotation,
    ),
    Case(
        "ahub",
        "ws2019-retiring",
        lambda c, cl: ops.plan_enable_ahub(cl, c.rg, c.name),
        _licensed,
        ops.apply_ahub,
    ),
    Case(
        "ahub-nodes",
        "ws2019-retiring",
        lambda c, cl: ops.plan_ahub_for_nodes(cl, c.rg, c.name, instances=["win19/2"]),
        _licensed,
        ops.apply_ahub,
    ),
    Case(
        "add-pool",
        "healthy",
        lambda c, cl: ops.plan_add_pool(cl, c.rg, c.name, "wnew", kube=_kube_client(c)),
        _pool_added,
        ops.apply_add_pool,
    ),
    Case(
        "migrate",
        "ws2019-retiring",
        lambda c, cl: ops.plan_migration(
            cl, c.rg, c.name, "win19", reason="os-upgrade", kube=_kube_client(c)
        ),
        _migrated,
        ops.apply_migration,
    ),
]
IDS = [c.procedure for c in CASES]


def test_every_registered_procedure_is_covered_here() -> None:
    assert sorted(IDS) == sorted(ops.PROCEDURES)
    for procedure in ops.PROCEDURES.values():
        for name in procedure.planner_names:
            assert callable(getattr(ops, name)), name  # every planner is public


def _crash_once_a_write_is_sent(event: Event) -> None:
    if event.kind is EventKind.WAITING and event.message.startswith("write sent"):
        raise SimulatedCrash("the process dies once its first write is under way")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_crash_then_resume_in_a_new_process_finishes_every_procedure(
    case: Case, twin_of: Callable[[str], Cluster], tmp_path: Path
) -> None:
    c = twin_of(case.scenario)
    plan, context = case.plan(c, c.clients())
    assert plan.procedure == case.procedure and plan.steps
    with pytest.raises(SimulatedCrash):
        ops.apply(plan, context, checkpoints=str(tmp_path / "cp.json"), on_event=_crash_once_a_write_is_sent)
    secret = ops.Secret("N3w-Pa55word!x") if ops.get_procedure(plan.procedure).secret else None
    # A new process: new clients and a new handle on the store; only the plan id is known.
    result = ops.resume(plan.id, c.clients(), checkpoints=str(tmp_path / "cp.json"), secret=secret)
    assert result.ok, result.message
    case.check(plan, c, _kube_client(c))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_stop_after_then_resume_goes_on_from_the_next_step(
    case: Case, twin_of: Callable[[str], Cluster], tmp_path: Path
) -> None:
    c = twin_of(case.scenario)
    plan, context = case.plan(c, c.clients())
    first = plan.steps[0].id
    stopped = ops.apply(plan, context, checkpoints=str(tmp_path / "cp.db"), stop_after=first)
    assert stopped.status.value == ("succeeded" if len(plan.steps) == 1 else "paused"), stopped.message
    assert first not in stopped.remaining
    result = ops.resume(plan.id, c.clients(), checkpoints=str(tmp_path / "cp.db"))
    assert result.ok, result.message
    assert first in result.skipped  # checked again, found done, not sent again
    case.check(plan, c, _kube_client(c))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_alias_does_what_apply_does_and_changes_neither_argument(
    case: Case, twin_of: Callable[[str], Cluster]
) -> None:
    outcomes = []
    for run in (ops.apply, case.alias):
        c = twin_of(case.scenario)
        plan, context = case.plan(c, c.clients())
        before = (plan.to_dict(), context.abort_conflicting, dict(context.secrets), context.kube)
        result = run(plan, context, checkpoints="memory:")
        assert result.ok, result.message
        assert (plan.to_dict(), context.abort_conflicting, dict(context.secrets), context.kube) == before
        case.check(plan, c, _kube_client(c))
        outcomes.append((result.status, result.done, result.sent, _snapshot(c).pools))
    assert outcomes[0] == outcomes[1]


def test_an_alias_refuses_a_plan_of_another_procedure_before_any_request(
    twin_of: Callable[[str], Cluster],
) -> None:
    c = twin_of("ws2019-retiring")
    plan, context = ops.plan_enable_ahub(c.clients(), c.rg, c.name)
    mark = len(c.fake.journal)
    with pytest.raises(ops.InvalidInput, match="procedure 'ahub', not 'patch'"):
        ops.apply_patch(plan, context, checkpoints="memory:")
    assert len(c.fake.journal) == mark


def test_an_unknown_procedure_in_a_stored_plan_is_a_typed_error_and_nothing_is_sent(
    twin_of: Callable[[str], Cluster], tmp_path: Path
) -> None:
    from aks_windows_ops.runbooks.checkpoints import checkpoint_store_from_url
    from aks_windows_ops.runbooks.integrity import sign_store

    c = twin_of("healthy")
    target = f"{c.sub}/{c.rg}/{c.name}"
    plan = ops.Plan(
        procedure="defragment",
        target=target,
        steps=(
            ops.Step("s1", "defrag", "Defragment", f"{target}/x", "a procedure this release does not know"),
        ),
    )
    sign_store(checkpoint_store_from_url(str(tmp_path / "cp.json"))).save_plan(plan)
    mark = len(c.fake.journal)
    with pytest.raises(ops.NotFound, match="no procedure 'defragment'"):
        ops.resume(plan.id, c.clients(), checkpoints=str(tmp_path / "cp.json"))
    context = ops.ClusterContext(c.clients(), c.rg, c.name)
    with pytest.raises(ops.NotFound):
        ops.apply(plan, context, checkpoints="memory:")
    with pytest.raises(ops.NotFound):
        ops.get_procedure("defragment")
    assert len(c.fake.journal) == mark


def test_apply_refuses_a_migration_without_kubernetes_access_before_any_request(
    twin_of: Callable[[str], Cluster],
) -> None:
    c = twin_of("ws2019-retiring")
    plan, context = ops.plan_migration(
        c.clients(), c.rg, c.name, "win19", reason="os-upgrade", kube=_kube_client(c)
    )
    bare = ops.ClusterContext(c.clients(), c.rg, c.name)
    mark = len(c.fake.journal)
    with pytest.raises(ops.InvalidInput, match="Kubernetes API"):
        ops.apply(plan, bare, checkpoints="memory:")
    assert len(c.fake.journal) == mark
