"""Input validators for the FAQ's limits, run before any request is sent (Service facts: FAQ rules; Credentials).

Every rule comes as a pair: ``check_*`` returns the list of problems (one sentence each, empty when valid) and
``validate_*`` raises :class:`~aks_windows_ops.errors.InvalidInput` carrying all of them with what to do about
them, so that a caller fixes everything in one go. No problem text ever contains a password (design principle
"secrets never print").

The rules live by job: :mod:`~aks_windows_ops.rules.names` (pool names, Windows admin credentials),
:mod:`~aks_windows_ops.rules.pool_limits` (OS SKU, mode, max pods, counts and totals); this module checks a
whole new pool against them and the cluster, resolves a requested Kubernetes version and checks subnet ids,
and keeps every rule importable from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypedDict

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import ClusterSnapshot, NetworkPlugin, OsSku, OsType, PoolMode
from aks_windows_ops.rules import capacity, versions
from aks_windows_ops.rules.faq import FaqSection
from aks_windows_ops.rules.inputs import as_mode, as_os_type, is_int, os_type_problem, raise_if
from aks_windows_ops.rules.lifecycle import still_on_old_windows_image
from aks_windows_ops.rules.names import (
    ADMIN_USERNAME_FORBIDDEN_CHARACTERS,
    DISALLOWED_PASSWORDS,
    LINUX_POOL_NAME_PATTERN,
    PASSWORD_LENGTH_RANGE,
    POOL_NAME_REMEDIATION,
    RESERVED_ADMIN_USERNAMES,
    WINDOWS_POOL_NAME_PATTERN,
    check_admin_password,
    check_admin_username,
    check_pool_name,
    validate_admin_password,
    validate_admin_username,
    validate_pool_name,
)
from aks_windows_ops.rules.pool_limits import (
    CLUSTER_TOTALS_REMEDIATION,
    MAX_AGENT_POOLS,
    MAX_CLUSTER_NODES,
    MAX_PODS_RANGE,
    MAX_PODS_REMEDIATION,
    MAX_POOL_NODES,
    OS_SKU_REMEDIATION,
    POD_DENSITY_REMEDIATION,
    POOL_COUNT_REMEDIATION,
    POOL_MODE_REMEDIATION,
    WINDOWS2019_LAST_VERSION,
    WINDOWS2025_FIRST_VERSION,
    check_cluster_totals,
    check_max_pods,
    check_os_sku,
    check_pod_density,
    check_pool_count,
    check_pool_mode,
    default_max_pods,
    default_os_sku,
    normalize_os_sku,
    validate_cluster_totals,
    validate_max_pods,
    validate_os_sku,
    validate_pod_density,
    validate_pool_count,
    validate_pool_mode,
)

if TYPE_CHECKING:  # typing only (Python 3.10 has neither in ``typing``)
    from typing_extensions import Required, Unpack

__all__ = [
    "ADMIN_USERNAME_FORBIDDEN_CHARACTERS",
    "DISALLOWED_PASSWORDS",
    "LINUX_POOL_NAME_PATTERN",
    "MAX_AGENT_POOLS",
    "MAX_CLUSTER_NODES",
    "MAX_PODS_RANGE",
    "MAX_POOL_NODES",
    "PASSWORD_LENGTH_RANGE",
    "RESERVED_ADMIN_USERNAMES",
    "WINDOWS2019_LAST_VERSION",
    "WINDOWS2025_FIRST_VERSION",
    "WINDOWS_POOL_NAME_PATTERN",
    "FaqSection",
    "PoolSpecArgs",
    "check_admin_password",
    "check_admin_username",
    "check_cluster_totals",
    "check_max_pods",
    "check_os_sku",
    "check_pod_density",
    "check_pool_count",
    "check_pool_mode",
    "check_pool_name",
    "check_pool_spec",
    "check_subnet_id",
    "default_max_pods",
    "default_os_sku",
    "normalize_os_sku",
    "resolve_kubernetes_version",
    "validate_admin_password",
    "validate_admin_username",
    "validate_cluster_totals",
    "validate_max_pods",
    "validate_os_sku",
    "validate_pod_density",
    "validate_pool_count",
    "validate_pool_mode",
    "validate_pool_name",
    "validate_pool_spec",
    "validate_subnet_id",
]


# --- a new pool ---------------------------------------------------------------------------------------------


class PoolSpecArgs(TypedDict, total=False):
    """A new pool as keywords, for :func:`check_pool_spec` and :func:`validate_pool_spec`.

    Attributes:
        name: the pool name (required).
        os_type: ``Windows`` or ``Linux`` (required).
        count: nodes (required).
        mode: ``User`` (default) or ``System``.
        os_sku: the OS SKU, or ``None`` for the default.
        max_pods: ``maxPods``, or ``None`` for the plugin default.
        orchestrator_version: the pool version; defaults to the cluster's control plane version.
        max_surge: the pool's ``maxSurge`` (default 10%).
        vnet_subnet_id: the node subnet.
        pod_subnet_id: the pod subnet (Azure CNI dynamic IP allocation).
        pods_wanted: workload pods meant to run on the pool (the FAQ's ``No available addresses``).
        cluster: the cluster the pool joins.
    """

    name: Required[str]
    os_type: Required[OsType | str]
    count: Required[int]
    mode: PoolMode | str
    os_sku: OsSku | str | None
    max_pods: int | None
    orchestrator_version: str | None
    max_surge: str | int | None
    vnet_subnet_id: str | None
    pod_subnet_id: str | None
    pods_wanted: int | None
    cluster: ClusterSnapshot | None


def check_pool_spec(**spec: Unpack[PoolSpecArgs]) -> list[str]:
    """List every problem with adding a pool like this, before the PUT (Service facts: FAQ rules; How the Azure CLI does it; Azure CNI capacity).

    Combines the name, mode, count, OS SKU and max pods rules; with ``cluster`` also: the name is unused, the
    cluster uses Azure CNI for a Windows pool (FAQ "What network plug-ins are supported?"), the totals stay
    within 100 pools / 1,000 nodes, the version is within the control plane's skew, the cluster is not on the
    pre-2020 Windows image (FAQ "Why am I seeing an error when I try to create a new Windows agent pool?"),
    and the subnets (when their usage was read) hold the pool plus its surge.

    Args:
        **spec: the pool (:class:`PoolSpecArgs`): ``name``, ``os_type`` and ``count``, and optionally
            ``mode``, ``os_sku``, ``max_pods``, ``orchestrator_version``, ``max_surge``, ``vnet_subnet_id``,
            ``pod_subnet_id``, ``pods_wanted`` and ``cluster``.

    Returns:
        One sentence per problem.
    """
    return [problem for problem, _ in _pool_spec_problems(**spec)]


#: What to do when a pool would join a cluster that cannot take it.
_DUPLICATE_REMEDIATION = "Choose a pool name that no pool of the cluster has yet."
_PLUGIN_REMEDIATION = "Add Windows pools to a cluster that uses the Azure CNI network plug-in."
_OLD_IMAGE_REMEDIATION = "Upgrade the cluster's control plane first, then add the Windows pool."
_SKEW_REMEDIATION = (
    "Pick a pool version no newer than the control plane and at most three minors behind it, or leave it "
    "out to use the control plane's."
)
_SUBNET_REMEDIATION = (
    "Use a larger subnet, fewer nodes, a lower max pods or a smaller max surge, so that the pool and its "
    "surge nodes fit."
)


def _pool_spec_problems(
    *,
    name: str,
    os_type: OsType | str,
    count: int,
    mode: PoolMode | str = PoolMode.USER,
    os_sku: OsSku | str | None = None,
    max_pods: int | None = None,
    orchestrator_version: str | None = None,
    max_surge: str | int | None = None,
    vnet_subnet_id: str | None = None,
    pod_subnet_id: str | None = None,
    pods_wanted: int | None = None,
    cluster: ClusterSnapshot | None = None,
) -> list[tuple[str, str]]:
    """Every problem of :func:`check_pool_spec`, each with what to do about it."""
    found: list[tuple[str, str]] = []

    def add(problems: list[str], remediation: str) -> None:
        found.extend((problem, remediation) for problem in problems)

    kind = as_os_type(os_type)
    add(check_pool_name(name, os_type), POOL_NAME_REMEDIATION)
    add([p for p in check_pool_mode(mode, os_type) if p != os_type_problem(os_type)], POOL_MODE_REMEDIATION)
    add(check_pool_count(count, mode) if as_mode(mode) is not None else [], POOL_COUNT_REMEDIATION)
    if max_pods is not None:
        add(check_max_pods(max_pods), MAX_PODS_REMEDIATION)
    version = orchestrator_version
    if version is None and cluster is not None:
        version = cluster.current_kubernetes_version or cluster.kubernetes_version
    if kind is not None:
        sku_problems = check_os_sku(os_sku, os_type=kind, kubernetes_version=version)
        version_problems = _version_problems(version) if version is not None else []
        add([p for p in sku_problems if p in version_problems], versions.VERSION_REMEDIATION)
        add([p for p in sku_problems if p not in version_problems], OS_SKU_REMEDIATION)
    elif orchestrator_version is not None:
        add(_version_problems(orchestrator_version), versions.VERSION_REMEDIATION)
    count_ok = is_int(count) and count >= 0
    effective_max_pods: int | None = max_pods
    if cluster is not None:
        found += _check_against_cluster(
            cluster,
            name=name,
            kind=kind,
            count=count if count_ok else 0,
            orchestrator_version=orchestrator_version,
        )
        effective_max_pods = (
            max_pods
            if max_pods is not None
            else default_max_pods(cluster.network_plugin, cluster.network_plugin_mode, pod_subnet_id)
        )
        if count_ok and is_int(effective_max_pods) and not check_max_pods(effective_max_pods):
            add(
                _check_subnets(
                    cluster,
                    count=count,
                    max_pods=effective_max_pods,
                    max_surge=max_surge,
                    vnet_subnet_id=vnet_subnet_id,
                    pod_subnet_id=pod_subnet_id,
                ),
                _SUBNET_REMEDIATION,
            )
    if pods_wanted is not None and effective_max_pods is not None and count_ok:
        add(
            check_pod_density(max_pods=effective_max_pods, node_count=count, pods_wanted=pods_wanted),
            POD_DENSITY_REMEDIATION,
        )
    return found


def _version_problems(version: str) -> list[str]:
    try:
        versions.parse_version(version)
    except InvalidInput as exc:
        return list(exc.problems)
    return []


def _check_against_cluster(
    cluster: ClusterSnapshot,
    *,
    name: str,
    kind: OsType | None,
    count: int,
    orchestrator_version: str | None,
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if isinstance(name, str) and any(p.name.lower() == name.lower() for p in cluster.pools):
        problems.append((f"the cluster already has a pool named {name!r}", _DUPLICATE_REMEDIATION))
    if kind is OsType.WINDOWS:
        plugin = (cluster.network_plugin or "").lower()
        if plugin != NetworkPlugin.AZURE.value:
            problems.append(
                (
                    f"Windows pools need Azure CNI; the cluster uses {cluster.network_plugin or 'no'} network "
                    "plugin (FAQ: What network plug-ins are supported?)",
                    _PLUGIN_REMEDIATION,
                )
            )
        if still_on_old_windows_image(cluster):
            problems.append(
                (
                    "the cluster still references the pre-February-2020 Windows image, so adding a Windows "
                    "pool fails with 'images ... not found'; upgrade the control plane first "
                    "(FAQ: Why am I seeing an error when I try to create a new Windows agent pool?)",
                    _OLD_IMAGE_REMEDIATION,
                )
            )
    totals = check_cluster_totals(
        pool_count=len(cluster.pools) + 1,
        node_count=sum(p.count for p in cluster.pools) + count,
        max_agent_pools=cluster.max_agent_pools,
    )
    problems += [(p, CLUSTER_TOTALS_REMEDIATION) for p in totals]
    control_plane = cluster.current_kubernetes_version or cluster.kubernetes_version
    if orchestrator_version is not None and control_plane and not _version_problems(orchestrator_version):
        problems += [
            (p, _SKEW_REMEDIATION) for p in versions.check_pool_skew(control_plane, orchestrator_version)
        ]
    return problems


def _check_subnets(
    cluster: ClusterSnapshot,
    *,
    count: int,
    max_pods: int,
    max_surge: str | int | None,
    vnet_subnet_id: str | None,
    pod_subnet_id: str | None,
) -> list[str]:
    try:
        mode = capacity.cni_mode(cluster.network_plugin, cluster.network_plugin_mode, pod_subnet_id)
        need = capacity.addresses_needed(count=count, max_pods=max_pods, mode=mode, max_surge=max_surge)
    except InvalidInput as exc:
        return list(exc.problems)
    problems: list[str] = []
    checks: list[tuple[str | None, int, Callable[[str], str]]] = [
        (vnet_subnet_id, need.node_subnet, lambda m: f"node subnet too small: {m}"),
        (pod_subnet_id, need.pod_subnet, lambda m: f"pod subnet too small: {m}"),
    ]
    for subnet_id, needed, phrase in checks:
        usage = cluster.subnet(subnet_id)
        if usage is None or not needed:
            continue
        verdict = capacity.fits(usage, needed)
        if not verdict.fits:
            problems.append(phrase(verdict.message))
    return problems


def validate_pool_spec(**spec: Unpack[PoolSpecArgs]) -> None:
    """Raise if :func:`check_pool_spec` finds problems (Service facts: FAQ rules; How the Azure CLI does it; Azure CNI capacity).

    Args:
        **spec: the pool (:class:`PoolSpecArgs`), as for :func:`check_pool_spec`.

    Raises:
        InvalidInput: with every problem, and what to do about each rule broken.
    """
    found = _pool_spec_problems(**spec)
    if found:
        # Each rule broken says what to do about it, once.
        remediation = " ".join(dict.fromkeys(remediation for _, remediation in found))
        raise InvalidInput([problem for problem, _ in found], remediation=remediation)


def resolve_kubernetes_version(requested: str, offered: Sequence[str], *, current: str | None = None) -> str:
    """Resolve a requested Kubernetes version against what the region offers, before any write.

    FAQ "How do I patch my Windows nodes?" and the AKS supported-versions page: a cluster moves to a version
    the region lists (``az aks get-versions``). ``v1.34.2`` is read as ``1.34.2``; a minor-only ``1.34``
    means the newest offered ``1.34`` patch (as ``az aks upgrade -k 1.34`` does); a patch the region does
    not offer is refused, listing those it does. The cluster's ``current`` version is always accepted.

    Args:
        requested: what the operator typed.
        offered: every patch version the region offers.
        current: the cluster's current version, if known.

    Returns:
        The exact ``MAJOR.MINOR.PATCH`` to send.

    Raises:
        InvalidInput: not a version, or not offered.
    """
    parsed = versions.parse_version(requested)
    known: list[versions.KubernetesVersion] = []
    for text in [*offered, *([current] if current else [])]:
        try:
            version = versions.parse_version(text)
        except InvalidInput:
            continue
        if version.patch is not None:
            known.append(version)
    same_minor = sorted((v for v in known if v.minor_key == parsed.minor_key), key=lambda v: v.sort_key)
    if parsed.patch is None:
        if same_minor:
            return str(same_minor[-1])
    elif any(v == parsed for v in same_minor):
        return str(parsed)
    listed = ", ".join(str(v) for v in same_minor) or "none"
    minors = [f"{major}.{minor}" for major, minor in sorted({v.minor_key for v in known})]
    raise InvalidInput(
        f"Kubernetes version {requested.strip()!r} is not offered in this region "
        f"(offered {parsed.major}.{parsed.minor} patches: {listed}; minors: {', '.join(minors) or 'none'})",
        remediation="Pick an offered version (az aks get-versions), or give only MAJOR.MINOR for its newest patch.",
    )


_SUBNET_ID = re.compile(
    r"^/subscriptions/[0-9A-Fa-f-]{36}/resourceGroups/[-\w._()]{1,90}/providers/Microsoft\.Network/"
    r"virtualNetworks/[-\w.]{2,64}/subnets/[-\w.]{1,80}$",
    re.IGNORECASE,
)


def check_subnet_id(subnet_id: str) -> list[str]:
    """Check that a subnet is named by its full ARM resource id (FAQ network questions; Azure CNI pools).

    The id has the form ``/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Network/
    virtualNetworks/<vnet>/subnets/<subnet>`` (the Azure resource id format).
    """
    if not isinstance(subnet_id, str) or not _SUBNET_ID.fullmatch(subnet_id.strip()):
        return [
            f"subnet id {str(subnet_id)[:200]!r} is not a subnet resource id: expected "
            "/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Network/"
            "virtualNetworks/<vnet>/subnets/<subnet>"
        ]
    return []


def validate_subnet_id(subnet_id: str) -> str:
    """Return the subnet id stripped, or raise :class:`InvalidInput` (see :func:`check_subnet_id`)."""
    raise_if(
        check_subnet_id(subnet_id),
        "Give the subnet's full resource id, as `az network vnet subnet show --query id` prints it.",
    )
    return subnet_id.strip()
