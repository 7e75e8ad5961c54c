"""The ARM emulator behaves like the service, through the real SDK clients."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.mgmt.containerservice import models as m

from aks_windows_ops import errors as E
from aks_windows_ops.azure import lro
from aks_windows_ops.azure.errors import translate
from aks_windows_ops.testing import SimulatedCrash
from aks_windows_ops.testing.fake_azure import FakeAzure


def _pool(os_type: str = "Windows", **kw: object) -> m.AgentPool:
    props = m.ManagedClusterAgentPoolProfileProperties(
        os_type=os_type, count=kw.pop("count", 1), vm_size="Standard_D4s_v5", **kw
    )  # type: ignore[arg-type]
    return m.AgentPool(properties=props)


def _create_error(fake: FakeAzure, clients, rg, name, pool_name, pool) -> E.AksWindowsOpsError:  # type: ignore[no-untyped-def]
    writes_before = len(fake.writes())
    with pytest.raises(HttpResponseError) as info:
        clients.containerservice.agent_pools.begin_create_or_update(rg, name, pool_name, pool).result()
    assert len(fake.writes()) == writes_before + 1
    return translate(info.value)


def test_seven_character_windows_name_is_refused(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    err = _create_error(fake, clients, rg, name, "windows1", _pool())
    assert isinstance(err, E.AzureOperationFailed)
    assert "1-6" in str(err)
    assert "windows1" not in [p.name for p in clients.containerservice.agent_pools.list(rg, name)]


def test_windows_system_pool_is_refused(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    err = _create_error(fake, clients, rg, name, "winsys", _pool(mode="System"))
    assert "System agent pools osType must be Linux" in str(err)


def test_windows2019_on_133_is_refused(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    err = _create_error(fake, clients, rg, name, "win19", _pool(os_sku="Windows2019"))
    assert "Windows2019" in str(err)


def test_kubenet_cluster_refuses_windows_pools() -> None:
    fake = FakeAzure.from_scenario(
        {
            "subscriptions": [
                {
                    "id": "s1",
                    "resource_groups": [
                        {
                            "name": "rg",
                            "clusters": [
                                {
                                    "name": "kub",
                                    "network_plugin": "kubenet",
                                    "windows_profile": {"admin_username": "azureuser"},
                                    "pools": [{"name": "sys", "mode": "System", "count": 2}],
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )
    from aks_windows_ops.azure.clients import AzureClients

    clients = AzureClients.for_simulator(fake, "s1")
    err = _create_error(fake, clients, "rg", "kub", "win", _pool())
    assert err.code == "AzureCNIOnlyForWindows"  # type: ignore[attr-defined]


def test_last_system_pool_cannot_be_deleted(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("subnet-full")
    with pytest.raises(HttpResponseError) as info:
        clients.containerservice.agent_pools.begin_delete(rg, name, "system").result()
    assert "at least one system agent pool" in str(info.value)
    assert fake.pool_state(clients.subscription_id, rg, name, "system")["provisioningState"] == "Succeeded"


def test_pool_version_rules(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    pool = cs.agent_pools.get(rg, name, "win22")
    pool.properties.orchestrator_version = "1.36.1"  # above the control plane (1.35.5)
    with pytest.raises(HttpResponseError, match="greater than the control plane"):
        cs.agent_pools.begin_create_or_update(rg, name, "win22", pool).result()
    mc = cs.managed_clusters.get(rg, name)
    mc.properties.kubernetes_version = "1.34.8"
    with pytest.raises(HttpResponseError, match="Downgrading"):
        cs.managed_clusters.begin_create_or_update(rg, name, mc).result()


def test_minor_skip_is_refused(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("legacy-2019")
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    mc.properties.kubernetes_version = "1.33.2"  # from 1.17.0
    with pytest.raises(HttpResponseError, match="skips a minor version"):
        cs.managed_clusters.begin_create_or_update(rg, name, mc).result()


def test_old_image_error_until_control_plane_upgrade(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("legacy-2019")
    cs = clients.containerservice
    with pytest.raises(HttpResponseError) as info:
        cs.agent_pools.begin_create_or_update(rg, name, "erpnew", _pool(os_sku="Windows2022")).result()
    err = translate(info.value)
    assert isinstance(err, E.OldWindowsImage)
    assert err.runbook == "migrate"
    assert fake.pool_state(clients.subscription_id, rg, name, "erpnew")["provisioningState"] == "Failed"
    cs.agent_pools.begin_delete(rg, name, "erpnew").result()
    mc = cs.managed_clusters.get(rg, name)
    mc.properties.kubernetes_version = "1.18.1"
    mc.properties.service_principal_profile = None
    cs.managed_clusters.begin_create_or_update(rg, name, mc).result()
    created = cs.agent_pools.begin_create_or_update(rg, name, "erpnew", _pool(os_sku="Windows2022")).result()
    assert created.properties.provisioning_state == "Succeeded"


def test_subnet_too_small(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("subnet-full")
    subnet = fake.pool_state(clients.subscription_id, rg, name, "pos")["vnetSubnetID"]
    err = _create_error(fake, clients, rg, name, "pos2", _pool(count=3, max_pods=30, vnet_subnet_id=subnet))
    assert isinstance(err, E.SubnetFull)
    assert "Pre-allocated IPs 124 exceeds IPs available 76" in str(err)


def test_password_update_reimages_only_windows_and_takes_virtual_minutes(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    mc.properties.windows_profile.admin_password = "A-very-Long-Passw0rd!"
    token = lro.start(cs.managed_clusters.begin_create_or_update, rg, name, mc)
    states = {
        p: fake.pool_state(clients.subscription_id, rg, name, p)["provisioningState"]
        for p in ("system", "win22", "win25")
    }
    # As recorded (test_aks_update_with_windows_password): every pool, the Linux one too, shows Updating.
    assert states == {"system": "Updating", "win22": "Updating", "win25": "Updating"}
    with pytest.raises(ResourceExistsError) as info:
        cs.managed_clusters.begin_create_or_update(rg, name, mc).result()
    assert translate(info.value).__class__ is E.OperationConflict
    lro.wait(
        cs.managed_clusters.begin_create_or_update,
        token,
        rg,
        name,
        {},
        clock=clients.clock,
        sleep=clients.sleep,
    )
    assert fake.clock.monotonic() >= 12 * 60  # virtual minutes; no real waiting (see test_virtual_time)
    for entry in fake.journal:
        assert "A-very-Long-Passw0rd!" not in str(entry.body)
    assert "adminPassword" not in str(cs.managed_clusters.get(rg, name).as_dict())


def test_license_change_updates_scale_sets(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("legacy-2019")
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    mc.properties.windows_profile.license_type = "Windows_Server"
    cs.managed_clusters.begin_create_or_update(rg, name, mc).result()
    windows = [
        (v, vms)
        for v, vms in fake.scale_sets(clients.subscription_id, rg, name)
        if v["tags"]["aks-managed-poolName"] == "erpwin"
    ]
    vmss, vms = windows[0]
    assert vmss["properties"]["virtualMachineProfile"]["licenseType"] == "Windows_Server"
    assert all(vm["properties"]["licenseType"] == "Windows_Server" for vm in vms)


def test_node_image_needs_control_plane_upgrade_for_new_windows_image(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("ws2019-retiring")
    cs = clients.containerservice
    before = cs.agent_pools.get_upgrade_profile(rg, name, "win19").properties.latest_node_image_version
    assert before.endswith(".260715")  # newest image before the last control plane upgrade (2026-07-20)
    cs.agent_pools.begin_upgrade_node_image_version(rg, name, "win19").result()
    assert cs.agent_pools.get(rg, name, "win19").properties.node_image_version == before
    polls = len(fake.requests(kind="poll"))
    again = cs.agent_pools.begin_upgrade_node_image_version(rg, name, "win19")
    again.result()  # already the newest: 200 with the pool and no operation (az prints the pool, exit 0)
    assert again.polling_method().finished()
    assert len(fake.requests(kind="poll")) == polls  # nothing to poll
    pool = cs.agent_pools.get(rg, name, "win19")
    assert (pool.properties.provisioning_state, pool.properties.node_image_version) == ("Succeeded", before)
    mc = cs.managed_clusters.get(rg, name)
    mc.properties.kubernetes_version = "1.32.7"  # same version: no control plane upgrade, no new image
    cs.managed_clusters.begin_create_or_update(rg, name, mc).result()
    assert (
        cs.agent_pools.get_upgrade_profile(rg, name, "win19").properties.latest_node_image_version == before
    )


def test_faults_throttle_and_5xx_are_retried(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    fake.add_fault("throttle", method="GET", path="managedClusters/aks-prod$", times=2, retry_after=3)
    fake.add_fault("error", method="GET", path="managedClusters/aks-prod$", times=1, status=503)
    fake.add_fault("reset", method="GET", path="managedClusters/aks-prod$", times=1)
    mc = clients.containerservice.managed_clusters.get(rg, name)
    assert mc.name == "aks-prod"
    statuses = [e.status for e in fake.requests(path="managedClusters/aks-prod$")]
    assert statuses == [429, 429, 503, 0, 200]


def test_persistent_throttle_becomes_throttled(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    fake.add_fault("throttle", method="GET", times=0, retry_after=2)
    with pytest.raises(HttpResponseError) as info:
        clients.containerservice.managed_clusters.get(rg, name)
    assert isinstance(translate(info.value), E.Throttled)


def test_operation_failure_and_stuck_operation(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    fake.add_fault(
        "fail_operation",
        method="POST",
        path="upgradeNodeImageVersion",
        code="QuotaExceeded",
        message="Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota.",
    )
    fake.durations["node_image_linux_per_node"] = 60
    # make an image upgrade available for the Linux pool
    fake.clusters[(clients.subscription_id, rg, name)].pools["linux"]["nodeImageVersion"] = "old"
    with pytest.raises(HttpResponseError) as info:
        cs.agent_pools.begin_upgrade_node_image_version(rg, name, "linux").result()
    assert isinstance(translate(info.value), E.QuotaExceeded)
    fake.clusters[(clients.subscription_id, rg, name)].pools["linux"]["provisioningState"] = "Succeeded"
    fake.add_fault("stuck", method="POST", path="upgradeNodeImageVersion")
    token = lro.start(cs.agent_pools.begin_upgrade_node_image_version, rg, name, "linux")
    with pytest.raises(E.BudgetExhausted):
        lro.wait(
            cs.agent_pools.begin_upgrade_node_image_version,
            token,
            rg,
            name,
            "linux",
            clock=clients.clock,
            sleep=clients.sleep,
            deadline=clients.clock() + 3600,
        )
    cs.agent_pools.begin_abort_latest_operation(rg, name, "linux").result()
    with pytest.raises(E.OperationCanceled):
        lro.wait(
            cs.agent_pools.begin_upgrade_node_image_version,
            token,
            rg,
            name,
            "linux",
            clock=clients.clock,
            sleep=clients.sleep,
        )


def test_crash_faults_raise_a_base_exception(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    fake.add_fault("crash_after", method="PUT")
    mc = clients.containerservice.managed_clusters.get(rg, name)
    with pytest.raises(SimulatedCrash):
        clients.containerservice.managed_clusters.begin_create_or_update(rg, name, mc)
    assert (
        fake.cluster_state(clients.subscription_id, rg, name)["properties"]["provisioningState"] == "Updating"
    )


def test_continuation_token_resumes_on_another_client(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    pool = clients.containerservice.agent_pools.get(rg, name, "linux")
    pool.properties.count = 3
    token = lro.start(clients.containerservice.agent_pools.begin_create_or_update, rg, name, "linux", pool)
    from aks_windows_ops.azure.clients import AzureClients

    other = AzureClients.for_simulator(fake, clients.subscription_id)
    result = lro.wait(
        other.containerservice.agent_pools.begin_create_or_update,
        token,
        rg,
        name,
        "linux",
        {},
        clock=other.clock,
        sleep=other.sleep,
    )
    assert result.properties.count == 3
    assert len(fake.requests(method="PUT")) == 1


def test_reads_send_no_writes_and_every_scenario_loads(scenario) -> None:  # type: ignore[no-untyped-def]
    from aks_windows_ops.azure.facts import read_snapshot

    for name in ("healthy", "ws2019-retiring", "legacy-2019", "subnet-full"):
        fake, clients, rg, cluster = scenario(name)
        snap = read_snapshot(clients, rg, cluster)
        assert snap.windows_pools
        assert fake.writes() == []
