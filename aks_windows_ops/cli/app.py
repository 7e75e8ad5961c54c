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
    kube: Any = None


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
    with_kube: bool = False,
) -> Target:
    """Build the clients for a real cluster, or for the first (or named) cluster of a simulator scenario.

    With ``with_kube`` a simulated cluster also gets a Kubernetes API server whose nodes follow its pools.
    """
    from aks_windows_ops.azure.clients import AzureClients

    if simulate:
        from aks_windows_ops.testing.scenario import load_scenario

        kube = None
        if with_kube:
            import atexit

            from aks_windows_ops.testing.fake_kube import FakeKubernetes

            kube = FakeKubernetes(ready_delay=0.0).start()
            atexit.register(kube.stop)
        fake = load_scenario(simulate, kube=kube)
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
        from rich.traceback import Traceback

        console.print(Traceback.from_exception(type(err), err, err.__traceback__))
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


def parse_duration(text: str | None) -> float | None:
    """Parse ``90s``, ``5m``, ``2h`` or plain seconds."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    raw = text.strip().lower()
    try:
        if raw and raw[-1] in units:
            return float(raw[:-1]) * units[raw[-1]]
        return float(raw)
    except ValueError as err:
        raise E.InvalidInput(f"--time-budget must look like 90s, 5m or 2h, got {text!r}") from err


def default_checkpoint(checkpoint: str | None, simulate: str | None) -> str | None:
    """A rehearsal keeps its checkpoints in memory unless told otherwise: its simulator lives in this process."""
    return checkpoint if not simulate else (checkpoint or "memory:")


def run_procedure(
    plan: Any,
    apply_plan: Any,
    *,
    do_apply: bool,
    yes: bool,
    output: str,
    checkpoint: str | None,
    time_budget: str | None,
) -> None:
    """Show a plan, and apply it only with ``--apply --yes`` (DESIGN principle 1); exit with the documented code."""
    from aks_windows_ops.runbooks.events import RichProgress

    console = _console()
    budget = parse_duration(time_budget)
    if output == "json" and not do_apply:
        emit_json(plan.to_dict())
    elif not do_apply:
        console.print(plan.to_text(), markup=False, highlight=False)
    if not do_apply:
        if plan.steps:
            console.print(
                "[dim]This was the plan only. Run again with --apply --yes to change the cluster.[/]"
            )
        raise typer.Exit(EXIT_OK)
    if not yes:
        raise fail(
            E.InvalidInput(
                "--apply changes the cluster: add --yes to confirm (or drop --apply to see the plan)"
            )
        )
    if output != "json":
        console.print(plan.to_text(), markup=False, highlight=False)
    progress = RichProgress(console) if output != "json" else None
    try:
        result = apply_plan(plan, checkpoints=checkpoint, time_budget=budget, on_event=progress)
    finally:
        close = getattr(progress, "close", None)
        if callable(close):
            close()
    if output == "json":
        emit_json(result.to_dict())
    else:
        console.print(f"[bold]{result.status.value}[/]: {result.message}")
    if result.status.value == "paused":
        raise typer.Exit(EXIT_PAUSED)
    if result.error is not None:
        raise fail(result.error)


def _patch_kube(target: Target) -> Any:
    """The Kubernetes API for the PodDisruptionBudget check: the simulator's, or the cluster's user kubeconfig."""
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
        return None  # the plan then says the budgets were not checked


def _target_options(
    resource_group: str | None, name: str | None, subscription: str | None, simulate: str | None
) -> Target:
    return resolve_target(
        resource_group=resource_group, name=name, subscription=subscription, simulate=simulate
    )


RG_OPT = typer.Option(None, "--resource-group", "-g", help="Resource group of the cluster.")
NAME_OPT = typer.Option(None, "--name", "-n", help="Cluster name.")
SUB_OPT = typer.Option(None, "--subscription", help="Subscription id (default: AZURE_SUBSCRIPTION_ID).")
SIM_OPT = typer.Option(None, "--simulate", help="Rehearse on a built-in scenario name or scenario file.")
OUT_OPT = typer.Option("table", "--output", "-o", help="table or json.")
APPLY_OPT = typer.Option(False, "--apply", help="Apply the plan (default: show it only).")
PLAN_OPT = typer.Option(False, "--plan", help="Show the plan only (the default).")
YES_OPT = typer.Option(False, "--yes", "-y", help="Confirm --apply.")
CHECKPOINT_OPT = typer.Option(
    None, "--checkpoint", help="Checkpoint file or URL (default ~/.aks-windows-ops/checkpoints.json)."
)
BUDGET_OPT = typer.Option(
    None, "--time-budget", help="Stop cleanly after this long (e.g. 5m); run again to resume."
)


@app.command()
def patch(
    resource_group: str | None = RG_OPT,
    name: str | None = NAME_OPT,
    subscription: str | None = SUB_OPT,
    simulate: str | None = SIM_OPT,
    kubernetes_version: str | None = typer.Option(
        None, "--kubernetes-version", "-k", help="Target Kubernetes version."
    ),
    node_image_only: bool = typer.Option(False, "--node-image-only", help="Patch the node images only."),
    windows_only: bool = typer.Option(False, "--windows-only", help="Only the Windows pools."),
    pools: list[str] = typer.Option([], "--pool", help="Only these pools (repeat the option)."),
    hops: bool = typer.Option(
        False, "--hops", help="Plan intermediate minor versions instead of refusing a skip."
    ),
    max_surge: str | None = typer.Option(None, "--max-surge", help="Surge per pool, e.g. 1 or 33%."),
    plan_only: bool = PLAN_OPT,
    do_apply: bool = APPLY_OPT,
    yes: bool = YES_OPT,
    checkpoint: str | None = CHECKPOINT_OPT,
    time_budget: str | None = BUDGET_OPT,
    output: str = OUT_OPT,
) -> None:
    """Patch in the FAQ's order: control plane first, then the pools (FAQ "How do I patch my Windows nodes?")."""
    from aks_windows_ops.runbooks.patch import apply_patch, plan_patch

    try:
        target = _target_options(resource_group, name, subscription, simulate)
        selection: Any = list(pools) if pools else ("windows" if windows_only else "all")
        plan, context = plan_patch(
            target.clients,
            target.resource_group,
            target.name,
            kubernetes_version=kubernetes_version,
            node_image_only=node_image_only,
            pools=selection,
            max_surge=max_surge,
            allow_hops=hops,
            kube=_patch_kube(target),
        )
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    run_procedure(
        plan,
        lambda p, **kw: apply_patch(p, context, **kw),
        do_apply=do_apply and not plan_only,
        yes=yes,
        output=output,
        checkpoint=default_checkpoint(checkpoint, simulate),
        time_budget=time_budget,
    )


