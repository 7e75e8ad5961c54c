"""The pool steps two procedures share: create a pool, delete one, build a faithful replacement.

Creating waits for Ready nodes; the replacement's properties are copied from the existing pool.

FAQ "How do I rotate the service principal for my Windows node pool?" and "Why am I seeing an error when I try
to create a new Windows agent pool?": both end in a new pool beside the old one; adding a pool is the same
create step. Used by :mod:`.pools` (add a pool) and :mod:`.migrate` (replace one), which do not import each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aks_windows_ops.azure import actions as az
from aks_windows_ops.errors import AzureOperationFailed, InvalidInput, NotFound, UnsafeOperation
from aks_windows_ops.models import ClusterSnapshot, PoolSnapshot
from aks_windows_ops.rules.validation import (
    check_pool_spec,
)
from aks_windows_ops.runbooks.plan import Step
from aks_windows_ops.runbooks.runner import RunContext, StepState
from aks_windows_ops.runbooks.steps import (
    AZURE_ACTIONS,
    JsonOp,
    cluster_of,
    operation_handle,
    param_number,
    properties_of,
    send_write,
    wait_for_operation,
)

__all__ = [
    "POOL_ACTIONS",
    "REMOVE",
    "CreatePool",
    "DeletePool",
    "check_new_pool",
    "create_pool_step",
    "new_pool_name",
    "pool_properties",
    "replacement_properties",
]

#: Marks a property the replacement must not carry (the service then picks it, e.g. the newest node image).
REMOVE: Any = object()

#: Service facts: ARM behaviour: adding a pool takes 5-8 minutes.
CREATE_SECONDS = 6.5 * 60
DELETE_SECONDS = 4 * 60
#: Seconds between node readiness polls after a pool create (on the run's clock: virtual in a rehearsal).
NODE_POLL_SECONDS = 10.0


def pool_properties(
    *,
    os_type: str,
    os_sku: str | None,
    count: int,
    vm_size: str,
    max_pods: int | None,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[str] = (),
    subnet: str | None = None,
    zones: Sequence[str] = (),
    max_surge: str | None = None,
    orchestrator_version: str | None = None,
    autoscale: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The wire properties of a new User pool, as ``az aks nodepool add`` sends them (Service facts: How the Azure CLI does it)."""
    props: dict[str, Any] = {
        "osType": os_type,
        "mode": "User",
        "count": count,
        "vmSize": vm_size,
        "type": "VirtualMachineScaleSets",
        "upgradeSettings": {"maxSurge": max_surge or "10%"},
    }
    if os_sku:
        props["osSKU"] = os_sku
    if max_pods is not None:
        props["maxPods"] = max_pods
    if labels:
        props["nodeLabels"] = dict(labels)
    if taints:
        props["nodeTaints"] = list(taints)
    if subnet:
        props["vnetSubnetID"] = subnet
    if zones:
        props["availabilityZones"] = list(zones)
    if orchestrator_version:
        props["orchestratorVersion"] = orchestrator_version
    if autoscale is not None:
        props["enableAutoScaling"] = True
        props["minCount"], props["maxCount"] = autoscale
    return props


def _ready_nodes(ctx: RunContext, pool: str) -> tuple[int, int]:
    from aks_windows_ops.kube.workloads import pool_nodes

    cc = cluster_of(ctx)
    nodes = pool_nodes(cc.kube, pool)
    return sum(1 for _, ready in nodes if ready), len(nodes)


