"""cordon / plan_drain / drain_nodes against the fake API server (kubectl drain semantics)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kube_manifests import add_pools, bare_pod, daemonset, deployment, pdb, statefulset, windows_spec

from aks_windows_ops.errors import DrainBlocked, InvalidInput, NotFound, UnsafeOperation
from aks_windows_ops.kube import cordon, drain_nodes, plan_drain, pods_on_nodes, uncordon, verify_replacements
from aks_windows_ops.testing import VirtualClock
from aks_windows_ops.testing.fake_kube import FakeKubernetes

OLD = ["akswin1000000", "akswin1000001"]
NEW_POOL: dict[str, Any] = {
    "os_type": "Windows",
    "os_sku": "Windows2022",
    "labels": {},
    "taints": ["os=windows:NoSchedule"],
    "kubernetes_version": "1.33.0",
    "max_pods": 30,
}


def recorded_time(kube: FakeKubernetes) -> VirtualClock:
    """The cluster's virtual clock, recording every wait, so timeouts cost no real time."""
    clock = VirtualClock(record=True)
    kube.use_clock(clock)
    return clock


def _writes(kube: FakeKubernetes) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in kube.requests if r.method != "GET"]


def _unschedulable(kube: FakeKubernetes, node: str) -> bool:
    found = kube.node(node)
    assert found is not None
    return bool(found["spec"].get("unschedulable"))


@pytest.fixture
def slow_kube() -> Iterator[FakeKubernetes]:
    """Pods take real time to start and to stop, so budgets do refuse evictions for a while."""
    with FakeKubernetes(ready_delay=0.1, termination_delay=0.03) as fake:
        yield fake


def test_cordon_and_uncordon_are_idempotent(kube: FakeKubernetes, api: Any) -> None:
    kube.add_node("n1")
    assert cordon(api, "n1") is True
    assert _unschedulable(kube, "n1")
    assert cordon(api, "n1") is False
    assert uncordon(api, "n1") is True
    assert not _unschedulable(kube, "n1")
    assert uncordon(api, "n1") is False
    with pytest.raises(NotFound):
        cordon(api, "missing")


def test_plan_skips_daemonset_mirror_and_finished_pods(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=1)
    kube.apply([deployment("web", 2, **windows_spec()), daemonset("winagent", **windows_spec())])
    node = kube.node("akswin1000000")
    assert node is not None
    mirror = bare_pod("kube-proxy-akswin1000000", namespace="kube-system", **windows_spec())
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    mirror["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "name": "akswin1000000",
            "uid": node["metadata"]["uid"],
            "controller": True,
        }
    ]
    kube.apply(mirror)
    kube.apply(bare_pod("done", **windows_spec()))
    kube.set_pod_phase("default", "done", "Succeeded")

    plan = plan_drain(api, ["akswin1000000"])
    reasons = {str(v.pod): v.reason for v in plan.skipped}
    assert reasons["kube-system/kube-proxy-akswin1000000"] == "mirror pod of a static pod"
    assert reasons["default/done"] == "already finished"
    assert any(k.startswith("kube-system/winagent-") and v == "DaemonSet pod" for k, v in reasons.items())
    assert sorted(p.controller or "" for p in plan.evict) == ["Deployment/default/web"] * 2
    assert plan.blocked == ()
    assert _writes(kube) == []