def read_password(
    *,
    password_env: str | None,
    password_fd: int | None,
    key_vault_secret: str | None,
    generate: bool,
    prompt: bool,
) -> Any:
    """Get the new password as a Secret, never from a plain argument (issue: rotate-password sources)."""
    import os

    from aks_windows_ops.secrets import Secret, generate_password

    chosen = [bool(password_env), password_fd is not None, bool(key_vault_secret) and not generate, generate]
    if sum(chosen) > 1:
        raise E.InvalidInput(
            "choose one password source: --password-env, --password-fd, --key-vault-secret or --generate"
        )
    if password_env:
        return Secret.from_env(password_env)
    if password_fd is not None:
        with os.fdopen(password_fd, "r", closefd=False) as stream:
            value = stream.readline().rstrip("\r\n")
        if not value:
            raise E.InvalidInput(f"file descriptor {password_fd} gave an empty password")
        return Secret(value, source=f"fd:{password_fd}")
    if generate:
        secret = generate_password()
        if key_vault_secret:
            from aks_windows_ops.azure.keyvault import set_secret

            vault, name = _split_vault_ref(key_vault_secret)
            set_secret(vault, name, secret.reveal())
        return secret
    if key_vault_secret:
        from aks_windows_ops.azure.keyvault import secret_from_key_vault

        vault, name = _split_vault_ref(key_vault_secret)
        return secret_from_key_vault(vault, name)
    if not prompt:
        raise E.InvalidInput(
            "no password source: use --password-env, --password-fd, --key-vault-secret or --generate"
        )
    value = typer.prompt("New Windows admin password", hide_input=True, confirmation_prompt=True)
    return Secret(str(value), source="prompt")


def _split_vault_ref(ref: str) -> tuple[str, str]:
    # https://<vault>.vault.azure.net/secrets/<name>
    if "/secrets/" not in ref:
        raise E.InvalidInput(
            "--key-vault-secret must look like https://<vault>.vault.azure.net/secrets/<name>"
        )
    vault, name = ref.split("/secrets/", 1)
    return vault, name.strip("/").split("/")[0]


@app.command("rotate-password")
def rotate_password(
    resource_group: str | None = RG_OPT,
    name: str | None = NAME_OPT,
    subscription: str | None = SUB_OPT,
    simulate: str | None = SIM_OPT,
    password_env: str | None = typer.Option(
        None, "--password-env", help="Read the password from this environment variable."
    ),
    password_fd: int | None = typer.Option(
        None, "--password-fd", help="Read the password from this file descriptor (first line)."
    ),
    key_vault_secret: str | None = typer.Option(
        None, "--key-vault-secret", help="https://<vault>.vault.azure.net/secrets/<name>"
    ),
    generate: bool = typer.Option(
        False, "--generate", help="Generate a compliant password (stored in --key-vault-secret)."
    ),
    plan_only: bool = PLAN_OPT,
    do_apply: bool = APPLY_OPT,
    yes: bool = YES_OPT,
    checkpoint: str | None = CHECKPOINT_OPT,
    time_budget: str | None = BUDGET_OPT,
    output: str = OUT_OPT,
) -> None:
    """Rotate the Windows admin password; restarts the Windows pools (FAQ password question, REFERENCE section 2)."""
    from aks_windows_ops.runbooks.password import apply_password_rotation, plan_password_rotation

    try:
        if generate and not key_vault_secret:
            raise E.InvalidInput(
                "--generate needs --key-vault-secret: a generated password must be stored before it is applied"
            )
        secret = read_password(
            password_env=password_env,
            password_fd=password_fd,
            key_vault_secret=key_vault_secret,
            generate=generate,
            prompt=sys.stdin.isatty(),
        )
        target = _target_options(resource_group, name, subscription, simulate)
        plan, context = plan_password_rotation(
            target.clients, target.resource_group, target.name, new_password=secret
        )
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    run_procedure(
        plan,
        lambda p, **kw: apply_password_rotation(p, context, **kw),
        do_apply=do_apply and not plan_only,
        yes=yes,
        output=output,
        checkpoint=default_checkpoint(checkpoint, simulate),
        time_budget=time_budget,
    )


