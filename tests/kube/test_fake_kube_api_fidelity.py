"""What real clients need from the fake API server: discovery, tables, watch, patch types, 415, /version."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from kube_manifests import k8s

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.testing.fake_kube import FakeKubernetes
from aks_windows_ops.testing.scenario import load_scenario


def _request(
    kube: FakeKubernetes, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, Any]:
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=kube.ssl_context())
    )
    request = urllib.request.Request(
        f"{kube.url}{path}",
        data=body,
        method=method,
        headers={"Authorization": f"Bearer {kube.token}", **headers},
    )
    try:
        with opener.open(request) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_discovery_lists_eviction_and_scale_subresources(kube: FakeKubernetes) -> None:
    status, raw = _request(kube, "GET", "/api/v1")
    resources = {r["name"]: r for r in json.loads(raw)["resources"]}
    assert status == 200
    assert (resources["pods/eviction"]["group"], resources["pods/eviction"]["kind"]) == ("policy", "Eviction")
    assert {"pods/exec", "pods/log", "nodes"} <= set(resources)
    apps = {r["name"] for r in json.loads(_request(kube, "GET", "/apis/apps/v1")[1])["resources"]}
    assert "deployments/scale" in apps
    groups = {g["name"] for g in json.loads(_request(kube, "GET", "/apis")[1])["groups"]}
    assert {"apps", "policy"} <= groups
    assert _request(kube, "GET", "/apis/batch/v1")[0] == 404


def test_table_answers_and_protobuf_bodies(kube: FakeKubernetes) -> None:
    kube.add_node("n1")
    status, raw = _request(
        kube, "GET", "/api/v1/nodes", Accept="application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    )
    table = json.loads(raw)
    assert (status, table["kind"]) == (200, "Table")
    assert [c["name"] for c in table["columnDefinitions"]][:5] == [
        "Name",
        "Status",
        "Roles",
        "Age",
        "Version",
    ]
    assert table["rows"][0]["cells"][:2] == ["n1", "Ready"]
    status, raw = _request(
        kube,
        "POST",
        "/api/v1/namespaces/default/pods",
        b"\x6b\x38\x73\x00",
        **{"Content-Type": "application/vnd.kubernetes.protobuf"},
    )
    assert (status, json.loads(raw)["reason"]) == (415, "UnsupportedMediaType")


def test_json_patch_and_strategic_merge_by_key(kube: FakeKubernetes, api: Any) -> None:
    kube.add_node("n1")
    core = k8s.CoreV1Api(api)
    ops = [
        {"op": "add", "path": "/metadata/labels/tier", "value": "web"},
        {"op": "test", "path": "/metadata/name", "value": "n1"},
    ]
    status, _ = _request(
        kube,
        "PATCH",
        "/api/v1/nodes/n1",
        json.dumps(ops).encode(),
        **{"Content-Type": "application/json-patch+json"},
    )
    assert status == 200 and core.read_node("n1").metadata.labels["tier"] == "web"
    bad = [{"op": "test", "path": "/metadata/name", "value": "other"}]
    status, _ = _request(
        kube,
        "PATCH",
        "/api/v1/nodes/n1",
        json.dumps(bad).encode(),
        **{"Content-Type": "application/json-patch+json"},
    )
    assert status == 422
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]},
        },
    )
    patch = {"spec": {"containers": [{"name": "b", "image": "y:2"}]}}
    _request(
        kube,
        "PATCH",
        "/api/v1/namespaces/default/pods/p",
        json.dumps(patch).encode(),
        **{"Content-Type": "application/strategic-merge-patch+json"},
    )
    images = [(c.name, c.image) for c in core.read_namespaced_pod("p", "default").spec.containers]
    assert images == [("a", "x:1"), ("b", "y:2")]


def test_watch_streams_added_events_and_ends_at_its_timeout(kube: FakeKubernetes, api: Any) -> None:
    from kubernetes import watch

    kube.add_node("n1")
    kube.add_node("n2")
    events = list(watch.Watch().stream(k8s.CoreV1Api(api).list_node, timeout_seconds=0))
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", "n1"), ("ADDED", "n2")]


@pytest.mark.parametrize("scenario_name", ["healthy"])
def test_version_follows_the_control_plane(scenario_name: str) -> None:
    with FakeKubernetes(ready_delay=0) as kube:
        fake = load_scenario(scenario_name, kube=kube)
        (sub, rg, name), cluster = next(iter(fake.clusters.items()))
        clients = AzureClients.for_simulator(fake, sub)
        with kube.api_client() as api:
            version = k8s.VersionApi(api)
            assert version.get_code().git_version == f"v{cluster.props['currentKubernetesVersion']}"
            cs = clients.containerservice
            mc = cs.managed_clusters.get(rg, name)
            mc.auto_upgrade_profile = None
            target = next(
                v.kubernetes_version
                for v in cs.managed_clusters.get_upgrade_profile(rg, name).control_plane_profile.upgrades
                or []
            )
            mc.kubernetes_version = target
            cs.managed_clusters.begin_create_or_update(rg, name, mc).result()
            assert version.get_code().git_version == f"v{target}"


def _write(
    kube: FakeKubernetes, method: str, path: str, body: Any, content_type: str
) -> tuple[int, Any, list[str]]:
    """Send a write; return the status, the decoded answer and the ``Warning`` headers."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=kube.ssl_context())
    )
    request = urllib.request.Request(
        f"{kube.url}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {kube.token}", "Content-Type": content_type},
    )
    try:
        with opener.open(request) as response:
            return response.status, json.loads(response.read()), response.headers.get_all("Warning") or []
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), err.headers.get_all("Warning") or []


