"""The generic engine that applies a plan, step by step, resumably (design principles "plan, then apply", "resumable by construction", "secrets never print").

Procedures (patch, password, ahub, migrate) plan :class:`~aks_windows_ops.runbooks.plan.Step` objects and
provide one :class:`Action` per step kind; :func:`run_plan` runs them. For each step, in plan order:

1. Load the step's :class:`~aks_windows_ops.runbooks.checkpoints.StepRecord`. ``succeeded``: skip it.
2. No time left in the budget: pause at this step boundary (status ``paused``).
3. ``in_progress`` with an operation handle: resume it with ``wait(operation)``; ``start`` is never called
   again for an operation that was sent.
4. Otherwise (pending, failed, or ``in_progress`` without a handle because the process died between marking
   the step and recording the handle): ``check`` re-reads the resource.

   - ``DONE``: the target is already reached; nothing is sent.
   - ``IN_FLIGHT``: an operation already runs on the resource; wait for it without writing.
   - ``READY``: record ``in_progress`` with ``attempts + 1`` *before* sending, ``start`` the one write,
     record its handle at once, then ``wait``.

5. ``verify`` the target state and record ``succeeded``.

Outcomes: :class:`~aks_windows_ops.errors.BudgetExhausted` from an action pauses the run (the record keeps
its handle, so the next run resumes the operation); any other library error
(:class:`~aks_windows_ops.errors.AksWindowsOpsError`) marks the step ``failed``, stops, and is returned in
:attr:`ApplyResult.error` (:meth:`ApplyResult.raise_for_status` raises it). A failed step run again starts at
``check``: it re-reads state and never blindly re-sends. Anything else (a bug, ``KeyboardInterrupt``, a
crash) propagates untouched and marks nothing, exactly as if the process had died; errors raised by the
checkpoint store also propagate, because progress that cannot be recorded must not go on.

The time budget (``time_budget=`` seconds on ``clock``) lets an Azure Functions timer stop cleanly before
its timeout and continue on the next tick (Service facts: Where it runs).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from os import PathLike
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from aks_windows_ops.clock import Clock, system_clock
from aks_windows_ops.errors import (
    AksWindowsOpsError,
    BudgetExhausted,
    InvalidInput,
    NotFound,
    OperationConflict,
    OperationLost,
    RunInterrupted,
)
from aks_windows_ops.runbooks.checkpoints import (
    CheckpointStore,
    MemoryCheckpointStore,
    PlanStore,
    RecordState,
    StepRecord,
    checkpoint_store_from_url,
)
from aks_windows_ops.runbooks.events import Event, EventKind
from aks_windows_ops.runbooks.leases import holding, lease_names
from aks_windows_ops.runbooks.outcomes import Terminated, changes_summary, sigterm_as_interrupt
from aks_windows_ops.runbooks.plan import JsonValue, Plan, Step, format_duration

if TYPE_CHECKING:  # pragma: no cover - typing only (the context imports the Azure SDK)
    from aks_windows_ops.runbooks.context import ClusterContext

__all__ = [
    "Action",
    "ApplyResult",
    "RunContext",
    "RunStatus",
    "StepState",
    "Terminated",
    "changes_summary",
    "get_plan_status",
    "load_plan",
    "open_store",
    "resume_plan",
    "run_plan",
]

_log = logging.getLogger(__name__)
#: How many times a step waits for an operation it did not start before giving up (each wait re-reads).
_MAX_CHECKS = 5


class StepState(str, enum.Enum):
    """What :meth:`Action.check` found on the resource (design principle "resumable by construction": re-read before writing)."""

    DONE = "done"
    IN_FLIGHT = "in_flight"
    READY = "ready"


class RunStatus(str, enum.Enum):
    """How an :func:`run_plan` call ended."""

    SUCCEEDED = "succeeded"
    PAUSED = "paused"
    FAILED = "failed"


@dataclass
class RunContext:
    """What an action may use while it runs: the clock, the budget, progress reporting, and its clients.

    Attributes:
        plan: the plan being applied.
        clock: the run's clock (the system's, or the simulator's virtual clock): everything that waits in a
            step waits on it, so a rehearsal never sleeps for real.
        deadline: the absolute ``clock.monotonic()`` value at which the budget runs out, or ``None``.
        cluster: the cluster's context (Azure clients, Kubernetes client, secrets to send), for the
            procedures' Azure actions; ``None`` for actions that need none.
        started: ``clock.monotonic()`` when the run started.
        step: the step being run, if any.
        step_started: ``clock.monotonic()`` when the current step started in this run.
    """

    plan: Plan
    clock: Clock
    deadline: float | None = None
    cluster: ClusterContext | None = None
    on_event: Callable[[Event], None] | None = None
    started: float = 0.0
    step: Step | None = None
    step_index: int = 0
    step_started: float = 0.0
    #: Writes an earlier run already attempted for the current step (from its checkpoint record): an action
    #: whose target state cannot be read back (a password) uses it to tell "not sent" from "sent, then lost".
    attempts: int = 0
    #: Steps whose write this run sent (or tried to send), in order.
    sent: list[str] = field(default_factory=list)

    def remaining(self) -> float | None:
        """Seconds left in the budget (never negative), or ``None`` without a budget."""
        if self.deadline is None:
            return None
        return max(self.deadline - self.clock.monotonic(), 0.0)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the run's clock (virtual time in a rehearsal)."""
        self.clock.sleep(seconds)

    def expired(self) -> bool:
        """Whether the budget has run out."""
        remaining = self.remaining()
        return remaining is not None and remaining <= 0

    def ensure_time(self, what: str = "") -> None:
        """Raise ``BudgetExhausted`` if the budget has run out (design principle "resumable by construction").

        Args:
            what: what would have been done next, for the message.
        """
        if self.expired():
            suffix = f" while {what}" if what else ""
            raise BudgetExhausted(f"time budget exhausted{suffix}; run again to resume")

    def capped(self, seconds: float) -> float:
        """Return ``seconds`` capped at the remaining budget (for ``Retry-After`` and poll intervals)."""
        remaining = self.remaining()
        return max(0.0, seconds if remaining is None else min(seconds, remaining))

    def emit(self, event: Event) -> None:
        """Pass ``event`` to the ``on_event`` callback.

        An observer must not change the outcome of a write to Azure, so a failing callback is logged and
        ignored.
        """
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:
            _log.exception("on_event callback failed for %s", event.kind.value)

    def report(self, message: str = "", *, progress: float | None = None) -> None:
        """Emit a ``waiting`` event for the current step (actions call it while they wait).

        Args:
            message: one line, e.g. ``Upgrading: 2/3 nodes``.
            progress: completion from 0 to 1, when known.
        """
        step = self.step
        self.emit(
            Event(
                kind=EventKind.WAITING,
                plan_id=self.plan.id,
                step_id=step.id if step else None,
                message=message,
                elapsed=self.clock.monotonic() - self.step_started,
                expected=step.expected_seconds if step else None,
                progress=progress,
                index=self.step_index,
                total=len(self.plan.steps),
            )
        )

    def poll_until(
        self,
        done: Callable[[], bool],
        *,
        interval: float,
        what: str,
        describe: Callable[[], str] | None = None,
    ) -> None:
        """Call ``done`` until it returns true, sleeping ``interval`` between calls within the budget.

        The building block of :meth:`Action.wait` when there is no operation handle: poll the resource's
        state (design principle "resumable by construction"). Each round emits a ``waiting`` event.

        Args:
            done: returns true when the wait is over; raises a library error if the operation failed.
            interval: seconds between polls (capped at the remaining budget).
            what: what is awaited, for the budget message.
            describe: returns the progress line for the ``waiting`` event.

        Raises:
            BudgetExhausted: the budget ran out first; the caller's operation keeps running in Azure.
        """
        while not done():
            self.ensure_time(f"waiting for {what}")
            self.report(describe() if describe else f"waiting for {what}")
            self.sleep(self.capped(interval))


