from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.manifests import load_manifests
from aks_windows_ops.models import Severity
from aks_windows_ops.rules.pod_templates import image_windows_build, is_windows_image, pod_templates
from aks_windows_ops.rules.workloads import lint_workloads

WS2019 = "10.0.17763"
WS2022 = "10.0.20348"
WS2025 = "10.0.26100"
IMAGE_2022 = "mcr.microsoft.com/windows/servercore:ltsc2022"


def deployment(
    name: str = "web",
    *,
    pod_spec: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    kind: str = "Deployment",
    namespace: str = "shop",
) -> dict[str, Any]:
    spec = pod_spec if pod_spec is not None else windows_spec()
    template = {"metadata": {"labels": labels or {"app": name}}, "spec": spec}
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
    }
    if kind == "Pod":
        body["metadata"]["labels"] = labels or {"app": name}
        body["spec"] = spec
    elif kind == "CronJob":
        body["spec"] = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        body["spec"] = {"replicas": 2, "template": template}
    return body


def windows_spec(**extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "nodeSelector": {"kubernetes.io/os": "windows"},
        "containers": [{"name": "app", "image": IMAGE_2022}],
    }
    spec.update(extra)
    return spec


def service(
    name: str = "web",
    *,
    type_: str = "LoadBalancer",
    policy: str | None = None,
    affinity: str | None = None,
    selector: dict[str, str] | None = None,
    namespace: str = "shop",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": type_, "selector": selector or {"app": "web"}, "ports": [{"port": 80}]}
    if policy:
        spec["externalTrafficPolicy"] = policy
    if affinity:
        spec["sessionAffinity"] = affinity
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


ANTI_AFFINITY = {
    "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}
        ]
    }
}


def codes(findings: list[Any]) -> list[str]:
    return [f.code for f in findings]


# --- loading ----------------------------------------------------------------------------------------------------


def test_load_multi_document_text_and_lists() -> None:
    text = """
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Service, metadata: {name: a}}
  - {apiVersion: v1, kind: Service, metadata: {name: b}}
---
---
apiVersion: v1
kind: PodList
items:
  - {apiVersion: v1, kind: Pod, metadata: {name: p}}
---
{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
"""
    manifests = load_manifests(text)
    assert [m["metadata"]["name"] for m in manifests] == ["a", "b", "p", "d"]


