"""Lint Kubernetes manifests for the FAQ's Windows workload rules.

The input is plain dicts: YAML documents as written, or the ``items`` of ``kubectl get -o json``. Pod
templates are read from Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job and
CronJob objects; Services are checked for the Windows port-pool limit and the session-affinity recipe.
Every finding names its object as ``Kind/namespace/name``. Which templates are Windows pods is decided once, in
:mod:`aks_windows_ops.rules.pod_templates`; every Windows rule applies to each of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import Finding, Severity
from aks_windows_ops.rules import versions
from aks_windows_ops.rules.findings import finding
from aks_windows_ops.rules.lifecycle import host_runs_image_build
from aks_windows_ops.rules.pod_templates import (
    _BUILD_LABEL,
    _SKU_LABEL,
    PodTemplate,
    _containers,
    _dig,
    _host_process,
    _is_windows,
    _list,
    _mapping,
    _normalise_build,
    _os_name_windows,
    _pinned_builds,
    _selects_windows,
    _str_map,
    image_windows_build,
    is_windows_image,
    object_name,
    pod_templates,
)
from aks_windows_ops.rules.pod_templates import IMAGE_TAG_BUILDS as IMAGE_TAG_BUILDS  # moved; kept importable
from aks_windows_ops.rules.pod_templates import WORKLOAD_KINDS as WORKLOAD_KINDS  # moved; kept importable
from aks_windows_ops.rules.selectors import selector_matches
from aks_windows_ops.rules.validation import FaqSection

__all__ = [
    "CONTAINER_LINUX_ONLY_FIELDS",
    "POD_LINUX_ONLY_FIELDS",
    "SERVICE_LIMIT",
    "SERVICE_WARNING_THRESHOLD",
    "WINDOWS_SUPPORTED_VOLUME_TYPES",
    "lint_workloads",
]

#: FAQ "Are there any limitations on the number of services ...": about 500 ``Cluster``-policy Services
#: exhaust a Windows node's dynamic port pool ("sometimes less"), so warn well before.
SERVICE_LIMIT = 500
SERVICE_WARNING_THRESHOLD = 400

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

_HOSTNAME = "kubernetes.io/hostname"
_SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
# Drive-letter style: "K:", "K:\\data", the FAQ's "/K/Volume", and named pipes ("\\\\.\\pipe\\...").
_WINDOWS_PATH_RE = re.compile(r"^(?:[A-Za-z]:|/[A-Za-z](?:/|$)|\\\\)")
_SESSION_AFFINITY_MIN_VERSION = "1.20"

_FAQ_LINUX = FaqSection.LINUX_VS_WINDOWS.value
_FAQ_OS = FaqSection.OPERATING_SYSTEMS.value


# --- the lint ---------------------------------------------------------------------------------------------------


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
            finding(
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
            finding(
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
            finding(
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
            finding(
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
                finding(
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
                finding(
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
    if windows_images and not _selects_windows(t.spec):
        findings.append(
            finding(
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
            finding(
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
        if not _runs_on(build, pinned):
            findings.append(
                finding(
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
        if not _runs_on(build, windows_builds):
            findings.append(
                finding(
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
                finding(
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


def _runs_on(image_build: str, host_builds: Iterable[str]) -> bool:
    """Whether any of the hosts runs the image build (portability: Windows Server 2025 runs ltsc2022 images)."""
    return any(host_runs_image_build(h, image_build) for h in host_builds)


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
        finding(
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
        if selector_matches(_mapping(term.get("labelSelector")), t.labels, empty_matches=False):
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
                finding(
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
                finding(
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
                    finding(
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
    """Lint manifests against the FAQ's Windows workload rules (Service facts: FAQ rules).

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
                    finding(
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
