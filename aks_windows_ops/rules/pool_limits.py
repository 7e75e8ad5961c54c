"""What a pool may be: OS SKU, mode, max pods, node counts and cluster totals (Service facts: FAQ rules).

FAQ "Which Windows operating systems are supported?", "Can I change the maximum number of pods per node?"
and "How many node pools can I create?".
"""

from __future__ import annotations

import math

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import NetworkPlugin, OsSku, OsType, PoolMode
from aks_windows_ops.rules import versions
from aks_windows_ops.rules.inputs import (
    OS_TYPE_REMEDIATION,
    as_mode,
    as_os_type,
    is_int,
    os_type_problem,
    raise_if,
)

__all__ = [
    "CLUSTER_TOTALS_REMEDIATION",
    "MAX_AGENT_POOLS",
    "MAX_CLUSTER_NODES",
    "MAX_PODS_RANGE",
    "MAX_PODS_REMEDIATION",
    "MAX_POOL_NODES",
    "OS_SKU_REMEDIATION",
    "POD_DENSITY_REMEDIATION",
    "POOL_COUNT_REMEDIATION",
    "POOL_MODE_REMEDIATION",
    "WINDOWS2019_LAST_VERSION",
    "WINDOWS2025_FIRST_VERSION",
    "check_cluster_totals",
    "check_max_pods",
    "check_os_sku",
    "check_pod_density",
    "check_pool_count",
    "check_pool_mode",
    "default_max_pods",
    "default_os_sku",
    "normalize_os_sku",
    "validate_cluster_totals",
    "validate_max_pods",
    "validate_os_sku",
    "validate_pod_density",
    "validate_pool_count",
    "validate_pool_mode",
]

#: Service facts: FAQ rules: ``maxPods`` bounds for every network plugin.
MAX_PODS_RANGE = (10, 250)
#: FAQ "How many node pools can I create?": 100 pools and 1,000 nodes per cluster.
MAX_AGENT_POOLS = 100
MAX_CLUSTER_NODES = 1000
#: Service facts: FAQ rules: a pool holds 0-1000 nodes (User) or 1-1000 (System).
MAX_POOL_NODES = 1000

#: FAQ "Which Windows operating systems are supported?": WS2019 retires after 1.32 (no images for >= 1.33).
WINDOWS2019_LAST_VERSION = "1.32"
#: Service facts: FAQ rules: Windows Server 2025 needs Kubernetes 1.32 or later.
WINDOWS2025_FIRST_VERSION = "1.32"
#: FAQ "Which Windows operating systems are supported?": WS2022 is the default from 1.25 on.
_WINDOWS2022_DEFAULT_FROM = "1.25"


# --- OS SKU and mode ---------------------------------------------------------------------------------------


#: What to do about a refused OS SKU (FAQ "Which Windows operating systems are supported?").
OS_SKU_REMEDIATION = (
    "Use Windows2022 or Windows2025 for a Windows pool (Windows2019 only up to Kubernetes 1.32, "
    "Windows2025 from 1.32), and a Linux SKU such as Ubuntu or AzureLinux for a Linux pool."
)
#: What to do about a refused pool mode (FAQ "Can I run Windows only clusters in AKS?").
POOL_MODE_REMEDIATION = (
    "Make Windows pools User pools; System pools run Linux. Give the mode as System or User."
)
#: What to do about a refused max pods (FAQ "Can I change the maximum number of pods per node?").
MAX_PODS_REMEDIATION = (
    "Give max pods as a whole number from 10 to 250; it is set when a pool is created and cannot be "
    "changed afterwards."
)
#: What to do when the pods do not fit (FAQ "Why am I seeing an error when I try to deploy Windows pods?").
POD_DENSITY_REMEDIATION = (
    "Add nodes, or create a new pool with a larger max pods (an existing pool's max pods cannot change) "
    "and move the workloads to it."
)
#: What to do about a refused node count (Service facts: FAQ rules).
POOL_COUNT_REMEDIATION = (
    "Give a node count from 0 to 1000 for a User pool, or from 1 to 1000 for a System pool."
)
#: What to do when the cluster would be too big (FAQ "How many node pools can I create?").
CLUSTER_TOTALS_REMEDIATION = (
    "Stay within 100 node pools and 1,000 nodes per cluster: remove or scale down pools you no longer "
    "need first, or use another cluster."
)


