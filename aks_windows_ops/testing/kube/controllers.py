"""The simulated workload controllers: Deployments, ReplicaSets, StatefulSets, DaemonSets, garbage collection, statuses.

Modelled on the kube-controller-manager's loops:

- ReplicaSets keep ``replicas`` live pods; terminating pods no longer count, so a replacement starts at once;
  a scale-in removes unscheduled pods first, then not-Ready ones, then the youngest.
- StatefulSets keep pods ``<name>-<ordinal>``; a replacement (same name, new uid) starts once the old pod
  is gone. Pods are managed in parallel (``podManagementPolicy: Parallel`` behaviour).
- Deployments own one ReplicaSet per pod template and roll between them with ``Recreate`` or ``RollingUpdate``
  within ``maxSurge``/``maxUnavailable`` (25 %/25 % by default).
- DaemonSets run one pod per matching node; their pods tolerate unschedulable and not-ready nodes.
- Garbage collection deletes objects whose controller owner is gone.
- Status subresources (replicas, ready, available, PodDisruptionBudget ``disruptionsAllowed``) follow the pods.
"""

from __future__ import annotations

import copy
import hashlib
import json

from aks_windows_ops.testing.kube.conditions import (
    DAEMONSET_TOLERATIONS,
    SUFFIX_ALPHABET,
    Obj,
    controller_ref,
    int_or_percent,
    is_finished,
    is_ready,
    is_terminating,
)
from aks_windows_ops.testing.kube.objects import KINDS
from aks_windows_ops.testing.kube.scheduler import capacity_left, fits
from aks_windows_ops.testing.kube.store import ClusterStore

__all__ = ["WorkloadControllers"]


class WorkloadControllers(ClusterStore):
    """The workload control loops of the cluster (a part of :class:`~.state.ClusterState`)."""

    def _collect_garbage(self) -> bool:
        uids = self._uids()
        changed = False
        for kind in ("ReplicaSet", "Pod"):
            for obj in self._all(kind):
                ref = controller_ref(obj)
                # Only owners of served kinds are known; a pod owned by, say, a Job is left alone.
                if ref is None or ref.get("kind") not in KINDS:
                    continue
                if ref.get("uid") not in uids and not is_terminating(obj):
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
            tolerations.extend(copy.deepcopy(t) for t in DAEMONSET_TOLERATIONS if t not in tolerations)
        self._admit(KINDS["Pod"], owner["metadata"]["namespace"], pod)

    def _run_deployments(self) -> bool:
        changed = False
        for deploy in self._all("Deployment"):
            template = deploy["spec"]["template"]
            digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
            pod_hash = "".join(SUFFIX_ALPHABET[b % len(SUFFIX_ALPHABET)] for b in digest[:10])
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
        return sum(1 for p in self._owned("Pod", rs) if is_ready(p) and not is_terminating(p))

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
        surge = int_or_percent(rolling.get("maxSurge", "25%"), replicas, round_up=True)
        unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
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
            active = [p for p in pods if not is_terminating(p) and not is_finished(p)]
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
                        is_ready(p),
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
                if ordinal_text.isdigit() and int(ordinal_text) >= want and not is_terminating(pod):
                    self._delete_pod(pod, None)
                    changed = True
        return changed

    def _run_daemonsets(self) -> bool:
        changed = False
        nodes = self._all("Node")
        pods = self._all("Pod")
        for ds in self._all("DaemonSet"):
            template_spec = copy.deepcopy(ds["spec"]["template"]["spec"])
            template_spec["tolerations"] = [
                *(template_spec.get("tolerations") or []),
                *DAEMONSET_TOLERATIONS,
            ]
            owned = self._owned("Pod", ds)
            eligible = set()
            for node in nodes:
                reason = fits(template_spec, node, ignore_unschedulable=True)
                if reason is None or reason == "node(s) were not ready":
                    eligible.add(node["metadata"]["name"])
            for node in nodes:
                node_name = node["metadata"]["name"]
                if node_name not in eligible or any(p["spec"].get("nodeName") == node_name for p in owned):
                    continue
                if capacity_left(node, pods) > 0:
                    self._new_pod(ds, node=node_name)
                    pods = self._all("Pod")
                    changed = True
            for pod in owned:
                if pod["spec"].get("nodeName") not in eligible and not is_terminating(pod):
                    self._delete_pod(pod, None)
                    changed = True
        return changed

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
            pods = [p for p in self._owned("Pod", rs) if not is_terminating(p) and not is_finished(p)]
            ready = sum(1 for p in pods if is_ready(p))
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
            pods = [p for p in self._owned("Pod", sts) if not is_terminating(p)]
            ready = sum(1 for p in pods if is_ready(p))
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
            pods = [p for p in self._owned("Pod", ds) if not is_terminating(p)]
            ready = sum(1 for p in pods if is_ready(p))
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
