"""The one public ``apply`` and ``resume``: every procedure's plans run through them (design principles "plan, then apply", "resumable by construction").

A planner (``plan_patch``, ``plan_password_rotation``, ``plan_enable_ahub``, ``plan_add_pool``,
``plan_migration`` ...) reads the cluster and returns a :class:`~aks_windows_ops.runbooks.plan.Plan` and a
:class:`~aks_windows_ops.runbooks.context.ClusterContext`. :func:`apply` finds the plan's procedure in the
registry (:data:`~aks_windows_ops.runbooks.registry.PROCEDURES`, by ``Plan.procedure``) and runs its steps with
checkpoints on the context's clock. :func:`resume` continues a stored plan in a new process from its id and a
client bundle alone: it loads the plan, finds its procedure and builds the context (a Kubernetes client from the
cluster's user kubeconfig when the procedure moves pods)::

    plan, context = plan_patch(clients, "rg", "aks", node_image_only=True)
    apply(plan, context, checkpoints="checkpoints.db", time_budget=240)   # paused: run again
    resume(plan.id, clients, checkpoints="checkpoints.db")                # any process, later
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from typing import TYPE_CHECKING, Any, TypedDict

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.clock import system_clock
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.runbooks.checkpoints import CheckpointStore
from aks_windows_ops.runbooks.context import ClusterContext
from aks_windows_ops.runbooks.events import Event
from aks_windows_ops.runbooks.plan import Plan
from aks_windows_ops.runbooks.registry import Procedure, get_procedure
from aks_windows_ops.runbooks.runner import ApplyResult, load_plan, run_plan

if TYPE_CHECKING:  # pragma: no cover - typing only
    from typing_extensions import Unpack

    from aks_windows_ops.secrets import Secret

__all__ = ["ApplyOptions", "ClientsFactory", "apply", "apply_as", "context_for", "resume"]

#: Builds the client bundle of a subscription (``AzureClients``, or ``AzureClients.for_simulator`` bound to a fake).
ClientsFactory = Callable[[str], AzureClients]
Checkpoints = CheckpointStore | str | PathLike[str] | None


class ApplyOptions(TypedDict, total=False):
    """The options of :func:`apply` after the plan and the context (the ``apply_*`` aliases take the same)."""

    checkpoints: Checkpoints
    time_budget: float | None
    on_event: Callable[[Event], None] | None
    stop_after: str | None


def apply(
    plan: Plan,
    context: ClusterContext,
    *,
    checkpoints: Checkpoints = None,
    time_budget: float | None = None,
    on_event: Callable[[Event], None] | None = None,
    stop_after: str | None = None,
) -> ApplyResult:
    """Apply a plan of any procedure to its cluster, checkpointed and resumable (design principles "plan, then apply", "resumable by construction").

    The procedure is found from ``plan.procedure``. Each step re-reads the resource before its one write, and a
    step that succeeded in an earlier run is checked again before it is skipped. The run takes the cluster's
    and the plan's leases in the store first, so a second apply on the same cluster stops before any write.
    Every wait (operations, drains, the budget) is on the context's clock: the system's, or the simulator's
    virtual clock. ``plan`` and ``context`` are not changed by the call (the context keeps only its cache of
    readings).

    Args:
        plan: from a planner, or a stored plan.
        context: from the same planner, or :func:`context_for` in another process.
        checkpoints: a store, or a path or URL ``checkpoint_store_from_url`` understands. ``None``: the default
            store (``$AKS_WINDOWS_OPS_CHECKPOINTS``, else a SQLite file in the user's state directory); on the
            simulator an in-memory store, so a rehearsal never writes into the real one.
        time_budget: seconds this call may take; the run pauses cleanly (status ``paused``) and the next call,
            or :func:`resume`, continues it.
        on_event: receives every progress :class:`~aks_windows_ops.runbooks.events.Event`.
        stop_after: run no step after this step id (to apply a plan one step at a time).

    Returns:
        The outcome; a failed step does not raise (call ``raise_for_status()``).

    Raises:
        InvalidInput: the context is not a cluster context, lacks the Kubernetes client the procedure needs,
            or belongs to another cluster; ``stop_after`` names no step; the budget is not a number >= 0.
            Nothing was sent.
        NotFound: no procedure has the plan's id.
        LeaseHeld: another run holds the cluster's or the plan's lease; nothing was sent.
        RunInterrupted: Ctrl-C or SIGTERM; the step in flight was recorded first.
    """
    procedure = get_procedure(plan.procedure)
    _check_context(procedure, context)
    if checkpoints is None and context.clock is not system_clock:
        checkpoints = "memory:"  # a rehearsal on the simulator never writes into the real default store
    return run_plan(
        plan,
        procedure.load_actions(),
        checkpoints=checkpoints,
        time_budget=time_budget,
        clock=context.clock,
        on_event=on_event,
        cluster=context,
        stop_after=stop_after,
    )


def apply_as(
    procedure_ids: tuple[str, ...], plan: Plan, context: ClusterContext, **options: Unpack[ApplyOptions]
) -> ApplyResult:
    """:func:`apply`, refusing a plan of another procedure (the per-procedure ``apply_*`` names).

    Raises:
        InvalidInput: the plan belongs to none of ``procedure_ids``; nothing was sent.
    """
    if plan.procedure not in procedure_ids:
        raise InvalidInput(
            f"this is a plan of procedure {plan.procedure!r}, not {' or '.join(map(repr, procedure_ids))}",
            remediation="Apply it with the general apply, which finds its procedure from the plan.",
        )
    return apply(plan, context, **options)


def _check_context(procedure: Procedure, context: Any) -> None:
    if not isinstance(context, ClusterContext):
        raise InvalidInput(
            f"a plan is applied with the cluster context its planner returned, got {type(context).__name__}"
        )
    if procedure.needs_kube and context.kube is None:
        raise InvalidInput(
            f"procedure {procedure.id!r} moves pods and needs the cluster's Kubernetes API: give the context a "
            "Kubernetes client (its planner does; resume builds one from the cluster's user kubeconfig)"
        )


def context_for(
    plan: Plan,
    clients: AzureClients | ClientsFactory,
    *,
    secret: Secret | None = None,
    kube: Any = None,
) -> ClusterContext:
    """Build what a stored plan's steps need in a new process (design principle "resumable by construction").

    Args:
        plan: the stored plan; its target is ``subscription/resource_group/cluster``.
        clients: a client bundle (used for the plan's subscription), or a factory building one per
            subscription.
        secret: the secret the procedure sends (the new admin password of a rotation), if it sends one.
        kube: a Kubernetes ``ApiClient``; ``None``: built from the cluster's user kubeconfig when the
            procedure needs one.

    Raises:
        InvalidInput: the plan's target is not ``subscription/resource_group/cluster``.
        NotFound: no procedure has the plan's id.
    """
    procedure = get_procedure(plan.procedure)
    where = plan.target_parts
    if where is None:
        raise InvalidInput(f"plan {plan.id} has target {plan.target!r}, not subscription/resource_group/name")
    sub, rg, name = where
    if isinstance(clients, AzureClients):
        bundle = clients if clients.subscription_id == sub else clients.for_subscription(sub)
    else:
        bundle = clients(sub)
    context = ClusterContext(bundle, rg, name)
    if procedure.secret and secret is not None:
        context.secrets[procedure.secret] = secret
    if kube is None and procedure.needs_kube:
        from aks_windows_ops.azure.facts import get_user_kubeconfig
        from aks_windows_ops.kube.client import api_client_from_kubeconfig

        kube = api_client_from_kubeconfig(get_user_kubeconfig(bundle, rg, name))
    context.kube = kube
    return context


def resume(
    plan_id: str,
    clients: AzureClients | ClientsFactory,
    *,
    checkpoints: Checkpoints = None,
    secret: Secret | None = None,
    kube: Any = None,
    time_budget: float | None = None,
    on_event: Callable[[Event], None] | None = None,
    stop_after: str | None = None,
) -> ApplyResult:
    """Continue a stored plan where it stopped, in any process (design principle "resumable by construction").

    Loads the plan, finds its procedure, builds its context (:func:`context_for`) and applies it
    (:func:`apply`): finished steps are checked again, an operation in flight is resumed from its handle, the
    rest run.

    Args:
        plan_id: the id of a plan applied earlier with a store that keeps plan documents.
        clients: a client bundle, or a factory building one per subscription.
        checkpoints: the store (or its path/URL; ``None`` for the default).
        secret: the secret the procedure sends (a rotation's new password) when its write is still to send.
        kube: a Kubernetes ``ApiClient``; by default built from the cluster's user kubeconfig when needed.
        time_budget: seconds this call may take.
        on_event: receives every progress event.
        stop_after: run no step after this step id.

    Raises:
        NotFound: the store holds no plan with this id, or no procedure has the plan's id.
        InvalidInput: the stored plan's target is malformed, or it belongs to another target or mode.
    """
    plan, store = load_plan(plan_id, checkpoints)
    context = context_for(plan, clients, secret=secret, kube=kube)
    return apply(
        plan, context, checkpoints=store, time_budget=time_budget, on_event=on_event, stop_after=stop_after
    )
