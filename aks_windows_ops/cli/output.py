"""What the commands print, like ``az``: the document on standard output, everything else on standard error.

:func:`emit` writes one document in the chosen ``--output`` format after the ``--query`` (JMESPath) is applied;
notes, warnings, progress and errors go to standard error (:func:`note`, :func:`warn`, :func:`err_console`),
so ``-o json | jq`` always parses. ``--only-show-errors`` silences notes and warnings, ``--verbose`` adds
progress lines when standard error is not a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aks_windows_ops import errors as E
from aks_windows_ops.cli.options import OutputFormat

__all__ = [
    "SESSION",
    "Session",
    "emit",
    "err_console",
    "note",
    "out_console",
    "to_tsv",
    "warn",
]


@dataclass
class Session:
    """Flags of the current invocation that every part of the CLI reads (set by the entry point)."""

    debug: bool = False
    verbose: bool = False
    only_show_errors: bool = False
    #: The ``--output`` seen on the command line (known before parsing, for error documents).
    output: str = "table"
    #: Values never to be printed (values of secret options, stray arguments).
    hidden: list[str] = field(default_factory=list)
    #: The command a usage error belongs to (for its help hint).
    usage_command: str = "aks-windows-ops"

    def reset(self) -> None:
        """Forget the flags of a previous invocation (tests run many in one process)."""
        self.debug = self.verbose = self.only_show_errors = False
        self.output = "table"
        self.hidden = []
        self.usage_command = "aks-windows-ops"


SESSION = Session()


def _width(stream: Any) -> int | None:
    if stream.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 200


def out_console(width: int | None = None) -> Any:
    """A ``rich`` console on standard output (the document); ``width`` overrides the terminal's."""
    from rich.console import Console

    return Console(file=sys.stdout, width=width or _width(sys.stdout), highlight=False)


def err_console() -> Any:
    """A ``rich`` console on standard error (notes, warnings, progress, errors)."""
    from rich.console import Console

    return Console(file=sys.stderr, width=_width(sys.stderr), highlight=False, soft_wrap=True)


def note(message: str) -> None:
    """Print a note for people on standard error (silenced by ``--only-show-errors``)."""
    if not SESSION.only_show_errors:
        err_console().print(f"[dim]{_escape(message)}[/]")


def warn(message: str) -> None:
    """Print a warning on standard error (silenced by ``--only-show-errors``)."""
    if not SESSION.only_show_errors:
        err_console().print(f"[yellow]WARNING[/]: {_escape(message)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _query(document: Any, query: str | None) -> Any:
    if not query:
        return document
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.search(query, document)
    except JMESPathError as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise E.InvalidInput(
            f"--query is not a valid JMESPath expression: {first}",
            remediation="Fix the query; the syntax is described at https://jmespath.org.",
        ) from None


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def to_tsv(document: Any) -> str:
    """Render a document as ``az`` does for ``-o tsv``: one line per item, tab-separated scalar fields.

    Nested objects and lists inside an item are left out (query them with ``--query`` to include them).
    """
    items = document if isinstance(document, list) else [document]
    lines = []
    for item in items:
        if isinstance(item, dict):
            values = [_scalar(v) for v in item.values() if not isinstance(v, dict | list)]
        elif isinstance(item, list):
            values = [_scalar(v) for v in item if not isinstance(v, dict | list)]
        else:
            values = [_scalar(item)]
        lines.append("\t".join(v.replace("\t", " ").replace("\n", " ") for v in values))
    return "\n".join(lines) + ("\n" if lines else "")


def _generic_table(document: Any) -> Any:
    from rich.table import Table

    rows = document if isinstance(document, list) else [document]
    table = Table(show_edge=False)
    if rows and all(isinstance(r, dict) for r in rows):
        columns: list[str] = []
        for row in rows:
            for key, value in row.items():
                if key not in columns and not isinstance(value, dict | list):
                    columns.append(key)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(_scalar(row.get(c)) for c in columns))
    else:
        table.add_column("value", overflow="fold")
        for row in rows:
            table.add_row(json.dumps(row, default=str) if isinstance(row, dict | list) else _scalar(row))
    return table


def emit(
    document: Any,
    output: OutputFormat | str,
    query: str | None = None,
    *,
    table: Callable[[Any], Any] | None = None,
) -> None:
    """Write ``document`` to standard output in the ``--output`` format, after the ``--query``.

    Args:
        document: a JSON-ready value (the full detail: ``-o json`` shows everything).
        output: the format.
        query: a JMESPath expression, or ``None``.
        table: renders the (unqueried) document for ``-o table`` as a ``rich`` renderable or text; without it,
            or with a query, a generic table of the scalar fields is shown.

    Raises:
        InvalidInput: the query is not valid JMESPath.
    """
    fmt = OutputFormat(output.value if isinstance(output, OutputFormat) else str(output).lower())
    document = json.loads(json.dumps(document, default=str))  # tuples, dates and enums as JSON has them
    result = _query(document, query)
    if fmt is OutputFormat.none:
        return
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    elif fmt is OutputFormat.jsonc:
        if sys.stdout.isatty():
            from rich.json import JSON

            out_console().print(JSON(json.dumps(result, default=str)))
        else:
            sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    elif fmt is OutputFormat.yaml:
        import yaml

        sys.stdout.write(yaml.safe_dump(json.loads(json.dumps(result, default=str)), sort_keys=False))
    elif fmt is OutputFormat.tsv:
        sys.stdout.write(to_tsv(result))
    else:
        renderable = table(document) if table is not None and not query else _generic_table(result)
        if isinstance(renderable, str):
            sys.stdout.write(renderable if renderable.endswith("\n") else renderable + "\n")
        else:
            out_console().print(renderable)
    sys.stdout.flush()