def test_load_paths_and_directories(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("kind: Service\nmetadata: {name: b}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.json").write_text(
        json.dumps({"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "c"}}]})
    )
    (tmp_path / "notes.txt").write_text("not: a manifest")
    one = tmp_path / "a.yml"
    one.write_text("kind: Pod\nmetadata: {name: a}\n")
    assert [m["metadata"]["name"] for m in load_manifests(one)] == ["a"]
    assert [m["metadata"]["name"] for m in load_manifests(str(one))] == ["a"]
    assert [m["metadata"]["name"] for m in load_manifests(tmp_path)] == ["a", "b", "c"]
    mixed = load_manifests([one, "kind: Pod\nmetadata: {name: inline}\n"])
    assert [m["metadata"]["name"] for m in mixed] == ["a", "inline"]


@pytest.mark.parametrize(
    "bad",
    ["kind: [unclosed", "- just\n- a list\n", "just a scalar"],
    ids=["invalid-yaml", "list-document", "scalar"],
)
def test_load_rejects_non_manifests(bad: str) -> None:
    with pytest.raises(InvalidInput):
        load_manifests(bad)


def test_load_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        load_manifests(tmp_path / "missing.yaml")
    with pytest.raises(InvalidInput, match="no such file"):
        load_manifests(str(tmp_path / "missing.yaml"))


# --- images -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "windows", "build"),
    [
        ("mcr.microsoft.com/windows/servercore:ltsc2019", True, WS2019),
        ("mcr.microsoft.com/windows/nanoserver:ltsc2022", True, WS2022),
        ("mcr.microsoft.com/windows/server:ltsc2025", True, WS2025),
        ("mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2022", True, WS2022),
        ("mcr.microsoft.com/powershell:lts-nanoserver-1809", True, WS2019),
        ("myregistry.azurecr.io/app:1.2-ltsc2025@sha256:abcd", True, WS2025),
        ("contoso.azurecr.io/app:10.0.20348.2340", True, WS2022),
        ("mcr.microsoft.com/windows/servercore", True, None),
        ("nginx:1.27", False, None),
        ("registry:5000/team/app:1809", False, None),
    ],
)
def test_image_classification(image: str, windows: bool, build: str | None) -> None:
    assert is_windows_image(image) is windows
    assert image_windows_build(image) == build


# --- lint rules -------------------------------------------------------------------------------------------------

LINT_CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any], str, Severity, str]] = [
    (
        "run-as-user-pod-level",
        [deployment(pod_spec=windows_spec(securityContext={"runAsUser": 1000, "fsGroup": 2000}))],
        {},
        "LINUX_SECURITY_CONTEXT_ON_WINDOWS",
        Severity.WARNING,
        "Deployment/shop/web",
    ),
    (
        "run-as-group-container-level-with-os-field",
        [
            deployment(
                pod_spec={
                    "os": {"name": "windows"},
                    "containers": [
                        {"name": "app", "image": IMAGE_2022, "securityContext": {"runAsGroup": 3}}
                    ],
                }
            )
        ],
        {},
        "LINUX_SECURITY_CONTEXT_ON_WINDOWS",
        Severity.ERROR,
        "Deployment/shop/web",
    ),
    (
        "run-as-non-root-without-username",
        [deployment(pod_spec=windows_spec(securityContext={"runAsNonRoot": True}))],
        {},
        "RUN_AS_NON_ROOT_ON_WINDOWS",
        Severity.INFO,
        "Deployment/shop/web",
    ),
    (
        "linux-mount-path",
        [
            deployment(
                pod_spec=windows_spec(
                    containers=[
                        {
                            "name": "app",
                            "image": IMAGE_2022,
                            "volumeMounts": [{"name": "d", "mountPath": "/mnt/volume"}],
                        }
                    ],
                    volumes=[{"name": "d", "emptyDir": {}}],
                )
            )
        ],
        {},
        "LINUX_MOUNT_PATH_ON_WINDOWS",
        Severity.WARNING,
        "Deployment/shop/web",
    ),
    (
        "windows-image-no-selector",
        [deployment(kind="Pod", pod_spec={"containers": [{"name": "app", "image": IMAGE_2022}]})],
        {},
        "WINDOWS_IMAGE_WITHOUT_OS_SELECTOR",
        Severity.WARNING,
        "Pod/shop/web",
    ),
    (
        "image-build-not-in-pools",
        [deployment()],
        {"windows_builds": {WS2019}},
        "WINDOWS_IMAGE_BUILD_MISMATCH",
        Severity.ERROR,
        "Deployment/shop/web",
    ),
    (
        "image-build-against-pinned-build",
        [
            deployment(
                pod_spec=windows_spec(
                    nodeSelector={"kubernetes.io/os": "windows", "node.kubernetes.io/windows-build": WS2019}
                )
            )
        ],
        {},
        "WINDOWS_IMAGE_BUILD_MISMATCH",
        Severity.ERROR,
        "Deployment/shop/web",
    ),
    (
        "image-build-against-pinned-sku-affinity",
        [
            deployment(
                pod_spec={
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {
                                                "key": "kubernetes.io/os",
                                                "operator": "In",
                                                "values": ["windows"],
                                            },
                                            {
                                                "key": "kubernetes.azure.com/os-sku",
                                                "operator": "In",
                                                "values": ["Windows2025"],
                                            },
                                        ]
                                    }
                                ]
                            }
                        }
                    },
                    "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/servercore:ltsc2019"}],
                }
            )
        ],
        {},
        "WINDOWS_IMAGE_BUILD_MISMATCH",
        Severity.ERROR,
        "Deployment/shop/web",
    ),
    (
        "two-containers-two-builds",
        [
            deployment(
                pod_spec=windows_spec(
                    containers=[
                        {"name": "a", "image": IMAGE_2022},
                        {"name": "b", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2019"},
                    ]
                )
            )
        ],
        {},
        "WINDOWS_IMAGE_BUILD_MISMATCH",
        Severity.ERROR,
        "Deployment/shop/web",
    ),
    (
        "image-build-not-pinned-with-mixed-pools",
        [deployment(kind="StatefulSet")],
        {"windows_builds": {WS2019, WS2022}},
        "WINDOWS_IMAGE_BUILD_NOT_PINNED",
        Severity.WARNING,
        "StatefulSet/shop/web",
    ),
    (
        "host-network",
        [deployment(kind="DaemonSet", pod_spec=windows_spec(hostNetwork=True))],
        {},
        "HOST_NETWORK_ON_WINDOWS",
        Severity.WARNING,
        "DaemonSet/shop/web",
    ),
    (
        "privileged",
        [
            deployment(
                kind="Job",
                pod_spec=windows_spec(
                    containers=[{"name": "app", "image": IMAGE_2022, "securityContext": {"privileged": True}}]
                ),
            )
        ],
        {},
        "PRIVILEGED_ON_WINDOWS",
        Severity.WARNING,
        "Job/shop/web",
    ),
    (
        "host-path-volume",
        [
            deployment(
                kind="CronJob",
                pod_spec=windows_spec(volumes=[{"name": "h", "hostPath": {"path": "C:\\data"}}]),
            )
        ],
        {},
        "UNSUPPORTED_VOLUME_ON_WINDOWS",
        Severity.INFO,
        "CronJob/shop/web",
    ),
    (
        "nfs-csi-volume",
        [
            deployment(
                kind="ReplicaSet",
                pod_spec=windows_spec(volumes=[{"name": "n", "csi": {"driver": "nfs.csi.k8s.io"}}]),
            )
        ],
        {},
        "UNSUPPORTED_VOLUME_ON_WINDOWS",
        Severity.INFO,
        "ReplicaSet/shop/web",
    ),
    (
        "no-windows-pool",
        [deployment()],
        {"windows_builds": set()},
        "WINDOWS_WORKLOAD_WITHOUT_WINDOWS_POOL",
        Severity.WARNING,
        "Deployment/shop/web",
    ),
    (
        "services-near-limit",
        [service(f"s{i}") for i in range(401)],
        {},
        "SERVICES_NEAR_PORT_LIMIT",
        Severity.WARNING,
        "Service/*",
    ),
    (
        "services-over-limit",
        [service(f"s{i}", type_="NodePort", policy="Cluster") for i in range(501)],
        {},
        "SERVICES_OVER_PORT_LIMIT",
        Severity.WARNING,
        "Service/*",
    ),
    (
        "session-affinity-cluster-policy",
        [deployment(pod_spec=windows_spec(affinity=ANTI_AFFINITY)), service(affinity="ClientIP")],
        {},
        "SESSION_AFFINITY_NEEDS_LOCAL_POLICY",
        Severity.WARNING,
        "Service/shop/web",
    ),
    (
        "session-affinity-no-anti-affinity",
        [deployment(), service(affinity="ClientIP", policy="Local")],
        {},
        "SESSION_AFFINITY_NEEDS_ANTI_AFFINITY",
        Severity.WARNING,
        "Service/shop/web",
    ),
    (
        "session-affinity-old-cluster",
        [
            deployment(pod_spec=windows_spec(affinity=ANTI_AFFINITY)),
            service(affinity="ClientIP", policy="Local"),
        ],
        {"kubernetes_version": "1.19.11"},
        "SESSION_AFFINITY_VERSION_TOO_LOW",
        Severity.WARNING,
        "Service/shop/web",
    ),
]


