"""The simulator's catalog: Kubernetes versions and node image releases.

The figures follow the shapes of AKS's release notes (github.com/Azure/AKS/releases): patch versions per minor, Windows image
names ``AKSWindows-<year>-containerd-<build>.<rev>.<yymmdd>`` and Linux ``AKSUbuntu-2204gen2containerd-<yyyymm>.<dd>.0``.
A cluster only sees a Windows image released before its last control plane upgrade (FAQ "How do I patch my
Windows nodes?": the updated Windows image is used only after a control plane upgrade).
"""

from __future__ import annotations

import datetime as _dt

from aks_windows_ops.rules import versions

__all__ = [
    "IMAGE_RELEASES",
    "KUBERNETES_VERSIONS",
    "LONG_TERM_SUPPORT_ONLY",
    "latest_image",
    "minor_of",
    "parse_version",
]

#: The Kubernetes patch versions the simulated region offers on 2026-11-26, oldest first: two patches of each
#: minor. AKS supports the three newest generally available minors (1.35 GA March 2026, 1.36 June 2026, 1.37
#: October 2026) and 1.34 until its standard support ends on 2026-11-30; 1.36.3, 1.35.7 and 1.34.10 are the
#: patches of the AKS release notes of 2026-09-04 (learn.microsoft.com/azure/aks/supported-kubernetes-versions;
#: github.com/Azure/AKS/releases/tag/2026-09-04). The minors in :data:`LONG_TERM_SUPPORT_ONLY` are out of
#: standard support and offered only to clusters on AKS Long Term Support; they stay listed so that a cluster
#: still on them (a Windows Server 2019 pool holds its cluster on 1.32) can be upgraded one minor at a time.
KUBERNETES_VERSIONS: tuple[str, ...] = (
    "1.32.4",
    "1.32.7",
    "1.33.2",
    "1.33.5",
    "1.34.8",
    "1.34.10",
    "1.35.5",
    "1.35.7",
    "1.36.1",
    "1.36.3",
    "1.37.0",
    "1.37.1",
)

#: Minors of :data:`KUBERNETES_VERSIONS` out of AKS standard support on 2026-11-26 (1.32 ended 2026-03-31, 1.33
#: on 2026-07-31), still covered by AKS Long Term Support (until 2027-03-31 and 2027-07-31).
LONG_TERM_SUPPORT_ONLY: frozenset[str] = frozenset({"1.32", "1.33"})

#: Node image release dates (oldest first); each release ships a new image for every OS SKU.
IMAGE_RELEASES: tuple[_dt.date, ...] = (
    _dt.date(2026, 6, 10),
    _dt.date(2026, 7, 15),
    _dt.date(2026, 8, 12),
    _dt.date(2026, 9, 9),
    _dt.date(2026, 10, 14),
    _dt.date(2026, 11, 11),
)

#: Per Windows OS SKU: the name's OS label, the host build (the lifecycle data's host builds) and the build
#: revision of the oldest release. Windows Annual Channel (preview) is 23H2, build 25398.
_WINDOWS_BUILD = {
    "Windows2019": ("2019", 17763, 6800),
    "Windows2022": ("2022", 20348, 3800),
    "WindowsAnnual": ("23H2", 25398, 3900),
    "Windows2025": ("2025", 26100, 4300),
}


def parse_version(version: str) -> tuple[int, int, int]:
    """Parse ``1.31.5`` (or ``1.31``, taken as patch 0) into a comparable tuple, with the library's one parser."""
    parsed = versions.parse_version(version)
    return parsed.major, parsed.minor, parsed.patch or 0


def minor_of(version: str) -> tuple[int, int]:
    """Return ``(major, minor)`` of a version string."""
    return versions.parse_version(version).minor_key


def image_name(os_sku: str | None, os_type: str, release: _dt.date) -> str:
    """Return the node image version name a pool of this OS gets from a release."""
    index = IMAGE_RELEASES.index(release) if release in IMAGE_RELEASES else 0
    stamp = release.strftime("%y%m%d")
    if os_type == "Windows":
        year, build, rev = _WINDOWS_BUILD.get(os_sku or "Windows2022", _WINDOWS_BUILD["Windows2022"])
        return f"AKSWindows-{year}-containerd-{build}.{rev + 100 * index}.{stamp}"
    if os_sku == "AzureLinux":
        return f"AKSAzureLinux-V3gen2-{release.strftime('%Y%m')}.{release.day:02d}.0"
    return f"AKSUbuntu-2204gen2containerd-{release.strftime('%Y%m')}.{release.day:02d}.0"


def latest_image(
    os_sku: str | None, os_type: str, *, today: _dt.date, windows_cutoff: _dt.date | None
) -> str:
    """Return the newest image a pool may upgrade to.

    Linux pools get the newest release up to ``today``. Windows pools get the newest release up to the
    cluster's last control plane upgrade (``windows_cutoff``), as the FAQ's patching note says.
    """
    limit = today
    if os_type == "Windows" and windows_cutoff is not None:
        limit = min(today, windows_cutoff)
    candidates = [r for r in IMAGE_RELEASES if r <= limit] or [IMAGE_RELEASES[0]]
    return image_name(os_sku, os_type, candidates[-1])


def oldest_image(os_sku: str | None, os_type: str) -> str:
    """Return the image of the oldest release (a pool that has not been patched for months)."""
    return image_name(os_sku, os_type, IMAGE_RELEASES[0])
