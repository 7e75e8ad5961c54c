"""Small display helpers for the Jupyter runbooks (design notes, "Layers": integrations; design principles "plan, then apply", "secrets never print").

- :func:`show` displays a plan, an apply result, a preflight report, a cluster snapshot, a license or fleet
  report (anything with ``_repr_html_``) as an HTML table in Jupyter, and as plain text elsewhere.
- :func:`to_html` returns that HTML, for tests and for saving a report.
- :class:`NotebookProgress` (or :func:`progress`) is an ``on_event`` callback for the ``apply_*`` functions:
  one progress line updated in place (an IPython display handle, no ipywidgets needed) and one line per
  finished step. Outside a notebook it prints the same lines.

IPython is imported only when something is displayed, so importing this module costs nothing. Every value is
HTML-escaped, and what is shown comes from plans, records and events, which never hold a secret (design principle "secrets never print").
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from aks_windows_ops.htmltable import html_table
from aks_windows_ops.runbooks.events import Event, EventKind, format_event
from aks_windows_ops.runbooks.plan import format_duration

__all__ = ["NotebookProgress", "in_notebook", "progress", "show", "to_html"]

_E = html.escape


def _ipython_display() -> Any:
    """Return ``IPython.display``, or ``None`` when IPython is not installed."""
    try:
        return importlib.import_module("IPython.display")
    except ImportError:
        return None


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel (an IPython kernel app, not a terminal IPython)."""
    try:
        ipython = importlib.import_module("IPython")
    except ImportError:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]], *, css: str = "") -> str:
    return html_table(headers, rows, css=css)


def _findings_html(findings: Iterable[Any]) -> str:
    rows = [
        (f.severity.value, f.code, f.resource, f.message, f.remediation, f.runbook or "", f.faq)
        for f in findings
    ]
    if not rows:
        return "<p>No findings.</p>"
    return _table(
        ("severity", "code", "resource", "message", "fix", "runbook", "FAQ"),
        rows,
        css="aks-windows-ops-findings",
    )


def _snapshot_html(snapshot: Any) -> str:
    rows = []
    for pool in snapshot.pools:
        vmss = snapshot.scale_set_for(pool.name)
        license_text = "-"
        if pool.is_windows:
            license_text = (vmss.license_type if vmss else None) or "None"
        latest = pool.latest_node_image_version
        rows.append(
            (
                pool.name,
                pool.mode.value,
                pool.os_sku or pool.os_type.value,
                pool.current_orchestrator_version,
                pool.count,
                pool.max_pods,
                pool.node_image_version,
                "current" if latest and latest == pool.node_image_version else latest,
                license_text,
                pool.provisioning_state,
            )
        )
    title = (
        f"<p><b>{_E(str(snapshot.ref))}</b>: Kubernetes {_E(snapshot.current_kubernetes_version)} "
        f"in {_E(snapshot.location)}, {_E(str(snapshot.provisioning_state))}; "
        f"licenseType={_E(str(snapshot.license_type or 'None'))}</p>"
    )
    headers = ("pool", "mode", "OS", "version", "nodes", "max pods", "node image", "latest image")
    return title + _table((*headers, "license", "state"), rows, css="aks-windows-ops-snapshot")


def _result_html(result: Any) -> str:
    rows = [
        (r.step_id, r.state.value, r.attempts, r.finished_at or r.started_at, r.message)
        for r in result.records
    ]
    status = result.status.value
    colour = {"succeeded": "#1b5e20", "paused": "#8a6d00", "failed": "#b00020"}.get(status, "inherit")
    parts = [
        f'<p><b style="color:{colour}">{_E(status)}</b>: {_E(result.message)} '
        f"(plan <code>{_E(result.plan_id)}</code>, {_E(format_duration(result.elapsed))})</p>",
        _table(("step", "state", "attempts", "when", "message"), rows, css="aks-windows-ops-result"),
    ]
    error = result.error
    if error is not None and status != "succeeded":
        fix = getattr(error, "remediation", "")
        parts.append(
            f"<p><b>{_E(type(error).__name__)}</b>: {_E(str(error))}"
            + (f"<br/>what to do: {_E(fix)}" if fix else "")
            + "</p>"
        )
    return "\n".join(parts)


def _preflight_html(report: Any) -> str:
    summary = (
        f"<p><b>Preflight {_E(report.cluster)}</b>: {len(report.errors)} error(s), "
        f"{len(report.warnings)} warning(s), {len(report.infos)} info</p>"
    )
    return summary + _findings_html(report.findings)


def to_html(obj: Any) -> str:
    """Return ``obj`` as HTML for a notebook (design principle "plan, then apply": plans and reports are tables).

    Understands objects with ``_repr_html_`` (``Plan``, ``LicenseReport``, ``FleetReport``), an
    ``ApplyResult``, a ``PreflightReport``, a ``ClusterSnapshot``, a sequence of ``Finding`` objects and a
    mapping (shown as a two-column table); anything else is shown as escaped preformatted text.

    Args:
        obj: what to render.
    """
    render = getattr(obj, "_repr_html_", None)
    if callable(render):
        return str(render())
    if hasattr(obj, "records") and hasattr(obj, "status") and hasattr(obj, "plan_id"):
        return _result_html(obj)
    if hasattr(obj, "findings") and hasattr(obj, "cluster") and hasattr(obj, "errors"):
        return _preflight_html(obj)
    if hasattr(obj, "pools") and hasattr(obj, "scale_set_for"):
        return _snapshot_html(obj)
    if isinstance(obj, (list, tuple)) and obj and all(hasattr(f, "severity") for f in obj):
        return _findings_html(obj)
    if isinstance(obj, Mapping):
        return _table(("key", "value"), ((k, v) for k, v in obj.items()), css="aks-windows-ops-mapping")
    return f"<pre>{_E(str(obj))}</pre>"


