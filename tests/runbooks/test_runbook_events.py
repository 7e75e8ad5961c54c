from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console
from runbook_fakes import KIND, FakeCloud, SetValueAction, VirtualClock, make_plan

from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
from aks_windows_ops.runbooks.events import (
    Event,
    EventKind,
    LogRenderer,
    RichProgress,
    TextRenderer,
    format_event,
)
from aks_windows_ops.runbooks.runner import run_plan


def test_format_event_lines() -> None:
    waiting = Event(EventKind.WAITING, "patch-1", "upgrade-pool:npwin", "Upgrading", 180, 840, None, 2, 3)
    assert (
        format_event(waiting) == "waiting        2/3 upgrade-pool:npwin [3 min of ~14 min (21%)]: Upgrading"
    )
    exact = Event(EventKind.WAITING, "patch-1", "s", "2/4 nodes", 10, None, 0.5, 1, 1)
    assert format_event(exact) == "waiting        1/1 s [10 s (50%)]: 2/4 nodes"
    finished = Event(EventKind.PLAN_FINISHED, "patch-1", None, "succeeded: 3 steps done", 3000, None, total=3)
    assert format_event(finished) == "plan_finished  patch-1 [50 min]: succeeded: 3 steps done"
    assert Event(EventKind.WAITING, "p", expected=100, elapsed=500).fraction == 0.99
    assert Event(EventKind.WAITING, "p", progress=1.7).fraction == 1.0
    assert Event(EventKind.WAITING, "p").fraction is None


def test_log_and_text_renderers(
    caplog: pytest.LogCaptureFixture, clock: VirtualClock, cloud: FakeCloud
) -> None:
    cloud.fail_next["rg/cluster/pool1"] = "QuotaExceeded"
    stream = io.StringIO()
    text = TextRenderer(stream)
    log = LogRenderer(logging.getLogger("test.runbooks"))

    def both(event: Event) -> None:
        text(event)
        log(event)

    with caplog.at_level(logging.INFO, logger="test.runbooks"):
        run_plan(make_plan(2), {KIND: SetValueAction(cloud)}, checkpoints=MemoryCheckpointStore(), clock=clock, on_event=both)  # fmt: skip
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("plan_started   test-") and lines[-1].startswith("plan_finished  test-")
    assert "step_succeeded 1/2 set:pool0 [10 min]: rg/cluster/pool0 = v2" in lines
    assert [r.getMessage() for r in caplog.records] == lines
    failed = [r for r in caplog.records if "step_failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].levelno == logging.WARNING
    assert "QuotaExceeded" in failed[0].getMessage()


def test_rich_progress_renders_a_run(clock: VirtualClock, cloud: FakeCloud) -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False, color_system=None)
    store = MemoryCheckpointStore()
    plan = make_plan(2, duration=300)
    with RichProgress(console) as progress:
        first = run_plan(plan, {KIND: SetValueAction(cloud)}, checkpoints=store, clock=clock,
                      on_event=progress, stop_after="set:pool0")  # fmt: skip
        second = run_plan(plan, {KIND: SetValueAction(cloud)}, checkpoints=store, clock=clock,
                       on_event=progress)  # fmt: skip
    assert first.status == "paused" and second.ok
    text = out.getvalue()
    assert "✓ set:pool0 (5 min): rg/cluster/pool0 = v2" in text
    assert "- set:pool0: already succeeded" in text
    assert "stopped after step 'set:pool0'" in text
    assert "succeeded: 1 step done, 1 already done" in text
    assert text.rstrip().endswith("2/2 steps")
    progress.close()  # idempotent


def test_rich_progress_shows_markup_literally() -> None:
    out = io.StringIO()
    progress = RichProgress(Console(file=out, width=120, force_terminal=False, color_system=None))
    progress(Event(EventKind.PLAN_STARTED, "p", total=1))
    progress(Event(EventKind.STEP_FAILED, "p", "s", "[bold]not markup[/bold]", index=1, total=1))
    progress(Event(EventKind.PLAN_FINISHED, "p", None, "failed", total=1))
    assert "[bold]not markup[/bold]" in out.getvalue()
