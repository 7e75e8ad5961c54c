"""Before a Windows pool is created: will every workload that lands on it start there?

Process isolation only (FAQ "Which Windows operating systems are supported?"): a container starts only when
the host runs its image's Windows build. Each container of each workload that would move to (``migrate``) or
land on (``pool add``) the new pool is judged from its tag or its registry index
(:mod:`aks_windows_ops.rules.image_builds`, :mod:`aks_windows_ops.azure.registry`). Incompatible images refuse
the plan before any write unless the caller allows them; unknown ones become warnings in the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from aks_windows_ops.errors import UnsafeOperation
from aks_windows_ops.rules.image_builds import (
    Compatibility,
    ImageBuilds,
    ImageVerdict,
    judge_containers,
)

__all__ = ["check_workload_images", "judge_workloads", "summarize"]

_NAMES = {
    "10.0.17763": "Windows Server 2019 (10.0.17763)",
    "10.0.20348": "Windows Server 2022 (10.0.20348)",
    "10.0.25398": "Windows Server Annual Channel (10.0.25398)",
    "10.0.26100": "Windows Server 2025 (10.0.26100)",
}


def check_workload_images(
    containers: Iterable[tuple[str, str, str]],
    host_build: str,
    resolve: Callable[[str], ImageBuilds],
    *,
    pool: str,
    allow_incompatible: bool = False,
) -> tuple[list[ImageVerdict], list[str]]:
    """Judge each ``(workload, container, image)`` against the new pool's build; refuse incompatible ones.

    Args:
        containers: what would run on the new pool.
        host_build: the new pool's Windows build (``10.0.20348``).
        resolve: image -> builds with evidence (a ``RegistryReader``).
        pool: the new pool's name, for the messages.
        allow_incompatible: plan anyway; the incompatible images become warnings.

    Returns:
        Every verdict, and the plan warnings (unknown images, and incompatible ones when allowed).

    Raises:
        UnsafeOperation: an image cannot run on the new pool's build (nothing was sent).
    """
    verdicts = judge_containers(containers, host_build, resolve)
    host = _NAMES.get(host_build, host_build)
    bad = [v for v in verdicts if v.result is Compatibility.INCOMPATIBLE]
    unknown = [v for v in verdicts if v.result is Compatibility.UNKNOWN]
    warnings = [
        f"{v.workload} container {v.container}: cannot tell whether image {v.image} runs on {host} hosts "
        f"({v.evidence}); check it before the move"
        for v in unknown
    ]
    if bad and not allow_incompatible:
        raise UnsafeOperation(
            f"{len(bad)} container image(s) cannot run on pool {pool} ({host}; process isolation needs a "
            "matching Windows build): " + "; ".join(_line(v) for v in bad),
            remediation=(
                f"Rebuild these images for {host} (or publish an image index that includes that build) and "
                "roll them out first, or choose an OS SKU they run on. To go ahead anyway (those pods will "
                "never start on the new pool), allow it explicitly with --allow-incompatible-images."
            ),
        )
    warnings[:0] = [
        f"allowed although incompatible: {_line(v)}; these pods will not start on pool {pool}" for v in bad
    ]
    return verdicts, warnings


def _line(v: ImageVerdict) -> str:
    return f"{v.workload} container {v.container} image {v.image} ({v.evidence})"


def summarize(verdicts: Sequence[ImageVerdict]) -> str:
    """One line: how many containers are compatible, incompatible and unknown."""
    counts = {c: sum(1 for v in verdicts if v.result is c) for c in Compatibility}
    return ", ".join(f"{n} {c.value}" for c, n in counts.items())


def judge_workloads(
    objects: Iterable[object],
    os_sku: str,
    resolve: Callable[[str], ImageBuilds] | None = None,
) -> list[ImageVerdict]:
    """Judge every container of workload manifests or live objects against an OS SKU's Windows build.

    For audits ("which images must be rebuilt before leaving Windows Server 2019?"): pods, Deployments,
    StatefulSets, DaemonSets, ReplicaSets and Jobs, as manifests (e.g. from YAML files) or ``kubernetes``
    client objects. ``resolve`` reads the registry (``azure.registry.RegistryReader``); by default only the
    tags decide, and images whose tag names no build are unknown.

    Raises:
        InvalidInput: ``os_sku`` is not a Windows OS SKU.
    """
    from aks_windows_ops.errors import InvalidInput
    from aks_windows_ops.kube.workloads import container_images
    from aks_windows_ops.rules.image_builds import host_build_of_sku, tag_evidence

    host_build = host_build_of_sku(os_sku)
    if host_build is None:
        raise InvalidInput(
            f"{os_sku!r} is not a Windows OS SKU (Windows2019, Windows2022, WindowsAnnual, Windows2025)"
        )

    def by_tag(image: str) -> ImageBuilds:
        return tag_evidence(image) or ImageBuilds(None, "tag names no Windows build; registry not read")

    return judge_containers(container_images(objects), host_build, resolve or by_tag)
