"""Cordon, plan and drain nodes the way ``kubectl drain`` does, honouring PodDisruptionBudgets.

Service facts: Moving pods ("Moving pods"): cordon with ``spec.unschedulable``; list pods by ``spec.nodeName``;
skip DaemonSet pods, mirror pods and finished pods; refuse pods with ``emptyDir`` data without consent and
pods without a controller without ``force`` -- all before the first eviction; evict with ``policy/v1``
Eviction; a 429 means a PodDisruptionBudget allows no disruption now, so wait and retry; a 404 means gone;
then wait until each pod is gone or replaced (new uid), under a per-node timeout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from tenacity import RetryCallState, Retrying, retry_if_result

from aks_windows_ops.clock import Clock, system_clock
from aks_windows_ops.errors import BudgetExhausted, DrainBlocked, InvalidInput, NotFound, UnsafeOperation
from aks_windows_ops.kube.workloads import (
    as_manifest,
    controller_of,
    is_daemonset_pod,
    is_finished,
    is_mirror_pod,
    pods_on_nodes,
    selector_matches,
    uses_emptydir,
)

__all__ = [
    "DrainPlan",
    "DrainResult",
    "NodeDrain",
    "PodRef",
    "PodVerdict",
    "cordon",
    "drain_nodes",
    "is_cordoned",
    "plan_drain",
    "uncordon",
]

EventHook = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class PodRef:
    """A pod as the drain saw it: where it ran, its uid, and its controller (``Kind/namespace/name``)."""

    namespace: str
    name: str
    uid: str
    node: str
    controller: str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PodVerdict:
    """A pod the drain will not evict, and why."""

    pod: PodRef
    reason: str

    def __str__(self) -> str:
        return f"{self.pod} ({self.reason})"


@dataclass(frozen=True)
class DrainPlan:
    """What a drain of ``nodes`` would do; reading it sends no write (design principle "plan, then apply").

    Attributes:
        nodes: the nodes to drain, in the order given.
        evict: pods to evict.
        skipped: pods left in place on purpose (DaemonSet, mirror, finished).
        blocked: pods that stop the drain until the caller consents (emptyDir data) or forces (no controller).
    """

    nodes: tuple[str, ...]
    evict: tuple[PodRef, ...] = ()
    skipped: tuple[PodVerdict, ...] = ()
    blocked: tuple[PodVerdict, ...] = ()

    def evictions_on(self, node: str) -> tuple[PodRef, ...]:
        """The pods to evict from one node."""
        return tuple(p for p in self.evict if p.node == node)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for plans and checkpoints."""
        return {
            "nodes": list(self.nodes),
            "evict": [str(p) for p in self.evict],
            "skipped": [str(v) for v in self.skipped],
            "blocked": [str(v) for v in self.blocked],
        }


