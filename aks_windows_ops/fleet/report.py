"""The fleet audit's result: :class:`FleetReport`, its totals, and its JSON, CSV and pandas forms.

The table renderers (text, ``rich``, HTML for notebooks) live in :mod:`aks_windows_ops.fleet.render`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from aks_windows_ops.fleet.rows import COLUMNS, FleetRow, Ws2019Exposure

__all__ = ["FleetReport"]


@dataclass(frozen=True)
class FleetReport:
    """The result of :func:`audit`: one :class:`FleetRow` per cluster, sorted by subscription, group, name.

    Renders as text (``to_text``, a ``rich`` table), HTML in notebooks (``_repr_html_``), JSON, CSV and a
    pandas ``DataFrame``; :attr:`exit_code` follows the CLI's convention.

    Attributes:
        rows: the clusters (and subscriptions that could not be listed).
        subscriptions: the subscriptions audited.
        complete: every cluster was attempted within the time budget.
        elapsed: seconds on the audit's clock.
        api_calls: SDK calls made (one request each, unless azure-core retried or a list had several pages).
        waited: seconds spent waiting for rate-limit tokens, summed over workers.
        throttled: clusters read again after ARM answered 429.
        source: ``graph`` or ``arm``: the path the audit took (see :func:`~aks_windows_ops.fleet.audit.audit`).
        source_note: why the audit fell back to ARM, when it did.
        totals: counts over every row when the rows were not kept (``keep_rows=False``); ``None`` otherwise.
    """

    rows: tuple[FleetRow, ...]
    subscriptions: tuple[str, ...] = ()
    complete: bool = True
    elapsed: float = 0.0
    api_calls: int = 0
    waited: float = 0.0
    throttled: int = 0
    source: str = "arm"
    source_note: str | None = None
    totals: dict[str, int] | None = None

    @property
    def failed(self) -> tuple[FleetRow, ...]:
        """Rows that could not be audited."""
        return tuple(r for r in self.rows if not r.ok)

    @property
    def exit_code(self) -> int:
        """The CLI's convention: 2 errors found or a cluster failed, 1 warnings, 0 clean."""
        s = self.summary()
        if self.failed or s["errors"]:
            return 2
        if s["warnings"]:
            return 1
        return 0

    def summary(self) -> dict[str, Any]:
        """Totals over the fleet."""
        ok = [r for r in self.rows if r.ok]
        counts: dict[str, Any] = {
            "clusters": sum(1 for r in self.rows if r.cluster),
            "windows_pools": sum(len(r.windows_pools) for r in ok),
            "ws2019_exposed": sum(1 for r in ok if r.ws2019_exposure != Ws2019Exposure.NONE),
            "ahub_drift": sum(r.ahub_drift or 0 for r in ok),
            "errors": sum(r.errors for r in ok),
            "warnings": sum(r.warnings for r in ok),
            "infos": sum(r.infos for r in ok),
        }
        if self.totals is not None:
            counts.update(self.totals)
        return {
            "subscriptions": len(self.subscriptions),
            "clusters": counts["clusters"],
            "failed": len(self.failed),
            "windows_pools": counts["windows_pools"],
            "ws2019_exposed": counts["ws2019_exposed"],
            "ahub_drift": counts["ahub_drift"],
            "errors": counts["errors"],
            "warnings": counts["warnings"],
            "infos": counts["infos"],
            "complete": self.complete,
            "elapsed_seconds": round(self.elapsed, 3),
            "api_calls": self.api_calls,
            "throttled": self.throttled,
            "source": self.source,
            "source_note": self.source_note,
        }

    def to_records(self) -> list[dict[str, Any]]:
        """The rows flattened to :data:`COLUMNS`."""
        return [r.record() for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report: the summary and every row in full."""
        return {"summary": self.summary(), "columns": list(COLUMNS), "rows": [r.to_dict() for r in self.rows]}

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON (:meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent, default=str)

    def to_csv(self) -> str:
        """The flattened rows as CSV with a header line of :data:`COLUMNS`."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for record in self.to_records():
            writer.writerow({k: "" if v is None else v for k, v in record.items()})
        return buffer.getvalue()

    def to_dataframe(self) -> Any:
        """The flattened rows as a ``pandas.DataFrame`` (pandas is optional: the ``notebooks`` extra).

        Raises:
            ImportError: pandas is not installed.
        """
        try:
            import pandas
        except ImportError as err:
            raise ImportError(
                "FleetReport.to_dataframe needs pandas: pip install 'aks-windows-ops[notebooks]'"
            ) from err
        return pandas.DataFrame(self.to_records(), columns=list(COLUMNS))

    def to_table(self) -> Any:
        """The report as a ``rich.table.Table``."""
        from aks_windows_ops.fleet.render import rich_table

        return rich_table(self)

    def __rich__(self) -> Any:
        return self.to_table()

    def to_text(self, *, width: int = 180) -> str:
        """The report as a plain-text table (no colour codes)."""
        from aks_windows_ops.fleet.render import plain_text

        return plain_text(self, width=width)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        from aks_windows_ops.fleet.render import html_table

        return html_table(self)
