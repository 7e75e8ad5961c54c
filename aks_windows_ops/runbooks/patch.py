"""Patching in the FAQ's order: the control plane first, then the node pools (FAQ "How do I patch my Windows nodes?").

``plan_patch`` reads the cluster (one GET; the upgrade profiles only when they decide something), checks every
rule before anything is sent, and returns a :class:`~aks_windows_ops.runbooks.plan.Plan`:

- version upgrade: a control-plane-only upgrade (pool versions preserved, service principal left out of the body,
  Service facts: How the Azure CLI does it), then each selected pool in a safe order (System, Linux user, Windows), each waited on and
  verified; intermediate minor hops when asked; refusals for downgrades, minor skips, pools left beyond the
  allowed skew and Windows pools whose OS SKU the target does not run (lifecycle data: Windows2019 after 1.32,
  Windows2022 after 1.36; those need the migrate runbook);
- node image only: one ``upgradeNodeImageVersion`` per pool that has a newer image, with the FAQ's note that a
  Windows pool only gets the new image after a control plane upgrade.

``apply_patch`` runs the plan through the checkpointed runner.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import available_versions, snapshot_from_wire
from aks_windows_ops.errors import InvalidInput, PreflightFailed, UnsafeOperation
from aks_windows_ops.models import ClusterRef, ClusterSnapshot, Finding, PoolMode, PoolSnapshot, Severity
from aks_windows_ops.rules import versions as V
from aks_windows_ops.rules.lifecycle import builtin_lifecycle
from aks_windows_ops.rules.pool_limits import windows_skus_for
from aks_windows_ops.rules.preflight import preflight
from aks_windows_ops.rules.validation import resolve_kubernetes_version
from aks_windows_ops.runbooks.plan import NoOp, Plan, Step
from aks_windows_ops.runbooks.procedures import ApplyOptions, apply_as
from aks_windows_ops.runbooks.runner import ApplyResult
from aks_windows_ops.runbooks.steps import ClusterContext, await_operation_step, version_tuple

if TYPE_CHECKING:  # pragma: no cover - typing only
    from typing_extensions import Unpack

__all__ = ["apply_patch", "plan_patch"]

_SURGE = re.compile(r"^(?:[1-9]\d*|[1-9]\d?%|100%)$")
#: Expected durations (Service facts: ARM behaviour), for plans and progress bars.
CONTROL_PLANE_SECONDS = 15 * 60
POOL_UPGRADE_SECONDS_PER_NODE = 5 * 60
NODE_IMAGE_SECONDS_PER_NODE = {"Windows": 5 * 60, "Linux": 3 * 60}
WINDOWS_IMAGE_PULL_SECONDS = 15 * 60


def _order(pool: PoolSnapshot) -> int:
    # FAQ and service facts: System pools first (they host the cluster's services), then Linux user pools, then Windows.
    if pool.mode is PoolMode.SYSTEM:
        return 0
    return 2 if pool.is_windows else 1


def _select(snapshot: ClusterSnapshot, pools: str | Sequence[str]) -> list[PoolSnapshot]:
    if pools == "all":
        chosen = list(snapshot.pools)
    elif pools == "windows":
        chosen = list(snapshot.windows_pools)
    else:
        names = [pools] if isinstance(pools, str) else list(pools)
        known = {p.name for p in snapshot.pools}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InvalidInput([f"cluster {snapshot.ref} has no pool {n!r}" for n in unknown])
        chosen = [p for p in snapshot.pools if p.name in names]
    return sorted(chosen, key=_order)


def _validate_options(
    kubernetes_version: str | None,
    node_image_only: bool,
    pools: str | Sequence[str],
    max_surge: str | None,
    drain_timeout: int | None,
    node_soak: int | None,
) -> None:
    problems: list[str] = []
    if node_image_only and kubernetes_version:
        problems.append(
            "give either a Kubernetes version or node images only (--kubernetes-version or --node-image-only), not both"
        )
    if not node_image_only and not kubernetes_version:
        problems.append(
            "give a target Kubernetes version or ask for node images only (--kubernetes-version or --node-image-only)"
        )
    if kubernetes_version:
        try:
            V.parse_version(kubernetes_version)
        except InvalidInput as err:
            problems.extend(err.problems)
    if max_surge is not None and not _SURGE.match(str(max_surge)):
        problems.append(
            f"max surge (--max-surge) must be a node count (e.g. 1) or a percentage (e.g. 33%), got {max_surge!r}"
        )
    if node_image_only and (max_surge or drain_timeout or node_soak):
        problems.append(
            "upgrade settings (max surge, drain timeout, node soak) cannot ride on a node image upgrade"
        )
    if drain_timeout is not None and not 1 <= drain_timeout <= 1440:
        problems.append("the drain timeout must be 1-1440 minutes")
    if node_soak is not None and not 0 <= node_soak <= 30:
        problems.append("the node soak time must be 0-30 minutes")
    if not isinstance(pools, str) and not list(pools):
        problems.append("pools must name at least one pool")
    if problems:
        raise InvalidInput(problems)


def plan_patch(
    clients: AzureClients,
    resource_group: str,
    name: str,
    *,
    kubernetes_version: str | None = None,
    node_image_only: bool = False,
    pools: str | Sequence[str] = "all",
    max_surge: str | None = None,
    drain_timeout: int | None = None,
    node_soak: int | None = None,
    allow_hops: bool = False,
    check_latest: bool = True,
    kube: Any = None,
) -> tuple[Plan, ClusterContext]:
    """Plan a patch in the FAQ's order (FAQ "How do I patch my Windows nodes?"; Service facts: How the Azure CLI does it).

    Planning only reads: applying nothing sends zero writes.

    Args:
        clients: the client bundle of the cluster's subscription.
        resource_group: the cluster's resource group.
        name: the cluster's name.
        kubernetes_version: the target version (control plane first, then the pools).
        node_image_only: patch the node images only (no version change).
        pools: ``"all"``, ``"windows"``, or pool names.
        max_surge: upgrade surge per pool (``"1"``, ``"33%"``); the pool's own setting when omitted.
        drain_timeout: minutes AKS waits to drain a node (honouring PodDisruptionBudgets).
        node_soak: minutes to wait after each node before the next.
        allow_hops: plan the intermediate minor versions instead of refusing a minor skip.
        check_latest: for node-image patches, read each pool's upgrade profile and skip pools already on the
            newest image (one extra read per pool; without it the write finds them current and a read-back
            confirms it).
        kube: a Kubernetes ``ApiClient``: PodDisruptionBudgets that would block the pools' drains for ever
            are refused before any write (AKS upgrades fail on them). Not checked without it.

    Returns:
        The plan and the context to apply it with (it carries the reading the plan was made from).

    Raises:
        InvalidInput: bad options, unknown pools, a downgrade or a minor skip (nothing was sent).
        PreflightFailed: the patch would break an FAQ rule (a Windows OS SKU past its last Kubernetes minor in
            the lifecycle data: Windows2019 on >= 1.33, Windows2022 on >= 1.37; skew beyond 3 minors).
        NotFound: no such cluster.
        UnsafeOperation: a PodDisruptionBudget would block a pool upgrade for ever (nothing was sent).
    """
    _validate_options(kubernetes_version, node_image_only, pools, max_surge, drain_timeout, node_soak)
    wire = az.get_cluster(clients, resource_group, name)
    snapshot = snapshot_from_wire(ClusterRef(clients.subscription_id, resource_group, name), wire)
    selected = _select(snapshot, pools)
    if kubernetes_version:
        # v-prefix, minor-only alias and unknown patches are settled here, before any write.
        kubernetes_version = resolve_kubernetes_version(
            kubernetes_version,
            available_versions(clients, snapshot.location),
            current=snapshot.current_kubernetes_version,
        )
    context = ClusterContext(clients, resource_group, name, cluster_wire=wire)
    report = preflight(snapshot)
    target = f"{clients.subscription_id}/{resource_group}/{name}"
    if node_image_only:
        steps, noops, warnings = _node_image_steps(clients, snapshot, selected, check_latest)
    else:
        assert kubernetes_version is not None
        steps, noops, warnings = _version_steps(
            clients, snapshot, selected, kubernetes_version, max_surge, drain_timeout, node_soak, allow_hops
        )
    warnings.extend(_budget_check(kube, steps))
    plan = Plan(
        procedure="patch",
        target=target,
        steps=tuple(steps),
        noops=tuple(noops),
        findings=tuple(report.findings),
        warnings=tuple(warnings),
    )
    return plan, context


def _budget_check(kube: Any, steps: Sequence[Step]) -> list[str]:
    """Refuse budgets that never allow an eviction on the pools the plan upgrades (AKS drains each node)."""
    pools = [str(s.params["pool"]) for s in steps if s.kind in ("upgrade_pool", "upgrade_node_image")]
    if not pools:
        return []
    if kube is None:
        return ["PodDisruptionBudgets were not checked before the pool upgrades (no Kubernetes access)"]
    from aks_windows_ops.kube.drain_analysis import budgets_blocking_pools

    findings = budgets_blocking_pools(kube, dict.fromkeys(pools))
    if findings is None:
        return [
            "PodDisruptionBudgets were not checked before the pool upgrades (the Kubernetes API was not readable)"
        ]
    if findings:
        raise UnsafeOperation(
            "a pool upgrade would fail: AKS drains every node and "
            + "; ".join(f.message for f in findings)
            + "; nothing was sent",
            remediation="; ".join(dict.fromkeys(f.remediation for f in findings)) + ", then plan again.",
        )
    return []


def _hops(clients: AzureClients, snapshot: ClusterSnapshot, target: str, allow_hops: bool) -> list[str]:
    current = snapshot.current_kubernetes_version
    problems = V.check_upgrade_path(current, target)
    if not problems:
        return [] if version_tuple(target) <= version_tuple(current) else [target]
    if any("skip" in p for p in problems) and allow_hops:
        offered = available_versions(clients, snapshot.location)
        return V.plan_version_hops(current, target, offered)
    raise InvalidInput(
        problems,
        remediation="Upgrade one minor version at a time, or let the intermediate versions be planned (--hops).",
    )


def _version_steps(
    clients: AzureClients,
    snapshot: ClusterSnapshot,
    selected: list[PoolSnapshot],
    target: str,
    max_surge: str | None,
    drain_timeout: int | None,
    node_soak: int | None,
    allow_hops: bool,
) -> tuple[list[Step], list[NoOp], list[str]]:
    hops = _hops(clients, snapshot, target, allow_hops)
    steps: list[Step] = []
    noops: list[NoOp] = []
    warnings: list[str] = []
    resource = f"{snapshot.ref.resource_group}/{snapshot.ref.name}"
    final = hops[-1] if hops else snapshot.current_kubernetes_version
    blocking: list[Finding] = []
    lifecycle = builtin_lifecycle()
    for pool in snapshot.pools:
        # The lifecycle data's last Kubernetes minor per Windows OS SKU (Windows2019: 1.32; Windows2022: 1.36,
        # AKS release notes 2026-06-19); the service refuses the upgrade with a 400 otherwise.
        entry = lifecycle.os_sku(pool.os_sku) if pool.is_windows else None
        last_minor = entry.max_minor if entry is not None else None
        if entry is not None and last_minor is not None and version_tuple(final)[:2] > last_minor:
            newer = " or ".join(s.value for s in windows_skus_for(final)) or "a newer Windows OS SKU"
            sku_flag = f" --os-sku {windows_skus_for(final)[0].value}" if windows_skus_for(final) else ""
            blocking.append(
                Finding(
                    code=f"{entry.sku.upper()}_UNSUPPORTED_TARGET",
                    severity=Severity.ERROR,
                    message=(
                        f"pool {pool.name} runs {entry.name}, which Kubernetes {final} does not support "
                        f"(its last minor is {last_minor[0]}.{last_minor[1]})"
                    ),
                    remediation=(
                        f"Move the pool to {newer} first: aks-windows-ops migrate --pool {pool.name} "
                        f"--reason os-upgrade{sku_flag}; then patch."
                    ),
                    faq="Which Windows operating systems are supported?",
                    resource=f"{resource}/{pool.name}",
                    runbook="migrate",
                )
            )
        chosen = pool in selected
        pool_final = final if chosen else (pool.current_orchestrator_version or "")
        skew = V.check_pool_skew(final, pool_final) if pool_final else []
        if skew:
            blocking.append(
                Finding(
                    code="POOL_SKEW_AFTER_PATCH",
                    severity=Severity.ERROR,
                    message=f"pool {pool.name} would be left unsupported: {skew[0]}",
                    remediation="Include the pool in the patch (pools='all').",
                    faq="How do I patch my Windows nodes?",
                    resource=f"{resource}/{pool.name}",
                    runbook="patch",
                )
            )
    if blocking:
        raise PreflightFailed(blocking)
    current = snapshot.current_kubernetes_version
    control_plane = hops[-1] if hops else None
    if not hops:
        # "Already at X" is a fact only once the cluster is Succeeded: the service reports the target version
        # from the first read after an upgrade starts (Service facts: ARM behaviour).
        step = _settle_step(resource, None, current, snapshot.provisioning_state, "control plane")
        if step is None:
            noops.append(NoOp(resource, f"control plane already at {current}"))
        else:
            steps.append(step)
            control_plane = current
    expect: dict[str, dict[str, str]] = {}
    pool_version = {p.name: p.current_orchestrator_version or current for p in selected}
    last = hops[-1] if hops else current
    for hop in hops or [current]:
        if version_tuple(hop) > version_tuple(current):
            steps.append(
                Step(
                    id=f"control-plane:{hop}",
                    kind="update_control_plane",
                    title=f"Upgrade the control plane to {hop}",
                    resource=resource,
                    reason="The FAQ's order: the control plane first; a new Windows image is used only after it.",
                    expected_seconds=CONTROL_PLANE_SECONDS,
                    restarts_nodes=False,
                    params={"version": hop},
                )
            )
        for pool in selected:
            if version_tuple(pool_version[pool.name]) >= version_tuple(hop):
                if hop == last:
                    settle = _settle_step(
                        f"{resource}/{pool.name}",
                        pool,
                        pool_version[pool.name],
                        pool.provisioning_state,
                        f"pool {pool.name}",
                        _pool_params(pool, pool_version[pool.name], max_surge, drain_timeout, node_soak),
                    )
                    if settle is None:
                        noops.append(
                            NoOp(f"{resource}/{pool.name}", f"pool already at {pool_version[pool.name]}")
                        )
                    else:
                        steps.append(settle)
                        expect[pool.name] = {"version": pool_version[pool.name]}
                continue
            steps.append(
                Step(
                    id=f"pool:{pool.name}:{hop}",
                    kind="upgrade_pool",
                    title=f"Upgrade {pool.os_sku or pool.os_type.value} pool {pool.name} ({pool.count} nodes) to {hop}",
                    resource=f"{resource}/{pool.name}",
                    reason="Pools follow the control plane; each node is surged, drained and reimaged.",
                    expected_seconds=POOL_UPGRADE_SECONDS_PER_NODE * max(pool.count, 1),
                    restarts_nodes=True,
                    params=_pool_params(pool, hop, max_surge, drain_timeout, node_soak),
                )
            )
            pool_version[pool.name] = hop
            expect[pool.name] = {"version": hop}
    if len(steps) > 1:
        steps.append(_verify_step(resource, control_plane, expect))
    if any(p.is_windows for p in selected) and steps:
        warnings.append(
            "Windows nodes restart during the upgrade: expect 5 min per node plus the image pull."
        )
    return steps, noops, warnings


def _pool_params(
    pool: PoolSnapshot, version: str, max_surge: str | None, drain_timeout: int | None, node_soak: int | None
) -> dict[str, Any]:
    params: dict[str, Any] = {"pool": pool.name, "version": version, "windows": pool.is_windows}
    if max_surge is not None:
        params["max_surge"] = str(max_surge)
    if drain_timeout is not None:
        params["drain_timeout"] = drain_timeout
    if node_soak is not None:
        params["node_soak"] = node_soak
    return params


def _settle_step(
    resource: str,
    pool: PoolSnapshot | None,
    version: str,
    state: str | None,
    what: str,
    pool_params: dict[str, Any] | None = None,
) -> Step | None:
    """What a resource already at the target still needs: nothing only when it is ``Succeeded``.

    - An operation still runs (``Upgrading``, ``Updating``, ...): wait for it by polling, send nothing, verify.
    - It ended ``Failed`` (or ``Canceled``): send the same version again, as ``az aks upgrade`` and
      ``az aks nodepool upgrade`` do for a resource in a failed state (the service reconciles it; Service
      facts: ARM behaviour, "fix the PDB, re-issue the same version").
    """
    if state == "Succeeded":
        return None
    key = "control-plane" if pool is None else f"pool:{pool.name}"
    seconds = CONTROL_PLANE_SECONDS if pool is None else POOL_UPGRADE_SECONDS_PER_NODE * max(pool.count, 1)
    if az.is_busy(state):
        return await_operation_step(
            resource,
            version,
            pool=None if pool is None else pool.name,
            title=f"Wait for the operation running on the {what} ({state}, at {version}), then verify it",
            reason="The service reports the target version while the operation still runs; done is Succeeded.",
            expected_seconds=seconds,
        )
    shown = state or "in an unknown state"
    params: dict[str, Any] = {"version": version}
    if pool is not None:
        params = pool_params or {"pool": pool.name, "version": version, "windows": pool.is_windows}
    return Step(
        id=f"{key}:{version}",
        kind="update_control_plane" if pool is None else "upgrade_pool",
        title=f"Send the {what}'s version {version} again (it is {shown})",
        resource=resource,
        reason=(
            f"The {what} is at {version} but {shown}: not done. The same version is sent again, as the service "
            "allows for a failed upgrade (fix what made it fail first)."
        ),
        expected_seconds=seconds,
        restarts_nodes=pool is not None,
        params=params,
    )


def _verify_step(resource: str, control_plane: str | None, expect: dict[str, dict[str, str]]) -> Step:
    params: dict[str, Any] = {"control_plane": control_plane, "pools": expect}
    return Step(
        id="verify",
        kind="verify_cluster",
        title="Verify the control plane and every patched pool",
        resource=resource,
        reason="Read the cluster once and check its state and each pool's state, version and image.",
        expected_seconds=1,
        params=params,
    )


def _node_image_steps(
    clients: AzureClients, snapshot: ClusterSnapshot, selected: list[PoolSnapshot], check_latest: bool
) -> tuple[list[Step], list[NoOp], list[str]]:
    resource = f"{snapshot.ref.resource_group}/{snapshot.ref.name}"
    steps: list[Step] = []
    noops: list[NoOp] = []
    warnings: list[str] = []
    expect: dict[str, dict[str, str]] = {}
    for pool in selected:
        latest = None
        if check_latest:
            profile = az.get_pool_upgrade_profile(
                clients, snapshot.ref.resource_group, snapshot.ref.name, pool.name
            )
            latest = (profile.get("properties") or {}).get("latestNodeImageVersion")
        if latest and latest == pool.node_image_version:
            reason = f"already on the newest image ({latest})"
            if pool.is_windows:
                reason += (
                    "; a newer Windows image is used only after a control plane upgrade (FAQ): "
                    "patch with a Kubernetes version first"
                )
                warnings.append(f"pool {pool.name}: {reason}")
            noops.append(NoOp(f"{resource}/{pool.name}", reason))
            continue
        os_name = "Windows" if pool.is_windows else "Linux"
        seconds = NODE_IMAGE_SECONDS_PER_NODE[os_name] * max(pool.count, 1)
        if pool.is_windows:
            seconds += WINDOWS_IMAGE_PULL_SECONDS
        steps.append(
            Step(
                id=f"node-image:{pool.name}",
                kind="upgrade_node_image",
                title=f"Upgrade the node image of {pool.os_sku or os_name} pool {pool.name} ({pool.count} nodes)",
                resource=f"{resource}/{pool.name}",
                reason=f"{pool.node_image_version} -> {latest or 'the latest image'} (Windows Update is off on AKS nodes)",
                expected_seconds=seconds,
                restarts_nodes=True,
                params={"pool": pool.name, "latest": latest, "windows": pool.is_windows},
            )
        )
        expect[pool.name] = {"image": latest} if latest else {}
    if steps:
        steps.append(_verify_step(resource, None, expect))
    return steps, noops, warnings


def apply_patch(plan: Plan, context: ClusterContext, **options: Unpack[ApplyOptions]) -> ApplyResult:
    """Apply a patch plan from :func:`plan_patch` (FAQ "How do I patch my Windows nodes?").

    The same as :func:`aks_windows_ops.apply`, with the same options (``checkpoints``, ``time_budget``,
    ``on_event``, ``stop_after``), kept so that existing code keeps working; ``apply`` takes a plan of any
    procedure. A plan of another procedure is refused before anything is sent.
    """
    return apply_as(("patch",), plan, context, **options)
