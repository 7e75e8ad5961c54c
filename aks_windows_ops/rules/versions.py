"""Kubernetes version arithmetic for AKS upgrades (Service facts: How the Azure CLI does it).

AKS writes versions as ``MAJOR.MINOR`` (an alias for the newest patch of that minor) or ``MAJOR.MINOR.PATCH``.
The rules here are the ones the service applies to a control plane and its pools: no downgrade, no skipped
minor, and a pool never above the control plane nor more than three minors behind it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.rules.inputs import raise_if

__all__ = [
    "MAX_POOL_MINOR_SKEW",
    "POOL_SKEW_REMEDIATION",
    "UPGRADE_PATH_REMEDIATION",
    "VERSION_REMEDIATION",
    "KubernetesVersion",
    "check_pool_skew",
    "check_upgrade_path",
    "compare_versions",
    "minor_of",
    "parse_version",
    "plan_version_hops",
    "validate_pool_skew",
    "validate_upgrade_path",
    "version_at_least",
]

#: A pool may trail its control plane by this many minors. The AKS "supported Kubernetes versions" page allows
#: three for control planes >= 1.28; the azure-mgmt-containerservice docstring still says two (Service facts:
#: How the Azure CLI does it). The service is the authority, so three.
MAX_POOL_MINOR_SKEW = 3

#: What to do about a version that does not parse.
VERSION_REMEDIATION = (
    "Give the Kubernetes version as MAJOR.MINOR or MAJOR.MINOR.PATCH, such as 1.33 or 1.33.2 "
    "(az aks get-versions lists those the region offers)."
)
#: What to do about an upgrade the service refuses (AKS supported Kubernetes versions).
UPGRADE_PATH_REMEDIATION = (
    "Upgrade one minor version at a time and never downgrade; plan the upgrade to see every hop."
)
#: What to do about a pool too far from its control plane (AKS supported Kubernetes versions).
POOL_SKEW_REMEDIATION = (
    "Upgrade the pool (or pick its version) so it is no newer than the control plane and at most three "
    "minors behind it."
)

_VERSION_RE = re.compile(r"^v?(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(?:\.(0|[1-9][0-9]{0,3}))?$")


@dataclass(frozen=True)
class KubernetesVersion:
    """A parsed Kubernetes version; ``patch`` is ``None`` for the ``MAJOR.MINOR`` alias.

    Attributes:
        major: the major version (1 for every AKS release so far).
        minor: the minor version.
        patch: the patch version, or ``None`` when the text named only the minor.
    """

    major: int
    minor: int
    patch: int | None = None

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}"
        return base if self.patch is None else f"{base}.{self.patch}"

    @property
    def minor_key(self) -> tuple[int, int]:
        """``(major, minor)``, the part that the skew and skip rules look at."""
        return (self.major, self.minor)

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """A key for sorting; a bare ``MAJOR.MINOR`` sorts after every patch of that minor.

        The alias means "newest patch", so placing it last keeps "pick the highest" correct.
        """
        return (self.major, self.minor, self.patch if self.patch is not None else 1 << 30)


def parse_version(text: str | KubernetesVersion) -> KubernetesVersion:
    """Parse ``1.31.2``, ``1.31`` or ``v1.31.2`` (Service facts: How the Azure CLI does it).

    Args:
        text: the version as AKS or kubectl prints it, or an already parsed version.

    Returns:
        The parsed version.

    Raises:
        InvalidInput: the text is not a ``MAJOR.MINOR[.PATCH]`` version.
    """
    if isinstance(text, KubernetesVersion):
        return text
    if not isinstance(text, str):
        raise InvalidInput(
            f"Kubernetes version must be a string like 1.31.2, got {type(text).__name__}",
            remediation=VERSION_REMEDIATION,
        )
    match = _VERSION_RE.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(
            f"{text!r} is not a Kubernetes version (expected MAJOR.MINOR or MAJOR.MINOR.PATCH)",
            remediation=VERSION_REMEDIATION,
        )
    major, minor, patch = match.groups()
    return KubernetesVersion(int(major), int(minor), int(patch) if patch is not None else None)


def minor_of(text: str | KubernetesVersion | None) -> tuple[int, int] | None:
    """``(major, minor)`` of a version, or ``None`` when there is none or it does not parse.

    For reading versions Azure reported (a missing or unexpected one is no finding); input from the user
    goes through :func:`parse_version`, which says what is wrong.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        return parse_version(text).minor_key
    except InvalidInput:
        return None


