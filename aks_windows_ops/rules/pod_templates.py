"""Pod templates in Kubernetes manifests, and which of them are Windows pods.

FAQ "Is Kubernetes different on Windows and Linux?" and "Which Windows operating systems are supported?".

One notion of "a Windows pod" for every rule: it selects Windows nodes (``spec.os.name``, a
``kubernetes.io/os: windows`` node selector or required node affinity), runs a Windows image (an
``ltsc2019``/``1809``/``ltsc2022``/``ltsc2025``/``10.0.NNNNN`` tag, ``servercore``/``nanoserver``, or
``mcr.microsoft.com/windows...``), or tolerates a Windows taint (``os=windows``). Pure: plain dicts in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aks_windows_ops.models import WINDOWS_BUILDS, OsSku

__all__ = [
    "IMAGE_TAG_BUILDS",
    "WORKLOAD_KINDS",
    "PodTemplate",
    "image_windows_build",
    "is_windows_image",
    "object_name",
    "pod_templates",
]

#: Kinds whose pod template is linted, with the path to the template's pod spec owner.
WORKLOAD_KINDS: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

#: Windows image tags and the host build they need (process isolation only; Service facts: FAQ rules).
IMAGE_TAG_BUILDS: dict[str, str] = {
    "ltsc2019": WINDOWS_BUILDS[OsSku.WINDOWS2019],
    "1809": WINDOWS_BUILDS[OsSku.WINDOWS2019],
    "ltsc2022": WINDOWS_BUILDS[OsSku.WINDOWS2022],
    "ltsc2025": WINDOWS_BUILDS[OsSku.WINDOWS2025],
}

_OS_LABELS = ("kubernetes.io/os", "beta.kubernetes.io/os")
_BUILD_LABEL = "node.kubernetes.io/windows-build"
_SKU_LABEL = "kubernetes.azure.com/os-sku"
_POOL_LABELS = ("agentpool", "kubernetes.azure.com/agentpool")
_BUILD_IN_TAG_RE = re.compile(r"10\.0\.(\d{5})")


# --- object helpers -------------------------------------------------------------------------------------------


def _dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _mapping(obj: Any) -> Mapping[str, Any]:
    return obj if isinstance(obj, Mapping) else {}


def _list(obj: Any) -> list[Any]:
    return obj if isinstance(obj, list) else []


def _str_map(obj: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in _mapping(obj).items() if v is not None}


def object_name(manifest: Mapping[str, Any]) -> str:
    """Name an object as ``Kind/namespace/name`` (``default`` when the namespace is unset).

    Every workload finding (Service facts: FAQ rules) uses this as its ``resource``.
    """
    meta = _mapping(manifest.get("metadata"))
    kind = str(manifest.get("kind") or "Unknown")
    namespace = str(meta.get("namespace") or "default")
    name = str(meta.get("name") or meta.get("generateName") or "<unnamed>")
    return f"{kind}/{namespace}/{name}"


def _key(manifest: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = _mapping(manifest.get("metadata"))
    return (
        str(manifest.get("kind") or ""),
        str(meta.get("namespace") or "default"),
        str(meta.get("name") or ""),
    )


@dataclass(frozen=True)
class PodTemplate:
    """A pod spec found in a workload object.

    Attributes:
        resource: the owning object, ``Kind/namespace/name``.
        kind: the owning object's kind.
        namespace: its namespace.
        labels: the pod labels (what Services select).
        spec: the pod spec as a dict.
        replicas: pods the object asks for (``spec.replicas``, ``parallelism``, 1 for a Pod); ``None`` for a
            DaemonSet, which runs one pod per matching node.
    """

    resource: str
    kind: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    spec: Mapping[str, Any] = field(default_factory=dict)
    replicas: int | None = 1

    @property
    def is_windows(self) -> bool:
        """Whether this is a Windows pod: it selects Windows nodes, runs a Windows image or tolerates a Windows taint."""
        return _is_windows(self.spec)

    @property
    def selects_windows(self) -> bool:
        """Whether the template selects Windows nodes (``spec.os.name``, node selector or required affinity)."""
        return _selects_windows(self.spec)


def pod_templates(manifests: Iterable[Mapping[str, Any]]) -> list[PodTemplate]:
    """Extract pod templates from workload objects (Service facts: FAQ rules).

    Objects whose controller is itself among ``manifests`` are skipped (a Pod of a listed ReplicaSet, a
    ReplicaSet of a listed Deployment), so ``kubectl get all -o json`` does not report a rule three times. A Pod
    of a ReplicaSet that is not listed but is named after a listed Deployment (``<deployment>-<hash>``, as the
    Deployment controller names them) is skipped too: live clusters are read as Deployments and Pods.
    """
    items = [m for m in manifests if isinstance(m, Mapping)]
    present = {_key(m) for m in items}
    out: list[PodTemplate] = []
    for m in items:
        kind = m.get("kind")
        if not isinstance(kind, str) or kind not in WORKLOAD_KINDS:
            continue
        meta = _mapping(m.get("metadata"))
        namespace = str(meta.get("namespace") or "default")
        owned = any(
            ref.get("controller")
            and (
                (str(ref.get("kind")), namespace, str(ref.get("name"))) in present
                or (
                    ref.get("kind") == "ReplicaSet"
                    and ("Deployment", namespace, str(ref.get("name")).rsplit("-", 1)[0]) in present
                )
            )
            for ref in _list(meta.get("ownerReferences"))
            if isinstance(ref, Mapping)
        )
        if owned:
            continue
        template = m if kind == "Pod" else _dig(m, *WORKLOAD_KINDS[kind])
        spec = _dig(template, "spec")
        if not isinstance(spec, Mapping):
            continue
        labels = _str_map(_dig(template, "metadata", "labels"))
        out.append(PodTemplate(object_name(m), kind, namespace, labels, spec, _replicas(m, kind)))
    return out


def _replicas(manifest: Mapping[str, Any], kind: str) -> int | None:
    if kind == "DaemonSet":
        return None
    if kind == "Pod":
        return 1
    if kind in ("Job", "CronJob"):
        job = (
            _mapping(manifest.get("spec"))
            if kind == "Job"
            else _mapping(_dig(manifest, "spec", "jobTemplate", "spec"))
        )
        value = job.get("parallelism", 1)
    else:
        value = _dig(manifest, "spec", "replicas")
        value = 1 if value is None else value
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 1


def _containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        found.extend(c for c in _list(spec.get(key)) if isinstance(c, Mapping))
    return found


def _os_name_windows(spec: Mapping[str, Any]) -> bool:
    return str(_dig(spec, "os", "name") or "").lower() == "windows"


def _required_terms(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    terms = _dig(
        spec,
        "affinity",
        "nodeAffinity",
        "requiredDuringSchedulingIgnoredDuringExecution",
        "nodeSelectorTerms",
    )
    return [t for t in _list(terms) if isinstance(t, Mapping)]


def _term_requires(term: Mapping[str, Any], keys: Sequence[str]) -> list[str] | None:
    for expr in _list(term.get("matchExpressions")):
        if isinstance(expr, Mapping) and expr.get("key") in keys and expr.get("operator") == "In":
            return [str(v) for v in _list(expr.get("values"))]
    return None


#: Taint keys AKS users put on Windows pools (``os=windows:NoSchedule`` is the FAQ's example).
_WINDOWS_TAINT_KEYS = frozenset({"os", "kubernetes.io/os", "node.kubernetes.io/os"})


def _tolerates_windows(spec: Mapping[str, Any]) -> bool:
    for tol in _list(spec.get("tolerations")):
        if not isinstance(tol, Mapping):
            continue
        if (
            str(tol.get("key") or "") in _WINDOWS_TAINT_KEYS
            and str(tol.get("value") or "").lower() == "windows"
        ):
            return True
    return False


def _is_windows(spec: Mapping[str, Any]) -> bool:
    """One notion of "a Windows pod": it selects Windows nodes, runs a Windows image, or tolerates a Windows taint.

    Every Windows rule of the lint applies to such a pod (FAQ "Is Kubernetes different on Windows and Linux?").
    """
    if _selects_windows(spec) or _tolerates_windows(spec):
        return True
    return any(isinstance(c.get("image"), str) and is_windows_image(c["image"]) for c in _containers(spec))


def _selects_windows(spec: Mapping[str, Any]) -> bool:
    if _os_name_windows(spec):
        return True
    selector = _str_map(spec.get("nodeSelector"))
    if any(selector.get(label, "").lower() == "windows" for label in _OS_LABELS):
        return True
    terms = _required_terms(spec)
    if not terms:
        return False
    # Node selector terms are ORed: the pod is Windows-only when every term allows nothing but Windows.
    for term in terms:
        values = _term_requires(term, _OS_LABELS)
        if not values or any(v.lower() != "windows" for v in values):
            return False
    return True


def _pinned_builds(spec: Mapping[str, Any]) -> set[str] | None:
    """Builds the template's node selection allows, or ``None`` when it does not pin one.

    Pinning to a pool by name counts as pinned with unknown builds (an empty set): the pool decides.
    """
    selector = _str_map(spec.get("nodeSelector"))
    if _BUILD_LABEL in selector:
        return {_normalise_build(selector[_BUILD_LABEL])}
    if _SKU_LABEL in selector:
        sku = _sku_build(selector[_SKU_LABEL])
        return {sku} if sku else set()
    if any(label in selector for label in _POOL_LABELS):
        return set()
    terms = _required_terms(spec)
    if not terms:
        return None
    allowed: set[str] = set()
    for term in terms:
        builds = _term_requires(term, (_BUILD_LABEL,))
        skus = _term_requires(term, (_SKU_LABEL,))
        pools = _term_requires(term, _POOL_LABELS)
        if builds is not None:
            allowed |= {_normalise_build(b) for b in builds}
        elif skus is not None:
            allowed |= {b for b in (_sku_build(s) for s in skus) if b}
        elif pools is None:
            return None
    return allowed


def _sku_build(sku: str) -> str | None:
    for member, build in WINDOWS_BUILDS.items():
        if member.value.lower() == sku.lower():
            return build
    return None


def _normalise_build(build: str) -> str:
    return ".".join(build.strip().split(".")[:3])


def _host_process(spec: Mapping[str, Any]) -> bool:
    if _dig(spec, "securityContext", "windowsOptions", "hostProcess") is True:
        return True
    containers = _containers(spec)
    return bool(containers) and all(
        _dig(c, "securityContext", "windowsOptions", "hostProcess") is True for c in containers
    )


# --- images -----------------------------------------------------------------------------------------------------


def _split_image(image: str) -> tuple[str, str]:
    ref = image.split("@", 1)[0].lower()
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo_tail, tag = last.rsplit(":", 1)
        return ref[: len(ref) - len(last)] + repo_tail, tag
    return ref, ""


def is_windows_image(image: str) -> bool:
    """Whether an image reference looks like a Windows container image.

    FAQ "Which Windows operating systems are supported?" (process isolation: the image must fit the host).

    Windows-looking: a ``windows`` repository path segment (``mcr.microsoft.com/windows/servercore``),
    ``servercore``/``nanoserver`` anywhere, or an ``ltsc2019``/``ltsc2022``/``ltsc2025`` or ``10.0.NNNNN`` tag.
    """
    repo, tag = _split_image(image)
    text = f"{repo}:{tag}"
    if "windows" in repo.split("/") or "servercore" in text or "nanoserver" in text:
        return True
    return bool(re.search(r"ltsc20(19|22|25)", tag) or _BUILD_IN_TAG_RE.search(tag))


def image_windows_build(image: str) -> str | None:
    """The Windows host build an image needs, from its tag (``ltsc2022`` -> ``10.0.20348``), or ``None``.

    Process isolation only: the host must run the same build (Service facts: FAQ rules, FAQ "Which Windows
    operating systems are supported?").
    """
    if not is_windows_image(image):
        return None
    _, tag = _split_image(image)
    explicit = _BUILD_IN_TAG_RE.search(tag)
    if explicit:
        return f"10.0.{explicit.group(1)}"
    for token, build in IMAGE_TAG_BUILDS.items():
        if re.search(rf"(?:^|[^0-9a-z]){token}(?:$|[^0-9a-z])", tag):
            return build
    return None
