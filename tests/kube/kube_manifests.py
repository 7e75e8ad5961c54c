"""Manifest builders and pool setups shared by the Kubernetes tests."""

from __future__ import annotations

from typing import Any

import kubernetes.client

from aks_windows_ops.testing.fake_kube import FakeKubernetes

#: The kubernetes client package, typed loosely: its models make every field Optional, which tests need not
#: narrow one by one.
k8s: Any = kubernetes.client

WIN_TOLERATION = {"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}
IMAGE_2022 = "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022"


def pod_template(
    labels: dict[str, str],
    *,
    node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
    affinity: dict[str, Any] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    image: str = IMAGE_2022,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": image}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    if tolerations:
        spec["tolerations"] = tolerations
    if affinity:
        spec["affinity"] = affinity
    if volumes:
        spec["volumes"] = volumes
        spec["containers"][0]["volumeMounts"] = [
            {"name": v["name"], "mountPath": f"C:\\{v['name']}"} for v in volumes
        ]
    return {"metadata": {"labels": labels}, "spec": spec}


def windows_spec(**kwargs: Any) -> dict[str, Any]:
    """Keyword arguments for a pod template pinned to Windows and tolerating os=windows:NoSchedule."""
    return {"node_selector": {"kubernetes.io/os": "windows"}, "tolerations": [WIN_TOLERATION], **kwargs}


def deployment(name: str, replicas: int, *, namespace: str = "default", **template: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": pod_template(labels, **template),
        },
    }


def statefulset(name: str, replicas: int, *, namespace: str = "default", **template: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "template": pod_template(labels, **template),
        },
    }


def daemonset(name: str, *, namespace: str = "kube-system", **template: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"matchLabels": labels}, "template": pod_template(labels, **template)},
    }


def pdb(
    name: str,
    app: str,
    *,
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
    namespace: str = "default",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": app}}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def bare_pod(name: str, *, namespace: str = "default", **template: Any) -> dict[str, Any]:
    tpl = pod_template({"app": name}, **template)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, **tpl["metadata"]},
        "spec": tpl["spec"],
    }


def add_pools(kube: FakeKubernetes, *, old: int = 2, new: int = 0, max_pods: int = 30) -> None:
    """A Linux system pool, an old Windows 2022 pool ``win1`` and optionally a new one ``win2``."""
    kube.sync_pool(
        "nodepool1", os_type="Linux", count=1, kubernetes_version="1.33.0", max_pods=110, mode="System"
    )
    kube.sync_pool(
        "win1",
        os_type="Windows",
        os_sku="Windows2022",
        count=old,
        labels={},
        taints=["os=windows:NoSchedule"],
        kubernetes_version="1.33.0",
        max_pods=max_pods,
    )
    if new:
        kube.sync_pool(
            "win2",
            os_type="Windows",
            os_sku="Windows2022",
            count=new,
            labels={},
            taints=["os=windows:NoSchedule"],
            kubernetes_version="1.33.0",
            max_pods=max_pods,
        )