def test_unmanaged_and_emptydir_pods_refuse_before_any_write(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=1)
    kube.apply(deployment("cache", 1, **windows_spec(volumes=[{"name": "scratch", "emptyDir": {}}])))
    kube.apply(bare_pod("handmade", **windows_spec()))
    kube.clear_requests()
    with pytest.raises(UnsafeOperation) as err:
        drain_nodes(api, clock=kube.clock, nodes=["akswin1000000"], poll_interval=0.01, timeout_per_node=1)
    message = str(err.value)
    assert "default/handmade" in message and "no controller" in message
    assert "default/cache-" in message and "emptyDir" in message
    assert not isinstance(err.value, DrainBlocked)
    assert _writes(kube) == []  # no cordon, no eviction
    assert not _unschedulable(kube, "akswin1000000")

    plan = plan_drain(api, ["akswin1000000"], force=True, delete_emptydir_data=True)
    assert {p.name for p in plan.evict} >= {"handmade"} and plan.blocked == ()
    kube.sync_pool("win2", count=1, **NEW_POOL)
    drain_nodes(
        api,
        ["akswin1000000"],
        force=True,
        delete_emptydir_data=True,
        poll_interval=0.01,
        timeout_per_node=2,
        clock=kube.clock,
    )
    assert kube.get("Pod", "handmade") is None  # lost, as the caller consented
    assert [p["spec"]["nodeName"] for p in kube.pods("default")] == ["akswin2000000"]


def test_pod_landing_after_cordon_aborts_and_uncordons(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=2)
    kube.apply(deployment("web", 2, **windows_spec()))
    events: list[dict[str, Any]] = []

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        if event["event"] == "cordoned" and event["node"] == OLD[-1]:
            # A pod bound by name bypasses the cordon, as on a real cluster.
            kube.apply(bare_pod("sneaky", **windows_spec()))
            kube.state.mutate("Pod", "default", "sneaky", lambda p: p["spec"].__setitem__("nodeName", OLD[0]))

    with pytest.raises(UnsafeOperation) as err:
        drain_nodes(
            api, clock=kube.clock, nodes=OLD, on_event=on_event, poll_interval=0.01, timeout_per_node=1
        )
    assert "default/sneaky" in str(err.value)
    assert [e["event"] for e in events] == ["cordoned", "cordoned", "uncordoned", "uncordoned"]
    assert not any(_unschedulable(kube, n) for n in OLD)
    assert not any(r.path.endswith("/eviction") for r in kube.requests)


def test_drain_moves_everything_without_breaking_budgets(slow_kube: FakeKubernetes) -> None:
    kube = slow_kube
    add_pools(kube, old=3)
    old = [n["metadata"]["name"] for n in kube.nodes(pool="win1")]
    kube.apply(
        [
            deployment("web", 4, **windows_spec()),
            pdb("web", "web", min_available=3),
            deployment("api", 3, **windows_spec()),
            pdb("api", "api", max_unavailable=1),
            statefulset("db", 3, **windows_spec()),
            pdb("db", "db", max_unavailable="33%"),
            daemonset("winagent", **windows_spec()),
            deployment("linux", 2, node_selector={"kubernetes.io/os": "linux"}),
        ]
    )
    kube.settle()
    new = kube.sync_pool("win2", count=3, **NEW_POOL)
    kube.settle()
    mark = kube.history_mark()
    events: list[dict[str, Any]] = []
    with kube.api_client() as api:
        before = pods_on_nodes(api, old)
        linux_before = {
            p["metadata"]["uid"] for p in kube.pods("default") if p["metadata"]["labels"]["app"] == "linux"
        }
        result = drain_nodes(
            api,
            old,
            clock=kube.clock,
            timeout_per_node=10,
            concurrency=2,
            poll_interval=0.01,
            on_event=events.append,
        )
        kube.settle()
        problems = verify_replacements(api, before, new)

    assert problems == []
    assert kube.pdb_violations(since=mark) == []
    assert min(kube.ready_history("Deployment/default/web", since=mark)) >= 3
    assert min(kube.ready_history("Deployment/default/api", since=mark)) >= 2
    assert min(kube.ready_history("StatefulSet/default/db", since=mark)) >= 2
    # The budgets were exercised: some evictions had to wait for a replacement to become Ready.
    assert sum(n.refusals for n in result.nodes) > 0
    assert all(n.ok for n in result.nodes)

    planned = {str(p) for p in result.plan.evict}
    assert set(result.evicted) == planned and len(planned) == 10
    for node in old:
        assert _unschedulable(kube, node)
        left = [p["metadata"]["labels"]["app"] for p in kube.pods(node=node)]
        assert left == ["winagent"]  # only the DaemonSet pod stays
    counts = {
        app: sum(
            1
            for p in kube.pods("default")
            if p["metadata"]["labels"].get("app") == app and p["spec"]["nodeName"] in new
        )
        for app in ("web", "api", "db")
    }
    assert counts == {"web": 4, "api": 3, "db": 3}
    assert {
        p["metadata"]["uid"] for p in kube.pods("default") if p["metadata"]["labels"]["app"] == "linux"
    } == linux_before

    kinds = [e["event"] for e in events]
    assert kinds[:3] == ["cordoned"] * 3  # every node cordoned before the first eviction
    assert kinds.count("evicted") == 10
    assert kinds.count("node_drained") == 3


