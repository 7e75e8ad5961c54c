"""The rollout's activities: every Azure call of a rollout happens here (discover, plan, apply a slice, report)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aks_windows_ops.errors import AksWindowsOpsError, InvalidInput
from aks_windows_ops.integrations.durable.request import (
    ROLLOUT_CHECKPOINTS_ENV,
    ROLLOUT_PROCEDURES,
)
from aks_windows_ops.integrations.functions import (
    REPORTS_ENV,
    SIMULATE_ENV,
    ClientsFactory,
    clients_factory,
    open_store,
    sibling_url,
    write_report,
)
from aks_windows_ops.models import ClusterRef
from aks_windows_ops.runbooks.checkpoints import CHECKPOINTS_ENV
from aks_windows_ops.runbooks.registry import get_procedure

__all__ = [
    "apply_cluster",
    "discover_clusters",
    "plan_cluster",
    "rollout_report",
    "rollout_reports_url",
    "rollout_store_url",
]

_log = logging.getLogger("aks_windows_ops.durable")


def rollout_store_url(environ: Mapping[str, str] | None = None) -> str:
    """The rollouts' checkpoint store: ``AKS_WINDOWS_OPS_ROLLOUT_CHECKPOINTS``, else next to the timer's."""
    env = os.environ if environ is None else environ
    explicit = env.get(ROLLOUT_CHECKPOINTS_ENV, "").strip()
    if explicit:
        return explicit
    base = env.get(CHECKPOINTS_ENV, "").strip() or "memory:"
    if base.startswith(("memory:", "blob:")):
        return sibling_url(base, "rollouts")
    return str(Path(base).expanduser().with_name("rollouts.json"))


def rollout_reports_url(environ: Mapping[str, str] | None = None) -> str:
    """Where rollout reports go: ``AKS_WINDOWS_OPS_REPORTS``, else next to the checkpoint store."""
    env = os.environ if environ is None else environ
    explicit = env.get(REPORTS_ENV, "").strip()
    return explicit or sibling_url(env.get(CHECKPOINTS_ENV, "").strip() or "memory:", "reports")


def _factory() -> ClientsFactory:
    return clients_factory(simulate=os.environ.get(SIMULATE_ENV, "").strip() or None)


def _error(err: BaseException) -> dict[str, Any]:
    if isinstance(err, AksWindowsOpsError):
        return err.to_dict()
    return {"type": type(err).__name__, "message": str(err), "remediation": "", "runbook": None}


def discover_clusters(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Activity: list the clusters of ``payload["subscriptions"]`` (optionally one resource group).

    Returns:
        ``{"clusters": ["sub/rg/name", ...], "errors": {subscription: message}}``; a subscription that
        cannot be listed is an error entry, not an exception.
    """
    from aks_windows_ops.azure.facts import list_clusters

    factory = _factory()
    clusters: list[str] = []
    errors: dict[str, str] = {}
    for sub in payload.get("subscriptions") or []:
        try:
            found = list_clusters(factory(str(sub)), payload.get("resource_group"))
        except Exception as err:
            _log.exception("listing the clusters of subscription %s failed", sub)
            errors[str(sub)] = str(err) or type(err).__name__
            continue
        clusters += [f"{sub}/{rg}/{name}" for rg, name in found]
    return {"clusters": sorted(clusters), "errors": errors}


def plan_cluster(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Activity: plan the rollout's procedure on one cluster (reads only) and store the plan (design principles "plan, then apply", "resumable by construction").

    Returns:
        ``status`` ``planned`` (with ``plan_id`` and ``steps``), ``nothing`` (no change needed) or
        ``refused`` (with ``message`` and ``error``: invalid options, preflight errors, no such cluster).
    """
    cid = str(payload["cluster"])
    ref = ClusterRef.parse(cid)
    if ref is None:
        raise InvalidInput(f"cluster {cid[:200]!r} is not subscription/resource_group/name")
    sub, rg, name = ref.subscription_id, ref.resource_group, ref.name
    procedure = str(payload.get("procedure", "patch"))
    options = dict(payload.get("options") or {})
    try:
        if procedure not in ROLLOUT_PROCEDURES:
            raise InvalidInput(f"procedure {procedure!r} cannot be rolled out")
        found = get_procedure(procedure)
        chosen = None
        if procedure == "ahub":
            chosen = "plan_enable_ahub" if options.pop("enable", True) else "plan_disable_ahub"
        plan, _context = found.load_planner(chosen)(_factory()(sub), rg, name, **options)
        if plan.steps:
            store = open_store(rollout_store_url())
            save = getattr(store, "save_plan", None)
            if save is None:
                raise InvalidInput(
                    "the rollout store keeps no plan documents",
                    remediation=f"Set {ROLLOUT_CHECKPOINTS_ENV} to a Blob or SQLite checkpoint store.",
                )
            save(plan)
    except Exception as err:
        _log.warning("planning %s on %s was refused: %s", procedure, cid, err)
        return {
            "cluster": cid,
            "status": "refused",
            "message": str(err) or type(err).__name__,
            "error": _error(err),
        }
    if not plan.steps:
        reasons = "; ".join(n.reason for n in plan.noops) or "nothing to do"
        return {"cluster": cid, "status": "nothing", "plan_id": plan.id, "message": reasons}
    return {
        "cluster": cid,
        "status": "planned",
        "plan_id": plan.id,
        "steps": [s.id for s in plan.steps],
        "expected_seconds": plan.expected_seconds,
        "restarts_nodes": plan.restarts_nodes,
        "warnings": list(plan.warnings),
    }


def apply_cluster(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Activity: advance one cluster's stored plan for at most ``time_budget`` seconds (design principle "resumable by construction", Service facts: Where it runs).

    Returns:
        ``status`` ``succeeded``, ``paused`` (run it again later), ``failed`` (a step failed: an operator
        is needed) or ``error`` (the activity could not run; the orchestrator tries again next round).
    """
    from aks_windows_ops.runbooks.events import LogRenderer
    from aks_windows_ops.runbooks.procedures import resume
    from aks_windows_ops.runbooks.runner import RunStatus

    cid = str(payload["cluster"])
    plan_id = str(payload["plan_id"])
    budget = float(payload.get("time_budget", 240))
    try:
        result = resume(
            plan_id,
            _factory(),
            checkpoints=open_store(rollout_store_url()),
            time_budget=budget,
            on_event=LogRenderer(_log),
        )
    except Exception as err:
        _log.exception("advancing plan %s on %s failed", plan_id, cid)
        return {
            "cluster": cid,
            "plan_id": plan_id,
            "status": "error",
            "message": str(err),
            "error": _error(err),
        }
    return {
        "cluster": cid,
        "plan_id": plan_id,
        "status": result.status.value,
        "message": result.message,
        "done": list(result.done),
        "remaining": list(result.remaining),
        "elapsed": result.elapsed,
        "error": _error(result.error) if result.error and result.status is RunStatus.FAILED else None,
    }


def rollout_report(summary: Mapping[str, Any]) -> str:
    """Activity: write the rollout's summary as JSON (``rollouts/<name>/<finished_at>.json``); return where."""
    stamp = str(summary.get("finished_at", "")).replace(":", "").replace("-", "").split(".")[0].split("+")[0]
    name = f"rollouts/{summary.get('name', 'default')}/{stamp or 'report'}.json"
    return write_report(rollout_reports_url(), name, summary)
