"""What runs where, who owns it, and whether it can move to another pool (Service facts: Moving pods).

Pods and workloads are handled as plain manifest dicts (the API's JSON, camelCase keys): the same shape comes
from a live cluster (``pods_on_nodes``, ``read_workload_objects``), from YAML files and from checkpoints, so the
placement rules here serve both the migration runbook and the offline lint rules. Objects of the
``kubernetes`` client are accepted wherever a manifest is and converted on the way in.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import WINDOWS_BUILDS, OsSku

__all__ = [
    "AGENTPOOL_LABELS",
    "MIRROR_ANNOTATION",
    "WINDOWS_BUILD_LABEL",
    "ControllerRef",
    "PlacementProblem",
    "aks_node_labels",
    "as_manifest",
    "container_images",
    "controller_of",
    "find_unplaceable",
    "is_daemonset_pod",
    "is_finished",
    "is_mirror_pod",
    "is_ready",
    "movable_pods",
    "node_affinity_matches",
    "parse_taint",
    "pods_on_nodes",
    "pool_nodes",
    "read_landing_workloads",
    "read_workload_objects",
    "selector_matches",
    "tolerates",
    "uses_emptydir",
    "verify_replacements",
    "workloads_landing_on",
]

Manifest = dict[str, Any]

#: Node labels that name the AKS pool; a pod pinned to one cannot follow a pool replacement.
AGENTPOOL_LABELS = ("agentpool", "kubernetes.azure.com/agentpool")
#: The Windows host build label; process isolation only, so images must match the host build (FAQ).
WINDOWS_BUILD_LABEL = "node.kubernetes.io/windows-build"
#: Static pods as the API server mirrors them; the kubelet owns them, not the API (kubectl drain semantics).
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
_TEMPLATE_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")

_serializer_lock = threading.Lock()
_serializer: Any = None


@dataclass(frozen=True)
class ControllerRef:
    """The workload controller that owns a pod, after walking ReplicaSet -> Deployment."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PlacementProblem:
    """Why a pod (or a workload's pod template) could never be scheduled on the new pool.

    Attributes:
        pod: ``namespace/name`` of the pod, or ``Kind/namespace/name`` of a workload manifest.
        reason: one sentence naming the selector, affinity or taint at fault.
        controller: ``Kind/namespace/name`` of the owning controller, when known.
    """

    pod: str
    reason: str
    controller: str | None = None

    def __str__(self) -> str:
        return f"{self.pod}: {self.reason}"


def as_manifest(obj: Any) -> Manifest:
    """Return a plain manifest dict for a dict or a ``kubernetes`` client model (deep copy either way).

    Client models go through ``ApiClient.sanitize_for_serialization`` (Service facts: Serving the SDK from an in-memory ARM), giving the
    API's own JSON: camelCase keys, RFC 3339 times, no ``None`` fields.
    """
    global _serializer
    if isinstance(obj, Mapping):
        return copy.deepcopy(dict(obj))
    with _serializer_lock:
        if _serializer is None:
            _serializer = client.ApiClient()
        serializer = _serializer
    data = serializer.sanitize_for_serialization(obj)
    if not isinstance(data, dict):
        raise InvalidInput(f"expected a Kubernetes object, got {type(obj).__name__}")
    return data


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _key(obj: Mapping[str, Any]) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


