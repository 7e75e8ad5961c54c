"""Replace a Windows pool without losing a workload: new pool, cordon, drain, verify, delete the old pool.

The FAQ's answer to service principal rotation ("How do I rotate the service principal for my Windows node
pool?"), to the pre-2020 old-image error ("Why am I seeing an error when I try to create a new Windows agent
pool?": upgrade the control plane, create a new pool, move the pods, delete the old one), and the only path off
Windows Server 2019 (unsupported from Kubernetes 1.33) or to a new max pods value (changeable only by a new
pool). The new pool copies the old one (VM size, count or autoscaler bounds, zones, subnet, labels, taints, max
pods, upgrade settings) with overrides. Pods are moved with kubectl drain semantics honouring
PodDisruptionBudgets (Service facts: Moving pods), and every controller-owned pod must have a Ready replacement on the
new pool before the old pool is deleted. Until the delete, a failure leaves the old pool intact and uncordoned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import (
    control_plane_upgrades,
    get_user_kubeconfig,
    read_subnet_usage,
    snapshot_from_wire,
)
from aks_windows_ops.azure.pool_spec import get_pool_settable
from aks_windows_ops.azure.registry import registry_reader_for
from aks_windows_ops.errors import (
    AksWindowsOpsError,
    BudgetExhausted,
    InvalidInput,
    NotFound,
    PreflightFailed,
    UnsafeOperation,
)
from aks_windows_ops.models import ClusterRef, Finding, OsSku, PoolMode, Severity
from aks_windows_ops.rules import versions as V
from aks_windows_ops.rules.image_builds import Compatibility, host_build_of_sku
from aks_windows_ops.rules.pool_limits import windows_skus_for
from aks_windows_ops.rules.validation import normalize_os_sku
from aks_windows_ops.runbooks.image_check import check_workload_images, summarize
from aks_windows_ops.runbooks.plan import NoOp, Plan, Step
from aks_windows_ops.runbooks.pool_steps import (
    POOL_ACTIONS,
    REMOVE,
    check_new_pool,
    create_pool_step,
    new_pool_name,
    replacement_properties,
)
from aks_windows_ops.runbooks.procedures import ApplyOptions, apply_as
from aks_windows_ops.runbooks.runner import ApplyResult, RunContext, StepState
from aks_windows_ops.runbooks.steps import (
    ClusterContext,
    JsonOp,
    VerifyStep,
    await_operation_step,
    cluster_of,
    param_number,
    properties_of,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from typing_extensions import Unpack

__all__ = ["MIGRATE_ACTIONS", "REASONS", "apply_migration", "plan_migration"]

REASONS = ("sp-rotation", "old-image", "os-upgrade", "max-pods", "custom")
#: Drain estimate per node for progress (eviction, replacement scheduling and image pull).
DRAIN_SECONDS_PER_NODE = 3 * 60


def _old_nodes(cc: ClusterContext, pool: str) -> list[str]:
    from aks_windows_ops.kube.workloads import pool_nodes

    return [name for name, _ in pool_nodes(cc.kube, pool)]


def _rollback(cc: ClusterContext, pool: str) -> None:
    """Uncordon the old pool so its workloads keep running there (the migration stops before the delete)."""
    from aks_windows_ops.kube.drain import uncordon

    for node in _old_nodes(cc, pool):
        uncordon(cc.kube, node)


def _tell_what_is_left(err: AksWindowsOpsError, cc: ClusterContext, old_pool: str, new_pool: Any) -> None:
    """Rewrite a failed move's message with the state read back: the old pool's nodes and the new pool.

    The migration stops before the delete (design principle "never lose a workload"); the operator learns exactly what runs now, what
    is billed, and the commands to remove or reuse the new pool.
    """
    from aks_windows_ops.kube.drain import is_cordoned

    nodes = _old_nodes(cc, old_pool)
    cordoned = [n for n in nodes if is_cordoned(cc.kube, n)]
    base = err.message.replace("; the nodes stay cordoned", "").rstrip(". ")
    if cordoned:
        state = f"{len(cordoned)} of its {len(nodes)} nodes are still cordoned ({', '.join(cordoned)})"
        fix_nodes = " Uncordon them with: " + "; ".join(f"kubectl uncordon {n}" for n in cordoned) + "."
    else:
        state = f"all {len(nodes)} of its nodes are schedulable (uncordoned)"
        fix_nodes = ""
    text = f"{base}. The migration stopped before deleting anything: pool {old_pool} was kept and {state}"
    cause = (err.remediation or "").split(";")[0].strip().rstrip(".")
    remediation = (f"{cause}." if cause else "") + fix_nodes
    if new_pool:
        props: dict[str, Any] | None
        try:
            props = properties_of(az.get_pool(cc.clients, cc.resource_group, cc.name, str(new_pool)))
        except NotFound:
            props = None
        if props:
            text += (
                f"; the new pool {new_pool} exists ({props.get('count')} nodes, "
                f"{props.get('provisioningState')}) and is running and billed"
            )
            # A budget that blocks the drain may only be the symptom: replacements that can never start on the
            # new pool (an image built for another Windows build) keep the budget at zero allowed disruptions.
            if "kubelet reports" not in text:
                failures = _start_failures(cc, _old_nodes(cc, str(new_pool)))
                if failures:
                    text += _waiting_reasons(failures).replace(
                        ". The kubelet reports: ",
                        "; replacement pods on the new pool never started, the kubelet reports: ",
                        1,
                    )
                    if any(OS_MISMATCH in why for why in failures.values()):
                        # Relaxing the budget would only move more pods to where they cannot start.
                        remediation = (
                            "Rebuild the listed images for the new pool's Windows build (or publish an image index "
                            "that includes it) and roll them out, then run again." + fix_nodes
                        )
            remediation = (
                f"{remediation} To remove the new pool: az aks nodepool delete --resource-group "
                f"{cc.resource_group} --cluster-name {cc.name} --name {new_pool} (pods bound to its nodes are "
                f"then recreated on pool {old_pool}). To reuse it: fix the cause above, then run the same "
                "migrate command again; it resumes with that pool."
            ).strip()
    err.message = text
    err.args = (text,)
    err.remediation = remediation.strip() or err.remediation


#: containerd's words when an image's Windows build cannot run on the host: retrying never helps.
OS_MISMATCH = "does not match the host operating system"


def _start_failures(cc: ClusterContext, new_nodes: Sequence[str]) -> dict[str, str]:
    """Image -> why its container waits on the new nodes, as the kubelet reports it (e.g. CreateContainerError)."""
    from aks_windows_ops.kube.workloads import pods_on_nodes

    seen: dict[str, str] = {}
    for pod in pods_on_nodes(cc.kube, new_nodes):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") and waiting.get("reason") != "ContainerCreating":
                key = f"{waiting['reason']}: {waiting.get('message') or ''}".strip()
                seen.setdefault(str(status.get("image")), key)
    return seen


def _waiting_reasons(seen: Mapping[str, str]) -> str:
    if not seen:
        return ""
    return ". The kubelet reports: " + "; ".join(f"image {image}: {why}" for image, why in seen.items())


class DrainPool:
    """Cordon the old pool's nodes and evict their pods honouring PodDisruptionBudgets (Service facts: Moving pods).

    Params: ``pool``, ``timeout_per_node``, ``concurrency``, ``delete_emptydir_data``, ``force``.
    """

    def check(self, step: Step, ctx: RunContext) -> StepState:
        from aks_windows_ops.kube.drain import is_cordoned
        from aks_windows_ops.kube.workloads import movable_pods

        cc = cluster_of(ctx)
        nodes = _old_nodes(cc, str(step.params["pool"]))
        if nodes and not movable_pods(cc.kube, nodes) and all(is_cordoned(cc.kube, n) for n in nodes):
            return StepState.DONE
        if not nodes and cc.pool(str(step.params["pool"])) is None:
            return StepState.DONE  # the old pool is gone (a later step deleted it): nothing is left to drain
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
                poll_interval=cc.kube_poll_seconds,
                delete_emptydir_data=bool(step.params.get("delete_emptydir_data")),
                force=bool(step.params.get("force")),
                on_event=progress,
                clock=ctx.clock,
                deadline=ctx.deadline,
            )
        except BudgetExhausted:
            raise  # paused, not failed: the nodes stay cordoned and the next run continues the drain
        except AksWindowsOpsError as err:
            _rollback(cc, pool)
            if isinstance(err, UnsafeOperation):
                _tell_what_is_left(err, cc, pool, step.params.get("new_pool"))
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
            err = UnsafeOperation(f"{len(left)} pods are still on pool {step.params['pool']} after the drain")
            _tell_what_is_left(err, cc, str(step.params["pool"]), step.params.get("new_pool"))
            raise err
        return f"{len(nodes)} nodes of pool {step.params['pool']} cordoned and drained"


class VerifyReplacements(VerifyStep):
    """Every controller-owned pod that ran on the old pool has a Ready replacement on the new one.

    design principle "never lose a workload". Params: ``old_pool``, ``new_pool``, ``pods`` (the old pool's pods when planned),
    ``timeout``.
    """

    def verify(self, step: Step, ctx: RunContext) -> str:
        from aks_windows_ops.kube.workloads import pool_nodes, verify_replacements

        cc = cluster_of(ctx)
        new_nodes = [n for n, _ in pool_nodes(cc.kube, str(step.params["new_pool"]))]
        before = step.params.get("pods") or []
        assert isinstance(before, list)
        deadline = ctx.clock.monotonic() + param_number(step, "timeout", 300.0)
        problems = verify_replacements(cc.kube, before, new_nodes)
        while problems and ctx.clock.monotonic() < deadline:
            ctx.ensure_time("waiting for replacements to become Ready")
            if any(OS_MISMATCH in why for why in _start_failures(cc, new_nodes).values()):
                break  # an image build the host cannot run never starts: no point waiting
            ctx.report("waiting for replacements to become Ready: " + problems[0])
            ctx.sleep(ctx.capped(min(cc.kube_poll_seconds, max(deadline - ctx.clock.monotonic(), 0.0))))
            problems = verify_replacements(cc.kube, before, new_nodes)
        if problems:
            failures = _start_failures(cc, new_nodes)
            _rollback(cc, str(step.params["old_pool"]))
            err = UnsafeOperation(
                "workloads did not come back on the new pool: "
                + "; ".join(problems)
                + _waiting_reasons(failures)
            )
            _tell_what_is_left(err, cc, str(step.params["old_pool"]), step.params.get("new_pool"))
            raise err
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
    verify_timeout: float = 300.0,
    delete_emptydir_data: bool = False,
    force: bool = False,
    delete_old: bool = True,
    allow_incompatible_images: bool = False,
    registry: Callable[[str], Any] | None = None,
) -> tuple[Plan, ClusterContext]:
    """Plan replacing ``pool`` by a new pool (module docstring; FAQ SP rotation, old-image error, WS2019, max pods).

    Before anything is sent, the plan checks that every workload on the old pool can start on the new one
    (node selectors, taints, and the Windows build of each container image, from its tag or its registry
    index), that no PodDisruptionBudget can block the drain for ever, that no pod lacks a controller (unless
    ``force``), and that the new pool has room for the pods that move.

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
        labels: node labels (the old pool's by default).
        taints: node taints (the old pool's by default).
        kube: a Kubernetes ``ApiClient``; built from the cluster's user kubeconfig when omitted.
        drain_timeout: seconds per node before a blocked drain gives up (and rolls back).
        drain_concurrency: nodes drained at once, as far as the PodDisruptionBudgets allow.
        verify_timeout: seconds to wait for Ready replacements on the new pool.
        delete_emptydir_data: consent to lose emptyDir data of moved pods.
        force: consent to delete pods without a controller (they are lost).
        delete_old: delete the old pool at the end (the default).
        allow_incompatible_images: plan even when an image cannot run on the new pool's Windows build.
        registry: image -> supported builds (``azure.registry.RegistryReader``); one with the clients'
            credential by default.

    Raises:
        InvalidInput: bad options or a new pool that breaks an FAQ rule (nothing sent).
        PreflightFailed: pods that can never land on the new pool, or a System pool.
        UnsafeOperation: an incompatible image, a budget that never allows an eviction, a pod without a
            controller, or a new pool without room (nothing sent).
    """
    problems: list[str] = []
    if reason not in REASONS:
        problems.append(f"reason must be one of {', '.join(REASONS)}, got {reason!r}")
    if reason == "max-pods" and max_pods is None:
        problems.append("reason max-pods needs the new pods-per-node value (--max-pods)")
    if isinstance(drain_concurrency, bool) or not isinstance(drain_concurrency, int) or drain_concurrency < 1:
        problems.append(f"drain concurrency must be a whole number >= 1, got {drain_concurrency!r}")
    for label, value in (("drain timeout", drain_timeout), ("verify timeout", verify_timeout)):
        if not _positive_seconds(value):
            problems.append(f"{label} must be a positive number of seconds, got {value!r}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        problems.append(f"count must be a whole number >= 1, got {count!r}")
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
    if control_plane_first and snapshot.provisioning_state == "Upgrading":
        # The service reports the target version while an upgrade runs: that upgrade is the one the fix needs.
        # Wait for it (sending nothing) and verify it, rather than plan a second upgrade on top of it.
        steps.append(
            await_operation_step(
                resource,
                version,
                pool=None,
                title=f"Wait for the control plane upgrade already running (to {version}), then verify it",
                reason="FAQ old-image fix, step 1: upgrade the cluster control plane (it is upgrading now).",
                expected_seconds=15 * 60,
            )
        )
    elif control_plane_first:
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
    sku = None if os_sku is None else normalize_os_sku(os_sku)  # windows2022 -> Windows2022
    if sku is None:
        # The SKUs that run the version, oldest first (lifecycle data: Windows2022 up to 1.36, then Windows2025).
        runs = [s.value for s in windows_skus_for(version)] or [OsSku.WINDOWS2025.value]
        newer = [s for s in runs if s != old.os_sku and (old.os_sku or "") < s]
        if not old.is_windows and reason != "os-upgrade":
            sku = old.os_sku or OsSku.WINDOWS2022.value
        elif reason == "os-upgrade":
            sku = newer[0] if newer else runs[-1]
        elif old.os_sku in runs:
            sku = str(old.os_sku)
        else:
            sku = newer[0] if newer else runs[0]
    if reason == "os-upgrade" and sku == old.os_sku:
        raise InvalidInput(
            f"reason os-upgrade but the new pool would keep {sku}; choose another OS SKU (--os-sku)"
        )
    name_new = new_pool or new_pool_name(old, snapshot)
    properties, differences = _replacement(
        get_pool_settable(clients, resource_group, name, pool),
        old_sku=old.os_sku,
        sku=sku,
        count=count,
        vm_size=vm_size,
        max_pods=max_pods,
        labels=labels,
        taints=taints,
    )
    user_labels = dict(properties.get("nodeLabels") or {})
    new_taints = tuple(properties.get("nodeTaints") or ())
    problems = check_new_pool(snapshot, name_new, properties, control_plane_first=control_plane_first)
    if problems:
        raise InvalidInput(problems)
    # The pods to move, and those that could never land on the new pool (Service facts: Moving pods).
    context = ClusterContext(clients, resource_group, name, cluster_wire=wire)
    if kube is None:
        from aks_windows_ops.kube.client import api_client_from_kubeconfig

        kube = api_client_from_kubeconfig(get_user_kubeconfig(clients, resource_group, name))
    context.kube = kube
    from aks_windows_ops.kube import workloads as W

    old_nodes = [n for n, _ in W.pool_nodes(kube, pool)]
    on_old = W.pods_on_nodes(kube, old_nodes)
    pods = W.movable_pods(kube, old_nodes)
    new_labels = W.aks_node_labels(
        name_new, os_type="Windows" if old.is_windows else "Linux", os_sku=sku, labels=user_labels
    )
    stuck = W.find_unplaceable(pods, new_labels, new_taints)
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
    host_build = host_build_of_sku(sku) if old.is_windows else None
    verdicts: list[Any] = []
    if host_build:
        resolve = registry if registry is not None else registry_reader_for(clients)
        verdicts, image_warnings = check_workload_images(
            W.container_images(on_old),
            host_build,
            resolve,
            pool=name_new,
            allow_incompatible=allow_incompatible_images,
        )
        warnings.extend(image_warnings)
        noops.extend(
            NoOp(
                f"{resource}/{v.workload}",
                f"container {v.container}: image {v.image} runs on {host_build} hosts ({v.evidence})",
            )
            for v in verdicts
            if v.result is Compatibility.COMPATIBLE
        )
    warnings.extend(
        _drain_analysis(
            kube,
            old_nodes,
            on_old,
            pods,
            properties,
            same_size=properties.get("vmSize") == old.vm_size,
            new_pool=name_new,
            force=force,
        )
    )
    why = f"Replacement for {pool} ({reason}): a copy of {pool}'s settable properties"
    why += "; differences: " + "; ".join(differences) if differences else " with no difference"
    if verdicts:
        why += f". Images checked against {host_build}: {summarize(verdicts)}"
    steps.append(create_pool_step(name_new, resource, properties, why + "."))
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
                "new_pool": name_new,
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
            params={
                "old_pool": pool,
                "new_pool": name_new,
                "pods": [_trim(p) for p in pods],
                "timeout": verify_timeout,
            },
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
    plan = Plan(
        procedure="migrate",
        target=f"{clients.subscription_id}/{resource}",
        steps=tuple(steps),
        noops=tuple(noops),
        warnings=tuple(warnings),
    )
    return plan, context


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _positive_seconds(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and value > 0


def _replacement(
    old: Mapping[str, Any],
    *,
    old_sku: str | None,
    sku: str,
    count: int | None,
    vm_size: str | None,
    max_pods: int | None,
    labels: Mapping[str, str] | None,
    taints: Sequence[str] | None,
) -> tuple[dict[str, Any], list[str]]:
    """The new pool's properties: the old pool's, except what the procedure changes (FAQ pool replacement)."""
    changes: dict[str, Any] = {
        "osSKU": sku,
        "mode": "User",
        # The new pool runs the control plane's version and the newest node image of its OS SKU.
        "orchestratorVersion": REMOVE,
        "nodeImageVersion": REMOVE,
        # It must run to take the pods, whatever the old pool's power state.
        "powerState": REMOVE,
    }
    if sku != old_sku and "creationData" in old:
        changes["creationData"] = REMOVE  # a node image snapshot of the old OS
    for key, value in (
        ("count", count),
        ("vmSize", vm_size),
        ("maxPods", max_pods),
        ("nodeLabels", dict(labels) if labels is not None else None),
        ("nodeTaints", list(taints) if taints is not None else None),
    ):
        if value is not None:
            changes[key] = value
    return replacement_properties(old, changes)


def _drain_analysis(
    kube: Any,
    old_nodes: Sequence[str],
    on_old: Sequence[Mapping[str, Any]],
    moving: Sequence[Mapping[str, Any]],
    properties: Mapping[str, Any],
    *,
    same_size: bool,
    new_pool: str,
    force: bool,
) -> list[str]:
    """Budgets that never allow an eviction, unmanaged pods and room on the new pool, before any write.

    Raises:
        UnsafeOperation: any of them (nothing was sent); pods without a controller pass with ``force``.
    """
    from aks_windows_ops.kube import drain_analysis as D
    from aks_windows_ops.kube import workloads as W

    all_pods, pdbs = D.read_pods_and_budgets(kube)
    findings = D.blocking_budgets(pdbs, all_pods, evicting=moving)
    unmanaged = D.unmanaged_pods(on_old)
    warnings: list[str] = []
    if unmanaged:
        names = ", ".join(f"{p['metadata'].get('namespace')}/{p['metadata'].get('name')}" for p in unmanaged)
        if force:
            warnings.append(f"pods without a controller will be deleted and not recreated: {names}")
        else:
            findings.append(
                D.DrainFinding(
                    "POD_WITHOUT_CONTROLLER",
                    names,
                    f"{len(unmanaged)} pod(s) on the old pool have no controller and would be lost: {names}",
                    "run them under a Deployment or StatefulSet, or consent to delete them (--force)",
                )
            )
    daemon = [p for p in on_old if W.is_daemonset_pod(p) and not W.is_finished(p)]
    per_node = max((sum(1 for p in daemon if p["spec"].get("nodeName") == n) for n in old_nodes), default=0)
    per_node_cpu = max(
        (sum(D.pod_requests(p)[0] for p in daemon if p["spec"].get("nodeName") == n) for n in old_nodes),
        default=0.0,
    )
    per_node_mem = max(
        (sum(D.pod_requests(p)[1] for p in daemon if p["spec"].get("nodeName") == n) for n in old_nodes),
        default=0.0,
    )
    nodes = int(properties.get("count") or 0)
    if properties.get("enableAutoScaling"):
        nodes = max(nodes, int(properties.get("maxCount") or 0))
    findings.extend(
        D.pool_room(
            moving,
            nodes=nodes,
            max_pods=int(properties.get("maxPods") or 30),
            per_node_pods=per_node,
            allocatable=D.node_allocatable(kube, old_nodes[0]) if same_size and old_nodes else None,
            per_node_requests=(per_node_cpu, per_node_mem),
            pool=new_pool,
        )
    )
    if not same_size and any(any(D.pod_requests(p)) for p in moving):
        warnings.append(
            f"CPU and memory requests were not checked against pool {new_pool}: its VM size differs from the "
            "old pool's, whose nodes' allocatable is the only one known before the new nodes exist"
        )
    if findings:
        raise UnsafeOperation(
            "the drain would fail or leave pods without a place; nothing was sent: "
            + "; ".join(f.message for f in findings),
            remediation=_sentence("; ".join(dict.fromkeys(f.remediation for f in findings)))
            + ". Then plan again.",
        )
    return warnings


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


def apply_migration(plan: Plan, context: ClusterContext, **options: Unpack[ApplyOptions]) -> ApplyResult:
    """Apply a migration plan from :func:`plan_migration`; the old pool survives any failure before the delete.

    The same as :func:`aks_windows_ops.apply`, with the same options (``checkpoints``, ``time_budget``,
    ``on_event``, ``stop_after``), kept so that existing code keeps working; ``apply`` takes a plan of any
    procedure. A plan of another procedure is refused before anything is sent.
    """
    return apply_as(("migrate",), plan, context, **options)
