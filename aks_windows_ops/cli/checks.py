"""Read-only checks: ``preflight`` (a cluster), ``lint`` (manifest files) and ``snapshot`` (export a twin).

Exit codes follow the CLI's conventions: 0 clean (info only), 1 warnings, 2 errors found (or the command
failed), 4 invalid input.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.app import Target, resolve_target
from aks_windows_ops.cli.options import (
    ClusterName,
    Output,
    OutputFormat,
    Query,
    ResourceGroup,
    Simulate,
    Subscription,
    check_kubernetes_version,
)
from aks_windows_ops.cli.output import emit, note, out_console
from aks_windows_ops.cli.runtime import fail

__all__ = ["findings_table", "open_target", "parse_as_of", "register"]

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def parse_as_of(text: str | None) -> _dt.date | None:
    """Parse ``--as-of YYYY-MM-DD`` (the day lifecycle dates are graded against).

    Raises:
        InvalidInput: not a date.
    """
    if text is None:
        return None
    try:
        return _dt.date.fromisoformat(text.strip())
    except ValueError:
        raise E.InvalidInput(f"--as-of must be a date YYYY-MM-DD, got {text[:40]!r}") from None


@contextmanager
def open_target(
    *,
    resource_group: str | None,
    name: str | None,
    subscription: str | None,
    simulate: str | None,
    with_kube: bool = False,
) -> Iterator[Target]:
    """Resolve the target cluster; a simulated Kubernetes API server (``with_kube``) is stopped afterwards.

    With ``--simulate`` and ``with_kube`` the scenario's cluster gets a simulated Kubernetes API server behind
    its kubeconfig, so commands that read workloads or exec into pods work offline.
    """
    target = resolve_target(
        resource_group=resource_group,
        name=name,
        subscription=subscription,
        simulate=simulate,
        with_kube=with_kube and bool(simulate),
    )
    try:
        yield target
    finally:
        kube = getattr(target, "kube", None)
        if kube is not None:
            kube.stop()


def findings_table(title: str, findings: Sequence[Any], width: int | None = None) -> Any:
    """Render findings as a rich table: severity, code, resource, message and what to do (runbook named).

    Used for the results of preflight (every FAQ rule) and lint (the FAQ's workload rules). Below 100 columns
    the resource column drops (the finding names it) so that the message and what to do stay readable.
    """
    from rich.table import Table

    table = Table(title=title, show_lines=True, title_justify="left")
    # Codes and severities stay whole so that they can be searched for in logs.
    table.add_column("severity", no_wrap=True)
    table.add_column("code", no_wrap=True)
    narrow = width is not None and width < 100
    columns = ("finding", "what to do") if narrow else ("resource", "finding", "what to do")
    for column in columns:
        table.add_column(column, overflow="fold")
    for f in findings:
        severity = f.severity.value
        fix = f.remediation + (f" (runbook: {f.runbook})" if f.runbook else "")
        message = f"{f.message} ({f.resource})" if narrow and f.resource else f.message
        cells = [message, fix] if narrow else [f.resource or "-", f.message, fix]
        table.add_row(f"[{_SEVERITY_STYLE.get(severity, '')}]{severity}[/]", f.code, *cells)
    return table


def _exit_code(findings: Sequence[Any]) -> int:
    severities = {f.severity.value for f in findings}
    if "error" in severities:
        return 2
    return 1 if "warning" in severities else 0


def _summary(findings: Sequence[Any]) -> str:
    counts = {s: sum(1 for f in findings if f.severity.value == s) for s in ("error", "warning", "info")}
    return f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info"


def preflight(
    resource_group: ResourceGroup = None,
    name: ClusterName = None,
    subscription: Subscription = None,
    simulate: Simulate = None,
    with_workloads: Annotated[
        bool,
        typer.Option(
            "--with-workloads",
            help="Also read the cluster's workloads through the Kubernetes API and lint them.",
        ),
    ] = False,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            metavar="NAMESPACE",
            help="With --with-workloads: only this namespace (default: all).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Grade Windows and Kubernetes lifecycle dates against this day (YYYY-MM-DD); default today "
            "(the simulator's day with --simulate).",
        ),
    ] = None,
    lifecycle_data: Annotated[
        Path | None,
        typer.Option(
            "--lifecycle-data",
            metavar="FILE",
            help="A newer lifecycle data file (YAML) to use instead of the built-in one "
            "(also: AKS_WINDOWS_OPS_LIFECYCLE_DATA).",
        ),
    ] = None,
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Check a cluster against every rule of the Windows node pools FAQ and the lifecycle dates; reads only.

    Exit code 0 clean (info only), 1 warnings, 2 errors.
    """
    from aks_windows_ops.azure.facts import read_snapshot
    from aks_windows_ops.lifecycle_file import load_lifecycle
    from aks_windows_ops.rules.preflight import preflight as run_preflight

    try:
        day = parse_as_of(as_of)
        try:
            lifecycle = load_lifecycle(lifecycle_data)
        except E.InvalidInput as err:
            if lifecycle_data is None:
                raise
            raise E.InvalidInput([f"--lifecycle-data: {p}" for p in err.problems]) from None
        with open_target(
            resource_group=resource_group,
            name=name,
            subscription=subscription,
            simulate=simulate,
            with_kube=with_workloads,
        ) as target:
            snap = read_snapshot(target.clients, target.resource_group, target.name)
            workloads = None
            if with_workloads:
                from aks_windows_ops.twin import cluster_api_client, read_cluster_workloads

                api = cluster_api_client(target.clients, target.resource_group, target.name)
                try:
                    workloads = read_cluster_workloads(api, namespace=namespace)
                finally:
                    api.close()
            if day is None and target.fake is not None:
                day = target.fake.now_date()
        report = run_preflight(snap, workloads, as_of=day, lifecycle=lifecycle)
        data = report.to_dict()
        if workloads is not None:
            data["workloads_read"] = len(workloads)
        title = f"Preflight {report.cluster}: {_summary(report.findings)}"
        emit(data, output, query, table=lambda _: _findings_view(title, report.findings))
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    raise typer.Exit(report.exit_code)


def _findings_view(title: str, findings: Sequence[Any]) -> Any:
    if not findings:
        return f"{title}: no findings"
    return findings_table(title, findings, out_console().width)


def lint(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILES...", help="Manifest files or directories (YAML or JSON).")
    ],
    kubernetes_version: Annotated[
        str | None,
        typer.Option(
            "--kubernetes-version",
            metavar="VERSION",
            help="The cluster's version (for the session affinity minimum, 1.20).",
        ),
    ] = None,
    windows_builds: Annotated[
        list[str] | None,
        typer.Option(
            "--windows-build",
            metavar="BUILD",
            help="Windows builds of the cluster's pools, e.g. 10.0.20348 (repeat).",
        ),
    ] = None,
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Lint Kubernetes manifests offline against the FAQ's Windows workload rules.

    Exit code 0 clean (info only), 1 warnings, 2 errors.
    """
    from aks_windows_ops.manifests import load_manifests
    from aks_windows_ops.rules.workloads import lint_workloads

    try:
        bad_builds = [b for b in windows_builds or [] if not re.fullmatch(r"10\.0\.\d{5}(\.\d+)?", b)]
        if bad_builds:
            raise E.InvalidInput(f"--windows-build must look like 10.0.20348, got {bad_builds[0][:40]!r}")
        check_kubernetes_version(kubernetes_version)
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            raise E.InvalidInput([f"{m}: no such file or directory" for m in missing])
        manifests = load_manifests(list(files))
        found = lint_workloads(
            manifests,
            windows_builds=windows_builds or None,
            kubernetes_version=kubernetes_version,
        )
        ordered = sorted(found, key=lambda f: -f.severity.rank)
        code = _exit_code(ordered)
        title = f"Lint of {len(manifests)} manifest(s): {_summary(ordered)}"
        emit(
            {
                "files": [str(f) for f in files],
                "manifests": len(manifests),
                "exit_code": code,
                "counts": {
                    s: sum(1 for f in ordered if f.severity.value == s) for s in ("error", "warning", "info")
                },
                "findings": [f.to_dict() for f in ordered],
            },
            output,
            query,
            table=lambda _: _findings_view(title, ordered),
        )
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    raise typer.Exit(code)


def snapshot(
    out: Annotated[
        Path,
        typer.Option("--out", metavar="FILE", help="Scenario file to write (YAML); '-' for standard output."),
    ],
    resource_group: ResourceGroup = None,
    name: ClusterName = None,
    subscription: Subscription = None,
    simulate: Simulate = None,
    with_workloads: Annotated[
        bool,
        typer.Option(
            "--with-workloads", help="Include the workloads (sanitised manifests) read through Kubernetes."
        ),
    ] = False,
    include_system: Annotated[
        bool,
        typer.Option(
            "--include-system-namespaces", help="Keep kube-system, kube-public and kube-node-lease objects."
        ),
    ] = False,
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Export a cluster's shape to a scenario file, to rehearse any procedure on it with --simulate FILE.

    Pools, versions, node images, subnets and their usage, the Windows profile (never a password) and, with
    --with-workloads, sanitised workloads. Reads only. With --out - the scenario is the output document
    (YAML by default, or the chosen --output); otherwise the output document describes the file written.
    """
    from aks_windows_ops.twin import (
        SYSTEM_NAMESPACES,
        cluster_api_client,
        export_twin,
        read_cluster_workloads,
        write_twin,
    )

    try:
        to_stdout = str(out) == "-"
        if not to_stdout and not out.parent.exists():
            raise E.InvalidInput(f"--out {out}: directory {out.parent} does not exist")
        with open_target(
            resource_group=resource_group,
            name=name,
            subscription=subscription,
            simulate=simulate,
            with_kube=with_workloads,
        ) as target:
            workloads = None
            if with_workloads:
                api = cluster_api_client(target.clients, target.resource_group, target.name)
                try:
                    workloads = read_cluster_workloads(
                        api, exclude_namespaces=() if include_system else SYSTEM_NAMESPACES
                    )
                finally:
                    api.close()
            scenario = export_twin(target.clients, target.resource_group, target.name, workloads=workloads)
        for line in scenario.get("notes") or []:
            note(line)
        if to_stdout:
            emit(scenario, OutputFormat.yaml if output is OutputFormat.table else output, query)
            raise typer.Exit(0)
        path = write_twin(scenario, out)
        cluster = next(
            c
            for sub in scenario["subscriptions"]
            for rg in sub["resource_groups"]
            for c in rg.get("clusters") or []
        )
        document = {
            "file": str(path),
            "pools": len(cluster["pools"]),
            "workloads": len(cluster.get("workloads") or []) if with_workloads else None,
            "rehearse": f"--simulate {path}",
        }
        emit(
            document,
            output,
            query,
            table=lambda d: (
                f"wrote {d['file']}: {d['pools']} pool(s)"
                + (f", {d['workloads']} workload object(s)" if with_workloads else "")
                + f". Rehearse on it with {d['rehearse']}"
            ),
        )
    except E.AksWindowsOpsError as err:
        raise fail(err) from err


def register(app: typer.Typer) -> None:
    """Add the check commands (``preflight``, ``lint``, ``snapshot``) to the CLI."""
    app.command()(preflight)
    app.command()(lint)
    app.command()(snapshot)