@runtime_checkable
class Action(Protocol):
    """How one kind of step is done; procedures register one per step kind (design principle "resumable by construction").

    Raise library errors (:class:`~aks_windows_ops.errors.AksWindowsOpsError` subclasses) for outcomes the
    operator must act on; they fail the step. Raise
    :class:`~aks_windows_ops.errors.BudgetExhausted` when ``ctx.deadline`` is reached; it pauses the run.
    """

    def check(self, step: Step, ctx: RunContext) -> StepState:
        """Read the resource: ``DONE`` (target reached), ``IN_FLIGHT`` (an operation runs), or ``READY``."""
        ...

    def start(self, step: Step, ctx: RunContext) -> Mapping[str, JsonValue] | None:
        """Send the step's one write; return the operation handle, or ``None`` if it finished already.

        The handle (e.g. ``{"kind": "lro", "token": "<continuation token>"}``) is stored in the checkpoint,
        so it must be JSON and never hold a secret.
        """
        ...

    def wait(self, step: Step, ctx: RunContext, operation: Mapping[str, JsonValue] | None) -> None:
        """Wait for the operation (``None``: poll the resource), within ``ctx.deadline``.

        Raises:
            BudgetExhausted: the budget ran out; the operation must stay resumable from its handle.
        """
        ...

    def verify(self, step: Step, ctx: RunContext) -> str:
        """Check the target state was reached; return a one-line message, or raise a library error."""
        ...


