"""Requests per procedure: the library's runbooks on the simulator against the Azure CLI's recorded counts.

Service facts: How the Azure CLI does it (the ``cassettes/`` recordings, operation polls not counted): ``az aks update`` for the
Windows password or Hybrid Benefit costs 3 requests (GET, PUT, final GET); ``az aks nodepool add`` 3;
``az aks nodepool delete`` 2; ``az aks upgrade`` 3 plus 3 per pool upgraded. Enabling Hybrid Benefit and verifying it on the scale sets the way
the FAQ describes is ``az aks update`` + ``az vmss list`` + one ``az vmss show`` per Windows pool (Service facts: Anchor figures), which checks the scale set models but not the instances. The library's figure is every
journal entry of the simulator whose kind is not ``poll``, planning included (plan + apply). Pool add and
delete belong to the migrate runbook and are measured only when ``aks_windows_ops.runbooks.migrate`` exists.

    python benchmarks/bench_procedures.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_result, ratio, write_results

PASSWORD = "Rotated-Pa55word!2026"


def _count(fake: Any, since: int) -> int:
    return sum(1 for e in fake.journal[since:] if e.kind != "poll")


def _measure(
    scenario: str,
    sub: str,
    rg: str,
    name: str,
    plan: Callable[[Any], tuple[Any, Any]],
    apply: Callable[..., Any],
) -> dict[str, Any]:
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
    from aks_windows_ops.testing.fake_azure import FakeAzure

    fake = FakeAzure.from_scenario(scenario)
    clients = AzureClients.for_simulator(fake, sub, polling_interval=30)
    the_plan, context = plan(clients)
    planned = _count(fake, 0)
    mark = len(fake.journal)
    result = apply(the_plan, context, checkpoints=MemoryCheckpointStore())
    if not result.ok:
        raise RuntimeError(f"{scenario}: {result.message}")
    applied = _count(fake, mark)
    polls = sum(1 for e in fake.journal if e.kind == "poll")
    return {
        "plan": planned,
        "apply": applied,
        "total": planned + applied,
        "polls": polls,
        "steps": len(the_plan.steps),
        "simulated_minutes": round(fake.clock.monotonic() / 60),
    }


def _pool_cases() -> list[tuple[str, int, dict[str, Any]]]:
    """Add a Windows pool, and migrate one (new pool, drain, delete) with the Kubernetes fake attached."""
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
    from aks_windows_ops.runbooks.migrate import apply_migration, plan_migration
    from aks_windows_ops.runbooks.pools import apply_add_pool, plan_add_windows_pool
    from aks_windows_ops.testing.fake_azure import FakeAzure
    from aks_windows_ops.testing.fake_kube import FakeKubernetes

    cases: list[tuple[str, int, dict[str, Any]]] = []
    sub = "00000000-0000-0000-0000-000000000001"
    fake = FakeAzure.from_scenario("healthy")
    clients = AzureClients.for_simulator(fake, sub, polling_interval=30)
    plan, ctx = plan_add_windows_pool(clients, "rg-prod", "aks-prod", "win3", count=2)
    planned = _count(fake, 0)
    assert apply_add_pool(plan, ctx, checkpoints=MemoryCheckpointStore()).ok
    total = _count(fake, 0)
    cases.append(
        (
            "add a Windows pool (az aks nodepool add: list, PUT, final GET = 3; + 1 subnet-usage read the CLI never does)",
            3 + 1,
            {"plan": planned, "apply": total - planned, "total": total},
        )
    )

    kube = FakeKubernetes(ready_delay=0.0).start()
    try:
        sub = "00000000-0000-0000-0000-000000000002"
        fake = FakeAzure.from_scenario("ws2019-retiring", kube=kube)
        clients = AzureClients.for_simulator(fake, sub, polling_interval=30)
        plan, ctx = plan_migration(clients, "rg-legacy-apps", "aks-apps", "win19", reason="os-upgrade")
        planned = _count(fake, 0)
        assert apply_migration(plan, ctx, checkpoints=MemoryCheckpointStore()).ok
        total = _count(fake, 0)
    finally:
        kube.stop()
    cases.append(
        (
            "migrate a Windows pool (az aks get-credentials, nodepool add, nodepool delete)",
            1 + 3 + 2,
            {"plan": planned, "apply": total - planned, "total": total},
        )
    )
    return cases


def run() -> dict[str, Any]:
    from aks_windows_ops.runbooks.ahub import apply_ahub, plan_enable_ahub
    from aks_windows_ops.runbooks.password import apply_password_rotation, plan_password_rotation
    from aks_windows_ops.runbooks.patch import apply_patch, plan_patch
    from aks_windows_ops.secrets import Secret

    healthy = ("healthy", "00000000-0000-0000-0000-000000000001", "rg-prod", "aks-prod")
    retiring = ("ws2019-retiring", "00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps")
    legacy = ("legacy-2019", "00000000-0000-0000-0000-000000000003", "rg-erp", "aks-erp")
    cases: list[tuple[str, int, dict[str, Any]]] = []

    password = _measure(
        *retiring,
        plan=lambda c: plan_password_rotation(c, retiring[2], retiring[3], new_password=Secret(PASSWORD)),
        apply=apply_password_rotation,
    )
    cases.append(("rotate Windows password (az aks update)", 3, password))

    ahub = _measure(
        *legacy,
        plan=lambda c: plan_enable_ahub(c, legacy[2], legacy[3]),
        apply=apply_ahub,
    )
    cases.append(("enable AHUB + verify (az aks update, vmss list, vmss show)", 3 + 1 + 1, ahub))

    upgrade = _measure(
        *healthy,
        plan=lambda c: plan_patch(c, healthy[2], healthy[3], kubernetes_version="1.36.3"),
        apply=apply_patch,
    )
    pools = upgrade["steps"] - 2  # control plane + verify
    cases.append((f"cluster upgrade, control plane + {pools} pools (az aks upgrade)", 3 + 3 * pools, upgrade))

    figures: dict[str, Any] = {}
    ratios = []
    for label, cli, measured in cases:
        figures[label] = (
            f"library {measured['total']} (plan {measured['plan']} + apply {measured['apply']}), CLI {cli}; "
            f"{measured['polls']} polls over {measured['simulated_minutes']} simulated min"
        )
        value = measured["total"] / cli
        ratios.append(ratio(f"{label.split(' (')[0]}: library / CLI", value, "<= 1x", value <= 1.0))
    for label, cli, measured in _pool_cases():
        figures[label] = (
            f"library {measured['total']} (plan {measured['plan']} + apply {measured['apply']}), CLI {cli}"
        )
        value = measured["total"] / cli
        ratios.append(ratio(f"{label.split(' (')[0]}: library / CLI", value, "<= 1x", value <= 1.0))
    return {
        "benchmark": "requests_per_procedure",
        "title": "non-poll requests, library (plan + apply) vs Azure CLI recordings",
        "command": "python benchmarks/bench_procedures.py",
        "figures": figures,
        "ratios": ratios,
    }


if __name__ == "__main__":
    result = run()
    print_result(result)
    write_results([result], "bench_procedures")