def _controller_owner(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


def is_mirror_pod(pod: Mapping[str, Any]) -> bool:
    """Whether the pod is the API mirror of a static pod (``kubernetes.io/config.mirror``), which drain skips."""
    return MIRROR_ANNOTATION in (_meta(pod).get("annotations") or {})


def is_daemonset_pod(pod: Mapping[str, Any]) -> bool:
    """Whether a DaemonSet controls the pod; drain skips these, as the DaemonSet ignores cordons."""
    owner = _controller_owner(pod)
    return owner is not None and str(owner.get("kind")) == "DaemonSet"


def is_finished(pod: Mapping[str, Any]) -> bool:
    """Whether the pod already ended (``Succeeded`` or ``Failed``): nothing is lost by leaving it."""
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_ready(pod: Mapping[str, Any]) -> bool:
    """Whether the pod is Ready and not terminating (what a PodDisruptionBudget counts as healthy)."""
    if _meta(pod).get("deletionTimestamp"):
        return False
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status")) == "True"
    return False


def uses_emptydir(pod: Mapping[str, Any]) -> bool:
    """Whether the pod mounts an ``emptyDir`` volume, whose data an eviction deletes (kubectl drain semantics)."""
    return any("emptyDir" in (v or {}) for v in (pod.get("spec") or {}).get("volumes") or [])


def controller_of(pod: Any, *, api: Any = None) -> ControllerRef | None:
    """Return the workload controller that owns a pod, or ``None`` for an unmanaged pod.

    A ReplicaSet is walked up to its Deployment: with ``api``, by reading the ReplicaSet's owner; without, by
    the Deployment naming rule (``<deployment>-<pod-template-hash>``), which is how the Deployment controller
    names ReplicaSets. Other owners (StatefulSet, DaemonSet, Job, Node for mirror pods) are returned as they
    are. Implements kubectl drain's notion of "managed by a controller" (Service facts: Moving pods).
    """
    manifest = as_manifest(pod)
    owner = _controller_owner(manifest)
    if owner is None:
        return None
    namespace = str(_meta(manifest).get("namespace") or "default")
    kind, name = str(owner.get("kind")), str(owner.get("name"))
    if kind != "ReplicaSet":
        return ControllerRef(kind, namespace, name)
    if api is not None:
        try:
            rs = client.AppsV1Api(api).read_namespaced_replica_set(name, namespace)
        except client.ApiException as err:
            if err.status != 404:
                raise
        else:
            for ref in (rs.metadata.owner_references if rs.metadata else None) or []:
                if ref.controller:
                    return ControllerRef(str(ref.kind), namespace, str(ref.name))
            return ControllerRef("ReplicaSet", namespace, name)
    pod_hash = (_meta(manifest).get("labels") or {}).get("pod-template-hash")
    if pod_hash and name.endswith(f"-{pod_hash}"):
        return ControllerRef("Deployment", namespace, name[: -len(pod_hash) - 1])
    return ControllerRef("ReplicaSet", namespace, name)


def pods_on_nodes(api: Any, nodes: Iterable[str]) -> list[Manifest]:
    """List the pods bound to the given nodes, as manifests (``field_selector=spec.nodeName=<node>``).

    Implements the pod listing of kubectl drain (Service facts: Moving pods).

    Returns:
        Pods ordered by node, namespace and name, each with ``apiVersion`` and ``kind`` filled in.
    """
    core = client.CoreV1Api(api)
    out: list[Manifest] = []
    seen: set[str] = set()
    for node in dict.fromkeys(nodes):
        if not node:
            raise InvalidInput("a node name is empty")
        result = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}")
        for item in result.items:
            pod = as_manifest(item)
            uid = str(_meta(pod).get("uid"))
            if uid in seen:
                continue
            seen.add(uid)
            pod["apiVersion"], pod["kind"] = "v1", "Pod"
            out.append(pod)
    return out


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Match a ``metav1.LabelSelector`` (``matchLabels`` and ``matchExpressions``) against labels.

    ``None`` selects nothing and ``{}`` selects everything, as for PodDisruptionBudgets in ``policy/v1``.
    """
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or selector.get("match_labels") or {}).items():
        if labels.get(key) != value:
            return False
    exprs = selector.get("matchExpressions") or selector.get("match_expressions") or []
    return all(_requirement_matches(e, labels) for e in exprs)


def _requirement_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op = str(expr.get("key", "")), str(expr.get("operator", ""))
    values = [str(v) for v in expr.get("values") or []]
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(values) == 1:
        try:
            have, bound = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def node_affinity_matches(pod_spec: Mapping[str, Any], node_labels: Mapping[str, str]) -> bool:
    """Whether ``nodeSelector`` and required node affinity admit a node with these labels.

    Kubernetes scheduling semantics (terms are ORed, expressions in a term ANDed); ``matchFields`` (node
    names) never match a pool that does not exist yet.
    """
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if node_labels.get(key) != value:
            return False
    terms = _required_terms(pod_spec)
    if terms is None:
        return True
    return any(_term_matches(t, node_labels) for t in terms)


def _required_terms(pod_spec: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not required:
        return None
    return list(required.get("nodeSelectorTerms") or [])


def _term_matches(term: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    exprs = term.get("matchExpressions") or []
    if term.get("matchFields") or not exprs:
        return False
    return all(_requirement_matches(e, labels) for e in exprs)


def parse_taint(taint: str | Mapping[str, Any]) -> dict[str, str]:
    """Parse an AKS node taint ``key=value:Effect`` (or ``key:Effect``); dicts pass through.

    Raises:
        InvalidInput: not a taint.
    """
    if isinstance(taint, Mapping):
        return {str(k): str(v) for k, v in taint.items() if v is not None}
    head, sep, effect = taint.rpartition(":")
    if not sep or not head or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise InvalidInput(
            f"invalid taint {taint!r}: expected key=value:NoSchedule|PreferNoSchedule|NoExecute"
        )
    key, _, value = head.partition("=")
    out = {"key": key, "effect": effect}
    if value:
        out["value"] = value
    return out


def tolerates(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    """Whether any toleration covers the taint (Kubernetes ``ToleratesTaint``; PreferNoSchedule never blocks)."""
    if taint.get("effect") == "PreferNoSchedule":
        return True
    for tol in tolerations:
        effect = tol.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        key, operator = tol.get("key") or "", tol.get("operator") or "Equal"
        if key != taint.get("key"):
            if key == "" and operator == "Exists":
                return True
            continue
        if operator == "Exists" or (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def aks_node_labels(
    pool: str,
    *,
    os_type: str,
    os_sku: str | None = None,
    mode: str = "User",
    labels: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The labels AKS puts on a pool's nodes, plus the pool's own ``labels`` (Service facts: Moving pods).

    Windows nodes carry ``node.kubernetes.io/windows-build`` of their OS SKU (FAQ: process isolation only).

    Raises:
        InvalidInput: a Windows pool with a non-Windows OS SKU.
    """
    windows = str(os_type).lower() == "windows"
    sku = str(getattr(os_sku, "value", os_sku)) if os_sku else ("Windows2022" if windows else "Ubuntu")
    out = {
        "kubernetes.io/os": "windows" if windows else "linux",
        "agentpool": pool,
        "kubernetes.azure.com/agentpool": pool,
        "kubernetes.azure.com/os-sku": sku,
        "kubernetes.azure.com/mode": str(getattr(mode, "value", mode)).lower(),
    }
    if windows:
        try:
            out[WINDOWS_BUILD_LABEL] = WINDOWS_BUILDS[OsSku(sku)]
        except (KeyError, ValueError):
            raise InvalidInput(
                f"{sku!r} is not a Windows OS SKU (Windows2019, Windows2022, Windows2025)"
            ) from None
    out.update(labels or {})
    return out


