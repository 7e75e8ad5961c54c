"""The fleet audit through Resource Graph: the same report as through ARM, in far fewer requests."""

from __future__ import annotations

import random
from typing import Any

import pytest

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.fleet import FleetReport, audit
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.resource_graph import ResourceGraph
from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS, load_scenario


def _subs(fake: FakeAzure) -> list[str]:
    return sorted({sub for sub, _rg, _name in fake.clusters})


def comparable(report: FleetReport) -> list[dict[str, Any]]:
    """Every row in full, less what says how it was read (calls, attempts, sources, age)."""
    out = []
    for row in report.rows:
        d = row.to_dict()
        for key in ("api_calls", "attempts", "sources", "graph_age_seconds"):
            d.pop(key)
        out.append(d)
    return out


def graph_queries_were_all_answered(fake: FakeAzure) -> bool:
    graph = [e for e in fake.journal if "microsoft.resourcegraph" in e.path.lower()]
    return bool(graph) and all(e.status == 200 for e in graph)


@pytest.mark.parametrize("scenario", BUILTIN_SCENARIOS)
def test_graph_and_arm_give_the_same_report_for_every_builtin_scenario(scenario: str) -> None:
    fake = load_scenario(scenario)
    subs = _subs(fake)
    clients = AzureClients.for_simulator(fake, subs[0])
    arm = audit(clients, subscriptions=subs, source="arm", concurrency=2)
    graph = audit(clients, subscriptions=subs, source="graph", concurrency=2)
    assert (arm.source, graph.source) == ("arm", "graph")
    assert comparable(graph) == comparable(arm)
    assert all(r.ok for r in graph.rows)
    assert (
        dict(graph.rows[0].sources)["licenses"] == "graph" and dict(arm.rows[0].sources)["licenses"] == "arm"
    )
    assert graph.api_calls < arm.api_calls
    assert graph_queries_were_all_answered(fake)


def seeded_fleet(fake: FakeAzure, subscriptions: int, per_subscription: int, seed: int = 11) -> list[str]:
    rnd = random.Random(seed)
    subs = []
    for s in range(subscriptions):
        sub = f"00000000-0000-0000-0000-{s + 1:012d}"
        subs.append(sub)
        for c in range(per_subscription):
            version = rnd.choice(("1.31.10", "1.32.7", "1.33.5"))
            pools: list[dict[str, Any]] = [
                {"name": "system", "mode": "System", "os_type": "Linux", "count": 1}
            ]
            for p in range(rnd.randint(1, 3)):
                sku = rnd.choice(("Windows2022", "Windows2019", "Windows2025"))
                if (sku == "Windows2019" and version.startswith("1.33")) or (
                    sku == "Windows2025" and version.startswith("1.31")
                ):
                    sku = "Windows2022"
                pools.append(
                    {
                        "name": f"win{p}",
                        "os_type": "Windows",
                        "os_sku": sku,
                        "count": rnd.randint(1, 2),
                        "node_image": rnd.choice(("oldest", "latest")),
                    }
                )
            fake.add_cluster(
                sub,
                f"rg-{c % 4}",
                f"aks-{s}-{c}",
                kubernetes_version=version,
                network_plugin="azure",
                network_plugin_mode="overlay",
                windows_profile={
                    "admin_username": "azureuser",
                    "license_type": rnd.choice(("Windows_Server", None)),
                },
                windows_image_date=rnd.choice(("2026-09-20", "2026-11-20")),
                pools=pools,
            )
    return subs


def test_graph_and_arm_give_the_same_report_for_a_generated_500_cluster_fleet() -> None:
    fake = FakeAzure()
    subs = seeded_fleet(fake, subscriptions=5, per_subscription=100)
    # drift on some instances, so that the license facts differ between clusters
    for i, vms in enumerate(fake.vms.values()):
        if i % 7 == 0:
            for vm in vms.values():
                vm["properties"]["licenseType"] = "Windows_Server"
    graph_settings = ResourceGraph().install(fake)
    clients = AzureClients.for_simulator(fake, subs[0])
    include = ("licenses", "findings")
    arm = audit(clients, subscriptions=subs, source="arm", include=include, concurrency=8)
    graph = audit(clients, subscriptions=subs, source="graph", include=include, concurrency=8)
    assert len(graph.rows) == 500 and all(r.ok for r in graph.rows)
    assert comparable(graph) == comparable(arm)
    assert sum(r.ahub_drift or 0 for r in graph.rows) > 0  # the drift was seen, on both paths
    # a few pages of Resource Graph plus one cluster list per subscription instead of ~5 reads per cluster
    assert graph.api_calls / len(graph.rows) <= 0.05 < arm.api_calls / len(arm.rows)
    assert graph_settings.queries >= 2 and graph_settings.throttled == 0
    assert graph_queries_were_all_answered(fake)


