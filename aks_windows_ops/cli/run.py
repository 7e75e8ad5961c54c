"""Applying a plan from the command line: the shared options, confirmation, progress, interruption reports and exit codes.

Every procedure command (``patch``, ``rotate-password``, ``ahub``, ``pool add``, ``migrate``) declares its own
options and takes the shared ones (``--plan-only`` ... ``--query``) through :func:`procedure_options`; its body
plans, and :func:`run_procedure` shows the plan and applies it with the public ``apply`` only with ``--apply``.
``resume`` goes through :func:`execute` as well, so both report a pause, an interruption or ``--no-wait`` the
same way, with the exact command that continues the run.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.app import default_checkpoint
from aks_windows_ops.cli.options import (
    DEFAULT_TIME_BUDGET,
    Apply,
    Checkpoint,
    NoWait,
    Output,
    OutputFormat,
    PlanOnly,
    Query,
    TimeBudget,
    Yes,
    parse_duration,
)
from aks_windows_ops.cli.output import SESSION, emit, err_console, note, warn
from aks_windows_ops.cli.render import plan_text, plan_warnings, result_text
from aks_windows_ops.cli.runtime import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PAUSED,
    EXIT_TERMINATED,
    fail,
    is_sigterm,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.runbooks.context import ClusterContext
    from aks_windows_ops.runbooks.events import Event
    from aks_windows_ops.runbooks.plan import Plan
    from aks_windows_ops.runbooks.runner import ApplyResult

__all__ = [
    "RunOptions",
    "check_run_options",
    "execute",
    "open_checkpoints",
    "procedure_command",
    "procedure_options",
    "resume_command",
    "run_procedure",
]


def resume_command(plan_id: str, checkpoint: str | None, extra: str) -> str:
    """The exact ``aks-windows-ops resume`` command that continues ``plan_id``."""
    parts = ["aks-windows-ops", "resume", plan_id]
    if checkpoint:
        parts += ["--checkpoint", checkpoint]
    return " ".join(parts) + (f" {extra}" if extra else "")


class _Detach(KeyboardInterrupt):
    """Raised by the ``--no-wait`` observer once the first change is under way."""


def _observer(output: OutputFormat, no_wait: bool, state: dict[str, Any]) -> tuple[Any, Any]:
    """The run's event observer: progress on a terminal (or ``--verbose``), and the ``--no-wait`` detach."""
    from aks_windows_ops.runbooks.events import EventKind, RichProgress, TextRenderer

    progress: Any = None
    if not SESSION.only_show_errors and output is not OutputFormat.none:
        if sys.stderr.isatty():
            progress = RichProgress(err_console(), transient=True)
        elif SESSION.verbose:
            progress = TextRenderer(sys.stderr)

    def observe(event: Any) -> None:
        if progress is not None and event.kind not in (
            EventKind.WARNING,
            EventKind.PAUSED,
            EventKind.PLAN_FINISHED,
        ):
            progress(event)
        if no_wait and event.kind is EventKind.WAITING and event.step_id and not state.get("detached"):
            state["detached"] = event.step_id
            raise _Detach()

    return observe, progress


@dataclass(frozen=True)
class RunOptions:
    """The options every procedure command shares: apply or only plan, confirmation, store, budget, output.

    Attributes:
        do_apply: ``--apply`` (and not ``--plan-only``): change the cluster.
        yes: ``--yes``: no confirmation prompt.
        no_wait: ``--no-wait``: return once the first change is under way.
        checkpoint: ``--checkpoint``: the store's path or URL.
        time_budget: ``--time-budget``: a duration such as ``30m``.
        output: ``--output``.
        query: ``--query``.
        simulate: ``--simulate``: the scenario rehearsed on.
    """

    do_apply: bool
    yes: bool
    no_wait: bool
    checkpoint: str | None
    time_budget: str | None
    output: OutputFormat
    query: str | None
    simulate: str | None

    def check(self) -> None:
        """Check the budget and, when applying, the store (:func:`check_run_options`)."""
        check_run_options(
            time_budget=self.time_budget,
            checkpoint=self.checkpoint,
            simulate=self.simulate,
            do_apply=self.do_apply,
        )


#: The options every procedure command takes last, in this order: (name, annotation, default).
_RUN_PARAMETERS: tuple[tuple[str, Any, Any], ...] = (
    ("plan_only", PlanOnly, False),
    ("do_apply", Apply, False),
    ("yes", Yes, False),
    ("no_wait", NoWait, False),
    ("checkpoint", Checkpoint, None),
    ("time_budget", TimeBudget, None),
    ("output", Output, OutputFormat.table),
    ("query", Query, None),
)