def _pod_template(obj: Mapping[str, Any]) -> tuple[str, Mapping[str, Any], str | None] | None:
    """(display name, pod spec, controller) of a pod or workload manifest; ``None`` when it never moves."""
    kind = obj.get("kind") or "Pod"
    if kind in _TEMPLATE_KINDS:
        if kind == "DaemonSet":
            return None
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        name = f"{kind}/{_key(obj)}"
        return name, spec, name
    if kind != "Pod" or is_mirror_pod(obj) or is_daemonset_pod(obj) or is_finished(obj):
        return None
    owner = controller_of(obj)
    return _key(obj), obj.get("spec") or {}, str(owner) if owner else None


def find_unplaceable(
    pods: Iterable[Any],
    new_pool_labels: Mapping[str, str],
    new_pool_taints: Iterable[str | Mapping[str, Any]] = (),
) -> list[PlacementProblem]:
    """Find pods that could never be scheduled on the new pool (Service facts: Moving pods, FAQ pool replacement).

    Checks, per pod (or per pod template of a Deployment, StatefulSet, ReplicaSet or Job manifest):
    ``nodeSelector`` and required node affinity against the new pool's node labels (a pin to the old pool's
    ``agentpool`` / ``kubernetes.azure.com/agentpool`` name, or to a ``node.kubernetes.io/windows-build`` the
    new pool lacks, is named as such), node-name affinity, and a toleration for each NoSchedule/NoExecute
    taint of the new pool. DaemonSet pods, mirror pods and finished pods are ignored: they never move.

    Args:
        pods: pod or workload manifests (or ``kubernetes`` client objects).
        new_pool_labels: every label the new pool's nodes will carry (see :func:`aks_node_labels`).
        new_pool_taints: the new pool's taints, ``key=value:Effect`` or dicts.

    Returns:
        One problem per cause; empty when everything can move.
    """
    taints = [parse_taint(t) for t in new_pool_taints]
    labels = dict(new_pool_labels)
    problems: list[PlacementProblem] = []
    for raw in pods:
        obj = as_manifest(raw)
        found = _pod_template(obj)
        if found is None:
            continue
        name, spec, owner = found
        for reason in _placement_reasons(spec, labels, taints):
            problems.append(PlacementProblem(pod=name, reason=reason, controller=owner))
    return problems


