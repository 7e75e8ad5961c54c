"""The fake API server's REST surface, exercised through the real kubernetes client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from kube_manifests import add_pools, bare_pod, daemonset, deployment, k8s, pdb, statefulset, windows_spec

from aks_windows_ops.testing.fake_kube import FakeKubernetes


def _status(err: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(err.body)
    assert body["kind"] == "Status"
    return body


def test_nodes_list_with_label_selectors(kube: FakeKubernetes, core: Any) -> None:
    add_pools(kube, old=2, new=1)

    def names(selector: str) -> list[str]:
        return [n.metadata.name for n in core.list_node(label_selector=selector).items]

    assert names("agentpool=win1") == ["akswin1000000", "akswin1000001"]
    assert names("kubernetes.io/os=windows,agentpool!=win1") == ["akswin2000000"]
    assert names("agentpool in (nodepool1, win2)") == ["aks-nodepool1-12345678-vmss000000", "akswin2000000"]
    assert names("agentpool notin (win1,win2)") == ["aks-nodepool1-12345678-vmss000000"]
    assert names("node.kubernetes.io/windows-build") == ["akswin1000000", "akswin1000001", "akswin2000000"]
    assert names("!node.kubernetes.io/windows-build") == ["aks-nodepool1-12345678-vmss000000"]
    with pytest.raises(k8s.ApiException) as err:
        core.list_node(label_selector="agentpool in win1")
    assert err.value.status == 400


def test_objects_deserialize_with_full_metadata(kube: FakeKubernetes, core: Any, api: Any) -> None:
    add_pools(kube, old=1)
    kube.apply(deployment("web", 2, **windows_spec()))
    node = core.read_node("akswin1000000")
    assert node.kind == "Node" and node.api_version == "v1"
    assert node.metadata.uid and node.metadata.resource_version and node.metadata.creation_timestamp
    assert node.status.allocatable["pods"] == "30"
    assert node.status.node_info.kubelet_version == "v1.33.0"
    assert node.status.node_info.operating_system == "windows"
    assert {"key": "os", "value": "windows", "effect": "NoSchedule"}.items() <= node.spec.taints[
        0
    ].to_dict().items()

    pods = core.list_namespaced_pod("default")
    assert pods.kind == "PodList" and pods.metadata.resource_version
    assert len(pods.items) == 2
    for pod in pods.items:
        # List items carry no apiVersion/kind, as with a real API server.
        assert pod.kind is None
        owner = pod.metadata.owner_references[0]
        assert owner.kind == "ReplicaSet" and owner.controller is True
        assert pod.status.phase == "Running"
        assert pod.status.container_statuses[0].ready is True
    rs = k8s.AppsV1Api(api).read_namespaced_replica_set(owner.name, "default")
    assert rs.metadata.owner_references[0].kind == "Deployment"
    assert rs.metadata.owner_references[0].name == "web"


def test_pod_field_and_label_selectors(kube: FakeKubernetes, core: Any) -> None:
    add_pools(kube, old=2)
    kube.apply([deployment("web", 4, **windows_spec()), statefulset("db", 1, **windows_spec())])
    on_first = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=akswin1000000").items
    on_second = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=akswin1000001").items
    assert {p.spec.node_name for p in on_first} == {"akswin1000000"}
    assert len(on_first) + len(on_second) == 5
    web = core.list_namespaced_pod("default", label_selector="app=web").items
    assert len(web) == 4 and all(p.metadata.labels["app"] == "web" for p in web)
    both = core.list_namespaced_pod(
        "default", label_selector="app=web", field_selector="spec.nodeName=akswin1000000"
    ).items
    assert {p.metadata.name for p in both} == {
        p.metadata.name for p in on_first if p.metadata.labels["app"] == "web"
    }
    assert core.list_namespaced_pod("kube-system").items == []
    with pytest.raises(k8s.ApiException) as err:
        core.list_pod_for_all_namespaces(field_selector="spec.hostname=x")
    assert err.value.status == 400


def test_pod_create_get_conflict_invalid_delete(kube: FakeKubernetes, core: Any) -> None:
    add_pools(kube, old=1)
    created = core.create_namespaced_pod("default", bare_pod("solo", **windows_spec()))
    assert created.metadata.uid and created.spec.node_name == "akswin1000000"
    assert core.read_namespaced_pod("solo", "default").metadata.uid == created.metadata.uid

    with pytest.raises(k8s.ApiException) as err:
        core.create_namespaced_pod("default", bare_pod("solo"))
    assert err.value.status == 409 and _status(err.value)["reason"] == "AlreadyExists"

    invalid = bare_pod("broken")
    invalid["spec"]["containers"] = []
    with pytest.raises(k8s.ApiException) as err:
        core.create_namespaced_pod("default", invalid)
    assert err.value.status == 422 and _status(err.value)["reason"] == "Invalid"

    with pytest.raises(k8s.ApiException) as err:
        core.create_namespaced_pod("nowhere", bare_pod("lost", namespace="nowhere"))
    assert err.value.status == 404

    core.delete_namespaced_pod("solo", "default")
    with pytest.raises(k8s.ApiException) as err:
        core.read_namespaced_pod("solo", "default")
    assert err.value.status == 404 and _status(err.value)["reason"] == "NotFound"


def test_node_patch_cordon_and_labels(kube: FakeKubernetes, core: Any) -> None:
    kube.add_node("n1", labels={"team": "a"})
    core.patch_node(
        "n1", {"spec": {"unschedulable": True}, "metadata": {"labels": {"extra": "yes", "team": None}}}
    )
    node = core.read_node("n1")
    assert node.spec.unschedulable is True
    assert node.metadata.labels["extra"] == "yes" and "team" not in node.metadata.labels
    core.patch_node("n1", {"spec": {"unschedulable": None}})
    assert not core.read_node("n1").spec.unschedulable
    with pytest.raises(k8s.ApiException) as err:
        core.patch_node("missing", {"spec": {"unschedulable": True}})
    assert err.value.status == 404


def test_workload_kinds_over_http(kube: FakeKubernetes, api: Any) -> None:
    add_pools(kube, old=2)
    apps, core, policy = k8s.AppsV1Api(api), k8s.CoreV1Api(api), k8s.PolicyV1Api(api)
    apps.create_namespaced_deployment("default", deployment("web", 3, **windows_spec()))
    apps.create_namespaced_stateful_set("default", statefulset("db", 2, **windows_spec()))
    apps.create_namespaced_daemon_set("kube-system", daemonset("agent"))
    policy.create_namespaced_pod_disruption_budget("default", pdb("web", "web", min_available="50%"))
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "web"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )

    assert apps.read_namespaced_deployment("web", "default").status.ready_replicas == 3
    assert [s.metadata.name for s in apps.list_stateful_set_for_all_namespaces().items] == ["db"]
    ds = apps.read_namespaced_daemon_set("agent", "kube-system")
    assert ds.status.number_ready == 1  # only the untainted Linux node
    budget = policy.read_namespaced_pod_disruption_budget("web", "default")
    assert (
        budget.status.expected_pods,
        budget.status.desired_healthy,
        budget.status.disruptions_allowed,
    ) == (3, 2, 1)
    svc = core.read_namespaced_service("web", "default")
    assert svc.spec.cluster_ip and svc.spec.external_traffic_policy == "Cluster"
    assert svc.spec.ports[0].target_port == 80
    assert [n.metadata.name for n in core.list_namespace().items] == [
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]

    bad = deployment("mismatch", 1)
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(k8s.ApiException) as err:
        apps.create_namespaced_deployment("default", bad)
    assert err.value.status == 422
    with pytest.raises(k8s.ApiException) as err:
        policy.create_namespaced_pod_disruption_budget(
            "default", pdb("both", "web", min_available=1, max_unavailable=1)
        )
    assert err.value.status == 422


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        ({"min_available": 3}, (4, 3, 1)),
        ({"min_available": "50%"}, (4, 2, 2)),
        ({"min_available": "30%"}, (4, 2, 2)),  # rounds up: ceil(1.2)
        ({"max_unavailable": 1}, (4, 3, 1)),
        ({"max_unavailable": "30%"}, (4, 2, 2)),  # unavailable rounds up too: 4 - ceil(1.2)
        ({"max_unavailable": 0}, (4, 4, 0)),
        ({"min_available": 4}, (4, 4, 0)),
    ],
)
def test_pdb_status_follows_budget(
    kube: FakeKubernetes, api: Any, budget: dict[str, Any], expected: tuple[int, int, int]
) -> None:
    add_pools(kube, old=2)
    kube.apply([deployment("web", 4, **windows_spec()), pdb("web", "web", **budget)])
    status = k8s.PolicyV1Api(api).read_namespaced_pod_disruption_budget("web", "default").status
    assert status.current_healthy == 4
    assert (status.expected_pods, status.desired_healthy, status.disruptions_allowed) == expected
    assert status.conditions[0].type == "DisruptionAllowed"
    assert status.conditions[0].status == ("True" if expected[2] else "False")


def test_wrong_token_is_401_and_journal_records(kube: FakeKubernetes) -> None:
    cfg = k8s.Configuration(host=kube.url, api_key={"BearerToken": "Bearer wrong"})
    cfg.proxy = None
    cfg.ssl_ca_cert = kube.ca_file
    with k8s.ApiClient(cfg) as bad, pytest.raises(k8s.ApiException) as err:
        k8s.CoreV1Api(bad).list_node()
    assert err.value.status == 401
    assert kube.requests[-1].status == 401 and kube.requests[-1].authorized is False
    kube.clear_requests()
    with kube.api_client() as good:
        k8s.CoreV1Api(good).list_node(label_selector="a=b")
    assert [(r.method, r.path, r.query, r.status) for r in kube.requests] == [
        ("GET", "/api/v1/nodes", "labelSelector=a%3Db", 200)
    ]


def _raw(kube: FakeKubernetes, method: str, path: str) -> tuple[int, dict[str, Any]]:
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=kube.ssl_context())
    )
    request = urllib.request.Request(
        f"{kube.url}{path}", method=method, headers={"Authorization": f"Bearer {kube.token}"}
    )
    try:
        with opener.open(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_unknown_paths_watch_and_put_answer_status(kube: FakeKubernetes, api: Any) -> None:
    assert k8s.VersionApi(api).get_code().git_version == "v1.33.0"
    code, body = _raw(kube, "GET", "/apis/batch/v1/jobs")
    assert (code, body["kind"], body["reason"]) == (404, "Status", "NotFound")
    code, body = _raw(kube, "GET", "/api/v1/pods?watch=true&labelSelector=a%20in")
    assert (code, body["reason"]) == (400, "BadRequest")
    code, body = _raw(kube, "PUT", "/api/v1/namespaces/default")
    assert (code, body["reason"]) == (400, "BadRequest")