@pytest.mark.parametrize(
    ("manifests", "kwargs", "code", "severity", "resource"),
    [c[1:] for c in LINT_CASES],
    ids=[c[0] for c in LINT_CASES],
)
def test_each_lint_rule(
    manifests: list[dict[str, Any]], kwargs: dict[str, Any], code: str, severity: Severity, resource: str
) -> None:
    findings = lint_workloads(manifests, **kwargs)
    hits = [f for f in findings if f.code == code]
    assert hits, codes(findings)
    assert hits[0].severity is severity
    assert hits[0].resource == resource
    assert hits[0].faq and hits[0].remediation and hits[0].message


def test_clean_windows_workload_has_no_findings() -> None:
    spec = windows_spec(
        affinity=ANTI_AFFINITY,
        securityContext={"runAsNonRoot": True, "windowsOptions": {"runAsUserName": "ContainerUser"}},
        containers=[
            {
                "name": "app",
                "image": IMAGE_2022,
                "volumeMounts": [
                    {"name": "data", "mountPath": "/K/Volume"},
                    {"name": "cfg", "mountPath": "C:\\config"},
                    {"name": "pipe", "mountPath": "\\\\.\\pipe\\docker_engine"},
                    {"name": "token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
                ],
            }
        ],
        volumes=[
            {"name": "data", "persistentVolumeClaim": {"claimName": "disk"}},
            {"name": "cfg", "configMap": {"name": "c"}},
            {"name": "files", "csi": {"driver": "file.csi.azure.com"}},
            {"name": "kv", "csi": {"driver": "secrets-store.csi.k8s.io"}},
        ],
    )
    manifests = [deployment(pod_spec=spec), service(affinity="ClientIP", policy="Local")]
    assert lint_workloads(manifests, windows_builds={WS2022}, kubernetes_version="1.31.2") == []


def test_linux_workloads_are_left_alone() -> None:
    spec = {
        "securityContext": {"runAsUser": 1000, "fsGroup": 1000},
        "hostNetwork": True,
        "containers": [
            {"name": "n", "image": "nginx", "volumeMounts": [{"name": "d", "mountPath": "/mnt/volume"}]}
        ],
        "volumes": [{"name": "d", "hostPath": {"path": "/data"}}],
    }
    assert lint_workloads([deployment(pod_spec=spec)], windows_builds={WS2022}) == []


def test_host_process_pods_may_use_host_network_and_privileged() -> None:
    spec = windows_spec(
        hostNetwork=True,
        securityContext={"windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\SYSTEM"}},
        containers=[{"name": "app", "image": IMAGE_2022, "securityContext": {"privileged": True}}],
        volumes=[{"name": "h", "hostPath": {"path": "C:\\"}}],
    )
    found = codes(lint_workloads([deployment(kind="DaemonSet", pod_spec=spec)]))
    assert "HOST_NETWORK_ON_WINDOWS" not in found
    assert "PRIVILEGED_ON_WINDOWS" not in found
    assert "UNSUPPORTED_VOLUME_ON_WINDOWS" not in found


