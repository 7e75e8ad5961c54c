"""Preflight: read a :class:`~aks_windows_ops.models.ClusterSnapshot` and report every FAQ rule it breaks.

Pure: no request is made. Each :class:`~aks_windows_ops.models.Finding` carries a stable code, a severity
(``error`` = the service would refuse an operation, ``warning`` = it would hurt, ``info`` = worth knowing), a
remediation naming the library runbook that fixes it (``patch``, ``password``, ``ahub``, ``migrate``,
``add-pool``) and the FAQ question or AKS documentation page it comes from. Lifecycle dates (Windows OS
retirement, Kubernetes support) come from :mod:`~aks_windows_ops.rules.lifecycle` and are graded against an
``as_of`` day.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from aks_windows_ops.clock import SystemClock
from aks_windows_ops.errors import InvalidInput, PreflightFailed
from aks_windows_ops.models import (
    WINDOWS_BUILDS,
    ClusterSnapshot,
    Finding,
    OsSku,
    OsType,
    PoolMode,
    PoolSnapshot,
    Severity,
)
from aks_windows_ops.rules import finding_kinds as kinds
from aks_windows_ops.rules import preflight_capacity as cap
from aks_windows_ops.rules import preflight_lifecycle as life
from aks_windows_ops.rules import validation, versions
from aks_windows_ops.rules import workloads as workload_rules
from aks_windows_ops.rules.finding_kinds import RUNBOOKS
from aks_windows_ops.rules.findings import cluster_resource, pool_resource
from aks_windows_ops.rules.images import image_date
from aks_windows_ops.rules.lifecycle import LifecycleData, builtin_lifecycle
from aks_windows_ops.rules.preflight_capacity import WINDOWS_MAX_PODS_LOW, WINDOWS_MAX_PODS_RECOMMENDED

__all__ = [
    "RUNBOOKS",
    "TERMINAL_PROVISIONING_STATES",
    "WINDOWS_MAX_PODS_LOW",
    "WINDOWS_MAX_PODS_RECOMMENDED",
    "PreflightReport",
    "preflight",
]

#: Service facts: ARM behaviour: only these end an operation; anything else (even an unknown state) means one runs.
TERMINAL_PROVISIONING_STATES = frozenset({"succeeded", "failed", "canceled"})

_AHUB_LICENSE = "Windows_Server"


@dataclass(frozen=True)
class PreflightReport:
    """The findings for one cluster, most severe first.

    Attributes:
        cluster: ``resource_group/name`` of the cluster.
        findings: errors, then warnings, then info; by code and resource within a severity.
    """

    cluster: str
    findings: tuple[Finding, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Findings the service would reject an operation for."""
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Findings that would hurt but not block."""
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def infos(self) -> tuple[Finding, ...]:
        """Findings worth knowing."""
        return tuple(f for f in self.findings if f.severity is Severity.INFO)

    @property
    def ok(self) -> bool:
        """No errors."""
        return not self.errors

    @property
    def exit_code(self) -> int:
        """Process exit code: 0 clean (info only), 1 warnings, 2 errors."""
        if self.errors:
            return 2
        return 1 if self.warnings else 0

    @property
    def codes(self) -> tuple[str, ...]:
        """The finding codes, in report order (repeats kept)."""
        return tuple(f.code for f in self.findings)

    def by_code(self, code: str) -> tuple[Finding, ...]:
        """Findings with this code."""
        return tuple(f for f in self.findings if f.code == code)

    def raise_for_errors(self) -> None:
        """Raise if the report has errors.

        Raises:
            PreflightFailed: carrying the error findings.
        """
        if self.errors:
            raise PreflightFailed(self.errors)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict with counts, exit code and findings."""
        return {
            "cluster": self.cluster,
            "exit_code": self.exit_code,
            "counts": {
                "error": len(self.errors),
                "warning": len(self.warnings),
                "info": len(self.infos),
            },
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_text(self) -> str:
        """Render for a terminal: a summary line, then one block per finding."""
        lines = [
            f"Preflight {self.cluster}: {len(self.errors)} error(s), {len(self.warnings)} warning(s), "
            f"{len(self.infos)} info"
        ]
        for f in self.findings:
            where = f" [{f.resource}]" if f.resource else ""
            lines.append(f"{f.severity.value.upper():<7} {f.code}{where}: {f.message}")
            if f.remediation:
                lines.append(f"        fix: {f.remediation}")
            refs = [f"runbook: {f.runbook}"] if f.runbook else []
            if f.faq:
                refs.append(f"FAQ: {f.faq}")
            if refs:
                lines.append("        " + "; ".join(refs))
        if not self.findings:
            lines.append("no findings")
        return "\n".join(lines)


# --- helpers --------------------------------------------------------------------------------------------------


def _control_plane(snapshot: ClusterSnapshot) -> str:
    return snapshot.current_kubernetes_version or snapshot.kubernetes_version


def _pool_version(pool: PoolSnapshot) -> str | None:
    return pool.current_orchestrator_version or pool.orchestrator_version


def _parses(version: str | None) -> bool:
    if not version:
        return False
    try:
        versions.parse_version(version)
    except InvalidInput:
        return False
    return True


def _highest(*candidates: str | None) -> str | None:
    parsed = [versions.parse_version(v) for v in candidates if v and _parses(v)]
    if not parsed:
        return None
    return str(max(parsed, key=lambda v: v.sort_key))


def _license_on(value: str | None) -> bool:
    return (value or "").lower() == _AHUB_LICENSE.lower()


_Rule = Callable[[ClusterSnapshot], Iterable[Finding]]


# --- rules ----------------------------------------------------------------------------------------------------


def _rule_pool_names(s: ClusterSnapshot) -> Iterator[Finding]:
    """FAQ "What can I name my Windows node pools?" (and the Linux naming rule)."""
    for pool in s.pools:
        problems = validation.check_pool_name(pool.name, pool.os_type)
        if not problems:
            continue
        too_long = pool.is_windows and len(pool.name) > 6
        name_kind = kinds.WINDOWS_POOL_NAME_TOO_LONG if too_long else kinds.POOL_NAME_INVALID
        yield name_kind.at(pool_resource(pool), "; ".join(problems))


def _rule_network_plugin(s: ClusterSnapshot) -> Iterator[Finding]:
    """FAQ "What network plug-ins are supported?" and "Are all features supported with Windows nodes?"."""
    plugin = (s.network_plugin or "").lower()
    if s.windows_pools and plugin != "azure":
        yield kinds.WINDOWS_REQUIRES_AZURE_CNI.at(
            cluster_resource(s),
            f"the cluster uses the {s.network_plugin or 'unset'} network plugin with Windows pools; Windows "
            "nodes need Azure CNI (kubenet is not supported).",
        )


def _rule_modes(s: ClusterSnapshot) -> Iterator[Finding]:
    """Service facts: FAQ rules: Windows pools are User only; a Linux System pool of >= 2 nodes is recommended."""
    for pool in s.windows_pools:
        if pool.mode is PoolMode.SYSTEM:
            yield kinds.WINDOWS_POOL_SYSTEM_MODE.at(
                pool_resource(pool),
                f"Windows pool {pool.name} is a System pool; System agent pools osType must be Linux.",
            )
    system_linux = [p for p in s.pools if p.mode is PoolMode.SYSTEM and p.os_type is OsType.LINUX]
    if not system_linux:
        yield kinds.NO_LINUX_SYSTEM_POOL.at(
            cluster_resource(s),
            "the cluster has no Linux System pool; every AKS cluster needs one for its system services.",
        )
        return
    nodes = sum(p.count for p in system_linux)
    if nodes < 2:
        yield kinds.SYSTEM_POOL_TOO_SMALL.at(
            pool_resource(system_linux[0]),
            f"the Linux System pool(s) have {nodes} node(s); the FAQ recommends at least two for reliability "
            "and cluster operations.",
            remediation=(
                f"Scale the System pool to 2 or more nodes (`az aks nodepool scale --name {system_linux[0].name} "
                "--node-count 2`)."
            ),
        )


def _rule_limits(s: ClusterSnapshot) -> Iterator[Finding]:
    """FAQ "How many node pools can I create?": 100 pools, 1,000 nodes; pool counts 0/1-1000."""
    limit = min(s.max_agent_pools, validation.MAX_AGENT_POOLS) if s.max_agent_pools > 0 else 100
    if len(s.pools) > limit:
        yield kinds.TOO_MANY_POOLS.at(
            cluster_resource(s), f"the cluster has {len(s.pools)} node pools; at most {limit} are allowed."
        )
    elif len(s.pools) == limit:
        yield kinds.POOL_LIMIT_REACHED.at(
            cluster_resource(s),
            f"the cluster has {limit} node pools, the maximum; replacing a pool (migrate) needs room for one more.",
        )
    nodes = sum(p.count for p in s.pools)
    if nodes > validation.MAX_CLUSTER_NODES:
        yield kinds.TOO_MANY_NODES.at(
            cluster_resource(s),
            f"the cluster has {nodes} nodes; at most {validation.MAX_CLUSTER_NODES} across all pools.",
        )
    for pool in s.pools:
        problems = validation.check_pool_count(pool.count, pool.mode)
        if problems:
            yield kinds.POOL_NODE_COUNT_INVALID.at(pool_resource(pool), "; ".join(problems))


def _rule_os_sku(s: ClusterSnapshot) -> Iterator[Finding]:
    """FAQ "Which Windows operating systems are supported?": the OS SKU matches the pool's OS type.

    The Windows OS lifecycle (retirement, image removal, Kubernetes versions per SKU) is in
    :mod:`~aks_windows_ops.rules.preflight_lifecycle`.
    """
    for pool in s.pools:
        if pool.is_windows and pool.os_sku_enum is OsSku.WINDOWS_ANNUAL:
            continue  # an existing Annual Channel pool is valid; its retirement is a lifecycle finding
        problems = validation.check_os_sku(pool.os_sku, os_type=pool.os_type) if pool.os_sku else []
        if problems:
            yield kinds.OS_SKU_MISMATCH.at(pool_resource(pool), "; ".join(problems))


def _rule_skew(s: ClusterSnapshot) -> Iterator[Finding]:
    """Service facts: How the Azure CLI does it: a pool is never above the control plane nor > 3 minors behind it."""
    control_plane = _control_plane(s)
    if not _parses(control_plane):
        yield kinds.VERSION_UNREADABLE.at(
            cluster_resource(s),
            f"the control plane version {control_plane!r} does not parse; version rules were skipped.",
            remediation="Re-read the cluster; report the value if it persists.",
        )
        return
    for pool in s.pools:
        version = _pool_version(pool)
        if not version:
            continue
        if not _parses(version):
            yield kinds.VERSION_UNREADABLE.at(
                pool_resource(pool),
                f"pool {pool.name} reports version {version!r}, which does not parse; its version rules were "
                "skipped.",
                remediation="Re-read the pool; report the value if it persists.",
            )
            continue
        problems = versions.check_pool_skew(control_plane, version)
        if problems:
            yield kinds.POOL_VERSION_SKEW.at(pool_resource(pool), f"pool {pool.name}: " + "; ".join(problems))


def _rule_identity(s: ClusterSnapshot) -> Iterator[Finding]:
    """FAQ "How do I rotate the service principal for my Windows node pool?"."""
    if s.uses_service_principal and s.windows_pools:
        yield kinds.SERVICE_PRINCIPAL_WITH_WINDOWS.at(
            cluster_resource(s),
            "the cluster authenticates with a service principal; Windows pools cannot rotate it in place.",
        )


#: How far (days) a Windows pool's newest offered image may trail the newest image release before preflight says
#: that a control plane upgrade holds newer Windows images back (monthly releases; FAQ patching note).
WINDOWS_IMAGE_HOLDBACK_DAYS = 20


def _os_ceiling(s: ClusterSnapshot, data: LifecycleData) -> tuple[tuple[int, int] | None, list[str]]:
    """The newest Kubernetes minor every Windows pool's OS runs on, and the OS SKUs that set it."""
    ceiling: tuple[int, int] | None = None
    skus: list[str] = []
    for pool in s.windows_pools:
        entry = data.os_sku(pool.os_sku)
        if entry is None or entry.max_minor is None:
            continue
        if ceiling is None or entry.max_minor < ceiling:
            ceiling, skus = entry.max_minor, [entry.sku]
        elif entry.max_minor == ceiling and entry.sku not in skus:
            skus.append(entry.sku)
    return ceiling, skus


def _rule_patching(s: ClusterSnapshot, data: LifecycleData | None = None) -> Iterator[Finding]:
    """FAQ "How do I patch my Windows nodes?" and its note on control plane upgrades.

    A control plane upgrade above the newest Kubernetes minor a Windows pool's OS runs on (lifecycle data:
    Windows2019 up to 1.32, Windows2022 up to 1.36) is no way to newer Windows images for that pool.
    """
    # The newest image any pool of the cluster is offered (Linux pools are not held back by the control plane).
    newest = max((d for d in (image_date(p.latest_node_image_version) for p in s.pools) if d), default=None)
    ceiling, capped = _os_ceiling(s, data or builtin_lifecycle())
    beyond = [
        v
        for v in s.control_plane_upgrades
        if ceiling is not None and _parses(v) and versions.parse_version(v).minor_key > ceiling
    ]
    usable_upgrades = [v for v in s.control_plane_upgrades if v not in beyond]
    # Only upgrades beyond what a pool's OS runs on are offered (Windows2019 on 1.32): migrate first.
    os_blocks = bool(beyond) and not usable_upgrades
    for pool in s.windows_pools:
        latest, current = pool.latest_node_image_version, pool.node_image_version
        if latest and current and latest != current:
            yield kinds.NODE_IMAGE_OUTDATED.at(
                pool_resource(pool),
                f"Windows pool {pool.name} runs node image {current}; {latest} is available.",
            )
        offered = image_date(latest)
        if offered is None or newest is None or (newest - offered).days <= WINDOWS_IMAGE_HOLDBACK_DAYS:
            continue
        # FAQ note: the updated Windows image is used only after a control plane upgrade.
        if usable_upgrades:
            remediation = (
                "Upgrade the control plane first, then the node image (patch runbook); control plane upgrades: "
                + ", ".join(usable_upgrades)
                + "."
            )
        elif os_blocks:
            remediation = (
                f"Every control plane upgrade offered is beyond what {' and '.join(capped)} runs on: migrate "
                f"the {' and '.join(capped)} pools first (migrate runbook, --reason os-upgrade), then upgrade the "
                "control plane."
            )
        else:
            remediation = "No control plane upgrade is offered yet; patch when one is (patch runbook)."
        yield kinds.WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE.at(
            pool_resource(pool),
            f"pool {pool.name} is offered Windows images up to {offered.isoformat()} while images up to "
            f"{newest.isoformat()} exist: newer Windows images wait behind a control plane upgrade.",
            remediation=remediation,
            severity=Severity.WARNING if usable_upgrades or os_blocks else Severity.INFO,
            runbook="migrate" if os_blocks else None,
        )
    channel = (s.auto_upgrade_channel or "none").lower()
    if s.windows_pools and channel != "none":
        yield kinds.AUTO_UPGRADE_BLOCKS_CONTROL_PLANE_ONLY.at(
            cluster_resource(s),
            f"cluster auto-upgrade is on (channel {s.auto_upgrade_channel}); the service refuses control-plane-only "
            "upgrades, which the patch runbook uses before node image upgrades.",
        )
    if s.windows_pools and 0 < s.max_agent_pools < 8:
        yield kinds.CONTROL_PLANE_ONLY_UPGRADE_UNAVAILABLE.at(
            cluster_resource(s),
            f"maxAgentPools is {s.max_agent_pools}; control-plane-only upgrades need at least 8.",
        )


def _rule_ahub(s: ClusterSnapshot) -> Iterator[Finding]:
    """FAQ "Can I use Azure Hybrid Benefit with Windows nodes?" and Service facts: FAQ rules (AHUB)."""
    if not s.scale_sets:
        return
    cluster_on = _license_on(s.license_type)
    for pool in s.windows_pools:
        vmss = s.scale_set_for(pool.name)
        if vmss is None:
            yield kinds.SCALE_SET_NOT_FOUND.at(
                pool_resource(pool),
                f"no scale set tagged aks-managed-poolName={pool.name} in {s.node_resource_group}; AHUB was not "
                "verified for this pool.",
            )
            continue
        resource = f"VirtualMachineScaleSet/{vmss.resource_group}/{vmss.name}"
        drift = [i.name for i in vmss.instances if _license_on(i.license_type) != cluster_on]
        if cluster_on and not _license_on(vmss.license_type):
            yield kinds.AHUB_DRIFT.at(
                resource,
                f"the cluster has Azure Hybrid Benefit on but scale set {vmss.name} (pool {pool.name}) has license "
                f"type {vmss.license_type or 'None'}.",
                remediation="Re-apply AHUB at cluster level and verify the scale sets (ahub runbook).",
            )
        elif not cluster_on and _license_on(vmss.license_type):
            yield kinds.AHUB_SET_OUTSIDE_CLUSTER.at(
                resource,
                f"scale set {vmss.name} (pool {pool.name}) has license type Windows_Server but the cluster's "
                "windowsProfile.licenseType is not; AKS may re-apply its model and drop it.",
            )
        elif drift:
            yield kinds.AHUB_DRIFT.at(
                resource,
                f"{len(drift)} instance(s) of scale set {vmss.name} have a license type that differs from the "
                f"cluster's ({'Windows_Server' if cluster_on else 'None'}): {', '.join(drift[:5])}"
                + (" ..." if len(drift) > 5 else ""),
                remediation="Re-apply the cluster's license and verify the instances (ahub runbook).",
            )
        stale = [i.name for i in vmss.instances if i.latest_model_applied is False]
        if stale:
            yield kinds.SCALE_SET_MODEL_NOT_APPLIED.at(
                resource,
                f"{len(stale)} instance(s) of scale set {vmss.name} are not on the latest model; a license change "
                "takes effect when they are reimaged.",
            )


def _rule_gmsa(s: ClusterSnapshot) -> Iterator[Finding]:
    """FAQ "Can my Windows Server containers use gMSA?"."""
    if not s.windows_pools and not s.gmsa_enabled:
        return
    yield kinds.GMSA_STATUS.at(
        cluster_resource(s),
        "gMSA is enabled on the cluster." if s.gmsa_enabled else "gMSA is not enabled on the cluster.",
        remediation=(
            "Nothing to do."
            if s.gmsa_enabled
            else "Enable it (`az aks update --enable-windows-gmsa`) if Windows containers need Active Directory."
        ),
    )


def _rule_windows_profile(s: ClusterSnapshot) -> Iterator[Finding]:
    """Service facts: How the Azure CLI does it: password and AHUB updates need a ``windowsProfile``."""
    if s.windows_pools and not s.has_windows_profile:
        yield kinds.WINDOWS_PROFILE_MISSING.at(
            cluster_resource(s),
            "the cluster has Windows pools but no windowsProfile was read; password and AHUB updates need one.",
        )


def _state_findings(state: str | None, what: str, resource: str) -> Iterator[Finding]:
    if not state:
        return
    lowered = state.lower()
    if lowered == "failed":
        yield kinds.PROVISIONING_FAILED.at(
            resource, f"{what} is in provisioning state Failed; the last operation did not complete."
        )
    elif lowered not in TERMINAL_PROVISIONING_STATES:
        yield kinds.OPERATION_IN_PROGRESS.at(
            resource,
            f"{what} is in provisioning state {state}; another write now fails with 409 OperationNotAllowed.",
        )


def _rule_provisioning(s: ClusterSnapshot) -> Iterator[Finding]:
    """Service facts: ARM behaviour: non-terminal and failed provisioning states."""
    yield from _state_findings(s.provisioning_state, f"cluster {s.ref.name}", cluster_resource(s))
    for pool in s.pools:
        yield from _state_findings(pool.provisioning_state, f"pool {pool.name}", pool_resource(pool))


_RULES: tuple[_Rule, ...] = (
    _rule_pool_names,
    _rule_network_plugin,
    _rule_modes,
    _rule_limits,
    _rule_os_sku,
    _rule_skew,
    _rule_identity,
    _rule_patching,
    _rule_ahub,
    cap.capacity_findings,
    _rule_gmsa,
    _rule_windows_profile,
    _rule_provisioning,
)


# --- workloads ------------------------------------------------------------------------------------------------


def _windows_builds(s: ClusterSnapshot) -> set[str] | None:
    builds: set[str] = set()
    for pool in s.windows_pools:
        sku = pool.os_sku_enum
        if sku is None or sku not in WINDOWS_BUILDS:
            return None
        builds.add(WINDOWS_BUILDS[sku])
    return builds


def preflight(
    snapshot: ClusterSnapshot,
    workloads: list[dict[str, Any]] | None = None,
    *,
    as_of: _dt.date | None = None,
    lifecycle: LifecycleData | None = None,
) -> PreflightReport:
    """Check a cluster snapshot (and optionally its workloads) against every FAQ rule and the lifecycle data.

    Args:
        snapshot: the cluster as read by the Azure adapter or built by a test.
        workloads: manifests (``kubectl get -o json`` items or YAML documents); when given, the Windows
            workload lint (:func:`aks_windows_ops.rules.workloads.lint_workloads`) and a pod-capacity check run.
        as_of: the day lifecycle dates are graded against (FAQ "Which Windows operating systems are
            supported?"); today (UTC) when omitted.
        lifecycle: lifecycle data (:func:`aks_windows_ops.rules.lifecycle.parse_lifecycle`); the built-in file
            when omitted.

    Returns:
        The report, findings sorted errors first.
    """
    day = as_of if as_of is not None else SystemClock().now().date()
    data = lifecycle if lifecycle is not None else builtin_lifecycle()
    findings: list[Finding] = []
    for rule in _RULES:
        findings.extend(_rule_patching(snapshot, data) if rule is _rule_patching else rule(snapshot))
    findings.extend(life.windows_os_findings(snapshot, data, day))
    findings.extend(life.kubernetes_support_findings(snapshot, data, day))
    findings.extend(life.old_image_findings(snapshot, data))
    if workloads is not None:
        findings.extend(
            workload_rules.lint_workloads(
                workloads,
                windows_builds=_windows_builds(snapshot),
                kubernetes_version=_control_plane(snapshot) if _parses(_control_plane(snapshot)) else None,
            )
        )
        findings.extend(cap.workload_capacity_findings(snapshot, list(workloads)))
    ordered = sorted(findings, key=lambda f: (-f.severity.rank, f.code, f.resource))
    return PreflightReport(cluster=str(snapshot.ref), findings=tuple(ordered))
