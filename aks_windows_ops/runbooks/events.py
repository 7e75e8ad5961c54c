"""Progress events of an applied plan, and renderers for them (design principles "plan, then apply", "resumable by construction").

The runner reports what it does as :class:`Event` objects passed to an ``on_event`` callable. Times are
seconds on the run's clock (virtual in the simulator, so a 14-minute update reports 14 minutes), never wall
time. Renderers:

- :class:`LogRenderer`: one plain-text line per event through :mod:`logging` (scripts, Azure Functions).
- :class:`TextRenderer`: the same lines written to a stream.
- :class:`RichProgress`: a live progress display for the CLI (``rich`` is imported only when it is built).

Events carry messages from the library and from Azure, never a secret (design principle "secrets never print").
"""

from __future__ import annotations

import enum
import logging
import sys
from dataclasses import dataclass
from typing import IO, Any

from aks_windows_ops.runbooks.plan import format_duration

__all__ = ["Event", "EventKind", "LogRenderer", "RichProgress", "TextRenderer", "format_event"]


class EventKind(str, enum.Enum):
    """What happened (design principle "resumable by construction")."""

    PLAN_STARTED = "plan_started"
    STEP_STARTED = "step_started"
    STEP_SKIPPED = "step_skipped"
    WAITING = "waiting"
    STEP_SUCCEEDED = "step_succeeded"
    STEP_FAILED = "step_failed"
    PAUSED = "paused"
    PLAN_FINISHED = "plan_finished"
    WARNING = "warning"


@dataclass(frozen=True)
class Event:
    """One progress report from the runner or from an action.

    Attributes:
        kind: what happened.
        plan_id: the plan being applied.
        step_id: the step concerned; ``None`` for plan-level events.
        message: one line for people (a step's title on ``step_started``; the outcome on the others).
        elapsed: seconds on the run's clock since the step started in this run (plan events: since the run
            started).
        expected: the step's (or plan's) typical duration in seconds, when known.
        progress: completion from 0 to 1 when the source knows it (e.g. nodes done / nodes).
        index: the step's 1-based position in the plan; 0 for plan-level events.
        total: the number of steps in the plan.
    """

    kind: EventKind
    plan_id: str
    step_id: str | None = None
    message: str = ""
    elapsed: float = 0.0
    expected: float | None = None
    progress: float | None = None
    index: int = 0
    total: int = 0

    @property
    def fraction(self) -> float | None:
        """Best estimate of completion (0-1): ``progress``, else elapsed over expected (capped below 1)."""
        if self.progress is not None:
            return min(max(self.progress, 0.0), 1.0)
        if self.expected:
            return min(self.elapsed / self.expected, 0.99)
        return None


def format_event(event: Event) -> str:
    """Return one plain-text line describing ``event`` (design principle "resumable by construction": progress you can read in a log).

    Args:
        event: the event to describe.
    """
    where = f"{event.index}/{event.total} {event.step_id}" if event.step_id else event.plan_id
    text = f"{event.kind.value:<14} {where}"
    if event.kind is EventKind.WAITING:
        timing = format_duration(event.elapsed)
        if event.expected:
            timing += f" of ~{format_duration(event.expected)}"
        fraction = event.fraction
        if fraction is not None:
            timing += f" ({fraction:.0%})"
        text += f" [{timing}]"
    elif event.kind in (EventKind.STEP_SUCCEEDED, EventKind.STEP_FAILED, EventKind.PLAN_FINISHED):
        text += f" [{format_duration(event.elapsed)}]"
    if event.message:
        text += f": {event.message}"
    return text


class LogRenderer:
    """An ``on_event`` callable that logs each event as one line (design principle "resumable by construction").

    Failures and pauses log at WARNING, the rest at ``level``.

    Args:
        logger: where to log; the ``aks_windows_ops.runbooks`` logger by default.
        level: the level of ordinary events.
    """

    def __init__(self, logger: logging.Logger | None = None, *, level: int = logging.INFO) -> None:
        self.logger = logger or logging.getLogger("aks_windows_ops.runbooks")
        self.level = level

    def __call__(self, event: Event) -> None:
        """Log ``event``."""
        loud = event.kind in (EventKind.STEP_FAILED, EventKind.PAUSED, EventKind.WARNING)
        self.logger.log(logging.WARNING if loud else self.level, "%s", format_event(event))