@dataclass(frozen=True)
class ApplyResult:
    """How an :func:`run_plan` call ended (design principle "resumable by construction").

    Attributes:
        plan_id: the plan applied.
        status: ``succeeded`` (every step done), ``paused`` (budget or ``stop_after``), or ``failed``.
        message: one line for people.
        done: steps that succeeded in this run.
        skipped: steps that had succeeded in an earlier run.
        remaining: steps not succeeded yet, in plan order.
        records: the final record of every step, in plan order.
        elapsed: seconds on the run's clock.
        error: the library error that failed a step, or the ``BudgetExhausted`` that paused the run.
        failed_step: the id of the failed step.
        sent: steps whose write this run sent (or tried to send), in order: what it may have changed.
        drift: finished steps whose effect was gone when checked again, and that this run applied again.
    """

    plan_id: str
    status: RunStatus
    message: str
    done: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    remaining: tuple[str, ...] = ()
    records: tuple[StepRecord, ...] = ()
    elapsed: float = 0.0
    error: AksWindowsOpsError | None = None
    failed_step: str | None = None
    sent: tuple[str, ...] = ()
    drift: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the plan has completed."""
        return self.status is RunStatus.SUCCEEDED

    @property
    def resumable(self) -> bool:
        """Whether running the same plan again with the same checkpoints simply continues it.

        A failed plan can also be run again once its cause is fixed (the failed step starts from ``check``),
        but that needs the operator first, so it is not counted as resumable.
        """
        return self.status is RunStatus.PAUSED

    def raise_for_status(self) -> ApplyResult:
        """Raise the step's library error when the run failed; return ``self`` otherwise (pauses are normal).

        Raises:
            AksWindowsOpsError: the error that failed the step.
        """
        if self.status is RunStatus.FAILED and self.error is not None:
            raise self.error
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "plan_id": self.plan_id,
            "status": self.status.value,
            "message": self.message,
            "done": list(self.done),
            "skipped": list(self.skipped),
            "remaining": list(self.remaining),
            "records": [r.to_dict() for r in self.records],
            "elapsed": self.elapsed,
            "error": None if self.error is None else self.error.to_dict(),
            "failed_step": self.failed_step,
            "sent": list(self.sent),
            "drift": list(self.drift),
            "resumable": self.resumable,
        }


class _ActionFailed(Exception):
    def __init__(self, error: AksWindowsOpsError) -> None:
        super().__init__(str(error))
        self.error = error


class _ActionPaused(Exception):
    def __init__(self, error: BudgetExhausted) -> None:
        super().__init__(str(error))
        self.error = error


@contextmanager
def _action_call() -> Iterator[None]:
    # Separates the actions' library errors (which fail or pause the step) from the store's, which propagate.
    try:
        yield
    except BudgetExhausted as err:
        raise _ActionPaused(err) from err
    except AksWindowsOpsError as err:
        raise _ActionFailed(err) from err


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def open_store(checkpoints: CheckpointStore | str | PathLike[str] | None) -> CheckpointStore:
    """Open the checkpoint store (a store, a path or URL, or ``None`` for the default), integrity-checked."""
    from aks_windows_ops.runbooks.integrity import sign_store

    if checkpoints is None or isinstance(checkpoints, (str, PathLike)):
        checkpoints = checkpoint_store_from_url(checkpoints)
    # Stores that outlive the process carry integrity tags (docs/security.md); memory stores need none.
    return checkpoints if isinstance(checkpoints, MemoryCheckpointStore) else sign_store(checkpoints)


def run_plan(
    plan: Plan,
    actions: Mapping[str, Action],
    *,
    checkpoints: CheckpointStore | str | PathLike[str] | None = None,
    time_budget: float | None = None,
    clock: Clock | None = None,
    on_event: Callable[[Event], None] | None = None,
    cluster: ClusterContext | None = None,
    stop_after: str | None = None,
    target: str | None = None,
    mode: str | None = None,
    lease: bool = True,
) -> ApplyResult:
    """Run ``plan``'s steps with ``actions``, resuming from its checkpoint records (design principles "plan, then apply", "resumable by construction"; Service facts: Where it runs).

    Before the first step the run takes the leases of its cluster and its plan in the store
    (:mod:`aks_windows_ops.runbooks.leases`), so a second apply on the same cluster stops before any write.
    A step that succeeded in an earlier run is checked again (its effect read from Azure) before it is
    skipped; an effect that is gone is applied again and reported as drift. Verification steps always run.

    Args:
        plan: the plan to apply.
        actions: the action for each step kind in the plan.
        checkpoints: a store, or a path or URL that ``checkpoint_store_from_url`` understands.
            ``None`` means the default store (``$AKS_WINDOWS_OPS_CHECKPOINTS``, else a SQLite database in
            the user's state directory), so every run is resumable.
        time_budget: seconds this call may take on ``clock``; ``None`` for no limit. Steps do not start once
            it has run out, and actions stop waiting (their operations keep running in Azure and are resumed
            by the next call).
        clock: the run's clock, one object for the date, the budget and every wait
            (:data:`~aks_windows_ops.clock.system_clock` by default; the simulator passes its virtual clock).
        on_event: receives every :class:`~aks_windows_ops.runbooks.events.Event`.
        cluster: the cluster's context, handed to actions as ``ctx.cluster``.
        stop_after: run no step after this one (status ``paused`` once it has succeeded), to apply a plan a
            step at a time; repeating the same call never goes further.
        target: what this run acts on (``subscription/resource_group/cluster``); defaults to the
            ``run_target`` of ``cluster``. A plan made for another target is refused.
        mode: where this run's writes go (``azure`` or ``twin[:name]``); defaults to the ``run_mode`` of
            ``cluster``. A rehearsal plan is refused on Azure and a real plan on a twin.
        lease: take the cluster and plan leases (stores that keep none run unguarded).

    Returns:
        The outcome. A failed step does not raise: call :meth:`ApplyResult.raise_for_status`.

    Raises:
        InvalidInput: a step kind has no action, ``stop_after`` names no step, the budget is not a finite
            number >= 0, or the plan belongs to another target or mode; nothing was sent.
        LeaseHeld: another run holds the cluster's or the plan's lease; nothing was sent.
        RunInterrupted: Ctrl-C or SIGTERM; the step in flight was recorded first.
    """
    missing = sorted({s.kind for s in plan.steps} - set(actions))
    problems = [f"no action for step kind {kind!r}" for kind in missing]
    if stop_after is not None and stop_after not in {s.id for s in plan.steps}:
        problems.append(f"the step to stop after is not a step of the plan: {stop_after!r}")
    if time_budget is not None and (
        isinstance(time_budget, bool) or not math.isfinite(float(time_budget)) or time_budget < 0
    ):
        problems.append("the time budget must be a finite number of seconds, 0 or more")
    if problems:
        raise InvalidInput(problems)
    if cluster is not None:
        target = target if target is not None else cluster.run_target
        mode = mode if mode is not None else cluster.run_mode
    refusal = plan.refusal(target=target, mode=mode)
    if refusal:
        raise InvalidInput(refusal)

    store = open_store(checkpoints)
    if isinstance(store, PlanStore):
        stored = store.load_plan(plan.id)
        if stored is not None:
            refusal = stored.refusal(target=target, mode=mode)
            if refusal:
                raise InvalidInput(refusal)
            if stored.mode:
                plan = stored
    if mode and not plan.mode:
        plan = plan.with_mode(mode)
    guard = holding(store, lease_names(plan.id, plan.target)) if lease else contextlib.nullcontext()
    with guard:
        if isinstance(store, PlanStore):
            stored = store.load_plan(plan.id)
            if stored is None or (plan.mode and not stored.mode):
                store.save_plan(plan)
        return _apply_steps(plan, actions, store, time_budget, clock, on_event, cluster, stop_after)


def _always_runs(action: Action) -> bool:
    return bool(getattr(action, "always_run", False))


def _apply_steps(
    plan: Plan,
    actions: Mapping[str, Action],
    store: CheckpointStore,
    time_budget: float | None,
    clock: Clock | None,
    on_event: Callable[[Event], None] | None,
    cluster: ClusterContext | None,
    stop_after: str | None,
) -> ApplyResult:
    run_clock = clock or system_clock
    started = run_clock.monotonic()
    ctx = RunContext(
        plan=plan,
        clock=run_clock,
        deadline=None if time_budget is None else started + time_budget,
        cluster=cluster,
        on_event=on_event,
        started=started,
    )
    total = len(plan.steps)

    def plan_event(kind: EventKind, message: str) -> None:
        ctx.emit(
            Event(
                kind,
                plan.id,
                None,
                message,
                run_clock.monotonic() - started,
                plan.expected_seconds or None,
                total=total,
            )
        )

    plan_event(EventKind.PLAN_STARTED, f"{plan.procedure} on {plan.target}: {total} steps")
    for warning in plan.warnings:
        plan_event(EventKind.WARNING, warning)

    done: list[str] = []
    skipped: list[str] = []
    drift: list[str] = []
    status = RunStatus.SUCCEEDED
    error: AksWindowsOpsError | None = None
    failed_step: str | None = None
    message = ""

    # Steps past ``stop_after`` never run in this call, even when it had already succeeded earlier: running
    # the same command twice must not go further than the operator asked.
    stop_index = next((i for i, s in enumerate(plan.steps, 1) if s.id == stop_after), None)
    with sigterm_as_interrupt():
        for index, step in enumerate(plan.steps, 1):
            if stop_index is not None and index > stop_index:
                status = RunStatus.PAUSED
                message = f"stopped after step {stop_after!r} as asked; run without stop_after to continue"
                break
            ctx.step, ctx.step_index, ctx.step_started = step, index, run_clock.monotonic()
            action = actions[step.kind]
            record = store.load(plan.id, step.id) or StepRecord(plan.id, step.id)
            try:
                found: StepState | None = None
                if record.state is RecordState.SUCCEEDED and not _always_runs(action):
                    # "Already done" is a fact read now, not the memory of an earlier run.
                    with _action_call():
                        found = StepState(action.check(step, ctx))
                    if found is not StepState.READY:
                        # DONE, or an operation runs on the resource (a later step's, typically): not gone.
                        skipped.append(step.id)
                        _emit_step(
                            ctx,
                            EventKind.STEP_SKIPPED,
                            f"already succeeded, and checked again now: {record.message}".rstrip(": "),
                        )
                        continue
                    drift.append(step.id)
                    _emit_step(
                        ctx,
                        EventKind.WARNING,
                        f"drift: step {step.id!r} had succeeded but its effect is gone; applying it again",
                    )
                if ctx.expired():
                    status = RunStatus.PAUSED
                    message = f"time budget exhausted before step {step.id!r}; run again to resume"
                    error = BudgetExhausted(message)
                    break
                _emit_step(ctx, EventKind.STEP_STARTED, step.title or step.id)
                record = _run_step(step, action, ctx, store, record, found)
            except _ActionPaused as paused:
                status, error = RunStatus.PAUSED, paused.error
                message = f"paused in step {step.id!r}: {paused.error}"
                break
            except _ActionFailed as failed:
                error, failed_step, status = failed.error, step.id, RunStatus.FAILED
                store.save(
                    (store.load(plan.id, step.id) or record).evolve(
                        state=RecordState.FAILED,
                        finished_at=_now(),
                        message=str(failed.error),
                        operation=None,
                    )
                )
                message = f"step {step.id!r} failed: {failed.error}"
                _emit_step(ctx, EventKind.STEP_FAILED, str(failed.error))
                break
            except KeyboardInterrupt as interrupt:
                raise _interrupted(plan, store, step, ctx, done, interrupt) from None
            done.append(step.id)
            _emit_step(ctx, EventKind.STEP_SUCCEEDED, record.message)

    ctx.step = None
    records = _final_records(plan, store)
    remaining = tuple(r.step_id for r in records if r.state is not RecordState.SUCCEEDED)
    elapsed = run_clock.monotonic() - started
    if status is RunStatus.SUCCEEDED:
        message = (
            "nothing to do"
            if not total
            else f"{len(done)} step{'' if len(done) == 1 else 's'} done, {len(skipped)} already done, "
            f"in {format_duration(elapsed)}"
        )
        if drift:
            message += f"; drift put right in {', '.join(drift)}"
    else:
        message = f"{message}. {changes_summary(ctx.sent, records)}"
        if status is RunStatus.PAUSED:
            plan_event(EventKind.PAUSED, message)
    plan_event(EventKind.PLAN_FINISHED, f"{status.value}: {message}")
    return ApplyResult(
        plan_id=plan.id,
        status=status,
        message=message,
        done=tuple(done),
        skipped=tuple(skipped),
        remaining=remaining,
        records=records,
        elapsed=elapsed,
        error=error,
        failed_step=failed_step,
        sent=tuple(ctx.sent),
        drift=tuple(drift),
    )


def _interrupted(
    plan: Plan,
    store: CheckpointStore,
    step: Step,
    ctx: RunContext,
    done: list[str],
    interrupt: KeyboardInterrupt,
) -> RunInterrupted:
    record = store.load(plan.id, step.id)
    if record is not None and record.state is RecordState.IN_PROGRESS:
        # Keep its state and handle: the next run resumes the operation or re-reads the resource.
        store.save(record.evolve(message=f"interrupted: {record.message}"))
    records = _final_records(plan, store)
    remaining = tuple(r.step_id for r in records if r.state is not RecordState.SUCCEEDED)
    name = "SIGTERM" if isinstance(interrupt, Terminated) else "SIGINT"
    return RunInterrupted(
        f"interrupted ({name}) in step {step.id!r} of plan {plan.id}; "
        f"{len(done)} step{'' if len(done) == 1 else 's'} done in this run. {changes_summary(ctx.sent, records)}",
        plan_id=plan.id,
        done=tuple(r.step_id for r in records if r.state is RecordState.SUCCEEDED),
        remaining=remaining,
        changed=tuple(ctx.sent),
        signal_name=name,
    )


def _emit_step(ctx: RunContext, kind: EventKind, message: str) -> None:
    step = ctx.step
    if step is None:
        return
    ctx.emit(
        Event(
            kind=kind,
            plan_id=ctx.plan.id,
            step_id=step.id,
            message=message,
            elapsed=ctx.clock.monotonic() - ctx.step_started,
            expected=step.expected_seconds or None,
            index=ctx.step_index,
            total=len(ctx.plan.steps),
        )
    )


def _run_step(
    step: Step,
    action: Action,
    ctx: RunContext,
    store: CheckpointStore,
    record: StepRecord,
    found: StepState | None = None,
) -> StepRecord:
    if record.state is RecordState.IN_PROGRESS and record.operation is not None:
        _emit_step(ctx, EventKind.WAITING, "resuming the operation started by an earlier run")
        try:
            with _action_call():
                action.wait(step, ctx, record.operation)
        except _ActionFailed as failed:
            if not isinstance(failed.error, OperationLost):
                raise
            # The service no longer knows the token: read the resource and decide from what is there now.
            _emit_step(ctx, EventKind.WARNING, f"{failed.error}; reading the resource again")
            record = record.evolve(operation=None, message="operation handle lost; re-read the resource")
            store.save(record)
            return _run_step(step, action, ctx, store, record)
        with _action_call():
            verified = action.verify(step, ctx)
        return _succeed(store, record, verified)
    ctx.attempts = record.attempts
    for _round in range(_MAX_CHECKS):
        if found is None:
            with _action_call():
                found = StepState(action.check(step, ctx))
        if found is StepState.DONE:
            with _action_call():
                verified = action.verify(step, ctx)
            return _succeed(store, record, f"already done: {verified}")
        if found is StepState.READY:
            break
        record = record.evolve(
            state=RecordState.IN_PROGRESS,
            started_at=record.started_at or _now(),
            message="waiting for an operation already running on the resource",
        )
        store.save(record)
        _emit_step(ctx, EventKind.WAITING, record.message)
        with _action_call():
            action.wait(step, ctx, None)
        # Whose operation was it? Read again: done, or still to send.
        found = None
    else:
        raise _ActionFailed(
            OperationConflict(
                f"{step.title or step.id}: the resource stayed busy; nothing was sent for this step"
            )
        )
    # Recorded before sending: a crash after the write leaves a trace that makes the next run re-read the
    # resource (check) instead of sending the write again.
    record = record.evolve(
        state=RecordState.IN_PROGRESS,
        attempts=record.attempts + 1,
        started_at=_now(),
        finished_at=None,
        message="sending the write",
        operation=None,
    )
    store.save(record)
    if not _always_runs(action):  # verification steps read; they send nothing
        ctx.sent.append(step.id)
    with _action_call():
        operation = action.start(step, ctx)
    if operation is not None:
        record = record.evolve(operation=operation, message="operation started")
        store.save(record)
    _emit_step(ctx, EventKind.WAITING, "write sent; waiting for it to finish")
    with _action_call():
        action.wait(step, ctx, operation)
    with _action_call():
        verified = action.verify(step, ctx)
    return _succeed(store, record, verified)


def _succeed(store: CheckpointStore, record: StepRecord, message: str) -> StepRecord:
    record = record.evolve(state=RecordState.SUCCEEDED, finished_at=_now(), message=message, operation=None)
    store.save(record)
    return record


def _final_records(plan: Plan, store: CheckpointStore) -> tuple[StepRecord, ...]:
    stored = {r.step_id: r for r in store.records(plan.id)}
    return tuple(stored.get(s.id) or StepRecord(plan.id, s.id) for s in plan.steps)


def get_plan_status(
    plan: Plan, checkpoints: CheckpointStore | str | PathLike[str] | None = None
) -> tuple[StepRecord, ...]:
    """Return every step's record, in plan order, without running anything (design principle "resumable by construction").

    Steps that never ran get a ``pending`` record.

    Args:
        plan: the plan.
        checkpoints: the store (or its path/URL; ``None`` for the default).
    """
    return _final_records(plan, open_store(checkpoints))


def resume_plan(
    plan_id: str,
    actions: Mapping[str, Action],
    *,
    checkpoints: CheckpointStore | str | PathLike[str] | None = None,
    **options: Any,
) -> ApplyResult:
    """Run the plan stored under ``plan_id`` again with ``actions``, continuing where it stopped (design principle "resumable by construction").

    The engine under :func:`aks_windows_ops.resume`, which finds the actions and builds the context itself.

    Args:
        plan_id: the id of a plan applied earlier with a store that keeps plan documents.
        actions: the action for each step kind.
        checkpoints: the store (or its path/URL; ``None`` for the default).
        **options: passed to :func:`run_plan` (``time_budget``, ``clock``, ``on_event``, ``cluster``,
            ``stop_after``).

    Raises:
        NotFound: the store holds no plan with this id.
    """
    plan, store = load_plan(plan_id, checkpoints)
    return run_plan(plan, actions, checkpoints=store, **options)


def load_plan(
    plan_id: str, checkpoints: CheckpointStore | str | PathLike[str] | None = None
) -> tuple[Plan, CheckpointStore]:
    """Load the plan stored under ``plan_id`` and the (integrity-checked) store holding it.

    Raises:
        NotFound: the store holds no plan with this id.
    """
    store = open_store(checkpoints)
    plan = store.load_plan(plan_id) if isinstance(store, PlanStore) else None
    if plan is None:
        raise NotFound(
            f"no stored plan {plan_id!r} in {store!r}",
            remediation="Check the checkpoint store named, or plan the procedure again: a new plan re-reads the cluster.",
        )
    return plan, store
