"""Pool commands: ``pool add`` and ``migrate`` (FAQ: max pods, old-image error, SP rotation, Windows Server 2019)."""

from __future__ import annotations

from typing import Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.app import (
    APPLY_OPT,
    BUDGET_OPT,
    CHECKPOINT_OPT,
    NAME_OPT,
    OUT_OPT,
    PLAN_OPT,
    RG_OPT,
    SIM_OPT,
    SUB_OPT,
    YES_OPT,
    default_checkpoint,
    fail,
    resolve_target,
    run_procedure,
)

__all__ = ["register"]

ALLOW_IMAGES_OPT = typer.Option(
    False,
    "--allow-incompatible-images",
    help="Go ahead although a workload's image cannot run on the new pool's Windows build (its pods will not start).",
)


def _kube_client(target: Any) -> Any:
    """The cluster's Kubernetes API: the simulator's, or the cluster's user kubeconfig."""
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
        return None  # the plan then says the images were not checked


pool_app = typer.Typer(help="Windows node pools.", no_args_is_help=True)


@pool_app.command("add")
def pool_add(
    pool: str = typer.Option(..., "--pool", "-p", help="New pool name (1-6 characters for Windows)."),
    resource_group: str | None = RG_OPT,
    name: str | None = NAME_OPT,
    subscription: str | None = SUB_OPT,
    simulate: str | None = SIM_OPT,
    os_sku: str | None = typer.Option(None, "--os-sku", help="Windows2022, Windows2025 or Windows2019."),
    count: int = typer.Option(1, "--node-count", "-c", help="Nodes."),
    vm_size: str = typer.Option("Standard_D4s_v5", "--node-vm-size", help="VM size."),
    max_pods: int | None = typer.Option(None, "--max-pods", help="Pods per node (10-250)."),
    pods_wanted: int | None = typer.Option(None, "--pods", help="Pods you mean to run on it (checked)."),
    labels: list[str] = typer.Option([], "--label", help="key=value (repeat)."),
    taints: list[str] = typer.Option([], "--taint", help="key=value:Effect (repeat)."),
    subnet: str | None = typer.Option(
        None, "--vnet-subnet-id", help="Node subnet (default: the first pool's)."
    ),
    allow_incompatible_images: bool = ALLOW_IMAGES_OPT,
    plan_only: bool = PLAN_OPT,
    do_apply: bool = APPLY_OPT,
    yes: bool = YES_OPT,
    checkpoint: str | None = CHECKPOINT_OPT,
    time_budget: str | None = BUDGET_OPT,
    output: str = OUT_OPT,
) -> None:
    """Add a Windows pool with every FAQ check first (FAQ: Windows pods and --max-pods; pool names)."""
    from aks_windows_ops.runbooks.pools import apply_add_pool, plan_add_windows_pool

    try:
        bad = [item for item in labels if "=" not in item]
        if bad:
            raise E.InvalidInput([f"--label {item!r} must be key=value" for item in bad])
        target = resolve_target(
            resource_group=resource_group,
            name=name,
            subscription=subscription,
            simulate=simulate,
            with_kube=bool(simulate),
        )
        plan, context = plan_add_windows_pool(
            target.clients,
            target.resource_group,
            target.name,
            pool,
            os_sku=os_sku,
            count=count,
            vm_size=vm_size,
            max_pods=max_pods,
            labels=dict(item.split("=", 1) for item in labels),
            taints=taints,
            subnet=subnet,
            pods_wanted=pods_wanted,
            kube=_kube_client(target),
            allow_incompatible_images=allow_incompatible_images,
        )
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    run_procedure(
        plan,
        lambda p, **kw: apply_add_pool(p, context, **kw),
        do_apply=do_apply and not plan_only,
        yes=yes,
        output=output,
        checkpoint=default_checkpoint(checkpoint, simulate),
        time_budget=time_budget,
    )


def migrate(
    pool: str = typer.Option(..., "--pool", "-p", help="The Windows pool to replace."),
    reason: str = typer.Option(
        ..., "--reason", help="sp-rotation, old-image, os-upgrade, max-pods or custom."
    ),
    resource_group: str | None = RG_OPT,
    name: str | None = NAME_OPT,
    subscription: str | None = SUB_OPT,
    simulate: str | None = SIM_OPT,
    new_pool: str | None = typer.Option(
        None, "--new-pool", help="Name of the new pool (derived when omitted)."
    ),
    os_sku: str | None = typer.Option(None, "--os-sku", help="OS SKU of the new pool."),
    max_pods: int | None = typer.Option(
        None, "--max-pods", help="Max pods of the new pool (reason max-pods)."
    ),
    drain_timeout: float = typer.Option(
        600.0, "--drain-timeout", help="Seconds per node before a blocked drain rolls back."
    ),
    keep_old: bool = typer.Option(False, "--keep-old", help="Do not delete the old pool."),
    delete_emptydir_data: bool = typer.Option(
        False, "--delete-emptydir-data", help="Consent to lose emptyDir data."
    ),
    force: bool = typer.Option(False, "--force", help="Consent to delete pods without a controller."),
    allow_incompatible_images: bool = ALLOW_IMAGES_OPT,
    plan_only: bool = PLAN_OPT,
    do_apply: bool = APPLY_OPT,
    yes: bool = YES_OPT,
    checkpoint: str | None = CHECKPOINT_OPT,
    time_budget: str | None = BUDGET_OPT,
    output: str = OUT_OPT,
) -> None:
    """Replace a Windows pool: new pool, cordon, drain honouring PDBs, verify, delete the old (FAQ SP rotation, old image)."""
    from aks_windows_ops.runbooks.migrate import apply_migration, plan_migration

    try:
        target = resolve_target(
            resource_group=resource_group,
            name=name,
            subscription=subscription,
            simulate=simulate,
            with_kube=bool(simulate),
        )
        plan, context = plan_migration(
            target.clients,
            target.resource_group,
            target.name,
            pool,
            reason=reason,
            new_pool=new_pool,
            os_sku=os_sku,
            max_pods=max_pods,
            kube=target.kube.api_client() if target.kube is not None else None,
            drain_timeout=drain_timeout,
            delete_emptydir_data=delete_emptydir_data,
            force=force,
            delete_old=not keep_old,
            allow_incompatible_images=allow_incompatible_images,
        )
        if target.kube is not None:
            context.extras["kube_poll"] = 0.05
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    run_procedure(
        plan,
        lambda p, **kw: apply_migration(p, context, **kw),
        do_apply=do_apply and not plan_only,
        yes=yes,
        output=output,
        checkpoint=default_checkpoint(checkpoint, simulate),
        time_budget=time_budget,
    )


def register(app: typer.Typer) -> None:
    """Add the pool commands to the CLI."""
    app.add_typer(pool_app, name="pool")
    app.command()(migrate)
