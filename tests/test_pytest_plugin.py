"""The public pytest fixtures: a twin from a scenario, SDK clients and a Kubernetes API bound to it."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s

from aks_windows_ops.azure.facts import read_snapshot
from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
from aks_windows_ops.runbooks.patch import apply_patch, plan_patch

pytest_plugins = ["pytester"]


def test_default_twin_is_the_healthy_scenario(aks_twin: Any, aks_clients: Any) -> None:
    snap = read_snapshot(aks_clients, aks_twin.resource_group, aks_twin.name)
    assert (aks_twin.resource_group, aks_twin.name) == ("rg-prod", "aks-prod")
    assert {p.name for p in snap.windows_pools} == {"win22", "win25"}


@pytest.mark.aks_scenario("legacy-2019")
def test_marker_picks_the_scenario_and_procedures_run_on_it(aks_twin: Any, aks_clients: Any) -> None:
    plan, ctx = plan_patch(aks_clients, aks_twin.resource_group, aks_twin.name, kubernetes_version="1.18.1")
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    snap = read_snapshot(aks_clients, aks_twin.resource_group, aks_twin.name)
    assert snap.kubernetes_version == "1.18.1"
    assert aks_twin.clock.monotonic() > 0  # the upgrade took virtual time


@pytest.mark.aks_scenario("ws2019-retiring")
def test_kube_api_sees_the_pools_nodes(aks_twin: Any, aks_kube_api: Any) -> None:
    nodes = k8s.CoreV1Api(aks_kube_api).list_node().items
    pools = {n.metadata.labels["kubernetes.azure.com/agentpool"] for n in nodes}
    snap_pools = {
        p["name"]
        for p in aks_twin.fake.cluster_state(
            aks_twin.subscription_id, aks_twin.resource_group, aks_twin.name
        )["properties"]["agentPoolProfiles"]
    }
    assert pools == snap_pools  # fmt: skip


def test_a_user_project_gets_the_fixtures_from_the_installed_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from aks_windows_ops.azure.facts import read_snapshot

        @pytest.mark.aks_scenario("subnet-full")
        def test_mine(aks_twin, aks_clients):
            snap = read_snapshot(aks_clients, aks_twin.resource_group, aks_twin.name)
            assert snap.subnets
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
