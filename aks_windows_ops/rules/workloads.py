"""Lint Kubernetes manifests for the FAQ's Windows workload rules (REFERENCE section 1).

The input is plain dicts: YAML documents as written, or the ``items`` of ``kubectl get -o json``. Pod
templates are read from Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job and
CronJob objects; Services are checked for the Windows port-pool limit and the session-affinity recipe.
Every finding names its object as ``Kind/namespace/name``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aks_windows_ops import limits
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import WINDOWS_BUILDS, Finding, OsSku, Severity
from aks_windows_ops.rules import versions
from aks_windows_ops.rules.validation import FaqSection

__all__ = [
    "CONTAINER_LINUX_ONLY_FIELDS",
    "IMAGE_TAG_BUILDS",
    "POD_LINUX_ONLY_FIELDS",
    "SERVICE_LIMIT",
    "SERVICE_WARNING_THRESHOLD",
    "WINDOWS_SUPPORTED_VOLUME_TYPES",
    "WORKLOAD_KINDS",
    "PodTemplate",
    "image_windows_build",
    "is_windows_image",
    "lint_workloads",
    "load_manifests",
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

#: FAQ "Are there any limitations on the number of services ...": about 500 ``Cluster``-policy Services
#: exhaust a Windows node's dynamic port pool ("sometimes less"), so warn well before.
SERVICE_LIMIT = 500
SERVICE_WARNING_THRESHOLD = 400

#: Windows image tags and the host build they need (process isolation only; REFERENCE section 1).
IMAGE_TAG_BUILDS: dict[str, str] = {
    "ltsc2019": WINDOWS_BUILDS[OsSku.WINDOWS2019],
    "1809": WINDOWS_BUILDS[OsSku.WINDOWS2019],
    "ltsc2022": WINDOWS_BUILDS[OsSku.WINDOWS2022],
    "ltsc2025": WINDOWS_BUILDS[OsSku.WINDOWS2025],
}

#: Pod ``securityContext`` fields the API server refuses when ``spec.os.name`` is ``windows`` and Windows
#: ignores otherwise (Kubernetes API reference, PodSecurityContext: "cannot be set when spec.os.name is
#: windows"). Windows identifies users by SID (FAQ "Is Kubernetes different on Windows and Linux?").
POD_LINUX_ONLY_FIELDS: tuple[str, ...] = (
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "fsGroupChangePolicy",
    "supplementalGroups",
    "supplementalGroupsPolicy",
    "sysctls",
    "seLinuxOptions",
    "seLinuxChangePolicy",
    "seccompProfile",
    "appArmorProfile",
)
#: Container ``securityContext`` fields with the same rule (``privileged`` has its own finding).
CONTAINER_LINUX_ONLY_FIELDS: tuple[str, ...] = (
    "runAsUser",
    "runAsGroup",
    "allowPrivilegeEscalation",
    "capabilities",
    "procMount",
    "readOnlyRootFilesystem",
    "seLinuxOptions",
    "seccompProfile",
    "appArmorProfile",
)

#: FAQ "What kind of disks are supported for Windows?" (Azure Disks and Azure Files), plus the volume types
#: that need no disk at all.
WINDOWS_SUPPORTED_VOLUME_TYPES = frozenset(
    {
        "emptyDir",
        "configMap",
        "secret",
        "projected",
        "downwardAPI",
        "persistentVolumeClaim",
        "ephemeral",
        "azureDisk",
        "azureFile",
    }
)
_WINDOWS_CSI_DRIVERS = frozenset({"disk.csi.azure.com", "file.csi.azure.com", "secrets-store.csi.k8s.io"})

_OS_LABELS = ("kubernetes.io/os", "beta.kubernetes.io/os")
_BUILD_LABEL = "node.kubernetes.io/windows-build"
_SKU_LABEL = "kubernetes.azure.com/os-sku"
_POOL_LABELS = ("agentpool", "kubernetes.azure.com/agentpool")
_HOSTNAME = "kubernetes.io/hostname"
_SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
# Drive-letter style: "K:", "K:\\data", the FAQ's "/K/Volume", and named pipes ("\\\\.\\pipe\\...").
_WINDOWS_PATH_RE = re.compile(r"^(?:[A-Za-z]:|/[A-Za-z](?:/|$)|\\\\)")
_BUILD_IN_TAG_RE = re.compile(r"10\.0\.(\d{5})")
_SESSION_AFFINITY_MIN_VERSION = "1.20"

_FAQ_LINUX = FaqSection.LINUX_VS_WINDOWS.value
_FAQ_OS = FaqSection.OPERATING_SYSTEMS.value


# --- loading ------------------------------------------------------------------------------------------------


def _expand(doc: Any, source: str, out: list[dict[str, Any]]) -> None:
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise InvalidInput(f"{source}: a manifest must be a mapping, got {type(doc).__name__}")
    kind = doc.get("kind")
    items = doc.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for item in items:
            _expand(item, source, out)
        return
    out.append(doc)


def _parse_text(text: str, source: str) -> list[dict[str, Any]]:
    docs = limits.load_yaml_documents(text, limits.MANIFEST_LIMITS, source=source)
    out: list[dict[str, Any]] = []
    for doc in docs:
        _expand(doc, source, out)
    return out


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(
            p for p in path.rglob("*") if p.suffix.lower() in {".yaml", ".yml", ".json"} and p.is_file()
        )
    return [path]


def load_manifests(
    paths_or_text: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[dict[str, Any]]:
    """Load Kubernetes manifests from files, directories or YAML/JSON text (REFERENCE section 1).

    Multi-document YAML is split, ``List`` kinds (``kind: List``, ``PodList`` ...) are expanded into their
    items, and empty documents are dropped. A ``str`` naming an existing file or directory is read; any other
    ``str`` is parsed as manifest text. Directories are read recursively (``.yaml``, ``.yml``, ``.json``).

    Args:
        paths_or_text: a path, a directory, manifest text, or an iterable of paths and texts.

    Returns:
        The manifests as plain dicts, in file and document order.

    Raises:
        InvalidInput: a path cannot be read, or a document is not YAML or not a mapping.
    """
    if isinstance(paths_or_text, (str, os.PathLike)):
        sources: list[str | os.PathLike[str]] = [paths_or_text]
    else:
        sources = list(paths_or_text)
    out: list[dict[str, Any]] = []
    for source in sources:
        if isinstance(source, os.PathLike) or ("\n" not in source and _is_path(source)):
            path = Path(source)
            if not path.exists():
                raise InvalidInput(f"{path}: no such file or directory")
            for file in _files(path):
                text = limits.read_text_limited(file, limits.MANIFEST_LIMITS, what="manifest file")
                out.extend(_parse_text(text, str(file)))
        else:
            docs = _parse_scalar_guard(source)
            out.extend(docs)
    return out


def _is_path(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # a name too long for the file system, or with NUL: text, not a path
        return False


def _parse_scalar_guard(text: str) -> list[dict[str, Any]]:
    try:
        return _parse_text(text, "<text>")
    except InvalidInput:
        # A one-line string that is no mapping was most likely meant as a path: say so rather than "not a mapping".
        if "\n" not in text.strip() and ":" not in text:
            shown = text if len(text) <= 80 else f"{text[:77]}..."
            raise InvalidInput(f"{shown}: no such file or directory (and not manifest text)") from None
        raise


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

    Every workload finding (REFERENCE section 1) uses this as its ``resource``.
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
        """Whether the template selects Windows nodes (``spec.os.name``, node selector or required affinity)."""
        return _is_windows(self.spec)


def pod_templates(manifests: Iterable[Mapping[str, Any]]) -> list[PodTemplate]:
    """Extract pod templates from workload objects (REFERENCE section 1).

    Objects whose controller is itself among ``manifests`` are skipped (a Pod of a listed ReplicaSet, a
    ReplicaSet of a listed Deployment), so ``kubectl get all -o json`` does not report a rule three times.
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
            ref.get("controller") and (str(ref.get("kind")), namespace, str(ref.get("name"))) in present
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


