"""Input validators for the FAQ's limits, run before any request is sent (Service facts: FAQ rules; Credentials).

Every rule comes as a pair: ``check_*`` returns the list of problems (one sentence each, empty when valid) and
``validate_*`` raises :class:`~aks_windows_ops.errors.InvalidInput` carrying all of them, so that a caller
fixes everything in one go. No problem text ever contains a password (design principle "secrets never print").
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Sequence

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import ClusterSnapshot, NetworkPlugin, OsSku, OsType, PoolMode
from aks_windows_ops.rules import capacity, versions
from aks_windows_ops.rules.lifecycle import still_on_old_windows_image
from aks_windows_ops.secrets import Secret

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


class FaqSection(str, enum.Enum):
    """The FAQ questions (and service-facts groups) that the rules cite in ``Finding.faq``."""

    OPERATING_SYSTEMS = "Which Windows operating systems are supported?"
    LINUX_VS_WINDOWS = "Is Kubernetes different on Windows and Linux?"
    DISKS = "What kind of disks are supported for Windows?"
    WINDOWS_ONLY_CLUSTERS = "Can I run Windows only clusters in AKS?"
    PATCHING = "How do I patch my Windows nodes?"
    NETWORK_PLUGINS = "What network plug-ins are supported?"
    MAX_PODS = "Can I change the maximum number of pods per node?"
    NEW_POOL_ERROR = "Why am I seeing an error when I try to create a new Windows agent pool?"
    DEPLOY_POD_ERROR = "Why am I seeing an error when I try to deploy Windows pods?"
    SERVICE_PRINCIPAL = "How do I rotate the service principal for my Windows node pool?"
    ADMIN_PASSWORD = "How do I change the administrator password for Windows Server nodes on my cluster?"
    POOL_LIMITS = "How many node pools can I create?"
    POOL_NAMES = "What can I name my Windows node pools?"
    FEATURES = "Are all features supported with Windows nodes?"
    GMSA = "Can my Windows Server containers use gMSA?"
    SERVICES = "Are there any limitations on the number of services on a cluster with Windows nodes?"
    HYBRID_BENEFIT = "Can I use Azure Hybrid Benefit with Windows nodes?"
    SESSION_AFFINITY = (
        "Can I maintain session affinity from client connections to pods with Windows containers?"
    )
    SUPPORTED_VERSIONS = (
        "AKS supported Kubernetes versions (learn.microsoft.com/azure/aks/supported-kubernetes-versions)"
    )
    VERSION_SKEW = "Service facts: How the Azure CLI does it (AKS supported Kubernetes versions)"
    PROVISIONING = "Service facts: ARM behaviour (ARM provisioning states)"
    CAPACITY = "Service facts: Azure CNI capacity (Azure CNI capacity)"


#: FAQ "What can I name my Windows node pools?": six characters; AKS also wants a leading lowercase letter.
WINDOWS_POOL_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,5}$")
#: AKS node pool naming rule for Linux pools: 1-12 lowercase alphanumerics, leading letter.
LINUX_POOL_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,11}$")

#: Service facts: Credentials (Azure VM username rules): names Azure refuses as a Windows admin username.
RESERVED_ADMIN_USERNAMES: frozenset[str] = frozenset(
    {
        "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123",
        "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner",
        "root", "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5",
    }
)  # fmt: skip
#: Characters the Azure VM username rules refuse (the Windows account-name set plus ``@`` and ``&``).
ADMIN_USERNAME_FORBIDDEN_CHARACTERS = frozenset('\\/"[]:|<>+=;,?*@&')

#: Service facts: Credentials: passwords Azure refuses outright.
DISALLOWED_PASSWORDS: frozenset[str] = frozenset(
    {
        "abc@123", "p@$$w0rd", "p@ssw0rd", "p@ssword123", "pa$$word", "pass@word1", "password!",
        "password1", "password22", "iloveyou!",
    }
)  # fmt: skip
#: FAQ "How do I change the administrator password ...": at least 14 characters (the API takes 8; the FAQ
#: and the CLI say 14); Azure's upper bound is 123.
PASSWORD_LENGTH_RANGE = (14, 123)

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

_PASSWORD_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("lowercase letter", re.compile(r"[a-z]")),
    ("uppercase letter", re.compile(r"[A-Z]")),
    ("digit", re.compile(r"[0-9]")),
    ("special character", re.compile(r"[\W_]", re.ASCII)),
)


def _raise_if(problems: list[str]) -> None:
    if problems:
        raise InvalidInput(problems)


def _as_os_type(os_type: OsType | str) -> OsType | None:
    if isinstance(os_type, OsType):
        return os_type
    if isinstance(os_type, str):
        for member in OsType:
            if member.value.lower() == os_type.strip().lower():
                return member
    return None


def _as_mode(mode: PoolMode | str) -> PoolMode | None:
    if isinstance(mode, PoolMode):
        return mode
    if isinstance(mode, str):
        for member in PoolMode:
            if member.value.lower() == mode.strip().lower():
                return member
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _os_type_problem(os_type: object) -> str:
    return f"OS type must be Linux or Windows, got {os_type!r}"


# --- pool names -------------------------------------------------------------------------------------------


def check_pool_name(name: str, os_type: OsType | str) -> list[str]:
    """List the problems with a pool name.

    FAQ "What can I name my Windows node pools?": Windows pools take 1-6 characters
    (``^[a-z][a-z0-9]{0,5}$``); Linux pools 1-12 (``^[a-z][a-z0-9]{0,11}$``), Service facts: FAQ rules.

    Args:
        name: the pool name.
        os_type: the pool's OS type.

    Returns:
        One sentence per problem.
    """
    kind = _as_os_type(os_type)
    if kind is None:
        return [_os_type_problem(os_type)]
    if not isinstance(name, str):
        return [f"pool name must be a string, got {type(name).__name__}"]
    limit = 6 if kind is OsType.WINDOWS else 12
    pattern = WINDOWS_POOL_NAME_PATTERN if kind is OsType.WINDOWS else LINUX_POOL_NAME_PATTERN
    if pattern.fullmatch(name):
        return []
    problems: list[str] = []
    if not name:
        return ["pool name must not be empty"]
    if len(name) > limit:
        problems.append(
            f"{kind.value} pool name {name!r} has {len(name)} characters; at most {limit} are allowed"
            + (" (FAQ: What can I name my Windows node pools?)" if kind is OsType.WINDOWS else "")
        )
    if not ("a" <= name[0] <= "z"):
        problems.append(f"pool name {name!r} must start with a lowercase letter a-z")
    bad = sorted({ch for ch in name if not ("a" <= ch <= "z" or "0" <= ch <= "9")})
    if bad:
        problems.append(
            f"pool name {name!r} may contain only lowercase letters a-z and digits, not {''.join(bad)!r}"
        )
    return problems


def validate_pool_name(name: str, os_type: OsType | str) -> None:
    """Raise if :func:`check_pool_name` finds problems (FAQ "What can I name my Windows node pools?").

    Raises:
        InvalidInput: with every problem.
    """
    _raise_if(check_pool_name(name, os_type))


# --- Windows credentials ----------------------------------------------------------------------------------


def check_admin_username(username: str) -> list[str]:
    r"""List the problems with a Windows admin username (Service facts: Credentials).

    Rules: 1-20 characters, must not end in ``.``, must not start with ``-``, no whitespace nor any of
    ``\\/"[]:|<>+=;,?*@&``, and not a reserved name (``admin``, ``administrator`` ... case-insensitive).
    The username cannot be changed after the cluster is created.

    Args:
        username: ``windowsProfile.adminUsername``.

    Returns:
        One sentence per problem.
    """
    if not isinstance(username, str):
        return [f"admin username must be a string, got {type(username).__name__}"]
    if not username:
        return ["admin username must not be empty (1-20 characters)"]
    problems: list[str] = []
    if len(username) > 20:
        problems.append(f"admin username has {len(username)} characters; at most 20 are allowed")
    if username.endswith("."):
        problems.append("admin username must not end with '.'")
    if username.startswith("-"):
        problems.append("admin username must not start with '-'")
    bad = sorted({ch for ch in username if ch in ADMIN_USERNAME_FORBIDDEN_CHARACTERS})
    if bad:
        problems.append(f"admin username must not contain {''.join(bad)!r}")
    if any(ch.isspace() or not ch.isprintable() for ch in username):
        problems.append("admin username must not contain whitespace or control characters")
    if username.lower() in RESERVED_ADMIN_USERNAMES:
        problems.append(f"admin username {username!r} is a reserved name that Azure refuses")
    return problems


def validate_admin_username(username: str) -> None:
    """Raise if :func:`check_admin_username` finds problems (Service facts: Credentials).

    Raises:
        InvalidInput: with every problem.
    """
    _raise_if(check_admin_username(username))


def check_admin_password(password: Secret | str, *, username: str | None = None) -> list[str]:
    """List the problems with a Windows admin password, never quoting it (Service facts: Credentials).

    FAQ "How do I change the administrator password for Windows Server nodes on my cluster?": at least 14
    characters and the Windows Server complexity rules: 3 of 4 classes (lowercase, uppercase, digit,
    special), not containing the username (case-insensitive, when it has 3 or more characters), at most 123
    characters, and not one of Azure's refused passwords.

    Args:
        password: the new password; a :class:`~aks_windows_ops.secrets.Secret` or a plain ``str``.
        username: the admin username, to check containment.

    Returns:
        One sentence per problem; none of them contains the password or a part of it.
    """
    if isinstance(password, Secret):
        value = password.reveal()
    elif isinstance(password, str):
        value = password
    else:
        return [f"admin password must be a str or Secret, got {type(password).__name__}"]
    low, high = PASSWORD_LENGTH_RANGE
    problems: list[str] = []
    if not low <= len(value) <= high:
        problems.append(f"admin password must be {low}-{high} characters long")
    missing = [label for label, pattern in _PASSWORD_CLASSES if not pattern.search(value)]
    if len(missing) > 1:
        problems.append(
            "admin password must contain 3 of: lowercase letter, uppercase letter, digit, special character "
            f"(missing {' and '.join(missing)})"
        )
    if isinstance(username, str) and len(username) >= 3 and username.lower() in value.lower():
        problems.append("admin password must not contain the admin username")
    if value.lower() in DISALLOWED_PASSWORDS:
        problems.append("admin password is on Azure's list of refused common passwords")
    return problems


def validate_admin_password(password: Secret | str, *, username: str | None = None) -> None:
    """Raise if :func:`check_admin_password` finds problems (Service facts: Credentials).

    Raises:
        InvalidInput: with every problem; the exception never carries the password.
    """
    _raise_if(check_admin_password(password, username=username))


# --- OS SKU and mode ---------------------------------------------------------------------------------------


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
    kind = _as_os_type(os_type)
    if kind is None:
        raise InvalidInput(_os_type_problem(os_type))
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
    kind = _as_os_type(os_type)
    if kind is None:
        return [_os_type_problem(os_type)]
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
    _raise_if(check_os_sku(os_sku, os_type=os_type, kubernetes_version=kubernetes_version))


def check_pool_mode(mode: PoolMode | str, os_type: OsType | str) -> list[str]:
    """List the problems with a pool mode: Windows pools are ``User`` only (Service facts: FAQ rules).

    The service says "System agent pools osType must be Linux" (FAQ "Can I run Windows only clusters in AKS?").

    Returns:
        One sentence per problem.
    """
    kind = _as_os_type(os_type)
    pool_mode = _as_mode(mode)
    problems: list[str] = []
    if kind is None:
        problems.append(_os_type_problem(os_type))
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
    _raise_if(check_pool_mode(mode, os_type))


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
    if not _is_int(max_pods):
        return [f"max pods must be a whole number, got {type(max_pods).__name__}"]
    if not low <= max_pods <= high:
        return [f"max pods must be {low}-{high}, got {max_pods}"]
    return []


def validate_max_pods(max_pods: int) -> None:
    """Raise if :func:`check_max_pods` finds problems (Service facts: FAQ rules).

    Raises:
        InvalidInput: with every problem.
    """
    _raise_if(check_max_pods(max_pods))


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
        if not _is_int(value) or value < 0
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
    _raise_if(
        check_pod_density(
            max_pods=max_pods,
            node_count=node_count,
            pods_wanted=pods_wanted,
            daemon_pods_per_node=daemon_pods_per_node,
        )
    )


def check_pool_count(count: int, mode: PoolMode | str) -> list[str]:
    """List the problems with a pool's node count: User 0-1000, System 1-1000 (Service facts: FAQ rules).

    Returns:
        One sentence per problem.
    """
    pool_mode = _as_mode(mode)
    if pool_mode is None:
        return [f"pool mode must be System or User, got {mode!r}"]
    if not _is_int(count):
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
    _raise_if(check_pool_count(count, mode))


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
    _raise_if(
        check_cluster_totals(pool_count=pool_count, node_count=node_count, max_agent_pools=max_agent_pools)
    )


# --- a new pool ---------------------------------------------------------------------------------------------


def check_pool_spec(
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
) -> list[str]:
    """List every problem with adding a pool like this, before the PUT (Service facts: FAQ rules; How the Azure CLI does it; Azure CNI capacity).

    Combines the name, mode, count, OS SKU and max pods rules; with ``cluster`` also: the name is unused, the
    cluster uses Azure CNI for a Windows pool (FAQ "What network plug-ins are supported?"), the totals stay
    within 100 pools / 1,000 nodes, the version is within the control plane's skew, the cluster is not on the
    pre-2020 Windows image (FAQ "Why am I seeing an error when I try to create a new Windows agent pool?"),
    and the subnets (when their usage was read) hold the pool plus its surge.

    Args:
        name: the pool name.
        os_type: ``Windows`` or ``Linux``.
        count: nodes.
        mode: ``User`` (default) or ``System``.
        os_sku: the OS SKU, or ``None`` for the default.
        max_pods: ``maxPods``, or ``None`` for the plugin default.
        orchestrator_version: the pool version; defaults to the cluster's control plane version.
        max_surge: the pool's ``maxSurge`` (default 10%).
        vnet_subnet_id: the node subnet.
        pod_subnet_id: the pod subnet (Azure CNI dynamic IP allocation).
        pods_wanted: workload pods meant to run on the pool (the FAQ's ``No available addresses``).
        cluster: the cluster the pool joins.

    Returns:
        One sentence per problem.
    """
    problems: list[str] = []
    kind = _as_os_type(os_type)
    problems += check_pool_name(name, os_type)
    problems += [p for p in check_pool_mode(mode, os_type) if p != _os_type_problem(os_type)]
    problems += check_pool_count(count, mode) if _as_mode(mode) is not None else []
    if max_pods is not None:
        problems += check_max_pods(max_pods)
    version = orchestrator_version
    if version is None and cluster is not None:
        version = cluster.current_kubernetes_version or cluster.kubernetes_version
    if kind is not None:
        problems += check_os_sku(os_sku, os_type=kind, kubernetes_version=version)
    elif orchestrator_version is not None:
        problems += _version_problems(orchestrator_version)
    count_ok = _is_int(count) and count >= 0
    effective_max_pods: int | None = max_pods
    if cluster is not None:
        problems += _check_against_cluster(
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
        if count_ok and _is_int(effective_max_pods) and not check_max_pods(effective_max_pods):
            problems += _check_subnets(
                cluster,
                count=count,
                max_pods=effective_max_pods,
                max_surge=max_surge,
                vnet_subnet_id=vnet_subnet_id,
                pod_subnet_id=pod_subnet_id,
            )
    if pods_wanted is not None and effective_max_pods is not None and count_ok:
        problems += check_pod_density(max_pods=effective_max_pods, node_count=count, pods_wanted=pods_wanted)
    return problems


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
) -> list[str]:
    problems: list[str] = []
    if isinstance(name, str) and any(p.name.lower() == name.lower() for p in cluster.pools):
        problems.append(f"the cluster already has a pool named {name!r}")
    if kind is OsType.WINDOWS:
        plugin = (cluster.network_plugin or "").lower()
        if plugin != NetworkPlugin.AZURE.value:
            problems.append(
                f"Windows pools need Azure CNI; the cluster uses {cluster.network_plugin or 'no'} network plugin "
                "(FAQ: What network plug-ins are supported?)"
            )
        if still_on_old_windows_image(cluster):
            problems.append(
                "the cluster still references the pre-February-2020 Windows image, so adding a Windows pool "
                "fails with 'images ... not found'; upgrade the control plane first "
                "(FAQ: Why am I seeing an error when I try to create a new Windows agent pool?)"
            )
    problems += check_cluster_totals(
        pool_count=len(cluster.pools) + 1,
        node_count=sum(p.count for p in cluster.pools) + count,
        max_agent_pools=cluster.max_agent_pools,
    )
    control_plane = cluster.current_kubernetes_version or cluster.kubernetes_version
    if orchestrator_version is not None and control_plane and not _version_problems(orchestrator_version):
        problems += versions.check_pool_skew(control_plane, orchestrator_version)
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


def validate_pool_spec(
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
) -> None:
    """Raise if :func:`check_pool_spec` finds problems (Service facts: FAQ rules; How the Azure CLI does it; Azure CNI capacity).

    Raises:
        InvalidInput: with every problem.
    """
    _raise_if(
        check_pool_spec(
            name=name,
            os_type=os_type,
            count=count,
            mode=mode,
            os_sku=os_sku,
            max_pods=max_pods,
            orchestrator_version=orchestrator_version,
            max_surge=max_surge,
            vnet_subnet_id=vnet_subnet_id,
            pod_subnet_id=pod_subnet_id,
            pods_wanted=pods_wanted,
            cluster=cluster,
        )
    )


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
    minors = sorted(
        {f"{v.major}.{v.minor}" for v in known}, key=lambda m: tuple(int(x) for x in m.split("."))
    )
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
    _raise_if(check_subnet_id(subnet_id))
    return subnet_id.strip()


def normalize_os_sku(os_sku: OsSku | str) -> str:
    """Return an OS SKU in the service's spelling: ``windows2022`` -> ``Windows2022`` (FAQ supported OSes).

    Raises:
        InvalidInput: not an OS SKU AKS knows.
    """
    member = _as_os_sku(os_sku) if isinstance(os_sku, (OsSku, str)) else None
    if member is None:
        raise InvalidInput(
            f"unknown OS SKU {str(os_sku)[:60]!r}; expected one of {', '.join(m.value for m in OsSku)}"
        )
    return member.value
