"""Which actions resume a stored plan, and what they need in a new process (design principle "resumable by construction").

A checkpoint store holds plans by id; ``Plan.procedure`` names the procedure, whose step actions are imported
only when a plan needs them. Used by the ``resume`` command and the Azure Functions timer.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.runbooks.plan import Plan

__all__ = ["PASSWORD_SECRET_ENV", "PROCEDURES", "Procedure", "cluster_context"]

#: Environment variable naming the Key Vault secret URL of a new admin password (to resume a rotation).
PASSWORD_SECRET_ENV = "AKS_WINDOWS_OPS_PASSWORD_SECRET"
ClientsFactory = Callable[[str], AzureClients]


@dataclass(frozen=True)
class Procedure:
    """How to resume the stored plans of one procedure (its step actions and what they need).

    Attributes:
        actions: ``"module:ATTRIBUTE"`` of the action mapping, imported when a plan needs it.
        secret: the name of a secret the actions read from the run's context (the new admin password).
        kube: the actions need a Kubernetes client (built from the cluster's user kubeconfig).
    """

    actions: str
    secret: str | None = None
    kube: bool = False

    def load_actions(self) -> Mapping[str, Any] | None:
        """Import the action mapping, or return ``None`` when its module is not installed."""
        module_name, attribute = self.actions.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            return None
        actions = getattr(module, attribute, None)
        return actions if isinstance(actions, Mapping) else None


#: Procedures whose stored plans a timer run resumes, by ``Plan.procedure``.
PROCEDURES: dict[str, Procedure] = {
    "patch": Procedure("aks_windows_ops.runbooks.steps:AZURE_ACTIONS"),
    "rotate-password": Procedure(
        "aks_windows_ops.runbooks.password:PASSWORD_ACTIONS", secret="admin_password"
    ),
    "ahub": Procedure("aks_windows_ops.runbooks.ahub:AHUB_ACTIONS"),
    "ahub-nodes": Procedure("aks_windows_ops.runbooks.ahub:AHUB_ACTIONS"),
    "add-pool": Procedure("aks_windows_ops.runbooks.pools:POOL_ACTIONS"),
    "migrate": Procedure("aks_windows_ops.runbooks.migrate:MIGRATE_ACTIONS", kube=True),
}


def _split_target(target: str) -> tuple[str, str, str] | None:
    parts = target.split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def _password_secret(url: str) -> Any:
    from aks_windows_ops.azure.keyvault import secret_from_key_vault

    if "/secrets/" not in url:
        raise InvalidInput(
            f"{PASSWORD_SECRET_ENV} must look like https://<vault>.vault.azure.net/secrets/<name>"
        )
    vault, name = url.split("/secrets/", 1)
    return secret_from_key_vault(vault, name.strip("/").split("/")[0])


def cluster_context(
    plan: Plan, procedure: Procedure, factory: ClientsFactory, secret_url: str | None
) -> tuple[Any, AzureClients]:
    """Build what a stored plan's actions need to resume in a new process (design principle "resumable by construction").

    Args:
        plan: the stored plan; its target is ``subscription/resource_group/cluster``.
        procedure: how its procedure resumes (secret, Kubernetes client).
        factory: builds the subscription's client bundle.
        secret_url: Key Vault secret URL of the new admin password, for procedures that send one.

    Returns:
        The ``ClusterContext`` (``extras["cluster"]`` of the run) and the client bundle (its clock and sleep).

    Raises:
        InvalidInput: the target is malformed.
    """
    from aks_windows_ops.runbooks.steps import ClusterContext

    where = _split_target(plan.target)
    if where is None:
        raise InvalidInput(f"plan {plan.id} has target {plan.target!r}, not subscription/resource_group/name")
    sub, rg, name = where
    clients = factory(sub)
    context = ClusterContext(clients, rg, name)
    if procedure.secret and secret_url:
        context.secrets[procedure.secret] = _password_secret(secret_url)
    if procedure.kube:
        from aks_windows_ops.azure.facts import get_user_kubeconfig
        from aks_windows_ops.kube.client import api_client_from_kubeconfig

        context.kube = api_client_from_kubeconfig(get_user_kubeconfig(clients, rg, name))
    return context, clients