def test_service_counting_rules() -> None:
    local = [service(f"l{i}", policy="Local") for i in range(450)]
    cluster_ip = [service(f"c{i}", type_="ClusterIP") for i in range(450)]
    assert lint_workloads(local + cluster_ip) == []
    exactly_400 = [service(f"s{i}") for i in range(400)]
    assert lint_workloads(exactly_400) == []
    # Without Windows pools the Windows port limit does not apply.
    assert lint_workloads([service(f"s{i}") for i in range(600)], windows_builds=set()) == []


def test_session_affinity_ignores_linux_pods_and_daemonsets_are_one_per_node() -> None:
    linux = deployment(pod_spec={"containers": [{"name": "n", "image": "nginx"}]})
    assert lint_workloads([linux, service(affinity="ClientIP")]) == []
    daemon = deployment(kind="DaemonSet")
    found = codes(
        lint_workloads([daemon, service(affinity="ClientIP", policy="Local")], windows_builds={WS2022})
    )
    assert found == []


def test_anti_affinity_must_select_the_pods_own_labels() -> None:
    wrong = copy.deepcopy(ANTI_AFFINITY)
    wrong["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"] = {
        "matchExpressions": [{"key": "app", "operator": "In", "values": ["other"]}]
    }
    manifests = [
        deployment(pod_spec=windows_spec(affinity=wrong)),
        service(affinity="ClientIP", policy="Local"),
    ]
    assert codes(lint_workloads(manifests)) == ["SESSION_AFFINITY_NEEDS_ANTI_AFFINITY"]


def test_owned_objects_are_not_reported_twice() -> None:
    dep = deployment()
    rs = deployment("web-5d8f", kind="ReplicaSet")
    rs["metadata"]["ownerReferences"] = [{"kind": "Deployment", "name": "web", "controller": True}]
    pod = deployment("web-5d8f-abcde", kind="Pod")
    pod["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "web-5d8f", "controller": True}]
    bad = windows_spec(securityContext={"runAsUser": 1})
    for obj in (dep, rs, pod):
        if obj["kind"] == "Pod":
            obj["spec"] = bad
        else:
            obj["spec"]["template"]["spec"] = bad
    found = lint_workloads([dep, rs, pod])
    assert [f.resource for f in found] == ["Deployment/shop/web"]
    # A Pod whose owner is absent is still linted.
    assert [t.resource for t in pod_templates([pod])] == ["Pod/shop/web-5d8f-abcde"]


def test_windows_detection_through_node_affinity() -> None:
    def affinity(values: list[str]) -> dict[str, Any]:
        return {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "kubernetes.io/os", "operator": "In", "values": values}
                            ]
                        }
                    ]
                }
            }
        }

    spec = {
        "affinity": affinity(["windows"]),
        "securityContext": {"runAsUser": 5},
        "containers": [{"name": "a", "image": "x"}],
    }
    assert codes(lint_workloads([deployment(pod_spec=spec)])) == ["LINUX_SECURITY_CONTEXT_ON_WINDOWS"]
    spec["affinity"] = affinity(["windows", "linux"])
    assert lint_workloads([deployment(pod_spec=spec)]) == []


def test_replicas_are_read_per_kind() -> None:
    manifests = [
        deployment("d"),
        deployment("ds", kind="DaemonSet"),
        deployment("p", kind="Pod"),
        deployment("cj", kind="CronJob"),
    ]
    manifests[0]["spec"]["replicas"] = 7
    got = {t.resource: t.replicas for t in pod_templates(manifests)}
    assert got == {"Deployment/shop/d": 7, "DaemonSet/shop/ds": None, "Pod/shop/p": 1, "CronJob/shop/cj": 1}