def _describe_pin(key: str, wanted: Sequence[str], labels: Mapping[str, str], source: str) -> str:
    shown = ",".join(wanted) if wanted else "(any)"
    if key in AGENTPOOL_LABELS:
        return (
            f"{source} {key}={shown} pins it to pool {shown}; the new pool is {labels.get(key, '(unknown)')}"
        )
    if key == WINDOWS_BUILD_LABEL:
        have = labels.get(key, "none")
        return f"{source} {key}={shown} needs that Windows build; the new pool has {have}"
    return f"{source} {key}={shown} does not match the new pool's labels"


def _placement_reasons(
    spec: Mapping[str, Any], labels: Mapping[str, str], taints: Sequence[Mapping[str, Any]]
) -> list[str]:
    reasons: list[str] = []
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            reasons.append(_describe_pin(key, [str(value)], labels, "nodeSelector"))
    terms = _required_terms(spec)
    if terms is not None and not any(_term_matches(t, labels) for t in terms):
        if any(t.get("matchFields") for t in terms):
            reasons.append(
                "required node affinity selects nodes by name (matchFields); no new node has that name"
            )
        else:
            failing = [
                e
                for t in terms
                for e in t.get("matchExpressions") or []
                if not _requirement_matches(e, labels)
            ]
            if failing:
                e = failing[0]
                reasons.append(
                    _describe_pin(
                        str(e.get("key")),
                        [str(v) for v in e.get("values") or []],
                        labels,
                        f"required node affinity ({e.get('operator')})",
                    )
                )
            else:
                reasons.append("required node affinity has no term that the new pool's labels satisfy")
    tolerations = spec.get("tolerations") or []
    for taint in taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            value = f"={taint['value']}" if taint.get("value") else ""
            reasons.append(
                f"no toleration for the new pool's taint {taint.get('key')}{value}:{taint.get('effect')}"
            )
    return reasons


