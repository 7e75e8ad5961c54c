"""A rollout's request: its names, limits and validation (pure: the orchestrator may call it)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import ClusterRef

__all__ = [
    "APPLY_ACTIVITY",
    "DISCOVER_ACTIVITY",
    "INSTANCE_PREFIX",
    "MAX_CONSECUTIVE_ERRORS",
    "MAX_POLL_SECONDS",
    "ORCHESTRATOR_NAME",
    "PLAN_ACTIVITY",
    "REPORT_ACTIVITY",
    "ROLLOUT_CHECKPOINTS_ENV",
    "ROLLOUT_PROCEDURES",
    "ROLLOUT_ROLE",
    "ROLLOUT_ROLE_ENV",
    "STARTER_NAME",
    "instance_id_for",
    "normalize_request",
]

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


def _cluster_id(value: Any) -> str | None:
    ref = ClusterRef.parse(value) if isinstance(value, str) else None
    return ref.path if ref is not None else None


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
