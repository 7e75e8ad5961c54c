"""The kubelet's image-build check for the fake cluster: a Windows container whose image build the host cannot run.

Windows nodes on AKS run containers with process isolation only, so containerd refuses to create a container
whose image was built for another Windows build than the host runs (learn.microsoft.com, "Windows container
version compatibility"; portability from Windows Server 2022 images to Annual Channel and Windows Server 2025
hosts per github.com/Azure/AKS/issues/5608). The pod then stays ``Pending``, never Ready, with the container
``waiting`` in ``CreateContainerError`` and containerd's message, as ``kubectl describe pod`` shows it.

The builds of an image come from a resolver: the simulator's registry when one is attached, else the tag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from aks_windows_ops.rules.image_builds import builds_from_tag, host_runs_image_build
from aks_windows_ops.testing.kube.objects import timestamp

__all__ = [
    "CREATE_CONTAINER_ERROR",
    "Resolver",
    "hold_incompatible",
    "is_held",
    "mismatch_message",
    "tag_resolver",
]

#: The waiting reason the kubelet reports when the runtime cannot create the container.
CREATE_CONTAINER_ERROR = "CreateContainerError"
WINDOWS_BUILD_LABEL = "node.kubernetes.io/windows-build"

Resolver = Callable[[str], "frozenset[str] | None"]


def tag_resolver(image: str) -> frozenset[str] | None:
    """The builds an image's tag names (the fallback when no registry knows the image)."""
    return builds_from_tag(image)


def mismatch_message(container_id: str) -> str:
    """Containerd's error for an image whose Windows build the host cannot run (process isolation)."""
    return (
        f"failed to create containerd container: hcs::CreateComputeSystem {container_id}: "
        "The container operating system does not match the host operating system."
    )


def _blocked(pod: dict[str, Any], host_build: str, resolve: Resolver) -> list[dict[str, Any]]:
    out = []
    for container in pod["spec"].get("containers") or []:
        builds = resolve(str(container.get("image") or ""))
        if not builds:
            continue
        if not any(host_runs_image_build(host_build, b) for b in builds):
            out.append(container)
    return out


def hold_incompatible(pod: dict[str, Any], node: dict[str, Any], resolve: Resolver) -> bool | None:
    """Keep a pod Pending when one of its containers' images cannot run on the node's Windows build.

    Returns:
        ``None`` when every container may start; otherwise whether the pod's status was changed now.
    """
    host_build = (node["metadata"].get("labels") or {}).get(WINDOWS_BUILD_LABEL)
    if not host_build:
        return None
    blocked = _blocked(pod, str(host_build), resolve)
    if not blocked:
        return None
    status = pod.setdefault("status", {})
    names = [str(c.get("name")) for c in pod["spec"].get("containers") or []]
    bad = {str(c.get("name")) for c in blocked}
    statuses = []
    for container in pod["spec"].get("containers") or []:
        name = str(container.get("name"))
        cid = hashlib.sha256((pod["metadata"]["uid"] + name).encode()).hexdigest()
        state: dict[str, Any] = (
            {"waiting": {"reason": CREATE_CONTAINER_ERROR, "message": mismatch_message(cid)}}
            if name in bad
            else {"waiting": {"reason": "ContainerCreating"}}
        )
        statuses.append(
            {
                "name": name,
                "image": container.get("image"),
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": 0,
                "state": state,
                "lastState": {},
            }
        )
    message = f"containers with unready status: [{' '.join(names)}]"
    wanted = {
        "PodScheduled": ("True", None, None),
        "Initialized": ("True", None, None),
        "ContainersReady": ("False", "ContainersNotReady", message),
        "Ready": ("False", "ContainersNotReady", message),
    }
    current = {c.get("type"): c for c in status.get("conditions") or []}
    same = status.get("containerStatuses") == statuses and all(
        current.get(kind, {}).get("status") == value[0] for kind, value in wanted.items()
    )
    if same:
        return False
    now = timestamp()
    status["phase"] = "Pending"
    status["containerStatuses"] = statuses
    status["conditions"] = [
        {
            "type": kind,
            "status": value,
            "lastProbeTime": None,
            "lastTransitionTime": now,
            **({"reason": reason} if reason else {}),
            **({"message": text} if text else {}),
        }
        for kind, (value, reason, text) in wanted.items()
    ]
    return True


def is_held(pod: dict[str, Any]) -> bool:
    """Whether the runtime refuses one of the pod's containers (it waits for ever; nothing changes with time)."""
    return any(
        ((status.get("state") or {}).get("waiting") or {}).get("reason") == CREATE_CONTAINER_ERROR
        for status in (pod.get("status") or {}).get("containerStatuses") or []
    )