def verify_replacements(api: Any, before_pods: Iterable[Any], new_nodes: Iterable[str]) -> list[str]:
    """Check that every controller-owned pod that ran on the old nodes has a Ready replacement on the new ones.

    design principle "never lose a workload" (never lose a workload) before an old pool is deleted. Per controller, the new nodes
    must hold at least as many Ready pods with new uids as the controller had on the old nodes; a StatefulSet
    pod must come back under its own name. DaemonSet, mirror, finished and unmanaged pods are not counted.

    Args:
        api: a ``kubernetes.client.ApiClient``.
        before_pods: the pods of the old nodes as read before the move (``pods_on_nodes``).
        new_nodes: the new pool's node names.

    Returns:
        One sentence per controller short of replacements; empty when everything moved.
    """
    cache: dict[tuple[str, str], ControllerRef | None] = {}

    def owner_of(pod: Manifest) -> ControllerRef | None:
        owner = _controller_owner(pod)
        if owner is None:
            return None
        key = (str(_meta(pod).get("namespace")), f"{owner.get('kind')}/{owner.get('name')}")
        if key not in cache:
            cache[key] = controller_of(pod, api=api)
        return cache[key]

    before: dict[ControllerRef, list[Manifest]] = {}
    old_uids: set[str] = set()
    for raw in before_pods:
        pod = as_manifest(raw)
        old_uids.add(str(_meta(pod).get("uid")))
        if is_mirror_pod(pod) or is_daemonset_pod(pod) or is_finished(pod):
            continue
        owner = owner_of(pod)
        if owner is not None:
            before.setdefault(owner, []).append(pod)
    if not before:
        return []
    after: dict[ControllerRef, list[Manifest]] = {}
    for pod in pods_on_nodes(api, new_nodes):
        if not is_ready(pod) or str(_meta(pod).get("uid")) in old_uids:
            continue
        owner = owner_of(pod)
        if owner is not None:
            after.setdefault(owner, []).append(pod)
    problems: list[str] = []
    for owner, old in sorted(before.items(), key=lambda item: str(item[0])):
        new = after.get(owner, [])
        if owner.kind == "StatefulSet":
            names = {_meta(p).get("name") for p in new}
            missing = sorted(str(_meta(p).get("name")) for p in old if _meta(p).get("name") not in names)
            if missing:
                problems.append(f"{owner}: no Ready replacement on the new nodes for {', '.join(missing)}")
        elif len(new) < len(old):
            problems.append(
                f"{owner}: {len(old)} pod(s) ran on the old nodes but only {len(new)} Ready replacement(s) "
                "run on the new nodes"
            )
    return problems


def read_workload_objects(api: Any, *, namespace: str | None = None) -> list[Manifest]:
    """Read Deployments, StatefulSets, DaemonSets, Pods, Services and PodDisruptionBudgets as manifests.

    For the offline Windows workload lint rules (Service facts: FAQ rules: services, identity, paths, session
    affinity). ``managedFields`` are dropped; ``apiVersion`` and ``kind`` are filled in, as list responses
    leave them out of items.

    Args:
        api: a ``kubernetes.client.ApiClient``.
        namespace: one namespace, or all of them.
    """
    apps, core, policy = client.AppsV1Api(api), client.CoreV1Api(api), client.PolicyV1Api(api)
    sources: list[tuple[str, str, Any, Any]] = [
        ("apps/v1", "Deployment", apps.list_deployment_for_all_namespaces, apps.list_namespaced_deployment),
        (
            "apps/v1",
            "StatefulSet",
            apps.list_stateful_set_for_all_namespaces,
            apps.list_namespaced_stateful_set,
        ),
        ("apps/v1", "DaemonSet", apps.list_daemon_set_for_all_namespaces, apps.list_namespaced_daemon_set),
        ("v1", "Pod", core.list_pod_for_all_namespaces, core.list_namespaced_pod),
        ("v1", "Service", core.list_service_for_all_namespaces, core.list_namespaced_service),
        (
            "policy/v1",
            "PodDisruptionBudget",
            policy.list_pod_disruption_budget_for_all_namespaces,
            policy.list_namespaced_pod_disruption_budget,
        ),
    ]
    out: list[Manifest] = []
    for api_version, kind, list_all, list_namespaced in sources:
        result = list_all() if namespace is None else list_namespaced(namespace)
        for item in result.items:
            manifest = as_manifest(item)
            manifest["apiVersion"], manifest["kind"] = api_version, kind
            manifest.get("metadata", {}).pop("managedFields", None)
            out.append(manifest)
    return out


def pool_nodes(api: Any, pool: str) -> list[tuple[str, bool]]:
    """Return ``(node name, ready)`` for every node of an AKS pool (label ``agentpool=<pool>``, Service facts: Moving pods)."""
    nodes = client.CoreV1Api(api).list_node(label_selector=f"agentpool={pool}").items
    out: list[tuple[str, bool]] = []
    for node in nodes:
        conditions = (node.status.conditions if node.status else None) or []
        ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
        out.append((str(node.metadata.name if node.metadata else ""), ready))
    return sorted(out)