def compare_versions(a: str | KubernetesVersion, b: str | KubernetesVersion) -> int:
    """Compare two versions: negative if ``a < b``, zero if equal, positive if ``a > b``.

    Patches are compared only when both sides name one: ``1.31`` stands for "the newest 1.31 patch", so it
    is neither above nor below ``1.31.2`` for the purpose of the upgrade rules (Service facts: How the Azure CLI does it).

    Raises:
        InvalidInput: either side is not a version.
    """
    va, vb = parse_version(a), parse_version(b)
    if va.minor_key != vb.minor_key:
        return -1 if va.minor_key < vb.minor_key else 1
    if va.patch is None or vb.patch is None:
        return 0
    return (va.patch > vb.patch) - (va.patch < vb.patch)


def version_at_least(version: str | KubernetesVersion, minimum: str | KubernetesVersion) -> bool:
    """Whether ``version >= minimum`` under :func:`compare_versions` (Service facts: FAQ rules; How the Azure CLI does it).

    Raises:
        InvalidInput: either side is not a version.
    """
    return compare_versions(version, minimum) >= 0


def _parse_all(**named: str | KubernetesVersion) -> tuple[dict[str, KubernetesVersion], list[str]]:
    parsed: dict[str, KubernetesVersion] = {}
    problems: list[str] = []
    for label, value in named.items():
        try:
            parsed[label] = parse_version(value)
        except InvalidInput as exc:
            problems.append(f"{label.replace('_', ' ')}: {exc.problems[0]}")
    return parsed, problems


def check_upgrade_path(
    current: str | KubernetesVersion, target: str | KubernetesVersion, *, allow_skip: bool = False
) -> list[str]:
    """List the problems with upgrading from ``current`` to ``target`` (Service facts: How the Azure CLI does it).

    AKS refuses downgrades, a change of major version, and skipping a minor version (only LTS-to-LTS
    upgrades may skip, hence ``allow_skip``). Upgrading to the same version is not a problem: it is a no-op.

    Args:
        current: the running version.
        target: the requested version.
        allow_skip: accept a jump of more than one minor (LTS to LTS).

    Returns:
        One sentence per problem; empty when the upgrade is allowed.
    """
    parsed, problems = _parse_all(current_version=current, target_version=target)
    if problems:
        return problems
    cur, tgt = parsed["current_version"], parsed["target_version"]
    if cur.major != tgt.major:
        return [f"cannot change the major version from {cur} to {tgt}"]
    if compare_versions(tgt, cur) < 0:
        return [f"cannot downgrade from {cur} to {tgt}"]
    if tgt.minor - cur.minor > 1 and not allow_skip:
        skipped = ", ".join(f"{cur.major}.{m}" for m in range(cur.minor + 1, tgt.minor))
        return [
            f"cannot skip minor versions from {cur} to {tgt} (skips {skipped}); "
            "upgrade one minor at a time (the upgrade plan lists the hops)"
        ]
    return []


def validate_upgrade_path(
    current: str | KubernetesVersion, target: str | KubernetesVersion, *, allow_skip: bool = False
) -> None:
    """Raise if :func:`check_upgrade_path` finds problems.

    Raises:
        InvalidInput: with every problem.
    """
    raise_if(check_upgrade_path(current, target, allow_skip=allow_skip), UPGRADE_PATH_REMEDIATION)


def _hop_rank(v: KubernetesVersion) -> tuple[bool, int]:
    # A concrete patch beats the MAJOR.MINOR alias: the plan then shows exactly what will be installed.
    return (v.patch is not None, v.patch or 0)


