"""Rotate the Windows admin password (FAQ "How do I change the administrator password for Windows Server nodes?").

The FAQ: ``az aks update --windows-admin-password`` upgrades (restarts) only the Windows pools; Linux pools are
not affected; the password needs at least 14 characters and the Windows complexity rules (Service facts: Credentials).
The plan lists the Windows pools that restart, their nodes and the expected time; the one write is a cluster PUT
with only the password set in ``windowsProfile`` (username, license type, gMSA and CSI proxy kept as read). The
password lives in a :class:`~aks_windows_ops.secrets.Secret` held by the run's context, never in the plan, a
checkpoint, an event or an error (design principle "secrets never print").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import snapshot_from_wire
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import ClusterRef
from aks_windows_ops.rules.validation import check_admin_password
from aks_windows_ops.runbooks.plan import NoOp, Plan, Step
from aks_windows_ops.runbooks.procedures import ApplyOptions, apply_as
from aks_windows_ops.runbooks.runner import ApplyResult
from aks_windows_ops.runbooks.steps import (
    AZURE_ACTIONS,
    ClusterContext,
)
from aks_windows_ops.runbooks.windows_profile import MARKER_TAG, WindowsProfileUpdate, write_marker
from aks_windows_ops.secrets import Secret

if TYPE_CHECKING:  # pragma: no cover - typing only
    from typing_extensions import Unpack

__all__ = [
    "MARKER_TAG",
    "PASSWORD_ACTIONS",
    "WindowsProfileUpdate",
    "apply_password_rotation",
    "plan_password_rotation",
    "write_marker",
]

#: Service facts: Credentials: 12-14 minutes for one node; each further Windows node adds about 2.
BASE_SECONDS = 13 * 60
PER_NODE_SECONDS = 2 * 60
SECRET_NAME = "admin_password"


PASSWORD_ACTIONS = {**AZURE_ACTIONS, "update_windows_profile": WindowsProfileUpdate()}


def plan_password_rotation(
    clients: AzureClients, resource_group: str, name: str, *, new_password: Secret
) -> tuple[Plan, ClusterContext]:
    """Plan a Windows admin password rotation (FAQ password question; Service facts: Credentials; How the Azure CLI does it).

    The password is checked first (length, complexity, deny-list), then against the cluster's admin username
    after one read; a problem raises before any write, and no message ever contains the password.

    Args:
        clients: the client bundle of the cluster's subscription.
        resource_group: the cluster's resource group.
        name: the cluster's name.
        new_password: the new password (a :class:`Secret`; a plain ``str`` is refused).

    Raises:
        InvalidInput: a weak password, a plain string, or a cluster without a Windows profile.
    """
    if not isinstance(new_password, Secret):
        raise InvalidInput(
            "the new password must be a Secret (Secret(value), Secret.from_env(...), azure.keyvault.secret_from_key_vault(...))"
        )
    problems = check_admin_password(new_password)
    if problems:
        raise InvalidInput(problems)
    wire = az.get_cluster(clients, resource_group, name)
    snapshot = snapshot_from_wire(ClusterRef(clients.subscription_id, resource_group, name), wire)
    if not snapshot.has_windows_profile:
        raise InvalidInput(
            f"cluster {resource_group}/{name} has no Windows profile: it has no Windows admin password to rotate",
            remediation="Windows admin credentials are set when the first Windows profile is created.",
        )
    problems = check_admin_password(new_password, username=snapshot.windows_admin_username)
    if problems:
        raise InvalidInput(problems)
    resource = f"{resource_group}/{name}"
    windows = snapshot.windows_pools
    nodes = sum(p.count for p in windows)
    restarts = ", ".join(f"{p.name} ({p.count} nodes)" for p in windows) or "none"
    step = Step(
        id="windows-password",
        kind="update_windows_profile",
        title=f"Set the new Windows admin password; restarts Windows pools: {restarts}",
        resource=resource,
        reason="FAQ: `az aks update --windows-admin-password` upgrades only the Windows pools and restarts them.",
        expected_seconds=BASE_SECONDS + PER_NODE_SECONDS * max(nodes - 1, 0),
        restarts_nodes=bool(windows),
        params={"password": SECRET_NAME, "etag": wire.get("eTag")},
    )
    noops = tuple(
        NoOp(f"{resource}/{p.name}", "Linux pool: not affected by the password change")
        for p in snapshot.pools
        if not p.is_windows
    )
    warnings = []
    if windows:
        warnings.append(
            f"Every Windows node restarts ({nodes} nodes in {len(windows)} pools); plan a maintenance window."
        )
    else:
        warnings.append(
            "The cluster has no Windows pool: the new password applies to Windows pools added later."
        )
    plan = Plan(
        procedure="rotate-password",
        target=f"{clients.subscription_id}/{resource}",
        steps=(step,),
        noops=noops,
        warnings=tuple(warnings),
    )
    context = ClusterContext(
        clients, resource_group, name, cluster_wire=wire, secrets={SECRET_NAME: new_password}
    )
    return plan, context


def apply_password_rotation(
    plan: Plan, context: ClusterContext, **options: Unpack[ApplyOptions]
) -> ApplyResult:
    """Apply a password rotation plan from :func:`plan_password_rotation` (FAQ: change the administrator password).

    The same as :func:`aks_windows_ops.apply`, with the same options (``checkpoints``, ``time_budget``,
    ``on_event``, ``stop_after``), kept so that existing code keeps working; ``apply`` takes a plan of any
    procedure. A plan of another procedure is refused before anything is sent.
    """
    return apply_as(("rotate-password",), plan, context, **options)