def movable_pods(api: Any, nodes: Iterable[str]) -> list[Manifest]:
    """Controller-owned pods on ``nodes`` that a drain must move (not DaemonSet, mirror or finished pods).

    design principle "never lose a workload": these are the workloads a pool delete must never lose.
    """
    return [
        p
        for p in pods_on_nodes(api, nodes)
        if _controller_owner(p) is not None
        and not is_daemonset_pod(p)
        and not is_mirror_pod(p)
        and not is_finished(p)
    ]


def _workload_name(obj: Mapping[str, Any]) -> str:
    kind = obj.get("kind") or "Pod"
    if kind != "Pod":
        return f"{kind}/{_key(obj)}"
    owner = controller_of(obj)
    return str(owner) if owner is not None else f"Pod/{_key(obj)}"


def container_images(objects: Iterable[Any]) -> list[tuple[str, str, str]]:
    """``(workload, container, image)`` for every container and init container of pods or workload templates.

    A pod is named by its controller (``Deployment/shop/web``), walked from its ReplicaSet by the Deployment
    naming rule, so the replicas of one workload count once. Mirror and finished pods are skipped. The images
    are what process isolation must match to the host's Windows build (FAQ "Which Windows operating systems
    are supported?").
    """
    seen: set[tuple[str, str, str]] = set()
    out: list[tuple[str, str, str]] = []
    for raw in objects:
        obj = as_manifest(raw)
        kind = obj.get("kind") or "Pod"
        if kind == "Pod":
            if is_mirror_pod(obj) or is_finished(obj):
                continue
            spec = obj.get("spec") or {}
        elif kind in _TEMPLATE_KINDS:
            spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        else:
            continue
        workload = _workload_name(obj)
        for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            entry = (workload, str(container.get("name") or ""), str(container.get("image") or ""))
            if entry not in seen:
                seen.add(entry)
                out.append(entry)
    return out


def _targets_windows(spec: Mapping[str, Any]) -> bool:
    if (spec.get("nodeSelector") or {}).get("kubernetes.io/os") == "windows":
        return True
    if WINDOWS_BUILD_LABEL in (spec.get("nodeSelector") or {}):
        return True
    for term in _required_terms(spec) or []:
        for expr in term.get("matchExpressions") or []:
            key, values = expr.get("key"), [str(v) for v in expr.get("values") or []]
            if expr.get("operator") == "In" and (
                (key == "kubernetes.io/os" and values == ["windows"]) or key == WINDOWS_BUILD_LABEL
            ):
                return True
    return False


def workloads_landing_on(
    objects: Iterable[Any],
    new_pool_labels: Mapping[str, str],
    new_pool_taints: Iterable[str | Mapping[str, Any]] = (),
) -> list[Manifest]:
    """Workloads whose pods could be scheduled on a new Windows pool: their images must run on its build.

    Deployments, StatefulSets, DaemonSets, ReplicaSets and Jobs (a ReplicaSet or Job owned by another
    controller is counted through its owner) whose pod template selects Windows nodes
    (``kubernetes.io/os: windows`` or ``node.kubernetes.io/windows-build``, by selector or required affinity)
    and that the new pool's labels and taints admit (:func:`find_unplaceable` finds nothing).
    """
    taints = list(new_pool_taints)
    out: list[Manifest] = []
    for raw in objects:
        obj = as_manifest(raw)
        kind = obj.get("kind")
        if kind not in _TEMPLATE_KINDS or _controller_owner(obj) is not None:
            continue
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        if not _targets_windows(spec):
            continue
        if _placement_reasons(spec, dict(new_pool_labels), [parse_taint(t) for t in taints]):
            continue
        out.append(obj)
    return out


def read_landing_workloads(
    api: Any, new_pool_labels: Mapping[str, str], new_pool_taints: Iterable[str | Mapping[str, Any]] = ()
) -> list[Manifest] | None:
    """The live workloads that would land on a new Windows pool (:func:`workloads_landing_on`).

    Returns ``None`` when the Kubernetes API could not be read (the caller says the check was not made).
    """
    import urllib3

    try:
        objects = read_workload_objects(api)
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError):
        return None
    return workloads_landing_on(objects, new_pool_labels, new_pool_taints)