def _as_os_sku(os_sku: OsSku | str) -> OsSku | None:
    if isinstance(os_sku, OsSku):
        return os_sku
    for member in OsSku:
        if member.value.lower() == os_sku.strip().lower():
            return member
    return None


def default_os_sku(os_type: OsType | str, kubernetes_version: str) -> OsSku:
    """The OS SKU AKS picks when none is given (FAQ "Which Windows operating systems are supported?").

    Windows: ``Windows2019`` up to Kubernetes 1.24, ``Windows2022`` from 1.25. Linux: ``Ubuntu``.

    Raises:
        InvalidInput: unknown OS type or unparsable version.
    """
    kind = as_os_type(os_type)
    if kind is None:
        raise InvalidInput(os_type_problem(os_type), remediation=OS_TYPE_REMEDIATION)
    if kind is OsType.LINUX:
        return OsSku.UBUNTU
    if versions.version_at_least(kubernetes_version, _WINDOWS2022_DEFAULT_FROM):
        return OsSku.WINDOWS2022
    return OsSku.WINDOWS2019


def check_os_sku(
    os_sku: OsSku | str | None, *, os_type: OsType | str, kubernetes_version: str | None = None
) -> list[str]:
    """List the problems with an OS SKU for a pool of ``os_type`` at ``kubernetes_version``.

    Service facts: FAQ rules and FAQ "Which Windows operating systems are supported?": Windows pools take
    ``Windows2019``, ``Windows2022`` or ``Windows2025``; Linux pools never a Windows SKU; ``Windows2019`` is
    not available for Kubernetes >= 1.33; ``Windows2025`` needs >= 1.32. ``None`` means the default SKU
    (:func:`default_os_sku`), which is always valid. Linux SKUs outside :class:`OsSku` are accepted because
    AKS adds them often.

    Args:
        os_sku: the requested SKU, or ``None`` for the default.
        os_type: the pool's OS type.
        kubernetes_version: the pool's version; without it the version rules are skipped.

    Returns:
        One sentence per problem.
    """
    kind = as_os_type(os_type)
    if kind is None:
        return [os_type_problem(os_type)]
    problems: list[str] = []
    version_ok = True
    if kubernetes_version is not None:
        try:
            versions.parse_version(kubernetes_version)
        except InvalidInput as exc:
            problems.extend(exc.problems)
            version_ok = False
    if os_sku is None:
        return problems
    if not isinstance(os_sku, str):
        return [*problems, f"OS SKU must be a string, got {type(os_sku).__name__}"]
    sku = _as_os_sku(os_sku)
    text = sku.value if sku else os_sku
    looks_windows = text.strip().lower().startswith("windows")
    if kind is OsType.WINDOWS:
        if sku is None or not sku.is_windows:
            what = "Linux OS SKU" if sku is not None or not looks_windows else "unknown Windows OS SKU"
            problems.append(f"{what} {text!r} on a Windows pool; use Windows2019, Windows2022 or Windows2025")
            return problems
        if sku is OsSku.WINDOWS_ANNUAL:
            # The Annual Channel preview retired on 2026-05-15: no new pools (Azure/AKS#5608, lifecycle data).
            problems.append(
                "WindowsAnnual (preview) is retired: no new pools; use Windows2022 or Windows2025"
            )
            return problems
    else:
        if looks_windows:
            problems.append(f"Windows OS SKU {text!r} on a Linux pool")
        return problems
    if kubernetes_version is None or not version_ok:
        return problems
    if sku is OsSku.WINDOWS2019 and not versions.version_at_least(
        WINDOWS2019_LAST_VERSION, kubernetes_version
    ):
        problems.append(
            f"Windows2019 is not supported on Kubernetes {kubernetes_version} (last supported minor: "
            f"{WINDOWS2019_LAST_VERSION}); use Windows2022 or Windows2025"
        )
    if sku is OsSku.WINDOWS2025 and not versions.version_at_least(
        kubernetes_version, WINDOWS2025_FIRST_VERSION
    ):
        problems.append(
            f"Windows2025 needs Kubernetes {WINDOWS2025_FIRST_VERSION} or later, not {kubernetes_version}"
        )
    return problems


def validate_os_sku(
    os_sku: OsSku | str | None, *, os_type: OsType | str, kubernetes_version: str | None = None
) -> None:
    """Raise if :func:`check_os_sku` finds problems (FAQ "Which Windows operating systems are supported?").

    Raises:
        InvalidInput: with every problem.
    """
    raise_if(check_os_sku(os_sku, os_type=os_type, kubernetes_version=kubernetes_version), OS_SKU_REMEDIATION)


