"""Read-only checks: ``preflight`` (a cluster), ``lint`` (manifest files) and ``snapshot`` (export a twin).

Exit codes follow the CLI's conventions: 0 clean (info only), 1 warnings, 2 errors found (or the command
failed), 4 invalid input.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.app import (
    NAME_OPT,
    OUT_OPT,
    RG_OPT,
    SIM_OPT,
    SUB_OPT,
    Target,
    _console,
    emit_json,
    fail,
    resolve_target,
)

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
        raise E.InvalidInput(f"--as-of must be a date YYYY-MM-DD, got {text!r}") from None


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

    With ``--simulate`` and ``with_kube`` the scenario's cluster gets a ``FakeKubernetes`` behind its kubeconfig
    (DESIGN "The simulator"), so commands that read workloads or exec into pods work offline.
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


def findings_table(title: str, findings: Sequence[Any]) -> Any:
    """Render findings as a rich table: severity, code, resource, message and what to do (runbook named).

    Used for preflight (REFERENCE sections 1-5) and lint (REFERENCE section 1) results.
    """
    from rich.table import Table

    table = Table(title=title, show_lines=True)
    # Codes and severities stay whole so that they can be searched for in logs.
    table.add_column("severity", no_wrap=True)
    table.add_column("code", no_wrap=True)
    for column in ("resource", "finding", "what to do"):
        table.add_column(column, overflow="fold")
    for f in findings:
        severity = f.severity.value
        fix = f.remediation + (f" (runbook: {f.runbook})" if f.runbook else "")
        table.add_row(
            f"[{_SEVERITY_STYLE.get(severity, '')}]{severity}[/]", f.code, f.resource or "-", f.message, fix
        )
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
    resource_group: str | None = RG_OPT,
    name: str | None = NAME_OPT,
    subscription: str | None = SUB_OPT,
    simulate: str | None = SIM_OPT,
    with_workloads: bool = typer.Option(
        False,
        "--with-workloads",
        help="Also read the cluster's workloads through the Kubernetes API and lint them.",
    ),
    namespace: str | None = typer.Option(
        None, "--namespace", help="With --with-workloads: only this namespace (default: all)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Grade Windows and Kubernetes lifecycle dates against this day (YYYY-MM-DD); default today "
        "(the simulator's day with --simulate).",
    ),
    lifecycle_data: Path | None = typer.Option(
        None,
        "--lifecycle-data",
        help="A newer lifecycle data file (YAML) to use instead of the built-in one "
        "(also: AKS_WINDOWS_OPS_LIFECYCLE_DATA).",
    ),
    output: str = OUT_OPT,
) -> None:
    """Check a cluster against every rule of the Windows node pools FAQ and the lifecycle dates; reads only.

    Exit code 0 clean (info only), 1 warnings, 2 errors.
    """
    from aks_windows_ops.azure.facts import read_snapshot
    from aks_windows_ops.lifecycle_file import load_lifecycle
    from aks_windows_ops.rules.preflight import preflight as run_preflight

    try:
        if output not in ("table", "json"):
            raise E.InvalidInput(f"--output must be table or json, got {output!r}")
        day = parse_as_of(as_of)
        lifecycle = load_lifecycle(lifecycle_data)
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
    except Exception as err:
        raise fail(err) from err
    if output == "json":
        data = report.to_dict()
        if workloads is not None:
            data["workloads_read"] = len(workloads)
        emit_json(data)
    else:
        console = _console()
        title = f"Preflight {report.cluster}: {_summary(report.findings)}"
        if report.findings:
            console.print(findings_table(title, report.findings))
        else:
            console.print(f"{title}: no findings")
    raise typer.Exit(report.exit_code)


def lint(
    files: list[Path] = typer.Argument(..., help="Manifest files or directories (YAML or JSON)."),
    kubernetes_version: str | None = typer.Option(
        None, "--kubernetes-version", help="The cluster's version (for the session affinity minimum, 1.20)."
    ),
    windows_builds: list[str] = typer.Option(
        [], "--windows-build", help="Windows builds of the cluster's pools, e.g. 10.0.20348 (repeat)."
    ),
    output: str = OUT_OPT,
) -> None:
    """Lint Kubernetes manifests offline against the FAQ's Windows workload rules (REFERENCE section 1).

    Exit code 0 clean (info only), 1 warnings, 2 errors.
    """
    from aks_windows_ops.manifests import load_manifests
    from aks_windows_ops.rules.workloads import lint_workloads

    try:
        if output not in ("table", "json"):
            raise E.InvalidInput(f"--output must be table or json, got {output!r}")
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            raise E.InvalidInput([f"{m}: no such file or directory" for m in missing])
        manifests = load_manifests(list(files))
        found = lint_workloads(
            manifests,
            windows_builds=windows_builds or None,
            kubernetes_version=kubernetes_version,
        )
    except Exception as err:
        raise fail(err) from err
    ordered = sorted(found, key=lambda f: -f.severity.rank)
    code = _exit_code(ordered)
    if output == "json":
        emit_json(
            {
                "files": [str(f) for f in files],
                "manifests": len(manifests),
                "exit_code": code,
                "counts": {
                    s: sum(1 for f in ordered if f.severity.value == s) for s in ("error", "warning", "info")
                },
                "findings": [f.to_dict() for f in ordered],
            }
        )
    else:
        console = _console()
        title = f"Lint of {len(manifests)} manifest(s): {_summary(ordered)}"
        if ordered:
            console.print(findings_table(title, ordered))
        else:
            console.print(f"{title}: no findings")
    raise typer.Exit(code)


def snapshot(
    resource_group: str | None = RG_OPT,
    name: str | None = NAME_OPT,
    subscription: str | None = SUB_OPT,
    simulate: str | None = SIM_OPT,
    out: Path = typer.Option(..., "--out", help="Scenario file to write (YAML); '-' for standard output."),
    with_workloads: bool = typer.Option(
        False, "--with-workloads", help="Include the workloads (sanitised manifests) read through Kubernetes."
    ),
    include_system: bool = typer.Option(
        False,
        "--include-system-namespaces",
        help="Keep kube-system, kube-public and kube-node-lease objects.",
    ),
) -> None:
    """Export a cluster's shape to a scenario file, to rehearse any procedure on it with --simulate FILE.

    Pools, versions, node images, subnets and their usage, the Windows profile (never a password) and, with
    --with-workloads, sanitised workloads (DESIGN "Scenario files"). Reads only.
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
    except Exception as err:
        raise fail(err) from err
    if to_stdout:
        import yaml

        typer.echo(yaml.safe_dump(scenario, sort_keys=False, width=120), nl=False)
        raise typer.Exit(0)
    path = write_twin(scenario, out)
    cluster = next(
        c
        for sub in scenario["subscriptions"]
        for rg in sub["resource_groups"]
        for c in rg.get("clusters") or []
    )
    console = _console()
    console.print(
        f"wrote {path}: {len(cluster['pools'])} pool(s)"
        + (f", {len(cluster.get('workloads') or [])} workload object(s)" if with_workloads else "")
        + f". Rehearse on it with --simulate {path}",
        soft_wrap=True,
        highlight=False,
    )
    for note in scenario.get("notes") or []:
        console.print(f"[yellow]note[/]: {note}", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the check commands (``preflight``, ``lint``, ``snapshot``) to the CLI."""
    app.command()(preflight)
    app.command()(lint)
    app.command()(snapshot)