class CreatePool:
    """Create a pool and wait for Succeeded and Ready nodes. Params: ``pool``, ``properties`` (wire JSON)."""

    def _get(self, ctx: RunContext, pool: str) -> dict[str, Any] | None:
        cc = cluster_of(ctx)
        try:
            return properties_of(az.get_pool(cc.clients, cc.resource_group, cc.name, pool))
        except NotFound:
            return None

    def check(self, step: Step, ctx: RunContext) -> StepState:
        cc = cluster_of(ctx)
        pool = str(step.params["pool"])
        if cc.cluster_wire is not None and pool not in cc.pool_cache:
            return StepState.READY  # the plan's reading (moments ago) has no such pool
        props = self._get(ctx, pool)
        if props is None:
            return StepState.READY
        state = props.get("provisioningState")
        if az.is_busy(state):
            return StepState.IN_FLIGHT
        if state == "Succeeded":
            return StepState.DONE
        raise AzureOperationFailed(
            f"pool {step.params['pool']} exists in state {state}; delete it before creating it again",
            code="PoolInFailedState",
            remediation=f"az aks nodepool delete --name {step.params['pool']} (it holds no workload yet), then run again.",
        )

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        cc = cluster_of(ctx)
        pool = str(step.params["pool"])
        properties = step.params["properties"]
        assert isinstance(properties, Mapping)
        cc.forget(pool)
        send = lambda: az.begin_pool_create(cc.clients, cc.resource_group, cc.name, pool, dict(properties))  # noqa: E731
        state = lambda: (self._get(ctx, pool) or {}).get("provisioningState")  # noqa: E731
        return operation_handle(
            send_write(ctx, step, send, state, lambda: self._get(ctx, pool) is not None), "pool"
        )

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        pool = str(step.params["pool"])
        wait_for_operation(
            ctx, step, operation, lambda: (self._get(ctx, pool) or {}).get("provisioningState")
        )
        cc = cluster_of(ctx)
        if cc.kube is not None:
            want = int(param_number(step, "count", 0))
            ctx.poll_until(
                lambda: _ready_nodes(ctx, pool)[0] >= want,
                interval=NODE_POLL_SECONDS,
                what=f"{want} Ready nodes in pool {pool}",
                describe=lambda: f"pool {pool}: {_ready_nodes(ctx, pool)[0]}/{want} nodes Ready",
            )

    def verify(self, step: Step, ctx: RunContext) -> str:
        cc = cluster_of(ctx)
        pool = str(step.params["pool"])
        props = properties_of(cc.results.pop(step.id, None)) or self._get(ctx, pool) or {}
        if props.get("provisioningState") != "Succeeded":
            raise AzureOperationFailed(
                f"pool {pool} is {props.get('provisioningState')}", code="VerificationFailed"
            )
        message = f"pool {pool} Succeeded with {props.get('count')} nodes ({props.get('osSKU')}, {props.get('nodeImageVersion')})"
        if cc.kube is not None:
            ready, total = _ready_nodes(ctx, pool)
            if ready < int(param_number(step, "count", 0)):
                raise AzureOperationFailed(
                    f"pool {pool} has {ready}/{total} Ready nodes", code="VerificationFailed"
                )
            message += f", {ready} nodes Ready"
        return message


class DeletePool:
    """Delete a pool once nothing that must live on it is left (design principle "never lose a workload"). Params: ``pool``."""

    def _get(self, ctx: RunContext, pool: str) -> dict[str, Any] | None:
        cc = cluster_of(ctx)
        try:
            return properties_of(az.get_pool(cc.clients, cc.resource_group, cc.name, pool))
        except NotFound:
            return None

    def check(self, step: Step, ctx: RunContext) -> StepState:
        # The plan's reading serves on a first run (the pool was not written since); a resume re-reads.
        props = cluster_of(ctx).pool(str(step.params["pool"]))
        if props is None:
            return StepState.DONE
        if az.is_busy(props.get("provisioningState")):
            return StepState.IN_FLIGHT
        return StepState.READY

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        cc = cluster_of(ctx)
        pool = str(step.params["pool"])
        props = cc.pool(pool) or {}
        cc.forget(pool)
        if props.get("mode") == "System":
            raise UnsafeOperation(f"pool {pool} is a System pool: this runbook never deletes one")
        if cc.kube is not None:
            from aks_windows_ops.kube.workloads import movable_pods, pool_nodes

            left = movable_pods(cc.kube, [n for n, _ in pool_nodes(cc.kube, pool)])
            if left:
                names = ", ".join(f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in left[:5])
                raise UnsafeOperation(
                    f"pool {pool} still runs {len(left)} controller-owned pods ({names}); refusing to delete it",
                    remediation="Drain the pool first (the migrate runbook does it), then run again.",
                )
        send = lambda: az.begin_pool_delete(cc.clients, cc.resource_group, cc.name, pool)  # noqa: E731

        def state() -> str | None:
            return (self._get(ctx, pool) or {}).get("provisioningState")

        return operation_handle(
            send_write(ctx, step, send, state, lambda: state() in (None, "Deleting")), "pool_delete"
        )

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        pool = str(step.params["pool"])
        wait_for_operation(
            ctx, step, operation, lambda: (self._get(ctx, pool) or {}).get("provisioningState")
        )

    def verify(self, step: Step, ctx: RunContext) -> str:
        cc = cluster_of(ctx)
        if step.id in cc.results:
            # The delete operation itself reported Succeeded: the pool is gone.
            cc.results.pop(step.id)
            return f"pool {step.params['pool']} deleted"
        props = self._get(ctx, str(step.params["pool"]))
        if props is not None:
            raise AzureOperationFailed(
                f"pool {step.params['pool']} still exists ({props.get('provisioningState')})",
                code="VerificationFailed",
            )
        return f"pool {step.params['pool']} deleted"


