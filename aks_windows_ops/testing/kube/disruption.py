"""The ``policy/v1`` eviction subresource, with PodDisruptionBudget semantics.

An eviction deletes the pod gracefully unless the one budget that selects it would be broken (429
``TooManyRequests`` with a ``DisruptionBudget`` cause); this is how ``kubectl drain`` and the library's drain
respect budgets (Kubernetes "API-initiated eviction").
"""

from __future__ import annotations

from aks_windows_ops.testing.kube.conditions import FINISHED, Obj, is_ready, is_terminating
from aks_windows_ops.testing.kube.objects import KINDS, ApiError, not_found
from aks_windows_ops.testing.kube.store import ClusterStore, locked

__all__ = ["Evictions"]


class Evictions(ClusterStore):
    """The eviction subresource of the cluster (a part of :class:`~.state.ClusterState`)."""

    @locked
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
        if is_terminating(pod) or phase in ("Pending", *FINISHED):
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
            if is_ready(pod):
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
