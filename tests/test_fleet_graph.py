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
    before = fake.clock.monotonic()
    report = audit(clients, subscriptions=subs, include=("licenses",), concurrency=2)
    assert report.source == "graph" and all(r.ok for r in report.rows)
    # more pages than one window allows: the reader waited for the reset (virtual time), and was never refused
    assert graph_settings.queries > 2 and graph_settings.throttled == 0
    assert fake.clock.monotonic() - before >= 5.0


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
        assert result.exit_code == 2, result.output  # WS2019 retired, 1.32 out of support
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


def _cluster_profile_reads(fake: FakeAzure) -> int:
    return sum(
        1
        for e in fake.journal
        if e.path.lower().endswith("/upgradeprofiles/default") and "/agentpools/" not in e.path.lower()
    )


def test_kubernetes_versions_are_read_once_per_region_and_agree_with_the_upgrade_profiles() -> None:
    fake = FakeAzure()
    subs = seeded_fleet(fake, subscriptions=3, per_subscription=12, seed=5)
    # one version the region no longer lists (1.31 left AKS support): those clusters are answered by their own
    # upgrade profile
    assert "1.31.10" not in fake.kubernetes_versions
    regions = {str(c.body["location"]).lower() for c in fake.clusters.values()}
    clients = AzureClients.for_simulator(fake, subs[0])
    include = ("images", "licenses", "findings")
    arm = audit(clients, subscriptions=subs, source="arm", include=include, concurrency=4)
    arm_profiles = _cluster_profile_reads(fake)
    fake.journal.clear()
    graph = audit(clients, subscriptions=subs, source="graph", include=include, concurrency=4)
    assert comparable(graph) == comparable(arm) and all(r.ok for r in graph.rows)
    version_reads = [e for e in fake.journal if e.path.lower().endswith("/kubernetesversions")]
    assert len(version_reads) == len(regions)
    unlisted = [r for r in graph.rows if r.kubernetes_version == "1.31.10"]
    listed = [r for r in graph.rows if r.kubernetes_version != "1.31.10"]
    assert unlisted and listed
    assert all(dict(r.sources)["versions"] == "arm" for r in unlisted)
    assert all(dict(r.sources)["versions"] == "arm-region" for r in listed)
    # per cluster, only the clusters on an unlisted version still read the cluster's upgrade profile
    assert arm_profiles == len(arm.rows) and _cluster_profile_reads(fake) == len(unlisted)
    # the findings that use the offered upgrades still come out the same
    assert sum(r.errors + r.warnings + r.infos for r in graph.rows) > 0


def test_resource_graph_failing_midway_leaves_the_rest_to_arm_with_the_same_report() -> None:
    fake = FakeAzure()
    subs = seeded_fleet(fake, subscriptions=4, per_subscription=10, seed=7)
    settings = ResourceGraph(page_limit=10).install(fake)
    clients = AzureClients.for_simulator(fake, subs[0])
    include = ("licenses", "findings")
    clean = audit(clients, subscriptions=subs, include=include, concurrency=3)
    pages = settings.queries
    assert pages > 4 and all(dict(r.sources)["licenses"] == "graph" for r in clean.rows)
    # the last pages of the instance query are refused: the subscriptions they held are read from ARM
    fake.add_fault(
        "error", path="/providers/Microsoft.ResourceGraph/resources", status=403, times=0, skip=pages - 2
    )
    report = audit(clients, subscriptions=subs, include=include, concurrency=3)
    assert comparable(report) == comparable(clean)
    assert report.complete and all(r.ok for r in report.rows)
    by_source = {dict(r.sources)["licenses"] for r in report.rows}
    assert by_source == {"graph", "arm"}
    assert report.source == "graph" and "403" in (report.source_note or "")
    assert "read from ARM" in (report.source_note or "")
    assert all(r.graph_age is None for r in report.rows if dict(r.sources)["licenses"] == "arm")


def test_graph_index_releases_a_subscription_once_the_next_one_starts() -> None:
    from aks_windows_ops.fleet.graph import GraphIndex
    from aks_windows_ops.fleet.queue import WorkQueue
    from aks_windows_ops.models import ClusterRef

    index = GraphIndex()
    queue = WorkQueue(None)
    index.on_progress = queue.wake
    queue.set_gate(index.ready)
    queue.add_clusters([ClusterRef("B", "rg", "b1"), ClusterRef("A", "rg", "a1")])
    assert not index.ready("A") and not index.ready("B")
    index.add_page("scale_sets", [{"subscriptionId": "a", "resourceGroup": "rg", "name": "s"}], 1.0)
    index.add_page("scale_sets", [{"subscriptionId": "b", "resourceGroup": "rg", "name": "s"}], 2.0)
    assert not index.ready("A")  # its instances are not read yet
    index.finish("scale_sets", 2.5)
    index.add_page(
        "instances",
        [
            {
                "subscriptionId": "a",
                "resourceGroup": "rg",
                "id": "/x/virtualMachineScaleSets/s/virtualMachines/0",
            }
        ],
        3.0,
    )
    assert not index.ready("A")  # the page may continue with more of A's instances
    index.add_page(
        "instances",
        [
            {
                "subscriptionId": "b",
                "resourceGroup": "rg",
                "id": "/y/virtualMachineScaleSets/s/virtualMachines/0",
            }
        ],
        4.0,
    )
    assert index.ready("A") and index.usable("A") and not index.ready("B")
    assert index.read_at_for("A") == 4.0
    # the queue hands out A's cluster although B's came first; B's waits for the rest
    assert queue.next() == ("cluster", ClusterRef("A", "rg", "a1"))
    index.fail(RuntimeError("quota"))
    assert index.ready("B") and not index.usable("B")
    assert queue.next() == ("cluster", ClusterRef("B", "rg", "b1"))
    assert queue.next() is None


def test_a_cancelled_graph_reading_stops_at_the_next_page() -> None:
    from aks_windows_ops.fleet.graph import GraphIndex, fill_graph_index

    fake = FakeAzure()
    subs = seeded_fleet(fake, subscriptions=2, per_subscription=10)
    settings = ResourceGraph(page_limit=5).install(fake)
    from aks_windows_ops.azure.resource_graph import GraphReader

    index = GraphIndex()
    index.on_progress = index.cancel  # cancelled as soon as the first page is in
    fill_graph_index(GraphReader(AzureClients.for_simulator(fake, subs[0])), subs, index)
    assert index.failure is not None and index.pages_read == 1
    assert settings.queries == 2  # the page in flight when it was cancelled, and no more
    assert index.ready(subs[0]) and not index.usable(subs[0])
