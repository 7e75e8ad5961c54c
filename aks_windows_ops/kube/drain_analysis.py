"""Drain analysis before any write: budgets that never allow an eviction, unmanaged pods, room on a new pool.

A drain (kubectl drain, or an AKS upgrade draining each node) evicts pods through the Eviction API, which a
PodDisruptionBudget with no allowed disruption refuses for ever (Service facts: Moving pods). Everything here is read
from the objects' specs, so the migrate and patch runbooks refuse before creating a pool or starting an upgrade
rather than after a drain timed out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from aks_windows_ops.kube.workloads import (
    Manifest,
    _controller_owner,
    _key,
    _meta,
    as_manifest,
    is_daemonset_pod,
    is_finished,
    is_mirror_pod,
    pods_on_nodes,
    pool_nodes,
    selector_matches,
)

__all__ = [
    "DrainFinding",
    "blocking_budgets",
    "budgets_blocking_pools",
    "node_allocatable",
    "pod_requests",
    "pool_room",
    "read_pods_and_budgets",
    "unmanaged_pods",
]


@dataclass(frozen=True)
class DrainFinding:
    """Something visible before any write that would stop a drain or leave pods without a place.

    Attributes:
        code: ``PDB_NEVER_ALLOWS_EVICTION``, ``POD_WITHOUT_CONTROLLER`` or ``NEW_POOL_TOO_SMALL``.
        subject: the PDB, pod or pool concerned (``namespace/name``).
        message: one sentence with the numbers.
        remediation: what to change.
    """

    code: str
    subject: str
    message: str
    remediation: str

    def __str__(self) -> str:
        return f"{self.message} ({self.remediation})"


def _int_or_percent(value: Any, total: int) -> tuple[int, bool] | None:
    """An IntOrString scaled to ``total``, rounded up as the disruption controller does; ``None`` if malformed."""
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return math.ceil(float(text[:-1]) * total / 100), True
        return int(text), False
    except ValueError:
        return None


def blocking_budgets(
    pdbs: Iterable[Any], pods: Iterable[Any], *, evicting: Iterable[Any] | None = None
) -> list[DrainFinding]:
    """PodDisruptionBudgets that can never allow an eviction, read from their spec before anything is sent.

    kubectl drain and AKS upgrades evict through the Eviction API, which a budget with no allowed disruption
    refuses for ever (Service facts: Moving pods; the disruption controller's rules): ``maxUnavailable: 0`` or
    ``0%``; ``minAvailable`` at or above the number of pods it selects (``100%``); and ``maxUnavailable`` or a
    percentage ``minAvailable`` over pods without a controller, which the disruption controller cannot count.

    Args:
        pdbs: PodDisruptionBudget manifests or client objects.
        pods: every pod of the cluster (the budgets' pods are counted among them).
        evicting: the pods a drain would evict; budgets selecting none of them are ignored (all when omitted).
    """
    all_pods = [as_manifest(p) for p in pods]
    live = [p for p in all_pods if not is_finished(p) and not _meta(p).get("deletionTimestamp")]
    targets = None if evicting is None else {str(_meta(as_manifest(p)).get("uid")) for p in evicting}
    out: list[DrainFinding] = []
    for raw in pdbs:
        pdb = as_manifest(raw)
        meta, spec = _meta(pdb), pdb.get("spec") or {}
        namespace = str(meta.get("namespace") or "default")
        name = f"{namespace}/{meta.get('name')}"
        selector = spec.get("selector")
        matched = [
            p
            for p in live
            if str(_meta(p).get("namespace") or "default") == namespace
            and selector_matches(selector, _meta(p).get("labels") or {})
        ]
        if not matched or (
            targets is not None and not any(str(_meta(p).get("uid")) in targets for p in matched)
        ):
            continue
        total = len(matched)
        unmanaged = [p for p in matched if _controller_owner(p) is None]
        selected = f"it selects {total} pod(s)"
        if spec.get("maxUnavailable") is not None:
            parsed = _int_or_percent(spec["maxUnavailable"], total)
            if parsed is not None and parsed[0] <= 0:
                out.append(
                    DrainFinding(
                        "PDB_NEVER_ALLOWS_EVICTION",
                        name,
                        f"PodDisruptionBudget {name} has maxUnavailable {spec['maxUnavailable']}: it never allows an "
                        f"eviction ({selected})",
                        f"set maxUnavailable of {name} to 1 or more for the move",
                    )
                )
                continue
        if unmanaged and (
            spec.get("maxUnavailable") is not None or str(spec.get("minAvailable", "")).endswith("%")
        ):
            names = ", ".join(_key(p) for p in unmanaged[:3])
            out.append(
                DrainFinding(
                    "PDB_NEVER_ALLOWS_EVICTION",
                    name,
                    f"PodDisruptionBudget {name} uses maxUnavailable or a percentage over pods without a "
                    f"controller ({names}); the disruption controller cannot count them, so it allows no eviction",
                    f"run those pods under a Deployment or StatefulSet, or give {name} an integer minAvailable",
                )
            )
            continue
        if spec.get("minAvailable") is not None:
            parsed = _int_or_percent(spec["minAvailable"], total)
            if parsed is not None and parsed[0] >= total:
                out.append(
                    DrainFinding(
                        "PDB_NEVER_ALLOWS_EVICTION",
                        name,
                        f"PodDisruptionBudget {name} has minAvailable {spec['minAvailable']} and {selected}: it "
                        "never allows an eviction",
                        f"lower minAvailable of {name} to {max(total - 1, 0)} or less, or scale the workload above "
                        f"{parsed[0]} replicas, for the move",
                    )
                )
    return out


def unmanaged_pods(pods: Iterable[Any]) -> list[Manifest]:
    """Pods without a controller (not mirror, not finished): a drain refuses them unless forced, and they are lost."""
    out = []
    for raw in pods:
        pod = as_manifest(raw)
        if _controller_owner(pod) is None and not is_mirror_pod(pod) and not is_finished(pod):
            out.append(pod)
    return out


def pod_requests(pod: Mapping[str, Any]) -> tuple[float, float]:
    """A pod's scheduling requests as (CPU cores, memory bytes): containers summed, init containers' maximum."""
    from kubernetes.utils import parse_quantity

    def of(container: Mapping[str, Any]) -> tuple[float, float]:
        requests = (container.get("resources") or {}).get("requests") or {}
        try:
            cpu = (
                float(
                    parse_quantity(  # type: ignore[no-untyped-call]
                        requests["cpu"]
                    )
                )
                if "cpu" in requests
                else 0.0
            )
            mem = (
                float(
                    parse_quantity(  # type: ignore[no-untyped-call]
                        requests["memory"]
                    )
                )
                if "memory" in requests
                else 0.0
            )
        except ValueError:
            return 0.0, 0.0
        return cpu, mem

    spec = pod.get("spec") or {}
    main = [of(c) for c in spec.get("containers") or []]
    init = [of(c) for c in spec.get("initContainers") or []]
    cpu = sum(c for c, _ in main)
    mem = sum(m for _, m in main)
    return max([cpu, *(c for c, _ in init)]), max([mem, *(m for _, m in init)])


def pool_room(
    moving: Sequence[Any],
    *,
    nodes: int,
    max_pods: int,
    per_node_pods: int = 0,
    allocatable: Mapping[str, Any] | None = None,
    per_node_requests: tuple[float, float] = (0.0, 0.0),
    pool: str = "the new pool",
) -> list[DrainFinding]:
    """Whether the new pool can hold the pods that move: pods vs ``max pods x nodes`` and requests vs allocatable.

    FAQ "Why am I seeing an error when I try to deploy Windows pods?" (max pods); the scheduler places a pod
    only where its CPU and memory requests fit the node's allocatable.

    Args:
        moving: the pods that will move.
        nodes: the new pool's nodes (its autoscaler maximum when it scales).
        max_pods: pods per node.
        per_node_pods: pods every node runs anyway (DaemonSets).
        allocatable: one node's ``status.allocatable`` (``cpu``, ``memory``), when known.
        per_node_requests: CPU and memory every node spends anyway (DaemonSets).
        pool: the new pool's name, for the messages.
    """
    from kubernetes.utils import parse_quantity

    out: list[DrainFinding] = []
    pods = [as_manifest(p) for p in moving]
    slots = nodes * max(max_pods - per_node_pods, 0)
    if len(pods) > slots:
        out.append(
            DrainFinding(
                "NEW_POOL_TOO_SMALL",
                pool,
                f"pool {pool} takes {slots} moved pods ({nodes} nodes x max pods {max_pods}, less "
                f"{per_node_pods} DaemonSet pods per node) but {len(pods)} must move",
                "raise the node count or max pods of the new pool",
            )
        )
    if allocatable and nodes > 0:
        try:
            cpu_node = float(
                parse_quantity(  # type: ignore[no-untyped-call]
                    allocatable.get("cpu", "0")
                )
            )
            mem_node = float(
                parse_quantity(  # type: ignore[no-untyped-call]
                    allocatable.get("memory", "0")
                )
            )
        except ValueError:
            return out
        cpu_need = sum(pod_requests(p)[0] for p in pods)
        mem_need = sum(pod_requests(p)[1] for p in pods)
        cpu_have = nodes * max(cpu_node - per_node_requests[0], 0.0)
        mem_have = nodes * max(mem_node - per_node_requests[1], 0.0)
        for what, need, have, unit, scale in (
            ("CPU", cpu_need, cpu_have, "cores", 1.0),
            ("memory", mem_need, mem_have, "GiB", 1024.0**3),
        ):
            if need > have:
                out.append(
                    DrainFinding(
                        "NEW_POOL_TOO_SMALL",
                        pool,
                        f"the moved pods request {need / scale:.2f} {unit} of {what} but pool {pool}'s {nodes} "
                        f"nodes have {have / scale:.2f} {unit} allocatable",
                        "raise the node count or choose a larger VM size for the new pool",
                    )
                )
    return out


def read_pods_and_budgets(api: Any) -> tuple[list[Manifest], list[Manifest]]:
    """Every pod and every PodDisruptionBudget of the cluster, as manifests (for :func:`blocking_budgets`)."""
    core, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
    pods = [as_manifest(p) for p in core.list_pod_for_all_namespaces().items]
    pdbs = [as_manifest(p) for p in policy.list_pod_disruption_budget_for_all_namespaces().items]
    return pods, pdbs


def node_allocatable(api: Any, node: str) -> dict[str, Any]:
    """A node's ``status.allocatable`` (``cpu``, ``memory``, ``pods``)."""
    status = client.CoreV1Api(api).read_node(node).status
    return dict((status.allocatable if status else None) or {})


def budgets_blocking_pools(api: Any, pools: Iterable[str]) -> list[DrainFinding] | None:
    """Budgets that would block draining these AKS pools for ever (:func:`blocking_budgets` on their pods).

    An AKS upgrade drains every node of a pool through the Eviction API and fails when a budget allows no
    eviction (Service facts: Moving pods). Returns ``None`` when the Kubernetes API could not be read.
    """
    import urllib3

    try:
        nodes = [n for pool in pools for n, _ in pool_nodes(api, pool)]
        if not nodes:
            return []
        evicting = [p for p in pods_on_nodes(api, nodes) if not is_daemonset_pod(p) and not is_mirror_pod(p)]
        all_pods, pdbs = read_pods_and_budgets(api)
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError):
        return None
    return blocking_budgets(pdbs, all_pods, evicting=evicting)
