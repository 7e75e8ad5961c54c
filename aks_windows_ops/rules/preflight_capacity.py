"""Preflight rules about room: max pods, subnet room for surges and replacement pools, Windows pod slots.

FAQ "Why am I seeing an error when I try to deploy Windows pods?", "Can I change the maximum number of pods per
node?" and the Azure CNI address arithmetic of :mod:`aks_windows_ops.rules.capacity`. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import ClusterSnapshot, Finding, PoolSnapshot
from aks_windows_ops.rules import capacity, validation
from aks_windows_ops.rules import finding_kinds as kinds
from aks_windows_ops.rules.findings import cluster_resource, pool_resource
from aks_windows_ops.rules.pod_templates import pod_templates

__all__ = [
    "WINDOWS_MAX_PODS_LOW",
    "WINDOWS_MAX_PODS_RECOMMENDED",
    "capacity_findings",
    "workload_capacity_findings",
]


#: Below the Azure CNI node-subnet default (30) a Windows pool runs out of pod slots early: the Windows
#: DaemonSets (CNI, CSI drivers, cloud-node-manager, monitoring) take several, and the rest fail with the FAQ's
#: ``No available addresses`` ("Why am I seeing an error when I try to deploy Windows pods?").
WINDOWS_MAX_PODS_LOW = 30
#: Service facts: FAQ rules: 110 is the recommended ceiling for Windows nodes even where 250 is allowed.
WINDOWS_MAX_PODS_RECOMMENDED = 110


def _effective_max_pods(s: ClusterSnapshot, pool: PoolSnapshot) -> int:
    if pool.max_pods is not None:
        return pool.max_pods
    return validation.default_max_pods(s.network_plugin, s.network_plugin_mode, pool.pod_subnet_id)


def _rule_max_pods(s: ClusterSnapshot) -> Iterator[Finding]:
    """Service facts: FAQ rules (max pods) and FAQ "Why am I seeing an error when I try to deploy Windows pods?"."""
    for pool in s.pools:
        if pool.max_pods is None:
            continue
        problems = validation.check_max_pods(pool.max_pods)
        if problems:
            yield kinds.MAX_PODS_OUT_OF_RANGE.at(
                pool_resource(pool), f"pool {pool.name}: " + "; ".join(problems)
            )
            continue
        if not pool.is_windows:
            continue
        if pool.max_pods < WINDOWS_MAX_PODS_LOW:
            yield kinds.WINDOWS_MAX_PODS_LOW.at(
                pool_resource(pool),
                f"Windows pool {pool.name} allows {pool.max_pods} pods per node; system DaemonSets take several, "
                "and pods beyond the rest fail with 'No available addresses'.",
            )
        elif pool.max_pods > WINDOWS_MAX_PODS_RECOMMENDED:
            yield kinds.WINDOWS_MAX_PODS_HIGH.at(
                pool_resource(pool),
                f"Windows pool {pool.name} allows {pool.max_pods} pods per node; "
                f"{WINDOWS_MAX_PODS_RECOMMENDED} is the recommended maximum for Windows nodes.",
                remediation=(
                    f"Consider a pool with max pods <= {WINDOWS_MAX_PODS_RECOMMENDED}: `aks-windows-ops migrate "
                    "--reason max-pods`."
                ),
            )


def _rule_subnets(s: ClusterSnapshot) -> Iterator[Finding]:
    """Service facts: Azure CNI capacity: room in the pool's subnets for an upgrade's surge nodes."""
    if not s.subnets:
        return
    for pool in s.pools:
        try:
            mode = capacity.cni_mode(s.network_plugin, s.network_plugin_mode, pool.pod_subnet_id)
            surge = capacity.surge_nodes(pool.count, pool.max_surge)
        except InvalidInput as exc:
            yield kinds.MAX_SURGE_INVALID.at(pool_resource(pool), f"pool {pool.name}: {exc}")
            continue
        if surge == 0:
            continue
        max_pods = _effective_max_pods(s, pool)
        per_node = max_pods + 1 if mode is capacity.CniMode.NODE_SUBNET else 1
        checks = [("node", pool.vnet_subnet_id, surge * per_node)]
        if mode is capacity.CniMode.POD_SUBNET:
            checks.append(("pod", pool.pod_subnet_id, surge * capacity.POD_SUBNET_BATCH))
        for label, subnet_id, needed in checks:
            usage = s.subnet(subnet_id)
            if usage is None:
                continue
            verdict = capacity.fits(usage, needed)
            if verdict.fits:
                continue
            yield kinds.SUBNET_NO_SURGE_ROOM.at(
                pool_resource(pool),
                f"pool {pool.name}: an upgrade surges {surge} node(s) needing {needed} {label}-subnet addresses: "
                f"{verdict.message}. The upgrade would fail with SubnetIsFull.",
            )


def _rule_replacement_room(s: ClusterSnapshot) -> Iterator[Finding]:
    """Room in a Windows pool's subnet for its replacement (Service facts: Azure CNI capacity).

    The FAQ's fixes for service principal rotation, the pre-2020 image and a max pods change, and the move off
    Windows Server 2019, all create a new pool beside the old one: say early when it cannot fit.
    """
    if not s.subnets:
        return
    for pool in s.windows_pools:
        usage = s.subnet(pool.vnet_subnet_id)
        if usage is None or pool.count <= 0:
            continue
        try:
            mode = capacity.cni_mode(s.network_plugin, s.network_plugin_mode, pool.pod_subnet_id)
            need = capacity.addresses_needed(
                count=pool.count, max_pods=_effective_max_pods(s, pool), mode=mode, max_surge=pool.max_surge
            )
        except InvalidInput:
            continue
        verdict = capacity.fits(usage, need.node_subnet)
        if verdict.fits:
            continue
        yield kinds.NO_ROOM_FOR_REPLACEMENT_POOL.at(
            pool_resource(pool),
            f"a replacement for Windows pool {pool.name} ({pool.count} nodes, max pods {_effective_max_pods(s, pool)}) "
            f"would not fit beside it: {verdict.message}.",
        )


def _workload_capacity(s: ClusterSnapshot, manifests: list[Mapping[str, Any]]) -> Iterator[Finding]:
    """FAQ "Why am I seeing an error when I try to deploy Windows pods?": pods wanted vs Windows pod slots."""
    templates = [t for t in pod_templates(manifests) if t.is_windows]
    if not templates or not s.windows_pools:
        return
    daemons = sum(1 for t in templates if t.replicas is None)
    wanted = sum(t.replicas or 0 for t in templates)
    slots = sum(max(_effective_max_pods(s, p) - daemons, 0) * p.count for p in s.windows_pools)
    if wanted <= slots:
        return
    yield kinds.WINDOWS_POD_CAPACITY_EXCEEDED.at(
        cluster_resource(s),
        f"the Windows workloads ask for {wanted} pods but the Windows pools have {slots} pod slots "
        f"(max pods x nodes, less {daemons} DaemonSet pod(s) per node); the rest fail with "
        "'No available addresses' or stay Pending.",
    )


def capacity_findings(s: ClusterSnapshot) -> Iterator[Finding]:
    """Max pods, surge room and replacement room for a cluster (FAQ "Can I change the maximum number of pods ...").

    Args:
        s: the cluster.

    Yields:
        ``MAX_PODS_OUT_OF_RANGE``, ``WINDOWS_MAX_PODS_LOW``/``HIGH``, ``MAX_SURGE_INVALID``,
        ``SUBNET_NO_SURGE_ROOM``, ``NO_ROOM_FOR_REPLACEMENT_POOL``.
    """
    yield from _rule_max_pods(s)
    yield from _rule_subnets(s)
    yield from _rule_replacement_room(s)


def workload_capacity_findings(s: ClusterSnapshot, manifests: list[Mapping[str, Any]]) -> Iterator[Finding]:
    """Pods the Windows workloads want against the Windows pools' pod slots (FAQ "... deploy Windows pods?").

    Args:
        s: the cluster.
        manifests: the workloads.

    Yields:
        ``WINDOWS_POD_CAPACITY_EXCEEDED`` when they do not fit.
    """
    yield from _workload_capacity(s, manifests)
