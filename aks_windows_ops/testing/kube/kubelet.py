"""The simulated kubelet: starts bound pods after ``ready_delay``, ends terminating ones, reports NotReady nodes.

A pod bound to a Ready node turns Running and Ready ``ready_delay`` seconds later on the cluster's clock, with
the kubelet's events (``Pulled``, ``Created``, ``Started``); a container whose image build the node cannot run
stays waiting with ``CreateContainerError`` (see :mod:`.images`). Pods on a node that is gone are deleted (pod
garbage collection); pods on a NotReady node stop being Ready.
"""

from __future__ import annotations

import hashlib

from aks_windows_ops.testing.kube.conditions import (
    Obj,
    is_finished,
    is_ready,
    is_terminating,
    node_ip,
    node_ready,
)
from aks_windows_ops.testing.kube.images import hold_incompatible
from aks_windows_ops.testing.kube.store import ClusterStore

__all__ = ["Kubelet"]


class Kubelet(ClusterStore):
    """The kubelets of every node (a part of :class:`~.state.ClusterState`)."""

    def _finish_terminations(self) -> bool:
        now = self.clock.monotonic()
        done = [
            p
            for p in self._all("Pod")
            if is_terminating(p) and self._gone_at.get(p["metadata"]["uid"], 0) <= now
        ]
        for pod in done:
            self._remove("Pod", pod)
        return bool(done)

    def _run_kubelet(self) -> bool:
        changed = False
        now = self.clock.monotonic()
        nodes = {n["metadata"]["name"]: n for n in self._all("Node")}
        for pod in self._all("Pod"):
            node_name = pod["spec"].get("nodeName")
            if not node_name or is_terminating(pod) or is_finished(pod):
                continue
            node = nodes.get(node_name)
            if node is None:
                # Pod garbage collection: a pod bound to a node that no longer exists is deleted at once.
                self._remove("Pod", pod)
                changed = True
                continue
            status = pod["status"]
            if not node_ready(node):
                if is_ready(pod):
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
            elif not is_ready(pod):
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
                "hostIP": node_ip(node),
                "hostIPs": [{"ip": node_ip(node)}],
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