def _to_text(obj: Any) -> str:
    to_text = getattr(obj, "to_text", None)
    if callable(to_text):
        return str(to_text())
    if hasattr(obj, "records") and hasattr(obj, "status") and hasattr(obj, "plan_id"):
        lines = [f"{obj.status.value}: {obj.message}"]
        lines += [f"  {r.step_id}: {r.state.value} {r.message}".rstrip() for r in obj.records]
        return "\n".join(lines)
    return str(obj)


def show(obj: Any) -> None:
    """Display ``obj`` as an HTML table in Jupyter, or print it as text elsewhere (see :func:`to_html`).

    Args:
        obj: a plan, apply result, preflight report, snapshot, license or fleet report, findings, mapping.
    """
    display = _ipython_display()
    if display is not None and in_notebook():
        display.display(display.HTML(to_html(obj)))
    else:
        print(_to_text(obj))


_DONE_KINDS = (
    EventKind.STEP_SKIPPED,
    EventKind.STEP_SUCCEEDED,
    EventKind.STEP_FAILED,
    EventKind.PAUSED,
    EventKind.WARNING,
    EventKind.PLAN_FINISHED,
)
_MARKS = {
    EventKind.STEP_SKIPPED: ("-", "#666"),
    EventKind.STEP_SUCCEEDED: ("✓", "#1b5e20"),
    EventKind.STEP_FAILED: ("✗", "#b00020"),
    EventKind.PAUSED: ("⏸", "#8a6d00"),
    EventKind.WARNING: ("!", "#8a6d00"),
    EventKind.PLAN_FINISHED: ("■", "inherit"),
}


class NotebookProgress:
    """An ``on_event`` callback for Jupyter: a live progress line and one line per outcome (design principle "resumable by construction").

    The live line (``display(..., display_id=True)`` then ``update``) shows the running step, the time spent
    on the run's clock against the step's expected duration, and a ``<progress>`` bar; finished, skipped and
    failed steps, pauses and warnings are appended as lines of their own. Times are on the run's clock, so a
    rehearsal on the simulator shows the minutes Azure would take. Outside a notebook every event is printed
    with :func:`~aks_windows_ops.runbooks.events.format_event`.

    Args:
        live: update a line in place; ``None`` means "when running in a Jupyter kernel".
    """

    def __init__(self, *, live: bool | None = None) -> None:
        self._display = _ipython_display()
        self.live = (self._display is not None and in_notebook()) if live is None else live
        self._handle: Any = None
        #: Every event received, for inspection after the run.
        self.events: list[Event] = []

    def _html_line(self, event: Event) -> str:
        fraction = event.fraction
        where = f"{event.index}/{event.total} <code>{_E(event.step_id)}</code>" if event.step_id else ""
        timing = format_duration(event.elapsed)
        if event.expected:
            timing += f" of ~{format_duration(event.expected)}"
        bar = f'<progress value="{fraction:.3f}" max="1" style="width:12em"></progress> ' if fraction else ""
        message = f": {_E(event.message)}" if event.message else ""
        return f"<div>{bar}{where} [{_E(timing)}]{message}</div>"

    def _outcome_line(self, event: Event) -> str:
        mark, colour = _MARKS.get(event.kind, ("", "inherit"))
        where = f"<code>{_E(event.step_id)}</code>" if event.step_id else "<b>plan</b>"
        timing = (
            f" ({_E(format_duration(event.elapsed))})"
            if event.kind in (EventKind.STEP_SUCCEEDED, EventKind.STEP_FAILED, EventKind.PLAN_FINISHED)
            else ""
        )
        message = f": {_E(event.message)}" if event.message else ""
        return f'<div style="color:{colour}">{mark} {where}{timing}{message}</div>'

    def __call__(self, event: Event) -> None:
        """Show ``event``."""
        self.events.append(event)
        if not self.live or self._display is None:
            print(format_event(event))
            return
        display = self._display
        if event.kind is EventKind.PLAN_STARTED:
            display.display(display.HTML(f"<div><b>{_E(event.message)}</b></div>"))
            self._handle = display.display(display.HTML("<div></div>"), display_id=True)
        elif event.kind in (EventKind.STEP_STARTED, EventKind.WAITING):
            if self._handle is None:
                self._handle = display.display(display.HTML("<div></div>"), display_id=True)
            self._handle.update(display.HTML(self._html_line(event)))
        elif event.kind in _DONE_KINDS:
            if self._handle is not None:
                self._handle.update(display.HTML("<div></div>"))
            display.display(display.HTML(self._outcome_line(event)))
            if event.kind is EventKind.PLAN_FINISHED:
                self._handle = None


def progress(*, live: bool | None = None) -> NotebookProgress:
    """Return a new :class:`NotebookProgress` to pass as ``on_event=`` to an ``apply_*`` function.

    Args:
        live: update a line in place; ``None`` means "when running in a Jupyter kernel".
    """
    return NotebookProgress(live=live)
