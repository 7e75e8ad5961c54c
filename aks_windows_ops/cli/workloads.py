"""Workload commands: ``timezone set|get|list`` and ``affinity`` (the FAQ's container questions).

``timezone`` runs PowerShell in a running Windows container through the Kubernetes exec API (FAQ "How do I
change the time zone of a running container?"). With ``--simulate`` it starts a Kubernetes API server behind
the simulated cluster and adds two demo pods to act on: ``win-demo`` (Windows) and ``linux-demo`` (Linux).

``affinity`` prints a Deployment and its Service patched with the FAQ's session-affinity recipe (FAQ "Can I
maintain session affinity from client connections to pods with Windows containers?"), ready for
``kubectl apply -f -`` (a multi-document YAML stream with ``-o yaml``, a ``List`` document with ``-o json``);
what changed goes to standard error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.checks import open_target
from aks_windows_ops.cli.options import (
    ClusterName,
    Output,
    OutputFormat,
    Query,
    ResourceGroup,
    Simulate,
    Subscription,
)
from aks_windows_ops.cli.output import emit, note, warn
from aks_windows_ops.cli.runtime import fail

__all__ = ["DEMO_LINUX_POD", "DEMO_WINDOWS_POD", "register", "timezone_app"]

#: The pods a simulated cluster gets so that ``timezone`` has something to act on.
DEMO_WINDOWS_POD = "win-demo"
DEMO_LINUX_POD = "linux-demo"

timezone_app = typer.Typer(
    name="timezone",
    help='Time zone of a running Windows container (FAQ "How do I change the time zone of a running container?").',
    no_args_is_help=True,
)

Namespace = Annotated[str, typer.Option("--namespace", metavar="NAMESPACE", help="The pod's namespace.")]
Pod = Annotated[
    str | None,
    typer.Option("--pod", metavar="POD", help=f"The pod (with --simulate: default {DEMO_WINDOWS_POD})."),
]
Container = Annotated[
    str | None,
    typer.Option(
        "--container", "-c", metavar="CONTAINER", help="The container (needed when the pod has several)."
    ),
]


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
    output: OutputFormat,
    query: str | None,
) -> None:
    from aks_windows_ops.kube import timezone
    from aks_windows_ops.twin import cluster_api_client

    try:
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
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    where = f"{namespace}/{pod_name}" + (f" ({container})" if container else "")
    data: dict[str, Any] = {"pod": f"{namespace}/{pod_name}", "container": container}
    if action == "list":
        data["time_zones"] = result
    else:
        data["time_zone"] = result
    if choice is not None and choice.translated_from:
        data["translated_from"] = choice.translated_from
    if choice is not None and choice.note:
        note(choice.note)

    def table(_: Any) -> str:
        if action == "list":
            return "\n".join(result) + "\n"
        if action == "set":
            return f"{where}: time zone is now {result} (lasts until the container restarts)\n"
        return f"{where}: {result}\n"

    emit(data, output, query, table=table)


@timezone_app.command("set")
def timezone_set(
    zone: Annotated[
        str | None,
        typer.Option("--id", metavar="TIME_ZONE", help='Windows time zone id, e.g. "Russian Standard Time".'),
    ] = None,
    translate: Annotated[
        bool, typer.Option("--translate", help="Accept an IANA name (Europe/Moscow) and use its Windows id.")
    ] = False,
    namespace: Namespace = "default",
    pod: Pod = None,
    container: Container = None,
    resource_group: ResourceGroup = None,
    name: ClusterName = None,
    subscription: Subscription = None,
    simulate: Simulate = None,
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Set a running Windows container's time zone (Set-TimeZone -Id), then read it back (Get-TimeZone)."""
    command = _timezone_command("set", "", zone=zone, translate=translate)
    command(namespace, pod, container, resource_group, name, subscription, simulate, output, query)


def _timezone_command(
    action: str, summary: str, *, zone: str | None = None, translate: bool = False
) -> Callable[..., None]:
    """A ``timezone`` command (``get``, ``list``; ``set`` with its ``zone``): the shared options, one action."""

    def command(
        namespace: Namespace = "default",
        pod: Pod = None,
        container: Container = None,
        resource_group: ResourceGroup = None,
        name: ClusterName = None,
        subscription: Subscription = None,
        simulate: Simulate = None,
        output: Output = OutputFormat.table,
        query: Query = None,
    ) -> None:
        _run_timezone(
            action,
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
            query=query,
        )

    command.__name__ = command.__qualname__ = f"timezone_{action}"
    command.__doc__ = summary
    return command


timezone_get = timezone_app.command("get")(
    _timezone_command("get", "Show a running Windows container's time zone (Get-TimeZone).")
)
timezone_list = timezone_app.command("list")(
    _timezone_command(
        "list", "List the time zone ids a running Windows container offers (Get-TimeZone -ListAvailable)."
    )
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
    file: Annotated[Path, typer.Argument(help="YAML or JSON file with the Deployment and its Service.")],
    kubernetes_version: Annotated[
        str | None,
        typer.Option(
            "--kubernetes-version",
            metavar="VERSION",
            help="The cluster's version (the recipe needs 1.20 or later).",
        ),
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option("--deployment", metavar="NAME", help="The workload to patch, when there are several."),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", metavar="NAME", help="The Service to patch, when there are several."),
    ] = None,
    output: Output = OutputFormat.yaml,
    query: Query = None,
) -> None:
    """Print the Deployment and Service patched for session affinity to Windows pods (FAQ session affinity).

    One pod per Windows node (required pod anti-affinity on kubernetes.io/hostname), externalTrafficPolicy
    Local and sessionAffinity ClientIP on the Service. The manifests go to standard output; the changes and
    warnings to standard error.
    """
    from aks_windows_ops.manifests import load_manifests
    from aks_windows_ops.rules.affinity import session_affinity_manifests

    try:
        if not file.exists():
            raise E.InvalidInput(f"{file}: no such file")
        workload, svc = _pair(load_manifests(file), deployment, service)
        result = session_affinity_manifests(workload, svc, kubernetes_version=kubernetes_version)
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    for line in result.changes:
        note(f"changed: {line}")
    for line in result.warnings:
        warn(line)
    for line in result.notes:
        note(line)
    fmt = OutputFormat(output)
    if fmt in (OutputFormat.yaml, OutputFormat.table) and not query:
        typer.echo(result.to_yaml(), nl=False)
    else:
        emit({"items": result.manifests, "changes": result.changes, "warnings": result.warnings}, fmt, query)


def register(app: typer.Typer) -> None:
    """Add the workload commands (``timezone``, ``affinity``) to the CLI."""
    app.add_typer(timezone_app, name="timezone")
    app.command()(affinity)
