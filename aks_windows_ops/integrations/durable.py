"""Durable Functions: roll one procedure out across many clusters (Service facts: Where it runs).

``azure-functions-durable`` 1.x. A rollout is one orchestration instance with a fixed id
(``aks-windows-ops-rollout-<name>``), so a second start of the same rollout is refused while the first runs.
The orchestrator is deterministic: it reads only its input and ``context.current_utc_datetime``, and every
Azure call happens in an activity:

- ``aks_windows_ops_rollout_discover``: list the clusters of the rollout's subscriptions;
- ``aks_windows_ops_rollout_plan``: plan the procedure on one cluster (read-only) and store the plan;
- ``aks_windows_ops_rollout_apply``: advance one cluster's plan within a time budget below the host timeout
  (``resume``: checkpointed, so any instance continues where the last slice stopped);
- ``aks_windows_ops_rollout_report``: write the rollout's JSON report next to the audit reports.

Each round admits clusters up to ``max_active_per_subscription`` per subscription and ``max_active`` in all
(round-robin over subscriptions: the writes of one subscription share ARM's and AKS's per-subscription
limits, Service facts: ARM behaviour), plans them in parallel (``task_all``), applies one slice to every active
cluster in parallel, then sleeps on a durable timer (``poll_seconds``) instead of waiting inside an activity.
After ``rounds_per_generation`` rounds it calls ``continue_as_new`` with its state, which keeps the history
short. Once ``max_failures`` clusters have failed, no new cluster starts (a safety rail: a broken rollout
stops at its first victims); clusters already running finish. Planning refusals (preflight errors, invalid
options) are reported and do not count as failures.

The request (the orchestration input, validated by :func:`normalize_request`)::

    {"name": "win-node-images",                 # the rollout's name: its instance id and report name
     "procedure": "patch",                      # patch | ahub
     "options": {"node_image_only": true, "pools": "windows"},   # plan_patch options (ahub: {"enable": true})
     "clusters": ["<sub>/<rg>/<cluster>", ...], # or "subscriptions": [...] (+ "resource_group") to discover
     "max_active_per_subscription": 2, "max_active": 10, "max_failures": 1,
     "poll_seconds": 300, "apply_budget_seconds": 240, "rounds_per_generation": 10, "max_rounds": 2016}

Activities read the app settings of :mod:`aks_windows_ops.integrations.functions`, plus
``AKS_WINDOWS_OPS_ROLLOUT_CHECKPOINTS`` (the rollouts' checkpoint store; by default next to
``AKS_WINDOWS_OPS_CHECKPOINTS``, prefix ``aks-windows-ops/rollouts/``, so that the nightly timer never drives
a rollout's plans at the same time as the orchestration does).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

from aks_windows_ops.errors import AksWindowsOpsError, InvalidInput
from aks_windows_ops.integrations.functions import (
    PROCEDURES,
    REPORTS_ENV,
    SIMULATE_ENV,
    ClientsFactory,
    clients_factory,
    cluster_context,
    open_store,
    sibling_url,
    write_report,
)
from aks_windows_ops.runbooks.checkpoints import CHECKPOINTS_ENV

__all__ = [
    "APPLY_ACTIVITY",
    "DISCOVER_ACTIVITY",
    "INSTANCE_PREFIX",
    "ORCHESTRATOR_NAME",
    "PLAN_ACTIVITY",
    "REPORT_ACTIVITY",
    "ROLLOUT_CHECKPOINTS_ENV",
    "ROLLOUT_PROCEDURES",
    "ROLLOUT_ROLE",
    "ROLLOUT_ROLE_ENV",
    "STARTER_NAME",
    "apply_cluster",
    "caller_roles",
    "create_durable_blueprint",
    "discover_clusters",
    "instance_id_for",
    "normalize_request",
    "plan_cluster",
    "rollout_orchestrator",
    "rollout_report",
    "rollout_reports_url",
    "rollout_store_url",
]

_log = logging.getLogger("aks_windows_ops.durable")

ORCHESTRATOR_NAME = "aks_windows_ops_rollout"
DISCOVER_ACTIVITY = "aks_windows_ops_rollout_discover"
PLAN_ACTIVITY = "aks_windows_ops_rollout_plan"
APPLY_ACTIVITY = "aks_windows_ops_rollout_apply"
REPORT_ACTIVITY = "aks_windows_ops_rollout_report"
STARTER_NAME = "aks_windows_ops_rollout_start"
#: A rollout's instance id is this prefix and its name: one instance per rollout (a singleton).
INSTANCE_PREFIX = "aks-windows-ops-rollout-"
ROLLOUT_CHECKPOINTS_ENV = "AKS_WINDOWS_OPS_ROLLOUT_CHECKPOINTS"
#: The Entra ID app role a caller of the HTTP starter must hold (see docs/security.md).
ROLLOUT_ROLE = "AksWindowsOps.Rollout"
#: App setting naming another app role instead of :data:`ROLLOUT_ROLE`.
ROLLOUT_ROLE_ENV = "AKS_WINDOWS_OPS_ROLLOUT_ROLE"
_ROLE_CLAIMS = ("roles", "role", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
#: Procedures a rollout can run (they need no secret and no Kubernetes client).
ROLLOUT_PROCEDURES = ("patch", "ahub")
#: Activity errors in a row (not Azure refusals: the activity itself failed) before a cluster counts as failed.
MAX_CONSECUTIVE_ERRORS = 3
#: Durable timers in Python last at most 6 days (Service facts: Where it runs).
MAX_POLL_SECONDS = 6 * 24 * 3600

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_PATCH_OPTIONS: dict[str, type | tuple[type, ...]] = {
    "kubernetes_version": str,
    "node_image_only": bool,
    "pools": (str, list),
    "max_surge": str,
    "drain_timeout": int,
    "node_soak": int,
    "allow_hops": bool,
    "check_latest": bool,
}
_LIMITS: dict[str, tuple[int, int, int]] = {  # name: (default, minimum, maximum)
    "max_active_per_subscription": (2, 1, 50),
    "max_active": (10, 1, 500),
    "max_failures": (1, 1, 10000),
    "poll_seconds": (300, 1, MAX_POLL_SECONDS),
    "apply_budget_seconds": (240, 10, 3600),
    "rounds_per_generation": (10, 1, 1000),
    "max_rounds": (2016, 1, 100000),
}


# --------------------------------------------------------------------------------------------- the request
def _cluster_id(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    parts = value.strip("/").split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return "/".join(parts)


def normalize_request(data: Any) -> dict[str, Any]:
    """Validate a rollout request and fill in the defaults (module docstring; pure, so the orchestrator may).

    Args:
        data: the request (the orchestration input, or an HTTP body).

    Returns:
        A JSON-ready copy with every key set; ``state`` is kept as given (``None`` for a new rollout).

    Raises:
        InvalidInput: every problem found at once.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("a rollout request must be a JSON object")
    problems: list[str] = []
    known = {"name", "procedure", "options", "clusters", "subscriptions", "resource_group", "state", *_LIMITS}
    problems += [f"unknown key {key!r}" for key in sorted(set(data) - known)]
    name = data.get("name", "default")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(
            "\"name\" must be 1-40 lower-case letters, digits or '-', starting with a letter or digit"
        )
    procedure = data.get("procedure", "patch")
    if procedure not in ROLLOUT_PROCEDURES:
        problems.append(f'"procedure" must be one of {", ".join(ROLLOUT_PROCEDURES)}, got {procedure!r}')
    options = data.get("options") or {}
    if not isinstance(options, Mapping):
        problems.append('"options" must be an object')
        options = {}
    if procedure == "patch":
        for key, value in options.items():
            wanted = _PATCH_OPTIONS.get(key)
            if wanted is None:
                problems.append(f"unknown patch option {key!r}")
            elif not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
                problems.append(f"patch option {key!r} has the wrong type")
        if bool(options.get("kubernetes_version")) == bool(options.get("node_image_only")):
            problems.append('patch options need exactly one of "kubernetes_version" or "node_image_only"')
    elif procedure == "ahub":
        if set(options) - {"enable"} or not isinstance(options.get("enable", True), bool):
            problems.append('ahub options are {"enable": true|false}')
    clusters = data.get("clusters")
    subscriptions = data.get("subscriptions")
    if (clusters is None) == (subscriptions is None):
        problems.append(
            'give either "clusters" (subscription/group/name ids) or "subscriptions" to find them in'
        )
    ids: list[str] = []
    if clusters is not None:
        if not isinstance(clusters, Sequence) or isinstance(clusters, str) or not clusters:
            problems.append('"clusters" must be a non-empty list of subscription/group/name ids')
        else:
            for value in clusters:
                cid = _cluster_id(value)
                if cid is None:
                    problems.append(f"cluster {value!r} is not subscription/group/name")
                elif cid not in ids:
                    ids.append(cid)
    subs: list[str] = []
    if subscriptions is not None:
        if not isinstance(subscriptions, Sequence) or isinstance(subscriptions, str) or not subscriptions:
            problems.append('"subscriptions" must be a non-empty list of subscription ids')
        else:
            subs = list(dict.fromkeys(str(s) for s in subscriptions))
    resource_group = data.get("resource_group")
    if resource_group is not None and not isinstance(resource_group, str):
        problems.append('"resource_group" must be a string')
    limits: dict[str, int] = {}
    for key, (default, low, high) in _LIMITS.items():
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f'"{key}" must be an integer from {low} to {high}')
            value = default
        limits[key] = value
    if problems:
        raise InvalidInput(problems)
    return {
        "name": name,
        "procedure": procedure,
        "options": dict(options),
        "clusters": ids or None,
        "subscriptions": subs or None,
        "resource_group": resource_group,
        **limits,
        "state": data.get("state"),
    }


