"""Discovery documents and ``/version`` of the fake Kubernetes API server.

kubectl finds every resource through discovery before it sends a request (``/api``, ``/apis``, ``/api/v1``,
``/apis/<group>/<version>``), and it drains by eviction (honouring PodDisruptionBudgets) only when
``/api/v1`` lists the ``pods/eviction`` subresource with kind ``Eviction`` of ``policy/v1``; otherwise it
deletes the pods. The documents follow the ``APIVersions``, ``APIGroupList`` and ``APIResourceList`` kinds of
``meta/v1``; kubectl's aggregated discovery falls back to them when the answer is plain JSON.
"""

from __future__ import annotations

from typing import Any

from aks_windows_ops.testing.kube.objects import KINDS, Kind

__all__ = ["api_group", "api_group_list", "api_versions", "resource_list", "version_info"]

Obj = dict[str, Any]

_SHORT_NAMES = {
    "Namespace": ["ns"],
    "Node": ["no"],
    "Pod": ["po"],
    "Service": ["svc"],
    "Event": ["ev"],
    "Deployment": ["deploy"],
    "ReplicaSet": ["rs"],
    "StatefulSet": ["sts"],
    "DaemonSet": ["ds"],
    "PodDisruptionBudget": ["pdb"],
}
_ALL = {"Pod", "Service", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}
_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
#: Subresources served, per kind: (name, group, version, kind, verbs).
_SUBRESOURCES: dict[str, list[tuple[str, str, str, str, list[str]]]] = {
    "Pod": [
        ("eviction", "policy", "v1", "Eviction", ["create"]),
        ("exec", "", "", "PodExecOptions", ["create", "get"]),
        ("log", "", "", "Pod", ["get"]),
        ("status", "", "", "Pod", ["get", "patch", "update"]),
    ],
    "Node": [("status", "", "", "Node", ["get", "patch", "update"])],
    "Deployment": [
        ("scale", "autoscaling", "v1", "Scale", ["get", "patch", "update"]),
        ("status", "", "", "Deployment", ["get", "patch", "update"]),
    ],
    "ReplicaSet": [
        ("scale", "autoscaling", "v1", "Scale", ["get", "patch", "update"]),
        ("status", "", "", "ReplicaSet", ["get", "patch", "update"]),
    ],
    "StatefulSet": [
        ("scale", "autoscaling", "v1", "Scale", ["get", "patch", "update"]),
        ("status", "", "", "StatefulSet", ["get", "patch", "update"]),
    ],
    "PodDisruptionBudget": [("status", "", "", "PodDisruptionBudget", ["get", "patch", "update"])],
}


def _groups() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for kind in KINDS.values():
        if kind.group and kind.version not in groups.setdefault(kind.group, []):
            groups[kind.group].append(kind.version)
    return groups


def api_versions() -> Obj:
    """``GET /api``: the core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}],
    }


def api_group(name: str) -> Obj | None:
    """``GET /apis/<group>``: one group, or ``None`` when it is not served."""
    versions = _groups().get(name)
    if versions is None:
        return None
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": entries,
        "preferredVersion": entries[0],
    }


def api_group_list() -> Obj:
    """``GET /apis``: every served group (``apps``, ``policy`` ...)."""
    groups = [api_group(name) for name in sorted(_groups())]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [g for g in groups if g is not None]}


def _resource(kind: Kind) -> Obj:
    entry: Obj = {
        "name": kind.plural,
        "singularName": kind.name.lower(),
        "namespaced": kind.namespaced,
        "kind": kind.name,
        "verbs": list(_VERBS) + (["deletecollection"] if kind.name == "Event" else []),
        "shortNames": list(_SHORT_NAMES.get(kind.name, [])),
    }
    if kind.name in _ALL:
        entry["categories"] = ["all"]
    return entry


def resource_list(group: str, version: str) -> Obj | None:
    """``GET /api/v1`` or ``GET /apis/<group>/<version>``: resources and subresources, or ``None``."""
    kinds = [k for k in KINDS.values() if (k.group, k.version) == (group, version)]
    if not kinds:
        return None
    resources: list[Obj] = []
    for kind in kinds:
        resources.append(_resource(kind))
        for sub, sub_group, sub_version, sub_kind, verbs in _SUBRESOURCES.get(kind.name, []):
            entry: Obj = {
                "name": f"{kind.plural}/{sub}",
                "singularName": "",
                "namespaced": kind.namespaced,
                "kind": sub_kind,
                "verbs": verbs,
            }
            if sub_group:
                entry["group"], entry["version"] = sub_group, sub_version
            resources.append(entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def version_info(kubernetes_version: str) -> Obj:
    """``GET /version`` for a control plane at ``kubernetes_version`` (``1.33.2`` or ``v1.33.2``)."""
    text = kubernetes_version.lstrip("v")
    parts = [*text.split("."), "0", "0", "0"][:3]
    return {
        "major": parts[0],
        "minor": parts[1],
        "gitVersion": f"v{'.'.join(parts)}",
        "gitCommit": "0" * 40,
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
