"""The rehearsal that ``aks-windows-ops demo`` runs: every procedure on the built-in simulated clusters.

Each scenario shows what an operator would do about it, through the same plans, runner and verification that
run against Azure (design notes, "The simulator"): preflight, plan, apply with progress, verify.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aks_windows_ops.errors import AksWindowsOpsError

__all__ = ["SCENARIO_STEPS", "run_scenario"]

Printer = Callable[[str], None]


def _apply(say: Printer, plan: Any, apply: Callable[..., Any]) -> Any:
    from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
    from aks_windows_ops.runbooks.events import EventKind

    say(
        f"plan {plan.procedure}: {len(plan.steps)} steps, about {plan.expected_seconds / 60:.0f} min"
        + (", restarts nodes" if plan.restarts_nodes else "")
    )
    for step in plan.steps:
        say(f"    - {step.title}")
    for noop in plan.noops:
        say(f"    = {noop.resource}: {noop.reason}")
    for warning in plan.warnings:
        say(f"    ! {warning}")

    def on_event(event: Any) -> None:
        if event.kind in (EventKind.STEP_SUCCEEDED, EventKind.STEP_FAILED):
            mark = "ok " if event.kind is EventKind.STEP_SUCCEEDED else "ERR"
            say(f"    [{mark}] {event.step_id} ({event.elapsed / 60:.0f} simulated min): {event.message}")

    result = apply(plan, checkpoints=MemoryCheckpointStore(), on_event=on_event)
    say(f"  -> {result.status.value}: {result.message}")
    return result


def _preflight(say: Printer, target: Any) -> None:
    from aks_windows_ops.azure.facts import read_snapshot
    from aks_windows_ops.rules.preflight import preflight

    fake = getattr(target, "fake", None)
    as_of = fake.now_date() if fake is not None else None
    report = preflight(read_snapshot(target.clients, target.resource_group, target.name), as_of=as_of)
    say(f"preflight: {len(report.errors)} errors, {len(report.warnings)} warnings")
    for finding in report.findings:
        if finding.severity.value != "info":
            say(f"    [{finding.severity.value}] {finding.code}: {finding.message}")


def _retirement_audit(say: Printer, target: Any) -> None:
    """Leaving Windows Server 2019, steps 1 and 2: the retirement calendar and the images to rebuild."""
    from aks_windows_ops.azure.facts import read_snapshot
    from aks_windows_ops.azure.registry import registry_reader_for
    from aks_windows_ops.kube.workloads import read_workload_objects
    from aks_windows_ops.rules.image_builds import Compatibility
    from aks_windows_ops.rules.lifecycle import builtin_lifecycle
    from aks_windows_ops.rules.preflight_lifecycle import retirement_calendar
    from aks_windows_ops.runbooks.image_check import judge_workloads

    data = builtin_lifecycle()
    fake = getattr(target, "fake", None)
    snapshot = read_snapshot(target.clients, target.resource_group, target.name)
    say("leaving Windows Server 2019: 1. the Windows pools by retirement date")
    for row in retirement_calendar([snapshot], data, fake.now_date() if fake is not None else _today()):
        say(
            f"    [{row.severity.value}] {row.pool} ({row.os_sku}, {row.nodes} nodes): retires "
            f"{row.retirement or 'not announced'}, node images removed {row.image_removal or 'not announced'}"
        )
    if target.kube is None:
        return
    verdicts = judge_workloads(
        read_workload_objects(target.kube.api_client()), "Windows2022", registry_reader_for(target.clients)
    )
    rebuild = sorted(
        {f"{v.workload} ({v.image})" for v in verdicts if v.result is Compatibility.INCOMPATIBLE}
    )
    unknown = sorted({f"{v.image} ({v.evidence})" for v in verdicts if v.result is Compatibility.UNKNOWN})
    say(f"2. images a Windows2022 pool cannot run (rebuild them first): {', '.join(rebuild) or 'none'}")
    if unknown:
        say(f"    images nobody could tell about (check them): {', '.join(unknown)}")


def _today() -> Any:
    """Today (UTC), for a real cluster."""
    from aks_windows_ops.clock import SystemClock

    return SystemClock().now().date()


def _healthy(say: Printer, target: Any) -> None:
    from aks_windows_ops.runbooks import ahub, patch

    _preflight(say, target)
    say("patch to Kubernetes 1.36.3, the FAQ's order: control plane first, then the pools")
    plan, ctx = patch.plan_patch(
        target.clients, target.resource_group, target.name, kubernetes_version="1.36.3"
    )
    _apply(say, plan, lambda p, **kw: patch.apply_patch(p, ctx, **kw))
    report = ahub.verify_ahub(target.clients, target.resource_group, target.name)
    say(
        f"Hybrid Benefit: cluster {report.cluster_license}, {len(report.rows)} scale sets and instances, {len(report.drift)} drifting"
    )


def _retiring(say: Printer, target: Any) -> None:
    from aks_windows_ops.runbooks import ahub, migrate, password
    from aks_windows_ops.secrets import generate_password

    _preflight(say, target)
    report = ahub.verify_ahub(target.clients, target.resource_group, target.name)
    say(f"Hybrid Benefit drift: {', '.join(f'{r.scale_set}/{r.instance}' for r in report.drift) or 'none'}")
    plan, ctx = ahub.plan_enable_ahub(target.clients, target.resource_group, target.name)
    _apply(say, plan, lambda p, **kw: ahub.apply_ahub(p, ctx, **kw))
    say("rotate the Windows admin password (a generated one; it is never printed)")
    plan, ctx = password.plan_password_rotation(
        target.clients, target.resource_group, target.name, new_password=generate_password()
    )
    _apply(say, plan, lambda p, **kw: password.apply_password_rotation(p, ctx, **kw))
    _retirement_audit(say, target)
    say(
        "3-4. rehearse and move the Windows Server 2019 pool to Windows Server 2022 (no Windows2019 on 1.33+)"
    )
    plan, ctx = migrate.plan_migration(
        target.clients,
        target.resource_group,
        target.name,
        "win19",
        reason="os-upgrade",
        kube=target.kube.api_client(),
    )
    _apply(say, plan, lambda p, **kw: migrate.apply_migration(p, ctx, **kw))


def _legacy(say: Printer, target: Any) -> None:
    from aks_windows_ops.runbooks import migrate, pools

    _preflight(say, target)
    try:
        pools.plan_add_windows_pool(target.clients, target.resource_group, target.name, "erp2")
    except AksWindowsOpsError as err:
        say(f"adding a Windows pool is refused before any request: {err}")
        say(f"    what to do: {err.remediation}")
    say("the FAQ's fix: upgrade the control plane, new pool, move the pods, delete the old pool")
    plan, ctx = migrate.plan_migration(
        target.clients,
        target.resource_group,
        target.name,
        "erpwin",
        reason="old-image",
        kube=target.kube.api_client(),
    )
    _apply(say, plan, lambda p, **kw: migrate.apply_migration(p, ctx, **kw))


def _subnet_full(say: Printer, target: Any) -> None:
    from aks_windows_ops.runbooks import patch, pools

    _preflight(say, target)
    try:
        pools.plan_add_windows_pool(
            target.clients, target.resource_group, target.name, "pos2", count=3, max_pods=30
        )
    except AksWindowsOpsError as err:
        say(f"a second 3-node pool at 30 max pods is refused before any request: {err}")
    say("patch the node images only (Windows pools get the newest image their control plane offers)")
    plan, ctx = patch.plan_patch(target.clients, target.resource_group, target.name, node_image_only=True)
    _apply(say, plan, lambda p, **kw: patch.apply_patch(p, ctx, **kw))


SCENARIO_STEPS: dict[str, Callable[[Printer, Any], None]] = {
    "healthy": _healthy,
    "ws2019-retiring": _retiring,
    "legacy-2019": _legacy,
    "subnet-full": _subnet_full,
}


def run_scenario(name: str, target: Any, say: Printer) -> None:
    """Rehearse the procedures that fit the built-in scenario ``name`` on its simulated cluster."""
    steps = SCENARIO_STEPS.get(name)
    if steps is None:
        return
    try:
        steps(say, target)
    except AksWindowsOpsError as err:
        say(f"error: {err} (what to do: {err.remediation})")
