"""The built-in scenarios keep up with the calendar: the one test that reads the machine's date on purpose.

Each built-in scenario lists in its ``shows:`` field the preflight findings it exists to show (for example
``ws2019-retiring`` shows a retired Windows Server 2019 pool, and the out-of-support Kubernetes 1.32 that the pool
holds its cluster on). Every other scenario version is meant to be current: a new user who runs
``aks-windows-ops preflight --simulate healthy`` should see a healthy cluster, not one AKS stopped supporting.

Lifecycle findings are the ones graded against a date (Windows OS retirement and image removal, Kubernetes
support, the pre-2020 image). As the calendar moves, a scenario's Kubernetes minor leaves AKS support or its
Windows OS retires; this test then fails, naming the scenario and the finding, so that the scenario file and the
simulator's version catalog (``aks_windows_ops/testing/catalog.py``) are moved to what AKS offers that day. Every
other test grades on the simulator's fixed day and does not depend on the machine's date.
"""

from __future__ import annotations

import pytest

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import read_snapshot
from aks_windows_ops.clock import SystemClock
from aks_windows_ops.models import Finding, Severity
from aks_windows_ops.rules import preflight_lifecycle as life
from aks_windows_ops.rules.lifecycle import builtin_lifecycle
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS, read_scenario


def _lifecycle_problems(name: str) -> list[Finding]:
    """The warnings and errors of the date-graded preflight rules on the scenario's clusters, as of today."""
    today = SystemClock().now().date()
    data = read_scenario(name)
    fake = FakeAzure.from_scenario(name)
    lifecycle = builtin_lifecycle()
    found: list[Finding] = []
    for sub in data["subscriptions"]:
        clients = AzureClients.for_simulator(fake, str(sub["id"]))
        for rg in sub["resource_groups"]:
            for cluster in rg.get("clusters") or []:
                snap = read_snapshot(clients, rg["name"], cluster["name"])
                found += [
                    *life.windows_os_findings(snap, lifecycle, today),
                    *life.kubernetes_support_findings(snap, lifecycle, today),
                    *life.old_image_findings(snap, lifecycle),
                ]
    return [f for f in found if f.severity in (Severity.WARNING, Severity.ERROR)]


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_builtin_scenario_has_no_lifecycle_problem_it_does_not_exist_to_show_as_of_today(name: str) -> None:
    today = SystemClock().now().date()
    shows = set(read_scenario(name)["shows"])
    accidental = [f for f in _lifecycle_problems(name) if f.code not in shows]
    assert not accidental, (
        f"built-in scenario {name!r} is out of date as of {today.isoformat()}: preflight reports "
        + "; ".join(
            f"{f.code} ({f.severity.value}, {f.resource}): {f.message.rstrip('.')}" for f in accidental
        )
        + f". The scenario exists to show only {sorted(shows) or 'nothing'} (its shows: field). Move its versions "
        f"(aks_windows_ops/testing/scenarios/{name}.yaml) and the simulator's catalog "
        "(aks_windows_ops/testing/catalog.py) to what AKS offers today, and the tests that pin its findings."
    )
