"""The state behind the fake Kubernetes API server: object store, controllers, scheduler, kubelet, budgets.

Everything runs under one lock and is driven synchronously: every API call and every test-setup call first
brings the cluster up to date (``reconcile``), then acts, then reconciles again. Nothing moves on its own
between calls, except that "now" advances, which is how pods become Ready after ``ready_delay`` and how
terminating pods disappear after ``termination_delay``. That keeps the fake deterministic for a given
sequence of calls and a given timing.

Modelled (Kubernetes API conventions and controller behaviour):
- ReplicaSets keep ``replicas`` live pods; terminating pods no longer count, so a replacement starts at once.
- StatefulSets keep pods ``<name>-<ordinal>``; a replacement (same name, new uid) starts once the old pod
  is gone. Pods are managed in parallel (``podManagementPolicy: Parallel`` behaviour).
- Deployments own one ReplicaSet per pod template (older ones are scaled to 0; no rolling update).
- DaemonSets run one pod per matching node; their pods tolerate unschedulable and not-ready nodes.
- Garbage collection deletes objects whose controller owner is gone.
- The scheduler places Pending pods by nodeSelector, required node affinity, required pod anti-affinity,
  taints/tolerations, ``spec.unschedulable``, the node's Ready condition and ``allocatable.pods``.
- PodDisruptionBudget status follows the disruption controller (``expectedPods``, ``currentHealthy``,
  ``desiredHealthy``, ``disruptionsAllowed``) and evictions follow the eviction subresource.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import random
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from aks_windows_ops.clock import Clock
from aks_windows_ops.testing._http import VirtualClock
from aks_windows_ops.testing._kube_images import hold_incompatible, is_held, tag_resolver
from aks_windows_ops.testing._kube_match import (
    SelectorError,
    field_selector,
    label_selector,
    merge_patch,
    node_selector_term_matches,
    selector_dict_matches,
    untolerated_taints,
)
from aks_windows_ops.testing._kube_objects import (
    KINDS,
    NAME_PATTERN,
    WORKLOAD_KINDS,
    Allocator,
    ApiError,
    Kind,
    apply_defaults,
    invalid,
    not_found,
)

__all__ = ["ClusterState", "HistoryEntry"]

Obj = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_FINISHED = ("Succeeded", "Failed")
#: Tolerations the DaemonSet controller adds to every pod it creates.
_DAEMONSET_TOLERATIONS: tuple[Obj, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
#: Events kept (the API server expires them after an hour; here the oldest go first).
_MAX_EVENTS = 2000
_UNSCHEDULABLE_TAINT: Obj = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def _meta(obj: Obj) -> Obj:
    return cast(Obj, obj["metadata"])


def _labels(obj: Obj) -> dict[str, str]:
    return cast(dict[str, str], obj["metadata"].get("labels") or {})


def _controller_ref(obj: Obj) -> Obj | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return cast(Obj, ref)
    return None


def _condition(obj: Obj, kind: str) -> Obj | None:
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cast(Obj, cond)
    return None


def _is_ready(pod: Obj) -> bool:
    cond = _condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True" and not pod["metadata"].get("deletionTimestamp")


def _is_terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def _is_finished(pod: Obj) -> bool:
    return pod.get("status", {}).get("phase") in _FINISHED


def _node_ready(node: Obj) -> bool:
    cond = _condition(node, "Ready")
    return cond is not None and cond.get("status") == "True"


def _int_or_percent(value: Any, total: int, *, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        scaled = int(text[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(text)


def _locked(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: ClusterState, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


@dataclass(frozen=True)
class HistoryEntry:
    """Ready pods per controller and healthy/desired per budget, recorded after a state change.

    Attributes:
        seq: position in the history.
        ready: ``Kind/namespace/name`` of each Deployment, StatefulSet, DaemonSet and unowned ReplicaSet ->
            Ready pods that are not terminating.
        pdbs: ``namespace/name`` of each PodDisruptionBudget -> (currentHealthy, desiredHealthy).
    """

    seq: int
    ready: dict[str, int] = field(default_factory=dict)
    pdbs: dict[str, tuple[int, int]] = field(default_factory=dict)


class ClusterState:
    """The object store plus the control loops of a small cluster; all methods are thread-safe.

    Args:
        ready_delay: seconds on ``clock`` between a pod being bound to a Ready node and the pod turning Ready.
        termination_delay: seconds on ``clock`` a deleted, running pod stays Terminating (capped by its grace
            period).
        seed: seed for generated names and uids.
        clock: the clock the controllers, the scheduler and the kubelet run on (a virtual clock in the
            simulator: they advance when it does, never in real time).
    """

    def __init__(
        self,
        *,
        ready_delay: float = 0.05,
        termination_delay: float = 0.0,
        seed: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.ready_delay = ready_delay
        self.termination_delay = termination_delay
        self.clock: Clock = clock or VirtualClock()
        self._rng = random.Random(seed)
        self._rv = 0
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {name: {} for name in KINDS}
        self._bound_at: dict[str, float] = {}
        self._gone_at: dict[str, float] = {}
        self._alloc = Allocator(self._rng)
        self._history: list[HistoryEntry] = []
        #: Image -> the Windows builds it supports (the kubelet refuses a build the node cannot run).
        self.image_builds: Callable[[str], frozenset[str] | None] = tag_resolver
        for ns in _DEFAULT_NAMESPACES:
            self._admit(KINDS["Namespace"], "", {"metadata": {"name": ns}})
        self._record()

    # ------------------------------------------------------------------ ids and bookkeeping
    def _timestamp(self) -> str:
        return self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _suffix(self, length: int = 5) -> str:
        return "".join(self._rng.choice(_SUFFIX_ALPHABET) for _ in range(length))

    def _touch(self, obj: Obj) -> None:
        obj["metadata"]["resourceVersion"] = self._next_rv()

    def _store(self, kind: str) -> dict[tuple[str, str], Obj]:
        return self._objects[kind]

    def _all(self, kind: str, namespace: str | None = None) -> list[Obj]:
        items = [o for (ns, _), o in self._store(kind).items() if namespace is None or ns == namespace]
        return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def _find(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self._store(kind).get((namespace, name))

    def _uids(self) -> set[str]:
        return {o["metadata"]["uid"] for store in self._objects.values() for o in store.values()}

    def _owned(self, kind: str, owner: Obj) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        ns = owner["metadata"].get("namespace")
        return [o for o in self._all(kind, ns) if (_controller_ref(o) or {}).get("uid") == uid]

    def _event(
        self, obj: Obj, reason: str, message: str, *, component: str, kind_type: str = "Normal"
    ) -> None:
        """Record an ``Event`` about ``obj`` as the kubelet, scheduler or controller would."""
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        if self._find("Namespace", "", namespace) is None:
            return
        now = self._timestamp()
        body: Obj = {
            "metadata": {"name": f"{meta['name']}.{self._rng.getrandbits(64):016x}"},
            "involvedObject": {
                "kind": obj.get("kind", ""),
                "namespace": meta.get("namespace", ""),
                "name": meta["name"],
                "uid": meta.get("uid", ""),
                "apiVersion": obj.get("apiVersion", "v1"),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": kind_type,
            "source": {"component": component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": component,
        }
        if component == "kubelet" and obj.get("spec", {}).get("nodeName"):
            body["source"]["host"] = obj["spec"]["nodeName"]
        self._admit(KINDS["Event"], namespace, body)
        events = self._store("Event")
        if len(events) > _MAX_EVENTS:
            oldest = min(events, key=lambda key: int(events[key]["metadata"]["resourceVersion"]))
            del events[oldest]

    # ------------------------------------------------------------------ admission
    def _admit(self, kind: Kind, namespace: str, body: Obj, *, replace: bool = False) -> Obj:
        obj = copy.deepcopy(body)
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the request body is not an object")
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        if kind.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            namespace = namespace or body_ns or "default"
            if self._find("Namespace", "", namespace) is None:
                raise not_found(KINDS["Namespace"], namespace)
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
            namespace = ""
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{self._suffix()}"
        name = meta.get("name") or ""
        if not name:
            raise invalid(kind, "", [("metadata.name", "Required value: name or generateName is required")])
        if not NAME_PATTERN.match(name):
            raise invalid(
                kind, name, [("metadata.name", f'Invalid value: "{name}": must be a DNS-1123 subdomain')]
            )
        existing = self._find(kind.name, namespace, name)
        if existing is not None and not replace:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{kind.plural}{"." + kind.group if kind.group else ""} "{name}" already exists',
                details={"name": name, "group": kind.group, "kind": kind.plural},
            )
        obj["apiVersion"] = kind.api_version
        obj["kind"] = kind.name
        apply_defaults(kind, obj, self._alloc)
        if existing is not None:
            for key in ("uid", "creationTimestamp", "ownerReferences"):
                if key in existing["metadata"]:
                    meta.setdefault(key, existing["metadata"][key])
            meta["uid"] = existing["metadata"]["uid"]
            if kind.name != "Node" or "status" not in body:
                obj["status"] = copy.deepcopy(existing.get("status", obj.get("status", {})))
            if kind.name == "Pod" and existing["spec"].get("nodeName"):
                obj["spec"]["nodeName"] = existing["spec"]["nodeName"]
            if "generation" in existing["metadata"]:
                changed = existing.get("spec") != obj.get("spec")
                meta["generation"] = existing["metadata"]["generation"] + (1 if changed else 0)
        else:
            meta["uid"] = self._uid()
            meta["creationTimestamp"] = self._timestamp()
            if kind.name in (*WORKLOAD_KINDS, "PodDisruptionBudget"):
                meta["generation"] = 1
        meta.setdefault("labels", {})
        self._touch(obj)
        self._store(kind.name)[(namespace, name)] = obj
        if kind.name == "Pod" and obj["spec"].get("nodeName"):
            self._bound_at.setdefault(meta["uid"], self.clock.monotonic())
        return obj

    # ------------------------------------------------------------------ public API used by the HTTP layer
    @_locked
    def create(self, kind: Kind, namespace: str, body: Obj) -> Obj:
        """Create an object (POST); 409 if the name is taken, 422 if invalid, 404 if the namespace is missing."""
        self.reconcile()
        obj = self._admit(kind, namespace, body)
        self.reconcile()
        return copy.deepcopy(
            self._find(kind.name, namespace if kind.namespaced else "", obj["metadata"]["name"]) or obj
        )

    @_locked
    def apply(self, body: Obj) -> Obj:
        """Create the object or replace its spec, labels and annotations (uid and status are kept)."""
        kind = KINDS.get(str(body.get("kind")))
        if kind is None:
            raise ApiError(400, "BadRequest", f"unsupported kind {body.get('kind')!r}")
        self.reconcile()
        namespace = ((body.get("metadata") or {}).get("namespace") or "default") if kind.namespaced else ""
        if kind.namespaced and self._find("Namespace", "", namespace) is None:
            self._admit(KINDS["Namespace"], "", {"metadata": {"name": namespace}})
        obj = self._admit(kind, namespace, body, replace=True)
        self.reconcile()
        return copy.deepcopy(self._find(kind.name, namespace, obj["metadata"]["name"]) or obj)

    @_locked
    def get(self, kind: Kind, namespace: str, name: str) -> Obj:
        """Read one object; 404 if it does not exist."""
        self.reconcile()
        obj = self._find(kind.name, namespace if kind.namespaced else "", name)
        if obj is None:
            raise not_found(kind, name)
        return copy.deepcopy(obj)

    @_locked
    def list_objects(
        self,
        kind: Kind,
        namespace: str | None,
        *,
        label_selector_text: str | None = None,
        field_selector_text: str | None = None,
    ) -> Obj:
        """List objects as a ``<Kind>List``; items carry no apiVersion/kind, as the real API server sends them."""
        self.reconcile()
        try:
            by_labels = label_selector(label_selector_text)
            by_fields = field_selector(field_selector_text)
        except SelectorError as err:
            raise ApiError(400, "BadRequest", str(err)) from err
        items = []
        for obj in self._all(kind.name, namespace if kind.namespaced else None):
            if by_labels(_labels(obj)) and by_fields(obj):
                item = copy.deepcopy(obj)
                item.pop("apiVersion", None)
                item.pop("kind", None)
                items.append(item)
        return {
            "apiVersion": kind.api_version,
            "kind": f"{kind.name}List",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }

    @_locked
    def patch(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        patch: Any,
        *,
        apply_patch: Callable[[Obj, Any], Any] | None = None,
    ) -> Obj:
        """Apply a patch (a merge patch unless ``apply_patch`` computes the new object); identity fields stay."""
        self.reconcile()
        ns = namespace if kind.namespaced else ""
        obj = self._find(kind.name, ns, name)
        if obj is None:
            raise not_found(kind, name)
        if apply_patch is None and not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
        patched = merge_patch(obj, patch) if apply_patch is None else apply_patch(obj, patch)
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
            raise ApiError(422, "Invalid", f"the patched {kind.name} is not an object with metadata")
        for key in ("name", "namespace", "uid", "creationTimestamp", "generateName"):
            if key in obj["metadata"]:
                patched["metadata"][key] = obj["metadata"][key]
            else:
                patched["metadata"].pop(key, None)
        patched["apiVersion"], patched["kind"] = kind.api_version, kind.name
        if "generation" in obj["metadata"] and patched.get("spec") != obj.get("spec"):
            patched["metadata"]["generation"] = obj["metadata"]["generation"] + 1
        self._touch(patched)
        self._store(kind.name)[(ns, name)] = patched
        self.reconcile()
        return copy.deepcopy(self._find(kind.name, ns, name) or patched)

    @_locked
    def delete(self, kind: Kind, namespace: str, name: str, *, grace_period: int | None = None) -> Obj:
        """Delete an object; pods on a node terminate gracefully, others go at once (owned objects follow)."""
        self.reconcile()
        ns = namespace if kind.namespaced else ""
        obj = self._find(kind.name, ns, name)
        if obj is None:
            raise not_found(kind, name)
        if kind.name == "Pod":
            self._delete_pod(obj, grace_period)
            self.reconcile()
            current = self._find("Pod", ns, name)
            if current is not None and current["metadata"]["uid"] == obj["metadata"]["uid"]:
                return copy.deepcopy(current)
            return copy.deepcopy(obj)
        self._remove(kind.name, obj)
        self.reconcile()
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": name,
                "group": kind.group,
                "kind": kind.plural,
                "uid": obj["metadata"]["uid"],
            },
        }

    @_locked
    def evict(self, namespace: str, name: str, body: Obj | None) -> Obj:
        """The ``policy/v1`` eviction subresource with PodDisruptionBudget semantics.

        Pods that are Pending, finished or already terminating are deleted without consulting budgets. For
        others, the one budget that selects the pod must allow a disruption (unhealthy pods under the
        default ``IfHealthyBudget`` policy need the budget to be currently met), else 429; more than one
        budget is a 500, as in the API server.
        """
        self.reconcile()
        pod = self._find("Pod", namespace, name)
        if pod is None:
            raise not_found(KINDS["Pod"], name)
        body_name = ((body or {}).get("metadata") or {}).get("name")
        if body_name and body_name != name:
            raise ApiError(
                400, "BadRequest", f"name in URL does not match name in Eviction object: {body_name}"
            )
        grace = ((body or {}).get("deleteOptions") or {}).get("gracePeriodSeconds")
        success: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "code": 201,
        }
        phase = pod.get("status", {}).get("phase")
        if _is_terminating(pod) or phase in ("Pending", *_FINISHED):
            self._delete_pod(pod, grace)
            self.reconcile()
            return success
        budgets = self._budgets_for(pod)
        if len(budgets) > 1:
            raise ApiError(
                500,
                "InternalError",
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            )
        if budgets:
            pdb = budgets[0]
            expected, healthy, desired = self._budget_numbers(pdb)
            allowed = max(0, healthy - desired) if expected > 0 else 0
            policy = pdb["spec"].get("unhealthyPodEvictionPolicy") or "IfHealthyBudget"
            if _is_ready(pod):
                refuse = allowed <= 0
            else:
                refuse = policy == "IfHealthyBudget" and healthy < desired
            if refuse:
                raise ApiError(
                    429,
                    "TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    details={
                        "causes": [
                            {
                                "reason": "DisruptionBudget",
                                "message": f"The disruption budget {pdb['metadata']['name']} needs {desired} "
                                f"healthy pods and has {healthy} currently",
                            }
                        ]
                    },
                )
        self._delete_pod(pod, grace)
        self.reconcile()
        return success

    # ------------------------------------------------------------------ setup helpers (no HTTP)
    @_locked
    def remove(self, kind: str, namespace: str, name: str) -> bool:
        """Delete an object at once (pods without grace); return whether it existed."""
        self.reconcile()
        obj = self._find(kind, namespace if KINDS[kind].namespaced else "", name)
        if obj is None:
            return False
        self._remove(kind, obj)
        self.reconcile()
        return True

    @_locked
    def mutate(self, kind: str, namespace: str, name: str, change: Callable[[Obj], None]) -> Obj:
        """Change an object in place through ``change`` (a test-setup hook), then reconcile."""
        self.reconcile()
        obj = self._find(kind, namespace if KINDS[kind].namespaced else "", name)
        if obj is None:
            raise not_found(KINDS[kind], name)
        change(obj)
        self._touch(obj)
        self._record()
        self.reconcile()
        return copy.deepcopy(obj)

    @_locked
    def objects(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """Copies of every object of a kind (after reconciling)."""
        self.reconcile()
        return [copy.deepcopy(o) for o in self._all(kind, namespace)]

    @_locked
    def settled(self) -> bool:
        """Whether nothing is waiting on time: no pod terminating, and every bound pod Ready or finished."""
        self.reconcile()
        for pod in self._all("Pod"):
            if _is_terminating(pod):
                return False
            node = self._find("Node", "", pod["spec"].get("nodeName") or "")
            if node is not None and _node_ready(node) and not _is_finished(pod) and not _is_ready(pod):
                if not is_held(pod):
                    return False
        return True

    @_locked
    def next_due(self) -> float | None:
        """When the next timed change happens, on ``clock.monotonic()``; ``None`` when nothing waits on time.

        A timed change is a bound pod turning Ready or a terminating pod going away.
        """
        self.reconcile()
        due: list[float] = [at for at in self._gone_at.values()]
        nodes = {n["metadata"]["name"]: n for n in self._all("Node")}
        for pod in self._all("Pod"):
            node = nodes.get(pod["spec"].get("nodeName") or "")
            if node is None or not _node_ready(node) or _is_terminating(pod) or _is_finished(pod):
                continue
            if pod["status"].get("phase") == "Pending" and not is_held(pod):
                due.append(self._bound_at.get(pod["metadata"]["uid"], 0.0) + self.ready_delay)
        return min(due) if due else None

    # ------------------------------------------------------------------ deletion
    def _delete_pod(self, pod: Obj, grace_period: int | None) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        if self._store("Pod").get(key) is not pod:
            return
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30) if grace_period is None else grace_period
        delay = min(self.termination_delay, float(grace))
        if pod["spec"].get("nodeName") and not _is_finished(pod) and not meta.get("deletionTimestamp"):
            for c in pod["spec"].get("containers") or []:
                self._event(pod, "Killing", f"Stopping container {c['name']}", component="kubelet")
        if delay <= 0 or not pod["spec"].get("nodeName") or _is_finished(pod):
            self._remove("Pod", pod)
            return
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = self._timestamp()
            meta["deletionGracePeriodSeconds"] = int(grace)
            self._gone_at[meta["uid"]] = self.clock.monotonic() + delay
            self._set_pod_ready(pod, False, reason="PodTerminating")
            self._touch(pod)
            self._record()

    def _remove(self, kind: str, obj: Obj) -> None:
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if self._store(kind).get(key) is obj:
            del self._store(kind)[key]
            self._bound_at.pop(meta["uid"], None)
            self._gone_at.pop(meta["uid"], None)
            self._rv += 1
            self._record()

    # ------------------------------------------------------------------ reconcile
    @_locked
    def reconcile(self) -> None:
        """Run the control loops until nothing changes (bounded, as each pass only converges)."""
        for _ in range(50):
            changed = False
            for step in (
                self._finish_terminations,
                self._collect_garbage,
                self._run_deployments,
                self._run_replicasets,
                self._run_statefulsets,
                self._run_daemonsets,
                self._schedule,
                self._run_kubelet,
                self._update_statuses,
            ):
                if step():
                    changed = True
                    self._record()
            if not changed:
                return

    def _finish_terminations(self) -> bool:
        now = self.clock.monotonic()
        done = [
            p
            for p in self._all("Pod")
            if _is_terminating(p) and self._gone_at.get(p["metadata"]["uid"], 0) <= now
        ]
        for pod in done:
            self._remove("Pod", pod)
        return bool(done)

    def _collect_garbage(self) -> bool:
        uids = self._uids()
        changed = False
        for kind in ("ReplicaSet", "Pod"):
            for obj in self._all(kind):
                ref = _controller_ref(obj)
                # Only owners of served kinds are known; a pod owned by, say, a Job is left alone.
                if ref is None or ref.get("kind") not in KINDS:
                    continue
                if ref.get("uid") not in uids and not _is_terminating(obj):
                    if kind == "Pod":
                        self._delete_pod(obj, None)
                    else:
                        self._remove(kind, obj)
                    changed = True
        return changed

    def _owner_reference(self, owner: Obj) -> Obj:
        return {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def _new_pod(
        self, owner: Obj, *, name: str | None = None, node: str | None = None, extra_labels: Obj | None = None
    ) -> None:
        template = copy.deepcopy(owner["spec"]["template"])
        meta = template.get("metadata") or {}
        labels = {**(meta.get("labels") or {}), **(extra_labels or {})}
        pod: Obj = {
            "metadata": {
                "labels": labels,
                "annotations": dict(meta.get("annotations") or {}),
                "ownerReferences": [self._owner_reference(owner)],
            },
            "spec": template["spec"],
        }
        if name:
            pod["metadata"]["name"] = name
        else:
            pod["metadata"]["generateName"] = f"{owner['metadata']['name']}-"
        if node:
            pod["spec"]["nodeName"] = node
            tolerations = pod["spec"].setdefault("tolerations", [])
            tolerations.extend(copy.deepcopy(t) for t in _DAEMONSET_TOLERATIONS if t not in tolerations)
        self._admit(KINDS["Pod"], owner["metadata"]["namespace"], pod)

    def _run_deployments(self) -> bool:
        changed = False
        for deploy in self._all("Deployment"):
            template = deploy["spec"]["template"]
            digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
            pod_hash = "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in digest[:10])
            rs_name = f"{deploy['metadata']['name']}-{pod_hash}"
            replicas = int(deploy["spec"].get("replicas", 1))
            owned = self._owned("ReplicaSet", deploy)
            current = next((rs for rs in owned if rs["metadata"]["name"] == rs_name), None)
            old = [rs for rs in owned if rs is not current]
            if current is None:
                rs_template = copy.deepcopy(template)
                rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = (
                    pod_hash
                )
                selector = copy.deepcopy(deploy["spec"]["selector"])
                selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
                revisions = [
                    int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0))
                    for rs in owned
                ]
                body = {
                    "metadata": {
                        "name": rs_name,
                        "labels": dict(rs_template["metadata"]["labels"]),
                        "annotations": {
                            "deployment.kubernetes.io/revision": str(max(revisions, default=0) + 1)
                        },
                        "ownerReferences": [self._owner_reference(deploy)],
                    },
                    "spec": {
                        "replicas": replicas if not any(rs["spec"].get("replicas") for rs in old) else 0,
                        "selector": selector,
                        "template": rs_template,
                    },
                }
                current = self._admit(KINDS["ReplicaSet"], deploy["metadata"]["namespace"], body)
                changed = True
            changed |= self._roll(deploy, current, old, replicas)
        return changed

    def _available(self, rs: Obj) -> int:
        return sum(1 for p in self._owned("Pod", rs) if _is_ready(p) and not _is_terminating(p))

    def _scale_rs(self, rs: Obj, replicas: int) -> bool:
        if int(rs["spec"].get("replicas", 0)) == replicas:
            return False
        rs["spec"]["replicas"] = replicas
        self._touch(rs)
        return True

    def _roll(self, deploy: Obj, current: Obj, old: list[Obj], replicas: int) -> bool:
        """The Deployment controller's rollout: ``Recreate``, or ``RollingUpdate`` within maxSurge/maxUnavailable."""
        live_old = [rs for rs in old if int(rs["spec"].get("replicas", 0)) > 0]
        if not live_old:
            return self._scale_rs(current, replicas)
        strategy = deploy["spec"].get("strategy") or {}
        if strategy.get("type") == "Recreate":
            changed = any([self._scale_rs(rs, 0) for rs in live_old])
            if not any(self._owned("Pod", rs) for rs in old):
                changed |= self._scale_rs(current, replicas)
            return changed
        rolling = strategy.get("rollingUpdate") or {}
        surge = _int_or_percent(rolling.get("maxSurge", "25%"), replicas, round_up=True)
        unavailable = _int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        changed = False
        total = sum(int(rs["spec"].get("replicas", 0)) for rs in [current, *live_old])
        new_count = int(current["spec"].get("replicas", 0))
        if new_count < replicas and total < replicas + surge:
            changed |= self._scale_rs(current, min(replicas, new_count + replicas + surge - total))
        available = self._available(current) + sum(self._available(rs) for rs in live_old)
        can_remove = available - (replicas - unavailable)
        # Old pods that are not available can go at once: removing them never lowers availability.
        for rs in sorted(live_old, key=lambda r: r["metadata"]["creationTimestamp"]):
            want = int(rs["spec"]["replicas"])
            unhealthy = max(0, want - self._available(rs))
            cut = min(want, unhealthy + max(0, can_remove))
            if cut > 0:
                can_remove -= max(0, cut - unhealthy)
                changed |= self._scale_rs(rs, want - cut)
        return changed

    def _run_replicasets(self) -> bool:
        changed = False
        for rs in self._all("ReplicaSet"):
            pods = self._owned("Pod", rs)
            active = [p for p in pods if not _is_terminating(p) and not _is_finished(p)]
            want = int(rs["spec"].get("replicas", 1))
            for _ in range(want - len(active)):
                self._new_pod(rs)
                changed = True
            if len(active) > want:
                # The ReplicaSet controller removes the least valuable pods first: unscheduled, then not Ready.
                ranked = sorted(
                    active,
                    key=lambda p: (
                        bool(p["spec"].get("nodeName")),
                        _is_ready(p),
                        p["metadata"]["creationTimestamp"],
                    ),
                )
                for pod in ranked[: len(active) - want]:
                    self._delete_pod(pod, None)
                changed = True
        return changed

    def _run_statefulsets(self) -> bool:
        changed = False
        for sts in self._all("StatefulSet"):
            ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
            want = int(sts["spec"].get("replicas", 1))
            for ordinal in range(want):
                pod_name = f"{name}-{ordinal}"
                if self._find("Pod", ns, pod_name) is None:
                    self._new_pod(
                        sts,
                        name=pod_name,
                        extra_labels={
                            "statefulset.kubernetes.io/pod-name": pod_name,
                            "apps.kubernetes.io/pod-index": str(ordinal),
                        },
                    )
                    pod = self._find("Pod", ns, pod_name)
                    if pod is not None:
                        pod["spec"].setdefault("hostname", pod_name)
                        if sts["spec"].get("serviceName"):
                            pod["spec"].setdefault("subdomain", sts["spec"]["serviceName"])
                    changed = True
            for pod in self._owned("Pod", sts):
                ordinal_text = pod["metadata"]["name"].rsplit("-", 1)[-1]
                if ordinal_text.isdigit() and int(ordinal_text) >= want and not _is_terminating(pod):
                    self._delete_pod(pod, None)
                    changed = True
        return changed

    def _fits(self, pod_spec: Obj, node: Obj, *, ignore_unschedulable: bool = False) -> str | None:
        """Return why the node cannot take a pod with this spec, or ``None`` if it can."""
        labels = _labels(node)
        for key, value in (pod_spec.get("nodeSelector") or {}).items():
            if labels.get(key) != value:
                return "node(s) didn't match Pod's node affinity/selector"
        required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ) or {}
        terms = required.get("nodeSelectorTerms")
        if terms is not None and not any(node_selector_term_matches(t, node) for t in terms):
            return "node(s) didn't match Pod's node affinity/selector"
        taints = list(node["spec"].get("taints") or [])
        if node["spec"].get("unschedulable"):
            if ignore_unschedulable:
                pass
            elif untolerated_taints(pod_spec.get("tolerations") or [], [_UNSCHEDULABLE_TAINT]):
                return "node(s) were unschedulable"
        blocking = untolerated_taints(pod_spec.get("tolerations") or [], taints)
        if blocking:
            t = blocking[0]
            return f"node(s) had untolerated taint {{{t['key']}: {t.get('value', '')}}}"
        if not _node_ready(node):
            return "node(s) were not ready"
        return None

    def _capacity_left(self, node: Obj, pods: Iterable[Obj]) -> int:
        allocatable = int(str(node["status"].get("allocatable", {}).get("pods", "110")))
        used = sum(
            1 for p in pods if p["spec"].get("nodeName") == node["metadata"]["name"] and not _is_finished(p)
        )
        return allocatable - used

    def _anti_affinity_blocks(self, pod: Obj, node: Obj, pods: list[Obj]) -> bool:
        terms = ((pod["spec"].get("affinity") or {}).get("podAntiAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ) or []
        nodes = {n["metadata"]["name"]: n for n in self._all("Node")}
        for term in terms:
            topology = term.get("topologyKey", "")
            value = _labels(node).get(topology)
            if value is None:
                continue
            namespaces = term.get("namespaces") or [pod["metadata"]["namespace"]]
            for other in pods:
                other_node = nodes.get(other["spec"].get("nodeName") or "")
                if (
                    other is not pod
                    and other_node is not None
                    and not _is_terminating(other)
                    and other["metadata"]["namespace"] in namespaces
                    and _labels(other_node).get(topology) == value
                    and selector_dict_matches(term.get("labelSelector"), _labels(other))
                ):
                    return True
        return False

    def _run_daemonsets(self) -> bool:
        changed = False
        nodes = self._all("Node")
        pods = self._all("Pod")
        for ds in self._all("DaemonSet"):
            template_spec = copy.deepcopy(ds["spec"]["template"]["spec"])
            template_spec["tolerations"] = [
                *(template_spec.get("tolerations") or []),
                *_DAEMONSET_TOLERATIONS,
            ]
            owned = self._owned("Pod", ds)
            eligible = set()
            for node in nodes:
                reason = self._fits(template_spec, node, ignore_unschedulable=True)
                if reason is None or reason == "node(s) were not ready":
                    eligible.add(node["metadata"]["name"])
            for node in nodes:
                node_name = node["metadata"]["name"]
                if node_name not in eligible or any(p["spec"].get("nodeName") == node_name for p in owned):
                    continue
                if self._capacity_left(node, pods) > 0:
                    self._new_pod(ds, node=node_name)
                    pods = self._all("Pod")
                    changed = True
            for pod in owned:
                if pod["spec"].get("nodeName") not in eligible and not _is_terminating(pod):
                    self._delete_pod(pod, None)
                    changed = True
        return changed

    def _schedule(self) -> bool:
        changed = False
        nodes = self._all("Node")
        pods = self._all("Pod")
        pending = sorted(
            (
                p
                for p in pods
                if not p["spec"].get("nodeName") and not _is_terminating(p) and not _is_finished(p)
            ),
            key=lambda p: int(p["metadata"]["resourceVersion"]),
        )
        for pod in pending:
            reasons: dict[str, int] = {}
            candidates = []
            for node in nodes:
                reason = self._fits(pod["spec"], node)
                if reason is None and self._capacity_left(node, pods) <= 0:
                    reason = "Too many pods"
                if reason is None and self._anti_affinity_blocks(pod, node, pods):
                    reason = "node(s) didn't match pod anti-affinity rules"
                if reason is None:
                    candidates.append(node)
                else:
                    reasons[reason] = reasons.get(reason, 0) + 1
            if candidates:
                # Spread like the default scheduler's balanced scoring: the least loaded node wins.
                load = {n["metadata"]["name"]: -self._capacity_left(n, pods) for n in candidates}
                best = min(candidates, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))
                pod["spec"]["nodeName"] = best["metadata"]["name"]
                self._bound_at[pod["metadata"]["uid"]] = self.clock.monotonic()
                self._set_condition(pod, "PodScheduled", "True")
                pod["status"]["hostIP"] = self._node_ip(best)
                self._touch(pod)
                self._event(
                    pod,
                    "Scheduled",
                    f"Successfully assigned {pod['metadata']['namespace']}/{pod['metadata']['name']} "
                    f"to {best['metadata']['name']}",
                    component="default-scheduler",
                )
                changed = True
            else:
                detail = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
                message = (
                    f"0/{len(nodes)} nodes are available: {detail}."
                    if nodes
                    else "no nodes available to schedule pods"
                )
                cond = _condition(pod, "PodScheduled")
                if cond is None or cond.get("message") != message:
                    self._set_condition(pod, "PodScheduled", "False", reason="Unschedulable", message=message)
                    self._touch(pod)
                    changed = True
        return changed

    def _node_ip(self, node: Obj) -> str:
        for address in node["status"].get("addresses") or []:
            if address.get("type") == "InternalIP":
                return str(address["address"])
        return "10.224.0.4"

    def _set_condition(
        self, obj: Obj, kind: str, status: str, *, reason: str | None = None, message: str | None = None
    ) -> None:
        conditions = obj.setdefault("status", {}).setdefault("conditions", [])
        cond = _condition(obj, kind)
        if cond is None:
            cond = {"type": kind}
            conditions.append(cond)
        if cond.get("status") != status:
            cond["lastTransitionTime"] = self._timestamp()
        cond["status"] = status
        cond["lastProbeTime"] = None
        for key, value in (("reason", reason), ("message", message)):
            if value is None:
                cond.pop(key, None)
            else:
                cond[key] = value

    def _set_pod_ready(self, pod: Obj, ready: bool, *, reason: str | None = None) -> None:
        value = "True" if ready else "False"
        for kind in ("ContainersReady", "Ready"):
            self._set_condition(pod, kind, value, reason=None if ready else reason or "ContainersNotReady")
        for status in pod["status"].get("containerStatuses") or []:
            status["ready"] = ready

    def _run_kubelet(self) -> bool:
        changed = False
        now = self.clock.monotonic()
        nodes = {n["metadata"]["name"]: n for n in self._all("Node")}
        for pod in self._all("Pod"):
            node_name = pod["spec"].get("nodeName")
            if not node_name or _is_terminating(pod) or _is_finished(pod):
                continue
            node = nodes.get(node_name)
            if node is None:
                # Pod garbage collection: a pod bound to a node that no longer exists is deleted at once.
                self._remove("Pod", pod)
                changed = True
                continue
            status = pod["status"]
            if not _node_ready(node):
                if _is_ready(pod):
                    self._set_pod_ready(pod, False, reason="NodeNotReady")
                    self._touch(pod)
                    changed = True
                continue
            if status.get("phase") == "Pending":
                if now - self._bound_at.setdefault(pod["metadata"]["uid"], now) < self.ready_delay:
                    continue
                held = hold_incompatible(pod, node, self.image_builds)
                if held is not None:
                    if held:
                        self._touch(pod)
                    changed = changed or held
                    continue
                self._start_pod(pod, node)
                changed = True
            elif not _is_ready(pod):
                self._set_pod_ready(pod, True)
                self._touch(pod)
                changed = True
        return changed

    def _start_pod(self, pod: Obj, node: Obj) -> None:
        started = self._timestamp()
        number = self._alloc.next_number()
        ip = f"10.244.{number // 250}.{number % 250 + 1}"
        status = pod["status"]
        status.update(
            {
                "phase": "Running",
                "hostIP": self._node_ip(node),
                "hostIPs": [{"ip": self._node_ip(node)}],
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "startTime": started,
                "containerStatuses": [
                    {
                        "name": c["name"],
                        "image": c["image"],
                        "imageID": f"{c['image']}@sha256:{hashlib.sha256(c['image'].encode()).hexdigest()}",
                        "containerID": f"containerd://{hashlib.sha256((pod['metadata']['uid'] + c['name']).encode()).hexdigest()}",
                        "ready": True,
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": started}},
                        "lastState": {},
                    }
                    for c in pod["spec"]["containers"]
                ],
            }
        )
        self._set_condition(pod, "PodScheduled", "True")
        self._set_condition(pod, "Initialized", "True")
        self._set_pod_ready(pod, True)
        self._touch(pod)
        for c in pod["spec"]["containers"]:
            self._event(
                pod,
                "Pulled",
                f'Container image "{c["image"]}" already present on machine',
                component="kubelet",
            )
            self._event(pod, "Created", f"Created container {c['name']}", component="kubelet")
            self._event(pod, "Started", f"Started container {c['name']}", component="kubelet")

    # ------------------------------------------------------------------ statuses
    def _put_status(self, obj: Obj, status: Obj) -> bool:
        merged = {**obj.get("status", {}), **status}
        if merged == obj.get("status"):
            return False
        obj["status"] = merged
        self._touch(obj)
        return True

    def _update_statuses(self) -> bool:
        changed = False
        for rs in self._all("ReplicaSet"):
            pods = [p for p in self._owned("Pod", rs) if not _is_terminating(p) and not _is_finished(p)]
            ready = sum(1 for p in pods if _is_ready(p))
            changed |= self._put_status(
                rs,
                {
                    "replicas": len(pods),
                    "fullyLabeledReplicas": len(pods),
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "observedGeneration": rs["metadata"]["generation"],
                },
            )
        for deploy in self._all("Deployment"):
            rss = self._owned("ReplicaSet", deploy)
            total = sum(int(rs["status"].get("replicas", 0)) for rs in rss)
            ready = sum(int(rs["status"].get("readyReplicas", 0)) for rs in rss)
            want = int(deploy["spec"].get("replicas", 1))
            newest = max(
                rss,
                key=lambda rs: int(
                    (rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0)
                ),
                default=None,
            )
            changed |= self._put_status(
                deploy,
                {
                    "replicas": total,
                    "updatedReplicas": int(newest["status"].get("replicas", 0)) if newest else 0,
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "unavailableReplicas": max(0, want - ready),
                    "observedGeneration": deploy["metadata"]["generation"],
                },
            )
        for sts in self._all("StatefulSet"):
            pods = [p for p in self._owned("Pod", sts) if not _is_terminating(p)]
            ready = sum(1 for p in pods if _is_ready(p))
            changed |= self._put_status(
                sts,
                {
                    "replicas": len(pods),
                    "readyReplicas": ready,
                    "currentReplicas": len(pods),
                    "updatedReplicas": len(pods),
                    "availableReplicas": ready,
                    "observedGeneration": sts["metadata"]["generation"],
                },
            )
        for ds in self._all("DaemonSet"):
            pods = [p for p in self._owned("Pod", ds) if not _is_terminating(p)]
            ready = sum(1 for p in pods if _is_ready(p))
            changed |= self._put_status(
                ds,
                {
                    "desiredNumberScheduled": len(pods),
                    "currentNumberScheduled": len(pods),
                    "updatedNumberScheduled": len(pods),
                    "numberMisscheduled": 0,
                    "numberReady": ready,
                    "numberAvailable": ready,
                    "numberUnavailable": len(pods) - ready,
                    "observedGeneration": ds["metadata"]["generation"],
                },
            )
        for pdb in self._all("PodDisruptionBudget"):
            expected, healthy, desired = self._budget_numbers(pdb)
            allowed = max(0, healthy - desired) if expected > 0 else 0
            status = {
                "expectedPods": expected,
                "currentHealthy": healthy,
                "desiredHealthy": desired,
                "disruptionsAllowed": allowed,
                "observedGeneration": pdb["metadata"]["generation"],
            }
            condition = {
                "type": "DisruptionAllowed",
                "status": "True" if allowed > 0 else "False",
                "reason": "SufficientPods" if allowed > 0 else "InsufficientPods",
                "message": "",
                "observedGeneration": pdb["metadata"]["generation"],
            }
            old = next(iter(pdb.get("status", {}).get("conditions") or []), None)
            if old is not None and all(old.get(k) == v for k, v in condition.items()):
                condition["lastTransitionTime"] = old["lastTransitionTime"]
            else:
                condition["lastTransitionTime"] = self._timestamp()
            status["conditions"] = [condition]
            changed |= self._put_status(pdb, status)
        return changed

    # ------------------------------------------------------------------ budgets
    def _budgets_for(self, pod: Obj) -> list[Obj]:
        return [
            pdb
            for pdb in self._all("PodDisruptionBudget", pod["metadata"]["namespace"])
            if selector_dict_matches(pdb["spec"].get("selector"), _labels(pod))
        ]

    def _top_controller(self, pod: Obj) -> Obj | None:
        ref = _controller_ref(pod)
        if ref is None or ref.get("kind") not in WORKLOAD_KINDS:
            return None
        owner = self._find(str(ref["kind"]), pod["metadata"]["namespace"], str(ref["name"]))
        if owner is None or owner["metadata"]["uid"] != ref.get("uid"):
            return None
        parent = _controller_ref(owner)
        if owner["kind"] == "ReplicaSet" and parent is not None and parent.get("kind") == "Deployment":
            deploy = self._find("Deployment", pod["metadata"]["namespace"], str(parent["name"]))
            if deploy is not None:
                return deploy
        return owner

    def _budget_numbers(self, pdb: Obj) -> tuple[int, int, int]:
        """(expectedPods, currentHealthy, desiredHealthy) as the disruption controller computes them."""
        spec = pdb["spec"]
        pods = [
            p
            for p in self._all("Pod", pdb["metadata"]["namespace"])
            if selector_dict_matches(spec.get("selector"), _labels(p)) and not _is_finished(p)
        ]
        healthy = sum(1 for p in pods if _is_ready(p))
        if "minAvailable" in spec and isinstance(spec["minAvailable"], int):
            return len(pods), healthy, int(spec["minAvailable"])
        # Percentages and maxUnavailable are relative to the controllers' scale, not to the pods that exist.
        scale = 0
        seen: set[str] = set()
        for pod in pods:
            owner = self._top_controller(pod)
            if owner is None:
                scale += 1
            elif owner["metadata"]["uid"] not in seen:
                seen.add(owner["metadata"]["uid"])
                if owner["kind"] == "DaemonSet":
                    scale += int(owner["status"].get("desiredNumberScheduled", 0))
                else:
                    scale += int(owner["spec"].get("replicas", 1))
        if "minAvailable" in spec:
            return scale, healthy, _int_or_percent(spec["minAvailable"], scale, round_up=True)
        unavailable = _int_or_percent(spec["maxUnavailable"], scale, round_up=True)
        return scale, healthy, max(0, scale - unavailable)

    # ------------------------------------------------------------------ history
    def _snapshot(self) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
        ready: dict[str, int] = {}
        for kind in ("Deployment", "StatefulSet", "DaemonSet"):
            for obj in self._all(kind):
                ready[f"{kind}/{obj['metadata']['namespace']}/{obj['metadata']['name']}"] = 0
        for rs in self._all("ReplicaSet"):
            if _controller_ref(rs) is None:
                ready[f"ReplicaSet/{rs['metadata']['namespace']}/{rs['metadata']['name']}"] = 0
        for pod in self._all("Pod"):
            owner = self._top_controller(pod)
            if owner is not None and _is_ready(pod):
                key = f"{owner['kind']}/{owner['metadata']['namespace']}/{owner['metadata']['name']}"
                ready[key] = ready.get(key, 0) + 1
        pdbs = {}
        for pdb in self._all("PodDisruptionBudget"):
            _, healthy, desired = self._budget_numbers(pdb)
            pdbs[f"{pdb['metadata']['namespace']}/{pdb['metadata']['name']}"] = (healthy, desired)
        return ready, pdbs

    def _record(self) -> None:
        ready, pdbs = self._snapshot()
        if self._history and self._history[-1].ready == ready and self._history[-1].pdbs == pdbs:
            return
        self._history.append(HistoryEntry(seq=len(self._history), ready=ready, pdbs=pdbs))

    @_locked
    def history(self, since: int = 0) -> list[HistoryEntry]:
        """Snapshots recorded from position ``since`` on."""
        self.reconcile()
        return list(self._history[since:])

    @_locked
    def history_length(self) -> int:
        """How many snapshots exist (a mark for :meth:`history`)."""
        self.reconcile()
        return len(self._history)
