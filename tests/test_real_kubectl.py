"""The real ``kubectl`` against FakeKubernetes: get, cordon, drain (by eviction, honouring budgets), exec,
rollout restart, and the same end state as the library's drain.

Skipped only when no ``kubectl`` binary is on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aks_windows_ops.kube import drain_nodes
from aks_windows_ops.testing.fake_kube import FakeKubernetes

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="the kubectl binary is not installed")

OLD = ["akswin1000000", "akswin1000001"]


def _windows_deployment(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "nodeSelector": {"kubernetes.io/os": "windows"},
                    "tolerations": [{"key": "os", "value": "windows", "effect": "NoSchedule"}],
                    "containers": [
                        {"name": name, "image": "mcr.microsoft.com/windows/servercore/iis:ltsc2022"}
                    ],
                },
            },
        },
    }


def _pdb(name: str, **budget: Any) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {"selector": {"matchLabels": {"app": name}}, **budget},
    }


def _cluster(kube: FakeKubernetes, *, new_nodes: int = 2) -> None:
    kube.sync_pool("nodepool1", os_type="Linux", count=1, kubernetes_version="1.33.0", mode="System")
    for pool, count in (("win1", 2), ("win2", new_nodes)):
        kube.sync_pool(
            pool,
            os_type="Windows",
            os_sku="Windows2022",
            count=count,
            taints=["os=windows:NoSchedule"],
            kubernetes_version="1.33.0",
            max_pods=30,
        )
    # The new pool is cordoned until the workloads are up on the old one, so they start there.
    for node in kube.nodes(pool="win2"):
        kube.state.mutate(
            "Node", "", node["metadata"]["name"], lambda n: n["spec"].update(unschedulable=True)
        )
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}})
    kube.apply(_windows_deployment("web", 2))
    kube.settle()
    for node in kube.nodes(pool="win2"):
        kube.state.mutate("Node", "", node["metadata"]["name"], lambda n: n["spec"].pop("unschedulable"))


class Kubectl:
    """Runs the real kubectl against one fake server, with a private HOME (discovery cache) and no proxy."""

    def __init__(self, kube: FakeKubernetes, home: Path) -> None:
        self.kube = kube
        home.mkdir(parents=True, exist_ok=True)
        self.config = home / "kubeconfig"
        self.config.write_text(yaml.safe_dump(kube.kubeconfig("sim")))
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "kubeconfig")
        }
        self.env.update(HOME=str(home), KUBECONFIG=str(self.config), NO_PROXY="127.0.0.1,localhost")

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        done = subprocess.run(
            [KUBECTL, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        return done


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(ready_delay=0, seed=7) as fake:
        _cluster(fake)
        yield fake


@pytest.fixture
def kubectl(kube: FakeKubernetes, tmp_path: Path) -> Kubectl:
    return Kubectl(kube, tmp_path / "a")


def _web_nodes(kube: FakeKubernetes) -> list[str]:
    return sorted(
        p["spec"].get("nodeName", "") for p in kube.pods("apps") if not p["metadata"].get("deletionTimestamp")
    )


def test_get_nodes_pods_and_budgets_print_server_side_columns(kube: FakeKubernetes, kubectl: Kubectl) -> None:
    kube.apply(_pdb("web", maxUnavailable=1))
    nodes = kubectl("get", "nodes", "-o", "wide").stdout.splitlines()
    assert nodes[0].split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    rows = {line.split()[0]: line.split() for line in nodes[1:]}
    assert set(rows) == {n["metadata"]["name"] for n in kube.nodes()}
    assert rows[OLD[0]][1] == "Ready" and rows[OLD[0]][4] == "v1.33.0"
    assert "Windows Server 2022 Datacenter" in " ".join(rows[OLD[0]])
    pods = kubectl("get", "pods", "-n", "apps", "-o", "wide").stdout.splitlines()
    assert pods[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert sorted(line.split()[6] for line in pods[1:]) == _web_nodes(kube) == OLD
    assert all(line.split()[1:3] == ["1/1", "Running"] for line in pods[1:])
    budgets = kubectl("get", "pdb", "-n", "apps").stdout.splitlines()
    assert budgets[0].split() == [
        "NAME",
        "MIN",
        "AVAILABLE",
        "MAX",
        "UNAVAILABLE",
        "ALLOWED",
        "DISRUPTIONS",
        "AGE",
    ]
    assert budgets[1].split()[:4] == ["web", "N/A", "1", "1"]
    version = json.loads(kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.33.0"


def test_cordon_sends_a_patch_and_the_node_shows_scheduling_disabled(
    kube: FakeKubernetes, kubectl: Kubectl
) -> None:
    kube.clear_requests()
    assert "cordoned" in kubectl("cordon", OLD[0]).stdout
    node = kube.node(OLD[0])
    assert node is not None and node["spec"]["unschedulable"] is True
    assert ("PATCH", f"/api/v1/nodes/{OLD[0]}") in [(r.method, r.path) for r in kube.requests]
    assert "Ready,SchedulingDisabled" in kubectl("get", "node", OLD[0]).stdout
    kubectl("uncordon", OLD[0])
    node = kube.node(OLD[0])
    assert node is not None and not node["spec"].get("unschedulable")


def test_drain_evicts_when_the_budget_allows_one(kube: FakeKubernetes, kubectl: Kubectl) -> None:
    kube.apply(_pdb("web", maxUnavailable=1))
    mark = kube.history_mark()
    kube.clear_requests()
    kubectl("drain", OLD[0], "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=30s")
    writes = [(r.method, r.path, r.status) for r in kube.requests if r.method in ("POST", "DELETE")]
    assert [w for w in writes if w[1].endswith("/eviction")] and all(w[2] == 201 for w in writes)
    assert not [w for w in writes if w[0] == "DELETE"]  # evicted, never deleted
    assert OLD[0] not in _web_nodes(kube) and len(_web_nodes(kube)) == 2
    assert kube.pdb_violations(since=mark) == []


def test_drain_respects_a_budget_that_allows_nothing(kube: FakeKubernetes, kubectl: Kubectl) -> None:
    kube.apply(_pdb("web", minAvailable=2))
    before = _web_nodes(kube)
    kube.clear_requests()
    done = kubectl("drain", OLD[0], "--ignore-daemonsets", "--timeout=1s", check=False)
    assert done.returncode != 0
    assert "disruption budget" in done.stderr
    evictions = [r.status for r in kube.requests if r.path.endswith("/eviction")]
    assert evictions and set(evictions) == {429}
    assert not [r for r in kube.requests if r.method == "DELETE"]
    assert _web_nodes(kube) == before  # nothing left the node


def test_exec_runs_powershell_get_timezone(kube: FakeKubernetes, kubectl: Kubectl) -> None:
    pod = kube.pods("apps")[0]["metadata"]["name"]
    kube.set_container_time_zone("apps", pod, "Tokyo Standard Time")
    out = kubectl("exec", "-n", "apps", pod, "--", "powershell", "-Command", "Get-TimeZone").stdout
    assert "Tokyo Standard Time" in out


def test_logs_and_events_of_a_pod(kube: FakeKubernetes, kubectl: Kubectl) -> None:
    pod = kube.pods("apps")[0]["metadata"]["name"]
    assert (
        "started from image mcr.microsoft.com/windows/servercore/iis:ltsc2022"
        in kubectl("logs", "-n", "apps", pod).stdout
    )
    events = kubectl("get", "events", "-n", "apps", "--field-selector", f"involvedObject.name={pod}").stdout
    for reason in ("Scheduled", "Pulled", "Created", "Started"):
        assert reason in events


def test_rollout_restart_keeps_the_budget(kube: FakeKubernetes, kubectl: Kubectl) -> None:
    kube.apply(_pdb("web", minAvailable=2))
    old_pods = {p["metadata"]["name"] for p in kube.pods("apps")}
    mark = kube.history_mark()
    kubectl("rollout", "restart", "deployment/web", "-n", "apps")
    kubectl("rollout", "status", "deployment/web", "-n", "apps", "--timeout=30s")
    kube.settle()
    new_pods = kube.pods("apps")
    assert len(new_pods) == 2 and not old_pods & {p["metadata"]["name"] for p in new_pods}
    assert all("kubectl.kubernetes.io/restartedAt" in p["metadata"]["annotations"] for p in new_pods)
    assert kube.pdb_violations(since=mark) == []
    assert min(kube.ready_history("Deployment/apps/web", since=mark)) >= 2


def test_scale_and_server_side_apply(kube: FakeKubernetes, kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("scale", "deployment/web", "-n", "apps", "--replicas=3")
    deploy = kube.get("Deployment", "web", "apps")
    assert deploy is not None and deploy["spec"]["replicas"] == 3
    manifest = tmp_path / "svc.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": "apps"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
            }
        )
    )
    kubectl("apply", "--server-side", "-f", str(manifest))
    assert kube.get("Service", "web", "apps") is not None


def test_apply_validates_on_the_server_and_refuses_an_unknown_field(
    kube: FakeKubernetes, kubectl: Kubectl, tmp_path: Path
) -> None:
    deployment = _windows_deployment("api", 2)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "api", "namespace": "apps"},
        "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    manifest = tmp_path / "app.yaml"
    manifest.write_text(yaml.safe_dump_all([deployment, _pdb("api", minAvailable=1), service]))
    kube.clear_requests()
    done = kubectl("apply", "-f", str(manifest))
    assert "deployment.apps/api created" in done.stdout and "service/api created" in done.stdout
    assert kube.get("PodDisruptionBudget", "api", "apps") is not None
    writes = [r for r in kube.requests if r.method in ("POST", "PATCH")]
    assert writes and all("fieldValidation=Strict" in r.query for r in writes)
    assert not any(r.path == "/openapi/v2" for r in kube.requests)  # no client-side schema validation

    deployment["spec"]["replicas"] = 3
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    manifest.write_text(yaml.safe_dump(deployment))
    refused = kubectl("apply", "-f", str(manifest), check=False)
    assert refused.returncode == 1
    assert 'strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolicyy"' in (
        refused.stderr
    )
    stored = kube.get("Deployment", "api", "apps")
    assert stored is not None and stored["spec"]["replicas"] == 2  # nothing changed

    deployment["metadata"]["name"] = "api2"
    manifest.write_text(yaml.safe_dump(deployment))
    refused = kubectl("create", "-f", str(manifest), check=False)
    assert (
        refused.returncode == 1
        and "cannot be handled as a Deployment: strict decoding error" in refused.stderr
    )
    assert kube.get("Deployment", "api2", "apps") is None
    warned = kubectl("apply", "--validate=warn", "-f", str(manifest))
    assert 'Warning: unknown field "spec.template.spec.containers[0].imagePullPolicyy"' in warned.stderr
    assert kube.get("Deployment", "api2", "apps") is not None


def _state(kube: FakeKubernetes, drained: str) -> dict[str, Any]:
    """What a drain leaves: cordons, which pods survived, how many Running pods each controller has, budgets.

    Where a replacement lands may differ (kubectl evicts a node's pods concurrently, the library one by one),
    so placement is compared only as "nothing left on the drained node".
    """
    pods = kube.pods()
    running: dict[str, int] = {}
    for pod in pods:
        owner = pod["metadata"]["name"].rsplit("-", 2)[0]
        if pod["status"].get("phase") == "Running":
            running[owner] = running.get(owner, 0) + 1
    return {
        "names": sorted(p["metadata"]["name"] for p in pods),
        "running": running,
        "on_drained": sorted(p["metadata"]["name"] for p in pods if p["spec"].get("nodeName") == drained),
        "cordoned": sorted(n["metadata"]["name"] for n in kube.nodes() if n["spec"].get("unschedulable")),
        "budgets": {
            p["metadata"]["name"]: p["status"]["disruptionsAllowed"]
            for p in kube.objects("PodDisruptionBudget")
        },
    }


def test_kubectl_drain_and_the_library_drain_leave_the_same_state(tmp_path: Path) -> None:
    twins = []
    for _ in range(2):
        fake = FakeKubernetes(ready_delay=0, seed=11).start()
        _cluster(fake)
        fake.apply(_windows_deployment("api", 3))
        fake.apply(_pdb("web", maxUnavailable=1))
        fake.apply(_pdb("api", minAvailable=2))
        fake.settle()
        twins.append(fake)
    by_kubectl, by_library = twins
    try:
        before = _state(by_library, OLD[0])
        assert _state(by_kubectl, OLD[0]) == before and before["on_drained"]
        Kubectl(by_kubectl, tmp_path / "k")("drain", OLD[0], "--ignore-daemonsets", "--timeout=30s")
        with by_library.api_client() as api:
            result = drain_nodes(api, [OLD[0]], poll_interval=0.01, clock=by_library.clock)
        assert result.nodes
        by_kubectl.settle()
        by_library.settle()
        after, after_kubectl = _state(by_library, OLD[0]), _state(by_kubectl, OLD[0])
        # Replacement pods get generated names in eviction order, which differs: compare the survivors.
        survivors = set(before["names"]) & set(after["names"])
        assert set(before["names"]) & set(after_kubectl["names"]) == survivors
        after.pop("names")
        after_kubectl.pop("names")
        assert after_kubectl == after
        assert after["cordoned"] == [OLD[0]] and after["on_drained"] == []
        # The same pods were evicted: exactly those that ran on the drained node.
        assert set(before["names"]) - survivors == set(before["on_drained"])
        assert after["running"] == {"api": 3, "web": 2}
    finally:
        for fake in twins:
            fake.stop()