@dataclass(frozen=True)
class NodeDrain:
    """How one node's drain went.

    Attributes:
        node: the node.
        evicted: pods whose eviction the API accepted (or that were already gone).
        refusals: 429 answers received (a PodDisruptionBudget said "not now").
        seconds: time spent on the node, by the drain's clock.
        pdb_blocked: pods still refused with 429 when the timeout ran out.
        not_gone: evicted pods that were still there (same uid) when the timeout ran out.
        failed: pods whose eviction kept failing for another reason (5xx, 409), with the last error.
    """

    node: str
    evicted: tuple[str, ...] = ()
    refusals: int = 0
    seconds: float = 0.0
    pdb_blocked: tuple[PodRef, ...] = ()
    not_gone: tuple[PodRef, ...] = ()
    failed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the node ended with no pod left to move."""
        return not self.pdb_blocked and not self.not_gone and not self.failed


@dataclass(frozen=True)
class DrainResult:
    """The outcome of :func:`drain_nodes`: the plan that ran and one record per node."""

    plan: DrainPlan
    nodes: tuple[NodeDrain, ...] = field(default_factory=tuple)

    @property
    def evicted(self) -> tuple[str, ...]:
        """Every pod evicted, node by node."""
        return tuple(p for n in self.nodes for p in n.evicted)


def _set_unschedulable(api: Any, node: str, value: bool) -> bool:
    core = client.CoreV1Api(api)
    try:
        current = core.read_node(node)
    except client.ApiException as err:
        if err.status == 404:
            raise NotFound(f"node {node!r} does not exist") from err
        raise
    if bool(current.spec and current.spec.unschedulable) == value:
        return False
    # kubectl sends the same patch; null clears the field, which reads back as false.
    core.patch_node(node, {"spec": {"unschedulable": True if value else None}})
    return True


def cordon(api: Any, node: str) -> bool:
    """Mark a node unschedulable (``spec.unschedulable = true``), as ``kubectl cordon`` does (Service facts: Moving pods).

    Returns:
        Whether the node changed (``False`` if it was already cordoned).

    Raises:
        NotFound: no such node.
    """
    return _set_unschedulable(api, node, True)


def uncordon(api: Any, node: str) -> bool:
    """Make a node schedulable again, as ``kubectl uncordon`` does (Service facts: Moving pods).

    Returns:
        Whether the node changed (``False`` if it was not cordoned).

    Raises:
        NotFound: no such node.
    """
    return _set_unschedulable(api, node, False)


def _check_nodes(nodes: Iterable[str]) -> tuple[str, ...]:
    if isinstance(nodes, str):
        raise InvalidInput("nodes must be a list of node names, not one string")
    names = tuple(dict.fromkeys(nodes))
    if not names:
        raise InvalidInput("no nodes to drain")
    if any(not isinstance(n, str) or not n for n in names):
        raise InvalidInput("every node name must be a non-empty string")
    return names


def plan_drain(
    api: Any,
    nodes: Iterable[str],
    *,
    delete_emptydir_data: bool = False,
    force: bool = False,
    raise_on_blocked: bool = True,
) -> DrainPlan:
    """Decide, without writing anything, which pods a drain evicts, skips, or is blocked by.

    kubectl drain semantics (Service facts: Moving pods): DaemonSet pods, mirror pods
    (``kubernetes.io/config.mirror``) and finished pods are skipped; pods with ``emptyDir`` volumes need
    ``delete_emptydir_data`` (their data is lost); pods without a controller need ``force`` (nothing would
    recreate them). Every filter runs before the first eviction.

    Args:
        api: a ``kubernetes.client.ApiClient``.
        nodes: node names.
        delete_emptydir_data: consent to losing ``emptyDir`` data.
        force: consent to deleting pods that no controller recreates.
        raise_on_blocked: raise instead of returning a plan with blocked pods.

    Raises:
        InvalidInput: no node names.
        UnsafeOperation: some pods block the drain (with ``raise_on_blocked``); nothing was changed.
    """
    names = _check_nodes(nodes)
    evict: list[PodRef] = []
    skipped: list[PodVerdict] = []
    blocked: list[PodVerdict] = []
    for pod in pods_on_nodes(api, names):
        meta = pod.get("metadata") or {}
        owner = controller_of(pod)
        ref = PodRef(
            namespace=str(meta.get("namespace") or "default"),
            name=str(meta.get("name")),
            uid=str(meta.get("uid")),
            node=str((pod.get("spec") or {}).get("nodeName")),
            controller=str(owner) if owner else None,
        )
        if is_mirror_pod(pod):
            skipped.append(PodVerdict(ref, "mirror pod of a static pod"))
        elif is_finished(pod):
            skipped.append(PodVerdict(ref, "already finished"))
        elif is_daemonset_pod(pod):
            skipped.append(PodVerdict(ref, "DaemonSet pod"))
        else:
            reasons = []
            if owner is None and not force:
                reasons.append("no controller would recreate it (use force to delete it)")
            if uses_emptydir(pod) and not delete_emptydir_data:
                reasons.append("its emptyDir data would be lost (use delete_emptydir_data to accept)")
            if reasons:
                blocked.append(PodVerdict(ref, "; ".join(reasons)))
            else:
                evict.append(ref)
    plan = DrainPlan(nodes=names, evict=tuple(evict), skipped=tuple(skipped), blocked=tuple(blocked))
    if blocked and raise_on_blocked:
        raise _refusal(plan)
    return plan


def _refusal(plan: DrainPlan) -> UnsafeOperation:
    return UnsafeOperation(
        f"cannot drain {', '.join(plan.nodes)}: {len(plan.blocked)} pod(s) would be lost: "
        + "; ".join(str(v) for v in plan.blocked),
        remediation=(
            "Give the pods a controller (Deployment/StatefulSet) or consent to deleting them (--force); move "
            "emptyDir data elsewhere or consent to losing it (--delete-emptydir-data). Nothing was evicted."
        ),
    )


class _NodeDrainer:
    """Drains one node: evict every planned pod with retries on 429, then wait for each to be gone or replaced."""

    def __init__(
        self,
        core: Any,
        node: str,
        pods: Sequence[PodRef],
        *,
        timeout: float,
        poll_interval: float,
        request_timeout: float,
        emit: EventHook,
        clock: Clock,
        budget_deadline: float | None,
    ) -> None:
        self.core = core
        self.node = node
        self.pending: dict[str, PodRef] = {str(p): p for p in pods}
        self.evicted: list[PodRef] = []
        self.gone: list[str] = []
        self.last_error: dict[str, tuple[int, str]] = {}
        self.refusals = 0
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.request_timeout = request_timeout
        self.emit = emit
        self.clock = clock.monotonic
        self.sleep = clock.sleep
        self.started = clock.monotonic()
        self.deadline = self.started + timeout
        # The run's time budget cuts the node's timeout short: the run then pauses instead of failing.
        if budget_deadline is not None:
            self.deadline = min(self.deadline, budget_deadline)

    def _request_timeout(self) -> float:
        return max(0.5, min(self.request_timeout, self.deadline - self.clock()))

    def _evict_round(self) -> bool:
        """Try each pending pod once; return whether any is still pending."""
        for key, pod in list(self.pending.items()):
            body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod.name, namespace=pod.namespace))
            try:
                self.core.create_namespaced_pod_eviction(
                    pod.name, pod.namespace, body, _request_timeout=self._request_timeout()
                )
            except client.ApiException as err:
                if err.status == 404:
                    del self.pending[key]
                    self.gone.append(key)
                    self.emit({"event": "pod_gone", "node": self.node, "pod": key})
                elif err.status == 429:
                    self.refusals += 1
                    self.last_error[key] = (429, _cause(err))
                    self.emit(
                        {"event": "eviction_refused", "node": self.node, "pod": key, "reason": _cause(err)}
                    )
                elif err.status is not None and (err.status >= 500 or err.status == 409):
                    self.last_error[key] = (int(err.status), _cause(err))
                    self.emit(
                        {"event": "eviction_retry", "node": self.node, "pod": key, "status": err.status}
                    )
                else:
                    raise UnsafeOperation(
                        f"eviction of {key} on {self.node} failed with HTTP {err.status}: {_cause(err)}",
                        remediation="Fix the cause (permissions, admission webhooks), then run the drain again.",
                    ) from err
            else:
                del self.pending[key]
                self.evicted.append(pod)
                self.emit({"event": "evicted", "node": self.node, "pod": key})
        return bool(self.pending)

    def _wait(self, state: RetryCallState) -> float:
        # Back off from poll_interval to 4x (kubectl waits 5 s between refusals), never past the deadline.
        backoff = self.poll_interval * float(min(2 ** max(state.attempt_number - 1, 0), 4))
        return max(0.0, min(backoff, self.deadline - self.clock()))

    def _stop(self, state: RetryCallState) -> bool:
        return self.clock() >= self.deadline

    def evict_all(self) -> None:
        """Evict until nothing is pending or the node's deadline passes (tenacity drives the retries)."""
        retrying = Retrying(
            retry=retry_if_result(bool),
            wait=self._wait,
            stop=self._stop,
            sleep=self.sleep,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else True,
            reraise=True,
        )
        retrying(self._evict_round)

    def wait_gone(self) -> list[PodRef]:
        """Poll until every evicted pod is deleted or replaced by a new uid; return those still there."""
        waiting = list(self.evicted)
        while True:
            still = []
            for pod in waiting:
                try:
                    current = self.core.read_namespaced_pod(
                        pod.name, pod.namespace, _request_timeout=self._request_timeout()
                    )
                except client.ApiException as err:
                    if err.status != 404:
                        raise
                    self.emit({"event": "pod_deleted", "node": self.node, "pod": str(pod), "replaced": False})
                    continue
                if current.metadata.uid != pod.uid:
                    self.emit({"event": "pod_deleted", "node": self.node, "pod": str(pod), "replaced": True})
                    continue
                still.append(pod)
            waiting = still
            remaining = self.deadline - self.clock()
            if not waiting or remaining <= 0:
                return waiting
            self.sleep(min(self.poll_interval, remaining))

    def run(self) -> NodeDrain:
        """Drain the node and describe how it went."""
        self.emit({"event": "node_drain_started", "node": self.node, "pods": len(self.pending)})
        self.evict_all()
        not_gone = self.wait_gone()
        blocked = tuple(p for k, p in self.pending.items() if self.last_error.get(k, (429, ""))[0] == 429)
        failed = tuple(
            f"{k} (HTTP {self.last_error[k][0]}: {self.last_error[k][1]})"
            for k in self.pending
            if self.last_error.get(k, (429, ""))[0] != 429
        )
        outcome = NodeDrain(
            node=self.node,
            evicted=tuple([*(str(p) for p in self.evicted), *self.gone]),
            refusals=self.refusals,
            seconds=self.clock() - self.started,
            pdb_blocked=blocked,
            not_gone=tuple(not_gone),
            failed=failed,
        )
        if outcome.ok:
            self.emit({"event": "node_drained", "node": self.node, "seconds": outcome.seconds})
        else:
            self.emit(
                {
                    "event": "node_drain_incomplete",
                    "node": self.node,
                    "pdb_blocked": [str(p) for p in blocked],
                    "not_gone": [str(p) for p in not_gone],
                    "failed": list(failed),
                }
            )
        return outcome


