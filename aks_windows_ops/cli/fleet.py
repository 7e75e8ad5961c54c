"""The ``audit`` command: a fleet-wide audit across subscriptions (REFERENCE section 4 limits)."""

from __future__ import annotations

import typer

from aks_windows_ops.cli.app import SIM_OPT, fail, parse_duration

__all__ = ["register"]


def audit(
    subscription: list[str] = typer.Option(
        [], "--subscription", help="Subscription id (repeat the option; default: AZURE_SUBSCRIPTION_ID)."
    ),
    resource_group: str | None = typer.Option(
        None, "--resource-group", "-g", help="Only clusters of this resource group."
    ),
    simulate: str | None = SIM_OPT,
    output: str = typer.Option("table", "--output", "-o", help="table, json or csv."),
    concurrency: int = typer.Option(16, "--concurrency", help="Clusters read at once."),
    time_budget: str | None = typer.Option(
        None, "--time-budget", help="Stop starting clusters after this long (e.g. 5m)."
    ),
) -> None:
    """Audit every cluster: versions, Windows pools, image age, WS2019, AHUB drift, findings.

    Reads only, under ARM's request limits (REFERENCE section 4). Exit code 0 clean, 1 warnings, 2 errors found
    or a cluster could not be read.
    """
    from aks_windows_ops.fleet import audit_command

    try:
        code = audit_command(
            subscriptions=subscription or None,
            resource_group=resource_group,
            simulate=simulate,
            output=output,
            concurrency=concurrency,
            time_budget=parse_duration(time_budget),
        )
    except Exception as err:
        raise fail(err) from err
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the fleet commands to the CLI."""
    app.command()(audit)
