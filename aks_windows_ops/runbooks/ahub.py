"""Azure Hybrid Benefit for Windows nodes (FAQ "Can I use Azure Hybrid Benefit with Windows nodes?").

Enable or disable it for the whole cluster (``windowsProfile.licenseType``: ``Windows_Server`` or ``None``; the
change reimages the Windows nodes), then verify it where it matters: on every Windows scale set and instance in
the cluster's node resource group, found by the ``aks-managed-poolName`` tag (Service facts: FAQ rules), reporting
``licenseType``, ``latestModelApplied`` and drift from the cluster setting (what ``az vmss show`` shows). The
FAQ also allows licensing individual nodes in the node resource group; :func:`plan_ahub_for_nodes` does that,
with the caveat that AKS may re-apply its own model over such edits.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import read_scale_sets, read_snapshot, snapshot_from_wire
from aks_windows_ops.errors import AzureOperationFailed, InvalidInput
from aks_windows_ops.htmltable import html_table
from aks_windows_ops.models import ClusterRef, ClusterSnapshot
from aks_windows_ops.runbooks.plan import NoOp, Plan, Step
from aks_windows_ops.runbooks.procedures import ApplyOptions, apply_as
from aks_windows_ops.runbooks.runner import ApplyResult, RunContext, StepState
from aks_windows_ops.runbooks.steps import (
    AZURE_ACTIONS,
    ClusterContext,
    JsonOp,
    VerifyStep,
    cluster_of,
    operation_handle,
    send_write,
    wait_for_operation,
)
from aks_windows_ops.runbooks.windows_profile import WindowsProfileUpdate

if TYPE_CHECKING:  # pragma: no cover - typing only
    from typing_extensions import Unpack

__all__ = [
    "AHUB_ACTIONS",
    "LICENSE_ON",
    "InstanceLicense",
    "LicenseReport",
    "LicenseRow",
    "apply_ahub",
    "plan_ahub_for_nodes",
    "plan_disable_ahub",
    "plan_enable_ahub",
    "verify_ahub",
]

LICENSE_ON = "Windows_Server"
_OFF = "None"
#: Service facts: ARM behaviour: a Windows profile change takes 12-14 minutes for one node.
BASE_SECONDS = 13 * 60
PER_NODE_SECONDS = 2 * 60


def _norm(value: str | None) -> str:
    return LICENSE_ON if value == LICENSE_ON else _OFF


@dataclass(frozen=True)
class LicenseRow:
    """One scale set or instance: its ``licenseType`` and whether it drifts from the cluster setting."""

    pool: str
    scale_set: str
    instance: str | None
    license_type: str | None
    latest_model_applied: bool | None
    expected: str
    drift: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready row."""
        return {
            "pool": self.pool,
            "scale_set": self.scale_set,
            "instance": self.instance,
            "license_type": self.license_type,
            "latest_model_applied": self.latest_model_applied,
            "expected": self.expected,
            "drift": self.drift,
        }


