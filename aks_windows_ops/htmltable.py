"""One HTML table renderer for every ``_repr_html_`` and report of the library (plans, fleet, licenses, notebooks).

Every cell is HTML-escaped unless it is :class:`Html` (markup the caller built from escaped parts), so a value
read from Azure or a manifest can never inject markup into a notebook (design principle "secrets never print":
what is shown comes from plans, records and reports).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

__all__ = ["Html", "html_table"]


class Html(str):
    """Markup inserted as it is (build it from :func:`html.escape`-d parts)."""

    __slots__ = ()


def _cell(value: Any, none: str) -> str:
    if isinstance(value, Html):
        return str(value)
    return html.escape(none if value is None else str(value))


def html_table(
    headers: Iterable[str],
    rows: Iterable[Iterable[Any]],
    *,
    css: str = "",
    caption: str | None = None,
    row_styles: Iterable[str | None] | None = None,
    none: str = "-",
) -> str:
    """Render a table: a header row, then one row per item, every cell escaped (unless :class:`Html`).

    Args:
        headers: the column titles.
        rows: the cells of each row.
        css: the table's ``class``.
        caption: a caption (escaped).
        row_styles: an inline ``style`` per row (``None`` for none), in the order of ``rows``.
        none: what a ``None`` cell shows.
    """
    head = "".join(f"<th>{_cell(h, none)}</th>" for h in headers)
    styles = iter(row_styles) if row_styles is not None else None
    body = []
    for row in rows:
        style = next(styles, None) if styles is not None else None
        attr = f' style="{html.escape(style)}"' if style else ""
        body.append(f"<tr{attr}>" + "".join(f"<td>{_cell(v, none)}</td>" for v in row) + "</tr>")
    cls = f' class="{html.escape(css)}"' if css else ""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption is not None else ""
    return f"<table{cls}>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
