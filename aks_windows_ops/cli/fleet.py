"""The ``audit`` command: a fleet-wide audit across subscriptions, within Azure Resource Manager's request limits."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.options import GLOBAL_PANEL, Query, Simulate, parse_duration
from aks_windows_ops.cli.runtime import fail

__all__ = ["register"]


class AuditOutput(str, enum.Enum):
    """Output formats of ``audit``: the common ones, and ``csv`` for spreadsheets."""

    json = "json"
    jsonc = "jsonc"
    yaml = "yaml"
    table = "table"
    tsv = "tsv"
    csv = "csv"
    none = "none"


def audit(
    subscription: Annotated[
        list[str] | None,
        typer.Option(
            "--subscription",
            metavar="SUBSCRIPTION",
            help="Subscription id (repeat the option; default: AZURE_SUBSCRIPTION_ID, else your az login's).",
        ),
    ] = None,
    resource_group: Annotated[
        str | None,
        typer.Option("--resource-group", "-g", help="Only clusters of this resource group."),
    ] = None,
    simulate: Simulate = None,
    output: Annotated[
        AuditOutput,
        typer.Option(
            "--output",
            "-o",
            help="Output format: json, jsonc, yaml, table, tsv, csv or none.",
            case_sensitive=False,
            rich_help_panel=GLOBAL_PANEL,
        ),
    ] = AuditOutput.table,
    query: Query = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Clusters read at once.")
    ] = 16,
    time_budget: Annotated[
        str | None,
        typer.Option(
            "--time-budget", metavar="DURATION", help="Stop starting clusters after this long (e.g. 5m)."
        ),
    ] = None,
) -> None:
    """Audit every cluster: versions, Windows pools, image age, Windows Server 2019, AHUB drift, findings.

    Reads only, within Azure Resource Manager's request limits. Exit code 0 clean, 1 warnings, 2 errors found
    or a cluster could not be read.
    """
    import io
    import json

    from aks_windows_ops.cli.app import default_subscription
    from aks_windows_ops.cli.options import OutputFormat
    from aks_windows_ops.cli.output import emit, out_console
    from aks_windows_ops.fleet import audit_command

    try:
        budget = parse_duration(time_budget)
        subs = list(subscription or [])
        if not subs and not simulate:
            subs = [default_subscription(None)]
        if output in (AuditOutput.table, AuditOutput.csv) and not query:
            code = audit_command(
                subscriptions=subs or None,
                resource_group=resource_group,
                simulate=simulate,
                output=output.value,
                concurrency=concurrency,
                time_budget=budget,
                console=out_console(),
            )
        else:
            buffer = io.StringIO()
            code = audit_command(
                subscriptions=subs or None,
                resource_group=resource_group,
                simulate=simulate,
                output="json",
                concurrency=concurrency,
                time_budget=budget,
                write=buffer.write,
            )
            fmt = OutputFormat.json if output is AuditOutput.csv else OutputFormat(output.value)
            emit(json.loads(buffer.getvalue()), fmt, query)
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the fleet commands to the CLI."""
    app.command()(audit)