@dataclass(frozen=True)
class LicenseReport:
    """Hybrid Benefit as the cluster says it is and as its scale sets really are (FAQ AHUB verification).

    Attributes:
        cluster: ``resource_group/name``.
        node_resource_group: where the scale sets live.
        cluster_license: ``windowsProfile.licenseType`` (``Windows_Server`` = AHUB on).
        rows: one per Windows scale set (``instance`` is ``None``) and one per instance.
        missing_pools: Windows pools whose scale set was not found by tag.
    """

    cluster: str
    node_resource_group: str | None
    cluster_license: str
    rows: tuple[LicenseRow, ...] = ()
    missing_pools: tuple[str, ...] = field(default=())

    @property
    def drift(self) -> tuple[LicenseRow, ...]:
        """Rows whose license type differs from the cluster setting."""
        return tuple(r for r in self.rows if r.drift)

    @property
    def ok(self) -> bool:
        """No drift and every Windows pool's scale set found."""
        return not self.drift and not self.missing_pools

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "cluster": self.cluster,
            "node_resource_group": self.node_resource_group,
            "cluster_license": self.cluster_license,
            "ok": self.ok,
            "drift": len(self.drift),
            "missing_pools": list(self.missing_pools),
            "rows": [r.to_dict() for r in self.rows],
        }

    def to_text(self) -> str:
        """A readable report."""
        lines = [
            f"Hybrid Benefit on {self.cluster}: cluster licenseType={self.cluster_license} "
            f"(node resource group {self.node_resource_group})"
        ]
        for r in self.rows:
            what = f"{r.scale_set}" if r.instance is None else f"  instance {r.instance}"
            mark = "DRIFT" if r.drift else "ok"
            applied = (
                "" if r.latest_model_applied is None else f" latestModelApplied={r.latest_model_applied}"
            )
            lines.append(f"  [{mark}] {what}: licenseType={r.license_type or 'None'}{applied}")
        for pool in self.missing_pools:
            lines.append(f"  [MISSING] no scale set tagged aks-managed-poolName={pool}")
        lines.append("OK" if self.ok else f"{len(self.drift)} drifting, {len(self.missing_pools)} missing")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = html_table(
            ("pool", "scale set", "instance", "licenseType", "latestModelApplied", "state"),
            (
                (
                    r.pool,
                    r.scale_set,
                    r.instance or "(model)",
                    r.license_type or "None",
                    r.latest_model_applied,
                    "DRIFT" if r.drift else "ok",
                )
                for r in self.rows
            ),
            none="None",
        )
        return f"<p><b>{html.escape(self.cluster)}</b>: licenseType={html.escape(self.cluster_license)}</p>{table}"


def license_report(snapshot: ClusterSnapshot) -> LicenseReport:
    """Build the report from a snapshot read with scale sets (pure; Service facts: FAQ rules AHUB)."""
    expected = _norm(snapshot.license_type)
    rows: list[LicenseRow] = []
    missing: list[str] = []
    for pool in snapshot.windows_pools:
        vmss = snapshot.scale_set_for(pool.name)
        if vmss is None:
            missing.append(pool.name)
            continue
        rows.append(
            LicenseRow(
                pool.name,
                vmss.name,
                None,
                vmss.license_type,
                None,
                expected,
                _norm(vmss.license_type) != expected,
            )
        )
        for inst in vmss.instances:
            rows.append(
                LicenseRow(
                    pool.name,
                    vmss.name,
                    inst.instance_id,
                    inst.license_type,
                    inst.latest_model_applied,
                    expected,
                    _norm(inst.license_type) != expected,
                )
            )
    return LicenseReport(
        cluster=f"{snapshot.ref.resource_group}/{snapshot.ref.name}",
        node_resource_group=snapshot.node_resource_group,
        cluster_license=expected,
        rows=tuple(rows),
        missing_pools=tuple(missing),
    )


def verify_ahub(clients: AzureClients, resource_group: str, name: str) -> LicenseReport:
    """Report ``licenseType`` on every Windows scale set and instance, and drift from the cluster setting.

    FAQ: check with ``az vmss show`` in the node resource group; Service facts: FAQ rules: scale sets are found by
    the ``aks-managed-poolName`` tag in ``node_resource_group``. Read-only: 1 cluster GET, 1 scale set list and
    1 instance list per Windows pool.
    """
    snapshot = read_snapshot(clients, resource_group, name, upgrade_profiles=False, subnets=False)
    return license_report(snapshot)


class VerifyLicenses(VerifyStep):
    """The last step of an AHUB plan: every Windows scale set and instance carries the cluster's license."""

    def verify(self, step: Step, ctx: RunContext) -> str:
        cc = cluster_of(ctx)
        expected = _norm(str(step.params.get("license_type")))
        pools = step.params.get("pools") or []
        assert isinstance(pools, list)
        scale_sets = read_scale_sets(
            cc.clients, str(step.params["node_resource_group"]), {str(p) for p in pools}
        )
        wanted = step.params.get("instances")
        bad: list[str] = []
        checked = 0
        found = {s.pool_name for s in scale_sets}
        missing = [str(p) for p in pools if str(p) not in found]
        for vmss in scale_sets:
            if not isinstance(wanted, list):
                checked += 1
                if _norm(vmss.license_type) != expected:
                    bad.append(f"{vmss.name}/model={vmss.license_type or 'None'}")
            for inst in vmss.instances:
                if isinstance(wanted, list) and f"{vmss.name}/{inst.instance_id}" not in wanted:
                    continue
                checked += 1
                if _norm(inst.license_type) != expected:
                    bad.append(f"{vmss.name}/{inst.instance_id}={inst.license_type or 'None'}")
        if bad or (missing and not isinstance(wanted, list)):
            raise AzureOperationFailed(
                f"license drift after the change: {', '.join(bad) or 'scale sets not found for ' + ', '.join(missing)}",
                code="VerificationFailed",
            )
        return f"{checked} scale sets and instances carry licenseType={expected}"


