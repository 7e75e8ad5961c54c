"""Ownership, placement and replacement checks of aks_windows_ops.kube.workloads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kube_manifests import (
    WIN_TOLERATION,
    add_pools,
    bare_pod,
    daemonset,
    deployment,
    k8s,
    pdb,
    statefulset,
    windows_spec,
)

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.kube import (
    ControllerRef,
    aks_node_labels,
    controller_of,
    drain_nodes,
    find_unplaceable,
    pods_on_nodes,
    read_workload_objects,
    verify_replacements,
)
from aks_windows_ops.testing.fake_kube import FakeKubernetes

NEW_2022 = aks_node_labels("win2", os_type="Windows", os_sku="Windows2022")
NEW_TAINTS = ["os=windows:NoSchedule"]


def test_aks_node_labels() -> None:
    assert NEW_2022 == {
        "kubernetes.io/os": "windows",
        "agentpool": "win2",
        "kubernetes.azure.com/agentpool": "win2",
        "kubernetes.azure.com/os-sku": "Windows2022",
        "kubernetes.azure.com/mode": "user",
        "node.kubernetes.io/windows-build": "10.0.20348",
    }
    labels = aks_node_labels("w25", os_type="Windows", os_sku="Windows2025", labels={"team": "x"})
    assert labels["node.kubernetes.io/windows-build"] == "10.0.26100" and labels["team"] == "x"
    assert "node.kubernetes.io/windows-build" not in aks_node_labels("sys", os_type="Linux", mode="System")
    with pytest.raises(InvalidInput):
        aks_node_labels("bad", os_type="Windows", os_sku="Ubuntu")


def test_fake_pool_nodes_carry_the_labels_aks_node_labels_predicts(kube: FakeKubernetes) -> None:
    kube.sync_pool(
        "win2",
        os_type="Windows",
        os_sku="Windows2022",
        count=1,
        labels={},
        taints=[],
        kubernetes_version="1.33.0",
        max_pods=30,
    )
    node_labels = kube.nodes(pool="win2")[0]["metadata"]["labels"]
    assert NEW_2022.items() <= node_labels.items()


def test_controller_of_walks_replicaset_to_deployment(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=1)
    kube.apply(
        [
            deployment("web", 1, **windows_spec()),
            statefulset("db", 1, **windows_spec()),
            daemonset("agent", **windows_spec()),
            bare_pod("solo", **windows_spec()),
        ]
    )
    by_app = {p["metadata"]["labels"]["app"]: p for p in kube.pods()}
    assert controller_of(by_app["web"], api=api) == ControllerRef("Deployment", "default", "web")
    assert controller_of(by_app["web"]) == ControllerRef(
        "Deployment", "default", "web"
    )  # from the naming rule
    assert str(controller_of(by_app["db"])) == "StatefulSet/default/db"
    assert str(controller_of(by_app["agent"])) == "DaemonSet/kube-system/agent"
    assert controller_of(by_app["solo"]) is None
    # Client model objects work as well as manifests.
    typed = k8s.CoreV1Api(api).read_namespaced_pod(by_app["web"]["metadata"]["name"], "default")
    assert controller_of(typed, api=api) == ControllerRef("Deployment", "default", "web")

    kube.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "loose"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "loose"}},
                "template": {"metadata": {"labels": {"app": "loose"}}, "spec": windows_pod_spec()},
            },
        }
    )
    loose = next(p for p in kube.pods() if p["metadata"]["labels"]["app"] == "loose")
    assert controller_of(loose, api=api) == ControllerRef("ReplicaSet", "default", "loose")


def windows_pod_spec() -> dict[str, Any]:
    return {
        "containers": [{"name": "c", "image": "img:1"}],
        "nodeSelector": {"kubernetes.io/os": "windows"},
        "tolerations": [WIN_TOLERATION],
    }


def test_pods_on_nodes_only_lists_those_nodes(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=2)
    kube.apply([deployment("web", 4, **windows_spec()), deployment("linux", 1)])
    pods = pods_on_nodes(api, ["akswin1000000"])
    assert pods and {p["spec"]["nodeName"] for p in pods} == {"akswin1000000"}
    assert all(p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in pods)
    both = pods_on_nodes(api, ["akswin1000000", "akswin1000001", "akswin1000000"])
    assert len(both) == 4 and len({p["metadata"]["uid"] for p in both}) == 4
    json.dumps(both)  # plain data, ready for a checkpoint


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ({"node_selector": {"agentpool": "win1"}}, "pins it to pool win1"),
        ({"node_selector": {"kubernetes.azure.com/agentpool": "win1"}}, "pins it to pool win1"),
        (
            {"node_selector": {"node.kubernetes.io/windows-build": "10.0.17763"}},
            "the new pool has 10.0.20348",
        ),
        ({"node_selector": {"disk": "ssd"}}, "nodeSelector disk=ssd does not match"),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "agentpool", "operator": "In", "values": ["win1"]}
                                    ]
                                }
                            ]
                        }
                    }
                }
            },
            "required node affinity (In) agentpool=win1 pins it to pool win1",
        ),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchFields": [
                                        {
                                            "key": "metadata.name",
                                            "operator": "In",
                                            "values": ["akswin1000000"],
                                        }
                                    ]
                                }
                            ]
                        }
                    }
                }
            },
            "selects nodes by name",
        ),
        ({"tolerations": []}, "no toleration for the new pool's taint os=windows:NoSchedule"),
    ],
)
def test_find_unplaceable_names_the_cause(template: dict[str, Any], fragment: str) -> None:
    spec: dict[str, Any] = {"node_selector": {"kubernetes.io/os": "windows"}, "tolerations": [WIN_TOLERATION]}
    for key, value in template.items():
        spec[key] = {**spec.get(key, {}), **value} if key == "node_selector" else value
    problems = find_unplaceable([bare_pod("p", **spec)], NEW_2022, NEW_TAINTS)
    assert len(problems) == 1
    assert fragment in problems[0].reason
    assert problems[0].pod == "default/p"


def test_find_unplaceable_accepts_workloads_and_ignores_what_never_moves() -> None:
    movable = deployment("ok", 2, **windows_spec())
    pinned = statefulset(
        "db", 1, **windows_spec(node_selector={"kubernetes.io/os": "windows", "agentpool": "win1"})
    )
    agent = daemonset("agent", node_selector={"agentpool": "win1"})
    finished = bare_pod("done", node_selector={"agentpool": "win1"})
    finished["status"] = {"phase": "Succeeded"}
    problems = find_unplaceable([movable, pinned, agent, finished], NEW_2022, NEW_TAINTS)
    assert [(p.pod, p.controller) for p in problems] == [("StatefulSet/default/db", "StatefulSet/default/db")]
    with pytest.raises(InvalidInput):
        find_unplaceable([movable], NEW_2022, ["not-a-taint"])


@pytest.mark.parametrize(
    "template",
    [
        windows_spec(),
        windows_spec(node_selector={"kubernetes.io/os": "windows", "agentpool": "win1"}),
        windows_spec(node_selector={"node.kubernetes.io/windows-build": "10.0.17763"}),
        windows_spec(node_selector={"node.kubernetes.io/windows-build": "10.0.20348"}),
        {"node_selector": {"kubernetes.io/os": "windows"}},
        {"tolerations": [{"operator": "Exists"}]},
        {
            "tolerations": [{"key": "os", "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "agentpool", "operator": "NotIn", "values": ["win1"]}
                                ]
                            }
                        ]
                    }
                }
            },
        },
        {
            "tolerations": [WIN_TOLERATION],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.azure.com/os-sku",
                                        "operator": "In",
                                        "values": ["Windows2019"],
                                    }
                                ]
                            },
                            {
                                "matchExpressions": [
                                    {"key": "node.kubernetes.io/windows-build", "operator": "Exists"}
                                ]
                            },
                        ]
                    }
                }
            },
        },
    ],
)
def test_find_unplaceable_agrees_with_the_scheduler(kube: FakeKubernetes, template: dict[str, Any]) -> None:
    """Two independent implementations: the library's prediction and the fake scheduler's decision."""
    kube.sync_pool(
        "win2",
        os_type="Windows",
        os_sku="Windows2022",
        count=1,
        labels={},
        taints=NEW_TAINTS,
        kubernetes_version="1.33.0",
        max_pods=30,
    )
    pod = bare_pod("probe", **template)
    predicted_ok = find_unplaceable([pod], NEW_2022, NEW_TAINTS) == []
    kube.apply(pod)
    scheduled = kube.get("Pod", "probe")
    assert scheduled is not None
    assert predicted_ok == bool(scheduled["spec"].get("nodeName"))


def test_verify_replacements_flags_pods_left_pending(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=1)
    kube.apply(
        [
            deployment("free", 2, **windows_spec()),
            deployment(
                "pinned",
                1,
                **windows_spec(node_selector={"kubernetes.io/os": "windows", "agentpool": "win1"}),
            ),
            statefulset("db", 1, **windows_spec()),
        ]
    )
    new = kube.sync_pool(
        "win2",
        os_type="Windows",
        os_sku="Windows2022",
        count=1,
        labels={},
        taints=NEW_TAINTS,
        kubernetes_version="1.33.0",
        max_pods=30,
    )
    old = ["akswin1000000"]
    before = pods_on_nodes(api, old)
    assert len(before) == 4
    assert [p.pod for p in find_unplaceable(before, NEW_2022, NEW_TAINTS)] == [
        next(f"default/{p['metadata']['name']}" for p in before if p["metadata"]["labels"]["app"] == "pinned")
    ]
    drain_nodes(api, clock=kube.clock, nodes=old, poll_interval=0.01, timeout_per_node=2)
    problems = verify_replacements(api, before, new)
    assert problems == [
        "Deployment/default/pinned: 1 pod(s) ran on the old nodes but only 0 Ready replacement(s) run on the new nodes"
    ]
    assert verify_replacements(api, [], new) == []


def test_verify_replacements_requires_statefulset_names(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=1)
    kube.apply(statefulset("db", 2, **windows_spec()))
    before = pods_on_nodes(api, ["akswin1000000"])
    problems = verify_replacements(api, before, ["akswin1000000"])  # same uids: nothing was replaced
    assert problems == ["StatefulSet/default/db: no Ready replacement on the new nodes for db-0, db-1"]


def test_read_workload_objects_returns_plain_manifests(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=1)
    kube.apply(
        [
            deployment("web", 1, **windows_spec()),
            statefulset("db", 1, **windows_spec()),
            daemonset("agent"),
            pdb("web", "web", min_available=1),
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web"},
                "spec": {
                    "type": "LoadBalancer",
                    "externalTrafficPolicy": "Local",
                    "selector": {"app": "web"},
                    "ports": [{"port": 80}],
                },
            },
        ]
    )
    objects = read_workload_objects(api)
    kinds = [o["kind"] for o in objects]
    assert kinds == [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Pod",
        "Pod",
        "Pod",
        "Service",
        "PodDisruptionBudget",
    ]
    service = next(o for o in objects if o["kind"] == "Service")
    assert service["apiVersion"] == "v1" and service["spec"]["externalTrafficPolicy"] == "Local"
    assert next(o for o in objects if o["kind"] == "PodDisruptionBudget")["spec"]["minAvailable"] == 1
    assert next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"][
        "nodeSelector"
    ] == {"kubernetes.io/os": "windows"}
    json.dumps(objects)
    assert [o["kind"] for o in read_workload_objects(api, namespace="kube-system")] == ["DaemonSet", "Pod"]
