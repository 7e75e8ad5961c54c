"""OpenAPI v3 documents of the fake Kubernetes API server, and server-side field validation (``fieldValidation``).

kubectl (1.27 and later) validates a manifest on the server when it can: it reads ``/openapi/v3`` (the root
document that lists each group-version with its ``serverRelativeURL``), then the group-version's document, and
looks there for the PATCH operation of the object's kind (matched by its ``x-kubernetes-group-version-kind``
extension). When that operation takes a ``fieldValidation`` query parameter, kubectl sends
``fieldValidation=Strict`` and skips its own schema validation (Kubernetes docs, "Field validation").

The documents here are minimal but honest: every path and operation the fake serves for every kind it serves,
with ``fieldValidation``, ``dryRun`` and ``fieldManager`` parameters, the media types each operation accepts,
and a schema per kind listing the fields the fake knows. The schemas name every field of the object, its
metadata, its spec, the pod template, the pod spec and containers (Kubernetes 1.33); deeper structures (probes,
affinity, volumes' sources, resources...) are open objects (``x-kubernetes-preserve-unknown-fields``), whose
fields are not checked. The component schemas carry no ``x-kubernetes-group-version-kind``, so kubectl computes
strategic merge patches from its built-in types, exactly as for a real cluster.

Field validation follows the API server: ``Strict`` refuses a body with an unknown field (400 ``BadRequest``,
``strict decoding error: unknown field "spec.foo"``; server-side apply: ``field not declared in schema``),
``Warn`` (the default) accepts it with a ``Warning`` header per field, ``Ignore`` accepts it silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from aks_windows_ops.testing.kube.objects import KINDS, ApiError, Kind

__all__ = [
    "FIELD_VALIDATION",
    "group_version_document",
    "group_versions",
    "root_document",
    "unknown_fields",
    "validate_fields",
]

Obj = dict[str, Any]
#: The ``fieldValidation`` directives, as the API server spells them.
FIELD_VALIDATION = ("Ignore", "Warn", "Strict")

# A field's type: a primitive ("string", "integer", "boolean", "number"), "open" (any object), "int-or-string",
# "string-map" (map of strings), another type of _TYPES, or ("list", type).
Spec = Any
_OPEN = "open"
_LIST_OF_OPEN: Spec = ("list", _OPEN)
_STRINGS: Spec = ("list", "string")

_TYPES: dict[str, dict[str, Spec]] = {
    "ObjectMeta": {
        "annotations": "string-map",
        "creationTimestamp": "string",
        "deletionGracePeriodSeconds": "integer",
        "deletionTimestamp": "string",
        "finalizers": _STRINGS,
        "generateName": "string",
        "generation": "integer",
        "labels": "string-map",
        "managedFields": _LIST_OF_OPEN,
        "name": "string",
        "namespace": "string",
        "ownerReferences": ("list", "OwnerReference"),
        "resourceVersion": "string",
        "selfLink": "string",
        "uid": "string",
    },
    "OwnerReference": {
        "apiVersion": "string",
        "blockOwnerDeletion": "boolean",
        "controller": "boolean",
        "kind": "string",
        "name": "string",
        "uid": "string",
    },
    "LabelSelector": {"matchExpressions": _LIST_OF_OPEN, "matchLabels": "string-map"},
    "PodTemplateSpec": {"metadata": "ObjectMeta", "spec": "PodSpec"},
    "PodSpec": {
        "activeDeadlineSeconds": "integer",
        "affinity": _OPEN,
        "automountServiceAccountToken": "boolean",
        "containers": ("list", "Container"),
        "dnsConfig": _OPEN,
        "dnsPolicy": "string",
        "enableServiceLinks": "boolean",
        "ephemeralContainers": _LIST_OF_OPEN,
        "hostAliases": _LIST_OF_OPEN,
        "hostIPC": "boolean",
        "hostNetwork": "boolean",
        "hostPID": "boolean",
        "hostUsers": "boolean",
        "hostname": "string",
        "imagePullSecrets": _LIST_OF_OPEN,
        "initContainers": ("list", "Container"),
        "nodeName": "string",
        "nodeSelector": "string-map",
        "os": _OPEN,
        "overhead": _OPEN,
        "preemptionPolicy": "string",
        "priority": "integer",
        "priorityClassName": "string",
        "readinessGates": _LIST_OF_OPEN,
        "resourceClaims": _LIST_OF_OPEN,
        "resources": _OPEN,
        "restartPolicy": "string",
        "runtimeClassName": "string",
        "schedulerName": "string",
        "schedulingGates": _LIST_OF_OPEN,
        "securityContext": _OPEN,
        "serviceAccount": "string",
        "serviceAccountName": "string",
        "setHostnameAsFQDN": "boolean",
        "shareProcessNamespace": "boolean",
        "subdomain": "string",
        "terminationGracePeriodSeconds": "integer",
        "tolerations": ("list", "Toleration"),
        "topologySpreadConstraints": _LIST_OF_OPEN,
        "volumes": _LIST_OF_OPEN,
    },
    "Container": {
        "args": _STRINGS,
        "command": _STRINGS,
        "env": ("list", "EnvVar"),
        "envFrom": _LIST_OF_OPEN,
        "image": "string",
        "imagePullPolicy": "string",
        "lifecycle": _OPEN,
        "livenessProbe": _OPEN,
        "name": "string",
        "ports": ("list", "ContainerPort"),
        "readinessProbe": _OPEN,
        "resizePolicy": _LIST_OF_OPEN,
        "resources": _OPEN,
        "restartPolicy": "string",
        "securityContext": _OPEN,
        "startupProbe": _OPEN,
        "stdin": "boolean",
        "stdinOnce": "boolean",
        "terminationMessagePath": "string",
        "terminationMessagePolicy": "string",
        "tty": "boolean",
        "volumeDevices": _LIST_OF_OPEN,
        "volumeMounts": _LIST_OF_OPEN,
        "workingDir": "string",
    },
    "EnvVar": {"name": "string", "value": "string", "valueFrom": _OPEN},
    "ContainerPort": {
        "containerPort": "integer",
        "hostIP": "string",
        "hostPort": "integer",
        "name": "string",
        "protocol": "string",
    },
    "Toleration": {
        "effect": "string",
        "key": "string",
        "operator": "string",
        "tolerationSeconds": "integer",
        "value": "string",
    },
    "Taint": {"effect": "string", "key": "string", "timeAdded": "string", "value": "string"},
    "DeploymentSpec": {
        "minReadySeconds": "integer",
        "paused": "boolean",
        "progressDeadlineSeconds": "integer",
        "replicas": "integer",
        "revisionHistoryLimit": "integer",
        "selector": "LabelSelector",
        "strategy": "DeploymentStrategy",
        "template": "PodTemplateSpec",
    },
    "DeploymentStrategy": {"rollingUpdate": "RollingUpdateDeployment", "type": "string"},
    "RollingUpdateDeployment": {"maxSurge": "int-or-string", "maxUnavailable": "int-or-string"},
    "ReplicaSetSpec": {
        "minReadySeconds": "integer",
        "replicas": "integer",
        "selector": "LabelSelector",
        "template": "PodTemplateSpec",
    },
    "StatefulSetSpec": {
        "minReadySeconds": "integer",
        "ordinals": _OPEN,
        "persistentVolumeClaimRetentionPolicy": _OPEN,
        "podManagementPolicy": "string",
        "replicas": "integer",
        "revisionHistoryLimit": "integer",
        "selector": "LabelSelector",
        "serviceName": "string",
        "template": "PodTemplateSpec",
        "updateStrategy": _OPEN,
        "volumeClaimTemplates": _LIST_OF_OPEN,
    },
    "DaemonSetSpec": {
        "minReadySeconds": "integer",
        "revisionHistoryLimit": "integer",
        "selector": "LabelSelector",
        "template": "PodTemplateSpec",
        "updateStrategy": _OPEN,
    },
    "ServiceSpec": {
        "allocateLoadBalancerNodePorts": "boolean",
        "clusterIP": "string",
        "clusterIPs": _STRINGS,
        "externalIPs": _STRINGS,
        "externalName": "string",
        "externalTrafficPolicy": "string",
        "healthCheckNodePort": "integer",
        "internalTrafficPolicy": "string",
        "ipFamilies": _STRINGS,
        "ipFamilyPolicy": "string",
        "loadBalancerClass": "string",
        "loadBalancerIP": "string",
        "loadBalancerSourceRanges": _STRINGS,
        "ports": ("list", "ServicePort"),
        "publishNotReadyAddresses": "boolean",
        "selector": "string-map",
        "sessionAffinity": "string",
        "sessionAffinityConfig": _OPEN,
        "trafficDistribution": "string",
        "type": "string",
    },
    "ServicePort": {
        "appProtocol": "string",
        "name": "string",
        "nodePort": "integer",
        "port": "integer",
        "protocol": "string",
        "targetPort": "int-or-string",
    },
    "PodDisruptionBudgetSpec": {
        "maxUnavailable": "int-or-string",
        "minAvailable": "int-or-string",
        "selector": "LabelSelector",
        "unhealthyPodEvictionPolicy": "string",
    },
    "NamespaceSpec": {"finalizers": _STRINGS},
    "NodeSpec": {
        "configSource": _OPEN,
        "externalID": "string",
        "podCIDR": "string",
        "podCIDRs": _STRINGS,
        "providerID": "string",
        "taints": ("list", "Taint"),
        "unschedulable": "boolean",
    },
}
#: The fields of each kind besides ``apiVersion``, ``kind`` and ``metadata``; ``status`` is open.
_KIND_FIELDS: dict[str, dict[str, Spec]] = {
    "Namespace": {"spec": "NamespaceSpec", "status": _OPEN},
    "Node": {"spec": "NodeSpec", "status": _OPEN},
    "Pod": {"spec": "PodSpec", "status": _OPEN},
    "Service": {"spec": "ServiceSpec", "status": _OPEN},
    "Deployment": {"spec": "DeploymentSpec", "status": _OPEN},
    "ReplicaSet": {"spec": "ReplicaSetSpec", "status": _OPEN},
    "StatefulSet": {"spec": "StatefulSetSpec", "status": _OPEN},
    "DaemonSet": {"spec": "DaemonSetSpec", "status": _OPEN},
    "PodDisruptionBudget": {"spec": "PodDisruptionBudgetSpec", "status": _OPEN},
    "Event": {
        "action": "string",
        "count": "integer",
        "eventTime": "string",
        "firstTimestamp": "string",
        "involvedObject": _OPEN,
        "lastTimestamp": "string",
        "message": "string",
        "reason": "string",
        "related": _OPEN,
        "reportingComponent": "string",
        "reportingInstance": "string",
        "series": _OPEN,
        "source": _OPEN,
        "type": "string",
    },
}
_PACKAGES = {"": "io.k8s.api.core.v1", "apps": "io.k8s.api.apps.v1", "policy": "io.k8s.api.policy.v1"}
_META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_PATCH_MEDIA = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)


def _kind_type(kind: Kind) -> dict[str, Spec]:
    return {"apiVersion": "string", "kind": "string", "metadata": "ObjectMeta", **_KIND_FIELDS[kind.name]}


# --- field validation ---------------------------------------------------------------------------------------


def _walk(spec: Spec, value: Any, path: str) -> Iterator[str]:
    """The paths of the fields in ``value`` that ``spec`` does not declare (strategic merge directives skipped)."""
    if isinstance(spec, tuple):
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _walk(spec[1], item, f"{path}[{index}]")
        return
    if isinstance(spec, dict):
        fields: dict[str, Spec] = spec
    elif spec in _TYPES:
        fields = _TYPES[spec]
    else:
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if str(key).startswith("$"):
            continue  # a strategic merge patch directive ($patch, $setElementOrder/..., $retainKeys)
        where = f"{path}.{key}" if path else str(key)
        if key not in fields:
            yield where
        else:
            yield from _walk(fields[key], item, where)


def unknown_fields(kind: Kind, body: Any, content_type: str = "application/json") -> list[str]:
    """The fields of a request body that the kind's schema does not declare, as the API server names them.

    Args:
        kind: the kind the request writes.
        body: the decoded body: an object, a merge or strategic merge patch, or a JSON patch (a list of
            operations, whose ``add``/``replace`` paths and values are checked).
        content_type: the request's media type.
    """
    spec = _kind_type(kind) if kind.name in _KIND_FIELDS else None
    if spec is None:
        return []
    if content_type == "application/json-patch+json":
        found: list[str] = []
        for op in body if isinstance(body, list) else []:
            if not isinstance(op, dict) or op.get("op") not in ("add", "replace"):
                continue
            found.extend(_json_patch_unknown(spec, str(op.get("path") or ""), op.get("value")))
        return found
    return list(_walk(spec, body, ""))


def _json_patch_unknown(spec: Spec, pointer: str, value: Any) -> list[str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    path = ""
    current: Spec = spec
    for part in parts:
        if isinstance(current, tuple):
            path = f"{path}[{part}]"
            current = current[1]
            continue
        fields = (
            current
            if isinstance(current, dict)
            else _TYPES.get(current)
            if isinstance(current, str)
            else None
        )
        if fields is None:
            return []
        where = f"{path}.{part}" if path else part
        if part not in fields:
            return [where]
        path, current = where, fields[part]
    if isinstance(current, tuple) and parts and re.fullmatch(r"\d+|-", parts[-1] or ""):
        current = current[1]
    return list(_walk(current, value, path))


def validate_fields(
    kind: Kind, method: str, body: Any, content_type: str, directive: str | None
) -> list[str]:
    """Apply ``fieldValidation`` to a write; return the ``Warning`` texts to send (``Warn``, the default).

    Raises:
        ApiError: 400 for an unknown directive, or for unknown fields under ``Strict``.
    """
    chosen = directive or "Warn"
    if chosen not in FIELD_VALIDATION:
        raise ApiError(
            400,
            "BadRequest",
            f'fieldValidation: Unsupported value: "{chosen}": supported values: "Ignore", "Strict", "Warn"',
        )
    if chosen == "Ignore" or body is None:
        return []
    unknown = unknown_fields(kind, body, content_type)
    if not unknown:
        return []
    if chosen == "Warn":
        return [f'unknown field "{field}"' for field in unknown]
    if content_type == "application/apply-patch+yaml":
        raise ApiError(
            400,
            "BadRequest",
            f"failed to create typed patch object ({kind.api_version}, Kind={kind.name}): "
            + ", ".join(f".{field}: field not declared in schema" for field in unknown),
        )
    decoding = "strict decoding error: " + ", ".join(f'unknown field "{field}"' for field in unknown)
    if method == "PATCH":
        raise ApiError(400, "BadRequest", decoding)
    raise ApiError(
        400,
        "BadRequest",
        f'{kind.name} in version "{kind.version}" cannot be handled as a {kind.name}: {decoding}',
    )


# --- documents ------------------------------------------------------------------------------------------------


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def group_versions() -> list[tuple[str, str]]:
    """The ``(group, version)`` pairs served, core first."""
    seen: list[tuple[str, str]] = []
    for kind in KINDS.values():
        if (kind.group, kind.version) not in seen:
            seen.append((kind.group, kind.version))
    return sorted(seen, key=lambda gv: (gv[0] != "", gv))


def root_document() -> Obj:
    """``GET /openapi/v3``: each group-version's document, by path, with its ``serverRelativeURL``."""
    paths = {}
    for group, version in group_versions():
        path = _gv_path(group, version)
        digest = hashlib.sha512(json.dumps(group_version_document(group, version), sort_keys=True).encode())
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest.hexdigest().upper()}"}
    return {"paths": paths}