def procedure_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give a procedure command the shared options (``--plan-only`` ... ``--query``), passed to it as ``run``.

    The command declares its own options (``--simulate`` among them) and a last parameter ``run: RunOptions``;
    the shared options are appended to its signature, so every procedure spells them the same way.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "run"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, annotation, default in _RUN_PARAMETERS
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        given = {name: kwargs.pop(name) for name, _, _ in _RUN_PARAMETERS}
        run = RunOptions(
            do_apply=bool(given["do_apply"]) and not given["plan_only"],
            yes=bool(given["yes"]),
            no_wait=bool(given["no_wait"]),
            checkpoint=given["checkpoint"],
            time_budget=given["time_budget"],
            output=OutputFormat(given["output"]),
            query=given["query"],
            simulate=kwargs.get("simulate"),
        )
        command(**kwargs, run=run)

    parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    return wrapper


def procedure_command(
    options: RunOptions, make_plan: Callable[[], tuple[Plan, ClusterContext]], *, resume_extra: str = ""
) -> None:
    """The body every procedure command shares: plan (refusing bad input with its exit code), then :func:`run_procedure`.

    Args:
        options: the shared options.
        make_plan: checks the command's own options and plans (reads only); library errors become exits.
        resume_extra: options the printed ``resume`` command needs (a password source).
    """
    try:
        plan, context = make_plan()
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    run_procedure(plan, context, options, resume_extra=resume_extra)


def run_procedure(
    plan: Plan, context: ClusterContext, options: RunOptions, *, resume_extra: str = ""
) -> None:
    """Show a plan, and apply it (``aks_windows_ops.apply``) only with ``--apply`` (confirmed), then exit with the documented code.

    The plan is the document of a plan-only run; the run's result is the document of an apply (the plan is
    also shown first with ``-o table``). A run can always be resumed from its checkpoint: after a pause, an
    interruption or ``--no-wait`` the exact ``resume`` command is printed.
    """
    from aks_windows_ops.runbooks.procedures import apply

    output = OutputFormat(options.output)
    do_apply, query = options.do_apply, options.query
    budget = parse_duration(options.time_budget, default=DEFAULT_TIME_BUDGET) if do_apply else None
    store: Any = default_checkpoint(options.checkpoint, options.simulate)
    in_memory = isinstance(store, str) and store.startswith("memory:")
    if do_apply:
        store = open_checkpoints(store)
    for line in plan_warnings(plan):
        warn(line)
    if not do_apply or output is OutputFormat.table:
        if output is OutputFormat.table and not query:
            sys.stdout.write(plan_text(plan))
        elif not do_apply:
            emit(plan.to_dict(), output, query)
    if not do_apply:
        if plan.steps:
            note("This was the plan only. Run again with --apply to change the cluster.")
        raise typer.Exit(EXIT_OK)
    if plan.steps and not options.yes:
        if not sys.stdin.isatty():
            raise fail(
                E.InvalidInput(
                    "--apply changes the cluster: add --yes to confirm (or drop --apply to see the plan)",
                    remediation="Read the plan (run without --apply), then run again with --apply --yes.",
                )
            )
        if output is not OutputFormat.table:
            err_console().print(plan_text(plan), markup=False)
        if not typer.confirm(f"Apply this plan to {plan.target}?", default=False, err=True):
            err_console().print("Cancelled: nothing was changed.")
            raise typer.Exit(EXIT_OK)
    execute(
        plan,
        lambda observe: apply(plan, context, checkpoints=store, time_budget=budget, on_event=observe),
        output=output,
        query=query,
        store=store,
        resume_cmd=resume_command(plan.id, options.checkpoint, resume_extra),
        in_memory=in_memory,
        no_wait=options.no_wait,
        checkpoint=options.checkpoint,
    )


