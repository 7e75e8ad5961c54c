"""Add a Windows pool with every FAQ check first (its create step lives in :mod:`.pool_steps`, shared with migrate).

FAQ "Why am I seeing an error when I try to deploy Windows pods?": ``az aks nodepool add ... --max-pods`` with a
high enough value. Before the one PUT (Service facts: How the Azure CLI does it): the name (<= 6 characters, unused), the OS SKU
against the Kubernetes version, Azure CNI, pool and node limits, max pods against the pods the caller means to
run (``No available addresses``) and against the subnet's free addresses with surge (Service facts: Azure CNI capacity), and
the pre-2020 old-image error (upgrade the control plane first). Then wait for Succeeded and Ready nodes, verify.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import read_subnet_usage, snapshot_from_wire
from aks_windows_ops.azure.registry import registry_reader_for
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import ClusterRef, OsType
from aks_windows_ops.rules.image_builds import host_build_of_sku
from aks_windows_ops.rules.validation import (
    check_pool_spec,
    check_subnet_id,
    default_os_sku,
    normalize_os_sku,
)
from aks_windows_ops.runbooks.image_check import check_workload_images
from aks_windows_ops.runbooks.plan import Plan
from aks_windows_ops.runbooks.pool_steps import (
    POOL_ACTIONS,
    CreatePool,
    DeletePool,
    check_new_pool,
    create_pool_step,
    pool_properties,
    replacement_properties,
)
from aks_windows_ops.runbooks.procedures import ApplyOptions, apply_as
from aks_windows_ops.runbooks.runner import ApplyResult
from aks_windows_ops.runbooks.steps import (
    ClusterContext,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from typing_extensions import Unpack

__all__ = [
    "POOL_ACTIONS",
    "CreatePool",
    "DeletePool",
    "apply_add_pool",
    "plan_add_pool",
    "plan_add_windows_pool",
    "pool_properties",
    "replacement_properties",
]


def plan_add_pool(
    clients: AzureClients,
    resource_group: str,
    name: str,
    pool: str,
    *,
    os_sku: str | None = None,
    count: int = 1,
    vm_size: str = "Standard_D4s_v5",
    max_pods: int | None = None,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[str] = (),
    subnet: str | None = None,
    zones: Sequence[str] = (),
    max_surge: str | None = None,
    pods_wanted: int | None = None,
    kube: Any = None,
    allow_incompatible_images: bool = False,
    registry: Callable[[str], Any] | None = None,
) -> tuple[Plan, ClusterContext]:
    """Plan ``az aks nodepool add --os-type Windows`` with every FAQ check first (module docstring).

    Args:
        clients: the client bundle.
        resource_group: the cluster's resource group.
        name: the cluster's name.
        pool: the new pool's name (1-6 characters).
        os_sku: ``Windows2022`` / ``Windows2025`` / ``Windows2019``; the version's default when omitted.
        count: nodes.
        vm_size: VM size.
        max_pods: pods per node (the plugin's default when omitted).
        labels: node labels.
        taints: node taints (e.g. ``os=windows:NoSchedule``).
        subnet: the node subnet id; the first pool's subnet when omitted.
        zones: availability zones.
        max_surge: surge for later upgrades.
        pods_wanted: how many pods you mean to run on it (checked against ``count x max_pods``).
        kube: a Kubernetes ``ApiClient``: the workloads that would land on the new pool (Windows pod
            templates its labels and taints admit) have their images checked against its Windows build.
            Without it the images are not checked, and the plan says so.
        allow_incompatible_images: plan even when such an image cannot run on the new pool's build.
        registry: image -> supported builds (``azure.registry.RegistryReader``); one with the clients'
            credential by default.

    Raises:
        InvalidInput: any rule broken (every problem listed; nothing sent).
        UnsafeOperation: a workload that would land on the pool has an image its build cannot run.
    """
    # Rules that need no cluster are checked before the first request (bad input sends nothing).
    early: list[str] = []
    if os_sku is not None:
        try:
            os_sku = normalize_os_sku(os_sku)  # the service's spelling: windows2022 -> Windows2022
        except InvalidInput as err:
            early.extend(err.problems)
    if subnet is not None:
        early.extend(check_subnet_id(subnet))
    if early:
        raise InvalidInput(early)
    static = check_pool_spec(
        name=pool,
        os_type=OsType.WINDOWS,
        count=count,
        os_sku=os_sku,
        max_pods=max_pods,
        max_surge=max_surge,
        pods_wanted=pods_wanted,
    )
    if static:
        raise InvalidInput(static)
    wire = az.get_cluster(clients, resource_group, name)
    snapshot = snapshot_from_wire(ClusterRef(clients.subscription_id, resource_group, name), wire)
    snapshot = replace(
        snapshot,
        subnets=tuple(
            read_subnet_usage(clients, [p.vnet_subnet_id or "" for p in snapshot.pools] + [subnet or ""])
        ),
    )
    if subnet is None:
        subnet = next((p.vnet_subnet_id for p in snapshot.pools if p.vnet_subnet_id), None)
    sku = os_sku or default_os_sku(OsType.WINDOWS, snapshot.current_kubernetes_version).value
    properties = pool_properties(
        os_type="Windows",
        os_sku=sku,
        count=count,
        vm_size=vm_size,
        max_pods=max_pods,
        labels=labels,
        taints=taints,
        subnet=subnet,
        zones=zones,
        max_surge=max_surge,
    )
    problems = check_new_pool(snapshot, pool, properties, pods_wanted=pods_wanted)
    if problems:
        old_image = [p for p in problems if "February-2020" in p or "pre-2020" in p]
        raise InvalidInput(
            problems,
            remediation=(
                "Upgrade the control plane first (aks-windows-ops patch --kubernetes-version ...), then add the pool."
                if old_image
                else None
            ),
        )
    warnings = _image_warnings(
        clients,
        pool,
        sku,
        properties,
        kube,
        allow_incompatible_images=allow_incompatible_images,
        registry=registry,
    )
    resource = f"{resource_group}/{name}"
    steps = [
        create_pool_step(
            pool, resource, properties, "FAQ: add a Windows pool (az aks nodepool add --os-type Windows)."
        )
    ]
    plan = Plan(
        procedure="add-pool",
        target=f"{clients.subscription_id}/{resource}",
        steps=tuple(steps),
        warnings=tuple(warnings),
    )
    return plan, ClusterContext(clients, resource_group, name, cluster_wire=wire)


#: The earlier name of :func:`plan_add_pool` (the planner of the ``add-pool`` procedure), kept for existing code.
plan_add_windows_pool = plan_add_pool


def _image_warnings(
    clients: AzureClients,
    pool: str,
    sku: str,
    properties: Mapping[str, Any],
    kube: Any,
    *,
    allow_incompatible_images: bool,
    registry: Callable[[str], Any] | None,
) -> list[str]:
    """Check the images of the workloads that would land on the new pool (FAQ: process isolation only)."""
    host_build = host_build_of_sku(sku)
    if host_build is None:
        return []
    if kube is None:
        return [
            f"the images of workloads that may land on pool {pool} were not checked (no Kubernetes access)"
        ]
    from aks_windows_ops.kube.workloads import aks_node_labels, container_images, read_landing_workloads

    labels = aks_node_labels(pool, os_type="Windows", os_sku=sku, labels=properties.get("nodeLabels") or {})
    landing = read_landing_workloads(kube, labels, properties.get("nodeTaints") or ())
    if landing is None:
        return [
            f"the images of workloads that may land on pool {pool} were not checked (Kubernetes API not readable)"
        ]
    resolve = registry if registry is not None else registry_reader_for(clients)
    _, warnings = check_workload_images(
        container_images(landing),
        host_build,
        resolve,
        pool=pool,
        allow_incompatible=allow_incompatible_images,
    )
    return warnings


def apply_add_pool(plan: Plan, context: ClusterContext, **options: Unpack[ApplyOptions]) -> ApplyResult:
    """Apply an add-pool plan from :func:`plan_add_pool` (FAQ: Windows pod limits and pool names).

    The same as :func:`aks_windows_ops.apply`, with the same options (``checkpoints``, ``time_budget``,
    ``on_event``, ``stop_after``), kept so that existing code keeps working; ``apply`` takes a plan of any
    procedure. A plan of another procedure is refused before anything is sent.
    """
    return apply_as(("add-pool",), plan, context, **options)
