"""Tables of a :class:`~aks_windows_ops.fleet.report.FleetReport`: ``rich`` (terminal), plain text, HTML.

One row per cluster with the FAQ facts the audit reads (OS SKU, node image age, Windows Server 2019 exposure,
Azure Hybrid Benefit drift, findings by severity); rows with errors are shown in red.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from aks_windows_ops.fleet.rows import COLUMNS
from aks_windows_ops.htmltable import html_table as _html_table

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.fleet.report import FleetReport

__all__ = ["html_table", "plain_text", "rich_table"]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def rich_table(report: FleetReport) -> Any:
    """The report as a ``rich.table.Table``: one row per cluster, grouped by subscription."""
    from rich.table import Table

    s = report.summary()
    table = Table(
        title=(
            f"Fleet audit: {_plural(s['clusters'], 'cluster')} in {_plural(s['subscriptions'], 'subscription')}, "
            f"{s['failed']} failed, {_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')}"
            + ("" if report.complete else " (stopped by the time budget)")
        )
    )
    table.add_column("subscription", no_wrap=True)
    table.add_column("resource group", no_wrap=True)
    table.add_column("cluster", no_wrap=True)
    table.add_column("k8s", no_wrap=True)
    table.add_column("Windows pools", min_width=18)
    table.add_column("lag (d)", justify="right", no_wrap=True)
    table.add_column("WS2019", min_width=14)
    table.add_column("AHUB", no_wrap=True)
    for severity in ("E", "W", "I"):
        table.add_column(severity, justify="right", no_wrap=True)
    table.add_column("error", overflow="fold", ratio=1, min_width=20)
    for i, row in enumerate(report.rows):
        first = i == 0 or report.rows[i - 1].subscription != row.subscription
        last = i + 1 == len(report.rows) or report.rows[i + 1].subscription != row.subscription
        bad = not row.ok or row.errors > 0
        if row.ok:
            exposure = row.ws2019_exposure
            if row.ws2019_pools:
                exposure += ": " + " ".join(row.ws2019_pools)
            ahub = "on" if row.license_type == "Windows_Server" else "off"
            if row.ahub_drift:
                ahub += f", {row.ahub_drift} drift"
            counts = [str(row.errors), str(row.warnings), str(row.infos)]
        else:
            exposure, ahub, counts = "-", "-", ["-", "-", "-"]
        table.add_row(
            row.subscription if first else "",  # the subscription heads its group of rows
            _cell(row.resource_group),
            _cell(row.cluster),
            _cell(row.kubernetes_version),
            _cell(" ".join(f"{p.name}:{p.os_sku or 'Windows'}" for p in row.windows_pools)),
            _cell(row.max_image_lag_days),
            exposure,
            ahub,
            *counts,
            _cell(row.error),
            style="red" if bad else None,
            end_section=last,
        )
    return table


def plain_text(report: FleetReport, *, width: int = 180) -> str:
    """The report as a plain-text table (no colour codes)."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(report.to_table())
    return buffer.getvalue()


def html_table(report: FleetReport) -> str:
    """The report as an HTML table with a caption of totals (how notebooks show it)."""
    s = report.summary()
    records = report.to_records()
    styles = ["color:#b00020" if bool(r["error"]) or (r["errors"] or 0) > 0 else None for r in records]
    caption = (
        f"{_plural(s['clusters'], 'cluster')} in {_plural(s['subscriptions'], 'subscription')}: "
        f"{s['failed']} failed, {_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')}, "
        f"{s['ws2019_exposed']} exposed to the WS2019 retirement, {s['ahub_drift']} AHUB drift"
        + ("" if report.complete else " (incomplete: time budget)")
    )
    rows = ([_cell(r[c]) for c in COLUMNS] for r in records)
    return _html_table(COLUMNS, rows, css="aks-windows-ops-fleet", caption=caption, row_styles=styles)