def test_openapi_v3_lists_each_group_version_with_field_validation_on_patch(kube: FakeKubernetes) -> None:
    root = json.loads(_request(kube, "GET", "/openapi/v3")[1])
    assert {"api/v1", "apis/apps/v1", "apis/policy/v1"} <= set(root["paths"])
    url = root["paths"]["apis/policy/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/policy/v1?hash=")
    status, raw = _request(kube, "GET", url)
    document = json.loads(raw)
    assert status == 200 and document["openapi"].startswith("3.")
    patches = [
        op["patch"]
        for op in document["paths"].values()
        if "patch" in op and op["patch"]["x-kubernetes-group-version-kind"]["kind"] == "PodDisruptionBudget"
    ]
    assert len(patches) == 1
    params = {(p["name"], p["in"]) for p in patches[0]["parameters"]}
    assert ("fieldValidation", "query") in params
    assert "application/strategic-merge-patch+json" in patches[0]["requestBody"]["content"]
    spec = document["components"]["schemas"]["io.k8s.api.policy.v1.PodDisruptionBudgetSpec"]["properties"]
    assert {"minAvailable", "maxUnavailable", "selector", "unhealthyPodEvictionPolicy"} == set(spec)
    assert _request(kube, "GET", "/openapi/v3/apis/batch/v1")[0] == 404


@pytest.mark.parametrize(
    ("directive", "status", "warned"),
    [("Strict", 400, False), ("Warn", 201, True), (None, 201, True), ("Ignore", 201, False)],
)
def test_field_validation_directives_on_create(
    kube: FakeKubernetes, directive: str | None, status: int, warned: bool
) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPrt": 8080}], "colour": "blue"},
    }
    query = f"?fieldValidation={directive}" if directive else ""
    code, answer, warnings = _write(
        kube, "POST", f"/api/v1/namespaces/default/services{query}", body, "application/json"
    )
    assert code == status
    unknown = ['unknown field "spec.ports[0].targetPrt"', 'unknown field "spec.colour"']  # in body order
    if status == 400:
        assert answer["reason"] == "BadRequest"
        assert answer["message"] == (
            'Service in version "v1" cannot be handled as a Service: strict decoding error: '
            + ", ".join(unknown)
        )
        assert kube.get("Service", "web") is None
    else:
        assert kube.get("Service", "web") is not None
        assert [json.loads(w.split(" - ", 1)[1]) for w in warnings] == (unknown if warned else [])


def test_strict_patches_skip_directives_and_name_the_field(kube: FakeKubernetes) -> None:
    kube.apply(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        }
    )
    path = "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web?fieldValidation=Strict"
    ok = _write(
        kube,
        "PATCH",
        path,
        {"spec": {"$retainKeys": ["minAvailable"], "minAvailable": 2}},
        "application/strategic-merge-patch+json",
    )
    assert ok[0] == 200 and ok[1]["spec"]["minAvailable"] == 2
    bad = _write(kube, "PATCH", path, {"spec": {"minAvailabel": 3}}, "application/merge-patch+json")
    assert (bad[0], bad[1]["message"]) == (400, 'strict decoding error: unknown field "spec.minAvailabel"')
    json_patch = [{"op": "add", "path": "/spec/selector/matchLabelz", "value": {}}]
    bad = _write(kube, "PATCH", path, json_patch, "application/json-patch+json")
    assert (bad[0], bad[1]["message"]) == (
        400,
        'strict decoding error: unknown field "spec.selector.matchLabelz"',
    )
    stored = kube.get("PodDisruptionBudget", "web")
    assert stored is not None and stored["spec"] == {
        "minAvailable": 2,
        "selector": {"matchLabels": {"app": "web"}},
    }