def _cause(err: Any) -> str:
    """The most specific message of a ``Status`` body (the budget named in a 429's cause)."""
    try:
        status = json.loads(err.body or "{}")
    except (TypeError, ValueError):
        return str(err.reason or err.status)
    causes = (status.get("details") or {}).get("causes") or []
    if causes and causes[0].get("message"):
        return str(causes[0]["message"])
    return str(status.get("message") or err.reason or err.status)


def _blocking_budgets(api: Any, pods: Iterable[PodRef]) -> list[str]:
    policy = client.PolicyV1Api(api)
    core = client.CoreV1Api(api)
    names: list[str] = []
    budgets_by_ns: dict[str, list[Any]] = {}
    for pod in pods:
        if pod.namespace not in budgets_by_ns:
            budgets_by_ns[pod.namespace] = policy.list_namespaced_pod_disruption_budget(pod.namespace).items
        try:
            current = core.read_namespaced_pod(pod.name, pod.namespace)
        except client.ApiException:
            continue
        labels = (current.metadata.labels if current.metadata else None) or {}
        for pdb in budgets_by_ns[pod.namespace]:
            manifest = as_manifest(pdb)
            key = f"{pod.namespace}/{manifest['metadata']['name']}"
            if selector_matches((manifest.get("spec") or {}).get("selector"), labels) and key not in names:
                names.append(key)
    return names