POOL_ACTIONS = {**AZURE_ACTIONS, "create_pool": CreatePool(), "delete_pool": DeletePool()}


def create_pool_step(name: str, resource: str, properties: dict[str, Any], reason: str) -> Step:
    """The step that creates a pool (shared with the migrate runbook)."""
    count = int(properties.get("count") or 0)
    return Step(
        id=f"create-pool:{name}",
        kind="create_pool",
        title=f"Create {properties.get('osSKU') or properties.get('osType')} pool {name} ({count} x {properties.get('vmSize')}, max pods {properties.get('maxPods', 'default')})",
        resource=f"{resource}/{name}",
        reason=reason,
        expected_seconds=CREATE_SECONDS,
        params={"pool": name, "count": count, "properties": properties},
    )


def check_new_pool(
    snapshot: ClusterSnapshot,
    name: str,
    properties: Mapping[str, Any],
    *,
    pods_wanted: int | None = None,
    control_plane_first: bool = False,
) -> list[str]:
    """Every FAQ rule a new pool must meet, against the cluster (Service facts: FAQ rules; Azure CNI capacity)."""
    problems = check_pool_spec(
        name=name,
        os_type=str(properties["osType"]),
        count=int(properties["count"]),
        os_sku=properties.get("osSKU"),
        max_pods=properties.get("maxPods"),
        orchestrator_version=properties.get("orchestratorVersion"),
        max_surge=(properties.get("upgradeSettings") or {}).get("maxSurge"),
        vnet_subnet_id=properties.get("vnetSubnetID"),
        pods_wanted=pods_wanted,
        cluster=snapshot,
    )
    if control_plane_first:
        # The plan upgrades the control plane before the create, which clears the pre-2020 image reference.
        problems = [p for p in problems if "February-2020" not in p and "pre-2020" not in p]
    return problems


def _unused(name: str, snapshot: ClusterSnapshot) -> bool:
    return name not in {p.name for p in snapshot.pools}


def new_pool_name(old: PoolSnapshot, snapshot: ClusterSnapshot) -> str:
    """A valid, unused Windows pool name derived from the old one (<= 6 characters, FAQ naming rule)."""
    stem = "".join(ch for ch in old.name if ch.isalnum()).lower()[:5] or "win"
    if not stem[0].isalpha():
        stem = "w" + stem[:4]
    for suffix in "23456789abcdefghijklmnopqrstuvwxyz":
        candidate = (stem[:5] + suffix)[:6]
        if _unused(candidate, snapshot) and candidate != old.name:
            return candidate
    raise InvalidInput("could not derive an unused pool name; name the new pool (--new-pool)")


def _show(value: Any) -> str:
    if value is REMOVE or value is None:
        return "(not set)"
    if isinstance(value, (Mapping, list, tuple)):
        import json

        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def replacement_properties(
    old: Mapping[str, Any], changes: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """A faithful copy of a pool's settable properties with only the intended changes, and each difference.

    FAQ pool replacement (service principal rotation, old-image error, Windows Server 2019, max pods): the new
    pool keeps every property of the old one (VM size, count or autoscaler bounds, zones, subnets, labels,
    taints, tags, OS disk, spot settings, public IPs, GPU, Windows profile, kubelet and OS configuration,
    upgrade settings, and any property a newer API adds) except those the procedure sets in ``changes``.

    Args:
        old: the old pool's settable properties (``azure.pool_spec.get_pool_settable``).
        changes: property -> new value, or :data:`REMOVE` to leave it to the service.

    Returns:
        The new pool's properties and one line per difference (``osSKU: Windows2019 -> Windows2022``).
    """
    import copy

    new = copy.deepcopy(dict(old))
    differences: list[str] = []
    for key, value in changes.items():
        before = old.get(key, REMOVE)
        if value is REMOVE:
            new.pop(key, None)
        else:
            new[key] = copy.deepcopy(value)
        if _show(before) != _show(value):
            differences.append(
                f"{key}: {_show(before)} -> {_show(value) if value is not REMOVE else '(set by AKS)'}"
            )
    return new, differences
