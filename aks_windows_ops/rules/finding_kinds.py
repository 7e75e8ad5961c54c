"""The catalogue of preflight finding kinds: per code, the facts that never change from one finding to the next.

Each :class:`FindingKind` names a stable code, its severity (or the severities it is graded between, like the
patching note's warning-or-info), the FAQ question or service fact it implements, the library runbook that fixes
it and, when the fix reads the same for every cluster, the remediation. A rule names the kind and says only what
varies::

    yield kinds.WINDOWS_POOL_SYSTEM_MODE.at(pool_resource(pool), f"Windows pool {pool.name} is a System pool; ...")

Lifecycle codes come in graded triples (error once past, warning within the window, info beyond: FAQ "Which
Windows operating systems are supported?" and AKS supported Kubernetes versions); :class:`GradedKinds` picks the
kind for a grade. :data:`CATALOGUE` lists every kind, in declaration order, and :func:`markdown_table` renders it
for the preflight docs page. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from aks_windows_ops.models import Finding, Severity
from aks_windows_ops.rules.faq import FaqSection

__all__ = [
    "CATALOGUE",
    "KUBERNETES_SUPPORT_BY_GRADE",
    "RUNBOOKS",
    "WINDOWS_OS_BY_GRADE",
    "FindingKind",
    "GradedKinds",
    "kind",
    "markdown_table",
]

#: The library's runbooks that remediations name.
RUNBOOKS = ("patch", "password", "ahub", "migrate", "add-pool")

_catalogue: dict[str, FindingKind] = {}


@dataclass(frozen=True)
class FindingKind:
    """The fixed facts of one finding code.

    Attributes:
        code: the stable code (``WINDOWS_POOL_SYSTEM_MODE``).
        severities: its severity, or the severities each finding is graded between (the call passes one).
        faq: the FAQ question, or the service fact, it implements.
        runbook: the library runbook that fixes it, if any.
        remediation: the fix when it reads the same for every finding; ``None`` where the call writes it.
        other_runbooks: runbooks a finding of this kind may name instead of ``runbook`` (with its own remediation).
    """

    code: str
    severities: tuple[Severity, ...]
    faq: FaqSection
    runbook: str | None = None
    remediation: str | None = None
    other_runbooks: tuple[str, ...] = ()

    @property
    def severity(self) -> Severity | None:
        """The severity of every finding of this kind, or ``None`` where each is graded."""
        return self.severities[0] if len(self.severities) == 1 else None

    def at(
        self,
        resource: str,
        message: str,
        *,
        remediation: str | None = None,
        severity: Severity | None = None,
        runbook: str | None = None,
    ) -> Finding:
        """A finding of this kind about ``resource`` (``AgentPool/<name>``, ``ManagedCluster/<rg>/<name>``, ...).

        Args:
            resource: the resource concerned.
            message: what is wrong, about this cluster.
            remediation: the fix, where this finding's differs from the catalogue's (required when the
                catalogue has none).
            severity: the grade, one of ``severities``, for a kind graded per finding (required then, refused
                otherwise).
            runbook: one of ``other_runbooks``, for a finding fixed by another runbook than the usual one.

        Returns:
            The finding, citing the kind's FAQ question.

        Raises:
            ValueError: a severity, remediation or runbook the kind does not allow (a defect in a rule).
        """
        graded = self.severity is None
        if graded != (severity is not None) or (severity is not None and severity not in self.severities):
            raise ValueError(
                f"{self.code}: severity {severity} is not allowed; the kind has {self.severities}"
            )
        fix = remediation if remediation is not None else self.remediation
        if fix is None:
            raise ValueError(f"{self.code}: the remediation is written per finding")
        if runbook is not None and runbook not in self.other_runbooks:
            raise ValueError(f"{self.code}: runbook {runbook!r} is not one of {self.other_runbooks}")
        return Finding(
            code=self.code,
            severity=severity or self.severities[0],
            message=message,
            remediation=fix,
            faq=self.faq.value,
            resource=resource,
            runbook=runbook or self.runbook,
        )


def kind(
    code: str,
    severity: Severity | tuple[Severity, ...],
    faq: FaqSection,
    *,
    runbook: str | None = None,
    remediation: str | None = None,
    other_runbooks: tuple[str, ...] = (),
) -> FindingKind:
    """Declare a finding kind and add it to :data:`CATALOGUE` (each code once; runbooks from :data:`RUNBOOKS`).

    Raises:
        ValueError: a code declared twice or a runbook the library does not have.
    """
    if code in _catalogue:
        raise ValueError(f"finding code {code} is declared twice")
    unknown = [r for r in (runbook, *other_runbooks) if r is not None and r not in RUNBOOKS]
    if unknown:
        raise ValueError(f"{code}: unknown runbook(s) {unknown}")
    severities = (severity,) if isinstance(severity, Severity) else severity
    if not severities:
        raise ValueError(f"{code}: no severity")
    declared = FindingKind(code, severities, faq, runbook, remediation, other_runbooks)
    _catalogue[code] = declared
    return declared


@dataclass(frozen=True)
class GradedKinds:
    """Three codes for one lifecycle date, one per grade (error once past, warning when near, info beyond)."""

    error: FindingKind
    warning: FindingKind
    info: FindingKind

    def __getitem__(self, severity: Severity) -> FindingKind:
        return {Severity.ERROR: self.error, Severity.WARNING: self.warning, Severity.INFO: self.info}[
            severity
        ]


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
_MIGRATE_OS_FIX = (
    "Replace the pool with a pool of a supported Windows OS and move the pods: `aks-windows-ops migrate --reason "
    "os-upgrade --os-sku Windows2022` (or Windows2025); rebuild images the new host cannot run first "
    "(an ltsc2019 image runs on no newer host)."
)
_UPGRADE_MINORS_FIX = "Upgrade the control plane, then the pools, one minor at a time (patch runbook)."
_RENAME_FIX = (
    "Replace the pool with one that has a valid name (a Windows pool name has 1-6 lowercase letters and digits) "
    "with the migrate runbook."
)

# --- names, modes, limits, OS SKU, versions (FAQ rules and the Azure CLI's checks) ---------------------------------

WINDOWS_POOL_NAME_TOO_LONG = kind(
    "WINDOWS_POOL_NAME_TOO_LONG", _E, FaqSection.POOL_NAMES, runbook="migrate", remediation=_RENAME_FIX
)
POOL_NAME_INVALID = kind(
    "POOL_NAME_INVALID", _E, FaqSection.POOL_NAMES, runbook="migrate", remediation=_RENAME_FIX
)
WINDOWS_REQUIRES_AZURE_CNI = kind(
    "WINDOWS_REQUIRES_AZURE_CNI",
    _E,
    FaqSection.NETWORK_PLUGINS,
    remediation=(
        "Move the cluster to Azure CNI Overlay (`az aks update --network-plugin azure "
        "--network-plugin-mode overlay`) or rebuild it with Azure CNI."
    ),
)
WINDOWS_POOL_SYSTEM_MODE = kind(
    "WINDOWS_POOL_SYSTEM_MODE",
    _E,
    FaqSection.WINDOWS_ONLY_CLUSTERS,
    runbook="migrate",
    remediation="Replace it with a Windows User pool (migrate runbook); System pools must be Linux.",
)
NO_LINUX_SYSTEM_POOL = kind(
    "NO_LINUX_SYSTEM_POOL",
    _E,
    FaqSection.WINDOWS_ONLY_CLUSTERS,
    runbook="add-pool",
    remediation="Add a Linux System pool of at least two nodes (add-pool runbook).",
)
#: Remediation per finding: the scale command names the pool.
SYSTEM_POOL_TOO_SMALL = kind("SYSTEM_POOL_TOO_SMALL", _W, FaqSection.WINDOWS_ONLY_CLUSTERS)
TOO_MANY_POOLS = kind(
    "TOO_MANY_POOLS",
    _E,
    FaqSection.POOL_LIMITS,
    remediation="Delete unused pools before adding or replacing one.",
)
POOL_LIMIT_REACHED = kind(
    "POOL_LIMIT_REACHED", _W, FaqSection.POOL_LIMITS, remediation="Delete an unused pool first."
)
TOO_MANY_NODES = kind(
    "TOO_MANY_NODES",
    _E,
    FaqSection.POOL_LIMITS,
    remediation="Scale pools down before any operation that adds nodes.",
)
POOL_NODE_COUNT_INVALID = kind(
    "POOL_NODE_COUNT_INVALID", _E, FaqSection.POOL_LIMITS, remediation="Scale the pool into range."
)
OS_SKU_MISMATCH = kind(
    "OS_SKU_MISMATCH",
    _E,
    FaqSection.OPERATING_SYSTEMS,
    runbook="migrate",
    remediation="Replace the pool with one whose OS SKU matches its OS type (migrate).",
)
#: Remediation per finding: re-read the cluster or the pool.
VERSION_UNREADABLE = kind("VERSION_UNREADABLE", _W, FaqSection.VERSION_SKEW)
POOL_VERSION_SKEW = kind(
    "POOL_VERSION_SKEW",
    _E,
    FaqSection.VERSION_SKEW,
    runbook="patch",
    remediation="Upgrade the pool (or the control plane first, one minor at a time) with the patch runbook.",
)
SERVICE_PRINCIPAL_WITH_WINDOWS = kind(
    "SERVICE_PRINCIPAL_WITH_WINDOWS",
    _W,
    FaqSection.SERVICE_PRINCIPAL,
    runbook="migrate",
    remediation=(
        "Prefer a managed identity. To rotate the service principal, replace each Windows pool: "
        "`aks-windows-ops migrate --reason sp-rotation`."
    ),
)

# --- patching (FAQ "How do I patch my Windows nodes?") -------------------------------------------------------------

NODE_IMAGE_OUTDATED = kind(
    "NODE_IMAGE_OUTDATED",
    _I,
    FaqSection.PATCHING,
    runbook="patch",
    remediation="Patch the pool's node image (patch runbook, --node-image-only).",
)
#: Warning when a control plane upgrade (or a migration first) would help, info when none is offered yet; the
#: remediation names the upgrades offered.
WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE = kind(
    "WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE",
    (_W, _I),
    FaqSection.PATCHING,
    runbook="patch",
    other_runbooks=("migrate",),
)
AUTO_UPGRADE_BLOCKS_CONTROL_PLANE_ONLY = kind(
    "AUTO_UPGRADE_BLOCKS_CONTROL_PLANE_ONLY",
    _I,
    FaqSection.PATCHING,
    runbook="patch",
    remediation="Set the auto-upgrade channel to none for the patch window, or let auto-upgrade patch.",
)
CONTROL_PLANE_ONLY_UPGRADE_UNAVAILABLE = kind(
    "CONTROL_PLANE_ONLY_UPGRADE_UNAVAILABLE",
    _I,
    FaqSection.PATCHING,
    runbook="patch",
    remediation="Upgrade the control plane together with the pools (patch runbook).",
)

# --- Azure Hybrid Benefit, gMSA, Windows profile, provisioning -----------------------------------------------------

SCALE_SET_NOT_FOUND = kind(
    "SCALE_SET_NOT_FOUND",
    _I,
    FaqSection.HYBRID_BENEFIT,
    remediation="Re-read the node resource group's scale sets.",
)
#: Remediation per finding: the scale set's license, or some of its instances'.
AHUB_DRIFT = kind("AHUB_DRIFT", _W, FaqSection.HYBRID_BENEFIT, runbook="ahub")
AHUB_SET_OUTSIDE_CLUSTER = kind(
    "AHUB_SET_OUTSIDE_CLUSTER",
    _I,
    FaqSection.HYBRID_BENEFIT,
    runbook="ahub",
    remediation="Enable AHUB for the whole cluster (ahub runbook).",
)
SCALE_SET_MODEL_NOT_APPLIED = kind(
    "SCALE_SET_MODEL_NOT_APPLIED",
    _I,
    FaqSection.HYBRID_BENEFIT,
    runbook="ahub",
    remediation="Let the running update finish, or bring the instances to the latest model (ahub runbook).",
)
#: Remediation per finding: nothing to do when gMSA is on.
GMSA_STATUS = kind("GMSA_STATUS", _I, FaqSection.GMSA)
WINDOWS_PROFILE_MISSING = kind(
    "WINDOWS_PROFILE_MISSING",
    _W,
    FaqSection.ADMIN_PASSWORD,
    runbook="password",
    remediation="Re-read the cluster; set the Windows admin credentials (password runbook).",
)
PROVISIONING_FAILED = kind(
    "PROVISIONING_FAILED",
    _W,
    FaqSection.PROVISIONING,
    remediation=(
        "Read the failed operation's error, fix its cause and re-run the runbook, which resumes from its "
        "checkpoint (a reconcile with `az aks update` also clears the state)."
    ),
)
OPERATION_IN_PROGRESS = kind(
    "OPERATION_IN_PROGRESS",
    _W,
    FaqSection.PROVISIONING,
    remediation="Wait for a terminal state (Succeeded/Failed/Canceled) or abort the running operation.",
)

# --- room: max pods, subnets, Windows pod slots --------------------------------------------------------------------

MAX_PODS_OUT_OF_RANGE = kind(
    "MAX_PODS_OUT_OF_RANGE",
    _E,
    FaqSection.MAX_PODS,
    runbook="migrate",
    remediation="Replace the pool with one whose max pods is 10-250 (migrate runbook).",
)
WINDOWS_MAX_PODS_LOW = kind(
    "WINDOWS_MAX_PODS_LOW",
    _I,
    FaqSection.DEPLOY_POD_ERROR,
    runbook="migrate",
    remediation=(
        "Max pods changes only with a new pool: `aks-windows-ops migrate --reason max-pods` to a pool "
        "with max pods >= 30 (mind the subnet size)."
    ),
)
#: Remediation per finding: it names the recommended maximum.
WINDOWS_MAX_PODS_HIGH = kind("WINDOWS_MAX_PODS_HIGH", _I, FaqSection.MAX_PODS, runbook="migrate")
MAX_SURGE_INVALID = kind(
    "MAX_SURGE_INVALID",
    _W,
    FaqSection.CAPACITY,
    remediation="Set maxSurge to a percentage like '10%' or a whole number.",
)
SUBNET_NO_SURGE_ROOM = kind(
    "SUBNET_NO_SURGE_ROOM",
    _W,
    FaqSection.CAPACITY,
    runbook="migrate",
    remediation=(
        "Free addresses in the subnet, lower the pool's maxSurge, or move the pool to a larger subnet (migrate "
        "runbook)."
    ),
)
NO_ROOM_FOR_REPLACEMENT_POOL = kind(
    "NO_ROOM_FOR_REPLACEMENT_POOL",
    _I,
    FaqSection.CAPACITY,
    runbook="migrate",
    remediation=(
        "Before a migration (SP rotation, old image, max pods, Windows Server 2019), free addresses, give "
        "the new pool another subnet, or lower its max pods."
    ),
)
WINDOWS_POD_CAPACITY_EXCEEDED = kind(
    "WINDOWS_POD_CAPACITY_EXCEEDED",
    _W,
    FaqSection.DEPLOY_POD_ERROR,
    runbook="migrate",
    remediation=(
        "Scale the Windows pools out, or replace them with a higher max pods: "
        "`aks-windows-ops migrate --reason max-pods`."
    ),
)

# --- lifecycle: Windows OS retirement, Kubernetes support, the pre-2020 image --------------------------------------

WINDOWS_OS_UNKNOWN = kind(
    "WINDOWS_OS_UNKNOWN",
    _I,
    FaqSection.OPERATING_SYSTEMS,
    remediation="Pass a newer lifecycle data file (--lifecycle-data) that lists this OS SKU.",
)
WINDOWS_OS_RETIRED = kind(
    "WINDOWS_OS_RETIRED", _E, FaqSection.OPERATING_SYSTEMS, runbook="migrate", remediation=_MIGRATE_OS_FIX
)
WINDOWS_OS_RETIRING = kind(
    "WINDOWS_OS_RETIRING", _W, FaqSection.OPERATING_SYSTEMS, runbook="migrate", remediation=_MIGRATE_OS_FIX
)
WINDOWS_OS_LIFECYCLE = kind(
    "WINDOWS_OS_LIFECYCLE", _I, FaqSection.OPERATING_SYSTEMS, runbook="migrate", remediation=_MIGRATE_OS_FIX
)
#: Above the newest minor the OS runs on: migrate; below the oldest: upgrade (patch, remediation per finding).
WINDOWS_OS_KUBERNETES_UNSUPPORTED = kind(
    "WINDOWS_OS_KUBERNETES_UNSUPPORTED",
    _E,
    FaqSection.OPERATING_SYSTEMS,
    runbook="migrate",
    remediation=_MIGRATE_OS_FIX,
    other_runbooks=("patch",),
)
WINDOWS_OS_LAST_KUBERNETES_MINOR = kind(
    "WINDOWS_OS_LAST_KUBERNETES_MINOR",
    _W,
    FaqSection.OPERATING_SYSTEMS,
    runbook="migrate",
    remediation=_MIGRATE_OS_FIX,
)
#: Graded from the support dates, the remediation may add the Long Term Support plan.
KUBERNETES_OUT_OF_SUPPORT = kind(
    "KUBERNETES_OUT_OF_SUPPORT",
    _E,
    FaqSection.SUPPORTED_VERSIONS,
    runbook="patch",
    remediation=_UPGRADE_MINORS_FIX,
)
KUBERNETES_SUPPORT_ENDING = kind(
    "KUBERNETES_SUPPORT_ENDING",
    _W,
    FaqSection.SUPPORTED_VERSIONS,
    runbook="patch",
    remediation=_UPGRADE_MINORS_FIX,
)
KUBERNETES_SUPPORT_END = kind(
    "KUBERNETES_SUPPORT_END",
    _I,
    FaqSection.SUPPORTED_VERSIONS,
    runbook="patch",
    remediation=_UPGRADE_MINORS_FIX,
)
KUBERNETES_VERSION_NOT_IN_DATA = kind(
    "KUBERNETES_VERSION_NOT_IN_DATA",
    _I,
    FaqSection.SUPPORTED_VERSIONS,
    remediation="Pass a newer lifecycle data file (--lifecycle-data).",
)
OLD_WINDOWS_IMAGE = kind(
    "OLD_WINDOWS_IMAGE",
    _E,
    FaqSection.NEW_POOL_ERROR,
    runbook="patch",
    remediation=(
        "Upgrade the control plane (patch runbook); then create new Windows pools, move the pods and delete "
        "the old pools: `aks-windows-ops migrate --reason old-image`."
    ),
)

#: The Windows OS lifecycle codes by grade (FAQ "Which Windows operating systems are supported?").
WINDOWS_OS_BY_GRADE = GradedKinds(WINDOWS_OS_RETIRED, WINDOWS_OS_RETIRING, WINDOWS_OS_LIFECYCLE)
#: The Kubernetes support codes by grade (AKS supported Kubernetes versions).
KUBERNETES_SUPPORT_BY_GRADE = GradedKinds(
    KUBERNETES_OUT_OF_SUPPORT, KUBERNETES_SUPPORT_ENDING, KUBERNETES_SUPPORT_END
)

#: Every preflight finding kind, in declaration order.
CATALOGUE: tuple[FindingKind, ...] = tuple(_catalogue.values())


def markdown_table(catalogue: tuple[FindingKind, ...] = CATALOGUE) -> str:
    """The catalogue as a Markdown table for the preflight docs page: code, severity, runbook, FAQ question.

    Args:
        catalogue: the kinds to list; every preflight kind when omitted.

    Returns:
        The table, one row per code in declaration order, ending with a newline.
    """
    rows = ["| code | severity | runbook | FAQ question or service fact |", "|---|---|---|---|"]
    for k in catalogue:
        severity = " or ".join(s.value for s in k.severities)
        runbooks = " or ".join(f"`{r}`" for r in (k.runbook, *k.other_runbooks) if r) or "-"
        rows.append(f"| `{k.code}` | {severity} | {runbooks} | {k.faq.value} |")
    return "\n".join(rows) + "\n"