def test_a_caller_refused_by_resource_graph_is_audited_through_arm() -> None:
    fake = load_scenario("healthy")
    fake.add_fault("error", path="/providers/Microsoft.ResourceGraph/resources", status=403, times=0)
    sub = _subs(fake)[0]
    clients = AzureClients.for_simulator(fake, sub)
    report = audit(clients, subscriptions=[sub])
    assert report.source == "arm" and "403" in (report.source_note or "")
    assert all(r.ok for r in report.rows)
    assert comparable(report) == comparable(audit(clients, subscriptions=[sub], source="arm"))


def test_graph_path_waits_for_the_quota_window_instead_of_failing() -> None:
    fake = FakeAzure()
    subs = seeded_fleet(fake, subscriptions=2, per_subscription=30)
    graph_settings = ResourceGraph(quota=2, window=5.0, page_limit=10).install(fake)
    clients = AzureClients.for_simulator(fake, subs[0])
    before = fake.clock.now()
    report = audit(clients, subscriptions=subs, include=("licenses",), concurrency=2)
    assert report.source == "graph" and all(r.ok for r in report.rows)
    # more pages than one window allows: the reader waited for the reset (virtual time), and was never refused
    assert graph_settings.queries > 2 and graph_settings.throttled == 0
    assert fake.clock.now() - before >= 5.0


def test_an_unknown_source_is_refused_before_any_request() -> None:
    from aks_windows_ops import errors as E

    fake = load_scenario("healthy")
    with pytest.raises(E.InvalidInput, match="source"):
        audit(AzureClients.for_simulator(fake, _subs(fake)[0]), source="cache")
    assert fake.journal == []


def test_cli_audit_reads_through_the_source_it_is_given() -> None:
    import json

    from typer.testing import CliRunner

    from aks_windows_ops.cli import app

    runner = CliRunner()
    results = {}
    for source in ("graph", "arm"):
        result = runner.invoke(
            app, ["audit", "--simulate", "ws2019-retiring", "--source", source, "-o", "json"]
        )
        assert result.exit_code == 1, result.output
        results[source] = json.loads(result.output)
    assert results["graph"]["summary"]["source"] == "graph" and results["arm"]["summary"]["source"] == "arm"
    assert results["graph"]["rows"][0]["sources"]["licenses"] == "graph"
    strip = ("api_calls", "attempts", "sources", "graph_age_seconds")
    rows = {
        k: [{f: v for f, v in r.items() if f not in strip} for r in d["rows"]] for k, d in results.items()
    }
    assert rows["graph"] == rows["arm"]
    bad = runner.invoke(app, ["audit", "--simulate", "healthy", "--source", "cache"])
    assert (
        bad.exit_code == 4
        and "'cache' is not one of 'graph', 'arm'" in bad.stderr
        and "Traceback" not in bad.output
    )


def test_explicit_clusters_read_the_same_through_both_paths() -> None:
    fake = FakeAzure()
    subs = seeded_fleet(fake, subscriptions=2, per_subscription=4)
    clients = AzureClients.for_simulator(fake, subs[0])
    chosen = [f"{subs[0]}/rg-1/aks-0-1", f"{subs[1]}/rg-2/aks-1-2"]
    graph = audit(clients, clusters=chosen)
    arm = audit(clients, clusters=chosen, source="arm")
    assert graph.source == "graph" and [r.cluster for r in graph.rows] == ["aks-0-1", "aks-1-2"]
    assert comparable(graph) == comparable(arm)


def test_a_quota_wait_past_the_time_budget_falls_back_to_arm() -> None:
    fake = FakeAzure()
    subs = seeded_fleet(fake, subscriptions=2, per_subscription=5)
    graph_settings = ResourceGraph(quota=1, window=600.0, page_limit=5).install(fake)
    clients = AzureClients.for_simulator(fake, subs[0])
    report = audit(clients, subscriptions=subs, include=("licenses",), time_budget=60)
    assert report.source == "arm" and "time budget" in (report.source_note or "")
    assert report.complete and all(r.ok for r in report.rows) and graph_settings.queries == 1
