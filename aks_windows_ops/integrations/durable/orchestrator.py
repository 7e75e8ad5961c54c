"""The rollout orchestrator: deterministic rounds of admit, plan, apply a slice, sleep on a durable timer (Service facts: Where it runs)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from aks_windows_ops.integrations.durable.request import (
    APPLY_ACTIVITY,
    DISCOVER_ACTIVITY,
    MAX_CONSECUTIVE_ERRORS,
    PLAN_ACTIVITY,
    REPORT_ACTIVITY,
    normalize_request,
)

__all__ = ["rollout_orchestrator"]


def _queue(clusters: Sequence[str]) -> dict[str, list[str]]:
    queue: dict[str, list[str]] = {}
    for cid in clusters:
        queue.setdefault(cid.split("/")[0], []).append(cid)
    return queue


def _new_state(request: Mapping[str, Any], now: _dt.datetime) -> dict[str, Any]:
    clusters = request["clusters"]
    return {
        "started_at": now.isoformat(),
        "generation": 0,
        "round": 0,
        "queue": _queue(clusters) if clusters else None,
        "active": {},
        "done": {},
        "refused": {},
        "failed": {},
        "discovery_errors": {},
    }


def _stopped(state: Mapping[str, Any], request: Mapping[str, Any]) -> bool:
    return bool(len(state["failed"]) >= request["max_failures"])


def _admit(state: dict[str, Any], request: Mapping[str, Any]) -> list[str]:
    """Pop clusters from the queue, round-robin over subscriptions, within both caps (deterministic)."""
    if _stopped(state, request):
        return []
    queue: dict[str, list[str]] = state["queue"] or {}
    per_sub: dict[str, int] = {}
    for info in state["active"].values():
        per_sub[info["subscription"]] = per_sub.get(info["subscription"], 0) + 1
    room = request["max_active"] - len(state["active"])
    admitted: list[str] = []
    while room > 0:
        progressed = False
        for sub in sorted(queue):
            if room <= 0:
                break
            if not queue[sub] or per_sub.get(sub, 0) >= request["max_active_per_subscription"]:
                continue
            admitted.append(queue[sub].pop(0))
            per_sub[sub] = per_sub.get(sub, 0) + 1
            room -= 1
            progressed = True
        if not progressed:
            break
    state["queue"] = {sub: items for sub, items in queue.items() if items}
    return admitted


def _record_plan(state: dict[str, Any], cid: str, result: Mapping[str, Any]) -> None:
    status = result.get("status")
    if status == "planned":
        state["active"][cid] = {
            "subscription": cid.split("/")[0],
            "plan_id": result.get("plan_id"),
            "steps": len(result.get("steps") or []),
            "slices": 0,
            "errors": 0,
            "message": "planned",
        }
    elif status == "nothing":
        state["done"][cid] = {"status": "nothing", "message": result.get("message", "nothing to do")}
    else:
        state["refused"][cid] = {
            "message": result.get("message", "planning failed"),
            "error": result.get("error"),
        }


def _record_apply(state: dict[str, Any], cid: str, result: Mapping[str, Any]) -> None:
    info = state["active"][cid]
    info["slices"] += 1
    status = result.get("status")
    message = str(result.get("message", ""))
    if status == "succeeded":
        del state["active"][cid]
        state["done"][cid] = {"status": "succeeded", "plan_id": info["plan_id"], "message": message}
    elif status == "failed":
        del state["active"][cid]
        state["failed"][cid] = {"plan_id": info["plan_id"], "message": message, "error": result.get("error")}
    elif status == "error":
        info["errors"] += 1
        info["message"] = message
        if info["errors"] >= MAX_CONSECUTIVE_ERRORS:
            del state["active"][cid]
            state["failed"][cid] = {
                "plan_id": info["plan_id"],
                "message": message,
                "error": result.get("error"),
            }
    else:  # paused: the next slice continues it
        info["errors"] = 0
        info["message"] = message
        info["remaining"] = list(result.get("remaining") or [])


def _status(state: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "round": state["round"],
        "generation": state["generation"],
        "queued": sum(len(v) for v in (state["queue"] or {}).values()),
        "active": sorted(state["active"]),
        "done": len(state["done"]),
        "refused": len(state["refused"]),
        "failed": sorted(state["failed"]),
    }


def _summary(
    request: Mapping[str, Any], state: Mapping[str, Any], outcome: str, now: _dt.datetime
) -> dict[str, Any]:
    return {
        "name": request["name"],
        "procedure": request["procedure"],
        "options": request["options"],
        "outcome": outcome,
        "started_at": state["started_at"],
        "finished_at": now.isoformat(),
        "rounds": state["round"],
        "generations": state["generation"] + 1,
        "done": state["done"],
        "refused": state["refused"],
        "failed": state["failed"],
        "not_started": sorted(c for items in (state["queue"] or {}).values() for c in items),
        "still_active": state["active"],
        "discovery_errors": state["discovery_errors"],
    }


def rollout_orchestrator(context: Any) -> Generator[Any, Any, dict[str, Any] | None]:
    """Roll a procedure out across clusters (module docstring; Service facts: Where it runs).

    Deterministic: only the input, ``context.current_utc_datetime`` and activity results decide what is
    scheduled, and the state travels through ``continue_as_new``.

    Args:
        context: the ``DurableOrchestrationContext``.

    Returns:
        The rollout summary (also written by the report activity), or ``None`` when the orchestration
        continued as new.
    """
    request = normalize_request(context.get_input() or {})
    state = request.pop("state") or _new_state(request, context.current_utc_datetime)
    if state["queue"] is None:
        found = yield context.call_activity(
            DISCOVER_ACTIVITY,
            {"subscriptions": request["subscriptions"], "resource_group": request["resource_group"]},
        )
        state["queue"] = _queue(sorted(found.get("clusters") or []))
        state["discovery_errors"] = dict(found.get("errors") or {})
    rounds = 0
    while True:
        admitted = _admit(state, request)
        if admitted:
            planned = yield context.task_all(
                [
                    context.call_activity(
                        PLAN_ACTIVITY,
                        {"cluster": cid, "procedure": request["procedure"], "options": request["options"]},
                    )
                    for cid in admitted
                ]
            )
            for cid, result in zip(admitted, planned, strict=True):
                _record_plan(state, cid, result)
        active = sorted(state["active"])
        if active:
            applied = yield context.task_all(
                [
                    context.call_activity(
                        APPLY_ACTIVITY,
                        {
                            "cluster": cid,
                            "plan_id": state["active"][cid]["plan_id"],
                            "time_budget": request["apply_budget_seconds"],
                        },
                    )
                    for cid in active
                ]
            )
            for cid, result in zip(active, applied, strict=True):
                _record_apply(state, cid, result)
        state["round"] += 1
        rounds += 1
        context.set_custom_status(_status(state))
        queued = any(state["queue"].values())
        outcome = None
        if not state["active"] and (not queued or _stopped(state, request)):
            outcome = "stopped" if _stopped(state, request) and queued else "completed"
        elif state["round"] >= request["max_rounds"]:
            outcome = "gave-up"
        if outcome is not None:
            summary = _summary(request, state, outcome, context.current_utc_datetime)
            summary["report"] = yield context.call_activity(REPORT_ACTIVITY, summary)
            return summary
        if rounds >= request["rounds_per_generation"]:
            state["generation"] += 1
            context.continue_as_new({**request, "state": state})
            return None
        if state["active"]:
            fire_at = context.current_utc_datetime + _dt.timedelta(seconds=request["poll_seconds"])
            yield context.create_timer(fire_at)
