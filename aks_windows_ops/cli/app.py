"""The ``aks-windows-ops`` command: the root application and the cluster procedures.

Conventions (like ``az``): ``--resource-group/-g``, ``--name/-n``, ``--subscription``, ``--output/-o
json|jsonc|yaml|table|tsv|none``, ``--query JMESPATH``, ``--debug``, ``--verbose``, ``--only-show-errors``;
``--simulate SCENARIO`` rehearses on the simulator (a built-in scenario name or a scenario file) instead of
Azure. Procedures show their plan by default and change something only with ``--apply`` (confirmed on a
terminal, or with ``--yes``).

Exit codes: 0 success (or a clean preflight), 1 warnings, 2 errors found or the operation failed, 3 paused by
the time budget (run again to resume), 4 invalid input, 5 refused by a safety rail, 130 interrupted (Ctrl-C),
143 terminated (SIGTERM).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.options import (
    GLOBAL_PANEL,
    ClusterName,
    Output,
    OutputFormat,
    Query,
    ResourceGroup,
    Simulate,
    Subscription,
    parse_duration,
)
from aks_windows_ops.cli.output import SESSION, emit, out_console
from aks_windows_ops.cli.render import snapshot_dict, snapshot_table
from aks_windows_ops.cli.runtime import (
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_PAUSED,
    EXIT_UNSAFE,
    EXIT_WARN,
    AzGroup,
    fail,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    pass

__all__ = [
    "COMMAND_MODULES",
    "EXIT_ERROR",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_PAUSED",
    "EXIT_UNSAFE",
    "EXIT_WARN",
    "Target",
    "app",
    "cluster_kube",
    "default_checkpoint",
    "default_subscription",
    "emit_json",
    "fail",
    "main",
    "parse_duration",
    "read_password",
    "resolve_target",
]

app = typer.Typer(
    name="aks-windows-ops",
    cls=AzGroup,
    help="Safe, plan-first operations for AKS Windows Server node pools (the Windows node pools FAQ as code).",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from aks_windows_ops import __version__

        typer.echo(f"aks-windows-ops {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the full trace of an error (secrets masked); accepted anywhere.",
            rich_help_panel=GLOBAL_PANEL,
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            help="Print progress lines even when not on a terminal.",
            rich_help_panel=GLOBAL_PANEL,
        ),
    ] = False,
    only_show_errors: Annotated[
        bool,
        typer.Option(
            "--only-show-errors",
            help="Print errors only: no notes or warnings.",
            rich_help_panel=GLOBAL_PANEL,
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version and exit.",
            rich_help_panel=GLOBAL_PANEL,
        ),
    ] = False,
    simulate_reset: Annotated[
        bool,
        typer.Option(
            "--simulate-reset",
            help="Start the --simulate twin afresh from its scenario.",
            rich_help_panel=GLOBAL_PANEL,
        ),
    ] = False,
) -> None:
    from aks_windows_ops.cli.rehearsals import begin_invocation

    SESSION.debug = SESSION.debug or debug
    SESSION.verbose = SESSION.verbose or verbose
    SESSION.only_show_errors = SESSION.only_show_errors or only_show_errors
    begin_invocation(reset=simulate_reset)


@dataclass
class Target:
    """Where a command acts: the client bundle, the cluster, and the simulator when rehearsing."""

    clients: Any
    resource_group: str
    name: str
    fake: Any = None
    kube: Any = None


_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _az_profile() -> list[dict[str, Any]]:
    config = os.environ.get("AZURE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".azure")
    path = Path(config) / "azureProfile.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as err:
        raise E.InvalidInput(
            f"{path} cannot be read as the az profile ({type(err).__name__})",
            remediation="Run `az login` again, or pass --subscription.",
        ) from None
    subs = data.get("subscriptions") if isinstance(data, dict) else None
    return [s for s in subs or [] if isinstance(s, dict)]


def default_subscription(given: str | None) -> str:
    """Choose the subscription as ``az`` does.

    In order: ``--subscription`` (an id, or a name from the ``az login`` profile), ``AZURE_SUBSCRIPTION_ID``,
    else the default subscription of the ``az login`` profile (``$AZURE_CONFIG_DIR/azureProfile.json``,
    ``~/.azure`` by default).

    Raises:
        InvalidInput: none of them names a subscription.
    """
    if given:
        if _GUID.match(given):
            return given
        for sub in _az_profile():
            if str(sub.get("name", "")).lower() == given.lower() and sub.get("id"):
                return str(sub["id"])
        raise E.InvalidInput(
            f"--subscription {given!r} is neither a subscription id nor a subscription name of your az login",
            remediation="Pass the subscription id (`az account list -o table` shows them).",
        )
    env = os.environ.get("AZURE_SUBSCRIPTION_ID")
    if env:
        return env
    for sub in _az_profile():
        if sub.get("isDefault") and sub.get("id"):
            return str(sub["id"])
    raise E.InvalidInput(
        "no subscription: pass --subscription, set AZURE_SUBSCRIPTION_ID, or choose one with "
        "`az account set --subscription ID`",
        remediation="Choose the subscription of the cluster in one of those ways.",
    )


def check_simulate(simulate: str) -> None:
    """Refuse a ``--simulate`` value that is neither a built-in scenario name nor a readable file.

    Checked before anything is built, so the message names the option and lists what it accepts.

    Raises:
        InvalidInput: the value names no built-in scenario and no readable file.
    """
    from aks_windows_ops.rehearsal import builtin_scenarios

    builtin = builtin_scenarios()
    if simulate in builtin:
        return
    path = Path(simulate).expanduser()
    if path.is_file() and os.access(path, os.R_OK):
        return
    raise E.InvalidInput(
        f"--simulate {simulate[:200]}: neither a built-in scenario ({', '.join(builtin)}) nor a "
        "readable scenario file",
        remediation="Name a built-in scenario, or a scenario file (one written by `aks-windows-ops snapshot`).",
    )


def load_simulated(simulate: str, **kwargs: Any) -> Any:
    """Build the simulator for ``--simulate``; a bad value or an unreadable scenario names the option.

    Raises:
        InvalidInput: the value is no scenario, or the scenario file is not a valid scenario.
    """
    from aks_windows_ops.rehearsal import load_scenario

    check_simulate(simulate)
    try:
        return load_scenario(simulate, **kwargs)
    except E.InvalidInput as err:
        raise E.InvalidInput(
            [f"--simulate {simulate[:200]}: {problem}" for problem in err.problems],
            remediation="Correct the scenario file and run again.",
        ) from err
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise E.InvalidInput(
            f"--simulate {simulate[:200]}: not a valid scenario ({err})",
            remediation="Correct the scenario file and run again.",
        ) from err


def _open_twin(simulate: str, *, with_kube: bool = False) -> Any:
    """Open the evolving twin of ``simulate``; an invalid scenario names the option, like :func:`load_simulated`."""
    from aks_windows_ops.cli.rehearsals import open_rehearsal

    check_simulate(simulate)
    try:
        return open_rehearsal(simulate, with_kube=with_kube)
    except E.InvalidInput as err:
        raise E.InvalidInput(
            [f"--simulate {simulate[:200]}: {problem}" for problem in err.problems],
            remediation="Correct the scenario file and run again.",
        ) from err
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise E.InvalidInput(
            f"--simulate {simulate[:200]}: not a valid scenario ({err})",
            remediation="Correct the scenario file and run again.",
        ) from err


def resolve_target(
    *,
    resource_group: str | None,
    name: str | None,
    subscription: str | None,
    simulate: str | None,
    with_kube: bool = False,
    twin: bool = True,
) -> Target:
    """Build the clients for a real cluster, or for the first (or named) cluster of a simulator scenario.

    A simulated cluster is the target's evolving twin (``twin=False``: a fresh copy for this process only).
    With ``with_kube`` it also gets a Kubernetes API server whose nodes follow its pools.
    """
    from aks_windows_ops.azure.clients import AzureClients

    if simulate:
        check_simulate(simulate)
        kube = None
        if twin:
            opened = _open_twin(simulate, with_kube=with_kube)
            fake, kube = opened.fake, (opened.kube if with_kube else None)
        else:
            if with_kube:
                import atexit

                from aks_windows_ops.rehearsal import fake_kubernetes

                kube = fake_kubernetes(ready_delay=0.0).start()
                atexit.register(kube.stop)
            fake = load_simulated(simulate, kube=kube)
        for (sub, rg, cname), cluster in fake.clusters.items():
            if (resource_group is None or rg == resource_group.lower()) and (
                name is None or cname == name.lower()
            ):
                if subscription is None or subscription == sub:
                    return Target(
                        AzureClients.for_simulator(fake, sub),
                        cluster.resource_group,
                        cluster.name,
                        fake,
                        kube,
                    )
        raise E.InvalidInput(
            f"scenario {simulate!r} has no cluster matching --resource-group/--name",
            remediation="Leave out --resource-group and --name to use the scenario's first cluster.",
        )
    missing = [flag for flag, value in (("--resource-group", resource_group), ("--name", name)) if not value]
    if missing:
        raise E.InvalidInput(
            [f"{flag} is required (or rehearse with --simulate SCENARIO)" for flag in missing],
            remediation="Name the cluster with --resource-group and --name.",
        )
    sub = default_subscription(subscription)
    assert resource_group is not None and name is not None
    return Target(AzureClients(sub), resource_group, name)


def default_checkpoint(checkpoint: str | None, simulate: str | None) -> str | None:
    """A rehearsal keeps its checkpoints with its twin unless told otherwise, never with real runs."""
    if not simulate or checkpoint:
        return checkpoint
    from aks_windows_ops.cli.rehearsals import rehearsal_checkpoint

    return rehearsal_checkpoint(simulate)


def cluster_kube(target: Target) -> Any:
    """The cluster's Kubernetes API for plan-time checks: the simulator's, or the cluster's user kubeconfig.

    ``None`` when it cannot be reached; the plan then says which checks (disruption budgets, image builds) were
    not made.
    """
    if target.kube is not None:
        return target.kube.api_client()
    if target.fake is not None:
        return None
    from aks_windows_ops.azure.facts import get_user_kubeconfig
    from aks_windows_ops.kube.client import api_client_from_kubeconfig

    try:
        return api_client_from_kubeconfig(
            get_user_kubeconfig(target.clients, target.resource_group, target.name)
        )
    except E.AksWindowsOpsError:
        return None


@app.command()
def show(
    resource_group: ResourceGroup = None,
    name: ClusterName = None,
    subscription: Subscription = None,
    simulate: Simulate = None,
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Show a cluster's pools, versions, node images and Windows license state (reads only)."""
    from aks_windows_ops.azure.facts import read_snapshot

    try:
        target = resolve_target(
            resource_group=resource_group, name=name, subscription=subscription, simulate=simulate
        )
        snap = read_snapshot(target.clients, target.resource_group, target.name)
        twin = _twin_summary(simulate)
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    document = {**snapshot_dict(snap), **({"twin": twin} if twin else {})}
    emit(document, output, query, table=lambda _: _show_table(snap, twin))


