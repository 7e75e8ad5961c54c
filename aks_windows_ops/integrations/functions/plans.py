"""Advance the stored plans within a time budget, oldest first, through the public ``resume`` (design principle "resumable by construction")."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aks_windows_ops.errors import AksWindowsOpsError, InvalidInput, NotFound, UntrustedCheckpoint
from aks_windows_ops.integrations.functions.settings import MIN_SLICE_SECONDS, ClientsFactory
from aks_windows_ops.runbooks.checkpoints import (
    CHECKPOINTS_ENV,
    CheckpointStore,
    PlanStore,
    RecordState,
)
from aks_windows_ops.runbooks.integrity import sign_store
from aks_windows_ops.runbooks.registry import PASSWORD_SECRET_ENV, get_procedure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.runbooks.events import Event
    from aks_windows_ops.runbooks.plan import Plan
    from aks_windows_ops.secrets import Secret

__all__ = ["PlanOutcome", "advance_plans", "password_secret_from"]

_log = logging.getLogger("aks_windows_ops.functions")


@dataclass(frozen=True)
class PlanOutcome:
    """What a run did with one stored plan.

    Attributes:
        plan_id: the plan.
        procedure: its procedure.
        target: ``subscription/resource_group/cluster``.
        status: ``succeeded``, ``paused`` or ``failed`` (it ran); ``waiting`` (not run: it needs an operator
            or a secret); ``deferred`` (not run: no budget left); ``error`` (the run itself failed); ``refused`` (not run: the
            stored plan or a record failed its integrity check, see docs/security.md).
        message: one line for people.
        remaining: steps not done yet.
    """

    plan_id: str
    procedure: str
    target: str
    status: str
    message: str
    remaining: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready outcome."""
        return {
            "plan_id": self.plan_id,
            "procedure": self.procedure,
            "target": self.target,
            "status": self.status,
            "message": self.message,
            "remaining": list(self.remaining),
        }


def password_secret_from(url: str) -> Secret:
    """Read the new admin password of a pending rotation from its Key Vault secret URL (FAQ password question).

    Raises:
        InvalidInput: the URL is not ``https://<vault>.vault.azure.net/secrets/<name>``.
    """
    from aks_windows_ops.azure.keyvault import secret_from_key_vault

    if "/secrets/" not in url:
        raise InvalidInput(
            f"{PASSWORD_SECRET_ENV} must look like https://<vault>.vault.azure.net/secrets/<name>"
        )
    vault, name = url.split("/secrets/", 1)
    return secret_from_key_vault(vault, name.strip("/").split("/")[0])


def _needs_secret(plan: Plan, records: tuple[Any, ...]) -> bool:
    # A step that has an operation in flight only waits for it; any other unfinished step may send the write.
    return any(r.state is not RecordState.SUCCEEDED and r.operation is None for r in records) and bool(
        plan.steps
    )


def advance_plans(
    store: CheckpointStore,
    factory: ClientsFactory,
    *,
    time_budget: float,
    password_secret: str | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> list[PlanOutcome]:
    """Resume every unfinished plan in ``store`` within ``time_budget`` seconds, oldest first (design principle "resumable by construction").

    Each plan gets what is left of the budget (measured on its clients' clock, virtual on the simulator);
    a plan whose budget runs out pauses cleanly and the next run resumes it. Finished plans are skipped;
    failed plans and password rotations without a password are reported as ``waiting``.

    Args:
        store: a checkpoint store that keeps plan documents (``PlanStore``).
        factory: builds the client bundle of a subscription.
        time_budget: seconds for all plans together.
        password_secret: Key Vault secret URL for rotations that still have to send the password.
        on_event: progress events (a ``LogRenderer`` by default).

    Returns:
        One outcome per unfinished plan.

    Raises:
        InvalidInput: the store does not keep plan documents.
    """
    from aks_windows_ops.runbooks.events import LogRenderer
    from aks_windows_ops.runbooks.procedures import resume
    from aks_windows_ops.runbooks.runner import get_plan_status

    if not isinstance(store, PlanStore):
        raise InvalidInput(
            "the checkpoint store keeps no plan documents",
            remediation=f"Set {CHECKPOINTS_ENV} to a Blob, SQLite or JSON file checkpoint store.",
        )
    store = sign_store(store)  # every plan and record is checked before it is acted on (docs/security.md)
    events = on_event or LogRenderer(_log)
    pending: list[tuple[Plan, tuple[Any, ...]]] = []
    outcomes: list[PlanOutcome] = []
    for plan_id in store.plan_ids():
        try:
            plan = store.verify(plan_id)
        except UntrustedCheckpoint as err:
            _log.error("plan %s refused: %s", plan_id, err)
            outcomes.append(PlanOutcome(plan_id, "-", "-", "refused", str(err)))
            continue
        if plan is None:
            continue
        records = get_plan_status(plan, store)
        if all(r.state is RecordState.SUCCEEDED for r in records):
            continue
        failed = [r for r in records if r.state is RecordState.FAILED]
        if failed:
            outcomes.append(
                PlanOutcome(
                    plan.id,
                    plan.procedure,
                    plan.target,
                    "waiting",
                    f"step {failed[0].step_id!r} failed ({failed[0].message}); fix the cause, then resume it by hand",
                    tuple(r.step_id for r in records if r.state is not RecordState.SUCCEEDED),
                )
            )
            continue
        pending.append((plan, records))
    pending.sort(key=lambda item: (item[0].created_at, item[0].id))

    spent = 0.0
    # Each plan's clock measures its own slice (virtual on the simulator); wall time also bounds the whole
    # loop, so store reads between plans can never push a real run past the host's timeout.
    wall_deadline = time.monotonic() + time_budget
    for plan, records in pending:
        remaining_steps = tuple(r.step_id for r in records if r.state is not RecordState.SUCCEEDED)

        def outcome(
            status: str, message: str, plan: Plan = plan, rest: tuple[str, ...] = remaining_steps
        ) -> None:
            outcomes.append(PlanOutcome(plan.id, plan.procedure, plan.target, status, message, rest))

        left = min(time_budget - spent, wall_deadline - time.monotonic())
        if left < MIN_SLICE_SECONDS:
            outcome("deferred", "no time left in this run; the next run resumes it")
            continue
        try:
            procedure = get_procedure(plan.procedure)
        except NotFound:
            outcome("waiting", f"no actions for procedure {plan.procedure!r} in this installation")
            continue
        if procedure.secret and not password_secret and _needs_secret(plan, records):
            outcome("waiting", f"needs the new password: set {PASSWORD_SECRET_ENV} to its Key Vault secret")
            continue
        try:
            secret = password_secret_from(password_secret) if procedure.secret and password_secret else None
            result = resume(
                plan.id, factory, checkpoints=store, secret=secret, time_budget=left, on_event=events
            )
        except Exception as err:  # one plan failing to run never stops the others
            _log.exception("resuming plan %s failed", plan.id)
            text = str(err) if isinstance(err, AksWindowsOpsError) else f"{type(err).__name__}: {err}"
            outcome("error", text)
            continue
        spent += max(result.elapsed, 0.0)
        outcomes.append(
            PlanOutcome(
                plan.id, plan.procedure, plan.target, result.status.value, result.message, result.remaining
            )
        )
    return outcomes
