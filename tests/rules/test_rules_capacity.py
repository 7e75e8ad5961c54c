from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import SubnetUsage
from aks_windows_ops.rules.capacity import (
    POD_SUBNET_BATCH,
    CniMode,
    addresses_needed,
    cni_mode,
    fits,
    surge_nodes,
    usable_addresses,
)

PROPS = settings(max_examples=60, deadline=None)


@pytest.mark.parametrize(
    ("prefix", "usable"),
    [
        ("10.0.0.0/24", 251),
        ("/24", 251),
        ("24", 251),
        (24, 251),
        ("10.240.0.0/16", 65531),
        ("10.0.0.8/29", 3),
        ("10.0.0.1/24", 251),
        ("fd00::/64", 2**64 - 5),
    ],
)
def test_usable_addresses(prefix: str | int, usable: int) -> None:
    assert usable_addresses(prefix) == usable


@pytest.mark.parametrize("bad", ["/30", 31, "10.0.0.0/33", "abc", "/x", "10.0.0.0/", -1, True, "/²"])
def test_usable_addresses_rejects(bad: object) -> None:
    with pytest.raises(InvalidInput):
        usable_addresses(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("count", "max_surge", "surge"),
    [
        (10, None, 1),
        (11, None, 2),
        (30, "10%", 3),
        (3, "10%", 1),
        (0, None, 0),
        (7, "33%", 3),
        (8, "12.5%", 1),
        (5, "100%", 5),
        (5, "3", 3),
        (5, 2, 2),
        (5, "", 1),
    ],
)
def test_surge_nodes(count: int, max_surge: str | int | None, surge: int) -> None:
    assert surge_nodes(count, max_surge) == surge


@pytest.mark.parametrize("bad", ["lots", "10 %%", "150%", "-1", -1, "1.5", True])
def test_surge_nodes_rejects(bad: object) -> None:
    with pytest.raises(InvalidInput):
        surge_nodes(5, bad)  # type: ignore[arg-type]


@PROPS
@given(st.integers(0, 1000), st.integers(1, 100))
def test_percentage_surge_is_the_ceiling(count: int, pct: int) -> None:
    assert surge_nodes(count, f"{pct}%") == math.ceil(count * pct / 100)


def test_cni_modes() -> None:
    assert cni_mode("azure", None, None) is CniMode.NODE_SUBNET
    assert cni_mode("azure", None, "/subnets/pods") is CniMode.POD_SUBNET
    assert cni_mode("azure", "overlay", "/subnets/pods") is CniMode.OVERLAY
    assert cni_mode("kubenet", None, None) is CniMode.KUBENET
    assert cni_mode(None, None, None) is CniMode.KUBENET


def test_node_subnet_math_matches_the_service_error() -> None:
    # 8 nodes at 30 max pods, surge 1: (8 + 1) * 31 = 279; the service's own example is 276 of 251.
    need = addresses_needed(count=8, max_pods=30)
    assert (need.nodes, need.surge, need.node_subnet) == (8, 1, 279)
    verdict = fits(SubnetUsage("/x/subnets/aks-subnet", "10.0.0.0/24", 0, 251), 276)
    assert not verdict
    assert (verdict.needed, verdict.available, verdict.shortfall) == (276, 251, 25)
    assert verdict.message.startswith("Pre-allocated IPs 276 exceeds IPs available 251")
    assert "aks-subnet" in verdict.message


def test_pod_subnet_and_overlay_math() -> None:
    pod = addresses_needed(count=10, max_pods=110, mode=CniMode.POD_SUBNET, max_surge="2")
    assert pod.node_subnet == 12
    assert pod.pod_subnet == 12 * POD_SUBNET_BATCH
    assert pod.pod_subnet_full == 12 * 7 * POD_SUBNET_BATCH
    overlay = addresses_needed(count=10, max_pods=250, mode=CniMode.OVERLAY)
    assert (overlay.node_subnet, overlay.pod_cidr_blocks, overlay.pod_subnet) == (11, 11, 0)


def test_addresses_needed_rejects_negatives() -> None:
    with pytest.raises(InvalidInput) as info:
        addresses_needed(count=-1, max_pods=-1)
    assert len(info.value.problems) == 2


@PROPS
@given(st.integers(0, 300), st.integers(10, 250), st.integers(0, 70000), st.integers(0, 70000))
def test_fits_is_consistent(count: int, max_pods: int, used: int, limit: int) -> None:
    need = addresses_needed(count=count, max_pods=max_pods)
    assert need.node_subnet == (count + math.ceil(count / 10)) * (max_pods + 1)
    verdict = fits(SubnetUsage("/s", None, used, limit), need.node_subnet)
    available = max(limit - used, 0)
    assert verdict.available == available
    assert verdict.fits is (need.node_subnet <= available)
    assert verdict.shortfall == max(need.node_subnet - available, 0)


def test_fits_rejects_negative() -> None:
    with pytest.raises(InvalidInput):
        fits(SubnetUsage("/s", None, 0, 10), -1)
