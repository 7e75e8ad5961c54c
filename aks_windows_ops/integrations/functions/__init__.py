"""Azure Functions (Python v2 programming model): the nightly timer (Service facts: Where it runs).

A timer run has the host's timeout (5 minutes by default on the Consumption plan, 10 at most) while node pool
work takes tens of minutes to hours, so one run never finishes a procedure: it advances it and returns, and
the checkpoints in Blob storage carry the work to the next run on whatever instance picks it up. Each run of
:func:`run_nightly`:

1. audits the fleet (:func:`aks_windows_ops.fleet.audit`) within a share of the time budget and writes the
   JSON report to Blob (``fleet-audit/<UTC time>.json`` and ``fleet-audit/latest.json``);
2. lists the plans in the checkpoint store (``plan_ids()``) and ``resume()``s every unfinished one, oldest
   first, with what is left of the budget (design principle "resumable by construction"). Plans that failed wait for an operator; a
   password rotation that has not sent its write yet waits for the password (from Key Vault when
   ``AKS_WINDOWS_OPS_PASSWORD_SECRET`` is set).

App settings (environment variables):

| setting | meaning | default |
|---|---|---|
| ``AKS_WINDOWS_OPS_CHECKPOINTS`` | checkpoint store, e.g. ``blob://ops?account_url=https://<acct>.blob.core.windows.net`` | required in Azure |
| ``AKS_WINDOWS_OPS_SUBSCRIPTIONS`` | subscriptions to audit, comma separated | ``AZURE_SUBSCRIPTION_ID`` |
| ``AKS_WINDOWS_OPS_REPORTS`` | where audit reports go (``blob://``, ``memory:``, a directory) | the checkpoints' container, prefix ``aks-windows-ops/reports/`` |
| ``AKS_WINDOWS_OPS_TIME_BUDGET`` | seconds one run may take; keep it below the host timeout | ``240`` |
| ``AKS_WINDOWS_OPS_AUDIT_BUDGET`` | seconds of that budget the audit may take | a quarter of the budget |
| ``AKS_WINDOWS_OPS_PASSWORD_SECRET`` | ``https://<vault>.vault.azure.net/secrets/<name>`` for pending rotations | unset |
| ``AKS_WINDOWS_OPS_SIMULATE`` | rehearse on a simulator scenario instead of Azure | unset |

Azure is reached with ``DefaultAzureCredential``, which is the function app's managed identity in Azure.
Tests and rehearsals inject the client bundle: :func:`set_clients_factory`, or ``AKS_WINDOWS_OPS_SIMULATE``
(one ``FakeAzure`` per scenario and process, so consecutive runs see the work progress).

``azure.functions`` is imported only when the blueprint is built (:func:`create_blueprint`, or the package
attribute ``bp``, built on first access), so importing this package is cheap.

The package, by job: :mod:`.settings` (the app settings above), :mod:`.runtime` (the injectable client
factory, the rehearsals' simulators, the opened stores), :mod:`.reports` (where JSON reports go),
:mod:`.plans` (advancing the stored plans through the public ``resume``) and :mod:`.nightly` (one run, and the
blueprint).
"""

from __future__ import annotations

from typing import Any

from aks_windows_ops.integrations.functions.nightly import (
    NightlyResult,
    NightlyRunFailed,
    create_blueprint,
    nightly_timer,
    run_nightly,
)
from aks_windows_ops.integrations.functions.plans import PlanOutcome, advance_plans, password_secret_from
from aks_windows_ops.integrations.functions.reports import read_report, write_report
from aks_windows_ops.integrations.functions.runtime import (
    clients_factory,
    open_store,
    reset_runtime,
    set_clients_factory,
    simulator,
)
from aks_windows_ops.integrations.functions.settings import (
    AUDIT_BUDGET_ENV,
    DEFAULT_AUDIT_SHARE,
    DEFAULT_SCHEDULE,
    DEFAULT_TIME_BUDGET,
    MIN_SLICE_SECONDS,
    NIGHTLY_FUNCTION_NAME,
    REPORTS_ENV,
    SIMULATE_ENV,
    SUBSCRIPTIONS_ENV,
    TIME_BUDGET_ENV,
    ClientsFactory,
    FunctionSettings,
    sibling_url,
)
from aks_windows_ops.runbooks.registry import PASSWORD_SECRET_ENV, PROCEDURES, Procedure

__all__ = [
    "AUDIT_BUDGET_ENV",
    "DEFAULT_AUDIT_SHARE",
    "DEFAULT_SCHEDULE",
    "DEFAULT_TIME_BUDGET",
    "MIN_SLICE_SECONDS",
    "NIGHTLY_FUNCTION_NAME",
    "PASSWORD_SECRET_ENV",
    "PROCEDURES",
    "REPORTS_ENV",
    "SIMULATE_ENV",
    "SUBSCRIPTIONS_ENV",
    "TIME_BUDGET_ENV",
    "ClientsFactory",
    "FunctionSettings",
    "NightlyResult",
    "NightlyRunFailed",
    "PlanOutcome",
    "Procedure",
    "advance_plans",
    "clients_factory",
    "create_blueprint",
    "nightly_timer",
    "open_store",
    "password_secret_from",
    "read_report",
    "reset_runtime",
    "run_nightly",
    "set_clients_factory",
    "sibling_url",
    "simulator",
    "write_report",
]


def __getattr__(name: str) -> Any:
    # ``from aks_windows_ops.integrations.functions import bp`` builds the default blueprint on first use.
    if name == "bp":
        blueprint = create_blueprint()
        globals()["bp"] = blueprint
        return blueprint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