def test_garbage_objects_do_not_crash() -> None:
    junk: list[Any] = [
        {"kind": "Deployment"},
        {"kind": "Deployment", "spec": {"template": "nope"}},
        {"kind": "Pod", "metadata": None, "spec": {"containers": [None, "x", {"name": 3}]}},
        {"kind": "Service", "spec": None},
        {"no": "kind"},
        "not a dict",
    ]
    assert lint_workloads(junk) == []


def test_portability_ltsc2022_runs_on_windows_server_2025_but_ltsc2019_does_not() -> None:
    """AKS (Azure/AKS#5608): Windows Server 2022 images run on Windows Server 2025 hosts; ltsc2019 on no newer host."""

    def lint(image: str, builds: set[str]) -> set[str]:
        pod = {
            "nodeSelector": {"kubernetes.io/os": "windows"},
            "containers": [{"name": "app", "image": image}],
        }
        return {f.code for f in lint_workloads([deployment(pod_spec=pod)], windows_builds=builds)}

    assert "WINDOWS_IMAGE_BUILD_MISMATCH" not in lint(IMAGE_2022, {WS2025})
    assert "WINDOWS_IMAGE_BUILD_MISMATCH" in lint("mcr.microsoft.com/windows/servercore:ltsc2019", {WS2025})
    assert "WINDOWS_IMAGE_BUILD_MISMATCH" in lint(
        "mcr.microsoft.com/windows/servercore:ltsc2019", {"10.0.20348"}
    )
    assert "WINDOWS_IMAGE_BUILD_MISMATCH" in lint(
        "mcr.microsoft.com/windows/servercore:ltsc2025", {"10.0.20348"}
    )


def test_a_windows_image_alone_makes_a_windows_pod() -> None:
    """One notion of a Windows pod: a Windows image without a selector still gets every Windows rule."""
    pod = {
        "securityContext": {"runAsUser": 1000, "fsGroup": 2000},
        "containers": [{"name": "app", "image": "contoso.azurecr.io/shop:1.0-ltsc2019"}],
    }
    codes = {f.code for f in lint_workloads([deployment(pod_spec=pod)])}
    assert "WINDOWS_IMAGE_WITHOUT_OS_SELECTOR" in codes
    tolerating = {
        "tolerations": [{"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}],
        "securityContext": {"runAsUser": 1000},
        "containers": [{"name": "app", "image": "contoso.azurecr.io/shop:1.0"}],
    }
    by_image = {
        f.code
        for f in lint_workloads([deployment(pod_spec=pod)])
        if f.code != "WINDOWS_IMAGE_WITHOUT_OS_SELECTOR"
    }
    by_toleration = {f.code for f in lint_workloads([deployment(pod_spec=tolerating)])}
    linux = {
        f.code
        for f in lint_workloads(
            [
                deployment(
                    pod_spec={
                        "securityContext": {"runAsUser": 1000},
                        "containers": [{"name": "a", "image": "nginx:1.27"}],
                    }
                )
            ]
        )
    }
    assert by_image and by_image & by_toleration
    assert not (by_image & linux)


def test_pods_of_a_listed_deployment_are_not_linted_twice() -> None:
    """Live clusters are read as Deployments and Pods: a Pod of ReplicaSet ``web-<hash>`` belongs to ``web``."""
    pod_spec = {"containers": [{"name": "app", "image": "mcr.microsoft.com/windows/servercore:ltsc2019"}]}
    dep = deployment(pod_spec=pod_spec)
    name = dep["metadata"]["name"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{name}-5d9c7b-abcde",
            "namespace": dep["metadata"]["namespace"],
            "ownerReferences": [{"kind": "ReplicaSet", "name": f"{name}-5d9c7b", "controller": True}],
        },
        "spec": pod_spec,
    }
    stray = {
        **pod,
        "metadata": {
            **pod["metadata"],
            "ownerReferences": [{"kind": "ReplicaSet", "name": "other-5d9c7b", "controller": True}],
        },
    }
    assert [t.kind for t in pod_templates([dep, pod])] == ["Deployment"]
    assert [t.kind for t in pod_templates([dep, stray])] == ["Deployment", "Pod"]
    findings = lint_workloads([dep, pod], windows_builds={"10.0.20348"})
    assert [f.resource for f in findings if f.code == "WINDOWS_IMAGE_BUILD_MISMATCH"] == [
        f"Deployment/shop/{name}"
    ]