def test_nodes_drain_one_at_a_time_with_concurrency_one(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=2, new=2)
    kube.apply(deployment("web", 4, **windows_spec()))
    events: list[dict[str, Any]] = []
    drain_nodes(
        api,
        clock=kube.clock,
        nodes=OLD,
        concurrency=1,
        poll_interval=0.01,
        timeout_per_node=2,
        on_event=events.append,
    )
    order = [(e["event"], e["node"]) for e in events if e["event"] in ("node_drain_started", "node_drained")]
    assert order == [
        ("node_drain_started", OLD[0]),
        ("node_drained", OLD[0]),
        ("node_drain_started", OLD[1]),
        ("node_drained", OLD[1]),
    ]


def test_budget_that_never_allows_raises_drain_blocked(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=2, new=2)
    kube.apply(
        [
            deployment("strict", 2, **windows_spec(node_selector={"agentpool": "win1"})),
            pdb("strict", "strict", min_available=2),
        ]
    )
    uids = {p["metadata"]["uid"] for p in kube.pods("default")}
    fake = recorded_time(kube)
    with pytest.raises(DrainBlocked) as err:
        drain_nodes(api, OLD, timeout_per_node=20, poll_interval=1, clock=fake)
    assert err.value.pdbs == ("default/strict",)
    assert sorted(err.value.pods) == sorted(f"default/{p['metadata']['name']}" for p in kube.pods("default"))
    assert "default/strict" in str(err.value)
    # Backoff doubles from the poll interval up to 4x and never sleeps past a node's deadline.
    assert fake.sleeps[:4] == [1.0, 2.0, 4.0, 4.0]
    assert max(fake.sleeps) == 4.0
    assert fake.monotonic() == pytest.approx(40.0)
    # Nothing was lost, and the caller can put the old pool back in service.
    assert {p["metadata"]["uid"] for p in kube.pods("default")} == uids
    assert all(_unschedulable(kube, n) for n in OLD)
    for node in OLD:
        uncordon(api, node)
    assert not any(_unschedulable(kube, n) for n in OLD)


def test_pods_that_do_not_terminate_in_time_fail_the_drain() -> None:
    with FakeKubernetes(ready_delay=0, termination_delay=30) as kube, kube.api_client() as slow_api:
        add_pools(kube, old=1, new=1)
        kube.apply(deployment("web", 1, **windows_spec()))
        fake = recorded_time(kube)
        with pytest.raises(UnsafeOperation) as err:
            drain_nodes(
                slow_api,
                ["akswin1000000"],
                timeout_per_node=5,
                poll_interval=1,
                clock=fake,
            )
    assert not isinstance(err.value, DrainBlocked)
    assert "still terminating" in str(err.value)


@pytest.mark.parametrize(
    ("nodes", "options"),
    [([], {}), ("akswin1000000", {}), (OLD, {"concurrency": 0}), (OLD, {"timeout_per_node": 0}), ([""], {})],
)
def test_invalid_arguments(api: Any, nodes: Any, options: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        drain_nodes(api, nodes, **options)