@app.command()
def ahub(
    action: str = typer.Argument(..., help="enable, disable or verify"),
    resource_group: str | None = RG_OPT,
    name: str | None = NAME_OPT,
    subscription: str | None = SUB_OPT,
    simulate: str | None = SIM_OPT,
    nodes: list[str] = typer.Option(
        [], "--node", help="Only these instances (pool/instanceId); repeat the option."
    ),
    plan_only: bool = PLAN_OPT,
    do_apply: bool = APPLY_OPT,
    yes: bool = YES_OPT,
    checkpoint: str | None = CHECKPOINT_OPT,
    time_budget: str | None = BUDGET_OPT,
    output: str = OUT_OPT,
) -> None:
    """Azure Hybrid Benefit: enable, disable, or verify licenseType on every Windows scale set (FAQ AHUB)."""
    from aks_windows_ops.runbooks import ahub as runbook

    try:
        if action not in ("enable", "disable", "verify"):
            raise E.InvalidInput(f"action must be enable, disable or verify, got {action!r}")
        target = _target_options(resource_group, name, subscription, simulate)
        if action == "verify":
            report = runbook.verify_ahub(target.clients, target.resource_group, target.name)
            if output == "json":
                emit_json(report.to_dict())
            else:
                _console().print(report.to_text(), markup=False, highlight=False)
            raise typer.Exit(EXIT_OK if report.ok else EXIT_WARN)
        license_type = runbook.LICENSE_ON if action == "enable" else "None"
        if nodes:
            plan, context = runbook.plan_ahub_for_nodes(
                target.clients, target.resource_group, target.name, instances=nodes, license_type=license_type
            )
        elif action == "enable":
            plan, context = runbook.plan_enable_ahub(target.clients, target.resource_group, target.name)
        else:
            plan, context = runbook.plan_disable_ahub(target.clients, target.resource_group, target.name)
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    run_procedure(
        plan,
        lambda p, **kw: runbook.apply_ahub(p, context, **kw),
        do_apply=do_apply and not plan_only,
        yes=yes,
        output=output,
        checkpoint=default_checkpoint(checkpoint, simulate),
        time_budget=time_budget,
    )


@app.command()
def demo(
    scenario: str | None = typer.Option(None, "--scenario", help="Run one built-in scenario only."),
) -> None:
    """Rehearse every procedure on the built-in simulated clusters: no Azure account needed.

    DESIGN "The simulator": the real SDK clients talk to the ARM emulator (and a Kubernetes API server on
    loopback), on a virtual clock, so hours of operations take seconds.
    """
    from aks_windows_ops.azure.facts import read_snapshot
    from aks_windows_ops.demo import run_scenario
    from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS, read_scenario

    console = _console()
    names = [scenario] if scenario else list(BUILTIN_SCENARIOS)
    for scenario_name in names:
        try:
            data = read_scenario(scenario_name)
            target = resolve_target(
                resource_group=None, name=None, subscription=None, simulate=scenario_name, with_kube=True
            )
        except (E.AksWindowsOpsError, KeyError, OSError) as err:
            raise fail(E.InvalidInput(str(err))) from err
        console.rule(f"[bold]{scenario_name}[/]: {data.get('description', '')}")
        console.print(snapshot_table(read_snapshot(target.clients, target.resource_group, target.name)))
        run_scenario(scenario_name, target, lambda line: console.print(line, markup=False, highlight=False))
        console.print(snapshot_table(read_snapshot(target.clients, target.resource_group, target.name)))
        fake = target.fake
        console.print(
            f"[dim]{len(fake.journal)} requests to the simulated ARM, {fake.clock.now() / 60:.0f} simulated minutes[/]"
        )
        if target.kube is not None:
            target.kube.stop()


#: Modules that add commands to :data:`app` through a ``register(app)`` function (one module per area).
COMMAND_MODULES: tuple[str, ...] = (
    "aks_windows_ops.cli.fleet",
    "aks_windows_ops.cli.checks",
    "aks_windows_ops.cli.pools",
    "aks_windows_ops.cli.workloads",
    "aks_windows_ops.cli.plans",
    "aks_windows_ops.cli.twin",
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
