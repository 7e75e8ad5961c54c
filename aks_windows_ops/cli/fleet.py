"""The ``audit`` command: a fleet-wide audit across subscriptions, within Azure's request limits."""

from __future__ import annotations

from typing import Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.app import SIM_OPT, _default_subscription, fail, parse_duration

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
    source: str = typer.Option(
        "graph",
        "--source",
        help="graph: Azure Resource Graph for scale sets and instances (falls back to arm when refused); "
        "arm: every fact from Azure Resource Manager.",
    ),
) -> None:
    """Audit every cluster: versions, Windows pools, image age, WS2019, AHUB drift, findings.

    Reads only, under Azure Resource Manager's request limits. Exit code 0 clean, 1 warnings, 2 errors found
    or a cluster could not be read.
    """
    from aks_windows_ops.fleet import audit_command

    try:
        clients, subs = _fleet_clients(subscription, simulate)
        code = audit_command(
            clients,
            subscriptions=subs,
            resource_group=resource_group,
            output=output,
            concurrency=concurrency,
            time_budget=parse_duration(time_budget),
            source=source,
        )
    except Exception as err:
        raise fail(err) from err
    raise typer.Exit(code)


def _fleet_clients(subscriptions: list[str], simulate: str | None) -> tuple[Any, list[str]]:
    """The bundle and subscriptions to audit: Azure's, or every subscription of a simulator scenario."""
    from aks_windows_ops.azure.clients import AzureClients

    subs = list(subscriptions)
    if simulate:
        from aks_windows_ops.testing.scenario import load_scenario

        fake = load_scenario(simulate)
        seen = dict.fromkeys([s for s, _rg in fake.resource_groups] + [s for s, _rg, _n in fake.clusters])
        subs = subs or list(seen)
        if not subs:
            raise E.InvalidInput(f"scenario {simulate!r} has no subscription")
        return AzureClients.for_simulator(fake, subs[0]), subs
    subs = subs or [_default_subscription()]
    return AzureClients(subs[0]), subs


def register(app: typer.Typer) -> None:
    """Add the fleet commands to the CLI."""
    app.command()(audit)