class InstanceLicense:
    """License one scale set instance (FAQ: AHUB on individual nodes). Params: ``scale_set``, ``instance``, ``license_type``."""

    def _read(self, ctx: RunContext, step: Step) -> dict[str, Any]:
        cc = cluster_of(ctx)
        rg = str(step.params["node_resource_group"])
        vm = cc.clients.compute.virtual_machine_scale_set_vms.get(
            rg, str(step.params["scale_set"]), str(step.params["instance"])
        )
        result: dict[str, Any] = vm.as_dict()
        return result

    def check(self, step: Step, ctx: RunContext) -> StepState:
        props = self._read(ctx, step).get("properties") or {}
        if az.is_busy(props.get("provisioningState")):
            return StepState.IN_FLIGHT
        if _norm(props.get("licenseType")) == _norm(str(step.params["license_type"])):
            return StepState.DONE
        return StepState.READY

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        cc = cluster_of(ctx)

        def send() -> str:
            return az.begin_instance_license(
                cc.clients,
                str(step.params["node_resource_group"]),
                str(step.params["scale_set"]),
                str(step.params["instance"]),
                str(step.params["license_type"]),
            )

        def props() -> dict[str, Any]:
            found: dict[str, Any] = self._read(ctx, step).get("properties") or {}
            return found

        def landed() -> bool:
            return _norm(props().get("licenseType")) == _norm(str(step.params["license_type"]))

        token = send_write(ctx, step, send, lambda: props().get("provisioningState"), landed)
        return operation_handle(token, "vm")

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        wait_for_operation(
            ctx,
            step,
            operation,
            lambda: (self._read(ctx, step).get("properties") or {}).get("provisioningState"),
        )

    def verify(self, step: Step, ctx: RunContext) -> str:
        cluster_of(ctx).results.pop(step.id, None)
        props = self._read(ctx, step).get("properties") or {}
        if _norm(props.get("licenseType")) != _norm(str(step.params["license_type"])):
            raise AzureOperationFailed(
                f"instance {step.params['scale_set']}/{step.params['instance']} still has licenseType={props.get('licenseType')}",
                code="VerificationFailed",
            )
        return f"instance {step.params['scale_set']}/{step.params['instance']} licenseType={props.get('licenseType')}"


AHUB_ACTIONS = {
    **AZURE_ACTIONS,
    "update_windows_profile": WindowsProfileUpdate(),
    "verify_licenses": VerifyLicenses(),
    "license_instance": InstanceLicense(),
}