def execute(
    plan: Plan,
    run: Callable[[Callable[[Event], None]], ApplyResult],
    *,
    output: OutputFormat,
    query: str | None,
    store: Any,
    resume_cmd: str,
    in_memory: bool = False,
    no_wait: bool = False,
    checkpoint: str | None = None,
) -> None:
    """Run an apply or a resume with progress, then report it and exit with the documented code.

    Ctrl-C and SIGTERM are reported once with the exact command that continues the run; with ``--no-wait``
    the command returns once the first change is under way.
    """
    state: dict[str, Any] = {}
    observe, progress = _observer(output, no_wait, state)
    result: Any = None
    try:
        result = run(observe)
    except KeyboardInterrupt as interrupt:
        if not state.get("detached"):
            _close(progress)
            raise _report_interruption(plan, is_sigterm(interrupt), resume_cmd, in_memory, store) from None
    except E.AksWindowsOpsError as err:
        if not state.get("detached"):
            _close(progress)
            signal_name = getattr(err, "signal_name", None)
            if signal_name:
                raise _report_interruption(
                    plan, signal_name == "SIGTERM", resume_cmd, in_memory, store, err
                ) from err
            raise fail(err) from err
    finally:
        _close(progress)
    if state.get("detached"):
        emit(
            {"plan_id": plan.id, "status": "started", "step": state["detached"], "resume": resume_cmd},
            output,
            query,
            table=lambda d: f"started: plan {d['plan_id']}, step {d['step']} is running in Azure.\n",
        )
        note(
            "Follow it with `aks-windows-ops status"
            + (f" --checkpoint {checkpoint}" if checkpoint else "")
            + f"`; continue (and wait) with `{resume_cmd}`."
        )
        raise typer.Exit(EXIT_OK)
    error = result.error
    signal_name = getattr(error, "signal_name", None)
    if signal_name:
        raise _report_interruption(plan, signal_name == "SIGTERM", resume_cmd, in_memory, store, error)
    emit(result.to_dict(), output, query, table=lambda _: result_text(result))
    if result.status.value == "paused":
        note(f"To continue: {resume_cmd}" if not in_memory else "Run the rehearsal again.")
        raise typer.Exit(EXIT_PAUSED)
    if result.error is not None:
        raise fail(result.error)


def check_run_options(
    *, time_budget: str | None, checkpoint: str | None, simulate: str | None, do_apply: bool
) -> None:
    """Check the options every procedure shares before any request: the budget, and the store when applying.

    Raises:
        InvalidInput: a malformed duration, or a checkpoint store that cannot be opened or read.
    """
    parse_duration(time_budget)
    if do_apply:
        open_checkpoints(default_checkpoint(checkpoint, simulate))


def open_checkpoints(url: str | None) -> Any:
    """Open (and read) the checkpoint store before anything is shown or sent: a corrupt file is invalid input."""
    from aks_windows_ops.runbooks.checkpoints import checkpoint_store_from_url

    try:
        store = checkpoint_store_from_url(url)
        plan_ids = getattr(store, "plan_ids", None)
        if callable(plan_ids):
            plan_ids()
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    return store


def _close(progress: Any) -> None:
    close = getattr(progress, "close", None)
    if callable(close):
        close()


def _report_interruption(
    plan: Any, sigterm: bool, resume_cmd: str, in_memory: bool, store: Any = None, error: Any = None
) -> typer.Exit:
    """Say once what an interrupted run did and the exact command that continues it; return the exit."""
    from aks_windows_ops.cli.runtime import report_error

    done = list(getattr(error, "done", ()) or ())
    left = list(getattr(error, "remaining", ()) or ())
    if not done and not left and store is not None:
        try:
            from aks_windows_ops.runbooks.runner import get_plan_status

            records = get_plan_status(plan, store)
            done = [r.step_id for r in records if r.state.value == "succeeded"]
            left = [r.step_id for r in records if r.state.value != "succeeded"]
        except Exception:  # the report must not hide the interruption
            left = [s.id for s in plan.steps]
    parts = [f"interrupted ({'SIGTERM' if sigterm else 'Ctrl-C'}) while applying plan {plan.id}"]
    parts.append(f"{len(done)} of {len(plan.steps)} steps done" + (f" ({', '.join(done)})" if done else ""))
    if left:
        parts.append(f"not finished: {', '.join(left)}")
    changed = list(getattr(error, "changed", ()) or ())
    if changed:
        parts.append(f"sent to Azure in this run: {'; '.join(changed)}")
    remediation = (
        "This rehearsal kept its progress in memory: run it again to start over."
        if in_memory
        else f"Continue where it stopped: {resume_cmd}"
    )
    code = EXIT_TERMINATED if sigterm else EXIT_INTERRUPTED
    report_error(E.AksWindowsOpsError("; ".join(parts), remediation=remediation), code=code)
    return typer.Exit(code)
