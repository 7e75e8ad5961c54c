"""What the fake API server does before it stores an object: served kinds, errors, validation, defaults.

Validation and defaulting follow the Kubernetes API for the fields the library and its tests use: names
(DNS-1123), pod containers, workload selectors that must match their template labels, PodDisruptionBudget
``minAvailable``/``maxUnavailable`` (exactly one, integer or percentage), Service ports and cluster IPs.
"""

from __future__ import annotations

import datetime as _dt
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aks_windows_ops.testing.kube.match import selector_dict_matches

__all__ = [
    "KINDS",
    "NAME_PATTERN",
    "WORKLOAD_KINDS",
    "Allocator",
    "ApiError",
    "Kind",
    "apply_defaults",
    "default_pod_spec",
    "invalid",
    "kind_for",
    "not_found",
    "timestamp",
]

Obj = dict[str, Any]

NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


@dataclass(frozen=True)
class Kind:
    """A served resource type."""

    name: str
    plural: str
    group: str
    version: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """``v1`` or ``group/version``."""
        return f"{self.group}/{self.version}" if self.group else self.version


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("Namespace", "namespaces", "", "v1", namespaced=False),
        Kind("Node", "nodes", "", "v1", namespaced=False),
        Kind("Pod", "pods", "", "v1", namespaced=True),
        Kind("Service", "services", "", "v1", namespaced=True),
        Kind("Event", "events", "", "v1", namespaced=True),
        Kind("Deployment", "deployments", "apps", "v1", namespaced=True),
        Kind("ReplicaSet", "replicasets", "apps", "v1", namespaced=True),
        Kind("StatefulSet", "statefulsets", "apps", "v1", namespaced=True),
        Kind("DaemonSet", "daemonsets", "apps", "v1", namespaced=True),
        Kind("PodDisruptionBudget", "poddisruptionbudgets", "policy", "v1", namespaced=True),
    )
}
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")


def kind_for(group: str, version: str, plural: str) -> Kind | None:
    """Return the served kind for an API path's group, version and resource plural."""
    for kind in KINDS.values():
        if (kind.group, kind.version, kind.plural) == (group, version, plural):
            return kind
    return None