class TextRenderer:
    """An ``on_event`` callable that writes each event as one line to a stream (design principle "resumable by construction").

    Args:
        stream: where to write; ``sys.stderr`` by default.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        """Write ``event`` as one line."""
        stream = self.stream or sys.stderr
        stream.write(format_event(event) + "\n")
        stream.flush()


class RichProgress:
    """An ``on_event`` callable showing a live ``rich`` progress display, for the CLI (design principle "resumable by construction").

    One bar counts the plan's steps; another follows the running step, from the action's reported progress
    or from the elapsed time over the step's expected duration. Outcomes are printed above the bars. Use it
    as a context manager (or let ``plan_finished`` close it) so the live display always stops.

    Args:
        console: a ``rich.console.Console``; a new one on stderr by default.
        transient: remove the bars when the plan finishes.
    """

    def __init__(self, console: Any = None, *, transient: bool = False) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

        self.console = console if console is not None else Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[timing]}"),
            console=self.console,
            transient=transient,
        )
        self._plan_task: Any = None
        self._step_task: Any = None
        self._steps_done = 0
        self._started = False

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (idempotent)."""
        if self._started:
            self._progress.stop()
            self._started = False

    def _ensure_started(self, event: Event) -> None:
        if not self._started:
            self._progress.start()
            self._started = True
        if self._plan_task is None:
            self._plan_task = self._progress.add_task(
                f"plan {event.plan_id}", total=max(event.total, 1), timing=f"0/{event.total} steps"
            )

    def _advance_plan(self, event: Event) -> None:
        self._steps_done += 1
        self._progress.update(
            self._plan_task, completed=self._steps_done, timing=f"{self._steps_done}/{event.total} steps"
        )

    def _end_step(self) -> None:
        if self._step_task is not None:
            self._progress.remove_task(self._step_task)
            self._step_task = None

    def __call__(self, event: Event) -> None:
        """Update the display with ``event``."""
        from rich.markup import escape

        kind = event.kind
        if kind is EventKind.PLAN_STARTED and self._plan_task is not None:
            # The same display reused for another run (a resume) starts a fresh plan bar.
            self._progress.remove_task(self._plan_task)
            self._plan_task = None
            self._steps_done = 0
        self._ensure_started(event)
        label = escape(event.step_id or event.plan_id)
        message = escape(event.message)
        if kind is EventKind.STEP_STARTED:
            self._end_step()
            timing = f"~{format_duration(event.expected)}" if event.expected else ""
            self._step_task = self._progress.add_task(f"  {message or label}", total=100, timing=timing)
        elif kind is EventKind.WAITING and self._step_task is not None:
            fraction = event.fraction
            timing = format_duration(event.elapsed)
            if event.expected:
                timing += f" / ~{format_duration(event.expected)}"
            self._progress.update(
                self._step_task, completed=100 * fraction if fraction is not None else None, timing=timing
            )
        elif kind is EventKind.STEP_SKIPPED:
            self.console.print(f"[dim]- {label}: {message}[/dim]")
            self._advance_plan(event)
        elif kind is EventKind.STEP_SUCCEEDED:
            self._end_step()
            self.console.print(f"[green]✓[/green] {label} ({format_duration(event.elapsed)}): {message}")
            self._advance_plan(event)
        elif kind is EventKind.STEP_FAILED:
            self._end_step()
            self.console.print(f"[red]✗ {label}: {message}[/red]")
        elif kind is EventKind.PAUSED:
            self._end_step()
            self.console.print(f"[yellow]⏸ {message}[/yellow]")
        elif kind is EventKind.WARNING:
            self.console.print(f"[yellow]! {message}[/yellow]")
        elif kind is EventKind.PLAN_FINISHED:
            self._end_step()
            self.console.print(f"[bold]{label}[/bold]: {message}")
            self.close()
