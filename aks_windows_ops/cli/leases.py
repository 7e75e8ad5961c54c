"""The ``lease`` commands: see who holds a cluster's or a plan's lease, and break a stale one.

An apply holds a lease on its cluster and on its plan while it runs, so that a second apply stops before any
write (FAQ procedures change a cluster one write at a time; two runs at once could each send the same write).
A lease whose holder died expires on its own two minutes after its last renewal; ``lease break`` removes it at
once, after confirmation, when the operator knows the holder is gone.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.options import (
    Checkpoint,
    ClusterName,
    Output,
    OutputFormat,
    Query,
    ResourceGroup,
    Subscription,
    Yes,
)
from aks_windows_ops.cli.output import emit, err_console, note
from aks_windows_ops.cli.runtime import EXIT_OK, fail

__all__ = ["break_command", "lease_name", "register"]

lease_app = typer.Typer(
    name="lease",
    help="The leases that keep two applies off one cluster or plan: show or break them.",
    no_args_is_help=True,
)

PlanId = Annotated[
    str | None,
    typer.Option(
        "--plan", metavar="PLAN_ID", help="The plan whose lease to act on (status lists the plans)."
    ),
]


def lease_name(
    *, plan: str | None, resource_group: str | None, name: str | None, subscription: str | None
) -> str:
    """The lease a plan or a cluster is guarded by (``plan:<id>`` or ``cluster:<subscription>/<group>/<name>``).

    Raises:
        InvalidInput: neither or both of a plan and a cluster are named, or the cluster is named by half.
    """
    from aks_windows_ops.cli.app import default_subscription

    cluster = resource_group is not None or name is not None
    if plan is not None and cluster:
        raise E.InvalidInput(
            "name either --plan or the cluster (--resource-group and --name), not both",
            remediation="Run once per lease: `aks-windows-ops lease show` lists them.",
        )
    if plan is not None:
        if not plan.strip():
            raise E.InvalidInput("--plan is empty", remediation="Give the plan id that `status` shows.")
        return f"plan:{plan.strip()}"
    missing = [flag for flag, value in (("--resource-group", resource_group), ("--name", name)) if not value]
    if missing:
        raise E.InvalidInput(
            [f"{flag} is required (or name the plan with --plan)" for flag in missing],
            remediation="Name the cluster with --resource-group and --name, or the plan with --plan.",
        )
    sub = default_subscription(subscription)
    return f"cluster:{sub}/{resource_group}/{name}".lower()


def _lease_store(checkpoint: str | None) -> Any:
    from aks_windows_ops.cli.run import open_checkpoints
    from aks_windows_ops.runbooks.leases import LeaseStore

    store = open_checkpoints(checkpoint)
    if not isinstance(store, LeaseStore):
        raise fail(
            E.InvalidInput(
                "--checkpoint names a store that keeps no leases",
                remediation="Use the same --checkpoint as the run that holds the lease.",
            )
        )
    return store


def _read_lease(
    *,
    plan: str | None,
    resource_group: str | None,
    name: str | None,
    subscription: str | None,
    checkpoint: str | None,
) -> tuple[str, Any, Any]:
    """The lease's name, its store and its current holder (``None`` when free); user mistakes become exits."""
    try:
        lease = lease_name(plan=plan, resource_group=resource_group, name=name, subscription=subscription)
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    store = _lease_store(checkpoint)
    try:
        return lease, store, store.lease_holder(lease)
    except E.AksWindowsOpsError as err:
        raise fail(err) from err


def show_command(
    plan: PlanId = None,
    resource_group: ResourceGroup = None,
    name: ClusterName = None,
    subscription: Subscription = None,
    checkpoint: Checkpoint = None,
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Show who holds a plan's or a cluster's lease: holder, host, start time and expiry (reads only)."""
    lease, _store, current = _read_lease(
        plan=plan, resource_group=resource_group, name=name, subscription=subscription, checkpoint=checkpoint
    )
    emit(_document(lease, current), output, query, table=_text)


def break_command(
    plan: PlanId = None,
    resource_group: ResourceGroup = None,
    name: ClusterName = None,
    subscription: Subscription = None,
    checkpoint: Checkpoint = None,
    yes: Yes = False,
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Break a stale lease (its holder died) so that a new apply can run; asks first unless --yes.

    Break a lease only when the holder's host or process is surely gone: a live holder would go on writing.
    """
    lease, store, current = _read_lease(
        plan=plan, resource_group=resource_group, name=name, subscription=subscription, checkpoint=checkpoint
    )
    if current is None:
        note(f"The lease {lease} is free (or has expired): nothing to break.")
        emit(_document(lease, None, broken=False), output, query, table=_text)
        raise typer.Exit(EXIT_OK)
    if not yes:
        if not _on_terminal():
            raise fail(
                E.InvalidInput(
                    "lease break removes another run's lease: add --yes to confirm",
                    remediation="Check that the holder's host or process is gone, then run again with --yes.",
                )
            )
        err_console().print(_text(_document(lease, current)), markup=False, end="")
        if not typer.confirm("Break this lease? Only if its holder is surely gone.", default=False, err=True):
            err_console().print("Cancelled: the lease is kept.")
            raise typer.Exit(EXIT_OK)
    try:
        store.break_lease(lease)
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    emit(_document(lease, current, broken=True), output, query, table=_text)


def _on_terminal() -> bool:
    return sys.stdin.isatty()


def _document(lease: str, current: dict[str, Any] | None, *, broken: bool | None = None) -> dict[str, Any]:
    from datetime import datetime, timezone

    document: dict[str, Any] = {"lease": lease, "held": current is not None and not broken}
    if current is not None:
        expires = current.get("expires")
        document.update(
            holder=current.get("holder"),
            host=current.get("host"),
            started_at=current.get("started_at"),
            expires_at=(
                datetime.fromtimestamp(expires, timezone.utc).replace(microsecond=0).isoformat()
                if isinstance(expires, (int, float))
                else None
            ),
        )
    if broken is not None:
        document["broken"] = broken
    return document


def _text(document: dict[str, Any]) -> str:
    lease = document["lease"]
    if document.get("broken"):
        return f"Broke the lease {lease} (held by {document['holder']} on host {document['host']}).\n"
    if not document.get("held"):
        return f"The lease {lease} is free.\n"
    expires = f", expires {document['expires_at']} unless renewed" if document.get("expires_at") else ""
    return (
        f"The lease {lease} is held by {document['holder']} on host {document['host']}, "
        f"started {document['started_at']}{expires}.\n"
    )


def remediation_for(err: E.LeaseHeld) -> str:
    """What to do about a lease held by another run, with the command that breaks it when it is stale."""
    if err.lease.startswith("plan:"):
        command = f"aks-windows-ops lease break --plan {err.lease.removeprefix('plan:')}"
    else:
        sub, _, rest = err.lease.removeprefix("cluster:").partition("/")
        group, _, cluster = rest.partition("/")
        command = f"aks-windows-ops lease break -g {group} -n {cluster} --subscription {sub}"
    return (
        "Wait for the other run to finish: a lease whose holder died expires two minutes after its last "
        f"renewal. If its host or process is surely gone, break it now with `{command}` (add the same "
        "--checkpoint as the runs), then run again."
    )


def register(app: typer.Typer) -> None:
    """Add the lease commands to the CLI."""
    lease_app.command("show")(show_command)
    lease_app.command("break")(break_command)
    app.add_typer(lease_app, name="lease")