def plan_version_hops(
    current: str | KubernetesVersion,
    target: str | KubernetesVersion,
    available: Iterable[str | KubernetesVersion],
) -> list[str]:
    """Return the versions to upgrade through, one minor at a time, ending with ``target`` (Service facts: How the Azure CLI does it).

    For each minor between ``current`` and ``target`` the newest patch of that minor in ``available`` is
    chosen (the upgrade profile's list; a bare ``MAJOR.MINOR`` only when no patch of it is listed). The target itself is always the last hop, as given.

    Args:
        current: the running version.
        target: the version wanted at the end.
        available: versions the service offers (``control_plane_upgrades`` or the upgrade profile).

    Returns:
        The hops in order; empty when ``target`` equals ``current``.

    Raises:
        InvalidInput: a version does not parse, ``target`` is a downgrade or another major, or an intermediate
            minor has no available version.
    """
    parsed, problems = _parse_all(current_version=current, target_version=target)
    if problems:
        raise InvalidInput(problems, remediation=VERSION_REMEDIATION)
    cur, tgt = parsed["current_version"], parsed["target_version"]
    path_problems = check_upgrade_path(cur, tgt, allow_skip=True)
    if path_problems:
        raise InvalidInput(path_problems, remediation=UPGRADE_PATH_REMEDIATION)
    if compare_versions(cur, tgt) == 0 and (cur.patch == tgt.patch or tgt.patch is None):
        return []
    by_minor: dict[int, KubernetesVersion] = {}
    bad: list[str] = []
    for item in available:
        try:
            v = parse_version(item)
        except InvalidInput:
            bad.append(str(item))
            continue
        if v.major == cur.major and (v.minor not in by_minor or _hop_rank(v) > _hop_rank(by_minor[v.minor])):
            by_minor[v.minor] = v
    if bad:
        raise InvalidInput(
            [f"available versions contain non-versions: {', '.join(sorted(bad))}"],
            remediation="List only versions Azure offers (az aks get-versions), as MAJOR.MINOR.PATCH.",
        )
    hops: list[str] = []
    missing: list[str] = []
    for minor in range(cur.minor + 1, tgt.minor):
        if minor in by_minor:
            hops.append(str(by_minor[minor]))
        else:
            missing.append(f"{cur.major}.{minor}")
    if missing:
        raise InvalidInput(
            [f"no available version for intermediate minor {m}; it cannot be skipped" for m in missing],
            remediation="Pick a target the region offers every minor version up to (az aks get-versions).",
        )
    hops.append(str(tgt))
    return hops


def check_pool_skew(control_plane: str | KubernetesVersion, pool: str | KubernetesVersion) -> list[str]:
    """List the problems with running a pool at ``pool`` under a control plane at ``control_plane``.

    Service facts: How the Azure CLI does it: the pool must have the control plane's major, never be above it, and be at most
    :data:`MAX_POOL_MINOR_SKEW` (3) minors behind it (AKS "Supported Kubernetes versions", control planes
    >= 1.28; the SDK docstring's "2" is outdated).

    Args:
        control_plane: the control plane version.
        pool: the pool's ``orchestratorVersion``.

    Returns:
        One sentence per problem; empty when the pair is supported.
    """
    parsed, problems = _parse_all(control_plane_version=control_plane, pool_version=pool)
    if problems:
        return problems
    cp, pv = parsed["control_plane_version"], parsed["pool_version"]
    if cp.major != pv.major:
        return [f"pool version {pv} has a different major version than the control plane {cp}"]
    if compare_versions(pv, cp) > 0:
        return [f"pool version {pv} is above the control plane version {cp}; upgrade the control plane first"]
    behind = cp.minor - pv.minor
    if behind > MAX_POOL_MINOR_SKEW:
        return [
            f"pool version {pv} is {behind} minor versions behind the control plane {cp} "
            f"(at most {MAX_POOL_MINOR_SKEW} allowed)"
        ]
    return []


def validate_pool_skew(control_plane: str | KubernetesVersion, pool: str | KubernetesVersion) -> None:
    """Raise if :func:`check_pool_skew` finds problems.

    Raises:
        InvalidInput: with every problem.
    """
    raise_if(check_pool_skew(control_plane, pool), POOL_SKEW_REMEDIATION)