def drain_nodes(
    api: Any,
    nodes: Iterable[str],
    *,
    timeout_per_node: float = 600.0,
    concurrency: int = 1,
    poll_interval: float = 5.0,
    on_event: EventHook | None = None,
    delete_emptydir_data: bool = False,
    force: bool = False,
    request_timeout: float = 30.0,
    clock: Clock = system_clock,
    deadline: float | None = None,
) -> DrainResult:
    """Cordon every node, then evict their pods node by node, as far as the PodDisruptionBudgets allow.

    kubectl drain semantics (Service facts: Moving pods). The pod filters of :func:`plan_drain` run before the
    first write and again right after cordoning (pods may have landed in between); if they block, the nodes
    this call cordoned are uncordoned and nothing is evicted. Evictions use ``policy/v1`` Eviction: a 429
    (the budget allows no disruption now) is retried with backoff until the node's timeout, a 404 means the
    pod is already gone; then each evicted pod must be deleted or replaced (new uid) in time. Up to
    ``concurrency`` nodes drain at once.

    On failure the nodes stay cordoned so that nothing new lands on them; uncordon them with
    :func:`uncordon` to return to service.

    Args:
        api: a ``kubernetes.client.ApiClient``.
        nodes: node names.
        timeout_per_node: seconds for one node, evictions and waiting together.
        concurrency: nodes drained at the same time (>= 1).
        poll_interval: first wait after a refusal and between deletion checks.
        on_event: called with a dict per step (``cordoned``, ``evicted``, ``eviction_refused``,
            ``pod_deleted``, ``node_drained`` ...); calls are serialized, from worker threads.
        delete_emptydir_data: consent to losing ``emptyDir`` data.
        force: consent to deleting pods without a controller.
        request_timeout: cap for one API request, in seconds.
        clock: the clock every wait and timeout runs on (the run's clock: virtual in a rehearsal, so a
            blocked drain costs no real time and reports the same outcome).
        deadline: the run's time budget, as an absolute ``clock.monotonic()`` value (``None``: no budget).
            When it comes before a node's timeout, the drain stops there and raises ``BudgetExhausted``;
            the nodes stay cordoned and running the drain again continues it.

    Raises:
        InvalidInput: bad arguments.
        UnsafeOperation: pods would be lost (nothing evicted), evicted pods did not terminate in time, or the
            API refused an eviction for a reason other than a budget.
        DrainBlocked: a PodDisruptionBudget allowed no eviction of some pods within the timeout; names the
            pods and the budgets.
        BudgetExhausted: the run's time budget ran out before the drain finished (nothing is lost).
    """
    names = _check_nodes(nodes)
    if concurrency < 1:
        raise InvalidInput("concurrency must be at least 1")
    if timeout_per_node <= 0 or poll_interval <= 0:
        raise InvalidInput("the drain timeout per node and the poll interval must be positive")
    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        if on_event is not None:
            with lock:
                on_event(event)

    plan_drain(api, names, delete_emptydir_data=delete_emptydir_data, force=force)
    cordoned: list[str] = []
    for node in names:
        if cordon(api, node):
            cordoned.append(node)
        emit({"event": "cordoned", "node": node})
    plan = plan_drain(
        api, names, delete_emptydir_data=delete_emptydir_data, force=force, raise_on_blocked=False
    )
    if plan.blocked:
        for node in cordoned:
            uncordon(api, node)
            emit({"event": "uncordoned", "node": node})
        raise _refusal(plan)
    emit({"event": "drain_planned", **plan.to_dict()})
    core = client.CoreV1Api(api)

    def drain_one(node: str) -> NodeDrain:
        return _NodeDrainer(
            core,
            node,
            plan.evictions_on(node),
            timeout=timeout_per_node,
            poll_interval=poll_interval,
            request_timeout=request_timeout,
            emit=emit,
            clock=clock,
            budget_deadline=deadline,
        ).run()

    with ThreadPoolExecutor(max_workers=min(concurrency, len(names)), thread_name_prefix="drain") as pool:
        outcomes = tuple(pool.map(drain_one, names))
    result = DrainResult(plan=plan, nodes=outcomes)
    if not all(o.ok for o in outcomes) and deadline is not None and clock.monotonic() >= deadline:
        raise BudgetExhausted(
            f"time budget exhausted while draining {', '.join(o.node for o in outcomes if not o.ok)}; "
            "the nodes stay cordoned; run again to resume"
        )
    blocked = [p for o in outcomes for p in o.pdb_blocked]
    not_gone = [p for o in outcomes for p in o.not_gone]
    failed = [f for o in outcomes for f in o.failed]
    if blocked:
        pdbs = _blocking_budgets(api, blocked)
        raise DrainBlocked(
            f"PodDisruptionBudget(s) {', '.join(pdbs) or '(none found)'} allowed no eviction of "
            f"{', '.join(str(p) for p in blocked)} within {timeout_per_node:g} s per node; the nodes stay cordoned",
            pods=[str(p) for p in blocked],
            pdbs=pdbs,
        )
    if not_gone or failed:
        parts = []
        if failed:
            parts.append(f"evictions kept failing: {', '.join(failed)}")
        if not_gone:
            parts.append(f"evicted pods still terminating: {', '.join(str(p) for p in not_gone)}")
        raise UnsafeOperation(
            f"drain incomplete after {timeout_per_node:g} s per node; "
            + "; ".join(parts)
            + "; the nodes stay cordoned",
            remediation="Check the pods' budgets, grace periods and finalizers, then run the drain again.",
        )
    return result


def is_cordoned(api: Any, node: str) -> bool:
    """Whether ``spec.unschedulable`` is set on the node (Service facts: Moving pods: cordon)."""
    from kubernetes import client

    spec = client.CoreV1Api(api).read_node(node).spec
    return bool(spec and spec.unschedulable)
