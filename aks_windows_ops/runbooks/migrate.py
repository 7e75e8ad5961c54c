"""Replace a Windows pool without losing a workload: new pool, cordon, drain, verify, delete the old pool.

The FAQ's answer to service principal rotation ("How do I rotate the service principal for my Windows node
pool?"), to the pre-2020 old-image error ("Why am I seeing an error when I try to create a new Windows agent
pool?": upgrade the control plane, create a new pool, move the pods, delete the old one), and the only path off
Windows Server 2019 (unsupported from Kubernetes 1.33) or to a new max pods value (changeable only by a new
pool). The new pool copies the old one (VM size, count or autoscaler bounds, zones, subnet, labels, taints, max
pods, upgrade settings) with overrides. Pods are moved with kubectl drain semantics honouring
PodDisruptionBudgets (REFERENCE section 6), and every controller-owned pod must have a Ready replacement on the
new pool before the old pool is deleted. Until the delete, a failure leaves the old pool intact and uncordoned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from os import PathLike
from typing import Any

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import (
    control_plane_upgrades,
    get_user_kubeconfig,
    read_subnet_usage,
    snapshot_from_wire,
)
from aks_windows_ops.errors import AksWindowsOpsError, InvalidInput, PreflightFailed, UnsafeOperation
from aks_windows_ops.models import ClusterRef, Finding, OsSku, PoolMode, Severity
from aks_windows_ops.rules import versions as V
from aks_windows_ops.runbooks.checkpoints import CheckpointStore
from aks_windows_ops.runbooks.events import Event
from aks_windows_ops.runbooks.plan import NoOp, Plan, Step
from aks_windows_ops.runbooks.pools import (
    POOL_ACTIONS,
    check_new_pool,
    create_pool_step,
    new_pool_name,
    pool_properties,
)
from aks_windows_ops.runbooks.runner import ApplyResult, RunContext, StepState
from aks_windows_ops.runbooks.steps import (
    ClusterContext,
    JsonOp,
    apply_to_cluster,
    cluster_of,
    param_number,
    version_tuple,
)

__all__ = ["MIGRATE_ACTIONS", "REASONS", "apply_migration", "plan_migration"]

REASONS = ("sp-rotation", "old-image", "os-upgrade", "max-pods", "custom")
#: Drain estimate per node for progress (eviction, replacement scheduling and image pull).
DRAIN_SECONDS_PER_NODE = 3 * 60


def _kube_sleep(cc: ClusterContext) -> Callable[[float], None]:
    sleep = cc.extras.get("kube_sleep", time.sleep)
    assert callable(sleep)
    return sleep  # type: ignore[no-any-return]


def _old_nodes(cc: ClusterContext, pool: str) -> list[str]:
    from aks_windows_ops.kube.workloads import pool_nodes

    return [name for name, _ in pool_nodes(cc.kube, pool)]


def _rollback(cc: ClusterContext, pool: str) -> None:
    """Uncordon the old pool so its workloads keep running there (the migration stops before the delete)."""
    from aks_windows_ops.kube.drain import uncordon

    for node in _old_nodes(cc, pool):
        uncordon(cc.kube, node)


class DrainPool:
    """Cordon the old pool's nodes and evict their pods honouring PodDisruptionBudgets (REFERENCE section 6).

    Params: ``pool``, ``timeout_per_node``, ``concurrency``, ``delete_emptydir_data``, ``force``.
    """

    def check(self, step: Step, ctx: RunContext) -> StepState:
        from aks_windows_ops.kube.drain import is_cordoned
        from aks_windows_ops.kube.workloads import movable_pods

        cc = cluster_of(ctx)
        nodes = _old_nodes(cc, str(step.params["pool"]))
        if nodes and not movable_pods(cc.kube, nodes) and all(is_cordoned(cc.kube, n) for n in nodes):
            return StepState.DONE
        return StepState.READY

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        from aks_windows_ops.kube.drain import drain_nodes

        cc = cluster_of(ctx)
        pool = str(step.params["pool"])
        nodes = _old_nodes(cc, pool)

        def progress(event: Any) -> None:
            ctx.report(
                f"drain: {event.get('event', '')} {event.get('node', '')} {event.get('pod', '')}".strip()
            )

        try:
            drain_nodes(
                cc.kube,
                nodes,
                timeout_per_node=param_number(step, "timeout_per_node", 600.0),
                concurrency=int(param_number(step, "concurrency", 1)),
                poll_interval=float(cc.extras.get("kube_poll", 5.0)),
                delete_emptydir_data=bool(step.params.get("delete_emptydir_data")),
                force=bool(step.params.get("force")),
                on_event=progress,
                sleep=_kube_sleep(cc),
            )
        except AksWindowsOpsError:
            _rollback(cc, pool)
            raise
        return None

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        return None

    def verify(self, step: Step, ctx: RunContext) -> str:
        from aks_windows_ops.kube.workloads import movable_pods

        cc = cluster_of(ctx)
        nodes = _old_nodes(cc, str(step.params["pool"]))
        left = movable_pods(cc.kube, nodes)
        if left:
            _rollback(cc, str(step.params["pool"]))
            raise UnsafeOperation(
                f"{len(left)} pods are still on pool {step.params['pool']}; it was uncordoned"
            )
        return f"{len(nodes)} nodes of pool {step.params['pool']} cordoned and drained"


class VerifyReplacements:
    """Every controller-owned pod that ran on the old pool has a Ready replacement on the new one.

    DESIGN principle 3. Params: ``old_pool``, ``new_pool``, ``pods`` (the old pool's pods when planned),
    ``timeout``.
    """

    def check(self, step: Step, ctx: RunContext) -> StepState:
        return StepState.READY

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        return None

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        return None

    def verify(self, step: Step, ctx: RunContext) -> str:
        from aks_windows_ops.kube.workloads import pool_nodes, verify_replacements

        cc = cluster_of(ctx)
        new_nodes = [n for n, _ in pool_nodes(cc.kube, str(step.params["new_pool"]))]
        before = step.params.get("pods") or []
        assert isinstance(before, list)
        sleep = _kube_sleep(cc)
        deadline = time.monotonic() + param_number(step, "timeout", 300.0)
        problems = verify_replacements(cc.kube, before, new_nodes)
        while problems and time.monotonic() < deadline:
            ctx.report("waiting for replacements to become Ready: " + problems[0])
            sleep(float(cc.extras.get("kube_poll", 5.0)))
            problems = verify_replacements(cc.kube, before, new_nodes)
        if problems:
            _rollback(cc, str(step.params["old_pool"]))
            raise UnsafeOperation(
                "workloads did not come back on the new pool: " + "; ".join(problems),
                remediation="The old pool was kept and uncordoned. Check the pods' scheduling, then run again.",
            )
        return f"{len(before)} pods have Ready replacements on pool {step.params['new_pool']}"


MIGRATE_ACTIONS = {**POOL_ACTIONS, "drain_pool": DrainPool(), "verify_replacements": VerifyReplacements()}


def _trim(pod: Mapping[str, Any]) -> dict[str, Any]:
    meta = pod.get("metadata") or {}
    return {
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "labels": dict(meta.get("labels") or {}),
            "ownerReferences": [
                {
                    "kind": o.get("kind"),
                    "name": o.get("name"),
                    "uid": o.get("uid"),
                    "controller": o.get("controller"),
                }
                for o in meta.get("ownerReferences") or []
            ],
            "annotations": {
                k: v for k, v in (meta.get("annotations") or {}).items() if k == "kubernetes.io/config.mirror"
            },
        },
        "spec": {"nodeName": (pod.get("spec") or {}).get("nodeName")},
        "status": {"phase": (pod.get("status") or {}).get("phase")},
    }


def plan_migration(
    clients: AzureClients,
    resource_group: str,
    name: str,
    pool: str,
    *,
    reason: str,
    new_pool: str | None = None,
    os_sku: str | None = None,
    count: int | None = None,
    vm_size: str | None = None,
    max_pods: int | None = None,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[str] | None = None,
    kube: Any = None,
    drain_timeout: float = 600.0,
    drain_concurrency: int = 2,
    delete_emptydir_data: bool = False,
    force: bool = False,
    delete_old: bool = True,
) -> tuple[Plan, ClusterContext]:
    """Plan replacing ``pool`` by a new pool (module docstring; FAQ SP rotation, old-image error, WS2019, max pods).

    Args:
        clients: the client bundle.
        resource_group: the cluster's resource group.
        name: the cluster's name.
        pool: the Windows pool to replace.
        reason: ``sp-rotation``, ``old-image``, ``os-upgrade``, ``max-pods`` or ``custom``.
        new_pool: the new pool's name (derived from the old one when omitted; <= 6 characters).
        os_sku: the new OS SKU; ``os-upgrade`` defaults to Windows2022, other reasons keep the old SKU while
            the control plane version supports it.
        count: nodes (the old pool's count by default).
        vm_size: VM size (the old pool's by default).
        max_pods: pods per node (required and different for ``max-pods``).
        labels: node labels (the old pool's by default; AKS's own pool labels are never copied).
        taints: node taints (the old pool's by default).
        kube: a Kubernetes ``ApiClient``; built from the cluster's user kubeconfig when omitted.
        drain_timeout: seconds per node before a blocked drain gives up (and rolls back).
        drain_concurrency: nodes drained at once, as far as the PodDisruptionBudgets allow.
        delete_emptydir_data: consent to lose emptyDir data of moved pods.
        force: consent to delete pods without a controller (they are lost).
        delete_old: delete the old pool at the end (the default).

    Raises:
        InvalidInput: bad options or a new pool that breaks an FAQ rule (nothing sent).
        PreflightFailed: pods that can never land on the new pool, or a System pool.
    """
    problems: list[str] = []
    if reason not in REASONS:
        problems.append(f"reason must be one of {', '.join(REASONS)}, got {reason!r}")
    if reason == "max-pods" and max_pods is None:
        problems.append("reason max-pods needs the new pods-per-node value (--max-pods)")
    if drain_concurrency < 1:
        problems.append("drain_concurrency must be >= 1")
    if problems:
        raise InvalidInput(problems)
    wire = az.get_cluster(clients, resource_group, name)
    snapshot = snapshot_from_wire(ClusterRef(clients.subscription_id, resource_group, name), wire)
    snapshot = replace(
        snapshot, subnets=tuple(read_subnet_usage(clients, [p.vnet_subnet_id or "" for p in snapshot.pools]))
    )
    try:
        old = snapshot.pool(pool)
    except KeyError:
        raise InvalidInput(f"cluster {resource_group}/{name} has no pool {pool!r}") from None
    resource = f"{resource_group}/{name}"
    if old.mode is PoolMode.SYSTEM:
        raise PreflightFailed(
            [
                Finding(
                    code="SYSTEM_POOL_UNTOUCHED",
                    severity=Severity.ERROR,
                    message=f"pool {pool} is a System pool; this runbook replaces Windows (User) pools only",
                    remediation="Add a second System pool by hand if you need to replace this one.",
                    faq="Can I run Windows only clusters in AKS?",
                    resource=f"{resource}/{pool}",
                )
            ]
        )
    if reason == "max-pods" and max_pods == old.max_pods:
        raise InvalidInput(f"pool {pool} already has max pods {max_pods}")
    steps: list[Step] = []
    noops: list[NoOp] = []
    warnings: list[str] = []
    version = snapshot.current_kubernetes_version
    control_plane_first = reason == "old-image"
    if control_plane_first:
        target = _next_version(
            snapshot.current_kubernetes_version, control_plane_upgrades(clients, resource_group, name)
        )
        if target is None:
            raise InvalidInput(
                "no control plane upgrade is offered; the old-image fix needs one (FAQ)",
                remediation="Check `az aks get-upgrades`; if the cluster is on the newest version, open a support case.",
            )
        version = target
        steps.append(
            Step(
                id=f"control-plane:{target}",
                kind="update_control_plane",
                title=f"Upgrade the control plane to {target} (updates the Windows image offer and publisher)",
                resource=resource,
                reason="FAQ old-image fix, step 1: upgrade the cluster control plane.",
                expected_seconds=15 * 60,
                params={"version": target},
            )
        )
    sku = os_sku
    if sku is None:
        if reason == "os-upgrade" or (
            old.os_sku == OsSku.WINDOWS2019.value and version_tuple(version) >= (1, 33, 0)
        ):
            sku = OsSku.WINDOWS2022.value
        else:
            sku = old.os_sku or OsSku.WINDOWS2022.value
    if reason == "os-upgrade" and sku == old.os_sku:
        raise InvalidInput(
            f"reason os-upgrade but the new pool would keep {sku}; choose another OS SKU (--os-sku)"
        )
    user_labels = dict(labels) if labels is not None else dict(old.labels)
    new_taints = tuple(taints) if taints is not None else old.taints
    name_new = new_pool or new_pool_name(old, snapshot)
    properties = pool_properties(
        os_type="Windows" if old.is_windows else "Linux",
        os_sku=sku,
        count=count if count is not None else old.count,
        vm_size=vm_size or old.vm_size,
        max_pods=max_pods if max_pods is not None else old.max_pods,
        labels=user_labels,
        taints=new_taints,
        subnet=old.vnet_subnet_id,
        zones=old.zones,
        max_surge=old.max_surge,
        autoscale=(int(old.min_count or 0), int(old.max_count or 0)) if old.enable_auto_scaling else None,
    )
    if old.pod_subnet_id:
        properties["podSubnetID"] = old.pod_subnet_id
    problems = check_new_pool(snapshot, name_new, properties, control_plane_first=control_plane_first)
    if problems:
        raise InvalidInput(problems)
    # The pods to move, and those that could never land on the new pool (REFERENCE section 6).
    context = ClusterContext(clients, resource_group, name, cluster_wire=wire)
    if kube is None:
        from aks_windows_ops.kube.client import api_client_from_kubeconfig

        kube = api_client_from_kubeconfig(get_user_kubeconfig(clients, resource_group, name))
    context.kube = kube
    from aks_windows_ops.kube.workloads import aks_node_labels, find_unplaceable, movable_pods, pool_nodes

    old_nodes = [n for n, _ in pool_nodes(kube, pool)]
    pods = movable_pods(kube, old_nodes)
    new_labels = aks_node_labels(
        name_new, os_type="Windows" if old.is_windows else "Linux", os_sku=sku, labels=user_labels
    )
    stuck = find_unplaceable(pods, new_labels, new_taints)
    if stuck:
        raise PreflightFailed(
            [
                Finding(
                    code="POD_CANNOT_MOVE",
                    severity=Severity.ERROR,
                    message=str(getattr(p, "reason", p)),
                    remediation="Change the pod's node selector or affinity (not the old pool's name or Windows build), or keep the pool.",
                    faq="How do I rotate the service principal for my Windows node pool?",
                    resource=str(getattr(p, "pod", "")),
                    runbook="migrate",
                )
                for p in stuck
            ]
        )
    steps.append(
        create_pool_step(
            name_new,
            resource,
            properties,
            f"Replacement for {pool} ({reason}): same size, labels and taints, {sku}, max pods {properties.get('maxPods')}.",
        )
    )
    steps.append(
        Step(
            id=f"drain:{pool}",
            kind="drain_pool",
            title=f"Cordon and drain pool {pool} ({len(old_nodes)} nodes, {len(pods)} pods to move)",
            resource=f"{resource}/{pool}",
            reason="Move the pods honouring PodDisruptionBudgets (kubectl drain semantics).",
            expected_seconds=DRAIN_SECONDS_PER_NODE * max(len(old_nodes), 1),
            restarts_nodes=False,
            params={
                "pool": pool,
                "timeout_per_node": drain_timeout,
                "concurrency": drain_concurrency,
                "delete_emptydir_data": delete_emptydir_data,
                "force": force,
            },
        )
    )
    steps.append(
        Step(
            id=f"verify-moved:{name_new}",
            kind="verify_replacements",
            title=f"Verify every moved pod has a Ready replacement on {name_new}",
            resource=f"{resource}/{name_new}",
            reason="Never lose a workload: no delete before this holds.",
            expected_seconds=60,
            params={"old_pool": pool, "new_pool": name_new, "pods": [_trim(p) for p in pods], "timeout": 300},
        )
    )
    if delete_old:
        steps.append(
            Step(
                id=f"delete-pool:{pool}",
                kind="delete_pool",
                title=f"Delete the old pool {pool}",
                resource=f"{resource}/{pool}",
                reason="Its workloads run on the new pool now.",
                expected_seconds=4 * 60,
                params={"pool": pool},
            )
        )
    else:
        noops.append(NoOp(f"{resource}/{pool}", "old pool kept (delete_old=False); it stays cordoned"))
    if reason == "sp-rotation" and snapshot.uses_service_principal:
        warnings.append("Windows pools cannot rotate the service principal; prefer a managed identity (FAQ).")
    if old.os_sku == OsSku.WINDOWS2019.value and sku != old.os_sku:
        warnings.append(
            f"Container images must match the host build: images built for {old.os_sku} will not run on {sku}; "
            "rebuild them for the new build before the drain."
        )
    plan = Plan(
        procedure="migrate",
        target=f"{clients.subscription_id}/{resource}",
        steps=tuple(steps),
        noops=tuple(noops),
        warnings=tuple(warnings),
    )
    return plan, context


def _next_version(current: str, offered: Sequence[str]) -> str | None:
    cur = V.parse_version(current)
    candidates = sorted(
        (V.parse_version(v) for v in offered if V.compare_versions(v, current) > 0),
        key=lambda v: v.sort_key,
    )
    same_minor = [v for v in candidates if v.minor == cur.minor]
    pick = same_minor[-1] if same_minor else (candidates[0] if candidates else None)
    if pick is None:
        return None
    next_minor = [v for v in candidates if v.minor == pick.minor]
    return str(next_minor[-1])


def apply_migration(
    plan: Plan,
    context: ClusterContext,
    *,
    checkpoints: CheckpointStore | str | PathLike[str] | None = None,
    time_budget: float | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> ApplyResult:
    """Apply a migration plan (checkpointed, resumable; the old pool survives any failure before the delete)."""
    return apply_to_cluster(
        plan,
        context,
        actions=MIGRATE_ACTIONS,
        checkpoints=checkpoints,
        time_budget=time_budget,
        on_event=on_event,
    )
