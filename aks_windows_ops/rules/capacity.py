"""Azure CNI address arithmetic: will a pool (and its upgrade surge) fit in its subnets (Service facts: Azure CNI capacity)?

The FAQ's "What network plug-ins are supported?" warns that Azure CNI "requires extra planning and
consideration for IP address management"; the service reports a miss only after the call, as
``SubnetIsFull``/``InsufficientSubnetSize`` ("Pre-allocated IPs 276 exceeds IPs available 251"). These
functions do the same sum first.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import re
from dataclasses import dataclass

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import SubnetUsage

__all__ = [
    "AZURE_RESERVED_ADDRESSES",
    "DEFAULT_MAX_SURGE",
    "POD_SUBNET_BATCH",
    "AddressNeed",
    "CapacityVerdict",
    "CniMode",
    "addresses_needed",
    "cni_mode",
    "fits",
    "surge_nodes",
    "usable_addresses",
]

#: Azure keeps the network address, the broadcast address and three more in every subnet.
AZURE_RESERVED_ADDRESSES = 5

#: AKS surges 10% when ``maxSurge`` is unset (Service facts: Azure CNI capacity: set it explicitly).
DEFAULT_MAX_SURGE = "10%"

#: Azure CNI with a pod subnet hands pod addresses to a node in batches of this size.
POD_SUBNET_BATCH = 16

_PERCENT_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
_INT_RE = re.compile(r"^\s*([0-9]+)\s*$")


class CniMode(str, enum.Enum):
    """How pods get their addresses, which decides what a node costs in the node subnet."""

    NODE_SUBNET = "node-subnet"
    POD_SUBNET = "pod-subnet"
    OVERLAY = "overlay"
    KUBENET = "kubenet"


#: What to do about a refused max surge (AKS node surge upgrades).
_SURGE_FIX = (
    "Give max surge as a percentage from 0% to 100% (such as 33%) or a whole number of nodes (such as 1)."
)
#: What to do about a refused subnet prefix (Service facts: Azure CNI capacity).
_PREFIX_FIX = (
    "Give the subnet prefix as an address range such as 10.0.0.0/24, or its length such as /24 (at most /29)."
)
#: What to do about a negative node count, max pods or address count.
_COUNT_FIX = "Give node counts, max pods and address counts as whole numbers of zero or more."


def cni_mode(
    network_plugin: str | None, network_plugin_mode: str | None, pod_subnet_id: str | None
) -> CniMode:
    """Classify a pool's networking (Service facts: Azure CNI capacity).

    Args:
        network_plugin: ``networkProfile.networkPlugin`` (``azure``, ``kubenet``, ``none``).
        network_plugin_mode: ``networkProfile.networkPluginMode`` (``overlay`` or ``None``).
        pod_subnet_id: the pool's ``podSubnetID``, if any.

    Returns:
        The mode; a bring-your-own CNI (``none``) is treated like kubenet (one node-subnet address per node).
    """
    plugin = (network_plugin or "").lower()
    if plugin == "azure":
        if (network_plugin_mode or "").lower() == "overlay":
            return CniMode.OVERLAY
        return CniMode.POD_SUBNET if pod_subnet_id else CniMode.NODE_SUBNET
    return CniMode.KUBENET


def surge_nodes(count: int, max_surge: str | int | None = None) -> int:
    """How many extra nodes an upgrade adds (Service facts: Azure CNI capacity).

    Args:
        count: nodes in the pool.
        max_surge: ``"33%"`` (ceil of that share of ``count``), an integer or integer string, or ``None``
            for the service default of 10%.

    Returns:
        The surge node count (0 for an empty pool).

    Raises:
        InvalidInput: ``count`` is negative or ``max_surge`` is neither a percentage nor a whole number.
    """
    if count < 0:
        raise InvalidInput(f"node count must not be negative, got {count}", remediation=_COUNT_FIX)
    value: str | int = DEFAULT_MAX_SURGE if max_surge is None or max_surge == "" else max_surge
    if isinstance(value, bool):
        raise InvalidInput(
            f"max surge must be a percentage like '10%' or a whole number, got {value!r}",
            remediation=_SURGE_FIX,
        )
    if isinstance(value, int):
        if value < 0:
            raise InvalidInput(f"max surge must not be negative, got {value}", remediation=_SURGE_FIX)
        return value
    pct = _PERCENT_RE.fullmatch(value)
    if pct:
        share = float(pct.group(1))
        if share > 100:
            raise InvalidInput(
                f"max surge percentage must be at most 100%, got {value!r}", remediation=_SURGE_FIX
            )
        # Scale to an integer first so that e.g. 10% of 30 is exactly 3, not 3.0000000000000004 -> 4.
        thousandths = round(count * share * 1000)
        return -(-thousandths // 100_000)
    whole = _INT_RE.fullmatch(value)
    if whole:
        return int(whole.group(1))
    raise InvalidInput(
        f"max surge must be a percentage like '10%' or a whole number, got {value!r}", remediation=_SURGE_FIX
    )


def usable_addresses(prefix: str | int) -> int:
    """Addresses Azure lets a subnet hand out (Service facts: Azure CNI capacity): ``2**(bits - len) - 5``.

    Args:
        prefix: ``"10.0.0.0/24"``, ``"/24"``, ``"24"`` or ``24`` (IPv4 when no address says otherwise).

    Returns:
        The usable count, e.g. 251 for a /24.

    Raises:
        InvalidInput: not a prefix, or smaller than Azure's smallest subnet (/29 for IPv4).
    """
    bits = 32
    length: int
    if isinstance(prefix, bool):
        raise InvalidInput(f"{prefix!r} is not a subnet prefix", remediation=_PREFIX_FIX)
    if isinstance(prefix, int):
        length = prefix
    else:
        text = prefix.strip()
        if "/" in text and text.split("/", 1)[0]:
            try:
                net = ipaddress.ip_network(text, strict=False)
            except ValueError as exc:
                raise InvalidInput(f"{prefix!r} is not a subnet prefix", remediation=_PREFIX_FIX) from exc
            bits, length = net.max_prefixlen, net.prefixlen
        else:
            digits = text.removeprefix("/")
            if not _INT_RE.fullmatch(digits):
                raise InvalidInput(f"{prefix!r} is not a subnet prefix", remediation=_PREFIX_FIX)
            length = int(digits)
    if not 0 <= length <= bits:
        raise InvalidInput(
            f"prefix length /{length} is out of range for IPv{4 if bits == 32 else 6}",
            remediation=_PREFIX_FIX,
        )
    usable = (1 << (bits - length)) - AZURE_RESERVED_ADDRESSES
    if usable < 1:
        raise InvalidInput(
            f"/{length} is smaller than the smallest Azure subnet (/29)", remediation=_PREFIX_FIX
        )
    return usable


@dataclass(frozen=True)
class AddressNeed:
    """Addresses one pool needs with its surge (Service facts: Azure CNI capacity).

    Attributes:
        mode: the networking mode the sum used.
        nodes: nodes in the pool.
        surge: surge nodes during an upgrade.
        node_subnet: addresses needed in the node subnet.
        pod_subnet: addresses needed in the pod subnet at first (one 16-address batch per node); 0 without one.
        pod_subnet_full: pod-subnet addresses when every node runs ``max_pods`` pods (whole batches).
        pod_cidr_blocks: /24 blocks of the overlay pod CIDR (overlay and kubenet); 0 otherwise.
    """

    mode: CniMode
    nodes: int
    surge: int
    node_subnet: int
    pod_subnet: int = 0
    pod_subnet_full: int = 0
    pod_cidr_blocks: int = 0


def addresses_needed(
    *,
    count: int,
    max_pods: int,
    mode: CniMode = CniMode.NODE_SUBNET,
    max_surge: str | int | None = None,
) -> AddressNeed:
    """Sum the addresses a pool needs, surge nodes included (Service facts: Azure CNI capacity).

    * node subnet: ``(nodes + surge) * (max_pods + 1)``: Azure CNI pre-allocates every pod address.
    * pod subnet: ``nodes + surge`` in the node subnet; pods take 16-address batches per node.
    * overlay (and kubenet): ``nodes + surge`` in the node subnet; each node takes a /24 of the pod CIDR.

    Args:
        count: nodes in the pool.
        max_pods: the pool's ``maxPods``.
        mode: from :func:`cni_mode`.
        max_surge: as for :func:`surge_nodes`.

    Raises:
        InvalidInput: a negative count or max pods, or a bad ``max_surge``.
    """
    problems = []
    if count < 0:
        problems.append(f"node count must not be negative, got {count}")
    if max_pods < 0:
        problems.append(f"max pods must not be negative, got {max_pods}")
    if problems:
        raise InvalidInput(problems, remediation=_COUNT_FIX)
    surge = surge_nodes(count, max_surge)
    nodes = count + surge
    if mode is CniMode.NODE_SUBNET:
        return AddressNeed(mode, count, surge, node_subnet=nodes * (max_pods + 1))
    if mode is CniMode.POD_SUBNET:
        batches = max(1, math.ceil(max_pods / POD_SUBNET_BATCH))
        return AddressNeed(
            mode,
            count,
            surge,
            node_subnet=nodes,
            pod_subnet=nodes * POD_SUBNET_BATCH,
            pod_subnet_full=nodes * batches * POD_SUBNET_BATCH,
        )
    return AddressNeed(mode, count, surge, node_subnet=nodes, pod_cidr_blocks=nodes)


@dataclass(frozen=True)
class CapacityVerdict:
    """Whether ``needed`` addresses fit in a subnet, phrased like the service's ``SubnetIsFull`` error.

    Attributes:
        fits: the addresses fit.
        needed: addresses wanted.
        available: addresses free in the subnet.
        shortfall: how many are missing (0 when it fits).
        message: one sentence, e.g. ``Pre-allocated IPs 276 exceeds IPs available 251 in subnet ...``.
        subnet_id: the subnet the verdict is about.
    """

    fits: bool
    needed: int
    available: int
    shortfall: int
    message: str
    subnet_id: str = ""

    def __bool__(self) -> bool:
        return self.fits


def fits(subnet: SubnetUsage, needed: int) -> CapacityVerdict:
    """Compare ``needed`` with the subnet's free addresses (Service facts: ARM behaviour; Azure CNI capacity).

    Args:
        subnet: usage from ``virtual_networks.list_usage`` (``limit`` already excludes Azure's 5).
        needed: addresses the operation pre-allocates (from :func:`addresses_needed`).

    Returns:
        The verdict; ``message`` mirrors the service's wording so that operators recognise it.

    Raises:
        InvalidInput: ``needed`` is negative.
    """
    if needed < 0:
        raise InvalidInput(f"needed addresses must not be negative, got {needed}", remediation=_COUNT_FIX)
    available = subnet.available
    name = subnet.subnet_id.rstrip("/").rsplit("/", 1)[-1] or subnet.subnet_id
    if needed > available:
        shortfall = needed - available
        message = (
            f"Pre-allocated IPs {needed} exceeds IPs available {available} in subnet {name} "
            f"({shortfall} short)"
        )
        return CapacityVerdict(False, needed, available, shortfall, message, subnet.subnet_id)
    message = f"Pre-allocated IPs {needed} fit in IPs available {available} in subnet {name}"
    return CapacityVerdict(True, needed, available, 0, message, subnet.subnet_id)