def _plan_cluster_license(
    clients: AzureClients, resource_group: str, name: str, license_type: str
) -> tuple[Plan, ClusterContext]:
    wire = az.get_cluster(clients, resource_group, name)
    snapshot = snapshot_from_wire(ClusterRef(clients.subscription_id, resource_group, name), wire)
    if not snapshot.has_windows_profile:
        raise InvalidInput(
            f"cluster {resource_group}/{name} has no Windows profile, so Hybrid Benefit cannot be set",
            remediation="Hybrid Benefit applies to Windows nodes; add a Windows profile when creating the cluster.",
        )
    resource = f"{resource_group}/{name}"
    target = f"{clients.subscription_id}/{resource}"
    windows = snapshot.windows_pools
    nodes = sum(p.count for p in windows)
    node_rg = str(snapshot.node_resource_group)
    context = ClusterContext(clients, resource_group, name, cluster_wire=wire)
    steps: list[Step] = []
    warnings: list[str] = []
    instances: list[str] | None = None
    state = snapshot.provisioning_state
    if _norm(snapshot.license_type) != license_type or state != "Succeeded":
        # The cluster change reimages every Windows node onto the new model: no need to read the nodes first.
        # The service shows the new licenseType as soon as it accepts the PUT: a cluster that says so but is
        # still updating gets a step that waits for that operation (the step sends nothing while it runs), and
        # one left Failed gets the setting sent again (a PUT to a failed cluster reconciles it).
        title = f"Set windowsProfile.licenseType={license_type}; reimages Windows pools: "
        if _norm(snapshot.license_type) == license_type:
            title = (
                f"Finish windowsProfile.licenseType={license_type} (the cluster is {state or 'in an unknown state'}: "
                "wait for the running operation, or send it again if it failed); Windows pools: "
            )
        steps.append(
            Step(
                id=f"license:{license_type}",
                kind="update_windows_profile",
                title=title + (", ".join(f"{p.name} ({p.count} nodes)" for p in windows) or "none"),
                resource=resource,
                reason="FAQ: `az aks update --enable-ahub` / `--disable-ahub`.",
                expected_seconds=BASE_SECONDS + PER_NODE_SECONDS * max(nodes - 1, 0),
                restarts_nodes=bool(windows),
                params={"license_type": license_type},
            )
        )
        warnings.append(
            f"Changing the license reimages every Windows node ({nodes} nodes); plan a maintenance window."
        )
    else:
        # The cluster already says so: look for drift and fix it node by node, as the FAQ allows.
        snapshot = replace(
            snapshot, scale_sets=tuple(read_scale_sets(clients, node_rg, {p.name for p in windows}))
        )
        report = license_report(snapshot)
        if report.ok:
            return (
                Plan(
                    procedure="ahub",
                    target=target,
                    noops=(
                        NoOp(
                            resource,
                            f"licenseType is already {license_type} on the cluster and every scale set",
                        ),
                    ),
                ),
                context,
            )
        for row in report.drift:
            if row.instance is None:
                warnings.append(
                    f"scale set {row.scale_set} model has licenseType={row.license_type or 'None'}; AKS re-applies "
                    "the cluster setting on the next update or node image upgrade"
                )
                continue
            steps.append(
                Step(
                    id=f"instance:{row.scale_set}/{row.instance}",
                    kind="license_instance",
                    title=f"Set licenseType={license_type} on {row.scale_set} instance {row.instance} (drifted)",
                    resource=f"{node_rg}/{row.scale_set}/{row.instance}",
                    reason="The cluster has the setting but this instance does not (drift).",
                    expected_seconds=60,
                    params={
                        "node_resource_group": node_rg,
                        "scale_set": row.scale_set,
                        "instance": row.instance,
                        "license_type": license_type,
                    },
                )
            )
        instances = [f"{r.scale_set}/{r.instance}" for r in report.drift if r.instance]
    params: dict[str, Any] = {
        "node_resource_group": node_rg,
        "pools": [p.name for p in windows],
        "license_type": license_type,
    }
    if instances is not None:
        params["instances"] = instances
    steps.append(
        Step(
            id="verify-licenses",
            kind="verify_licenses",
            title="Verify licenseType on every Windows scale set and instance",
            resource=f"{resource} (node resource group {node_rg})",
            reason="FAQ: check the scale sets in the node resource group, like `az vmss show`.",
            expected_seconds=5,
            params=params,
        )
    )
    return Plan(procedure="ahub", target=target, steps=tuple(steps), warnings=tuple(warnings)), context


def plan_enable_ahub(clients: AzureClients, resource_group: str, name: str) -> tuple[Plan, ClusterContext]:
    """Plan turning Azure Hybrid Benefit on for the cluster, with verification (FAQ AHUB; reimages Windows nodes)."""
    return _plan_cluster_license(clients, resource_group, name, LICENSE_ON)


