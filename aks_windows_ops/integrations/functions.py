"""Azure Functions (Python v2 programming model): the nightly timer (Service facts: Where it runs).

A timer run has the host's timeout (5 minutes by default on the Consumption plan, 10 at most) while node pool
work takes tens of minutes to hours, so one run never finishes a procedure: it advances it and returns, and
the checkpoints in Blob storage carry the work to the next run on whatever instance picks it up. Each run of
:func:`run_nightly`:

1. audits the fleet (:func:`aks_windows_ops.fleet.audit`) within a share of the time budget and writes the
   JSON report to Blob (``fleet-audit/<UTC time>.json`` and ``fleet-audit/latest.json``);
2. lists the plans in the checkpoint store (``plan_ids()``) and ``resume()``s every unfinished one, oldest
   first, with what is left of the budget (design principle "resumable by construction"). Plans that failed wait for an operator; a
   password rotation that has not sent its write yet waits for the password (from Key Vault when
   ``AKS_WINDOWS_OPS_PASSWORD_SECRET`` is set).

App settings (environment variables):

| setting | meaning | default |
|---|---|---|
| ``AKS_WINDOWS_OPS_CHECKPOINTS`` | checkpoint store, e.g. ``blob://ops?account_url=https://<acct>.blob.core.windows.net`` | required in Azure |
| ``AKS_WINDOWS_OPS_SUBSCRIPTIONS`` | subscriptions to audit, comma separated | ``AZURE_SUBSCRIPTION_ID`` |
| ``AKS_WINDOWS_OPS_REPORTS`` | where audit reports go (``blob://``, ``memory:``, a directory) | the checkpoints' container, prefix ``aks-windows-ops/reports/`` |
| ``AKS_WINDOWS_OPS_TIME_BUDGET`` | seconds one run may take; keep it below the host timeout | ``240`` |
| ``AKS_WINDOWS_OPS_AUDIT_BUDGET`` | seconds of that budget the audit may take | a quarter of the budget |
| ``AKS_WINDOWS_OPS_PASSWORD_SECRET`` | ``https://<vault>.vault.azure.net/secrets/<name>`` for pending rotations | unset |
| ``AKS_WINDOWS_OPS_SIMULATE`` | rehearse on a simulator scenario instead of Azure | unset |

Azure is reached with ``DefaultAzureCredential``, which is the function app's managed identity in Azure.
Tests and rehearsals inject the client bundle: :func:`set_clients_factory`, or ``AKS_WINDOWS_OPS_SIMULATE``
(one ``FakeAzure`` per scenario and process, so consecutive runs see the work progress).

``azure.functions`` is imported only when the blueprint is built (:func:`create_blueprint`, or the module
attribute ``bp``, built on first access), so importing this module is cheap.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from aks_windows_ops.errors import AksWindowsOpsError, InvalidInput, UntrustedCheckpoint
from aks_windows_ops.paths import private_file
from aks_windows_ops.runbooks.checkpoints import (
    CHECKPOINTS_ENV,
    CheckpointStore,
    MemoryCheckpointStore,
    PlanStore,
    RecordState,
    checkpoint_store_from_url,
)
from aks_windows_ops.runbooks.integrity import sign_store
from aks_windows_ops.runbooks.registry import PASSWORD_SECRET_ENV, PROCEDURES, Procedure, cluster_context

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.fleet import FleetReport
    from aks_windows_ops.runbooks.events import Event
    from aks_windows_ops.runbooks.plan import Plan

__all__ = [
    "DEFAULT_AUDIT_SHARE",
    "DEFAULT_SCHEDULE",
    "DEFAULT_TIME_BUDGET",
    "NIGHTLY_FUNCTION_NAME",
    "PROCEDURES",
    "ClientsFactory",
    "FunctionSettings",
    "NightlyResult",
    "NightlyRunFailed",
    "PlanOutcome",
    "Procedure",
    "advance_plans",
    "clients_factory",
    "cluster_context",
    "create_blueprint",
    "open_store",
    "read_report",
    "reset_runtime",
    "run_nightly",
    "set_clients_factory",
    "simulator",
    "write_report",
]

_log = logging.getLogger("aks_windows_ops.functions")

#: Six-field NCRONTAB (seconds first): every day at 02:00 UTC.
DEFAULT_SCHEDULE = "0 0 2 * * *"
#: Seconds a run may take: below the Consumption plan's 5-minute default timeout (Service facts: Where it runs).
DEFAULT_TIME_BUDGET = 240.0
#: Share of the budget the audit may use; the plans get the rest.
DEFAULT_AUDIT_SHARE = 0.25
#: The timer function's name in the function app.
NIGHTLY_FUNCTION_NAME = "aks_windows_ops_nightly"
#: Below this many seconds of budget a plan is not started: it would only read state and pause.
MIN_SLICE_SECONDS = 5.0

SUBSCRIPTIONS_ENV = "AKS_WINDOWS_OPS_SUBSCRIPTIONS"
REPORTS_ENV = "AKS_WINDOWS_OPS_REPORTS"
TIME_BUDGET_ENV = "AKS_WINDOWS_OPS_TIME_BUDGET"
AUDIT_BUDGET_ENV = "AKS_WINDOWS_OPS_AUDIT_BUDGET"
SIMULATE_ENV = "AKS_WINDOWS_OPS_SIMULATE"

ClientsFactory = Callable[[str], "AzureClients"]


# --------------------------------------------------------------------------------------------- settings
def _seconds(environ: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"app setting {name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise InvalidInput(f"app setting {name} must be positive, got {raw!r}")
    return value


@dataclass(frozen=True)
class FunctionSettings:
    """What a timer run does, read from the function app's settings (module docstring table).

    Attributes:
        checkpoints: the checkpoint store URL (``blob://...`` in Azure; see ``checkpoint_store_from_url``).
        subscriptions: subscriptions to audit; empty means every subscription of the simulated scenario.
        reports: where audit reports are written; derived from ``checkpoints`` when ``None``.
        time_budget: seconds one run may take (below the host timeout, Service facts: Where it runs).
        audit_budget: seconds of ``time_budget`` the audit may take.
        password_secret: Key Vault secret URL with the new admin password for pending rotations.
        simulate: a scenario name or file: run on the simulator instead of Azure.
        concurrency: clusters the audit reads at once.
    """

    checkpoints: str
    subscriptions: tuple[str, ...] = ()
    reports: str | None = None
    time_budget: float = DEFAULT_TIME_BUDGET
    audit_budget: float | None = None
    password_secret: str | None = None
    simulate: str | None = None
    concurrency: int = 8

    def __post_init__(self) -> None:
        problems = []
        if self.time_budget <= 0:
            problems.append(f"the time budget ({TIME_BUDGET_ENV}) must be positive")
        if self.audit_budget is not None and not 0 < self.audit_budget <= self.time_budget:
            problems.append(
                f"the audit budget ({AUDIT_BUDGET_ENV}) must be positive and at most the time budget"
            )
        if self.concurrency < 1:
            problems.append("the concurrency (clusters read at once) must be at least 1")
        if problems:
            raise InvalidInput(problems)

    @property
    def audit_seconds(self) -> float:
        """The audit's share of the budget."""
        return self.audit_budget if self.audit_budget is not None else self.time_budget * DEFAULT_AUDIT_SHARE

    @property
    def reports_url(self) -> str:
        """Where reports go: ``reports``, else next to the checkpoints (see :func:`sibling_url`)."""
        return self.reports or sibling_url(self.checkpoints, "reports")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FunctionSettings:
        """Read the settings from app settings (environment variables; module docstring table).

        Raises:
            InvalidInput: a setting is malformed, or no checkpoint store or subscription is configured
                outside the simulator.
        """
        env = os.environ if environ is None else environ
        simulate = env.get(SIMULATE_ENV, "").strip() or None
        checkpoints = env.get(CHECKPOINTS_ENV, "").strip()
        if not checkpoints:
            if simulate is None:
                raise InvalidInput(
                    f"set {CHECKPOINTS_ENV} to the checkpoint store, e.g. "
                    "blob://aks-ops?account_url=https://<account>.blob.core.windows.net"
                )
            checkpoints = "memory:"
        raw_subs = env.get(SUBSCRIPTIONS_ENV, "") or env.get("AZURE_SUBSCRIPTION_ID", "")
        subscriptions = tuple(s for s in raw_subs.replace(";", ",").replace(" ", ",").split(",") if s)
        if not subscriptions and simulate is None:
            raise InvalidInput(
                f"set {SUBSCRIPTIONS_ENV} (or AZURE_SUBSCRIPTION_ID) to the subscriptions to audit"
            )
        budget = _seconds(env, TIME_BUDGET_ENV, DEFAULT_TIME_BUDGET)
        assert budget is not None
        return cls(
            checkpoints=checkpoints,
            subscriptions=subscriptions,
            reports=env.get(REPORTS_ENV, "").strip() or None,
            time_budget=budget,
            audit_budget=_seconds(env, AUDIT_BUDGET_ENV, None),
            password_secret=env.get(PASSWORD_SECRET_ENV, "").strip() or None,
            simulate=simulate,
        )


def sibling_url(url: str, leaf: str) -> str:
    """Return a store location next to the checkpoint store ``url``, for ``leaf`` (``reports``, ``rollouts``).

    ``blob://<container>[/prefix][?query]`` gives ``blob://<container>/aks-windows-ops/<leaf>[?query]`` (same
    account and authentication); ``memory:`` gives ``memory:<leaf>``; a file path gives ``<leaf>`` in the
    file's directory. Other URLs (``https://`` Blob URLs) need the location set explicitly.

    Raises:
        InvalidInput: ``url`` is a form that has no obvious sibling.
    """
    text = url.strip()
    if text.startswith("memory:"):
        return f"memory:{leaf}"
    parsed = urlparse(text)
    if parsed.scheme == "blob":
        query = f"?{parsed.query}" if parsed.query else ""
        return f"blob://{parsed.netloc}/aks-windows-ops/{leaf}{query}"
    if parsed.scheme in ("", "file") or (len(text) > 1 and text[1] == ":"):
        path = Path(parsed.path if parsed.scheme == "file" else text).expanduser()
        return str(path.parent / leaf)
    raise InvalidInput(
        f"cannot derive a {leaf} location from {url!r}: set it explicitly (e.g. blob://<container>/{leaf})"
    )


# --------------------------------------------------------------------------------------------- runtime
_lock = threading.Lock()
_factory: ClientsFactory | None = None
_simulators: dict[str, Any] = {}
_stores: dict[str, CheckpointStore] = {}
_memory_documents: dict[str, dict[str, Any]] = {}
_base_clients: dict[str, AzureClients] = {}


def set_clients_factory(factory: ClientsFactory | None) -> None:
    """Make every function of this module build its client bundles with ``factory`` (``None`` restores).

    Tests and rehearsals pass ``lambda sub: AzureClients.for_simulator(fake, sub)``.
    """
    global _factory
    with _lock:
        _factory = factory


def reset_runtime() -> None:
    """Forget the injected factory, the simulators, the opened stores and in-memory reports (for tests)."""
    global _factory
    with _lock:
        _factory = None
        _simulators.clear()
        _stores.clear()
        _memory_documents.clear()
        _base_clients.clear()


def simulator(scenario: str) -> Any:
    """Return this process's ``FakeAzure`` for ``scenario`` (built on first use, then kept).

    Keeping one per process lets consecutive timer runs in a rehearsal see their operations progress.
    """
    with _lock:
        fake = _simulators.get(scenario)
        if fake is None:
            from aks_windows_ops.testing.scenario import load_scenario

            fake = load_scenario(scenario)
            _simulators[scenario] = fake
        return fake


def _scenario_subscriptions(fake: Any) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for sub, _rg, _name in getattr(fake, "clusters", {}):
        seen.setdefault(sub, None)
    return tuple(seen)


def clients_factory(*, simulate: str | None = None) -> ClientsFactory:
    """Return how to build the client bundle of a subscription (design principle "one fake, at the wire": injectable).

    In order: the factory given to :func:`set_clients_factory`; the simulator of ``simulate`` (a scenario);
    else ``AzureClients`` with ``DefaultAzureCredential`` (the managed identity in Azure), one credential
    shared by every subscription and a fresh bundle per call (each run sets its own deadline on it).

    Args:
        simulate: a scenario name or file, as ``AKS_WINDOWS_OPS_SIMULATE`` gives it.
    """
    from aks_windows_ops.azure.clients import AzureClients

    with _lock:
        injected = _factory
    if injected is not None:
        return injected
    if simulate:
        fake = simulator(simulate)
        return lambda sub: AzureClients.for_simulator(fake, sub)

    def real(sub: str) -> AzureClients:
        with _lock:
            base = _base_clients.get("base")
            if base is None:
                base = AzureClients(sub)
                _ = base.credential  # resolved once: every subscription shares it and its token cache
                _base_clients["base"] = base
        return base.for_subscription(sub)

    return real


def open_store(url: str) -> CheckpointStore:
    """Open (once per process) the checkpoint store at ``url``; ``memory:<name>`` stores live as long.

    The store is wrapped in ``aks_windows_ops.runbooks.integrity.SignedStore``: what it writes carries an
    integrity tag, and records without a valid one are refused (docs/security.md).

    Raises:
        InvalidInput: the URL is not understood (see ``checkpoint_store_from_url``).
    """
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = MemoryCheckpointStore() if url.startswith("memory:") else checkpoint_store_from_url(url)
            store = sign_store(store)
            _stores[url] = store
        return store


# --------------------------------------------------------------------------------------------- reports
def _blob_documents(url: str) -> Any:
    from aks_windows_ops.azure.blob_store import BlobJsonStore

    parsed = urlparse(url)
    if not parsed.netloc:
        raise InvalidInput("a blob:// report URL needs a container: blob://<container>[/<prefix>]")
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    prefix = parsed.path.strip("/")
    prefix = f"{prefix}/" if prefix else "aks-windows-ops/reports/"
    if options.get("account_url"):
        return BlobJsonStore(account_url=options["account_url"], container=parsed.netloc, prefix=prefix)
    variable = options.get("connection_string_env", "AZURE_STORAGE_CONNECTION_STRING")
    connection_string = os.environ.get(variable, "")
    if not connection_string:
        raise InvalidInput(f"{url.split('?')[0]} needs a storage connection string in ${variable}")
    return BlobJsonStore(connection_string=connection_string, container=parsed.netloc, prefix=prefix)


def write_report(url: str, name: str, document: Mapping[str, Any]) -> str:
    """Store a JSON ``document`` called ``name`` at ``url`` and return where it went.

    ``url`` is ``blob://<container>[/<prefix>][?connection_string_env=...|?account_url=...]`` (the forms of
    the checkpoint store), ``memory:<name>`` (kept in the process, for tests), or a local directory.

    Raises:
        InvalidInput: the URL is not understood.
        AzureOperationFailed: Blob storage refused the write.
    """
    data = json.loads(json.dumps(document, default=str))
    if url.startswith("memory:"):
        with _lock:
            _memory_documents.setdefault(url, {})[name] = data
        return f"{url}/{name}"
    if urlparse(url).scheme == "blob":
        documents = _blob_documents(url)
        documents.update(name, lambda _current: data)
        return f"blob://{documents.container_name}/{documents.prefix}{name}"
    path = Path(url).expanduser() / name
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_file(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return str(path)


def read_report(url: str, name: str) -> dict[str, Any] | None:
    """Read back a document written by :func:`write_report` (``None`` when there is none)."""
    if url.startswith("memory:"):
        with _lock:
            found = _memory_documents.get(url, {}).get(name)
        return None if found is None else json.loads(json.dumps(found))
    if urlparse(url).scheme == "blob":
        document: dict[str, Any] | None = _blob_documents(url).read(name)
        return document
    path = Path(url).expanduser() / name
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


# --------------------------------------------------------------------------------------------- plans
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
    from aks_windows_ops.runbooks.runner import get_plan_status, resume

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
        procedure = PROCEDURES.get(plan.procedure)
        actions = procedure.load_actions() if procedure else None
        if procedure is None or actions is None:
            outcome("waiting", f"no actions for procedure {plan.procedure!r} in this installation")
            continue
        if procedure.secret and not password_secret and _needs_secret(plan, records):
            outcome("waiting", f"needs the new password: set {PASSWORD_SECRET_ENV} to its Key Vault secret")
            continue
        try:
            context, clients = cluster_context(plan, procedure, factory, password_secret)
            result = resume(
                plan.id,
                actions,
                checkpoints=store,
                time_budget=left,
                clock=clients.run_clock,
                extras={"cluster": context},
                on_event=events,
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


# --------------------------------------------------------------------------------------------- the run
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
        subscriptions = _scenario_subscriptions(simulator(settings.simulate))
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


# --------------------------------------------------------------------------------------------- the blueprint
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


def __getattr__(name: str) -> Any:
    # ``from aks_windows_ops.integrations.functions import bp`` builds the default blueprint on first use.
    if name == "bp":
        blueprint = create_blueprint()
        globals()["bp"] = blueprint
        return blueprint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
