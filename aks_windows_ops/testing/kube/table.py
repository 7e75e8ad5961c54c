"""Server-side printing: ``meta.k8s.io/v1`` ``Table`` answers for ``Accept: ...;as=Table``.

``kubectl get`` asks the API server for a Table and prints its columns, so the columns and cell texts here
follow the API server's printers for the kinds served (``NAME STATUS ROLES AGE VERSION`` for nodes,
``NAME READY STATUS RESTARTS AGE`` for pods, ``MIN AVAILABLE``/``MAX UNAVAILABLE``/``ALLOWED DISRUPTIONS`` for
budgets, ...). Columns of priority 1 appear only with ``-o wide``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from aks_windows_ops.testing.kube.objects import Kind

__all__ = ["age", "to_table", "wants_table"]

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj], Any]]


def wants_table(accept: str) -> bool:
    """Whether an ``Accept`` header asks for a ``Table`` (kubectl's first choice for ``get``)."""
    return any("as=Table" in part and "g=meta.k8s.io" in part for part in accept.split(","))


def age(timestamp: str | None, now: _dt.datetime | None = None) -> str:
    """The API server's short age text (``45s``, ``12m``, ``3h4m``, ``5d``) for an RFC 3339 time."""
    if not timestamp:
        return "<unknown>"
    try:
        then = _dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return "<unknown>"
    seconds = max(0, int(((now or _dt.datetime.now(_dt.timezone.utc)) - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rem = seconds % 60
        return f"{minutes}m{rem}s" if rem else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def _status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def _age(obj: Obj) -> str:
    return age(_meta(obj).get("creationTimestamp"))


def _node_status(node: Obj) -> str:
    ready = next((c for c in _status(node).get("conditions") or [] if c.get("type") == "Ready"), None)
    text = "Ready" if ready is not None and ready.get("status") == "True" else "NotReady"
    if _spec(node).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def _node_roles(node: Obj) -> str:
    roles = sorted(
        key.split("/", 1)[1]
        for key in (_meta(node).get("labels") or {})
        if key.startswith("node-role.kubernetes.io/") and key.split("/", 1)[1]
    )
    return ",".join(roles) or "<none>"


def _address(node: Obj, kind: str) -> str:
    for addr in _status(node).get("addresses") or []:
        if addr.get("type") == kind:
            return str(addr.get("address"))
    return "<none>"


def _pod_ready(pod: Obj) -> str:
    statuses = _status(pod).get("containerStatuses") or []
    total = len(_spec(pod).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(pod: Obj) -> str:
    if _meta(pod).get("deletionTimestamp"):
        return "Terminating"
    status = _status(pod)
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            return str(waiting["reason"])
    if status.get("phase") == "Pending" and _spec(pod).get("nodeName"):
        return "ContainerCreating"
    return str(status.get("reason") or status.get("phase") or "Unknown")


def _restarts(pod: Obj) -> int:
    return sum(int(s.get("restartCount") or 0) for s in _status(pod).get("containerStatuses") or [])


def _or_na(value: Any) -> str:
    return "N/A" if value is None else str(value)


def _containers(obj: Obj, key: str) -> str:
    spec = ((_spec(obj).get("template") or {}).get("spec")) or {}
    return ",".join(str(c.get(key)) for c in spec.get("containers") or [])


def _selector(obj: Obj) -> str:
    labels = (_spec(obj).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def _ports(svc: Obj) -> str:
    parts = []
    for port in _spec(svc).get("ports") or []:
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _external_ip(svc: Obj) -> str:
    ingress = (_status(svc).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        return ",".join(str(i.get("ip") or i.get("hostname")) for i in ingress)
    return "<pending>" if _spec(svc).get("type") == "LoadBalancer" else "<none>"


def _event_object(event: Obj) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


_NAME: Column = ("Name", "string", 0, lambda o: _meta(o).get("name", ""))
_AGE: Column = ("Age", "string", 0, _age)
_COLUMNS: dict[str, list[Column]] = {
    "Node": [
        _NAME,
        ("Status", "string", 0, _node_status),
        ("Roles", "string", 0, _node_roles),
        _AGE,
        ("Version", "string", 0, lambda o: (_status(o).get("nodeInfo") or {}).get("kubeletVersion", "")),
        ("Internal-IP", "string", 1, lambda o: _address(o, "InternalIP")),
        ("External-IP", "string", 1, lambda o: _address(o, "ExternalIP")),
        ("OS-Image", "string", 1, lambda o: (_status(o).get("nodeInfo") or {}).get("osImage", "")),
        (
            "Kernel-Version",
            "string",
            1,
            lambda o: (_status(o).get("nodeInfo") or {}).get("kernelVersion", ""),
        ),
        (
            "Container-Runtime",
            "string",
            1,
            lambda o: (_status(o).get("nodeInfo") or {}).get("containerRuntimeVersion", ""),
        ),
    ],
    "Pod": [
        _NAME,
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_status),
        ("Restarts", "string", 0, lambda o: str(_restarts(o))),
        _AGE,
        ("IP", "string", 1, lambda o: _status(o).get("podIP") or "<none>"),
        ("Node", "string", 1, lambda o: _spec(o).get("nodeName") or "<none>"),
        ("Nominated Node", "string", 1, lambda o: _status(o).get("nominatedNodeName") or "<none>"),
        ("Readiness Gates", "string", 1, lambda o: "<none>"),
    ],
    "PodDisruptionBudget": [
        _NAME,
        ("Min Available", "string", 0, lambda o: _or_na(_spec(o).get("minAvailable"))),
        ("Max Unavailable", "string", 0, lambda o: _or_na(_spec(o).get("maxUnavailable"))),
        ("Allowed Disruptions", "integer", 0, lambda o: int(_status(o).get("disruptionsAllowed") or 0)),
        _AGE,
    ],
    "Deployment": [
        _NAME,
        (
            "Ready",
            "string",
            0,
            lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 0)}",
        ),
        ("Up-to-date", "integer", 0, lambda o: int(_status(o).get("updatedReplicas") or 0)),
        ("Available", "integer", 0, lambda o: int(_status(o).get("availableReplicas") or 0)),
        _AGE,
        ("Containers", "string", 1, lambda o: _containers(o, "name")),
        ("Images", "string", 1, lambda o: _containers(o, "image")),
        ("Selector", "string", 1, _selector),
    ],
    "ReplicaSet": [
        _NAME,
        ("Desired", "integer", 0, lambda o: int(_spec(o).get("replicas") or 0)),
        ("Current", "integer", 0, lambda o: int(_status(o).get("replicas") or 0)),
        ("Ready", "integer", 0, lambda o: int(_status(o).get("readyReplicas") or 0)),
        _AGE,
    ],
    "StatefulSet": [
        _NAME,
        (
            "Ready",
            "string",
            0,
            lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 0)}",
        ),
        _AGE,
    ],
    "DaemonSet": [
        _NAME,
        ("Desired", "integer", 0, lambda o: int(_status(o).get("desiredNumberScheduled") or 0)),
        ("Current", "integer", 0, lambda o: int(_status(o).get("currentNumberScheduled") or 0)),
        ("Ready", "integer", 0, lambda o: int(_status(o).get("numberReady") or 0)),
        ("Up-to-date", "integer", 0, lambda o: int(_status(o).get("updatedNumberScheduled") or 0)),
        ("Available", "integer", 0, lambda o: int(_status(o).get("numberAvailable") or 0)),
        (
            "Node Selector",
            "string",
            0,
            lambda o: (
                ",".join(
                    f"{k}={v}"
                    for k, v in sorted(
                        (
                            ((_spec(o).get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
                        ).items()
                    )
                )
                or "<none>"
            ),
        ),
        _AGE,
    ],
    "Service": [
        _NAME,
        ("Type", "string", 0, lambda o: _spec(o).get("type", "ClusterIP")),
        ("Cluster-IP", "string", 0, lambda o: _spec(o).get("clusterIP") or "<none>"),
        ("External-IP", "string", 0, _external_ip),
        ("Port(s)", "string", 0, _ports),
        _AGE,
    ],
    "Namespace": [_NAME, ("Status", "string", 0, lambda o: _status(o).get("phase", "Active")), _AGE],
    "Event": [
        (
            "Last Seen",
            "string",
            0,
            lambda o: age(o.get("lastTimestamp") or _meta(o).get("creationTimestamp")),
        ),
        ("Type", "string", 0, lambda o: o.get("type", "")),
        ("Reason", "string", 0, lambda o: o.get("reason", "")),
        ("Object", "string", 0, _event_object),
        ("Message", "string", 0, lambda o: o.get("message", "")),
    ],
}


def _row_object(kind: Kind, obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        full = dict(obj)
        full.setdefault("apiVersion", kind.api_version)
        full.setdefault("kind", kind.name)
        return full
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": _meta(obj)}


def to_table(kind: Kind, payload: Obj, include_object: str | None) -> Obj:
    """Render a single object or a ``<Kind>List`` as a ``Table`` (``includeObject`` defaults to Metadata)."""
    columns = _COLUMNS.get(kind.name, [_NAME, _AGE])
    items = payload.get("items") if "items" in payload else [payload]
    include = include_object or "Metadata"
    rows = []
    for obj in items or []:
        row: Obj = {"cells": [fn(obj) for _, _, _, fn in columns]}
        embedded = _row_object(kind, obj, include)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": (payload.get("metadata") or {}).get("resourceVersion", "")},
        "columnDefinitions": [
            {
                "name": name,
                "type": typ,
                "format": "name" if name == "Name" else "",
                "description": "",
                "priority": prio,
            }
            for name, typ, prio, _ in columns
        ],
        "rows": rows,
    }
