"""Lifecycle facts on the simulated ARM, through the real SDK client and the library.

- Minors out of standard support (catalog ``LONG_TERM_SUPPORT_ONLY``) are listed for AKS Long Term Support only.
- Windows Server 2022 is not supported on Kubernetes 1.37 and above (AKS release notes 2026-06-19,
  https://github.com/Azure/AKS/releases/tag/2026-06-19): the service refuses it with a 400; the library refuses
  it before any request, from the lifecycle data.
- A Windows pool created without an OS SKU gets Windows2022 up to 1.36 and Windows2025 from 1.37.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerservice import models

from aks_windows_ops import errors as E
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import available_versions
from aks_windows_ops.runbooks.patch import plan_patch
from aks_windows_ops.runbooks.pools import plan_add_pool
from aks_windows_ops.testing import catalog
from aks_windows_ops.testing.fake_azure import FakeAzure

SUB, RG = "00000000-0000-0000-0000-0000000000ab", "rg-life"


def _fake(version: str, *, win22: bool = True) -> tuple[FakeAzure, AzureClients]:
    fake = FakeAzure()
    pools: list[dict[str, object]] = [{"name": "system", "mode": "System", "os_type": "Linux", "count": 1}]
    if win22:
        pools.append({"name": "win22", "os_type": "Windows", "os_sku": "Windows2022", "count": 1})
    fake.add_cluster(
        SUB,
        RG,
        "aks",
        kubernetes_version=version,
        network_plugin="azure",
        windows_profile={"admin_username": "azureuser"},
        pools=pools,
    )
    return fake, AzureClients.for_simulator(fake, SUB, polling_interval=60)


def _windows_pool(os_sku: str | None, version: str | None = None) -> models.AgentPool:
    return models.AgentPool(
        count=1,
        vm_size="Standard_D4s_v5",
        os_type="Windows",
        os_sku=os_sku,
        mode="User",
        orchestrator_version=version,
    )


def test_minors_out_of_standard_support_are_listed_for_long_term_support_only() -> None:
    fake, clients = _fake("1.36.3")
    listing = clients.containerservice.managed_clusters.list_kubernetes_versions("westus2").as_dict()
    plans = {v["version"]: v["capabilities"]["supportPlan"] for v in listing["values"]}
    assert set(catalog.LONG_TERM_SUPPORT_ONLY) <= set(plans)
    for minor, plan in plans.items():
        if minor in catalog.LONG_TERM_SUPPORT_ONLY:
            assert plan == ["AKSLongTermSupport"]
        else:
            assert "KubernetesOfficial" in plan
    # The library still offers those patches for minor-by-minor hops (a cluster on 1.32 must pass 1.33).
    offered = available_versions(clients, "westus2")
    assert any(v.startswith("1.33.") for v in offered)


def test_hops_from_a_long_term_support_minor_pass_through_the_next_one() -> None:
    fake, clients = _fake("1.32.7", win22=False)
    plan, _ = plan_patch(clients, RG, "aks", kubernetes_version="1.34.10", allow_hops=True)
    hops = [s.params["version"] for s in plan.steps if s.kind == "update_control_plane"]
    assert hops == ["1.33.5", "1.34.10"]
    assert fake.writes() == []


def test_the_service_refuses_windows2022_on_137() -> None:
    fake, clients = _fake("1.37.1", win22=False)
    with pytest.raises(HttpResponseError) as err:
        clients.containerservice.agent_pools.begin_create_or_update(
            RG, "aks", "w22", _windows_pool("Windows2022")
        )
    assert err.value.status_code == 400
    assert err.value.error is not None and err.value.error.code == "InvalidParameter"
    assert "Windows2022" in str(err.value) and "1.37" in str(err.value)


def test_the_service_refuses_a_control_plane_upgrade_to_137_with_a_windows2022_pool() -> None:
    fake, clients = _fake("1.36.3")
    cluster = clients.containerservice.managed_clusters.get(RG, "aks")
    cluster.kubernetes_version = "1.37.1"
    with pytest.raises(HttpResponseError) as err:
        clients.containerservice.managed_clusters.begin_create_or_update(RG, "aks", cluster)
    assert err.value.status_code == 400
    assert "Windows Server 2022" in str(err.value) and "Windows2025" in str(err.value)
    assert fake.cluster_state(SUB, RG, "aks")["properties"]["currentKubernetesVersion"] == "1.36.3"


def test_the_library_refuses_a_patch_to_137_before_any_request_with_what_to_do() -> None:
    fake, clients = _fake("1.36.3")
    with pytest.raises(E.PreflightFailed) as err:
        plan_patch(clients, RG, "aks", kubernetes_version="1.37.1")
    codes = [f.code for f in err.value.findings]
    assert "WINDOWS2022_UNSUPPORTED_TARGET" in codes
    finding = next(f for f in err.value.findings if f.code == "WINDOWS2022_UNSUPPORTED_TARGET")
    assert "Windows2025" in finding.remediation and "migrate" in finding.remediation
    assert fake.writes() == []


def test_the_library_refuses_a_windows2022_pool_on_137_before_any_write() -> None:
    fake, clients = _fake("1.37.1", win22=False)
    with pytest.raises(E.InvalidInput) as err:
        plan_add_pool(clients, RG, "aks", "w22", os_sku="Windows2022")
    assert any("Windows2022" in p and "Windows2025" in p for p in err.value.problems)
    assert fake.writes() == []


@pytest.mark.parametrize(("version", "expected"), [("1.36.3", "Windows2022"), ("1.37.1", "Windows2025")])
def test_default_windows_sku_follows_the_version(version: str, expected: str) -> None:
    fake, clients = _fake(version, win22=False)
    poller = clients.containerservice.agent_pools.begin_create_or_update(
        RG, "aks", "wdef", _windows_pool(None)
    )
    assert poller.result().os_sku == expected
    plan, _ = plan_add_pool(clients, RG, "aks", "wlib")
    assert plan.steps[0].params["properties"]["osSKU"] == expected