def _schema_name(group: str, type_name: str) -> str:
    if type_name in ("ObjectMeta", "OwnerReference", "LabelSelector"):
        return f"{_META}.{type_name}"
    return f"{_PACKAGES.get(group, 'io.k8s.api.core.v1')}.{type_name}"


def _schema(group: str, spec: Spec, refs: set[str]) -> Obj:
    if isinstance(spec, tuple):
        return {"type": "array", "items": _schema(group, spec[1], refs)}
    if isinstance(spec, dict):
        return {"type": "object", "properties": {k: _schema(group, v, refs) for k, v in sorted(spec.items())}}
    if spec == _OPEN:
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if spec == "string-map":
        return {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
    if spec == "int-or-string":
        return {"x-kubernetes-int-or-string": True}
    if spec in _TYPES:
        refs.add(spec)
        return {"allOf": [{"$ref": f"#/components/schemas/{_schema_name(group, spec)}"}]}
    return {"type": spec}


def _parameter(name: str, description: str, *, location: str = "query", boolean: bool = False) -> Obj:
    return {
        "name": name,
        "in": location,
        "description": description,
        "schema": {"type": "boolean" if boolean else "string", "uniqueItems": True},
    }


_FIELD_VALIDATION_PARAM = _parameter(
    "fieldValidation",
    "How the server handles fields of the request body it does not know: Ignore, Warn (the default) or "
    "Strict (refuse the request).",
)
_WRITE_PARAMS = [
    _parameter("dryRun", "When present, indicates that modifications should not be persisted."),
    _parameter("fieldManager", "A name associated with the actor or entity making these changes."),
    _FIELD_VALIDATION_PARAM,
]


def _operations(kind: Kind, ref: Obj) -> dict[str, Obj]:
    """The paths of one kind: the collection (list, create) and the object (read, replace, patch, delete)."""
    gvk = {"group": kind.group, "version": kind.version, "kind": kind.name}
    base = "/api/v1" if not kind.group else f"/apis/{kind.group}/{kind.version}"
    collection = (
        f"{base}/namespaces/{{namespace}}/{kind.plural}" if kind.namespaced else f"{base}/{kind.plural}"
    )
    scope = "Namespaced" if kind.namespaced else ""
    stem = (
        f"{kind.group.capitalize()}{kind.version.capitalize()}{scope}{kind.name}"
        if kind.group
        else (f"CoreV1{scope}{kind.name}")
    )
    ok = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
    params = (
        [_parameter("namespace", "object name and auth scope", location="path")] if kind.namespaced else []
    )

    def operation(action: str, verb: str, **extra: Any) -> Obj:
        return {
            "operationId": f"{verb}{stem}",
            "responses": ok,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
            **extra,
        }

    body = {"content": {"*/*": {"schema": ref}}, "required": True}
    item = {
        "parameters": [_parameter("name", f"name of the {kind.name}", location="path"), *params],
        "get": operation("get", "read"),
        "put": operation("put", "replace", requestBody=body, parameters=list(_WRITE_PARAMS)),
        "patch": operation(
            "patch",
            "patch",
            requestBody={
                "content": {
                    media: {"schema": {"$ref": f"#/components/schemas/{_META}.Patch"}}
                    for media in _PATCH_MEDIA
                },
                "required": True,
            },
            parameters=[
                *_WRITE_PARAMS,
                _parameter("force", "Force is going to force Apply requests.", boolean=True),
            ],
        ),
        "delete": operation(
            "delete", "delete", parameters=[_parameter("gracePeriodSeconds", "Seconds before deletion.")]
        ),
    }
    listing = {
        "parameters": params,
        "get": operation("list", "list"),
        "post": operation("post", "create", requestBody=body, parameters=list(_WRITE_PARAMS)),
    }
    return {collection: listing, f"{collection}/{{name}}": item}


def group_version_document(group: str, version: str) -> Obj | None:
    """``GET /openapi/v3/api/v1`` or ``/openapi/v3/apis/<group>/<version>``: paths and schemas of its kinds."""
    kinds = [k for k in KINDS.values() if (k.group, k.version) == (group, version)]
    if not kinds:
        return None
    paths: dict[str, Obj] = {}
    schemas: dict[str, Obj] = {
        f"{_META}.Patch": {
            "type": "object",
            "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
        }
    }
    refs: set[str] = set()
    for kind in sorted(kinds, key=lambda k: k.name):
        name = f"{_PACKAGES.get(group, 'io.k8s.api.core.v1')}.{kind.name}"
        schemas[name] = _schema(group, _kind_type(kind), refs)
        paths.update(_operations(kind, {"$ref": f"#/components/schemas/{name}"}))
    done: set[str] = set()
    while refs - done:
        type_name = sorted(refs - done)[0]
        done.add(type_name)
        schemas[_schema_name(group, type_name)] = _schema(group, _TYPES[type_name], refs)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }
