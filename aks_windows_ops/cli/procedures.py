"""Cluster procedures: ``patch``, ``rotate-password``, ``ahub`` and the ``demo`` rehearsal.

Each shows its plan by default and changes the cluster only with ``--apply`` (see ``procedure_command``).
"""

from __future__ import annotations

import enum
import sys
from typing import Annotated, Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.app import cluster_kube, resolve_target
from aks_windows_ops.cli.options import (
    ClusterName,
    Output,
    OutputFormat,
    Query,
    ResourceGroup,
    Simulate,
    Subscription,
    check_env_name,
    check_kubernetes_version,
    check_password_fd,
)
from aks_windows_ops.cli.output import SESSION, emit, note, out_console
from aks_windows_ops.cli.render import snapshot_table
from aks_windows_ops.cli.run import RunOptions, procedure_command, procedure_options
from aks_windows_ops.cli.runtime import EXIT_OK, EXIT_WARN, fail

__all__ = ["read_password", "register"]

_SURGE_HELP = "Extra nodes per pool during the upgrade: a count (1) or a percentage (33%)."


def _check_surge(value: str | None) -> str | None:
    import re

    if value is not None and not re.fullmatch(r"[1-9]\d{0,2}|([1-9]\d?|100)%", value.strip()):
        raise E.InvalidInput(
            f"--max-surge must be a node count such as 1 or a percentage such as 33%, got {value[:20]!r}"
        )
    return value


@procedure_options
def patch(
    resource_group: ResourceGroup = None,
    name: ClusterName = None,
    subscription: Subscription = None,
    simulate: Simulate = None,
    kubernetes_version: Annotated[
        str | None,
        typer.Option(
            "--kubernetes-version", "-k", metavar="VERSION", help="Target Kubernetes version, e.g. 1.36.3."
        ),
    ] = None,
    node_image_only: Annotated[
        bool, typer.Option("--node-image-only", help="Patch the node images only.")
    ] = False,
    windows_only: Annotated[bool, typer.Option("--windows-only", help="Only the Windows pools.")] = False,
    pools: Annotated[
        list[str] | None, typer.Option("--pool", metavar="POOL", help="Only these pools (repeat the option).")
    ] = None,
    hops: Annotated[
        bool, typer.Option("--hops", help="Plan the intermediate minor versions instead of refusing a skip.")
    ] = False,
    max_surge: Annotated[
        str | None, typer.Option("--max-surge", metavar="COUNT|PERCENT", help=_SURGE_HELP)
    ] = None,
    *,
    run: RunOptions,
) -> None:
    """Patch in the FAQ's order: control plane first, then the pools (FAQ "How do I patch my Windows nodes?")."""
    from aks_windows_ops.runbooks.patch import plan_patch

    def make_plan() -> Any:
        run.check()
        _check_surge(max_surge)
        check_kubernetes_version(kubernetes_version)
        target = resolve_target(
            resource_group=resource_group, name=name, subscription=subscription, simulate=simulate
        )
        selection: Any = list(pools) if pools else ("windows" if windows_only else "all")
        return plan_patch(
            target.clients,
            target.resource_group,
            target.name,
            kubernetes_version=kubernetes_version,
            node_image_only=node_image_only,
            pools=selection,
            max_surge=max_surge,
            allow_hops=hops,
            kube=cluster_kube(target),
        )

    procedure_command(run, make_plan)


def read_password(
    *,
    password_env: str | None,
    password_fd: int | None,
    key_vault_secret: str | None,
    generate: bool,
    prompt: bool,
    simulate: str | None = None,
) -> Any:
    """Get the new Windows admin password as a Secret, never from a plain argument (FAQ password question).

    Sources: an environment variable (its name), a file descriptor, a Key Vault secret (not while rehearsing:
    a rehearsal never reaches the network), a generated password stored in Key Vault, or a prompt.
    """
    import os

    from aks_windows_ops.secrets import Secret, generate_password

    chosen = [bool(password_env), password_fd is not None, bool(key_vault_secret) and not generate, generate]
    if sum(chosen) > 1:
        raise E.InvalidInput(
            "choose one password source: --password-env, --password-fd, --key-vault-secret or --generate"
        )
    if password_env is not None:
        check_env_name(password_env)
    if password_fd is not None:
        check_password_fd(password_fd)
    if key_vault_secret:
        _split_vault_ref(key_vault_secret)
        if simulate:
            raise E.InvalidInput(
                "--key-vault-secret reads Azure Key Vault, which a rehearsal (--simulate) never contacts",
                remediation="Rehearse with --password-env NAME or --password-fd N instead.",
            )
    if password_env:
        return Secret.from_env(password_env)
    if password_fd is not None:
        try:
            with os.fdopen(password_fd, "r", closefd=False) as stream:
                value = stream.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise E.InvalidInput(
                f"--password-fd {password_fd}: cannot read a line of text from it ({type(err).__name__})"
            ) from None
        if not value:
            raise E.InvalidInput(f"--password-fd {password_fd} gave an empty password")
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
            "no password source: use --password-env, --password-fd, --key-vault-secret or --generate",
            remediation="Give the new password through one of those options (never as a plain argument).",
        )
    value = typer.prompt("New Windows admin password", hide_input=True, confirmation_prompt=True, err=True)
    return Secret(str(value), source="prompt")


def _split_vault_ref(ref: str) -> tuple[str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(ref)
    path = parts.path.strip("/").split("/")
    if parts.scheme != "https" or not parts.hostname or len(path) < 2 or path[0] != "secrets" or not path[1]:
        raise E.InvalidInput("--key-vault-secret must look like https://VAULT.vault.azure.net/secrets/NAME")
    return f"https://{parts.netloc}", path[1]


@procedure_options
def rotate_password(
    resource_group: ResourceGroup = None,
    name: ClusterName = None,
    subscription: Subscription = None,
    simulate: Simulate = None,
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env", metavar="VARIABLE", help="Read the password from this environment variable."
        ),
    ] = None,
    password_fd: Annotated[
        int | None,
        typer.Option(
            "--password-fd", metavar="FD", help="Read the password from this file descriptor (first line)."
        ),
    ] = None,
    key_vault_secret: Annotated[
        str | None,
        typer.Option(
            "--key-vault-secret",
            metavar="URL",
            help="Key Vault secret: https://VAULT.vault.azure.net/secrets/NAME.",
        ),
    ] = None,
    generate: Annotated[
        bool,
        typer.Option("--generate", help="Generate a compliant password and store it in --key-vault-secret."),
    ] = False,
    *,
    run: RunOptions,
) -> None:
    """Rotate the Windows admin password; restarts the Windows pools (FAQ "How do I change the administrator password for Windows Server nodes on my cluster?")."""
    from aks_windows_ops.runbooks.password import plan_password_rotation

    def make_plan() -> Any:
        run.check()
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
            simulate=simulate,
        )
        target = resolve_target(
            resource_group=resource_group, name=name, subscription=subscription, simulate=simulate
        )
        return plan_password_rotation(target.clients, target.resource_group, target.name, new_password=secret)

    extra = f"--password-env {password_env}" if password_env else ""
    if key_vault_secret:
        extra = f"--key-vault-secret {key_vault_secret}"
    procedure_command(run, make_plan, resume_extra=extra)


class AhubAction(str, enum.Enum):
    """What ``ahub`` does."""

    enable = "enable"
    disable = "disable"
    verify = "verify"


@procedure_options
def ahub(
    action: Annotated[AhubAction, typer.Argument(help="enable, disable or verify.", case_sensitive=False)],
    resource_group: ResourceGroup = None,
    name: ClusterName = None,
    subscription: Subscription = None,
    simulate: Simulate = None,
    nodes: Annotated[
        list[str] | None,
        typer.Option("--node", metavar="POOL/INSTANCE", help="Only these instances, e.g. win22/3 (repeat)."),
    ] = None,
    *,
    run: RunOptions,
) -> None:
    """Azure Hybrid Benefit: enable, disable or verify the Windows license type of every scale set (FAQ "Can I use Azure Hybrid Benefit with Windows nodes?")."""
    from aks_windows_ops.runbooks import ahub as runbook

    def make_plan() -> Any:
        run.check()
        bad = [n for n in nodes or [] if n.count("/") != 1 or not all(n.split("/"))]
        if bad:
            raise E.InvalidInput(f"--node must look like POOL/INSTANCE, e.g. win22/3, got {bad[0][:40]!r}")
        target = resolve_target(
            resource_group=resource_group, name=name, subscription=subscription, simulate=simulate
        )
        if action is AhubAction.verify:
            report = runbook.verify_ahub(target.clients, target.resource_group, target.name)
            emit(report.to_dict(), run.output, run.query, table=lambda _: report.to_text())
            raise typer.Exit(EXIT_OK if report.ok else EXIT_WARN)
        license_type = runbook.LICENSE_ON if action is AhubAction.enable else "None"
        if nodes:
            return runbook.plan_ahub_for_nodes(
                target.clients, target.resource_group, target.name, instances=nodes, license_type=license_type
            )
        if action is AhubAction.enable:
            return runbook.plan_enable_ahub(target.clients, target.resource_group, target.name)
        return runbook.plan_disable_ahub(target.clients, target.resource_group, target.name)

    procedure_command(run, make_plan)


def demo(
    scenario: Annotated[
        str | None, typer.Option("--scenario", metavar="SCENARIO", help="Run one built-in scenario only.")
    ] = None,
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Rehearse every procedure on the built-in simulated clusters: no Azure account needed.

    The real Azure SDK clients talk to an in-process Azure Resource Manager simulator (and a Kubernetes API
    server on loopback), on a virtual clock, so hours of operations take seconds.
    """
    from aks_windows_ops.azure.facts import read_snapshot
    from aks_windows_ops.demo import run_scenario
    from aks_windows_ops.rehearsal import builtin_scenarios, read_scenario

    builtin = builtin_scenarios()
    names = [scenario] if scenario is not None else list(builtin)
    if scenario is not None and scenario not in builtin:
        raise fail(E.InvalidInput(f"--scenario must be one of {', '.join(builtin)}, got {scenario[:40]!r}"))
    table = OutputFormat(output) is OutputFormat.table and not query
    console = out_console()
    documents = []
    for scenario_name in names:
        try:
            data = read_scenario(scenario_name)
            target = resolve_target(
                resource_group=None,
                name=None,
                subscription=None,
                simulate=scenario_name,
                with_kube=True,
                twin=False,  # the demo always starts from the scenarios and leaves no twin behind
            )
        except (E.AksWindowsOpsError, OSError) as err:
            raise fail(err) from err
        lines: list[str] = []

        def say(line: str, lines: list[str] = lines) -> None:
            lines.append(line)
            if table:
                console.print(line, markup=False, highlight=False)

        if table:
            console.rule(f"[bold]{scenario_name}[/]: {data.get('description', '')}")
            console.print(
                snapshot_table(
                    read_snapshot(target.clients, target.resource_group, target.name), console.width
                )
            )
        run_scenario(scenario_name, target, say)
        if table:
            console.print(
                snapshot_table(
                    read_snapshot(target.clients, target.resource_group, target.name), console.width
                )
            )
        fake = target.fake
        minutes = round(fake.clock.monotonic() / 60)
        if not SESSION.only_show_errors and table:
            note(f"{len(fake.journal)} requests to the simulated Azure, {minutes} simulated minutes")
        documents.append(
            {
                "scenario": scenario_name,
                "description": data.get("description", ""),
                "log": lines,
                "requests": len(fake.journal),
                "simulated_minutes": minutes,
            }
        )
        if target.kube is not None:
            target.kube.stop()
    if not table:
        emit(documents, output, query)


def register(app: typer.Typer) -> None:
    """Add the procedure commands to the CLI."""
    app.command()(patch)
    app.command("rotate-password")(rotate_password)
    app.command()(ahub)
    app.command()(demo)