def check_pool_mode(mode: PoolMode | str, os_type: OsType | str) -> list[str]:
    """List the problems with a pool mode: Windows pools are ``User`` only (Service facts: FAQ rules).

    The service says "System agent pools osType must be Linux" (FAQ "Can I run Windows only clusters in AKS?").

    Returns:
        One sentence per problem.
    """
    kind = as_os_type(os_type)
    pool_mode = as_mode(mode)
    problems: list[str] = []
    if kind is None:
        problems.append(os_type_problem(os_type))
    if pool_mode is None:
        problems.append(f"pool mode must be System or User, got {mode!r}")
    if kind is OsType.WINDOWS and pool_mode is PoolMode.SYSTEM:
        problems.append("a Windows pool cannot be a System pool (System agent pools osType must be Linux)")
    return problems


def validate_pool_mode(mode: PoolMode | str, os_type: OsType | str) -> None:
    """Raise if :func:`check_pool_mode` finds problems (Service facts: FAQ rules).

    Raises:
        InvalidInput: with every problem.
    """
    raise_if(check_pool_mode(mode, os_type), POOL_MODE_REMEDIATION)


# --- max pods and counts ------------------------------------------------------------------------------------


def default_max_pods(
    network_plugin: NetworkPlugin | str | None,
    network_plugin_mode: str | None = None,
    pod_subnet: str | bool | None = None,
) -> int:
    """The ``maxPods`` AKS applies when none is given (Service facts: FAQ rules).

    Azure CNI node subnet 30, Azure CNI with a pod subnet 110, Azure CNI Overlay 250, kubenet 110. Other
    plugins (``none``, bring your own CNI) get the kubelet default of 110.

    Args:
        network_plugin: ``azure``, ``kubenet`` or ``none``.
        network_plugin_mode: ``overlay`` or ``None``.
        pod_subnet: the pool's pod subnet id (or ``True``) when it has one.
    """
    plugin = network_plugin.value if isinstance(network_plugin, NetworkPlugin) else (network_plugin or "")
    if plugin.lower() == "azure":
        if (network_plugin_mode or "").lower() == "overlay":
            return 250
        return 110 if pod_subnet else 30
    return 110


def check_max_pods(max_pods: int) -> list[str]:
    """List the problems with a ``maxPods`` value: 10-250.

    Service facts: FAQ rules and FAQ "Can I change the maximum number of pods per node?".

    Returns:
        One sentence per problem.
    """
    low, high = MAX_PODS_RANGE
    if not is_int(max_pods):
        return [f"max pods must be a whole number, got {type(max_pods).__name__}"]
    if not low <= max_pods <= high:
        return [f"max pods must be {low}-{high}, got {max_pods}"]
    return []


def validate_max_pods(max_pods: int) -> None:
    """Raise if :func:`check_max_pods` finds problems (Service facts: FAQ rules).

    Raises:
        InvalidInput: with every problem.
    """
    raise_if(check_max_pods(max_pods), MAX_PODS_REMEDIATION)


def check_pod_density(
    *, max_pods: int, node_count: int, pods_wanted: int, daemon_pods_per_node: int = 0
) -> list[str]:
    """Check that ``node_count`` nodes with ``max_pods`` each can hold the pods you intend to run.

    FAQ "Why am I seeing an error when I try to deploy Windows pods?": a ``--max-pods`` below the pods you
    want gives ``No available addresses``. Per-node DaemonSet pods take slots too.

    Args:
        max_pods: the pool's ``maxPods``.
        node_count: nodes in the pool.
        pods_wanted: workload pods meant to run on the pool.
        daemon_pods_per_node: slots every node spends on DaemonSet and system pods.

    Returns:
        One sentence per problem, naming the smallest ``maxPods`` that would fit.
    """
    problems = [
        f"{label} must be a non-negative whole number, got {value!r}"
        for label, value in (
            ("max pods", max_pods),
            ("node count", node_count),
            ("pods wanted", pods_wanted),
            ("daemon pods per node", daemon_pods_per_node),
        )
        if not is_int(value) or value < 0
    ]
    if problems:
        return problems
    room = max(max_pods - daemon_pods_per_node, 0) * node_count
    if pods_wanted <= room:
        return []
    message = (
        f"{pods_wanted} pods do not fit in {node_count} node(s) with max pods {max_pods}"
        + (f" ({daemon_pods_per_node} per node taken by DaemonSets)" if daemon_pods_per_node else "")
        + "; pods would fail with 'No available addresses'"
    )
    if node_count:
        wanted = math.ceil(pods_wanted / node_count) + daemon_pods_per_node
        if wanted <= MAX_PODS_RANGE[1]:
            message += f": use max pods >= {wanted} (a new pool) or more nodes"
        else:
            message += f": more nodes are needed (max pods cannot exceed {MAX_PODS_RANGE[1]})"
    else:
        message += ": the pool has no nodes"
    return [message]


