"""Which Windows builds a container image supports, and which image builds a Windows host runs.

AKS runs Windows containers with process isolation only (FAQ "Which Windows operating systems are
supported?"), so a container starts only when the host runs the image's Windows build. This module holds the
facts and the judgement, with no I/O:

* the build a tag names (``ltsc2019``/``1809``/``10.0.17763``, ``ltsc2022``/``10.0.20348``,
  ``ltsc2025``/``10.0.26100``); a digest or any other tag names none, and the registry's image index
  (``platform.os.version`` of each manifest, read by :mod:`aks_windows_ops.azure.registry`) must decide;
* the host/image portability table, each row with its public source;
* per workload container: compatible, incompatible or unknown, with the evidence.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "HOST_BUILDS",
    "Compatibility",
    "ImageBuilds",
    "ImageReference",
    "ImageVerdict",
    "build_of",
    "builds_from_index",
    "builds_from_tag",
    "host_build_of_sku",
    "host_runs_image_build",
    "judge_containers",
    "judge_image",
    "parse_image_reference",
    "tag_evidence",
]

#: The Windows host build of each AKS Windows OS SKU (the node label ``node.kubernetes.io/windows-build``).
HOST_BUILDS: dict[str, str] = {
    "Windows2019": "10.0.17763",
    "Windows2022": "10.0.20348",
    "WindowsAnnual": "10.0.25398",
    "Windows2025": "10.0.26100",
}

_NAMES = {
    "10.0.17763": "Windows Server 2019 (ltsc2019)",
    "10.0.20348": "Windows Server 2022 (ltsc2022)",
    "10.0.25398": "Windows Server Annual Channel 23H2",
    "10.0.26100": "Windows Server 2025 (ltsc2025)",
}


_TAG_TOKENS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:^|[^a-z0-9])(?:ltsc2019|1809)(?:$|[^a-z0-9])"), "10.0.17763"),
    (re.compile(r"(?:^|[^a-z0-9])ltsc2022(?:$|[^a-z0-9])"), "10.0.20348"),
    (re.compile(r"(?:^|[^a-z0-9])ltsc2025(?:$|[^a-z0-9])"), "10.0.26100"),
)
_NUMERIC_BUILD = re.compile(r"(?:^|[^0-9.])10\.0\.(\d{5})(?:\.\d+)?(?:$|[^0-9])")


def build_of(version: str | None) -> str | None:
    """The ``10.0.NNNNN`` build of an ``os.version`` such as ``10.0.20348.2849`` (``None`` when not one)."""
    if not version:
        return None
    match = re.fullmatch(r"\s*10\.0\.(\d{4,6})(?:\.\d+)*\s*", version)
    return f"10.0.{match.group(1)}" if match else None


def host_build_of_sku(os_sku: str | None) -> str | None:
    """The Windows host build of an AKS OS SKU (``Windows2022`` -> ``10.0.20348``); ``None`` for others."""
    if not os_sku:
        return None
    value = str(getattr(os_sku, "value", os_sku))
    return next((b for k, b in HOST_BUILDS.items() if k.lower() == value.lower()), None)


def host_runs_image_build(host_build: str, image_build: str) -> bool | None:
    """Whether a host runs an image build with process isolation; ``None`` when the host build is unknown.

    The portability facts come from the packaged lifecycle data (``rules/data/lifecycle.yaml``, each entry with
    its source: learn.microsoft.com "Windows container version compatibility"; github.com/Azure/AKS/issues/5608):
    a Windows Server 2019 or 2022 host runs only its own build; Annual Channel and Windows Server 2025 hosts
    also run Windows Server 2022 images.
    """
    from aks_windows_ops.rules.lifecycle import builtin_lifecycle

    entry = builtin_lifecycle().portability.get(build_of(host_build) or host_build)
    if entry is None:
        return None
    return (build_of(image_build) or image_build) in entry.runs


@dataclass(frozen=True)
class ImageReference:
    """A parsed image reference ``[registry/]repository[:tag][@digest]``.

    Attributes:
        registry: the registry host (``docker.io`` when the reference names none).
        repository: the repository path.
        tag: the tag (``None`` when the reference has only a digest; ``latest`` when it has neither).
        digest: ``sha256:...`` when pinned by digest.
    """

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """The digest when pinned, else the tag (what the registry's manifest endpoint takes)."""
        return self.digest or self.tag or "latest"


def parse_image_reference(image: str) -> ImageReference | None:
    """Parse a container image reference the way container runtimes do; ``None`` when it is not one."""
    text = (image or "").strip()
    if not text or any(ch.isspace() for ch in text):
        return None
    digest: str | None = None
    if "@" in text:
        text, _, digest = text.partition("@")
        if not re.fullmatch(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}", digest):
            return None
    tag: str | None = None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
            return None
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first.lower(), rest
    else:
        registry, repository = "docker.io", text
        if "/" not in repository:
            repository = f"library/{repository}"
    if not repository or not re.fullmatch(r"[a-z0-9]+(?:[._/-][a-z0-9]+)*", repository):
        return None
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(registry, repository, tag, digest)


def builds_from_tag(image: str) -> frozenset[str] | None:
    """The Windows builds an image's tag names, or ``None`` when the tag names none (then ask the registry).

    ``ltsc2019``/``1809``/``10.0.17763`` -> 17763, ``ltsc2022``/``10.0.20348`` -> 20348,
    ``ltsc2025``/``10.0.26100`` -> 26100, any other ``10.0.NNNNN`` -> that build. A reference pinned by digest
    is decided by its index, never by its tag (the digest is what runs).
    """
    ref = parse_image_reference(image)
    if ref is None or ref.digest is not None or not ref.tag:
        return None
    tag = ref.tag.lower()
    found = {build for pattern, build in _TAG_TOKENS if pattern.search(tag)}
    found.update(f"10.0.{m}" for m in _NUMERIC_BUILD.findall(tag))
    return frozenset(found) or None


class Compatibility(str, enum.Enum):
    """Whether a container image can run on a host build."""

    COMPATIBLE = "compatible"
    INCOMPATIBLE = "incompatible"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ImageBuilds:
    """The Windows builds an image supports and how that was learned.

    Attributes:
        builds: ``10.0.NNNNN`` per supported build; ``None`` when unknown.
        evidence: one phrase: ``tag ltsc2019``, ``index: 10.0.17763.6532, 10.0.20348.2849``, or why unknown.
        linux_only: the index lists only Linux platforms (such an image never runs on Windows).
    """

    builds: frozenset[str] | None
    evidence: str
    linux_only: bool = False


@dataclass(frozen=True)
class ImageVerdict:
    """One container of one workload judged against a host build.

    Attributes:
        workload: ``Kind/namespace/name``.
        container: the container's name.
        image: the image reference.
        host_build: the new pool's build.
        result: compatible, incompatible or unknown.
        evidence: what the judgement rests on (tag, or the index's platforms).
    """

    workload: str
    container: str
    image: str
    host_build: str
    result: Compatibility
    evidence: str

    def __str__(self) -> str:
        return (
            f"{self.workload} container {self.container} image {self.image}: {self.result.value} with "
            f"{_NAMES.get(self.host_build, self.host_build)} hosts ({self.evidence})"
        )


def judge_image(builds: ImageBuilds, host_build: str) -> Compatibility:
    """Whether an image with these builds runs on ``host_build`` (:func:`host_runs_image_build`)."""
    if builds.linux_only:
        return Compatibility.INCOMPATIBLE
    if not builds.builds:
        return Compatibility.UNKNOWN
    answers = [host_runs_image_build(host_build, b) for b in builds.builds]
    if any(a is True for a in answers):
        return Compatibility.COMPATIBLE
    if all(a is False for a in answers):
        return Compatibility.INCOMPATIBLE
    return Compatibility.UNKNOWN


def judge_containers(
    containers: Iterable[tuple[str, str, str]],
    host_build: str,
    resolve: Callable[[str], ImageBuilds],
) -> list[ImageVerdict]:
    """Judge ``(workload, container, image)`` triples against a host build; ``resolve`` reads an image's builds.

    Each distinct image is resolved once.
    """
    cache: dict[str, ImageBuilds] = {}
    out: list[ImageVerdict] = []
    for workload, container, image in containers:
        if image not in cache:
            cache[image] = resolve(image)
        found = cache[image]
        out.append(
            ImageVerdict(
                workload, container, image, host_build, judge_image(found, host_build), found.evidence
            )
        )
    return out


def tag_evidence(image: str) -> ImageBuilds | None:
    """:func:`builds_from_tag` as evidence (``tag ltsc2019 -> 10.0.17763``), or ``None`` without a build."""
    builds = builds_from_tag(image)
    if builds is None:
        return None
    ref = parse_image_reference(image)
    tag = ref.tag if ref else image
    return ImageBuilds(builds, f"tag {tag} -> {', '.join(sorted(builds))}")


def builds_from_index(platforms: Iterable[Mapping[str, object]]) -> ImageBuilds:
    """The builds an image index supports, from each manifest's ``platform`` (``os``, ``os.version``)."""
    versions: list[str] = []
    builds: set[str] = set()
    oses: set[str] = set()
    for platform in platforms:
        os_name = str(platform.get("os") or "").lower()
        oses.add(os_name)
        if os_name != "windows":
            continue
        version = str(platform.get("os.version") or "")
        build = build_of(version)
        if build:
            builds.add(build)
            versions.append(version)
    if not builds:
        if oses and "windows" not in oses:
            return ImageBuilds(None, f"index lists only {', '.join(sorted(oses))} platforms", linux_only=True)
        return ImageBuilds(None, "index names no Windows os.version")
    return ImageBuilds(frozenset(builds), "index: " + ", ".join(sorted(versions)))
