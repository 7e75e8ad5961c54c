"""The object store behind the fake Kubernetes API server: admission, CRUD, events, budgets and history.

Everything runs under one lock and is driven synchronously: every API call and every test-setup call first
brings the cluster up to date (``reconcile``, implemented by :class:`~.state.ClusterState` with the control
loops), then acts, then reconciles again. Nothing moves on its own between calls, except that "now" advances on
the cluster's clock. That keeps the fake deterministic for a given sequence of calls and a given timing.

Writes follow the Kubernetes API conventions: names are DNS-1123 subdomains, ``generateName`` gets a random
suffix, a create of an existing name is 409 ``AlreadyExists``, an update keeps ``uid`` and
``creationTimestamp``, and ``metadata.generation`` moves when the spec changes. PodDisruptionBudget numbers
(``expectedPods``, ``currentHealthy``, ``desiredHealthy``) follow the disruption controller.
"""

from __future__ import annotations

import copy
import functools
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from aks_windows_ops.clock import Clock
from aks_windows_ops.testing._http import VirtualClock
from aks_windows_ops.testing.kube.conditions import (
    SUFFIX_ALPHABET,
    condition,
    controller_ref,
    int_or_percent,
    is_finished,
    is_ready,
    labels_of,
)
from aks_windows_ops.testing.kube.images import tag_resolver
from aks_windows_ops.testing.kube.match import (
    SelectorError,
    field_selector,
    label_selector,
    merge_patch,
    selector_dict_matches,
)
from aks_windows_ops.testing.kube.objects import (
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

__all__ = ["ClusterStore", "HistoryEntry", "locked"]

Obj = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])

_DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
#: Events kept (the API server expires them after an hour; here the oldest go first).
_MAX_EVENTS = 2000


def locked(method: F) -> F:
    """Run the method under the store's lock (re-entrant)."""

    @functools.wraps(method)
    def wrapper(self: ClusterStore, *args: Any, **kwargs: Any) -> Any:
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


class ClusterStore:
    """The object store of a small cluster: admission, reads, writes, events, budgets and history.

    The control loops (:mod:`.controllers`, :mod:`.scheduler`, :mod:`.kubelet`) extend it; :class:`ClusterState`
    puts them together and implements :meth:`reconcile`. All public methods are thread-safe.

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

    def reconcile(self) -> None:
        """Run the control loops until nothing changes (the composed cluster implements this)."""
        raise NotImplementedError

    @locked
    def resource_version(self) -> int:
        """The cluster's latest ``resourceVersion`` (it moves with every change of any object)."""
        self.reconcile()
        return self._rv

    # ------------------------------------------------------------------ ids and bookkeeping
    def _timestamp(self) -> str:
        return self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _suffix(self, length: int = 5) -> str:
        return "".join(self._rng.choice(SUFFIX_ALPHABET) for _ in range(length))

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
        return [o for o in self._all(kind, ns) if (controller_ref(o) or {}).get("uid") == uid]

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
    @locked
    def create(self, kind: Kind, namespace: str, body: Obj) -> Obj:
        """Create an object (POST); 409 if the name is taken, 422 if invalid, 404 if the namespace is missing."""
        self.reconcile()
        obj = self._admit(kind, namespace, body)
        self.reconcile()
        return copy.deepcopy(
            self._find(kind.name, namespace if kind.namespaced else "", obj["metadata"]["name"]) or obj
        )

    @locked
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

    @locked
    def get(self, kind: Kind, namespace: str, name: str) -> Obj:
        """Read one object; 404 if it does not exist."""
        self.reconcile()
        obj = self._find(kind.name, namespace if kind.namespaced else "", name)
        if obj is None:
            raise not_found(kind, name)
        return copy.deepcopy(obj)

    @locked
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
            if by_labels(labels_of(obj)) and by_fields(obj):
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

    @locked
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

    @locked
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

    # ------------------------------------------------------------------ setup helpers (no HTTP)
    @locked
    def remove(self, kind: str, namespace: str, name: str) -> bool:
        """Delete an object at once (pods without grace); return whether it existed."""
        self.reconcile()
        obj = self._find(kind, namespace if KINDS[kind].namespaced else "", name)
        if obj is None:
            return False
        self._remove(kind, obj)
        self.reconcile()
        return True

    @locked
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

    @locked
    def objects(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """Copies of every object of a kind (after reconciling)."""
        self.reconcile()
        return [copy.deepcopy(o) for o in self._all(kind, namespace)]

    # ------------------------------------------------------------------ deletion
    def _delete_pod(self, pod: Obj, grace_period: int | None) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        if self._store("Pod").get(key) is not pod:
            return
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30) if grace_period is None else grace_period
        delay = min(self.termination_delay, float(grace))
        if pod["spec"].get("nodeName") and not is_finished(pod) and not meta.get("deletionTimestamp"):
            for c in pod["spec"].get("containers") or []:
                self._event(pod, "Killing", f"Stopping container {c['name']}", component="kubelet")
        if delay <= 0 or not pod["spec"].get("nodeName") or is_finished(pod):
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

    def _set_condition(
        self, obj: Obj, kind: str, status: str, *, reason: str | None = None, message: str | None = None
    ) -> None:
        conditions = obj.setdefault("status", {}).setdefault("conditions", [])
        cond = condition(obj, kind)
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

    # ------------------------------------------------------------------ budgets
    def _budgets_for(self, pod: Obj) -> list[Obj]:
        return [
            pdb
            for pdb in self._all("PodDisruptionBudget", pod["metadata"]["namespace"])
            if selector_dict_matches(pdb["spec"].get("selector"), labels_of(pod))
        ]

    def _top_controller(self, pod: Obj) -> Obj | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") not in WORKLOAD_KINDS:
            return None
        owner = self._find(str(ref["kind"]), pod["metadata"]["namespace"], str(ref["name"]))
        if owner is None or owner["metadata"]["uid"] != ref.get("uid"):
            return None
        parent = controller_ref(owner)
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
            if selector_dict_matches(spec.get("selector"), labels_of(p)) and not is_finished(p)
        ]
        healthy = sum(1 for p in pods if is_ready(p))
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
            return scale, healthy, int_or_percent(spec["minAvailable"], scale, round_up=True)
        unavailable = int_or_percent(spec["maxUnavailable"], scale, round_up=True)
        return scale, healthy, max(0, scale - unavailable)

    # ------------------------------------------------------------------ history
    def _snapshot(self) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
        ready: dict[str, int] = {}
        for kind in ("Deployment", "StatefulSet", "DaemonSet"):
            for obj in self._all(kind):
                ready[f"{kind}/{obj['metadata']['namespace']}/{obj['metadata']['name']}"] = 0
        for rs in self._all("ReplicaSet"):
            if controller_ref(rs) is None:
                ready[f"ReplicaSet/{rs['metadata']['namespace']}/{rs['metadata']['name']}"] = 0
        for pod in self._all("Pod"):
            owner = self._top_controller(pod)
            if owner is not None and is_ready(pod):
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

    @locked
    def history(self, since: int = 0) -> list[HistoryEntry]:
        """Snapshots recorded from position ``since`` on."""
        self.reconcile()
        return list(self._history[since:])

    @locked
    def history_length(self) -> int:
        """How many snapshots exist (a mark for :meth:`history`)."""
        self.reconcile()
        return len(self._history)
