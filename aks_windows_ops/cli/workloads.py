"""Workload commands: ``timezone set|get|list`` and ``affinity`` (the FAQ's container questions).

``timezone`` runs PowerShell in a running Windows container through the Kubernetes exec API (FAQ "How do I
change the time zone of a running container?"). With ``--simulate`` it starts a Kubernetes API server behind
the simulated cluster and adds two demo pods to act on: ``win-demo`` (Windows) and ``linux-demo`` (Linux).

``affinity`` prints a Deployment and its Service patched with the FAQ's session-affinity recipe (FAQ "Can I
maintain session affinity from client connections to pods with Windows containers?"), ready for
``kubectl apply -f -``; what changed goes to standard error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.app import NAME_OPT, RG_OPT, SIM_OPT, SUB_OPT, _console, emit_json, fail
from aks_windows_ops.cli.checks import open_target

__all__ = ["DEMO_LINUX_POD", "DEMO_WINDOWS_POD", "register", "timezone_app"]

#: The pods a simulated cluster gets so that ``timezone`` has something to act on.
DEMO_WINDOWS_POD = "win-demo"
DEMO_LINUX_POD = "linux-demo"

timezone_app = typer.Typer(
    name="timezone",
    help='Time zone of a running Windows container (FAQ "How do I change the time zone of a running container?").',
    no_args_is_help=True,
)

NS_OPT = typer.Option("default", "--namespace", help="The pod's namespace.")
POD_OPT = typer.Option(None, "--pod", help=f"The pod (with --simulate: default {DEMO_WINDOWS_POD}).")
CONTAINER_OPT = typer.Option(
    None, "--container", "-c", help="The container (needed when the pod has several)."
)
TZ_OUT_OPT = typer.Option("table", "--output", "-o", help="table or json.")


def _demo_pods(kube: Any, namespace: str) -> None:
    """Add a Windows and a Linux demo pod to a simulated cluster (pinned to the first Windows pool's build)."""
    windows_nodes = [n for n in kube.nodes() if n["metadata"]["labels"].get("kubernetes.io/os") == "windows"]
    tags = {"Windows2019": "ltsc2019", "Windows2022": "ltsc2022", "Windows2025": "ltsc2025"}
    manifests: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": DEMO_LINUX_POD, "namespace": namespace, "labels": {"app": DEMO_LINUX_POD}},
            "spec": {
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "containers": [{"name": "app", "image": "mcr.microsoft.com/azurelinux/base/core:3.0"}],
            },
        }
    ]
    if windows_nodes:
        labels = windows_nodes[0]["metadata"]["labels"]
        tag = tags.get(labels.get("kubernetes.azure.com/os-sku", ""), "ltsc2022")
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": DEMO_WINDOWS_POD,
                    "namespace": namespace,
                    "labels": {"app": DEMO_WINDOWS_POD},
                },
                "spec": {
                    "nodeSelector": {
                        "kubernetes.io/os": "windows",
                        "kubernetes.azure.com/agentpool": labels.get("kubernetes.azure.com/agentpool", ""),
                    },
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": "app", "image": f"mcr.microsoft.com/windows/servercore:{tag}"}],
                },
            }
        )
    for manifest in manifests:
        if kube.get("Pod", manifest["metadata"]["name"], namespace) is None:
            kube.apply(manifest)


