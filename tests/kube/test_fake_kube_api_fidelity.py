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
