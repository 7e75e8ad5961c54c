"""The timer's app settings (environment variables) and where its stores and reports live (Service facts: Where it runs)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.runbooks.checkpoints import (
    CHECKPOINTS_ENV,
)
from aks_windows_ops.runbooks.registry import PASSWORD_SECRET_ENV

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.azure.clients import AzureClients

__all__ = [
    "AUDIT_BUDGET_ENV",
    "DEFAULT_AUDIT_SHARE",
    "DEFAULT_SCHEDULE",
    "DEFAULT_TIME_BUDGET",
    "MIN_SLICE_SECONDS",
    "NIGHTLY_FUNCTION_NAME",
    "REPORTS_ENV",
    "SIMULATE_ENV",
    "SUBSCRIPTIONS_ENV",
    "TIME_BUDGET_ENV",
    "ClientsFactory",
    "FunctionSettings",
    "sibling_url",
]

#: Six-field NCRONTAB (seconds first): every day at 02:00 UTC.
DEFAULT_SCHEDULE = "0 0 2 * * *"
#: Seconds a run may take: below the Consumption plan's 5-minute default timeout (Service facts: Where it runs).
DEFAULT_TIME_BUDGET = 240.0
#: Share of the budget the audit may use; the plans get the rest.
DEFAULT_AUDIT_SHARE = 0.25
#: The timer function's name in the function app.
NIGHTLY_FUNCTION_NAME = "aks_windows_ops_nightly"
#: Below this many seconds of budget a plan is not started: it would only read state and pause.
MIN_SLICE_SECONDS = 5.0

SUBSCRIPTIONS_ENV = "AKS_WINDOWS_OPS_SUBSCRIPTIONS"
REPORTS_ENV = "AKS_WINDOWS_OPS_REPORTS"
TIME_BUDGET_ENV = "AKS_WINDOWS_OPS_TIME_BUDGET"
AUDIT_BUDGET_ENV = "AKS_WINDOWS_OPS_AUDIT_BUDGET"
SIMULATE_ENV = "AKS_WINDOWS_OPS_SIMULATE"

ClientsFactory = Callable[[str], "AzureClients"]


def _seconds(environ: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"app setting {name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise InvalidInput(f"app setting {name} must be positive, got {raw!r}")
    return value


@dataclass(frozen=True)
class FunctionSettings:
    """What a timer run does, read from the function app's settings (module docstring table).

    Attributes:
        checkpoints: the checkpoint store URL (``blob://...`` in Azure; see ``checkpoint_store_from_url``).
        subscriptions: subscriptions to audit; empty means every subscription of the simulated scenario.
        reports: where audit reports are written; derived from ``checkpoints`` when ``None``.
        time_budget: seconds one run may take (below the host timeout, Service facts: Where it runs).
        audit_budget: seconds of ``time_budget`` the audit may take.
        password_secret: Key Vault secret URL with the new admin password for pending rotations.
        simulate: a scenario name or file: run on the simulator instead of Azure.
        concurrency: clusters the audit reads at once.
    """

    checkpoints: str
    subscriptions: tuple[str, ...] = ()
    reports: str | None = None
    time_budget: float = DEFAULT_TIME_BUDGET
    audit_budget: float | None = None
    password_secret: str | None = None
    simulate: str | None = None
    concurrency: int = 8

    def __post_init__(self) -> None:
        problems = []
        if self.time_budget <= 0:
            problems.append(f"the time budget ({TIME_BUDGET_ENV}) must be positive")
        if self.audit_budget is not None and not 0 < self.audit_budget <= self.time_budget:
            problems.append(
                f"the audit budget ({AUDIT_BUDGET_ENV}) must be positive and at most the time budget"
            )
        if self.concurrency < 1:
            problems.append("the concurrency (clusters read at once) must be at least 1")
        if problems:
            raise InvalidInput(problems)

    @property
    def audit_seconds(self) -> float:
        """The audit's share of the budget."""
        return self.audit_budget if self.audit_budget is not None else self.time_budget * DEFAULT_AUDIT_SHARE

    @property
    def reports_url(self) -> str:
        """Where reports go: ``reports``, else next to the checkpoints (see :func:`sibling_url`)."""
        return self.reports or sibling_url(self.checkpoints, "reports")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FunctionSettings:
        """Read the settings from app settings (environment variables; module docstring table).

        Raises:
            InvalidInput: a setting is malformed, or no checkpoint store or subscription is configured
                outside the simulator.
        """
        env = os.environ if environ is None else environ
        simulate = env.get(SIMULATE_ENV, "").strip() or None
        checkpoints = env.get(CHECKPOINTS_ENV, "").strip()
        if not checkpoints:
            if simulate is None:
                raise InvalidInput(
                    f"set {CHECKPOINTS_ENV} to the checkpoint store, e.g. "
                    "blob://aks-ops?account_url=https://<account>.blob.core.windows.net"
                )
            checkpoints = "memory:"
        raw_subs = env.get(SUBSCRIPTIONS_ENV, "") or env.get("AZURE_SUBSCRIPTION_ID", "")
        subscriptions = tuple(s for s in raw_subs.replace(";", ",").replace(" ", ",").split(",") if s)
        if not subscriptions and simulate is None:
            raise InvalidInput(
                f"set {SUBSCRIPTIONS_ENV} (or AZURE_SUBSCRIPTION_ID) to the subscriptions to audit"
            )
        budget = _seconds(env, TIME_BUDGET_ENV, DEFAULT_TIME_BUDGET)
        assert budget is not None
        return cls(
            checkpoints=checkpoints,
            subscriptions=subscriptions,
            reports=env.get(REPORTS_ENV, "").strip() or None,
            time_budget=budget,
            audit_budget=_seconds(env, AUDIT_BUDGET_ENV, None),
            password_secret=env.get(PASSWORD_SECRET_ENV, "").strip() or None,
            simulate=simulate,
        )


def sibling_url(url: str, leaf: str) -> str:
    """Return a store location next to the checkpoint store ``url``, for ``leaf`` (``reports``, ``rollouts``).

    ``blob://<container>[/prefix][?query]`` gives ``blob://<container>/aks-windows-ops/<leaf>[?query]`` (same
    account and authentication); ``memory:`` gives ``memory:<leaf>``; a file path gives ``<leaf>`` in the
    file's directory. Other URLs (``https://`` Blob URLs) need the location set explicitly.

    Raises:
        InvalidInput: ``url`` is a form that has no obvious sibling.
    """
    text = url.strip()
    if text.startswith("memory:"):
        return f"memory:{leaf}"
    parsed = urlparse(text)
    if parsed.scheme == "blob":
        query = f"?{parsed.query}" if parsed.query else ""
        return f"blob://{parsed.netloc}/aks-windows-ops/{leaf}{query}"
    if parsed.scheme in ("", "file") or (len(text) > 1 and text[1] == ":"):
        path = Path(parsed.path if parsed.scheme == "file" else text).expanduser()
        return str(path.parent / leaf)
    raise InvalidInput(
        f"cannot derive a {leaf} location from {url!r}: set it explicitly (e.g. blob://<container>/{leaf})"
    )
