"""Plan commands: ``status`` lists the plans a checkpoint store holds; ``resume`` continues one (DESIGN 4)."""

from __future__ import annotations

from typing import Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.app import (
    BUDGET_OPT,
    EXIT_OK,
    EXIT_PAUSED,
    OUT_OPT,
    _console,
    emit_json,
    fail,
    parse_duration,
    read_password,
)

__all__ = ["register"]

STORE_OPT = typer.Option(
    None, "--checkpoint", help="Checkpoint file or URL (default ~/.aks-windows-ops/checkpoints.json)."
)


def _store(checkpoint: str | None) -> Any:
    from aks_windows_ops.runbooks.checkpoints import PlanStore, checkpoint_store_from_url
    from aks_windows_ops.runbooks.integrity import sign_store

    store = sign_store(checkpoint_store_from_url(checkpoint))  # integrity tags: docs/security.md
    if not isinstance(store, PlanStore):
        raise E.InvalidInput("this checkpoint store keeps no plans")
    return store


def status(checkpoint: str | None = STORE_OPT, output: str = OUT_OPT) -> None:
    """List stored plans with each step's state: what finished, what runs, what is left (DESIGN principle 4)."""
    from aks_windows_ops.runbooks.runner import get_plan_status

    try:
        store = _store(checkpoint)
        rows: list[dict[str, Any]] = []
        for plan_id in store.plan_ids():
            plan = store.load_plan(plan_id)
            if plan is None:
                continue
            records = get_plan_status(plan, store)
            rows.append(
                {
                    "plan_id": plan.id,
                    "procedure": plan.procedure,
                    "target": plan.target,
                    "steps": [
                        {"step": r.step_id, "state": r.state.value, "message": r.message} for r in records
                    ],
                    "done": sum(1 for r in records if r.state.value == "succeeded"),
                    "total": len(records),
                }
            )
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    if output == "json":
        emit_json(rows)
        raise typer.Exit(EXIT_OK)
    console = _console()
    if not rows:
        console.print("no stored plans")
    for row in rows:
        console.print(
            f"{row['plan_id']}  {row['procedure']} on {row['target']}: {row['done']}/{row['total']} steps done",
            markup=False,
        )
        for step in row["steps"]:
            console.print(
                f"    [{step['state']}] {step['step']}: {step['message']}", markup=False, highlight=False
            )


def resume(
    plan_id: str = typer.Argument(..., help="The plan id shown by `status` or by the run that paused."),
    checkpoint: str | None = STORE_OPT,
    time_budget: str | None = BUDGET_OPT,
    password_env: str | None = typer.Option(
        None, "--password-env", help="A password rotation: the new password's variable."
    ),
    key_vault_secret: str | None = typer.Option(
        None, "--key-vault-secret", help="A password rotation: its Key Vault secret."
    ),
    output: str = OUT_OPT,
) -> None:
    """Continue a stored plan where it stopped, in this process (DESIGN principle 4; REFERENCE section 7)."""
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.runbooks.events import RichProgress
    from aks_windows_ops.runbooks.registry import PROCEDURES, cluster_context
    from aks_windows_ops.runbooks.runner import resume as resume_plan

    try:
        store = _store(checkpoint)
        plan = store.load_plan(plan_id)
        if plan is None:
            raise E.NotFound(
                f"no stored plan {plan_id!r}", remediation="`aks-windows-ops status` lists the stored plans."
            )
        procedure = PROCEDURES.get(plan.procedure)
        actions = procedure.load_actions() if procedure else None
        if procedure is None or actions is None:
            raise E.InvalidInput(f"plans of procedure {plan.procedure!r} cannot be resumed here")
        context, clients = cluster_context(plan, procedure, AzureClients, None)
        if procedure.secret and (password_env or key_vault_secret):
            context.secrets[procedure.secret] = read_password(
                password_env=password_env,
                password_fd=None,
                key_vault_secret=key_vault_secret,
                generate=False,
                prompt=False,
            )
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    console = _console()
    progress = RichProgress(console) if output != "json" else None
    result = resume_plan(
        plan.id,
        actions,
        checkpoints=store,
        time_budget=parse_duration(time_budget),
        clock=clients.clock,
        sleep=clients.sleep,
        on_event=progress,
        extras={"cluster": context},
    )
    if output == "json":
        emit_json(result.to_dict())
    else:
        console.print(f"[bold]{result.status.value}[/]: {result.message}")
    if result.status.value == "paused":
        raise typer.Exit(EXIT_PAUSED)
    if result.error is not None:
        raise fail(result.error)


def register(app: typer.Typer) -> None:
    """Add the plan commands to the CLI."""
    app.command()(status)
    app.command()(resume)
