"""Versions, resource ids and OS SKUs are settled at plan time, before any write (or any request)."""

from __future__ import annotations

import pytest

from aks_windows_ops import errors as E
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.rules import validation as v
from aks_windows_ops.runbooks.patch import plan_patch
from aks_windows_ops.runbooks.pools import plan_add_windows_pool
from aks_windows_ops.testing.fake_azure import FakeAzure

SUB, RG, NAME = "00000000-0000-0000-0000-000000000001", "rg-prod", "aks-prod"
OFFERED = ["1.33.2", "1.33.5", "1.34.1", "1.34.2", "1.35.0"]
SUBNET = f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-1/subnets/nodes"


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("1.34.2", "1.34.2"),
        ("v1.34.2", "1.34.2"),
        (" 1.34 ", "1.34.2"),
        ("v1.33", "1.33.5"),
        ("1.32.7", "1.32.7"),
    ],
)
def test_versions_resolve_against_what_the_region_offers(requested: str, expected: str) -> None:
    assert v.resolve_kubernetes_version(requested, OFFERED, current="1.32.7") == expected


@pytest.mark.parametrize("requested", ["1.34.9", "1.36", "v1.31.0", "latest", "1.34.2.1", ""])
def test_unknown_versions_are_refused_naming_what_is_offered(requested: str) -> None:
    with pytest.raises(E.InvalidInput) as caught:
        v.resolve_kubernetes_version(requested, OFFERED, current="1.32.7")
    if requested == "1.34.9":
        assert "1.34.1, 1.34.2" in str(caught.value)


@pytest.mark.parametrize(
    "bad",
    [
        "notanid",
        "",
        "/subscriptions/x/resourceGroups/rg",
        SUBNET + "/extra",
        SUBNET.replace("subnets", "subnet"),
    ],
)
def test_subnet_ids_must_be_arm_resource_ids(bad: str) -> None:
    assert v.check_subnet_id(bad) and not v.check_subnet_id(SUBNET)
    with pytest.raises(E.InvalidInput, match="not a subnet resource id"):
        v.validate_subnet_id(bad)


@pytest.mark.parametrize(
    ("typed", "spelled"),
    [("windows2022", "Windows2022"), ("WINDOWS2025", "Windows2025"), (" Windows2019", "Windows2019")],
)
def test_os_skus_take_the_service_spelling(typed: str, spelled: str) -> None:
    assert v.normalize_os_sku(typed) == spelled


def test_an_unknown_os_sku_is_refused() -> None:
    with pytest.raises(E.InvalidInput, match="unknown OS SKU"):
        v.normalize_os_sku("windows2016")


def _clients(fake: FakeAzure) -> AzureClients:
    return AzureClients.for_simulator(fake, SUB, polling_interval=60)


@pytest.mark.parametrize("typed", ["v1.36.3", "1.36"])
def test_patch_plans_the_resolved_version(typed: str) -> None:
    fake = FakeAzure.from_scenario("healthy")
    latest = max(
        (x for x in fake.kubernetes_versions if x.startswith("1.36.")), key=lambda x: int(x.split(".")[2])
    )
    plan, _ = plan_patch(_clients(fake), RG, NAME, kubernetes_version=typed)
    versions = {
        s.params.get("version") for s in plan.steps if s.kind in ("update_control_plane", "upgrade_pool")
    }
    assert versions == {"1.36.3" if typed.startswith("v") else latest}
    assert fake.writes() == []


def test_patch_to_a_patch_the_region_does_not_offer_is_refused_before_any_write() -> None:
    fake = FakeAzure.from_scenario("healthy")
    with pytest.raises(E.InvalidInput, match="not offered"):
        plan_patch(_clients(fake), RG, NAME, kubernetes_version="1.36.9")
    assert fake.writes() == []


def test_add_pool_normalises_the_sku_and_refuses_a_bad_subnet_before_any_request() -> None:
    fake = FakeAzure.from_scenario("healthy")
    plan, _ = plan_add_windows_pool(_clients(fake), RG, NAME, "win3", os_sku="windows2022")
    assert plan.steps[0].params["properties"]["osSKU"] == "Windows2022"  # type: ignore[index]
    fake.clear_journal()
    with pytest.raises(E.InvalidInput, match="not a subnet resource id"):
        plan_add_windows_pool(_clients(fake), RG, NAME, "win4", subnet="notanid")
    with pytest.raises(E.InvalidInput, match="unknown OS SKU"):
        plan_add_windows_pool(_clients(fake), RG, NAME, "win4", os_sku="windows2016")
    assert fake.journal == []  # refused before the first request
