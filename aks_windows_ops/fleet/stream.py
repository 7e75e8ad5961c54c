"""Write the audit's rows as they complete, so that a large fleet's report never sits in memory whole.

Pass a writer as ``audit(..., on_row=writer, keep_rows=False)`` and call :meth:`RowStream.close` with the report:

- :class:`CsvStream` writes the header of :data:`~aks_windows_ops.fleet.rows.COLUMNS`, then one line per row;
- :class:`JsonStream` writes ``{"columns": [...], "rows": [`` then each row in full as it completes, and closes
  with ``], "summary": {...}}``: one JSON document, the same keys as ``FleetReport.to_json``.

Rows arrive in completion order (the report's own ``rows`` are sorted by subscription, group and name). Writers
are safe to call from the audit's worker threads.
"""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aks_windows_ops.fleet.rows import COLUMNS, FleetRow

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.fleet.report import FleetReport

__all__ = ["CsvStream", "JsonStream", "RowStream"]


class RowStream:
    """Base of the streaming writers: a lock, the output function, and how many rows were written.

    Args:
        write: where the text goes (``sys.stdout.write``, a file's ``write`` ...).
    """

    def __init__(self, write: Callable[[str], Any]) -> None:
        self._write = write
        self._lock = threading.Lock()
        #: Rows written so far.
        self.rows = 0
        self._opened = False

    def __call__(self, row: FleetRow) -> None:
        """Write one row (the ``on_row`` callback of :func:`~aks_windows_ops.fleet.audit.audit`)."""
        text = self._row(row)
        with self._lock:
            if not self._opened:
                self._write(self._head())
                self._opened = True
            self._write(text)
            self.rows += 1

    def close(self, report: FleetReport) -> None:
        """Finish the document with what only the finished audit knows (the summary)."""
        with self._lock:
            if not self._opened:
                self._write(self._head())
                self._opened = True
            self._write(self._tail(report))

    def _head(self) -> str:
        return ""

    def _row(self, row: FleetRow) -> str:
        raise NotImplementedError

    def _tail(self, report: FleetReport) -> str:
        return ""


class _Line:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)


class CsvStream(RowStream):
    """CSV with a header line of :data:`~aks_windows_ops.fleet.rows.COLUMNS`, one line per row as it completes."""

    def _head(self) -> str:
        return ",".join(COLUMNS) + "\n"

    def _row(self, row: FleetRow) -> str:
        line = _Line()
        csv.DictWriter(line, fieldnames=list(COLUMNS), lineterminator="\n").writerow(
            {k: "" if v is None else v for k, v in row.record().items()}
        )
        return line.text


class JsonStream(RowStream):
    """One JSON document: the columns, every row in full as it completes, then the summary."""

    def _head(self) -> str:
        return '{"columns": ' + json.dumps(list(COLUMNS)) + ', "rows": [\n'

    def _row(self, row: FleetRow) -> str:
        return ("" if self.rows == 0 else ",\n") + json.dumps(row.to_dict(), default=str)

    def __call__(self, row: FleetRow) -> None:
        """Write one row (the separator depends on the rows already written, so it is chosen under the lock)."""
        with self._lock:
            if not self._opened:
                self._write(self._head())
                self._opened = True
            self._write(self._row(row))
            self.rows += 1

    def _tail(self, report: FleetReport) -> str:
        return '\n], "summary": ' + json.dumps(report.summary(), default=str) + "}\n"
