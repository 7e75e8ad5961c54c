"""Rehearsal twins on the command line: ``--simulate TARGET`` continues the target's twin; ``twin reset``.

Every command that takes ``--simulate TARGET`` (a built-in scenario name or a scenario file) works on that
target's one evolving twin, kept in the state directory (see :mod:`aks_windows_ops.testing.twins`): a change
rehearsed by one command is there for the next, and a rehearsal paused by ``--time-budget`` resumes in a new
process. ``aks-windows-ops --simulate-reset COMMAND --simulate TARGET ...`` and ``aks-windows-ops twin reset
TARGET`` start a target afresh from its scenario. The plans rehearsed on a twin keep their checkpoints with the
twin, never in the default checkpoint file of real runs.
"""

from __future__ import annotations

import atexit
import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.options import Output, OutputFormat, Query
from aks_windows_ops.cli.output import emit
from aks_windows_ops.cli.runtime import fail

__all__ = [
    "REHEARSAL_MARK",
    "open_rehearsal",
    "register",
    "rehearsal_checkpoint",
    "rehearsal_stores",
    "twin_summary",
]

#: How ``status`` marks a plan rehearsed on a twin.
REHEARSAL_MARK = "rehearsal"

_STATE: dict[str, Any] = {"reset": False, "open": {}}


def begin_invocation(*, reset: bool) -> None:
    """Start a CLI invocation: save and release the twins an earlier one in this process left open.

    A command's twins are saved when the process exits, or (several invocations in one process, as in tests)
    when the next invocation starts. ``reset`` is the root ``--simulate-reset`` flag.
    """
    close_all()
    _STATE["reset"] = reset


def close_all() -> None:
    """Save and release every twin open in this process."""
    for key in list(_STATE["open"]):
        _close(key)


def open_rehearsal(simulate: str, *, with_kube: bool = False) -> Any:
    """Open the twin of ``simulate`` for this command; it is saved and unlocked when the command ends.

    Returns:
        The :class:`~aks_windows_ops.testing.twins.Twin` (its ``fake`` and ``kube`` serve the command).
    """
    from aks_windows_ops.rehearsal import open_twin, twin_directory, twin_target

    target = twin_target(simulate)
    key = str(twin_directory(target))
    twin = _STATE["open"].get(key)
    if twin is None:
        reset = bool(_STATE["reset"])
        _STATE["reset"] = False  # one reset per invocation, however many times the target is opened
        twin = open_twin(target, reset=reset)
        _STATE["open"][key] = twin
        if not _STATE.get("atexit"):
            atexit.register(close_all)
            _STATE["atexit"] = True
    if with_kube:
        twin.kube.start()
    return twin


def _close(key: str) -> None:
    twin = _STATE["open"].pop(key, None)
    if twin is not None:
        twin.kube.stop()
        twin.close()


def rehearsal_checkpoint(simulate: str) -> str:
    """The checkpoint file of the plans rehearsed on ``simulate``'s twin (apart from real runs)."""
    from aks_windows_ops.rehearsal import twin_directory

    return str(twin_directory(simulate) / "checkpoints.json")


def rehearsal_stores() -> list[tuple[str, Path]]:
    """``(target, checkpoint file)`` of every twin that holds rehearsal checkpoints."""
    import json

    from aks_windows_ops.paths import state_dir

    out = []
    for folder in sorted(state_dir("twins").iterdir()):
        checkpoints = folder / "checkpoints.json"
        if not checkpoints.is_file():
            continue
        target = folder.name
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            target = str(json.loads((folder / "state.json").read_text(encoding="utf-8"))["target"])
        out.append((target, checkpoints))
    return out


def twin_summary(twin: Any) -> dict[str, Any]:
    """What ``show`` says about a twin: its target, since when it evolves, and the plans that changed it."""
    from aks_windows_ops.runbooks.checkpoints import JsonFileCheckpointStore

    plans: list[dict[str, Any]] = []
    if twin.checkpoint_path.is_file():
        store = JsonFileCheckpointStore(twin.checkpoint_path)
        for plan_id in store.plan_ids():
            plan = store.load_plan(plan_id)
            records = store.records(plan_id)
            done = sum(1 for r in records if r.state.value == "succeeded")
            if plan is not None and records:
                plans.append({"plan_id": plan_id, "procedure": plan.procedure, "steps_done": done})
    return {
        "twin": twin.target,
        "since": twin.created_at,
        "simulated_now": twin.fake.clock.now().replace(microsecond=0).isoformat(),
        "changed_by": plans,
        "state": str(twin.directory),
    }


def twin_lines(summary: dict[str, Any]) -> list[str]:
    """The summary as lines for the table output."""
    lines = [
        f"Twin of {summary['twin']} since {summary['since']} (simulated time {summary['simulated_now']}); "
        f"kept in {summary['state']}"
    ]
    if summary["changed_by"]:
        changed = ", ".join(f"{p['plan_id']} ({p['procedure']})" for p in summary["changed_by"])
        lines.append(f"Changed by: {changed}")
    else:
        lines.append("Changed by: no plan yet (as the scenario describes it)")
    return lines


def reset(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="Built-in scenario name or scenario file.")],
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Start a rehearsal twin afresh from its scenario (its rehearsal checkpoints go too)."""
    from aks_windows_ops.cli.app import check_simulate
    from aks_windows_ops.rehearsal import reset_twin

    try:
        check_simulate(target)
        existed = reset_twin(target)
    except E.AksWindowsOpsError as err:
        raise fail(err) from err
    message = (
        f"twin of {target} reset: the next rehearsal starts from the scenario"
        if existed
        else f"no twin of {target} yet: the next rehearsal starts from the scenario"
    )
    emit(
        {"twin": target, "reset": existed, "message": message},
        output,
        query,
        table=lambda d: d["message"] + "\n",
    )


def register(app: typer.Typer) -> None:
    """Add ``twin reset`` to the ``twin`` command group (next to ``twin serve``)."""
    from aks_windows_ops.cli.twin import twin_app

    del app  # the group is already on the application
    twin_app.command("reset")(reset)