def _is_windows(spec: Mapping[str, Any]) -> bool:
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


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Evaluate a Kubernetes label selector (``matchLabels`` and ``matchExpressions``)."""
    for key, value in _str_map(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for expr in _list(selector.get("matchExpressions")):
        if not isinstance(expr, Mapping):
            return False
        key, op = str(expr.get("key")), expr.get("operator")
        values = {str(v) for v in _list(expr.get("values"))}
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


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

    Process isolation only: the host must run the same build (REFERENCE section 1, FAQ "Which Windows
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


# --- the lint ---------------------------------------------------------------------------------------------------


def _finding(
    code: str,
    severity: Severity,
    message: str,
    *,
    resource: str,
    remediation: str,
    faq: str,
    runbook: str | None = None,
) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        message=message,
        remediation=remediation,
        faq=faq,
        resource=resource,
        runbook=runbook,
    )


def _lint_security(t: PodTemplate, strict: bool) -> list[Finding]:
    findings: list[Finding] = []
    spec = t.spec
    severity = Severity.ERROR if strict else Severity.WARNING
    consequence = (
        "the API server rejects them because spec.os.name is windows"
        if strict
        else "Windows ignores them (it identifies users by SID, not UID/GID)"
    )
    pod_ctx = _mapping(spec.get("securityContext"))
    used = [f"securityContext.{f}" for f in POD_LINUX_ONLY_FIELDS if pod_ctx.get(f) is not None]
    privileged: list[str] = []
    for c in _containers(spec):
        ctx = _mapping(c.get("securityContext"))
        name = str(c.get("name") or "?")
        used += [f"{name}.securityContext.{f}" for f in CONTAINER_LINUX_ONLY_FIELDS if ctx.get(f) is not None]
        if ctx.get("privileged") is True:
            privileged.append(name)
    if used:
        findings.append(
            _finding(
                "LINUX_SECURITY_CONTEXT_ON_WINDOWS",
                severity,
                f"Windows pod template sets Linux-only security settings ({', '.join(used)}); {consequence}.",
                resource=t.resource,
                remediation=(
                    "Remove them; run as a Windows account with securityContext.windowsOptions.runAsUserName "
                    "(e.g. ContainerUser) and use gMSA through windowsOptions.gmsaCredentialSpecName."
                ),
                faq=_FAQ_LINUX,
            )
        )
    run_as_user_name = _dig(pod_ctx, "windowsOptions", "runAsUserName")
    non_root = pod_ctx.get("runAsNonRoot") is True or any(
        _dig(c, "securityContext", "runAsNonRoot") is True for c in _containers(spec)
    )
    if (
        non_root
        and not run_as_user_name
        and not any(_dig(c, "securityContext", "windowsOptions", "runAsUserName") for c in _containers(spec))
    ):
        findings.append(
            _finding(
                "RUN_AS_NON_ROOT_ON_WINDOWS",
                Severity.INFO,
                "runAsNonRoot on Windows has no UID to check; the kubelet only refuses ContainerAdministrator, "
                "and no windowsOptions.runAsUserName is set.",
                resource=t.resource,
                remediation="Set securityContext.windowsOptions.runAsUserName: ContainerUser.",
                faq=_FAQ_LINUX,
            )
        )
    if privileged and not _host_process(spec):
        findings.append(
            _finding(
                "PRIVILEGED_ON_WINDOWS",
                severity,
                f"containers {', '.join(privileged)} ask for privileged mode, which Windows containers do not "
                "support" + (" (rejected because spec.os.name is windows)" if strict else "") + ".",
                resource=t.resource,
                remediation=(
                    "Drop privileged; for node-level work use a HostProcess container "
                    "(securityContext.windowsOptions.hostProcess: true with hostNetwork: true)."
                ),
                faq=_FAQ_LINUX,
            )
        )
    return findings


def _lint_template_windows(t: PodTemplate) -> list[Finding]:
    findings: list[Finding] = []
    spec = t.spec
    host_process = _host_process(spec)
    findings += _lint_security(t, strict=_os_name_windows(spec))
    if spec.get("hostNetwork") is True and not host_process:
        findings.append(
            _finding(
                "HOST_NETWORK_ON_WINDOWS",
                Severity.WARNING,
                "Windows pod template uses hostNetwork, which Windows supports only for HostProcess containers.",
                resource=t.resource,
                remediation=(
                    "Remove hostNetwork, or make the pod a HostProcess pod "
                    "(securityContext.windowsOptions.hostProcess: true)."
                ),
                faq=_FAQ_LINUX,
            )
        )
    if not host_process:
        linux_paths = [
            f"{c.get('name') or '?'}:{m.get('mountPath')}"
            for c in _containers(spec)
            for m in _list(c.get("volumeMounts"))
            if isinstance(m, Mapping)
            and isinstance(m.get("mountPath"), str)
            and m.get("mountPath") != _SERVICE_ACCOUNT_MOUNT
            and not _WINDOWS_PATH_RE.match(str(m.get("mountPath")))
        ]
        if linux_paths:
            findings.append(
                _finding(
                    "LINUX_MOUNT_PATH_ON_WINDOWS",
                    Severity.WARNING,
                    f"Windows pod template mounts volumes at Linux-style paths ({', '.join(linux_paths)}).",
                    resource=t.resource,
                    remediation=(
                        "Use a drive letter: for example /K/Volume (mounted as the K: drive) or K:\\Volume "
                        "instead of /mnt/volume."
                    ),
                    faq=_FAQ_LINUX,
                )
            )
        odd_volumes = []
        for v in _list(spec.get("volumes")):
            if not isinstance(v, Mapping):
                continue
            types = [k for k in v if k != "name"]
            for vtype in types:
                if vtype in WINDOWS_SUPPORTED_VOLUME_TYPES:
                    continue
                if vtype == "csi" and str(_dig(v, "csi", "driver")) in _WINDOWS_CSI_DRIVERS:
                    continue
                detail = f"csi:{_dig(v, 'csi', 'driver')}" if vtype == "csi" else vtype
                odd_volumes.append(f"{v.get('name') or '?'} ({detail})")
        if odd_volumes:
            findings.append(
                _finding(
                    "UNSUPPORTED_VOLUME_ON_WINDOWS",
                    Severity.INFO,
                    f"Windows pod template uses volumes outside Azure Disk / Azure Files: {', '.join(odd_volumes)}.",
                    resource=t.resource,
                    remediation=(
                        "Use Azure Disk (disk.csi.azure.com) or Azure Files (file.csi.azure.com) volumes, "
                        "mounted as NTFS, or emptyDir/configMap/secret/projected volumes."
                    ),
                    faq=FaqSection.DISKS.value,
                )
            )
    return findings


def _lint_images(t: PodTemplate, windows_builds: set[str] | None, is_windows: bool) -> list[Finding]:
    findings: list[Finding] = []
    images: list[tuple[str, str]] = [
        (str(c.get("name") or "?"), str(c.get("image")))
        for c in _containers(t.spec)
        if isinstance(c.get("image"), str)
    ]
    windows_images = [(n, i) for n, i in images if is_windows_image(i)]
    if windows_images and not is_windows:
        findings.append(
            _finding(
                "WINDOWS_IMAGE_WITHOUT_OS_SELECTOR",
                Severity.WARNING,
                f"pod template runs Windows images ({', '.join(i for _, i in windows_images)}) but does not "
                "select Windows nodes, so it can be scheduled on Linux nodes and never start.",
                resource=t.resource,
                remediation="Add nodeSelector kubernetes.io/os: windows (and tolerations for any Windows taints).",
                faq=_FAQ_OS,
            )
        )
    needed = {image_windows_build(i) for _, i in windows_images} - {None}
    builds: set[str] = {b for b in needed if b is not None}
    if not builds:
        return findings
    pinned = _pinned_builds(t.spec)
    by_build = ", ".join(
        f"{i} -> {image_windows_build(i)}" for _, i in windows_images if image_windows_build(i)
    )
    remediation = (
        "Build the image for the pool's Windows version (ltsc2019 -> Windows2019, ltsc2022 -> Windows2022, "
        "ltsc2025 -> Windows2025) or add a pool of that version (add-pool / migrate --reason os-upgrade)."
    )
    if len(builds) > 1:
        findings.append(
            _finding(
                "WINDOWS_IMAGE_BUILD_MISMATCH",
                Severity.ERROR,
                f"containers need different Windows builds ({by_build}); with process isolation one of them "
                "can never start.",
                resource=t.resource,
                remediation=remediation,
                faq=_FAQ_OS,
            )
        )
        return findings
    build = next(iter(builds))
    if pinned:
        if build not in pinned:
            findings.append(
                _finding(
                    "WINDOWS_IMAGE_BUILD_MISMATCH",
                    Severity.ERROR,
                    f"image needs Windows build {build} ({by_build}) but the node selection pins "
                    f"{', '.join(sorted(pinned))}; the container would not start (process isolation only).",
                    resource=t.resource,
                    remediation=remediation,
                    faq=_FAQ_OS,
                )
            )
        return findings
    if windows_builds:
        if build not in windows_builds:
            findings.append(
                _finding(
                    "WINDOWS_IMAGE_BUILD_MISMATCH",
                    Severity.ERROR,
                    f"image needs Windows build {build} ({by_build}) but the Windows pools run "
                    f"{', '.join(sorted(windows_builds))}; the container would not start (process isolation "
                    "only).",
                    resource=t.resource,
                    remediation=remediation,
                    faq=_FAQ_OS,
                    runbook="migrate",
                )
            )
        elif len(windows_builds) > 1 and pinned is None:
            findings.append(
                _finding(
                    "WINDOWS_IMAGE_BUILD_NOT_PINNED",
                    Severity.WARNING,
                    f"image needs Windows build {build} but the cluster has Windows pools on "
                    f"{', '.join(sorted(windows_builds))} and the pod template does not choose one.",
                    resource=t.resource,
                    remediation=f"Add nodeSelector {_BUILD_LABEL}: {build} (or {_SKU_LABEL}).",
                    faq=_FAQ_OS,
                )
            )
    return findings


def _service_ports_findings(services: list[Mapping[str, Any]]) -> list[Finding]:
    counted = []
    for s in services:
        spec = _mapping(s.get("spec"))
        stype = str(spec.get("type") or "ClusterIP")
        policy = spec.get("externalTrafficPolicy")
        if policy == "Cluster" or (stype in ("LoadBalancer", "NodePort") and policy != "Local"):
            counted.append(s)
    n = len(counted)
    if n <= SERVICE_WARNING_THRESHOLD:
        return []
    over = n > SERVICE_LIMIT
    return [
        _finding(
            "SERVICES_OVER_PORT_LIMIT" if over else "SERVICES_NEAR_PORT_LIMIT",
            Severity.WARNING,
            f"{n} Services use externalTrafficPolicy Cluster (set or defaulted); "
            + (
                f"that is beyond the ~{SERVICE_LIMIT} at which Windows nodes exhaust their dynamic port pool "
                "and drop connections."
                if over
                else f"Windows nodes exhaust their dynamic port pool at about {SERVICE_LIMIT} (sometimes fewer)."
            ),
            resource="Service/*",
            remediation="Set externalTrafficPolicy: Local on LoadBalancer/NodePort Services where possible.",
            faq=FaqSection.SERVICES.value,
        )
    ]


def _has_one_per_node_anti_affinity(t: PodTemplate) -> bool:
    if t.kind == "DaemonSet":
        return True
    terms = _dig(t.spec, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    for term in _list(terms):
        if not isinstance(term, Mapping) or term.get("topologyKey") != _HOSTNAME:
            continue
        if _selector_matches(_mapping(term.get("labelSelector")), t.labels):
            return True
    return False


def _session_affinity_findings(
    services: list[Mapping[str, Any]],
    templates: list[PodTemplate],
    windows_templates: set[str],
    kubernetes_version: str | None,
) -> list[Finding]:
    findings: list[Finding] = []
    faq = FaqSection.SESSION_AFFINITY.value
    for s in services:
        spec = _mapping(s.get("spec"))
        if spec.get("sessionAffinity") != "ClientIP":
            continue
        stype = str(spec.get("type") or "ClusterIP")
        if stype not in ("LoadBalancer", "NodePort"):
            continue
        selector = _str_map(spec.get("selector"))
        namespace = str(_dig(s, "metadata", "namespace") or "default")
        selected = [
            t
            for t in templates
            if selector
            and t.namespace == namespace
            and t.resource in windows_templates
            and all(t.labels.get(k) == v for k, v in selector.items())
        ]
        if not selected:
            continue
        name = object_name(s)
        if spec.get("externalTrafficPolicy") != "Local":
            findings.append(
                _finding(
                    "SESSION_AFFINITY_NEEDS_LOCAL_POLICY",
                    Severity.WARNING,
                    "Service uses sessionAffinity ClientIP for Windows pods without externalTrafficPolicy "
                    "Local, so traffic can be forwarded to another node and lose affinity.",
                    resource=name,
                    remediation="Set externalTrafficPolicy: Local on the Service.",
                    faq=faq,
                )
            )
        loose = [t.resource for t in selected if not _has_one_per_node_anti_affinity(t)]
        if loose:
            findings.append(
                _finding(
                    "SESSION_AFFINITY_NEEDS_ANTI_AFFINITY",
                    Severity.WARNING,
                    f"Service uses sessionAffinity ClientIP but {', '.join(loose)} can run more than one pod "
                    "per Windows node.",
                    resource=name,
                    remediation=(
                        "Add a required podAntiAffinity term with topologyKey kubernetes.io/hostname whose "
                        "labelSelector matches the pods' own labels (one pod per node)."
                    ),
                    faq=faq,
                )
            )
        if kubernetes_version is not None:
            try:
                too_old = not versions.version_at_least(kubernetes_version, _SESSION_AFFINITY_MIN_VERSION)
            except InvalidInput:
                too_old = False
            if too_old:
                findings.append(
                    _finding(
                        "SESSION_AFFINITY_VERSION_TOO_LOW",
                        Severity.WARNING,
                        f"session affinity for Windows pods needs Kubernetes {_SESSION_AFFINITY_MIN_VERSION} or "
                        f"later; the cluster runs {kubernetes_version}.",
                        resource=name,
                        remediation="Upgrade the cluster (the patch runbook upgrades control plane and pools).",
                        faq=faq,
                        runbook="patch",
                    )
                )
    return findings


def lint_workloads(
    manifests: Iterable[Mapping[str, Any]],
    *,
    windows_builds: Iterable[str] | None = None,
    kubernetes_version: str | None = None,
) -> list[Finding]:
    """Lint manifests against the FAQ's Windows workload rules (REFERENCE section 1).

    Rules: Linux-only security settings and privileged/hostNetwork in Windows pods, Linux-style mount paths
    and non-Azure volumes (FAQ "Is Kubernetes different on Windows and Linux?", "What kind of disks are
    supported for Windows?"); Windows images without a Windows node selector or built for another host build
    (FAQ "Which Windows operating systems are supported?"); Services counted against the ~500 port-pool limit
    (FAQ "Are there any limitations on the number of services ..."); the session-affinity recipe (FAQ "Can I
    maintain session affinity ...").

    Args:
        manifests: plain dicts (from :func:`load_manifests` or ``kubectl get -o json``).
        windows_builds: the ``node.kubernetes.io/windows-build`` values of the cluster's Windows pools;
            ``None`` when unknown, an empty set when the cluster has no Windows pool.
        kubernetes_version: the cluster's version, for the session affinity minimum (1.20).

    Returns:
        The findings in manifest order; each names its object as ``Kind/namespace/name``.
    """
    items = [m for m in manifests if isinstance(m, Mapping)]
    builds = None if windows_builds is None else {_normalise_build(b) for b in windows_builds}
    templates = pod_templates(items)
    services = [m for m in items if m.get("kind") == "Service"]
    findings: list[Finding] = []
    windows_templates: set[str] = set()
    for t in templates:
        is_windows = _is_windows(t.spec)
        if is_windows:
            windows_templates.add(t.resource)
            findings += _lint_template_windows(t)
            if builds is not None and not builds:
                findings.append(
                    _finding(
                        "WINDOWS_WORKLOAD_WITHOUT_WINDOWS_POOL",
                        Severity.WARNING,
                        "pod template selects Windows nodes but the cluster has no Windows pool; its pods "
                        "stay Pending.",
                        resource=t.resource,
                        remediation="Add a Windows pool (add-pool runbook).",
                        faq=_FAQ_OS,
                        runbook="add-pool",
                    )
                )
        findings += _lint_images(t, builds, is_windows)
    if builds is None or builds:
        findings += _service_ports_findings(services)
    findings += _session_affinity_findings(services, templates, windows_templates, kubernetes_version)
    return findings