def validate_pod_density(
    *, max_pods: int, node_count: int, pods_wanted: int, daemon_pods_per_node: int = 0
) -> None:
    """Raise if :func:`check_pod_density` finds problems.

    FAQ "Why am I seeing an error when I try to deploy Windows pods?".

    Raises:
        InvalidInput: with every problem.
    """
    raise_if(
        check_pod_density(
            max_pods=max_pods,
            node_count=node_count,
            pods_wanted=pods_wanted,
            daemon_pods_per_node=daemon_pods_per_node,
        ),
        POD_DENSITY_REMEDIATION,
    )


def check_pool_count(count: int, mode: PoolMode | str) -> list[str]:
    """List the problems with a pool's node count: User 0-1000, System 1-1000 (Service facts: FAQ rules).

    Returns:
        One sentence per problem.
    """
    pool_mode = as_mode(mode)
    if pool_mode is None:
        return [f"pool mode must be System or User, got {mode!r}"]
    if not is_int(count):
        return [f"node count must be a whole number, got {type(count).__name__}"]
    low = 1 if pool_mode is PoolMode.SYSTEM else 0
    if not low <= count <= MAX_POOL_NODES:
        return [f"a {pool_mode.value} pool holds {low}-{MAX_POOL_NODES} nodes, got {count}"]
    return []


def validate_pool_count(count: int, mode: PoolMode | str) -> None:
    """Raise if :func:`check_pool_count` finds problems (Service facts: FAQ rules).

    Raises:
        InvalidInput: with every problem.
    """
    raise_if(check_pool_count(count, mode), POOL_COUNT_REMEDIATION)


def check_cluster_totals(
    *, pool_count: int, node_count: int, max_agent_pools: int = MAX_AGENT_POOLS
) -> list[str]:
    """List the problems with a cluster's totals (FAQ "How many node pools can I create?").

    Args:
        pool_count: pools in the cluster (after the change).
        node_count: nodes across all pools (after the change).
        max_agent_pools: the cluster's ``maxAgentPools`` (100).

    Returns:
        One sentence per problem.
    """
    problems: list[str] = []
    limit = min(max_agent_pools, MAX_AGENT_POOLS) if max_agent_pools > 0 else MAX_AGENT_POOLS
    if pool_count > limit:
        problems.append(f"the cluster would have {pool_count} node pools; at most {limit} are allowed")
    if node_count > MAX_CLUSTER_NODES:
        problems.append(
            f"the cluster would have {node_count} nodes; at most {MAX_CLUSTER_NODES} across all pools"
        )
    return problems


def validate_cluster_totals(
    *, pool_count: int, node_count: int, max_agent_pools: int = MAX_AGENT_POOLS
) -> None:
    """Raise if :func:`check_cluster_totals` finds problems (FAQ "How many node pools can I create?").

    Raises:
        InvalidInput: with every problem.
    """
    raise_if(
        check_cluster_totals(pool_count=pool_count, node_count=node_count, max_agent_pools=max_agent_pools),
        CLUSTER_TOTALS_REMEDIATION,
    )


def normalize_os_sku(os_sku: OsSku | str) -> str:
    """Return an OS SKU in the service's spelling: ``windows2022`` -> ``Windows2022`` (FAQ supported OSes).

    Raises:
        InvalidInput: not an OS SKU AKS knows.
    """
    member = _as_os_sku(os_sku) if isinstance(os_sku, (OsSku, str)) else None
    if member is None:
        raise InvalidInput(
            f"unknown OS SKU {str(os_sku)[:60]!r}; expected one of {', '.join(m.value for m in OsSku)}",
            remediation=OS_SKU_REMEDIATION,
        )
    return member.value
