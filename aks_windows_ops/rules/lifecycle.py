"""Windows Server and Kubernetes lifecycle on AKS, as data (FAQ "Which Windows operating systems are supported?").

The facts live in a data file shipped with the package (``rules/data/lifecycle.yaml``): per Windows OS SKU the
Kubernetes versions it runs on, its retirement and node image removal dates and its host build; which container
image builds each host build runs (process isolation only on AKS); per Kubernetes minor its AKS standard support
and Long Term Support ends. Every entry names its public source and the date it was checked, and keeps the
sources that disagree. A newer file can be supplied without a release (:func:`parse_lifecycle` validates it).

Pure apart from :func:`builtin_lifecycle`, which reads the packaged file once through :mod:`importlib.resources`.
Dates are graded against an ``as_of`` date (:func:`grade`): more than :data:`WARNING_WINDOW_DAYS` ahead is info,
within it a warning, once past an error.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import ClusterSnapshot, Severity
from aks_windows_ops.rules import versions

__all__ = [
    "LIFECYCLE_ENV",
    "WARNING_WINDOW_DAYS",
    "KubernetesMinor",
    "LifecycleData",
    "OldImageEvidence",
    "OsSkuLifecycle",
    "Portability",
    "Provenance",
    "builtin_lifecycle",
    "grade",
    "host_runs_image_build",
    "normalize_build",
    "parse_lifecycle",
    "still_on_old_windows_image",
]

#: Environment variable naming a newer lifecycle data file (the CLI's ``--lifecycle-data`` wins over it).
LIFECYCLE_ENV = "AKS_WINDOWS_OPS_LIFECYCLE_DATA"

#: A date this many days ahead or closer is a warning; further ahead it is info; once past, an error.
WARNING_WINDOW_DAYS = 365

_BUILD_RE = re.compile(r"^(?:10\.0\.)?(\d{5})(?:\.\d+)?$")
_MINOR_RE = re.compile(r"^1\.(\d{1,3})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Provenance:
    """Where an entry comes from.

    Attributes:
        source: public addresses the values were taken from.
        checked: the day the sources were read.
        notes: what the sources say, in short.
        disagreements: what other sources say where they differ (the value follows the newest source).
    """

    source: tuple[str, ...]
    checked: _dt.date
    notes: str = ""
    disagreements: tuple[str, ...] = ()


@dataclass(frozen=True)
class OsSkuLifecycle:
    """One Windows OS SKU on AKS.

    Attributes:
        sku: the ``osSKU`` value (``Windows2019`` ...).
        name: the product name.
        host_build: the node's Windows build (``10.0.17763`` ...).
        min_minor: the oldest Kubernetes minor it runs on (``None``: no lower bound).
        max_minor: the newest Kubernetes minor it runs on (``None``: no upper bound announced).
        retirement: the retirement date (``None``: none announced).
        image_removal: the day its node images are removed (``None``: none announced).
        provenance: sources and check date.
    """

    sku: str
    name: str
    host_build: str
    min_minor: tuple[int, int] | None
    max_minor: tuple[int, int] | None
    retirement: _dt.date | None
    image_removal: _dt.date | None
    provenance: Provenance


@dataclass(frozen=True)
class Portability:
    """Which container image builds a Windows host build runs with process isolation.

    Attributes:
        host_build: the host's build (``10.0.26100``).
        runs: the image builds it runs.
        provenance: sources and check date.
    """

    host_build: str
    runs: frozenset[str]
    provenance: Provenance


@dataclass(frozen=True)
class KubernetesMinor:
    """AKS support of one Kubernetes minor (learn.microsoft.com/azure/aks/supported-kubernetes-versions).

    Attributes:
        minor: ``(1, 33)``.
        ga: the last day of the month AKS made it generally available.
        standard_support_end: the end of AKS standard support.
        lts_end: the end of AKS Long Term Support (``None``: no LTS).
        provenance: sources and check date.
    """

    minor: tuple[int, int]
    ga: _dt.date
    standard_support_end: _dt.date
    lts_end: _dt.date | None
    provenance: Provenance

    @property
    def label(self) -> str:
        """``1.33``."""
        return f"{self.minor[0]}.{self.minor[1]}"


@dataclass(frozen=True)
class OldImageEvidence:
    """When a cluster still uses the pre-February-2020 Windows image (FAQ "... create a new Windows agent pool?").

    Attributes:
        created_before: clusters created before this day may carry the old image reference.
        newest_minor_then: the newest Kubernetes minor that existed then; a control plane above it was upgraded.
        provenance: sources and check date.
    """

    created_before: _dt.date
    newest_minor_then: tuple[int, int]
    provenance: Provenance


@dataclass(frozen=True)
class LifecycleData:
    """The whole lifecycle data file, validated.

    Attributes:
        origin: the file it was read from (for messages).
        checked: the day the file as a whole was checked.
        os_skus: per OS SKU.
        portability: per host build.
        kubernetes: per Kubernetes minor.
        old_image: the pre-2020 image evidence.
        platform_support: the platform support rule in words.
        kubernetes_source: the source of the Kubernetes table.
    """

    origin: str
    checked: _dt.date
    os_skus: Mapping[str, OsSkuLifecycle]
    portability: Mapping[str, Portability]
    kubernetes: Mapping[tuple[int, int], KubernetesMinor]
    old_image: OldImageEvidence
    platform_support: str = ""
    kubernetes_source: tuple[str, ...] = field(default_factory=tuple)

    def os_sku(self, sku: str | None) -> OsSkuLifecycle | None:
        """The entry for an OS SKU (case-insensitive), or ``None`` when the data does not know it."""
        if not sku:
            return None
        for key, entry in self.os_skus.items():
            if key.lower() == sku.lower():
                return entry
        return None

    def minor(self, minor: tuple[int, int]) -> KubernetesMinor | None:
        """The entry for a Kubernetes minor, or ``None``."""
        return self.kubernetes.get(minor)

    def platform_support_end(self, minor: tuple[int, int]) -> _dt.date | None:
        """The end of platform support for ``minor``: the GA of minor N+4, when the data knows it."""
        later = self.kubernetes.get((minor[0], minor[1] + 4))
        return later.ga if later else None

    def entries(self) -> list[tuple[str, Provenance]]:
        """Every entry with its provenance, named for reports (``os_skus.Windows2019`` ...)."""
        out: list[tuple[str, Provenance]] = [
            (f"os_skus.{k}", v.provenance) for k, v in sorted(self.os_skus.items())
        ]
        out += [(f"image_portability.{k}", v.provenance) for k, v in sorted(self.portability.items())]
        out += [(f"kubernetes.{v.label}", v.provenance) for _, v in sorted(self.kubernetes.items())]
        out.append(("old_windows_image", self.old_image.provenance))
        return out


# --- parsing ----------------------------------------------------------------------------------------------------


class _Reader:
    """Validates one file, naming the file and the key of the first problem."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, key: str, problem: str) -> InvalidInput:
        return InvalidInput(f"lifecycle data {self.origin}: {key}: {problem}")

    def mapping(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty string")
        return value.strip()

    def day(self, value: Any, key: str, *, optional: bool = False) -> _dt.date | None:
        if value is None and optional:
            return None
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        if isinstance(value, str):
            try:
                return _dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(key, f"expected a date YYYY-MM-DD, got {value!r}")

    def month_end(self, value: Any, key: str) -> _dt.date:
        match = _MONTH_RE.fullmatch(str(value).strip()) if isinstance(value, str) else None
        if match is None:
            raise self.fail(key, f"expected a month YYYY-MM, got {value!r}")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise self.fail(key, f"expected a month YYYY-MM, got {value!r}")
        return _dt.date(year, month, calendar.monthrange(year, month)[1])

    def minor(self, value: Any, key: str, *, optional: bool = False) -> tuple[int, int] | None:
        if value is None and optional:
            return None
        match = _MINOR_RE.fullmatch(str(value).strip()) if isinstance(value, str) else None
        if match is None:
            raise self.fail(key, f'expected a Kubernetes minor like "1.33" (quoted), got {value!r}')
        return (1, int(match.group(1)))

    def build(self, value: Any, key: str) -> str:
        build = normalize_build(str(value)) if isinstance(value, str) else None
        if build is None:
            raise self.fail(key, f"expected a Windows build like 10.0.20348, got {value!r}")
        return build

    def provenance(self, entry: Mapping[str, Any], key: str) -> Provenance:
        raw = entry.get("source")
        sources = [raw] if isinstance(raw, str) else raw
        if not isinstance(sources, list) or not sources:
            raise self.fail(f"{key}.source", "every entry needs at least one source")
        checked = self.day(entry.get("checked"), f"{key}.checked")
        assert checked is not None
        notes = entry.get("notes") or ""
        if not isinstance(notes, str):
            raise self.fail(f"{key}.notes", "expected a string")
        disagreements = entry.get("disagreements") or []
        if not isinstance(disagreements, list) or not all(isinstance(d, str) for d in disagreements):
            raise self.fail(f"{key}.disagreements", "expected a list of strings")
        return Provenance(
            source=tuple(self.text(s, f"{key}.source") for s in sources),
            checked=checked,
            notes=notes.strip(),
            disagreements=tuple(d.strip() for d in disagreements),
        )


def parse_lifecycle(raw: Any, *, origin: str = "(built in)") -> LifecycleData:
    """Validate a lifecycle data document (the YAML file's content) into :class:`LifecycleData`.

    Implements the data side of FAQ "Which Windows operating systems are supported?": every entry must carry its
    source and check date.

    Args:
        raw: the parsed document.
        origin: the file name, used in error messages.

    Returns:
        The validated data.

    Raises:
        InvalidInput: naming the file and the key of the problem.
    """
    r = _Reader(origin)
    doc = r.mapping(raw, "(top level)")
    if doc.get("schema") != 1:
        raise r.fail("schema", f"expected 1, got {doc.get('schema')!r}")
    checked = r.day(doc.get("checked"), "checked")
    assert checked is not None
    os_skus: dict[str, OsSkuLifecycle] = {}
    for sku, value in r.mapping(doc.get("os_skus"), "os_skus").items():
        key = f"os_skus.{sku}"
        entry = r.mapping(value, key)
        kube = r.mapping(entry.get("kubernetes") or {}, f"{key}.kubernetes")
        os_skus[str(sku)] = OsSkuLifecycle(
            sku=str(sku),
            name=r.text(entry.get("name"), f"{key}.name"),
            host_build=r.build(entry.get("host_build"), f"{key}.host_build"),
            min_minor=r.minor(kube.get("min"), f"{key}.kubernetes.min", optional=True),
            max_minor=r.minor(kube.get("max"), f"{key}.kubernetes.max", optional=True),
            retirement=r.day(entry.get("retirement"), f"{key}.retirement", optional=True),
            image_removal=r.day(entry.get("image_removal"), f"{key}.image_removal", optional=True),
            provenance=r.provenance(entry, key),
        )
    portability: dict[str, Portability] = {}
    for host, value in r.mapping(doc.get("image_portability"), "image_portability").items():
        key = f"image_portability.{host}"
        entry = r.mapping(value, key)
        runs = entry.get("runs")
        if not isinstance(runs, list) or not runs:
            raise r.fail(f"{key}.runs", "expected a non-empty list of image builds")
        build = r.build(str(host), key)
        portability[build] = Portability(
            host_build=build,
            runs=frozenset(r.build(str(b), f"{key}.runs") for b in runs),
            provenance=r.provenance(entry, key),
        )
    for entry_sku in os_skus.values():
        if entry_sku.host_build not in portability:
            raise r.fail(
                f"os_skus.{entry_sku.sku}.host_build",
                f"{entry_sku.host_build} has no image_portability entry",
            )
    kubernetes: dict[tuple[int, int], KubernetesMinor] = {}
    for label, value in r.mapping(doc.get("kubernetes"), "kubernetes").items():
        key = f"kubernetes.{label}"
        minor = r.minor(str(label), key)
        assert minor is not None
        entry = r.mapping(value, key)
        end = r.day(entry.get("standard_support_end"), f"{key}.standard_support_end")
        assert end is not None
        kubernetes[minor] = KubernetesMinor(
            minor=minor,
            ga=r.month_end(entry.get("ga"), f"{key}.ga"),
            standard_support_end=end,
            lts_end=r.day(entry.get("lts_end"), f"{key}.lts_end", optional=True),
            provenance=r.provenance(entry, key),
        )
    old = r.mapping(doc.get("old_windows_image"), "old_windows_image")
    created_before = r.day(old.get("created_before"), "old_windows_image.created_before")
    newest = r.minor(old.get("newest_minor_then"), "old_windows_image.newest_minor_then")
    assert created_before is not None and newest is not None
    sources = doc.get("kubernetes_source") or []
    platform = doc.get("platform_support") or ""
    return LifecycleData(
        origin=origin,
        checked=checked,
        os_skus=os_skus,
        portability=portability,
        kubernetes=kubernetes,
        old_image=OldImageEvidence(created_before, newest, r.provenance(old, "old_windows_image")),
        platform_support=str(platform).strip(),
        kubernetes_source=tuple(str(s) for s in sources) if isinstance(sources, list) else (str(sources),),
    )


@functools.cache
def builtin_lifecycle() -> LifecycleData:
    """The lifecycle data shipped with this release (read once from the package).

    Returns:
        The validated built-in data (FAQ "Which Windows operating systems are supported?").
    """
    text = (
        resources.files("aks_windows_ops.rules")
        .joinpath("data")
        .joinpath("lifecycle.yaml")
        .read_text(encoding="utf-8")
    )
    return parse_lifecycle(yaml.safe_load(text), origin="lifecycle.yaml (built in)")


# --- grading and questions ---------------------------------------------------------------------------------------


def grade(when: _dt.date, as_of: _dt.date, *, window_days: int = WARNING_WINDOW_DAYS) -> Severity:
    """Grade a lifecycle date against ``as_of``: error once past, warning within the window, info beyond it.

    Args:
        when: the date something stops working.
        as_of: today (or the day of a rehearsal).
        window_days: how close ``when`` must be to be a warning (12 months by default).

    Returns:
        The severity.
    """
    if when <= as_of:
        return Severity.ERROR
    if (when - as_of).days <= window_days:
        return Severity.WARNING
    return Severity.INFO


def normalize_build(build: str | None) -> str | None:
    """``10.0.20348``, ``20348`` or ``10.0.20348.2849`` -> ``10.0.20348``; ``None`` when it is no Windows build."""
    if not build:
        return None
    match = _BUILD_RE.fullmatch(build.strip())
    return f"10.0.{match.group(1)}" if match else None


def host_runs_image_build(
    host_os_sku_or_build: str, image_build: str, data: LifecycleData | None = None
) -> bool:
    """Whether a Windows host runs a container image of ``image_build`` with process isolation.

    Implements the portability facts (learn.microsoft.com "Windows container version compatibility";
    Azure/AKS#5608): Windows Server 2019 and 2022 hosts run only their own build; Annual Channel and Windows
    Server 2025 hosts also run Windows Server 2022 (20348) images; nothing newer runs ltsc2019 images.

    Args:
        host_os_sku_or_build: an OS SKU (``Windows2025``) or a host build (``10.0.26100``).
        image_build: the image's build (``10.0.20348``, ``20348`` or ``10.0.20348.2849``).
        data: lifecycle data; the built-in file when omitted.

    Returns:
        ``True`` when the data lists the image build for the host; ``False`` otherwise (unknown hosts included).

    Raises:
        InvalidInput: ``image_build`` is not a Windows build.
    """
    facts = data or builtin_lifecycle()
    image = normalize_build(image_build)
    if image is None:
        raise InvalidInput(f"{image_build!r} is not a Windows build (expected like 10.0.20348)")
    sku = facts.os_sku(host_os_sku_or_build)
    host = sku.host_build if sku else normalize_build(host_os_sku_or_build)
    entry = facts.portability.get(host or "")
    if entry is None:
        return image == host
    return image in entry.runs


def still_on_old_windows_image(s: ClusterSnapshot, data: LifecycleData | None = None) -> bool:
    """Whether the cluster still uses the pre-February-2020 Windows image, from what the cluster shows.

    FAQ "Why am I seeing an error when I try to create a new Windows agent pool?": only a cluster created before
    February 2020 that never had a cluster upgrade is affected. Evidence of an upgrade: the control plane runs a
    Kubernetes minor newer than any that existed then (the data's ``old_windows_image.newest_minor_then``). An
    unreadable control plane version counts as no evidence.

    Args:
        s: the cluster (``created_before_2020`` from ``systemData.createdAt``).
        data: lifecycle data; the built-in file when omitted.

    Returns:
        ``True`` when adding a Windows pool would fail with the old-image error.
    """
    if not s.created_before_2020:
        return False
    facts = data or builtin_lifecycle()
    try:
        minor: tuple[int, int] | None = versions.parse_version(
            s.current_kubernetes_version or s.kubernetes_version
        ).minor_key
    except InvalidInput:
        minor = None
    return minor is None or minor <= facts.old_image.newest_minor_then
