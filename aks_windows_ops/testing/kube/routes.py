"""Routing of the fake Kubernetes API: which resource a path names, and what each method does to it.

Paths follow the Kubernetes API (``/api/v1/...`` for the core group, ``/apis/<group>/<version>/...``
otherwise): discovery documents (:mod:`.discovery`), OpenAPI v3 documents (:mod:`.openapi`), ``/version`` following the control plane, collections
(list, create), objects (get, PUT, every patch type of :mod:`.patch` including server-side apply creating
objects, delete with a grace period), and the ``eviction``, ``status`` and ``scale`` subresources.
Collection deletes are answered with a ``Status`` error rather than being half-served.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aks_windows_ops.testing.kube import discovery, openapi
from aks_windows_ops.testing.kube import patch as patches
from aks_windows_ops.testing.kube.match import merge_patch
from aks_windows_ops.testing.kube.objects import ApiError, Kind, kind_for
from aks_windows_ops.testing.kube.state import ClusterState

__all__ = ["Target", "first", "no_such_path", "patcher", "pick_container", "resolve", "route", "scale_of"]

Obj = dict[str, Any]


def first(query: dict[str, list[str]], key: str) -> str | None:
    """The first value of a query parameter, or ``None``."""
    values = query.get(key)
    return values[0] if values else None


def no_such_path() -> ApiError:
    """The API server's 404 for a path it does not serve."""
    return ApiError(404, "NotFound", "the server could not find the requested resource")


@dataclass(frozen=True)
class Target:
    """A served resource path: the kind, namespace, name and subresource it names."""

    kind: Kind
    namespace: str | None
    name: str | None
    sub: str | None


def resolve(path: str) -> Target | Any:
    """Map a path to a served resource, or return the discovery document it names."""
    segments = [s for s in path.split("/") if s]
    if segments[:2] == ["openapi", "v3"]:
        return _openapi(segments[2:])
    if segments == ["api"]:
        return discovery.api_versions()
    if segments == ["apis"]:
        return discovery.api_group_list()
    if len(segments) == 2 and segments[0] == "apis":
        return discovery.api_group(segments[1]) or no_such_path()
    if len(segments) == 2 and segments[0] == "api":
        return discovery.resource_list("", segments[1]) or no_such_path()
    if len(segments) == 3 and segments[0] == "apis":
        return discovery.resource_list(segments[1], segments[2]) or no_such_path()
    if len(segments) >= 2 and segments[0] == "api":
        group, version, rest = "", segments[1], segments[2:]
    elif len(segments) >= 3 and segments[0] == "apis":
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return no_such_path()
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return no_such_path()
    kind = kind_for(group, version, rest[0])
    if kind is None or (namespace is not None and not kind.namespaced):
        return no_such_path()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if kind.namespaced and name is not None and namespace is None:
        return no_such_path()
    return Target(kind, namespace, name, sub)


def _openapi(rest: list[str]) -> Any:
    if not rest:
        return openapi.root_document()
    if len(rest) == 2 and rest[0] == "api":
        return openapi.group_version_document("", rest[1]) or no_such_path()
    if len(rest) == 3 and rest[0] == "apis":
        return openapi.group_version_document(rest[1], rest[2]) or no_such_path()
    return no_such_path()


def scale_of(obj: Obj, kind: Kind) -> Obj:
    """The ``autoscaling/v1`` ``Scale`` of a Deployment, ReplicaSet or StatefulSet."""
    meta = obj["metadata"]
    selector = (obj["spec"].get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": int(obj["spec"].get("replicas", 1))},
        "status": {
            "replicas": int((obj.get("status") or {}).get("replicas", 0)),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


def patcher(content_type: str) -> Callable[[Obj, Any], Any]:
    """The patch function for a PATCH ``Content-Type`` (JSON, merge or strategic merge patch)."""
    if content_type == "application/json-patch+json":
        return patches.json_patch
    if content_type == "application/merge-patch+json":
        return merge_patch
    return patches.strategic_merge


def route(
    state: ClusterState,
    version: Callable[[], str],
    method: str,
    path: str,
    query: dict[str, list[str]],
    body: Any,
    content_type: str,
) -> tuple[int, Any]:
    """Serve one request on a resource path; return the status and the answer (errors raise ``ApiError``)."""
    segments = [s for s in path.split("/") if s]
    if segments == ["version"]:
        return 200, discovery.version_info(version())
    target = resolve(path)
    if isinstance(target, ApiError):
        raise target
    if not isinstance(target, Target):
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported")
        return 200, target
    kind, namespace, name, sub = target.kind, target.namespace, target.name, target.sub
    ns = namespace or ""
    if name is None:
        if method == "GET":
            return 200, state.list_objects(
                kind,
                namespace,
                label_selector_text=first(query, "labelSelector"),
                field_selector_text=first(query, "fieldSelector"),
            )
        if method == "POST":
            return 201, state.create(kind, ns, body or {})
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on a collection")
    if sub is None:
        if method == "GET":
            return 200, state.get(kind, ns, name)
        if method == "PATCH":
            if content_type == "application/apply-patch+yaml":
                try:
                    return 200, state.patch(kind, ns, name, body, apply_patch=patches.strategic_merge)
                except ApiError as err:
                    if err.code != 404 or not isinstance(body, dict):
                        raise
                    meta = body.setdefault("metadata", {})
                    if meta.get("name") not in (None, name):
                        raise ApiError(
                            400, "BadRequest", "the name of the object does not match the URL"
                        ) from err
                    meta["name"] = name
                    return 201, state.create(kind, ns, body)
            return 200, state.patch(kind, ns, name, body, apply_patch=patcher(content_type))
        if method == "PUT":
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the request body is not an object")
            return 200, state.patch(kind, ns, name, body, apply_patch=lambda _old, new: copy.deepcopy(new))
        if method == "DELETE":
            grace_text = first(query, "gracePeriodSeconds")
            grace = (body or {}).get("gracePeriodSeconds") if isinstance(body, dict) else None
            if grace is None and grace_text is not None:
                grace = int(grace_text)
            return 200, state.delete(kind, ns, name, grace_period=grace)
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported")
    if sub == "eviction" and kind.name == "Pod" and method == "POST":
        return 201, state.evict(ns, name, body if isinstance(body, dict) else None)
    if sub == "status" and method == "GET":
        return 200, state.get(kind, ns, name)
    if sub == "scale" and kind.name in ("Deployment", "ReplicaSet", "StatefulSet"):
        if method == "GET":
            return 200, scale_of(state.get(kind, ns, name), kind)
        if method in ("PATCH", "PUT"):
            current = scale_of(state.get(kind, ns, name), kind)
            wanted = body if method == "PUT" else patcher(content_type)(current, body)
            replicas = ((wanted or {}).get("spec") or {}).get("replicas")
            if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, "Invalid", "spec.replicas: Invalid value: must be a non-negative integer")
            updated = state.patch(kind, ns, name, {"spec": {"replicas": replicas}})
            return 200, scale_of(updated, kind)
    raise no_such_path()


def pick_container(pod: Obj, wanted: str | None) -> str:
    """The container a ``log`` or ``exec`` request means: the named one, or the pod's only one."""
    names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
    pod_name = pod["metadata"]["name"]
    if wanted is None:
        if len(names) == 1:
            return names[0]
        raise ApiError(
            400,
            "BadRequest",
            f"a container name must be specified for pod {pod_name}, choose one of: [{' '.join(names)}]",
        )
    if wanted not in names:
        raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {pod_name}")
    return wanted
