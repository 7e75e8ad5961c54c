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

The package, by job: :mod:`.request` (names, limits, validation), :mod:`.orchestrator`, :mod:`.activities`
(every Azure call, through the public ``resume`` and the procedure registry) and :mod:`.blueprint` (the HTTP
starter and the blueprint).

Activities read the app settings of :mod:`aks_windows_ops.integrations.functions`, plus
``AKS_WINDOWS_OPS_ROLLOUT_CHECKPOINTS`` (the rollouts' checkpoint store; by default next to
``AKS_WINDOWS_OPS_CHECKPOINTS``, prefix ``aks-windows-ops/rollouts/``, so that the nightly timer never drives
a rollout's plans at the same time as the orchestration does).
"""

from __future__ import annotations

from aks_windows_ops.integrations.durable.activities import (
    apply_cluster,
    discover_clusters,
    plan_cluster,
    rollout_report,
    rollout_reports_url,
    rollout_store_url,
)
from aks_windows_ops.integrations.durable.blueprint import (
    caller_roles,
    create_durable_blueprint,
    start_rollout,
)
from aks_windows_ops.integrations.durable.orchestrator import rollout_orchestrator
from aks_windows_ops.integrations.durable.request import (
    APPLY_ACTIVITY,
    DISCOVER_ACTIVITY,
    INSTANCE_PREFIX,
    ORCHESTRATOR_NAME,
    PLAN_ACTIVITY,
    REPORT_ACTIVITY,
    ROLLOUT_CHECKPOINTS_ENV,
    ROLLOUT_PROCEDURES,
    ROLLOUT_ROLE,
    ROLLOUT_ROLE_ENV,
    STARTER_NAME,
    instance_id_for,
    normalize_request,
)

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
    "start_rollout",
]