def _show_table(snap: Any, twin: dict[str, Any] | None) -> Any:
    from rich.console import Group
    from rich.text import Text

    table = snapshot_table(snap, out_console().width)
    if not twin:
        return table
    from aks_windows_ops.cli.rehearsals import twin_lines

    return Group(table, *(Text(line) for line in twin_lines(twin)))


def _twin_summary(simulate: str | None) -> dict[str, Any] | None:
    if not simulate:
        return None
    from aks_windows_ops.cli.rehearsals import twin_summary

    return twin_summary(_open_twin(simulate))


#: Modules that add commands to :data:`app` through a ``register(app)`` function (one module per area).
COMMAND_MODULES: tuple[str, ...] = (
    "aks_windows_ops.cli.procedures",
    "aks_windows_ops.cli.fleet",
    "aks_windows_ops.cli.checks",
    "aks_windows_ops.cli.pools",
    "aks_windows_ops.cli.workloads",
    "aks_windows_ops.cli.plans",
    "aks_windows_ops.cli.leases",
    "aks_windows_ops.cli.twin",
    "aks_windows_ops.cli.rehearsals",
)


def _register_commands() -> None:
    import importlib

    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue
        register = getattr(module, "register", None)
        if callable(register):  # a module still importing (it imported this one first) registers nothing
            register(app)


