"""The simulator's Resource Graph, queried with the real ``azure-mgmt-resourcegraph`` client."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from aks_windows_ops import errors as E
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.resource_graph import (
    CLUSTERS_QUERY,
    SCALE_SET_VMS_QUERY,
    SCALE_SETS_QUERY,
    GraphReader,
    parse_hms,
)
from aks_windows_ops.testing.resource_graph import ResourceGraph
from aks_windows_ops.testing.scenario import load_scenario


@pytest.fixture
def world() -> tuple[Any, AzureClients, list[str]]:
    fake = load_scenario("healthy")
    subs = sorted({s for s, _rg, _n in fake.clusters})
    return fake, AzureClients.for_simulator(fake, subs[0]), subs


def run(clients: AzureClients, query: str, subs: list[str], **options: Any) -> tuple[Any, Any]:
    def keep(pipeline_response: Any, deserialized: Any, _h: Any) -> tuple[Any, Any]:
        return deserialized, pipeline_response.http_response.headers

    request = QueryRequest(query=query, subscriptions=subs, options=QueryRequestOptions(**options))
    result: Any = clients.resource_graph.resources(request, cls=keep)
    return result


def test_cluster_rows_carry_agent_pool_profiles_and_the_service_columns(world: Any) -> None:
    fake, clients, subs = world
    data, headers = run(clients, CLUSTERS_QUERY, subs)
    (row,) = data.data
    assert row["name"] == "aks-prod" and row["resourceGroup"] == row["resourceGroup"].lower()
    assert {p["name"] for p in row["properties"]["agentPoolProfiles"]} >= {"system", "win22"}
    assert row["subscriptionId"] == subs[0]
    assert int(headers["x-ms-user-quota-remaining"]) == 14
    assert parse_hms(headers["x-ms-user-quota-resets-after"]) == 5.0


def test_scale_sets_and_instances_carry_license_type(world: Any) -> None:
    _fake, clients, subs = world
    sets, _ = run(clients, SCALE_SETS_QUERY, subs)
    windows = [r for r in sets.data if r["tags"].get("aks-managed-poolName", "").startswith("win")]
    assert windows and all(r["licenseType"] == "Windows_Server" for r in windows)
    assert [r["id"] for r in sets.data] == sorted(r["id"] for r in sets.data)
    vms, _ = run(clients, SCALE_SET_VMS_QUERY, subs)
    assert all(r["id"].lower().split("/")[-2] == "virtualmachines" for r in vms.data)
    assert {"licenseType", "latestModelApplied", "provisioningState"} <= set(vms.data[0])


def test_where_in_extend_and_order_by_follow_the_query_language(world: Any) -> None:
    _fake, clients, subs = world
    query = (
        "Resources | where type in~ ('Microsoft.Compute/virtualMachineScaleSets', 'x/y')"
        " and tags['aks-managed-poolName'] == 'system'"
        " | extend pool = tags['aks-managed-poolName'], lt = properties.virtualMachineProfile.licenseType"
        " | project name, pool, lt | order by name"
    )
    data, _ = run(clients, query, subs)
    assert [r["pool"] for r in data.data] == ["system"] and data.data[0]["lt"] is None
    names, _ = run(clients, "Resources | project name | order by name", subs)
    listed = [r["name"] for r in names.data]
    assert listed == sorted(listed, reverse=True)  # descending unless told otherwise, as in the language


def test_rows_are_limited_to_the_subscriptions_in_scope(world: Any) -> None:
    _fake, clients, _subs = world
    data, _ = run(clients, CLUSTERS_QUERY, ["00000000-0000-0000-0000-00000000dead"])
    assert data.data == [] and data.total_records == 0


@pytest.mark.parametrize(
    "query",
    [
        "Resources | summarize count() by type",
        "Resources | where type contains 'cluster'",
        "Resources | where type =~ 'a' or type =~ 'b'",
        "ResourceContainers",
        "Resources | extend properties.x",
        "Resources | where type =~ unquoted",
    ],
)
def test_queries_outside_the_subset_are_refused_clearly(world: Any, query: str) -> None:
    _fake, clients, subs = world
    with pytest.raises(HttpResponseError) as info:
        run(clients, query, subs)
    assert info.value.status_code == 400 and "Supported:" in str(info.value)


def test_pages_follow_the_skip_token_and_a_foreign_token_is_refused(world: Any) -> None:
    fake, clients, subs = world
    ResourceGraph(page_limit=3).install(fake)
    first, _ = run(clients, SCALE_SET_VMS_QUERY, subs, top=1000)
    assert first.count == 3 and first.total_records > 3 and first.skip_token
    second, _ = run(clients, SCALE_SET_VMS_QUERY, subs, skip_token=first.skip_token)
    assert {r["id"] for r in second.data}.isdisjoint(r["id"] for r in first.data)
    with pytest.raises(HttpResponseError) as info:
        run(clients, SCALE_SETS_QUERY, subs, skip_token=first.skip_token)
    assert info.value.status_code == 400
    everything = GraphReader(clients).query(SCALE_SET_VMS_QUERY, subs)
    assert len(everything.rows) == first.total_records and everything.pages == -(-first.total_records // 3)


def test_a_spent_quota_is_waited_for_after_the_429(world: Any) -> None:
    fake, clients, subs = world
    graph = ResourceGraph(quota=1, window=5.0).install(fake)
    graph.admit(fake.clock.now())  # another tool of the same user spent this window
    reader = GraphReader(AzureClients.for_simulator(fake, subs[0], retry_total=0))
    result = reader.query(CLUSTERS_QUERY, subs)
    assert [r["name"] for r in result.rows] == ["aks-prod"]
    assert graph.throttled == 1 and result.waited == pytest.approx(5.0)


def test_the_reader_refuses_bad_settings_before_any_request(world: Any) -> None:
    fake, clients, subs = world
    with pytest.raises(E.InvalidInput):
        GraphReader(clients, group_size=300)
    with pytest.raises(E.InvalidInput):
        GraphReader(clients).query(CLUSTERS_QUERY, [])
    assert fake.journal == []
