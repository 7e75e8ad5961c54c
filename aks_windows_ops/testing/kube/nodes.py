"""AKS node objects: what a node of an agent pool looks like to the Kubernetes API.

Node names follow AKS: ``aks-<pool>-12345678-vmss<index>`` for Linux scale sets and ``aks<pool><index>`` for
Windows (the index in base 36, as a scale set's computer name prefix does). Nodes carry the labels AKS sets
(``kubernetes.io/os``, ``agentpool``, ``kubernetes.azure.com/agentpool``, ``kubernetes.azure.com/os-sku``,
``kubernetes.azure.com/mode``) and, on Windows, ``node.kubernetes.io/windows-build`` of the OS SKU (FAQ: process
isolation only, so the build decides which images run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import WINDOWS_BUILDS, OsSku
from aks_windows_ops.rules import versions
from aks_windows_ops.rules.pool_limits import default_os_sku

__all__ = ["OS_IMAGES", "node_manifest", "parse_taint", "pool_node_labels", "pool_node_name", "version_tuple"]

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
#: ``status.nodeInfo.osImage`` per OS SKU.
OS_IMAGES = {
    "Windows2019": "Windows Server 2019 Datacenter",
    "Windows2022": "Windows Server 2022 Datacenter",
    "Windows2025": "Windows Server 2025 Datacenter",
}


def _base36(number: int, width: int = 6) -> str:
    digits = ""
    while True:
        number, rem = divmod(number, 36)
        digits = _BASE36[rem] + digits
        if number == 0:
            return digits.rjust(width, "0")


def parse_taint(text: str) -> dict[str, str]:
    """Parse an AKS node taint ``key=value:Effect`` (or ``key:Effect``) into a Kubernetes taint.

    Raises:
        ValueError: the text has no effect or an unknown one.
    """
    head, sep, effect = text.rpartition(":")
    if not sep or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute") or not head:
        raise ValueError(f"invalid taint {text!r}: expected key=value:NoSchedule|PreferNoSchedule|NoExecute")
    key, _, value = head.partition("=")
    taint = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


def version_tuple(version: str) -> tuple[int, ...]:
    """``v1.33.2`` -> ``(1, 33, 2)`` with the library's one version parser, for comparing kubelet versions."""
    try:
        parsed = versions.parse_version(version)
    except InvalidInput:
        return (0, 0, 0)
    return (parsed.major, parsed.minor, parsed.patch or 0)


def pool_node_name(pool: str, index: int, *, os_type: str) -> str:
    """The AKS node name of a pool's instance: ``aks-<pool>-12345678-vmss00000<i>`` or ``aks<pool>00000<i>``."""
    if os_type.lower() == "windows":
        return f"aks{pool}{_base36(index)}"
    return f"aks-{pool}-12345678-vmss{_base36(index)}"


def pool_node_labels(
    name: str,
    *,
    os_type: str,
    os_sku: str | None,
    kubernetes_version: str,
    mode: str,
    labels: Mapping[str, str] | None,
) -> tuple[str, dict[str, str]]:
    """The OS SKU and the labels AKS puts on every node of pool ``name`` (see the module docstring).

    ``os_sku`` defaults to what AKS picks (the library's rule: Windows2019 below Kubernetes 1.25, Windows2022
    while it runs the version, then Windows2025; Ubuntu on Linux).
    """
    windows = str(os_type).lower() == "windows"
    if os_sku is None:
        os_sku = default_os_sku("Windows" if windows else "Linux", kubernetes_version).value
    sku = str(getattr(os_sku, "value", os_sku))
    node_labels = {
        "agentpool": name,
        "kubernetes.azure.com/agentpool": name,
        "kubernetes.azure.com/os-sku": sku,
        "kubernetes.azure.com/mode": str(getattr(mode, "value", mode)).lower(),
        "kubernetes.azure.com/role": "agent",
        **dict(labels or {}),
    }
    if windows:
        try:
            build = WINDOWS_BUILDS[OsSku(sku)]
        except (KeyError, ValueError):
            build = WINDOWS_BUILDS[OsSku.WINDOWS2022]
        node_labels["node.kubernetes.io/windows-build"] = build
    return sku, node_labels


def node_manifest(
    name: str,
    *,
    labels: Mapping[str, str] | None,
    taints: Sequence[str | Mapping[str, str]] | None,
    allocatable_pods: int,
    ready: bool,
    os_type: str,
    kubelet_version: str,
    os_image: str | None,
    index: int,
    now: str,
) -> dict[str, Any]:
    """A ``Node`` as the kubelet registers it: capacity, the Ready condition, addresses and ``nodeInfo``.

    Args:
        name: node name.
        labels: extra labels (the OS, architecture and hostname labels are added unless given).
        taints: ``key=value:Effect`` strings or taint dicts.
        allocatable_pods: ``status.allocatable.pods``.
        ready: the Ready condition.
        os_type: ``Linux`` or ``Windows``.
        kubelet_version: reported as ``v<version>``.
        os_image: ``status.nodeInfo.osImage``.
        index: the node's position in the cluster (its InternalIP).
        now: the registration time (RFC 3339).
    """
    windows = os_type.lower() == "windows"
    all_labels = {
        "kubernetes.io/os": "windows" if windows else "linux",
        "beta.kubernetes.io/os": "windows" if windows else "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        **dict(labels or {}),
    }
    taint_list = [parse_taint(t) if isinstance(t, str) else dict(t) for t in taints or []]
    build = all_labels.get("node.kubernetes.io/windows-build", "10.0.20348")
    node: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": all_labels, "annotations": {}},
        "spec": {"taints": taint_list} if taint_list else {},
        "status": {
            "capacity": {
                "cpu": "4",
                "memory": "16365464Ki",
                "ephemeral-storage": "129886128Ki",
                "pods": str(allocatable_pods),
            },
            "allocatable": {
                "cpu": "3860m",
                "memory": "12880792Ki",
                "ephemeral-storage": "119703055367",
                "pods": str(allocatable_pods),
            },
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "reason": "KubeletReady" if ready else "KubeletNotReady",
                    "message": "kubelet is posting ready status" if ready else "container runtime is down",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": f"10.224.{index // 250}.{index % 250 + 4}"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": f"boot-{name}",
                "containerRuntimeVersion": "containerd://1.7.20",
                "kernelVersion": f"{build}.2700" if windows else "5.15.0-1075-azure",
                "kubeProxyVersion": f"v{kubelet_version.lstrip('v')}",
                "kubeletVersion": f"v{kubelet_version.lstrip('v')}",
                "machineID": f"machine-{name}",
                "operatingSystem": "windows" if windows else "linux",
                "osImage": os_image
                or ("Windows Server 2022 Datacenter" if windows else "Ubuntu 22.04.5 LTS"),
                "systemUUID": f"uuid-{name}",
            },
        },
    }
    return node