def _run_timezone(
    action: str,
    *,
    resource_group: str | None,
    name: str | None,
    subscription: str | None,
    simulate: str | None,
    namespace: str,
    pod: str | None,
    container: str | None,
    zone: str | None,
    translate: bool,
    output: str,
) -> None:
    from aks_windows_ops.kube import timezone
    from aks_windows_ops.twin import cluster_api_client

    console = _console()
    try:
        if output not in ("table", "json"):
            raise E.InvalidInput(f"--output must be table or json, got {output!r}")
        choice = None
        if action == "set":
            if not zone:
                raise E.InvalidInput(
                    "--id is required: a Windows time zone id such as 'Russian Standard Time'"
                )
            choice = timezone.resolve_time_zone_id(zone, translate=translate)
        if pod is None and not simulate:
            raise E.InvalidInput("--pod is required")
        pod_name = pod or DEMO_WINDOWS_POD
        with open_target(
            resource_group=resource_group,
            name=name,
            subscription=subscription,
            simulate=simulate,
            with_kube=True,
        ) as target:
            if target.kube is not None:
                _demo_pods(target.kube, namespace)
            api = cluster_api_client(target.clients, target.resource_group, target.name)
            try:
                if action == "set":
                    assert choice is not None
                    result: Any = timezone.set_container_timezone(
                        api, namespace, pod_name, choice.windows_id, container
                    )
                elif action == "get":
                    result = timezone.get_container_timezone(api, namespace, pod_name, container)
                else:
                    result = timezone.list_time_zones(api, namespace, pod_name, container)
            finally:
                api.close()
    except Exception as err:
        raise fail(err) from err
    where = f"{namespace}/{pod_name}" + (f" ({container})" if container else "")
    if output == "json":
        data: dict[str, Any] = {"pod": f"{namespace}/{pod_name}", "container": container}
        if action == "list":
            data["time_zones"] = result
        else:
            data["time_zone"] = result
        if choice is not None and choice.translated_from:
            data["translated_from"] = choice.translated_from
        emit_json(data)
        return
    if choice is not None and choice.note:
        console.print(f"[yellow]note[/]: {choice.note}", soft_wrap=True)
    if action == "list":
        for item in result:
            typer.echo(item)
        console.print(f"[dim]{len(result)} time zones available in {where}[/]", soft_wrap=True)
    elif action == "set":
        console.print(
            f"{where}: time zone is now [bold]{result}[/] (lasts until the container restarts)",
            soft_wrap=True,
        )
    else:
        console.print(f"{where}: [bold]{result}[/]", soft_wrap=True)


@timezone_app.command("set")
def timezone_set(
    zone: str | None = typer.Option(None, "--id", help='Windows time zone id, e.g. "Russian Standard Time".'),
    translate: bool = typer.Option(
        False, "--translate", help="Accept an IANA name (Europe/Moscow) and use its Windows id."
    ),
    namespace: str = NS_OPT,
    pod: str | None = POD_OPT,
    container: str | None = CONTAINER_OPT,
    resource_group: str | None = RG_OPT,
    name: str | None = NAME_OPT,
    subscription: str | None = SUB_OPT,
    simulate: str | None = SIM_OPT,
    output: str = TZ_OUT_OPT,
) -> None:
    """Set a running Windows container's time zone (Set-TimeZone -Id), then read it back (Get-TimeZone)."""
    _run_timezone(
        "set",
        resource_group=resource_group,
        name=name,
        subscription=subscription,
        simulate=simulate,
        namespace=namespace,
        pod=pod,
        container=container,
        zone=zone,
        translate=translate,
        output=output,
    )


@timezone_app.command("get")
def timezone_get(
    namespace: str = NS_OPT,
    pod: str | None = POD_OPT,
    container: str | None = CONTAINER_OPT,
    resource_group: str | None = RG_OPT,
    name: str | None = NAME_OPT,
    subscription: str | None = SUB_OPT,
    simulate: str | None = SIM_OPT,
    output: str = TZ_OUT_OPT,
) -> None:
    """Show a running Windows container's time zone (Get-TimeZone)."""
    _run_timezone(
        "get",
        resource_group=resource_group,
        name=name,
        subscription=subscription,
        simulate=simulate,
        namespace=namespace,
        pod=pod,
        container=container,
        zone=None,
        translate=False,
        output=output,
    )


@timezone_app.command("list")
def timezone_list(
    namespace: str = NS_OPT,
    pod: str | None = POD_OPT,
    container: str | None = CONTAINER_OPT,
    resource_group: str | None = RG_OPT,
    name: str | None = NAME_OPT,
    subscription: str | None = SUB_OPT,
    simulate: str | None = SIM_OPT,
    output: str = TZ_OUT_OPT,
) -> None:
    """List the time zone ids a running Windows container offers (Get-TimeZone -ListAvailable)."""
    _run_timezone(
        "list",
        resource_group=resource_group,
        name=name,
        subscription=subscription,
        simulate=simulate,
        namespace=namespace,
        pod=pod,
        container=container,
        zone=None,
        translate=False,
        output=output,
    )


