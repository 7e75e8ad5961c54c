"""Plan commands: ``status`` lists the plans a checkpoint store holds; ``resume`` continues one.

Every run records each step before and after it acts, so a paused, interrupted or failed run continues where it
stopped (in this process, with the same checkpoint store). Without ``--checkpoint`` both also see the plans
rehearsed on every twin (kept with the twin, apart from real runs): ``status`` marks them, and ``resume``
continues a rehearsal on its twin, never on Azure.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.options import (
    DEFAULT_TIME_BUDGET,
    Checkpoint,
    Output,
    OutputFormat,
    Query,
    TimeBudget,
    parse_duration,
)
from aks_windows_ops.cli.output import emit
from aks_windows_ops.cli.runtime import fail

__all__ = ["register"]


def _store(checkpoint: str | None) -> Any:
    from aks_windows_ops.runbooks.checkpoints import PlanStore, checkpoint_store_from_url
    from aks_windows_ops.runbooks.integrity import sign_store

    store = sign_store(checkpoint_store_from_url(checkpoint))  # integrity tags: docs/security.md
    if not isinstance(store, PlanStore):
        raise E.InvalidInput(
            "--checkpoint names a store that keeps no plans",
            remediation="Use the same --checkpoint as the run that made the plan.",
        )
    return store


def _status_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no stored plans\n"
    lines = []
    for row in rows:
        mark = f"[rehearsal on twin {row['twin']}] " if row["twin"] else f"[{row['mode']}] "
        lines.append(
            f"{mark}{row['plan_id']}  {row['procedure']} on {row['target']}: "
            f"{row['done']}/{row['total']} steps done"
        )
        lines.extend(f"    [{step['state']}] {step['step']}: {step['message']}" for step in row["steps"])
    return "\n".join(lines) + "\n"


def status(checkpoint: Checkpoint = None, output: Output = OutputFormat.table, query: Query = None) -> None:
    """List the stored plans with each step's state: what finished, what runs, what is left."""
    from aks_windows_ops.cli.rehearsals import rehearsal_stores
    from aks_windows_ops.runbooks.runner import get_plan_status

    try:
        # Without --checkpoint: real runs (the default store), then every twin's rehearsals, each marked.
        stores: list[tuple[str | None, Any]] = [(None, _store(checkpoint))]
        if checkpoint is None:
            stores += [(target, _store(str(path))) for target, path in rehearsal_stores()]
        rows: list[dict[str, Any]] = []
        for twin, store, plan_id in [(t, st, p) for t, st in stores for p in st.plan_ids()]:
            plan = store.load_plan(plan_id)
            if plan is None:
                continue
            records = get_plan_status(plan, store)
            mode = plan.mode or (f"twin:{twin}" if twin else "azure")
            rows.append(
                {
                    "plan_id": plan.id,
                    "procedure": plan.procedure,
                    "target": plan.target,
                    "mode": mode,
                    "twin": twin or (mode.split(":", 1)[1] if mode.startswith("twin:") else None),
                    "done": sum(1 for r in records if r.state.value == "succeeded"),
                    "total": len(records),
                    "steps": [
                        {"step": r.step_id, "state": r.state.value, "message": r.message} for r in records
                    ],
                }
            )
        emit(rows, output, query, table=_status_text)
    except E.AksWindowsOpsError as err:
        raise fail(err) from err


def resume(
    plan_id: Annotated[str, typer.Argument(help="The plan id shown by status or by the run that stopped.")],
    checkpoint: Checkpoint = None,
    time_budget: TimeBudget = None,
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env", metavar="VARIABLE", help="A password rotation: the new password's variable."
        ),
    ] = None,
    key_vault_secret: Annotated[
        str | None,
        typer.Option("--key-vault-secret", metavar="URL", help="A password rotation: its Key Vault secret."),
    ] = None,
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Continue a stored plan where it stopped: finished steps are checked again, the rest run."""
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.cli.procedures import read_password
    from aks_windows_ops.cli.run import execute, resume_command
    from aks_windows_ops.runbooks.procedures import resume as resume_plan
    from aks_windows_ops.runbooks.registry import get_procedure

    try:
        budget = parse_duration(time_budget, default=DEFAULT_TIME_BUDGET)
        store = _store(checkpoint)
        plan = store.load_plan(plan_id)
        twin_target: str | None = None
        if plan is None and checkpoint is None:
            store, plan, twin_target = _rehearsal_plan(plan_id, store)
        factory: Any = AzureClients
        mode = (plan.mode or "") if plan is not None else ""
        if mode.startswith("twin:"):
            twin_target = mode.split(":", 1)[1]
        elif mode == "twin" and twin_target is None:
            raise E.InvalidInput(
                f"plan {plan_id} was rehearsed on a simulator that was not kept, so it cannot be resumed",
                remediation="Rehearse it again; a rehearsal is never sent to Azure.",
            )
        if twin_target is not None:
            twin = _open_twin(twin_target, with_kube=True)
            factory = functools.partial(AzureClients.for_simulator, twin.fake)
        if plan is None:
            raise E.NotFound(
                f"no stored plan {plan_id!r}", remediation="`aks-windows-ops status` lists the stored plans."
            )
        secret = None
        if get_procedure(plan.procedure).secret and (password_env or key_vault_secret):
            secret = read_password(
                password_env=password_env,
                password_fd=None,
                key_vault_secret=key_vault_secret,
                generate=False,
                prompt=False,
            )
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    execute(
        plan,
        lambda observe: resume_plan(
            plan.id, factory, checkpoints=store, secret=secret, time_budget=budget, on_event=observe
        ),
        output=OutputFormat(output),
        query=query,
        store=store,
        resume_cmd=resume_command(
            plan.id, checkpoint, f"--password-env {password_env}" if password_env else ""
        ),
        checkpoint=checkpoint,
    )


def _rehearsal_plan(plan_id: str, store: Any) -> tuple[Any, Any, str | None]:
    """Find ``plan_id`` among the twins' rehearsal checkpoints: ``(store, plan, twin target)``."""
    from aks_windows_ops.cli.rehearsals import rehearsal_stores

    for target, path in rehearsal_stores():
        twin_store = _store(str(path))
        plan = twin_store.load_plan(plan_id)
        if plan is not None:
            return twin_store, plan, target
    return store, None, None


def _open_twin(target: str, *, with_kube: bool) -> Any:
    from aks_windows_ops.cli.app import _open_twin as open_twin

    return open_twin(target, with_kube=with_kube)


def register(app: typer.Typer) -> None:
    """Add the plan commands to the CLI."""
    app.command()(status)
    app.command()(resume)
