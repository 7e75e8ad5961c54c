"""How a run tells what it changed, and how it stops on Ctrl-C or SIGTERM (design principle "resumable by construction").

A failed, paused or interrupted run states which steps' writes it sent, which earlier runs sent, and which
never started (:func:`changes_summary`), from the run's own record of attempted writes. SIGTERM is turned into
:class:`Terminated` (a ``KeyboardInterrupt``) while a plan runs, so that the runner records the step in flight
and raises :class:`~aks_windows_ops.errors.RunInterrupted` for the caller to print how to resume.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from aks_windows_ops.runbooks.checkpoints import RecordState, StepRecord

__all__ = ["Terminated", "changes_summary", "sigterm_as_interrupt"]


def changes_summary(sent: list[str] | tuple[str, ...], records: tuple[StepRecord, ...]) -> str:
    """One line saying what a run changed, from its record of attempted writes (design principle "resumable by construction").

    "Nothing was sent" is said only when no write was sent by this run nor recorded by an earlier one.

    Args:
        sent: the steps whose write this run sent (or tried to send).
        records: every step's record (earlier runs' attempts are counted there).
    """
    earlier = [r.step_id for r in records if r.attempts > 0 and r.step_id not in sent]
    parts = []
    if sent:
        parts.append(f"This run sent the writes of: {', '.join(sent)}")
    else:
        parts.append("This run sent nothing to Azure")
    if earlier:
        parts.append(f"earlier runs sent the writes of: {', '.join(earlier)}")
    pending = [r.step_id for r in records if r.state is not RecordState.SUCCEEDED and r.attempts == 0]
    pending = [p for p in pending if p not in sent]
    if pending:
        parts.append(f"not started: {', '.join(pending)}")
    return "; ".join(parts) + "."


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread while a plan is applied so that the step in flight is recorded."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while the block runs (main thread, default handler only).

    A plan's run then records the step in flight before it stops, as it does on Ctrl-C (design principle "resumable by construction").
    Only the main thread may set handlers, and a handler someone else installed is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, AttributeError):  # pragma: no cover - platforms without SIGTERM
        yield
        return
    if previous not in (signal.SIG_DFL, None):
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
