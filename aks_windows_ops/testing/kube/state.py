"""The simulated cluster: the object store with its control loops, reconciled on every call.

:class:`ClusterState` composes the store (:mod:`.store`), the workload controllers (:mod:`.controllers`), the
scheduler (:mod:`.scheduler`), the kubelet (:mod:`.kubelet`) and the eviction subresource (:mod:`.disruption`).
Every call first runs the loops until nothing changes, so the cluster is always as up to date as its clock.
"""

from __future__ import annotations

from aks_windows_ops.testing.kube.conditions import is_finished, is_ready, is_terminating, node_ready
from aks_windows_ops.testing.kube.controllers import WorkloadControllers
from aks_windows_ops.testing.kube.disruption import Evictions
from aks_windows_ops.testing.kube.images import is_held
from aks_windows_ops.testing.kube.kubelet import Kubelet
from aks_windows_ops.testing.kube.scheduler import Scheduler
from aks_windows_ops.testing.kube.store import HistoryEntry, locked

__all__ = ["ClusterState", "HistoryEntry"]


class ClusterState(WorkloadControllers, Scheduler, Kubelet, Evictions):
    """The object store plus the control loops of a small cluster; all methods are thread-safe.

    Built like :class:`~.store.ClusterStore` (``ready_delay``, ``termination_delay``, ``seed``, ``clock``).
    """

    @locked
    def settled(self) -> bool:
        """Whether nothing is waiting on time: no pod terminating, and every bound pod Ready or finished."""
        self.reconcile()
        for pod in self._all("Pod"):
            if is_terminating(pod):
                return False
            node = self._find("Node", "", pod["spec"].get("nodeName") or "")
            if node is not None and node_ready(node) and not is_finished(pod) and not is_ready(pod):
                if not is_held(pod):
                    return False
        return True

    @locked
    def next_due(self) -> float | None:
        """When the next timed change happens, on ``clock.monotonic()``; ``None`` when nothing waits on time.

        A timed change is a bound pod turning Ready or a terminating pod going away.
        """
        self.reconcile()
        due: list[float] = [at for at in self._gone_at.values()]
        nodes = {n["metadata"]["name"]: n for n in self._all("Node")}
        for pod in self._all("Pod"):
            node = nodes.get(pod["spec"].get("nodeName") or "")
            if node is None or not node_ready(node) or is_terminating(pod) or is_finished(pod):
                continue
            if pod["status"].get("phase") == "Pending" and not is_held(pod):
                due.append(self._bound_at.get(pod["metadata"]["uid"], 0.0) + self.ready_delay)
        return min(due) if due else None

    @locked
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
