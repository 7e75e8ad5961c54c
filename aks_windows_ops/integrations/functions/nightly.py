"""One timer run (audit, then advance the plans) and the ``azure.functions`` blueprint that schedules it (Service facts: Where it runs)."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aks_windows_ops.errors import AksWindowsOpsError
from aks_windows_ops.integrations.functions.plans import PlanOutcome, advance_plans
from aks_windows_ops.integrations.functions.reports import write_report
from aks_windows_ops.integrations.functions.runtime import clients_factory, open_store, simulator
from aks_windows_ops.integrations.functions.settings import (
    DEFAULT_SCHEDULE,
    MIN_SLICE_SECONDS,
    NIGHTLY_FUNCTION_NAME,
    ClientsFactory,
    FunctionSettings,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.fleet import FleetReport
    from aks_windows_ops.runbooks.events import Event

__all__ = ["NightlyResult", "NightlyRunFailed", "create_blueprint", "nightly_timer", "run_nightly"]

_log = logging.getLogger("aks_windows_ops.functions")


@dataclass(frozen=True)
class NightlyResult:
    """What one timer run did (logged as JSON, and raised on when something could not run).

    Attributes:
        audit: the audit summary (``FleetReport.summary()``), or ``None`` when it could not run.
        report: where the audit report was written.
        audit_error: why the audit could not run or be stored.
        plans: one outcome per unfinished plan.
        budget: the run's time budget in seconds.
        spent: wall-clock seconds the run took (the simulator's virtual minutes are not counted).
    """

    audit: dict[str, Any] | None
    report: str | None
    audit_error: str | None
    plans: tuple[PlanOutcome, ...] = field(default=())
    budget: float = 0.0
    spent: float = 0.0

    @property
    def ok(self) -> bool:
        """The audit ran and was stored, and no plan run failed unexpectedly (``error``)."""
        return self.audit_error is None and not any(p.status == "error" for p in self.plans)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready result."""
        return {
            "ok": self.ok,
            "audit": self.audit,
            "report": self.report,
            "audit_error": self.audit_error,
            "plans": [p.to_dict() for p in self.plans],
            "budget": self.budget,
            "spent": round(self.spent, 3),
        }


def _audit(settings: FunctionSettings, factory: ClientsFactory) -> FleetReport:
    from aks_windows_ops.fleet import audit

    subscriptions = settings.subscriptions
    if not subscriptions and settings.simulate:
        from aks_windows_ops.rehearsal import scenario_subscriptions

        subscriptions = scenario_subscriptions(simulator(settings.simulate))
    return audit(
        factory,
        subscriptions=subscriptions,
        time_budget=settings.audit_seconds,
        concurrency=settings.concurrency,
    )


def run_nightly(
    settings: FunctionSettings | None = None,
    *,
    factory: ClientsFactory | None = None,
    now: _dt.datetime | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> NightlyResult:
    """One timer run: audit the fleet into Blob, then advance pending plans (module docstring; Service facts: Where it runs).

    Args:
        settings: the run's settings; :meth:`FunctionSettings.from_env` when omitted.
        factory: builds client bundles; :func:`clients_factory` when omitted.
        now: the run's UTC time, for the report's name.
        on_event: progress events of the resumed plans (logged by default).

    Returns:
        What the run did. It raises only for bad settings: the audit's and the plans' failures are in it.

    Raises:
        InvalidInput: the settings are incomplete or malformed.
    """
    settings = settings or FunctionSettings.from_env()
    factory = factory or clients_factory(simulate=settings.simulate)
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    started = time.monotonic()

    summary: dict[str, Any] | None = None
    location: str | None = None
    audit_error: str | None = None
    spent = 0.0
    try:
        report = _audit(settings, factory)
        spent += report.elapsed
        summary = report.summary()
        document = {"generated_at": stamp.isoformat(), **report.to_dict()}
        reports = settings.reports_url
        location = write_report(reports, f"fleet-audit/{stamp.strftime('%Y%m%dT%H%M%SZ')}.json", document)
        write_report(reports, "fleet-audit/latest.json", document)
    except Exception as err:  # the plans still advance when the audit cannot run
        _log.exception("the fleet audit failed")
        audit_error = str(err) if isinstance(err, AksWindowsOpsError) else f"{type(err).__name__}: {err}"

    # The audit's own clock, or wall time when larger (a slow Blob write counts too).
    spent = max(spent, time.monotonic() - started)
    plans: list[PlanOutcome] = []
    left = settings.time_budget - spent
    try:
        store = open_store(settings.checkpoints)
        if left >= MIN_SLICE_SECONDS:
            plans = advance_plans(
                store,
                factory,
                time_budget=left,
                password_secret=settings.password_secret,
                on_event=on_event,
            )
    except Exception as err:
        _log.exception("advancing the stored plans failed")
        text = str(err) if isinstance(err, AksWindowsOpsError) else f"{type(err).__name__}: {err}"
        plans.append(PlanOutcome("-", "-", "-", "error", f"checkpoint store {settings.checkpoints}: {text}"))
    result = NightlyResult(
        audit=summary,
        report=location,
        audit_error=audit_error,
        plans=tuple(plans),
        budget=settings.time_budget,
        spent=time.monotonic() - started,
    )
    return result


class NightlyRunFailed(RuntimeError):
    """Raised by the timer function when the audit or a plan run failed, so the host records a failure."""


def _annotate(function: Callable[..., Any], **types: Any) -> None:
    # The Functions worker resolves parameter annotations with typing.get_type_hints against this module's
    # globals, where azure.functions is not imported (it is imported lazily): give it the real types.
    function.__annotations__ = dict(types)


def nightly_timer(timer: Any) -> None:
    """The timer function's body: one :func:`run_nightly` run, logged; raises when something failed.

    Args:
        timer: the ``azure.functions.TimerRequest`` (a past-due run is logged and runs normally).

    Raises:
        NightlyRunFailed: the audit could not run or be stored, or a plan could not be resumed.
    """
    if getattr(timer, "past_due", False):
        _log.warning("the timer is past due (the host was down or busy at the scheduled time); running now")
    result = run_nightly()
    _log.info("aks-windows-ops nightly run: %s", json.dumps(result.to_dict(), default=str))
    for plan in result.plans:
        level = logging.ERROR if plan.status in ("failed", "error") else logging.INFO
        _log.log(
            level,
            "plan %s (%s on %s): %s: %s",
            plan.plan_id,
            plan.procedure,
            plan.target,
            plan.status,
            plan.message,
        )
    if not result.ok:
        problems = [result.audit_error] if result.audit_error else []
        problems += [f"{p.plan_id}: {p.message}" for p in result.plans if p.status == "error"]
        raise NightlyRunFailed("; ".join(problems))


def create_blueprint(*, schedule: str = DEFAULT_SCHEDULE, run_on_startup: bool = False) -> Any:
    """Build the ``azure.functions.Blueprint`` with the nightly timer (Service facts: Where it runs).

    Register it in ``function_app.py``: ``app.register_functions(create_blueprint())``.

    Args:
        schedule: NCRONTAB (six fields, seconds first) or an app setting reference such as
            ``%AKS_WINDOWS_OPS_SCHEDULE%``.
        run_on_startup: also run when the host starts (useful in development only).
    """
    import azure.functions as func

    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    def aks_windows_ops_nightly(timer: Any) -> None:
        nightly_timer(timer)

    aks_windows_ops_nightly.__doc__ = nightly_timer.__doc__
    _annotate(aks_windows_ops_nightly, timer=func.TimerRequest, **{"return": None})
    timer_decorator = blueprint.timer_trigger(
        arg_name="timer", schedule=schedule, run_on_startup=run_on_startup, use_monitor=True
    )
    blueprint.function_name(NIGHTLY_FUNCTION_NAME)(timer_decorator(aks_windows_ops_nightly))
    return blueprint