def _pick(
    manifests: list[dict[str, Any]], kinds: tuple[str, ...], wanted: str | None, what: str
) -> list[Any]:
    found = [m for m in manifests if m.get("kind") in kinds]
    if wanted is not None:
        found = [m for m in found if (m.get("metadata") or {}).get("name") == wanted]
        if not found:
            raise E.InvalidInput(f"the file has no {what} named {wanted!r}")
    return found


def _pair(
    manifests: list[dict[str, Any]], deployment: str | None, service: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    workloads = _pick(manifests, ("Deployment", "StatefulSet", "DaemonSet"), deployment, "Deployment")
    services = _pick(manifests, ("Service",), service, "Service")
    problems = []
    if not workloads:
        problems.append("the file holds no Deployment, StatefulSet or DaemonSet")
    if not services:
        problems.append("the file holds no Service")
    if problems:
        raise E.InvalidInput(problems)
    if len(workloads) == 1 and len(services) == 1:
        return workloads[0], services[0]

    def selects(svc: dict[str, Any], workload: dict[str, Any]) -> bool:
        selector = (svc.get("spec") or {}).get("selector") or {}
        labels = (
            (((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")
        ) or {}
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    pairs = [(w, s) for w in workloads for s in services if selects(s, w)]
    if len(pairs) == 1:
        return pairs[0]
    raise E.InvalidInput(
        f"the file holds {len(workloads)} workload(s) and {len(services)} Service(s); choose with --deployment "
        "and --service"
    )


def affinity(
    file: Path = typer.Argument(..., help="YAML/JSON file with the Deployment and its Service."),
    kubernetes_version: str | None = typer.Option(
        None, "--kubernetes-version", help="The cluster's version (the recipe needs 1.20 or later)."
    ),
    deployment: str | None = typer.Option(
        None, "--deployment", help="The workload to patch, when there are several."
    ),
    service: str | None = typer.Option(
        None, "--service", help="The Service to patch, when there are several."
    ),
    output: str = typer.Option("yaml", "--output", "-o", help="yaml (for kubectl apply -f -) or json."),
) -> None:
    """Print the Deployment and Service patched for session affinity to Windows pods (FAQ session affinity).

    One pod per Windows node (required pod anti-affinity on kubernetes.io/hostname), externalTrafficPolicy
    Local and sessionAffinity ClientIP on the Service. The manifests go to standard output; the changes and
    warnings to standard error.
    """
    from aks_windows_ops.manifests import load_manifests
    from aks_windows_ops.rules.affinity import session_affinity_manifests

    try:
        if output not in ("yaml", "json"):
            raise E.InvalidInput(f"--output must be yaml or json, got {output!r}")
        if not file.exists():
            raise E.InvalidInput(f"{file}: no such file")
        workload, svc = _pair(load_manifests(file), deployment, service)
        result = session_affinity_manifests(workload, svc, kubernetes_version=kubernetes_version)
    except Exception as err:
        raise fail(err) from err
    from rich.console import Console

    err_console = Console(stderr=True, soft_wrap=True)
    for line in result.changes:
        err_console.print(f"[green]changed[/]: {line}", highlight=False)
    for line in result.warnings:
        err_console.print(f"[yellow]warning[/]: {line}", highlight=False)
    for line in result.notes:
        err_console.print(f"[dim]note[/]: {line}", highlight=False)
    if output == "json":
        emit_json({"items": result.manifests, "changes": result.changes, "warnings": result.warnings})
    else:
        typer.echo(result.to_yaml(), nl=False)


def register(app: typer.Typer) -> None:
    """Add the workload commands (``timezone``, ``affinity``) to the CLI."""
    app.add_typer(timezone_app, name="timezone")
    app.command()(affinity)
