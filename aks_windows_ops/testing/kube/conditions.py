"""Predicates on pods and nodes that the simulated controllers, scheduler and kubelet share.

Conditions follow the Kubernetes API conventions (``status.conditions`` with ``type``/``status``); a pod is
Ready when its ``Ready`` condition is ``True`` and it is not being deleted.
"""

from __future__ import annotations

import math
from typing import Any, cast

__all__ = [
    "DAEMONSET_TOLERATIONS",
    "FINISHED",
    "SUFFIX_ALPHABET",
    "Obj",
    "condition",
    "controller_ref",
    "int_or_percent",
    "is_finished",
    "is_ready",
    "is_terminating",
    "labels_of",
    "node_ip",
    "node_ready",
]

#: A Kubernetes object as JSON.
Obj = dict[str, Any]

SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
FINISHED = ("Succeeded", "Failed")
#: Tolerations the DaemonSet controller adds to every pod it creates.
DAEMONSET_TOLERATIONS: tuple[Obj, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)


def labels_of(obj: Obj) -> dict[str, str]:
    """The object's labels (empty when it has none)."""
    return cast(dict[str, str], obj["metadata"].get("labels") or {})


def controller_ref(obj: Obj) -> Obj | None:
    """The owner reference marked ``controller: true``, or ``None``."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return cast(Obj, ref)
    return None


def condition(obj: Obj, kind: str) -> Obj | None:
    """The condition of type ``kind`` in ``status.conditions``, or ``None``."""
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cast(Obj, cond)
    return None


def is_ready(pod: Obj) -> bool:
    """Whether the pod's Ready condition is True and it is not being deleted."""
    cond = condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True" and not pod["metadata"].get("deletionTimestamp")


def is_terminating(pod: Obj) -> bool:
    """Whether the pod carries a ``deletionTimestamp``."""
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_finished(pod: Obj) -> bool:
    """Whether the pod's phase is ``Succeeded`` or ``Failed``."""
    return pod.get("status", {}).get("phase") in FINISHED


def node_ready(node: Obj) -> bool:
    """Whether the node's Ready condition is True."""
    cond = condition(node, "Ready")
    return cond is not None and cond.get("status") == "True"


def int_or_percent(value: Any, total: int, *, round_up: bool) -> int:
    """An ``IntOrString`` (``3`` or ``"25%"``) scaled against ``total``, rounded as the controllers do."""
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        scaled = int(text[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(text)


def node_ip(node: Obj) -> str:
    """The node's ``InternalIP`` address (``10.224.0.4`` when it reports none)."""
    for address in node["status"].get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address["address"])
    return "10.224.0.4"
