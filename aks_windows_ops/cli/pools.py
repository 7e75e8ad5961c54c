"""Pool commands: ``pool add`` and ``migrate`` (FAQ: max pods, old-image error, SP rotation, Windows Server 2019).

``pool add`` spells its options as ``az aks nodepool add`` does: ``--cluster-name/-c`` for the cluster and
``--name/-n`` for the new pool. The older spelling (``--name/-n`` for the cluster, ``--pool/-p`` for the pool,
``-c`` for the node count) still works for one release, with a warning.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.app import cluster_kube, resolve_target
from aks_windows_ops.cli.options import (
    TARGET_PANEL,
    AllowIncompatibleImages,
    ClusterName,
    ResourceGroup,
    Simulate,
    Subscription,
    check_windows_sku,
    parse_duration,
)
from aks_windows_ops.cli.output import warn
from aks_windows_ops.cli.run import RunOptions, procedure_command, procedure_options

__all__ = ["register"]

pool_app = typer.Typer(help="Windows node pools.", no_args_is_help=True)


def _check_pool_name(value: str, option: str, longest: int = 6) -> str:
    """Pool names: lowercase letters and digits, starting with a letter; Windows pools 6 characters at most."""
    if not re.fullmatch(rf"[a-z][a-z0-9]{{0,{longest - 1}}}", value):
        raise E.InvalidInput(
            f"{option} must be a pool name of 1 to {longest} lowercase letters and digits, starting with a "
            f"letter, got {value[:40]!r}"
        )
    return value


def _check_labels(labels: list[str]) -> dict[str, str]:
    bad = [item for item in labels if "=" not in item or not item.split("=", 1)[0]]
    if bad:
        raise E.InvalidInput([f"--label must be key=value, got {item[:60]!r}" for item in bad])
    return dict(item.split("=", 1) for item in labels)


def _check_taints(taints: list[str]) -> list[str]:
    pattern = re.compile(r"^[^=:\s]+(=[^:\s]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$")
    bad = [t for t in taints if not pattern.match(t)]
    if bad:
        raise E.InvalidInput(
            [
                f"--taint must be key=value:NoSchedule, PreferNoSchedule or NoExecute, got {t[:60]!r}"
                for t in bad
            ]
        )
    return taints


def _check_subnet(value: str | None) -> str | None:
    shape = re.compile(
        r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+"
        r"/subnets/[^/]+$",
        re.IGNORECASE,
    )
    if value is not None and not shape.match(value):
        raise E.InvalidInput(
            "--vnet-subnet-id must be a subnet resource id: /subscriptions/SUB/resourceGroups/RG/providers/"
            f"Microsoft.Network/virtualNetworks/VNET/subnets/SUBNET, got {value[:80]!r}"
        )
    return value


@pool_app.command("add")
@procedure_options
def pool_add(
    resource_group: ResourceGroup = None,
    cluster_name: Annotated[
        str | None,
        typer.Option(
            "--cluster-name",
            "-c",
            metavar="CLUSTER",
            help="Name of the cluster.",
            rich_help_panel=TARGET_PANEL,
        ),
    ] = None,
    pool_name: Annotated[
        str | None,
        typer.Option(
            "--name", "-n", metavar="POOL", help="Name of the new pool (1-6 characters for Windows)."
        ),
    ] = None,
    old_pool: Annotated[
        str | None,
        typer.Option("--pool", "-p", hidden=True, help="Deprecated: the new pool's name (use --name)."),
    ] = None,
    subscription: Subscription = None,
    simulate: Simulate = None,
    os_sku: Annotated[
        str | None, typer.Option("--os-sku", metavar="SKU", help="Windows2022, Windows2025 or Windows2019.")
    ] = None,
    count: Annotated[
        int | None, typer.Option("--node-count", min=0, max=1000, help="Nodes (default 1).")
    ] = None,
    vm_size: Annotated[
        str, typer.Option("--node-vm-size", metavar="SIZE", help="VM size.")
    ] = "Standard_D4s_v5",
    max_pods: Annotated[
        int | None, typer.Option("--max-pods", min=10, max=250, help="Pods per node (10-250).")
    ] = None,
    pods_wanted: Annotated[
        int | None, typer.Option("--pods", min=0, max=1_000_000, help="Pods you mean to run on it (checked).")
    ] = None,
    labels: Annotated[
        list[str] | None, typer.Option("--label", metavar="KEY=VALUE", help="Node label (repeat the option).")
    ] = None,
    taints: Annotated[
        list[str] | None,
        typer.Option("--taint", metavar="KEY=VALUE:EFFECT", help="Node taint (repeat the option)."),
    ] = None,
    subnet: Annotated[
        str | None,
        typer.Option(
            "--vnet-subnet-id", metavar="SUBNET_ID", help="Node subnet (default: the first pool's)."
        ),
    ] = None,
    allow_incompatible_images: AllowIncompatibleImages = False,
    *,
    run: RunOptions,
) -> None:
    """Add a Windows pool with every FAQ check first (FAQ: Windows pod limits and --max-pods; pool names)."""
    from aks_windows_ops.runbooks.pools import plan_add_pool

    def make_plan() -> Any:
        cluster, pool, nodes = cluster_name, pool_name, count
        if old_pool is not None:
            # The old spelling: -p POOL, -n CLUSTER, -c COUNT.
            warn(
                "--pool/-p, --name for the cluster and -c for the node count are deprecated: use "
                "--cluster-name/-c CLUSTER --name/-n POOL --node-count N"
            )
            pool, cluster = old_pool, pool_name
            if cluster_name is not None:
                if cluster_name.isdigit() and nodes is None:
                    nodes = int(cluster_name)
                elif cluster is None:
                    cluster = cluster_name
        if pool is None:
            raise E.InvalidInput(
                "--name/-n is required: the name of the new pool", remediation="Add --name POOL."
            )
        _check_pool_name(pool, "--name")
        run.check()
        check_windows_sku(os_sku)
        label_map = _check_labels(labels or [])
        _check_taints(taints or [])
        _check_subnet(subnet)
        target = resolve_target(
            resource_group=resource_group,
            name=cluster,
            subscription=subscription,
            simulate=simulate,
            with_kube=bool(simulate),
        )
        return plan_add_pool(
            target.clients,
            target.resource_group,
            target.name,
            pool,
            os_sku=os_sku,
            count=1 if nodes is None else nodes,
            vm_size=vm_size,
            max_pods=max_pods,
            labels=label_map,
            taints=list(taints or []),
            subnet=subnet,
            pods_wanted=pods_wanted,
            kube=cluster_kube(target),
            allow_incompatible_images=allow_incompatible_images,
        )

    procedure_command(run, make_plan)


class Reason(str, enum.Enum):
    """Why a pool is replaced (each FAQ answer that ends in "create a new pool")."""

    sp_rotation = "sp-rotation"
    old_image = "old-image"
    os_upgrade = "os-upgrade"
    max_pods = "max-pods"
    custom = "custom"


@procedure_options
def migrate(
    pool: Annotated[str, typer.Option("--pool", "-p", metavar="POOL", help="The Windows pool to replace.")],
    reason: Annotated[
        Reason,
        typer.Option(
            "--reason", help="sp-rotation, old-image, os-upgrade, max-pods or custom.", case_sensitive=False
        ),
    ],
    resource_group: ResourceGroup = None,
    name: ClusterName = None,
    subscription: Subscription = None,
    simulate: Simulate = None,
    new_pool: Annotated[
        str | None,
        typer.Option("--new-pool", metavar="POOL", help="Name of the new pool (derived when omitted)."),
    ] = None,
    os_sku: Annotated[
        str | None, typer.Option("--os-sku", metavar="SKU", help="OS SKU of the new pool.")
    ] = None,
    max_pods: Annotated[
        int | None,
        typer.Option("--max-pods", min=10, max=250, help="Max pods of the new pool (reason max-pods)."),
    ] = None,
    drain_timeout: Annotated[
        str,
        typer.Option(
            "--drain-timeout",
            metavar="DURATION",
            help="Time per node before a blocked drain stops, e.g. 10m.",
        ),
    ] = "10m",
    keep_old: Annotated[bool, typer.Option("--keep-old", help="Do not delete the old pool.")] = False,
    delete_emptydir_data: Annotated[
        bool, typer.Option("--delete-emptydir-data", help="Consent to lose emptyDir data.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Consent to delete pods without a controller.")
    ] = False,
    allow_incompatible_images: AllowIncompatibleImages = False,
    *,
    run: RunOptions,
) -> None:
    """Replace a Windows pool: new pool, cordon, drain honouring disruption budgets, verify, delete the old one (FAQ SP rotation, old image)."""
    from aks_windows_ops.runbooks.migrate import plan_migration

    def make_plan() -> Any:
        _check_pool_name(pool, "--pool", 12)
        if new_pool is not None:
            _check_pool_name(new_pool, "--new-pool")
        check_windows_sku(os_sku)
        drain_seconds = parse_duration(drain_timeout, "--drain-timeout") or 600.0
        run.check()
        target = resolve_target(
            resource_group=resource_group,
            name=name,
            subscription=subscription,
            simulate=simulate,
            with_kube=bool(simulate),
        )
        return plan_migration(
            target.clients,
            target.resource_group,
            target.name,
            pool,
            reason=reason.value,
            new_pool=new_pool,
            os_sku=os_sku,
            max_pods=max_pods,
            kube=target.kube.api_client() if target.kube is not None else None,
            drain_timeout=drain_seconds,
            delete_emptydir_data=delete_emptydir_data,
            force=force,
            delete_old=not keep_old,
            allow_incompatible_images=allow_incompatible_images,
        )

    procedure_command(run, make_plan)


def register(app: typer.Typer) -> None:
    """Add the pool commands to the CLI."""
    app.add_typer(pool_app, name="pool")
    app.command()(migrate)
