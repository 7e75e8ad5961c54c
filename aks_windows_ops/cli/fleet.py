"""The ``audit`` command: a fleet-wide audit across subscriptions, within Azure Resource Manager's request limits."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.options import GLOBAL_PANEL, Query, Simulate, parse_duration
from aks_windows_ops.cli.runtime import fail

__all__ = ["register"]


class Source(str, enum.Enum):
    """Where the audit reads scale sets and instances."""

    graph = "graph"
    arm = "arm"


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
    source: Annotated[
        Source,
        typer.Option(
            "--source",
            help="graph: Azure Resource Graph for scale sets and instances (falls back to arm when refused); "
            "arm: every fact from Azure Resource Manager.",
            case_sensitive=False,
        ),
    ] = Source.graph,
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

    from aks_windows_ops.cli.options import OutputFormat
    from aks_windows_ops.cli.output import emit, out_console
    from aks_windows_ops.fleet import audit_command

    try:
        budget = parse_duration(time_budget)
        clients, subs = _fleet_clients(list(subscription or []), simulate)
        console = out_console()
        narrow = output is AuditOutput.table and not query and (console.width or 200) < 140
        common: dict[str, Any] = {
            "subscriptions": subs,
            "resource_group": resource_group,
            "concurrency": concurrency,
            "time_budget": budget,
            "source": source.value,
        }
        if output in (AuditOutput.table, AuditOutput.csv) and not query and not narrow:
            code = audit_command(clients, output=output.value, console=console, **common)
        elif output is AuditOutput.json and not query:
            # Written row by row as clusters complete: a large fleet's report is never held whole.
            code = audit_command(clients, output="json", **common)
        else:
            buffer = io.StringIO()
            code = audit_command(clients, output="json", write=buffer.write, **common)
            fmt = OutputFormat.json if output is AuditOutput.csv else OutputFormat(output.value)
            emit(json.loads(buffer.getvalue()), fmt, query, table=narrow_audit_table)
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    raise typer.Exit(code)


def _fleet_clients(subscriptions: list[str], simulate: str | None) -> tuple[Any, list[str]]:
    """The bundle and subscriptions to audit: Azure's, or every subscription of a simulator scenario."""
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.cli.app import default_subscription

    subs = list(subscriptions)
    if simulate:
        from aks_windows_ops.cli.app import load_simulated
        from aks_windows_ops.rehearsal import scenario_subscriptions

        fake = load_simulated(simulate)
        subs = subs or list(scenario_subscriptions(fake))
        if not subs:
            raise E.InvalidInput(f"--simulate {simulate}: the scenario has no subscription")
        return AzureClients.for_simulator(fake, subs[0]), subs
    subs = subs or [default_subscription(None)]
    return AzureClients(subs[0]), subs


def narrow_audit_table(document: dict[str, Any]) -> Any:
    """The audit for a narrow terminal: one row per cluster with what to act on (``-o json`` has every field)."""
    from rich.table import Table

    summary = document.get("summary") or {}
    table = Table(
        title=f"Fleet audit: {summary.get('clusters', 0)} cluster(s), {summary.get('failed', 0)} failed, "
        f"{summary.get('errors', 0)} error(s), {summary.get('warnings', 0)} warning(s)",
        title_justify="left",
    )
    table.add_column("cluster", overflow="fold")
    table.add_column("k8s", no_wrap=True)
    table.add_column("Windows", no_wrap=True)
    table.add_column("WS2019", overflow="fold")
    table.add_column("AHUB", no_wrap=True)
    table.add_column("E/W/I", no_wrap=True)
    for row in document.get("rows") or []:
        if row.get("error"):
            table.add_row(
                f"{row.get('resource_group')}/{row.get('cluster')}", "-", "-", str(row["error"]), "-", "-"
            )
            continue
        findings = row.get("findings") or {}
        pools = row.get("ws2019_pools") or []
        ahub = "on" if row.get("license_type") == "Windows_Server" else "off"
        if row.get("ahub_drift"):
            ahub += f", {row['ahub_drift']} drift"
        table.add_row(
            f"{row.get('resource_group')}/{row.get('cluster')}",
            str(row.get("kubernetes_version") or "-"),
            str(len(row.get("windows_pools") or [])),
            str(row.get("ws2019_exposure") or "-") + (f": {' '.join(pools)}" if pools else ""),
            ahub,
            f"{findings.get('errors', 0)}/{findings.get('warnings', 0)}/{findings.get('infos', 0)}",
        )
    return table


def register(app: typer.Typer) -> None:
    """Add the fleet commands to the CLI."""
    app.command()(audit)
