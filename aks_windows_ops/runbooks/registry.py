"""The procedures, as objects, in one registry (design principles "plan, then apply", "resumable by construction").

A :class:`Procedure` names what one FAQ answer needs to run: its id (the ``Plan.procedure`` value stored with
every plan, so a plan made by an older release still resumes), the planners that make its plans, its step
actions (imported only when a plan needs them, so ``import aks_windows_ops`` stays light), and what it needs
at run time: Kubernetes access, a secret by name. :data:`PROCEDURES` is the one table the public
:func:`~aks_windows_ops.runbooks.procedures.apply` and :func:`~aks_windows_ops.runbooks.procedures.resume`,
the CLI, the Azure Functions timer and the Durable rollout all read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from aks_windows_ops.errors import InvalidInput, NotFound

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.runbooks.runner import Action

__all__ = ["PASSWORD_SECRET_ENV", "PROCEDURES", "Procedure", "get_procedure"]

#: Environment variable naming the Key Vault secret URL of a new admin password (to resume a rotation).
PASSWORD_SECRET_ENV = "AKS_WINDOWS_OPS_PASSWORD_SECRET"


def _load(reference: str) -> Any:
    module_name, attribute = reference.split(":")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class Procedure:
    """One procedure: its stored id, its planners, its step actions and what its steps need.

    Attributes:
        id: the ``Plan.procedure`` value of its plans (stored with every plan; never renamed).
        title: one line for people.
        planners: ``"module:FUNCTION"`` of the functions that plan it (the first is the default).
        actions: ``"module:ATTRIBUTE"`` of its action map (step kind -> action), imported when needed.
        needs_kube: its steps use the Kubernetes API (a client from the cluster's user kubeconfig).
        secret: the name of a secret its write sends (in ``ClusterContext.secrets``), or ``None``.
    """

    id: str
    title: str
    planners: tuple[str, ...]
    actions: str
    needs_kube: bool = False
    secret: str | None = None

    def load_actions(self) -> Mapping[str, Action]:
        """Import and return the action map (step kind -> action).

        Raises:
            NotFound: the module holding the actions is not installed.
        """
        try:
            actions = _load(self.actions)
        except (ModuleNotFoundError, AttributeError) as err:
            raise NotFound(
                f"the actions of procedure {self.id!r} are not in this installation ({err})",
                remediation="Install the same version of aks-windows-ops that made the plan.",
            ) from err
        if not isinstance(actions, Mapping):
            raise NotFound(f"the actions of procedure {self.id!r} are not in this installation")
        return actions

    @property
    def planner_names(self) -> tuple[str, ...]:
        """The names of its planners (each also public as ``aks_windows_ops.<name>``)."""
        return tuple(ref.split(":")[1] for ref in self.planners)

    def load_planner(self, name: str | None = None) -> Callable[..., Any]:
        """Import and return a planner (by name; the first by default).

        Raises:
            InvalidInput: this procedure has no planner of that name.
        """
        for ref in self.planners:
            if name is None or ref.endswith(f":{name}"):
                planner: Callable[..., Any] = _load(ref)
                return planner
        raise InvalidInput(
            f"procedure {self.id!r} has no planner {name!r} (it has {', '.join(self.planner_names)})"
        )


_ALL = (
    Procedure(
        "patch",
        "Patch: control plane first, then the pools (FAQ: How do I patch my Windows nodes?)",
        ("aks_windows_ops.runbooks.patch:plan_patch",),
        "aks_windows_ops.runbooks.steps:AZURE_ACTIONS",
    ),
    Procedure(
        "rotate-password",
        "Rotate the Windows admin password (FAQ: How do I change the administrator password?)",
        ("aks_windows_ops.runbooks.password:plan_password_rotation",),
        "aks_windows_ops.runbooks.password:PASSWORD_ACTIONS",
        secret="admin_password",
    ),
    Procedure(
        "ahub",
        "Azure Hybrid Benefit on the cluster (FAQ: Can I use Azure Hybrid Benefit with Windows nodes?)",
        ("aks_windows_ops.runbooks.ahub:plan_enable_ahub", "aks_windows_ops.runbooks.ahub:plan_disable_ahub"),
        "aks_windows_ops.runbooks.ahub:AHUB_ACTIONS",
    ),
    Procedure(
        "ahub-nodes",
        "Azure Hybrid Benefit on chosen scale set instances",
        ("aks_windows_ops.runbooks.ahub:plan_ahub_for_nodes",),
        "aks_windows_ops.runbooks.ahub:AHUB_ACTIONS",
    ),
    Procedure(
        "add-pool",
        "Add a Windows pool (FAQ: Windows pod limits and pool names)",
        ("aks_windows_ops.runbooks.pools:plan_add_pool",),
        "aks_windows_ops.runbooks.pools:POOL_ACTIONS",
    ),
    Procedure(
        "migrate",
        "Replace a Windows pool: new pool, drain, verify, delete the old one (FAQ: SP rotation, old image)",
        ("aks_windows_ops.runbooks.migrate:plan_migration",),
        "aks_windows_ops.runbooks.migrate:MIGRATE_ACTIONS",
        needs_kube=True,
    ),
)

#: Every procedure, by id (``Plan.procedure``).
PROCEDURES: Mapping[str, Procedure] = MappingProxyType({p.id: p for p in _ALL})


def get_procedure(procedure_id: object) -> Procedure:
    """Return the procedure with this id (the ``Plan.procedure`` of a stored plan).

    Raises:
        InvalidInput: ``procedure_id`` is not a string.
        NotFound: no procedure has this id (a plan made by another tool or a newer release).
    """
    if not isinstance(procedure_id, str):
        raise InvalidInput(f"a procedure id is a string such as 'patch', got {type(procedure_id).__name__}")
    found = PROCEDURES.get(procedure_id)
    if found is None:
        raise NotFound(
            f"no procedure {procedure_id[:63]!r}: plans of this kind cannot be applied or resumed here "
            f"(known: {', '.join(PROCEDURES)})",
            remediation="Apply it with the tool and version that made it, or plan the change again.",
        )
    return found
