"""The fake cluster's controllers, scheduler, kubelet and AKS pool sync."""

from __future__ import annotations

from typing import Any

import pytest
from kube_manifests import (
    add_pools,
    bare_pod,
    daemonset,
    deployment,
    k8s,
    pdb,
    statefulset,
    windows_spec,
)

from aks_windows_ops.testing.fake_kube import ApiError, FakeKubernetes


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def _app(kube: FakeKubernetes, app: str) -> list[dict[str, Any]]:
    return [p for p in kube.pods() if p["metadata"]["labels"].get("app") == app]


def test_sync_pool_names_labels_taints_and_scaling(kube: FakeKubernetes) -> None:
    names = kube.sync_pool(
        "win19",
        os_type="Windows",
        os_sku="Windows2019",
        count=2,
        labels={"team": "payments"},
        taints=["os=windows:NoSchedule"],
        kubernetes_version="1.32.4",
        max_pods=30,
    )
    assert names == ["akswin19000000", "akswin19000001"]
    node = kube.node("akswin19000000")
    assert node is not None
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/os"] == "windows"
    assert labels["agentpool"] == labels["kubernetes.azure.com/agentpool"] == "win19"
    assert labels["kubernetes.azure.com/os-sku"] == "Windows2019"
    assert labels["node.kubernetes.io/windows-build"] == "10.0.17763"
    assert labels["kubernetes.azure.com/mode"] == "user"
    assert labels["team"] == "payments"
    assert node["spec"]["taints"] == [{"key": "os", "value": "windows", "effect": "NoSchedule"}]
    assert node["status"]["allocatable"]["pods"] == "30"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.4"

    linux = kube.sync_pool(
        "nodepool1", os_type="Linux", count=1, kubernetes_version="1.32.4", max_pods=110, mode="System"
    )
    assert linux == ["aks-nodepool1-12345678-vmss000000"]
    linux_labels = kube.nodes(pool="nodepool1")[0]["metadata"]["labels"]
    assert "node.kubernetes.io/windows-build" not in linux_labels
    assert linux_labels["kubernetes.azure.com/mode"] == "system"

    kube.state.mutate("Node", "", "akswin19000000", lambda n: n["spec"].__setitem__("unschedulable", True))
    grown = kube.sync_pool(
        "win19",
        os_type="Windows",
        os_sku="Windows2019",
        count=3,
        labels={"team": "payments"},
        taints=["os=windows:NoSchedule"],
        kubernetes_version="1.33.0",
        max_pods=30,
    )
    assert grown == ["akswin19000000", "akswin19000001", "akswin19000002"]
    first = kube.node("akswin19000000")
    assert first is not None and first["spec"]["unschedulable"] is True  # a re-sync keeps the cordon
    assert first["status"]["nodeInfo"]["kubeletVersion"] == "v1.33.0"

    shrunk = kube.sync_pool(
        "win19",
        os_type="Windows",
        os_sku="Windows2019",
        count=1,
        labels={},
        taints=[],
        kubernetes_version="1.33.0",
        max_pods=30,
    )
    assert shrunk == ["akswin19000000"]
    regrown = kube.sync_pool(
        "win19",
        os_type="Windows",
        os_sku="Windows2019",
        count=2,
        labels={},
        taints=[],
        kubernetes_version="1.33.0",
        max_pods=30,
    )
    assert regrown == ["akswin19000000", "akswin19000003"]  # scale sets never reuse an instance index
    assert kube.delete_pool("win19") == ["akswin19000000", "akswin19000003"]
    assert kube.nodes(pool="win19") == []


@pytest.mark.parametrize(("sku", "build"), [("Windows2022", "10.0.20348"), ("Windows2025", "10.0.26100")])
def test_windows_build_label_per_sku(kube: FakeKubernetes, sku: str, build: str) -> None:
    kube.sync_pool(
        "w",
        os_type="Windows",
        os_sku=sku,
        count=1,
        labels={},
        taints=[],
        kubernetes_version="1.33.0",
        max_pods=30,
    )
    assert kube.nodes(pool="w")[0]["metadata"]["labels"]["node.kubernetes.io/windows-build"] == build


@pytest.mark.parametrize(
    ("version", "sku"), [("1.24.9", "Windows2019"), ("1.36.3", "Windows2022"), ("1.37.1", "Windows2025")]
)
def test_windows_nodes_default_to_the_sku_aks_picks_for_the_version(
    kube: FakeKubernetes, version: str, sku: str
) -> None:
    """A Windows pool created without an OS SKU gets the library's default for its version (2022 ends at 1.36)."""
    kube.sync_pool("d", os_type="Windows", count=1, kubernetes_version=version, max_pods=30)
    assert kube.nodes(pool="d")[0]["metadata"]["labels"]["kubernetes.azure.com/os-sku"] == sku