def main() -> None:
    """Entry point of the ``aks-windows-ops`` console script."""
    app()


_register_commands()

if __name__ == "__main__":  # pragma: no cover
    main()


# Older names of the shared options and helpers, kept so that commands written against them still work; new
# code uses the ``Annotated`` aliases of ``aks_windows_ops.cli.options`` and ``aks_windows_ops.cli.output``.
RG_OPT = typer.Option(
    None, "--resource-group", "-g", metavar="RESOURCE_GROUP", help="Resource group of the cluster."
)
NAME_OPT = typer.Option(None, "--name", "-n", metavar="CLUSTER", help="Name of the cluster.")
SUB_OPT = typer.Option(None, "--subscription", metavar="SUBSCRIPTION", help="Subscription id or name.")
SIM_OPT = typer.Option(
    None, "--simulate", metavar="SCENARIO", help="Rehearse on a built-in scenario or file."
)
OUT_OPT = typer.Option(
    "table", "--output", "-o", help="Output format: json, jsonc, yaml, table, tsv or none."
)
APPLY_OPT = typer.Option(False, "--apply", help="Apply the plan (default: show it only).")
PLAN_OPT = typer.Option(False, "--plan", help="Show the plan only (the default).")
YES_OPT = typer.Option(False, "--yes", "-y", help="Apply without asking for confirmation.")
CHECKPOINT_OPT = typer.Option(None, "--checkpoint", metavar="FILE|URL", help="Where progress is recorded.")
BUDGET_OPT = typer.Option(None, "--time-budget", metavar="DURATION", help="Stop cleanly after this long.")


def emit_json(data: Any) -> None:
    """Print a JSON document on standard output (same as ``emit(data, "json")``)."""
    emit(data, OutputFormat.json)


def _console() -> Any:
    return out_console()


def read_password(**kwargs: Any) -> Any:
    """Get the new Windows admin password (see ``aks_windows_ops.cli.procedures.read_password``)."""
    from aks_windows_ops.cli.procedures import read_password as read

    return read(**kwargs)


def _default_subscription() -> str:
    return default_subscription(None)


_patch_kube = cluster_kube
_kube_client = cluster_kube