class ApiError(Exception):
    """An API failure, answered as a ``Status`` object with this HTTP code."""

    def __init__(self, code: int, reason: str, message: str, *, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> Obj:
        """The ``Status`` body the API server sends."""
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def not_found(kind: Kind, name: str) -> ApiError:
    """A 404 ``NotFound`` for one object."""
    return ApiError(
        404,
        "NotFound",
        f'{kind.plural}{"." + kind.group if kind.group else ""} "{name}" not found',
        details={"name": name, "group": kind.group, "kind": kind.plural},
    )


def invalid(kind: Kind, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """A 422 ``Invalid`` listing each (field, message) cause."""
    text = "; ".join(f"{f}: {m}" for f, m in causes)
    return ApiError(
        422,
        "Invalid",
        f'{kind.name}{"." + kind.group if kind.group else ""} "{name}" is invalid: {text}',
        details={
            "name": name,
            "group": kind.group,
            "kind": kind.name,
            "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes],
        },
    )


def timestamp() -> str:
    """Now, in the RFC 3339 form the API uses."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Allocator:
    """Hands out addresses and ports; seeded, so runs repeat."""

    rng: random.Random
    counter: int = 0

    def next_number(self) -> int:
        """The next sequence number for an address."""
        self.counter += 1
        return self.counter


def _validate_selector(kind: Kind, obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    name = obj["metadata"]["name"]
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    causes: list[tuple[str, str]] = []
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        causes.append(("spec.selector", "Required value"))
    elif not selector_dict_matches(selector, labels):
        causes.append(
            (
                "spec.template.metadata.labels",
                "Invalid value: `selector` does not match template `labels`",
            )
        )
    if not (template.get("spec") or {}).get("containers"):
        causes.append(("spec.template.spec.containers", "Required value"))
    if causes:
        raise invalid(kind, name, causes)
    default_pod_spec(template.setdefault("spec", {}), KINDS[obj["kind"]], name, "spec.template.spec")


def default_pod_spec(spec: Obj, kind: Kind, name: str, path: str) -> None:
    """Validate a pod spec's containers and fill the API server's defaults in place."""
    containers = spec.get("containers")
    if not containers:
        raise invalid(kind, name, [(f"{path}.containers", "Required value")])
    causes: list[tuple[str, str]] = []
    for i, container in enumerate(containers):
        if not container.get("name"):
            causes.append((f"{path}.containers[{i}].name", "Required value"))
        if not container.get("image"):
            causes.append((f"{path}.containers[{i}].image", "Required value"))
        image = str(container.get("image") or "")
        untagged = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        container.setdefault("imagePullPolicy", "Always" if untagged else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
    if causes:
        raise invalid(kind, name, causes)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})


def _default_namespace(obj: Obj, alloc: Allocator) -> None:
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    obj["spec"] = {"finalizers": ["kubernetes"]}
    obj["status"] = {"phase": "Active"}


def _default_node(obj: Obj, alloc: Allocator) -> None:
    obj.setdefault("spec", {})
    status = obj.setdefault("status", {})
    status.setdefault("capacity", {"cpu": "4", "memory": "16384Mi", "pods": "110"})
    status.setdefault("allocatable", dict(status["capacity"]))
    status.setdefault(
        "conditions",
        [
            {
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
                "lastHeartbeatTime": timestamp(),
                "lastTransitionTime": timestamp(),
            }
        ],
    )


def _default_pod(obj: Obj, alloc: Allocator) -> None:
    kind = KINDS["Pod"]
    spec = obj.setdefault("spec", {})
    default_pod_spec(spec, kind, obj["metadata"]["name"], "spec")
    tolerations = spec.setdefault("tolerations", [])
    # DefaultTolerationSeconds admission: every pod tolerates a not-ready/unreachable node for 300 s.
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tolerations):
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    spec.setdefault("priority", 0)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}


def _default_service(obj: Obj, alloc: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    number = alloc.next_number()
    spec.setdefault("clusterIP", f"10.0.{number // 250}.{number % 250 + 1}")
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    for i, port in enumerate(spec.get("ports") or []):
        if "port" not in port:
            raise invalid(
                KINDS["Service"], obj["metadata"]["name"], [(f"spec.ports[{i}].port", "Required value")]
            )
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port["port"])
        if spec["type"] in ("NodePort", "LoadBalancer"):
            port.setdefault("nodePort", 30000 + alloc.rng.randrange(2767))
    status: Obj = {"loadBalancer": {}}
    if spec["type"] == "LoadBalancer":
        status["loadBalancer"] = {"ingress": [{"ip": f"20.0.0.{number % 250 + 1}", "ipMode": "VIP"}]}
    obj["status"] = status


def _default_deployment(obj: Obj, alloc: Allocator) -> None:
    _validate_selector(KINDS["Deployment"], obj)
    spec = obj["spec"]
    spec.setdefault("replicas", 1)
    spec.setdefault(
        "strategy",
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    )
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    obj.setdefault("status", {})


def _default_replicaset(obj: Obj, alloc: Allocator) -> None:
    _validate_selector(KINDS["ReplicaSet"], obj)
    obj["spec"].setdefault("replicas", 1)
    obj.setdefault("status", {"replicas": 0})


def _default_statefulset(obj: Obj, alloc: Allocator) -> None:
    _validate_selector(KINDS["StatefulSet"], obj)
    spec = obj["spec"]
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    spec.setdefault("revisionHistoryLimit", 10)
    obj.setdefault("status", {"replicas": 0})


def _default_daemonset(obj: Obj, alloc: Allocator) -> None:
    _validate_selector(KINDS["DaemonSet"], obj)
    obj["spec"].setdefault(
        "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    )
    obj["spec"].setdefault("revisionHistoryLimit", 10)
    obj.setdefault(
        "status",
        {
            "currentNumberScheduled": 0,
            "desiredNumberScheduled": 0,
            "numberMisscheduled": 0,
            "numberReady": 0,
        },
    )


def _default_poddisruptionbudget(obj: Obj, alloc: Allocator) -> None:
    kind = KINDS["PodDisruptionBudget"]
    spec = obj.setdefault("spec", {})
    name = obj["metadata"]["name"]
    has_min, has_max = "minAvailable" in spec, "maxUnavailable" in spec
    if has_min == has_max:
        raise invalid(
            kind,
            name,
            [("spec", "Invalid value: exactly one of minAvailable and maxUnavailable is required")],
        )
    value = spec["minAvailable"] if has_min else spec["maxUnavailable"]
    field_name = "spec.minAvailable" if has_min else "spec.maxUnavailable"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid(kind, name, [(field_name, "Invalid value: must be an integer or a percentage")])
    if isinstance(value, str) and not re.fullmatch(r"(100|[1-9]?[0-9])%", value):
        raise invalid(kind, name, [(field_name, f'Invalid value: "{value}": must be a percentage 0-100%')])
    if isinstance(value, int) and value < 0:
        raise invalid(kind, name, [(field_name, "Invalid value: must be greater than or equal to 0")])
    obj.setdefault(
        "status",
        {
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "disruptionsAllowed": 0,
            "expectedPods": 0,
            "observedGeneration": 0,
        },
    )


def _default_event(obj: Obj, alloc: Allocator) -> None:
    if not isinstance(obj.get("involvedObject"), dict):
        raise invalid(KINDS["Event"], obj["metadata"]["name"], [("involvedObject", "Required value")])
    obj.setdefault("type", "Normal")
    obj.setdefault("count", 1)
    obj.setdefault("source", {})


_DEFAULTERS: dict[str, Callable[[Obj, Allocator], None]] = {
    "Event": _default_event,
    "Namespace": _default_namespace,
    "Node": _default_node,
    "Pod": _default_pod,
    "Service": _default_service,
    "Deployment": _default_deployment,
    "ReplicaSet": _default_replicaset,
    "StatefulSet": _default_statefulset,
    "DaemonSet": _default_daemonset,
    "PodDisruptionBudget": _default_poddisruptionbudget,
}


def apply_defaults(kind: Kind, obj: Obj, alloc: Allocator) -> None:
    """Validate ``obj`` as the API server would and fill its defaults in place.

    Raises:
        ApiError: 422 ``Invalid`` with one cause per bad field.
    """
    _DEFAULTERS[kind.name](obj, alloc)