def test_deployment_owns_replicaset_and_replaces_deleted_pods(kube: FakeKubernetes, core: Any) -> None:
    add_pools(kube, old=2)
    kube.apply(deployment("web", 3, **windows_spec()))
    (rs,) = kube.objects("ReplicaSet")
    assert rs["metadata"]["ownerReferences"][0]["name"] == "web"
    pods = _app(kube, "web")
    assert len(pods) == 3 and all(_ready(p) for p in pods)
    assert all(p["metadata"]["labels"]["pod-template-hash"] in rs["metadata"]["name"] for p in pods)
    victim = pods[0]["metadata"]
    core.delete_namespaced_pod(victim["name"], "default")
    after = _app(kube, "web")
    assert len(after) == 3
    assert victim["uid"] not in {p["metadata"]["uid"] for p in after}

    kube.apply(deployment("web", 5, **windows_spec()))  # re-apply scales through the ReplicaSet
    assert len(_app(kube, "web")) == 5
    assert kube.delete("Deployment", "web")  # garbage collection takes the ReplicaSet and pods
    assert kube.objects("ReplicaSet") == [] and _app(kube, "web") == []


def test_statefulset_replacement_keeps_name_after_old_pod_is_gone(core: Any) -> None:
    with FakeKubernetes(ready_delay=0, termination_delay=0.15) as kube:
        add_pools(kube, old=2)
        kube.apply(statefulset("db", 2, **windows_spec()))
        old = kube.get("Pod", "db-0")
        assert old is not None and _ready(old)
        with kube.api_client() as api:
            k8s.CoreV1Api(api).delete_namespaced_pod("db-0", "default")
        terminating = kube.get("Pod", "db-0")
        assert terminating is not None
        assert terminating["metadata"]["uid"] == old["metadata"]["uid"]
        assert terminating["metadata"]["deletionTimestamp"] and not _ready(terminating)
        kube.clock.sleep(0.2)  # virtual time: the kubelet moves on, nothing waits
        new = kube.get("Pod", "db-0")
        assert new is not None and new["metadata"]["uid"] != old["metadata"]["uid"] and _ready(new)
        assert new["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-0"


def test_daemonset_one_pod_per_matching_node_including_cordoned(kube: FakeKubernetes, core: Any) -> None:
    add_pools(kube, old=2)
    kube.apply(daemonset("winagent", **windows_spec()))
    core.patch_node("akswin1000001", {"spec": {"unschedulable": True}})
    kube.sync_pool(
        "win1",
        os_type="Windows",
        os_sku="Windows2022",
        count=3,
        labels={},
        taints=["os=windows:NoSchedule"],
        kubernetes_version="1.33.0",
        max_pods=30,
    )
    nodes = sorted(p["spec"]["nodeName"] for p in _app(kube, "winagent"))
    assert nodes == ["akswin1000000", "akswin1000001", "akswin1000002"]
    kube.apply(daemonset("linuxonly", node_selector={"kubernetes.io/os": "linux"}))
    assert [p["spec"]["nodeName"] for p in _app(kube, "linuxonly")] == ["aks-nodepool1-12345678-vmss000000"]
    kube.remove_node("akswin1000002")
    assert len(_app(kube, "winagent")) == 2


def test_scheduler_respects_selectors_taints_cordon_and_readiness(kube: FakeKubernetes) -> None:
    add_pools(kube, old=1, new=1)
    kube.set_node_ready("akswin2000000", False)
    kube.apply(bare_pod("no-toleration", node_selector={"kubernetes.io/os": "windows"}))
    kube.apply(bare_pod("pinned", **windows_spec(node_selector={"agentpool": "win1"})))
    kube.apply(bare_pod("linux", node_selector={"kubernetes.io/os": "linux"}))
    pending = kube.get("Pod", "no-toleration")
    assert pending is not None and "nodeName" not in pending["spec"]
    scheduled = next(c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled")
    assert scheduled["reason"] == "Unschedulable" and "untolerated taint" in scheduled["message"]
    assert kube.get("Pod", "pinned")["spec"]["nodeName"] == "akswin1000000"  # type: ignore[index]
    assert kube.get("Pod", "linux")["spec"]["nodeName"] == "aks-nodepool1-12345678-vmss000000"  # type: ignore[index]

    kube.state.mutate("Node", "", "akswin1000000", lambda n: n["spec"].__setitem__("unschedulable", True))
    kube.apply(bare_pod("any-windows", **windows_spec()))
    assert "nodeName" not in kube.get("Pod", "any-windows")["spec"]  # type: ignore[index]
    kube.set_node_ready("akswin2000000", True)
    assert kube.get("Pod", "any-windows")["spec"]["nodeName"] == "akswin2000000"  # type: ignore[index]


@pytest.mark.parametrize(
    ("expression", "node"),
    [
        ({"key": "agentpool", "operator": "In", "values": ["win2"]}, "akswin2000000"),
        ({"key": "agentpool", "operator": "NotIn", "values": ["win2", "nodepool1"]}, "akswin1000000"),
        ({"key": "team", "operator": "Exists"}, "akswin1000000"),
        ({"key": "team", "operator": "DoesNotExist"}, "akswin2000000"),
        ({"key": "agentpool", "operator": "In", "values": ["gone"]}, None),
    ],
)
def test_scheduler_required_node_affinity(
    kube: FakeKubernetes, expression: dict[str, Any], node: str | None
) -> None:
    add_pools(kube, old=1, new=1)
    kube.state.mutate("Node", "", "akswin1000000", lambda n: n["metadata"]["labels"].__setitem__("team", "a"))
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [expression]}]
            }
        }
    }
    kube.apply(bare_pod("p", **windows_spec(affinity=affinity)))
    assert kube.get("Pod", "p")["spec"].get("nodeName") == node  # type: ignore[index]


