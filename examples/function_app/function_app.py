"""An Azure Functions app (Python v2 model) that runs aks_windows_ops on a schedule and on demand.

- ``aks_windows_ops_nightly``: a timer (02:00 UTC by default, ``AKS_WINDOWS_OPS_SCHEDULE`` to change it) that
  audits the fleet into Blob storage and advances the plans waiting in the checkpoint store.
- ``aks_windows_ops_rollout_*``: a Durable Functions orchestration that rolls a patch (or Hybrid Benefit) out
  across many clusters, started with ``POST /api/aks-windows-ops/rollouts``.

The app settings are listed in ``aks_windows_ops.integrations.functions`` and ``...durable``; the identity
needs the roles of docs/rbac.md.
"""

from __future__ import annotations

import os

import azure.durable_functions as df
import azure.functions as func

from aks_windows_ops.integrations.durable import create_durable_blueprint
from aks_windows_ops.integrations.functions import DEFAULT_SCHEDULE, create_blueprint

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(
    create_blueprint(schedule=os.environ.get("AKS_WINDOWS_OPS_SCHEDULE", DEFAULT_SCHEDULE))
)
app.register_functions(create_durable_blueprint())
