"""The ``aks-windows-ops`` command.

Conventions (like ``az``): ``--resource-group/-g``, ``--name/-n``, ``--subscription``; ``--output table|json``;
``--simulate SCENARIO`` rehearses on the simulator (a built-in scenario name or a scenario file) instead of Azure.
Procedures show their plan by default and change something only with ``--apply --yes``.

Exit codes: 0 success (or a clean preflight), 1 warnings, 2 errors found or the operation failed, 3 paused by
the time budget (run again to resume), 4 invalid input, 5 refused by a safety rail.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import typer

from aks_windows_ops import errors as E

__all__ = ["app", "main"]

app = typer.Typer(
    name="aks-windows-ops",
    help="Safe, plan-first operations for AKS Windows Server node pools (the Windows node pools FAQ as code).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_WARN, EXIT_ERROR, EXIT_PAUSED, EXIT_INVALID, EXIT_UNSAFE = 0, 1, 2, 3, 4, 5

_STATE: dict[str, bool] = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors.")) -> None:
    _STATE["debug"] = debug


@dataclass
class Target:
    """Where a command acts: the client bundle, the cluster, and the simulator when rehearsing."""

    clients: Any
    resource_group: str
    name: str
    fake: Any = None


def _console() -> Any:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        # Piped output (CI logs, notebooks) gets a wide fixed width instead of 80 columns.
        console = Console(width=180)
    return console


def resolve_target(
    *,
    resource_group: str | None,
    name: str | None,
    subscription: str | None,
    simulate: str | None,
) -> Target:
    """Build the clients for a real cluster, or for the first (or named) cluster of a simulator scenario."""
    from aks_windows_ops.azure.clients import AzureClients

    if simulate:
        from aks_windows_ops.testing.scenario import load_scenario

        fake = load_scenario(simulate)
        for (sub, rg, cname), cluster in fake.clusters.items():
            if (resource_group is None or rg == resource_group.lower()) and (
                name is None or cname == name.lower()
            ):
                if subscription is None or subscription == sub:
                    return Target(
                        AzureClients.for_simulator(fake, sub), cluster.resource_group, cluster.name, fake
                    )
        raise E.InvalidInput(f"scenario {simulate!r} has no cluster matching --resource-group/--name")
    missing = [flag for flag, value in (("--resource-group", resource_group), ("--name", name)) if not value]
    if missing:
        raise E.InvalidInput([f"{flag} is required (or use --simulate SCENARIO)" for flag in missing])
    sub = subscription or _default_subscription()
    assert resource_group is not None and name is not None
    return Target(AzureClients(sub), resource_group, name)


def _default_subscription() -> str:
    import os

    sub = os.environ.get("AZURE_SUBSCRIPTION_ID")
    if not sub:
        raise E.InvalidInput("--subscription is required (or set AZURE_SUBSCRIPTION_ID)")
    return sub


def fail(err: BaseException) -> typer.Exit:
    """Print one clear line plus the remediation and return the matching exit code."""
    console = _console()
    if _STATE["debug"]:
        console.print_exception()
    if isinstance(err, E.AksWindowsOpsError):
        console.print(f"[bold red]error[/]: {err}")
        if err.remediation:
            console.print(f"[yellow]what to do[/]: {err.remediation}")
        if isinstance(err, E.InvalidInput):
            return typer.Exit(EXIT_INVALID)
        if isinstance(err, E.UnsafeOperation):
            return typer.Exit(EXIT_UNSAFE)
        if isinstance(err, E.BudgetExhausted):
            return typer.Exit(EXIT_PAUSED)
        return typer.Exit(EXIT_ERROR)
    console.print(f"[bold red]error[/]: {type(err).__name__}: {err}")
    return typer.Exit(EXIT_ERROR)


def emit_json(data: Any) -> None:
    """Print machine-readable output."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def snapshot_table(snapshot: Any) -> Any:
    """Render a cluster snapshot as a rich table of its pools."""
    from rich.table import Table

    table = Table(
        title=f"{snapshot.ref} - Kubernetes {snapshot.current_kubernetes_version} ({snapshot.location})"
    )
    for column in (
        "pool",
        "mode",
        "OS",
        "version",
        "nodes",
        "max pods",
        "node image",
        "latest image",
        "license",
        "state",
    ):
        table.add_column(column)
    for pool in snapshot.pools:
        vmss = snapshot.scale_set_for(pool.name)
        license_text = "-"
        if pool.is_windows:
            license_text = (vmss.license_type if vmss else None) or "None"
        image = pool.node_image_version or "-"
        latest = pool.latest_node_image_version or "-"
        table.add_row(
            pool.name,
            pool.mode.value,
            pool.os_sku or pool.os_type.value,
            pool.current_orchestrator_version or "-",
            str(pool.count),
            str(pool.max_pods or "-"),
            image,
            "current" if latest == image else latest,
            license_text,
            pool.provisioning_state or "-",
        )
    return table


def snapshot_dict(snapshot: Any) -> dict[str, Any]:
    """A JSON-ready view of a snapshot."""
    import dataclasses

    data = dataclasses.asdict(snapshot)
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


@app.command()
def show(
    resource_group: str | None = typer.Option(
        None, "--resource-group", "-g", help="Resource group of the cluster."
    ),
    name: str | None = typer.Option(None, "--name", "-n", help="Cluster name."),
    subscription: str | None = typer.Option(None, "--subscription", help="Subscription id."),
    simulate: str | None = typer.Option(None, "--simulate", help="Built-in scenario name or scenario file."),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
) -> None:
    """Show a cluster's pools, versions, node images and Windows license state (REFERENCE section 3: fewest reads)."""
    from aks_windows_ops.azure.facts import read_snapshot

    try:
        target = resolve_target(
            resource_group=resource_group, name=name, subscription=subscription, simulate=simulate
        )
        snap = read_snapshot(target.clients, target.resource_group, target.name)
    except Exception as err:
        raise fail(err) from err
    if output == "json":
        emit_json(snapshot_dict(snap))
    else:
        _console().print(snapshot_table(snap))


@app.command()
def demo(
    scenario: str | None = typer.Option(None, "--scenario", help="Run one built-in scenario only."),
) -> None:
    """Rehearse on the built-in simulator scenarios: no Azure account needed (DESIGN "The simulator")."""
    from aks_windows_ops.azure.facts import read_snapshot
    from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS, load_scenario, read_scenario

    console = _console()
    names = [scenario] if scenario else list(BUILTIN_SCENARIOS)
    for scenario_name in names:
        data = read_scenario(scenario_name)
        fake = load_scenario(data)
        console.rule(f"[bold]{scenario_name}[/]: {data.get('description', '')}")
        from aks_windows_ops.azure.clients import AzureClients

        for (sub, _rg, _name), cluster in list(fake.clusters.items()):
            clients = AzureClients.for_simulator(fake, sub)
            snap = read_snapshot(clients, cluster.resource_group, cluster.name)
            console.print(snapshot_table(snap))
            for step in _demo_steps():
                step(console, clients, snap, fake)
        console.print(
            f"[dim]{len(fake.journal)} requests to the simulated ARM, {fake.clock.now() / 60:.0f} simulated minutes[/]"
        )


def _demo_steps() -> list[Any]:
    """Procedures the demo rehearses on each scenario cluster (extended as procedures land)."""
    steps: list[Any] = []
    try:
        from aks_windows_ops import demo as demo_module

        steps.extend(demo_module.STEPS)
    except ImportError:
        pass
    return steps


def main() -> None:
    """Entry point of the ``aks-windows-ops`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