def plan_disable_ahub(clients: AzureClients, resource_group: str, name: str) -> tuple[Plan, ClusterContext]:
    """Plan turning Azure Hybrid Benefit off (``licenseType=None``), with verification."""
    return _plan_cluster_license(clients, resource_group, name, _OFF)


def plan_ahub_for_nodes(
    clients: AzureClients,
    resource_group: str,
    name: str,
    *,
    instances: Iterable[str],
    license_type: str = LICENSE_ON,
) -> tuple[Plan, ClusterContext]:
    """Plan licensing individual Windows nodes in the node resource group (the FAQ allows it).

    Args:
        clients: the client bundle.
        resource_group: the cluster's resource group.
        name: the cluster's name.
        instances: ``pool/instanceId`` or ``scaleSetName/instanceId`` entries.
        license_type: ``Windows_Server`` (on) or ``None``.

    Raises:
        InvalidInput: an entry names no Windows scale set instance (nothing is sent).
    """
    if license_type not in (LICENSE_ON, _OFF):
        raise InvalidInput(f"the license type must be {LICENSE_ON} or {_OFF}")
    wanted = list(instances)
    if not wanted:
        raise InvalidInput("name at least one instance (pool/instanceId)")
    snapshot = read_snapshot(clients, resource_group, name, upgrade_profiles=False, subnets=False)
    problems: list[str] = []
    resolved: list[tuple[str, str]] = []
    for entry in wanted:
        if "/" not in entry:
            problems.append(f"{entry!r}: use pool/instanceId or scaleSet/instanceId")
            continue
        owner, instance = entry.rsplit("/", 1)
        vmss = snapshot.scale_set_for(owner) or next(
            (s for s in snapshot.scale_sets if s.name == owner), None
        )
        if vmss is None:
            problems.append(f"{entry!r}: no Windows scale set for {owner!r}")
            continue
        if instance not in {i.instance_id for i in vmss.instances}:
            problems.append(f"{entry!r}: scale set {vmss.name} has no instance {instance}")
            continue
        resolved.append((vmss.name, instance))
    if problems:
        raise InvalidInput(problems)
    node_rg = str(snapshot.node_resource_group)
    steps = [
        Step(
            id=f"instance:{vmss}/{instance}",
            kind="license_instance",
            title=f"Set licenseType={license_type} on {vmss} instance {instance}",
            resource=f"{node_rg}/{vmss}/{instance}",
            reason="FAQ: Hybrid Benefit can be applied to individual nodes in the node resource group.",
            expected_seconds=60,
            params={
                "node_resource_group": node_rg,
                "scale_set": vmss,
                "instance": instance,
                "license_type": license_type,
            },
        )
        for vmss, instance in resolved
    ]
    steps.append(
        Step(
            id="verify-licenses",
            kind="verify_licenses",
            title="Verify the instances' licenseType",
            resource=node_rg,
            reason="Read the instances back.",
            expected_seconds=5,
            params={
                "instances": [f"{v}/{i}" for v, i in resolved],
                "license_type": license_type,
                "node_resource_group": node_rg,
                "pools": [p.name for p in snapshot.windows_pools],
            },
        )
    )
    warnings = (
        "AKS may re-apply its own model over per-node edits (a cluster update, upgrade or reimage resets them); "
        "set it on the cluster to make it stick.",
    )
    return (
        Plan(
            procedure="ahub-nodes",
            target=f"{clients.subscription_id}/{resource_group}/{name}",
            steps=tuple(steps),
            warnings=warnings,
        ),
        ClusterContext(clients, resource_group, name),
    )


def apply_ahub(plan: Plan, context: ClusterContext, **options: Unpack[ApplyOptions]) -> ApplyResult:
    """Apply an Azure Hybrid Benefit plan, cluster-wide or per node (FAQ: Azure Hybrid Benefit with Windows nodes).

    The same as :func:`aks_windows_ops.apply`, with the same options (``checkpoints``, ``time_budget``,
    ``on_event``, ``stop_after``), kept so that existing code keeps working; ``apply`` takes a plan of any
    procedure. A plan of another procedure is refused before anything is sent.
    """
    return apply_as(("ahub", "ahub-nodes"), plan, context, **options)
