"""The simulated kube-scheduler: places Pending pods on nodes.

Filters as the default scheduler's plugins do (Kubernetes scheduling framework): ``nodeSelector``, required node
affinity, required pod anti-affinity, taints and tolerations, ``spec.unschedulable``, the node's Ready condition
and ``allocatable.pods``. Among the nodes that fit, the least loaded wins (balanced scoring). A pod that fits
nowhere gets ``PodScheduled=False`` with the scheduler's ``0/N nodes are available: ...`` message.
"""

from __future__ import annotations

from collections.abc import Iterable

from aks_windows_ops.testing.kube.conditions import (
    Obj,
    condition,
    is_finished,
    is_terminating,
    labels_of,
    node_ip,
    node_ready,
)
from aks_windows_ops.testing.kube.match import (
    node_selector_term_matches,
    selector_dict_matches,
    untolerated_taints,
)
from aks_windows_ops.testing.kube.store import ClusterStore

__all__ = ["Scheduler", "capacity_left", "fits"]

_UNSCHEDULABLE_TAINT: Obj = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def fits(pod_spec: Obj, node: Obj, *, ignore_unschedulable: bool = False) -> str | None:
    """Return why the node cannot take a pod with this spec, or ``None`` if it can."""
    labels = labels_of(node)
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
    if not node_ready(node):
        return "node(s) were not ready"
    return None


def capacity_left(node: Obj, pods: Iterable[Obj]) -> int:
    """Pods the node can still take: ``allocatable.pods`` minus the unfinished pods bound to it."""
    allocatable = int(str(node["status"].get("allocatable", {}).get("pods", "110")))
    used = sum(
        1 for p in pods if p["spec"].get("nodeName") == node["metadata"]["name"] and not is_finished(p)
    )
    return allocatable - used


class Scheduler(ClusterStore):
    """The scheduling loop of the cluster (a part of :class:`~.state.ClusterState`)."""

    def _anti_affinity_blocks(self, pod: Obj, node: Obj, pods: list[Obj]) -> bool:
        terms = ((pod["spec"].get("affinity") or {}).get("podAntiAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ) or []
        nodes = {n["metadata"]["name"]: n for n in self._all("Node")}
        for term in terms:
            topology = term.get("topologyKey", "")
            value = labels_of(node).get(topology)
            if value is None:
                continue
            namespaces = term.get("namespaces") or [pod["metadata"]["namespace"]]
            for other in pods:
                other_node = nodes.get(other["spec"].get("nodeName") or "")
                if (
                    other is not pod
                    and other_node is not None
                    and not is_terminating(other)
                    and other["metadata"]["namespace"] in namespaces
                    and labels_of(other_node).get(topology) == value
                    and selector_dict_matches(term.get("labelSelector"), labels_of(other))
                ):
                    return True
        return False

    def _schedule(self) -> bool:
        changed = False
        nodes = self._all("Node")
        pods = self._all("Pod")
        pending = sorted(
            (
                p
                for p in pods
                if not p["spec"].get("nodeName") and not is_terminating(p) and not is_finished(p)
            ),
            key=lambda p: int(p["metadata"]["resourceVersion"]),
        )
        for pod in pending:
            reasons: dict[str, int] = {}
            candidates = []
            for node in nodes:
                reason = fits(pod["spec"], node)
                if reason is None and capacity_left(node, pods) <= 0:
                    reason = "Too many pods"
                if reason is None and self._anti_affinity_blocks(pod, node, pods):
                    reason = "node(s) didn't match pod anti-affinity rules"
                if reason is None:
                    candidates.append(node)
                else:
                    reasons[reason] = reasons.get(reason, 0) + 1
            if candidates:
                # Spread like the default scheduler's balanced scoring: the least loaded node wins.
                load = {n["metadata"]["name"]: -capacity_left(n, pods) for n in candidates}
                best = min(candidates, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))
                pod["spec"]["nodeName"] = best["metadata"]["name"]
                self._bound_at[pod["metadata"]["uid"]] = self.clock.monotonic()
                self._set_condition(pod, "PodScheduled", "True")
                pod["status"]["hostIP"] = node_ip(best)
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
                cond = condition(pod, "PodScheduled")
                if cond is None or cond.get("message") != message:
                    self._set_condition(pod, "PodScheduled", "False", reason="Unschedulable", message=message)
                    self._touch(pod)
                    changed = True
        return changed
