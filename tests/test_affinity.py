"""Session affinity for Windows pods (FAQ "Can I maintain session affinity from client connections ...")."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aks_windows_ops import errors as E
from aks_windows_ops.cli import app
from aks_windows_ops.manifests import load_manifests
from aks_windows_ops.rules.affinity import INTERNAL_LB_ANNOTATION, session_affinity_manifests
from aks_windows_ops.rules.workloads import lint_workloads
from aks_windows_ops.testing.fake_kube import FakeKubernetes

runner = CliRunner()
IMAGE = "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022"
TOLERATION = {"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}


def deployment(replicas: int = 3, **spec: Any) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"tolerations": [TOLERATION], "containers": [{"name": "web", "image": IMAGE}]}
    pod_spec.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web", "tier": "front"}}, "spec": pod_spec},
        },
    }


def service(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}
    body.update(spec)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": body,
    }


def affinity_codes(manifests: list[dict[str, Any]], version: str | None = "1.33.2") -> set[str]:
    return {
        f.code
        for f in lint_workloads(manifests, kubernetes_version=version)
        if f.code.startswith("SESSION_AFFINITY")
    }


def test_the_projects_lint_flags_the_unpatched_manifests_and_passes_the_patched_ones() -> None:
    dep = deployment(nodeSelector={"kubernetes.io/os": "windows"})
    svc = service(type="LoadBalancer", sessionAffinity="ClientIP")
    assert affinity_codes([dep, svc]) == {
        "SESSION_AFFINITY_NEEDS_LOCAL_POLICY",
        "SESSION_AFFINITY_NEEDS_ANTI_AFFINITY",
    }
    result = session_affinity_manifests(dep, svc, kubernetes_version="1.33.2")
    assert affinity_codes(result.manifests) == set()
    assert affinity_codes(load_manifests(result.to_yaml())) == set()
    assert result.warnings == ()


def test_the_recipe_is_applied_to_plain_manifests() -> None:
    dep, svc = deployment(), service()
    before = copy.deepcopy((dep, svc))
    result = session_affinity_manifests(dep, svc)
    assert (dep, svc) == before  # inputs untouched
    pod = result.workload["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/os": "windows"}
    assert pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}
    ]
    assert result.workload["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    spec = result.service["spec"]
    assert (spec["type"], spec["externalTrafficPolicy"], spec["sessionAffinity"]) == (
        "LoadBalancer",
        "Local",
        "ClientIP",
    )
    assert result.service["metadata"]["annotations"] == {INTERNAL_LB_ANNOTATION: "true"}
    assert any("internal" in w for w in result.warnings)
    assert len(result.changes) == 6
    assert affinity_codes(result.manifests) == set()


def test_patching_twice_changes_nothing_more() -> None:
    first = session_affinity_manifests(deployment(), service())
    second = session_affinity_manifests(first.workload, first.service)
    assert second.changes == ()
    assert second.manifests == first.manifests


def test_existing_affinity_and_strategy_are_kept() -> None:
    preferred = {
        "weight": 10,
        "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone"},
    }
    dep = deployment(
        affinity={"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [preferred]}}
    )
    dep["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    result = session_affinity_manifests(dep, service(type="LoadBalancer"))
    anti = result.workload["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert anti["preferredDuringSchedulingIgnoredDuringExecution"] == [preferred]
    assert len(anti["requiredDuringSchedulingIgnoredDuringExecution"]) == 1
    assert result.workload["spec"]["strategy"] == dep["spec"]["strategy"]
    assert any("maxUnavailable 0" in w for w in result.warnings)
    assert "annotations" not in result.service["metadata"]  # already a LoadBalancer: exposure unchanged


def test_nodeport_stays_and_daemonsets_need_no_anti_affinity() -> None:
    ds = deployment()
    ds["kind"] = "DaemonSet"
    del ds["spec"]["replicas"]
    result = session_affinity_manifests(ds, service(type="NodePort"))
    assert "affinity" not in result.workload["spec"]["template"]["spec"]
    assert result.service["spec"]["type"] == "NodePort"
    assert any("NodePort" in w for w in result.warnings)
    assert affinity_codes(result.manifests) == set()


def test_versions_below_1_20_cannot_be_fixed_by_a_manifest() -> None:
    dep, svc = deployment(), service(type="LoadBalancer")
    result = session_affinity_manifests(dep, svc, kubernetes_version="1.19.11")
    assert any("1.20" in w and "patch runbook" in w for w in result.warnings)
    assert affinity_codes(result.manifests, "1.19.11") == {"SESSION_AFFINITY_VERSION_TOO_LOW"}


def test_every_problem_is_reported_at_once() -> None:
    linux = deployment(nodeSelector={"kubernetes.io/os": "linux"})
    with pytest.raises(E.InvalidInput) as info:
        session_affinity_manifests(linux, service(selector={"app": "other"}), kubernetes_version="one.twenty")
    text = " ".join(info.value.problems)
    assert len(info.value.problems) == 3
    assert "linux" in text and "does not select" in text and "kubernetes version" in text


@pytest.mark.parametrize(
    ("svc", "words"),
    [
        (service(type="ExternalName", externalName="example.com"), "ExternalName"),
        (service(clusterIP="None"), "headless"),
    ],
)
def test_services_without_load_balancing_are_refused(svc: dict[str, Any], words: str) -> None:
    with pytest.raises(E.InvalidInput) as info:
        session_affinity_manifests(deployment(), svc)
    assert words in str(info.value)


def test_wrong_kinds_are_refused() -> None:
    with pytest.raises(E.InvalidInput) as info:
        session_affinity_manifests(service(), deployment())
    assert len(info.value.problems) == 2


def test_the_simulated_scheduler_places_one_pod_per_windows_node() -> None:
    result = session_affinity_manifests(deployment(replicas=4), service())
    with FakeKubernetes(ready_delay=0) as kube:
        kube.sync_pool(
            "win22",
            os_type="Windows",
            os_sku="Windows2022",
            count=3,
            taints=["os=windows:NoSchedule"],
            max_pods=30,
        )
        kube.sync_pool("system", count=2, mode="System")
        kube.apply(result.to_yaml())
        kube.settle()
        pods = kube.pods("shop")
        bound = [p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName")]
        assert len(pods) == 4 and len(bound) == 3
        assert len(set(bound)) == 3 and all(n.startswith("akswin22") for n in bound)
        stored = kube.get("Service", "web", "shop")
        assert stored is not None and stored["spec"]["externalTrafficPolicy"] == "Local"


def _write(tmp_path: Path, docs: list[dict[str, Any]]) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    return path


def test_cli_prints_manifests_for_kubectl_and_changes_on_stderr(tmp_path: Path) -> None:
    path = _write(tmp_path, [deployment(), service()])
    result = runner.invoke(app, ["affinity", str(path), "--kubernetes-version", "1.33.2"])
    assert result.exit_code == 0, result.output
    docs = load_manifests(result.stdout)
    assert [d["kind"] for d in docs] == ["Deployment", "Service"]
    assert affinity_codes(docs) == set()
    assert "externalTrafficPolicy Cluster (default) -> Local" in result.stderr
    as_json = runner.invoke(app, ["affinity", str(path), "-o", "json"])
    assert json.loads(as_json.stdout)["items"][1]["spec"]["sessionAffinity"] == "ClientIP"


def test_cli_pairs_by_selector_and_asks_when_ambiguous(tmp_path: Path) -> None:
    other = deployment()
    other["metadata"]["name"] = "api"
    other["spec"]["selector"]["matchLabels"] = {"app": "api"}
    other["spec"]["template"]["metadata"]["labels"] = {"app": "api"}
    api_svc = service(selector={"app": "api"})
    api_svc["metadata"]["name"] = "api"
    path = _write(tmp_path, [deployment(), other, service()])
    paired = runner.invoke(app, ["affinity", str(path)])
    assert paired.exit_code == 0, paired.output
    assert load_manifests(paired.stdout)[0]["metadata"]["name"] == "web"
    ambiguous = _write(tmp_path, [deployment(), other, service(), api_svc])
    refused = runner.invoke(app, ["affinity", str(ambiguous)])
    assert refused.exit_code == 4 and "--deployment" in refused.output
    chosen = runner.invoke(app, ["affinity", str(ambiguous), "--deployment", "api", "--service", "api"])
    assert chosen.exit_code == 0 and load_manifests(chosen.stdout)[1]["metadata"]["name"] == "api"
    missing = runner.invoke(app, ["affinity", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 4