def test_scheduler_capacity_and_anti_affinity(kube: FakeKubernetes) -> None:
    kube.add_node("small", allocatable_pods=2)
    kube.apply(deployment("fill", 3))
    placed = [p for p in _app(kube, "fill") if p["spec"].get("nodeName")]
    assert len(placed) == 2
    waiting = next(p for p in _app(kube, "fill") if not p["spec"].get("nodeName"))
    message = next(c for c in waiting["status"]["conditions"] if c["type"] == "PodScheduled")["message"]
    assert "Too many pods" in message
    kube.add_node("spare", allocatable_pods=2)
    assert all(p["spec"].get("nodeName") for p in _app(kube, "fill"))

    anti = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "one"}}, "topologyKey": "kubernetes.io/hostname"}
            ]
        }
    }
    kube.add_node("big1", labels={"size": "big"})
    kube.add_node("big2", labels={"size": "big"})
    kube.apply(deployment("one", 3, affinity=anti, node_selector={"size": "big"}))
    nodes = [p["spec"].get("nodeName") for p in _app(kube, "one")]
    assert sorted(n for n in nodes if n) == ["big1", "big2"]  # one per node, the third stays Pending
    assert nodes.count(None) == 1


def test_pods_turn_ready_after_ready_delay() -> None:
    with FakeKubernetes(ready_delay=0.15) as kube:
        kube.add_node("n1")
        kube.apply(deployment("slow", 1))
        (pod,) = kube.pods()
        assert pod["spec"]["nodeName"] == "n1" and pod["status"]["phase"] == "Pending" and not _ready(pod)
        kube.clock.sleep(0.2)  # virtual time: the kubelet moves on, nothing waits
        (pod,) = kube.pods()
        assert pod["status"]["phase"] == "Running" and _ready(pod)
        status = pod["status"]["containerStatuses"][0]
        assert status["ready"] is True and status["restartCount"] == 0 and "running" in status["state"]


def test_remove_node_recreates_pods_elsewhere(kube: FakeKubernetes) -> None:
    add_pools(kube, old=2)
    kube.apply([deployment("web", 2, **windows_spec()), statefulset("db", 1, **windows_spec())])
    mark = kube.history_mark()
    victim = kube.get("Pod", "db-0")["spec"]["nodeName"]  # type: ignore[index]
    kube.remove_node(victim)
    survivors = {p["spec"]["nodeName"] for p in kube.pods("default")}
    assert survivors == {"akswin1000000", "akswin1000001"} - {victim}
    assert len(_app(kube, "web")) == 2 and all(_ready(p) for p in kube.pods("default"))
    # The history saw the drop, so an availability check after a crash would catch it.
    assert 0 in kube.ready_history("StatefulSet/default/db", since=mark)
    assert kube.ready_history("StatefulSet/default/db", since=mark)[-1] == 1


def test_apply_yaml_and_invalid_objects(kube: FakeKubernetes) -> None:
    created = kube.apply(
        """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: front, namespace: shop}
spec:
  selector: {app: front}
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: front, namespace: apps-new}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: front}}}
"""
    )
    assert [o["kind"] for o in created] == ["Namespace", "Service", "PodDisruptionBudget"]
    assert kube.get("Namespace", "apps-new", "") is not None  # created on the way
    with pytest.raises(ApiError) as err:
        kube.apply(pdb("bad", "x", min_available="150%"))
    assert err.value.code == 422
    with pytest.raises(ApiError) as err:
        kube.apply({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}})
    assert err.value.code == 400
