"""How every preflight and workload rule builds a :class:`~aks_windows_ops.models.Finding`.

A finding names a stable code, what is wrong, what fixes it, the FAQ question it implements (``faq``), the
resource concerned (``AgentPool/<name>``, ``ManagedCluster/<group>/<name>`` or a manifest object) and, when
one of the library's procedures is the fix, its name.

The preflight rules declare each code's fixed facts once, in :mod:`~aks_windows_ops.rules.finding_kinds`;
:func:`finding` builds the workload lint's findings.
"""

from __future__ import annotations

from aks_windows_ops.models import ClusterSnapshot, Finding, PoolSnapshot, Severity
from aks_windows_ops.rules.faq import FaqSection

__all__ = ["cluster_resource", "finding", "pool_resource"]


def finding(
    code: str,
    severity: Severity,
    message: str,
    *,
    remediation: str,
    faq: FaqSection | str,
    resource: str = "",
    runbook: str | None = None,
) -> Finding:
    """Build a finding citing ``faq`` (a FAQ question, or the service fact it rests on)."""
    return Finding(
        code=code,
        severity=severity,
        message=message,
        remediation=remediation,
        faq=faq.value if isinstance(faq, FaqSection) else faq,
        resource=resource,
        runbook=runbook,
    )


def pool_resource(pool: PoolSnapshot) -> str:
    """How findings name an agent pool: ``AgentPool/<name>``."""
    return f"AgentPool/{pool.name}"


def cluster_resource(snapshot: ClusterSnapshot) -> str:
    """How findings name a cluster: ``ManagedCluster/<resource group>/<name>``."""
    return f"ManagedCluster/{snapshot.ref}"