def instance_id_for(name: str) -> str:
    """The fixed instance id of the rollout called ``name`` (one instance per rollout)."""
    return f"{INSTANCE_PREFIX}{name}"


# --------------------------------------------------------------------------------------------- the orchestrator
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


# --------------------------------------------------------------------------------------------- activities
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
    sub, rg, name = cid.split("/")
    procedure = str(payload.get("procedure", "patch"))
    options = dict(payload.get("options") or {})
    try:
        clients = _factory()(sub)
        if procedure == "patch":
            from aks_windows_ops.runbooks.patch import plan_patch

            plan, _context = plan_patch(clients, rg, name, **options)
        elif procedure == "ahub":
            from aks_windows_ops.runbooks.ahub import plan_disable_ahub, plan_enable_ahub

            planner = plan_enable_ahub if options.get("enable", True) else plan_disable_ahub
            plan, _context = planner(clients, rg, name)
        else:
            raise InvalidInput(f"procedure {procedure!r} cannot be rolled out")
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
    from aks_windows_ops.runbooks.runner import RunStatus, resume

    cid = str(payload["cluster"])
    plan_id = str(payload["plan_id"])
    budget = float(payload.get("time_budget", 240))
    try:
        store = open_store(rollout_store_url())
        load = getattr(store, "load_plan", None)
        plan = load(plan_id) if load is not None else None
        if plan is None:
            raise InvalidInput(f"no stored plan {plan_id!r} in the rollout store")
        procedure = PROCEDURES[plan.procedure]
        actions = procedure.load_actions()
        if actions is None:
            raise InvalidInput(f"no actions for procedure {plan.procedure!r}")
        context, clients = cluster_context(plan, procedure, _factory(), None)
        result = resume(
            plan_id,
            actions,
            checkpoints=store,
            time_budget=budget,
            clock=clients.run_clock,
            extras={"cluster": context},
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


# --------------------------------------------------------------------------------------------- the blueprint
def caller_roles(headers: Mapping[str, str]) -> tuple[str | None, frozenset[str]]:
    """Return the caller's name and app roles from App Service authentication's ``X-MS-CLIENT-PRINCIPAL``.

    App Service authentication (Entra ID) validates the caller's token before the function runs, removes any
    ``X-MS-CLIENT-*`` header the caller sent, and passes the token's claims in that header (base64 JSON:
    https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities). Without it (the
    header absent or unreadable) there is no caller: ``(None, frozenset())``.
    """
    import base64
    import binascii
    import json

    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    raw = lowered.get("x-ms-client-principal", "")
    try:
        principal = json.loads(base64.b64decode(raw, validate=True)) if raw else None
    except (binascii.Error, ValueError):
        principal = None
    if not isinstance(principal, dict) or not isinstance(principal.get("claims"), list):
        return None, frozenset()
    role_type = str(principal.get("role_typ") or "")
    roles = frozenset(
        str(c.get("val"))
        for c in principal["claims"]
        if isinstance(c, dict) and (c.get("typ") in _ROLE_CLAIMS or (role_type and c.get("typ") == role_type))
    )
    name = lowered.get("x-ms-client-principal-name") or lowered.get("x-ms-client-principal-id")
    return name or "unnamed principal", roles


async def start_rollout(req: Any, client: Any) -> Any:
    """HTTP starter: check the caller, validate the request, refuse a second running instance, start it.

    ``POST /api/aks-windows-ops/rollouts`` with the request as JSON. One call can start writes on every
    cluster of a fleet, so the caller must be signed in with Entra ID through App Service authentication and
    hold the app role :data:`ROLLOUT_ROLE` (or the one named by ``AKS_WINDOWS_OPS_ROLLOUT_ROLE``): 401
    without a signed-in caller, 403 without the role (docs/security.md). Then 400 for an invalid request, 409
    with the running instance's status when the rollout already runs, else 202 with the status URLs.
    """
    import json

    import azure.functions as func

    caller, roles = caller_roles(dict(req.headers))
    required = os.environ.get(ROLLOUT_ROLE_ENV, "").strip() or ROLLOUT_ROLE
    if caller is None or required not in roles:
        status = 401 if caller is None else 403
        _log.warning(
            "rollout start refused (%s): caller %s lacks app role %s", status, caller or "-", required
        )
        return func.HttpResponse(
            json.dumps(
                {
                    "error": "sign in with Entra ID (App Service authentication)"
                    if caller is None
                    else f"the caller lacks the app role {required}"
                }
            ),
            status_code=status,
            mimetype="application/json",
        )
    try:
        body = req.get_json()
    except ValueError:
        body = None
    try:
        request = normalize_request(body)
    except InvalidInput as err:
        return func.HttpResponse(
            json.dumps({"error": "invalid request", "problems": err.problems}),
            status_code=400,
            mimetype="application/json",
        )
    request["state"] = None
    instance_id = instance_id_for(request["name"])
    status = await client.get_status(instance_id)
    runtime = getattr(
        getattr(status, "runtime_status", None), "value", getattr(status, "runtime_status", None)
    )
    if runtime in ("Running", "Pending", "ContinuedAsNew", "Suspended"):
        return func.HttpResponse(
            json.dumps(
                {
                    "error": f"rollout {request['name']!r} is already {runtime}",
                    "instance_id": instance_id,
                    "custom_status": getattr(status, "custom_status", None),
                }
            ),
            status_code=409,
            mimetype="application/json",
        )
    await client.start_new(ORCHESTRATOR_NAME, instance_id, request)
    _log.info("rollout %s started by %s", request["name"], caller)
    return client.create_check_status_response(req, instance_id)


def create_durable_blueprint(*, route: str = "aks-windows-ops/rollouts", auth_level: str = "ADMIN") -> Any:
    """Build the ``azure.durable_functions.Blueprint`` with the rollout orchestration (Service facts: Where it runs).

    Register it in ``function_app.py`` with ``app.register_functions(create_durable_blueprint())`` on a
    ``df.DFApp`` (or a ``func.FunctionApp``).

    The starter runs at the ``ADMIN`` authorization level: a function key (which anyone allowed to list a
    function's keys can read) is not enough, only the host's master key is. Turn on App Service
    authentication with Entra ID as well: the starter answers only callers it signed in who hold the app role
    :data:`ROLLOUT_ROLE`. Where App Service authentication rejects unauthenticated requests itself, the
    ``ANONYMOUS`` level removes the key and leaves Entra ID alone in charge (docs/security.md).

    Args:
        route: the HTTP route of the starter (``POST``).
        auth_level: ``ADMIN`` (default) or ``ANONYMOUS``; ``FUNCTION`` is refused.

    Raises:
        InvalidInput: another authorization level.
    """
    level = auth_level.strip().upper()
    if level not in ("ADMIN", "ANONYMOUS"):
        raise InvalidInput(
            f"the rollout starter's authorization level must be ADMIN or ANONYMOUS, not {auth_level!r}: "
            "a function key alone must not start writes across a fleet"
        )
    import azure.durable_functions as df
    import azure.functions as func

    bp = df.Blueprint()

    def aks_windows_ops_rollout_discover(payload: Any) -> dict[str, Any]:
        return discover_clusters(payload)

    def aks_windows_ops_rollout_plan(payload: Any) -> dict[str, Any]:
        return plan_cluster(payload)

    def aks_windows_ops_rollout_apply(payload: Any) -> dict[str, Any]:
        return apply_cluster(payload)

    def aks_windows_ops_rollout_report(payload: Any) -> str:
        return rollout_report(payload)

    async def aks_windows_ops_rollout_start(req: Any, client: Any) -> Any:
        return await start_rollout(req, client)

    # Real types (not strings): the worker resolves annotations against this module's globals.
    for activity, result in (
        (aks_windows_ops_rollout_discover, dict),
        (aks_windows_ops_rollout_plan, dict),
        (aks_windows_ops_rollout_apply, dict),
        (aks_windows_ops_rollout_report, str),
    ):
        activity.__annotations__ = {"payload": dict, "return": result}
    aks_windows_ops_rollout_start.__annotations__ = {
        "req": func.HttpRequest,
        "client": str,
        "return": func.HttpResponse,
    }
    # The worker sees the orchestrator through the SDK's handle (its own annotations); ``orchestrator_function``
    # on that handle is rollout_orchestrator itself.
    bp.function_name(ORCHESTRATOR_NAME)(
        bp.orchestration_trigger(context_name="context")(rollout_orchestrator)
    )
    for activity, name in (
        (aks_windows_ops_rollout_discover, DISCOVER_ACTIVITY),
        (aks_windows_ops_rollout_plan, PLAN_ACTIVITY),
        (aks_windows_ops_rollout_apply, APPLY_ACTIVITY),
        (aks_windows_ops_rollout_report, REPORT_ACTIVITY),
    ):
        bp.function_name(name)(bp.activity_trigger(input_name="payload")(activity))
    starter = bp.durable_client_input(client_name="client")(aks_windows_ops_rollout_start)
    starter = bp.route(route=route, methods=["POST"], auth_level=getattr(func.AuthLevel, level))(starter)
    bp.function_name(STARTER_NAME)(starter)
    return bp
