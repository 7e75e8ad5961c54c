"""``aks-windows-ops audit``: run the fleet audit and print its report as a table, JSON or CSV."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.fleet.audit import INCLUDE_ALL, audit
from aks_windows_ops.fleet.stream import CsvStream, JsonStream, RowStream

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.azure.clients import AzureClients

__all__ = ["audit_command"]


def audit_command(
    clients: AzureClients,
    *,
    subscriptions: Sequence[str] | None = None,
    output: str = "table",
    resource_group: str | None = None,
    concurrency: int = 16,
    time_budget: float | None = None,
    include: Iterable[str] = INCLUDE_ALL,
    write: Callable[[str], Any] | None = None,
    console: Any = None,
    source: str = "graph",
) -> int:
    """Run ``aks-windows-ops audit`` and return its exit code (0 clean, 1 warnings, 2 errors or failures).

    Implements the fleet audit (ARM's limits, the FAQ checks of ``rules.preflight``) for the CLI.

    The CLI builds ``clients`` (for Azure, or for the simulator with ``--simulate``); this function never
    reaches the simulator itself.

    Args:
        clients: the client bundle (its subscription is audited when ``subscriptions`` is not given).
        subscriptions: subscription ids.
        output: ``table``, ``json`` or ``csv``.
        resource_group: only clusters of this resource group.
        concurrency: worker threads.
        time_budget: seconds before the audit stops starting clusters.
        include: what to read (see :func:`audit`).
        write: where machine-readable output goes (``sys.stdout.write`` by default).
        console: a ``rich`` console for the table (a new one by default).
        source: ``graph`` (Resource Graph, falling back to ARM) or ``arm`` (see :func:`audit`).

    JSON and CSV are written row by row as clusters complete (``fleet.stream``), so a large fleet's report is
    never held in memory whole; the table needs every row and is printed at the end.

    Raises:
        InvalidInput: unknown output or source.
    """
    import sys

    if output not in ("table", "json", "csv"):
        raise InvalidInput(f"--output must be table, json or csv, got {output!r}")
    subs = list(subscriptions or [clients.subscription_id])
    out = write or sys.stdout.write
    stream: RowStream | None = None
    if output == "json":
        stream = JsonStream(out)
    elif output == "csv":
        stream = CsvStream(out)
    report = audit(
        clients,
        subscriptions=subs,
        resource_group=resource_group,
        concurrency=concurrency,
        time_budget=time_budget,
        include=include,
        source=source,
        on_row=stream,
        keep_rows=stream is None,
    )
    if stream is not None:
        stream.close(report)
    else:
        if console is None:
            from rich.console import Console

            console = Console()
            if not console.is_terminal:
                console = Console(width=180)
        console.print(report.to_table())
    return report.exit_code
