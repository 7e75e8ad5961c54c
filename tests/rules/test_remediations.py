"""Every validator's refusal says what to do about it, not the generic "fix what the message names"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.rules import capacity, names, pool_limits, versions
from aks_windows_ops.rules import validation as V
from aks_windows_ops.secrets import Secret

GENERIC = {InvalidInput.default_remediation, InvalidInput.single_remediation}

CASES: list[tuple[str, Callable[[], Any]]] = [
    ("pool name too long", lambda: V.validate_pool_name("winpool1", "Windows")),
    ("pool name bad characters", lambda: V.validate_pool_name("Win_1", "Linux")),
    ("pool name OS type", lambda: V.validate_pool_name("win1", "Mac")),
    ("admin username reserved", lambda: V.validate_admin_username("administrator")),
    ("admin username empty", lambda: V.validate_admin_username("")),
    ("admin password short", lambda: V.validate_admin_password(Secret("Short1!"))),
    (
        "admin password has username",
        lambda: V.validate_admin_password("azureuserXYZ123!!", username="azureuser"),
    ),
    ("OS SKU on the wrong OS", lambda: V.validate_os_sku("Ubuntu", os_type="Windows")),
    (
        "OS SKU too new",
        lambda: V.validate_os_sku("Windows2019", os_type="Windows", kubernetes_version="1.33"),
    ),
    (
        "OS SKU bad version",
        lambda: V.validate_os_sku("Windows2022", os_type="Windows", kubernetes_version="x"),
    ),
    ("OS SKU unknown", lambda: V.normalize_os_sku("Windows2016")),
    ("default OS SKU of an unknown OS", lambda: V.default_os_sku("Mac", "1.33")),
    ("pool mode", lambda: V.validate_pool_mode("System", "Windows")),
    ("max pods", lambda: V.validate_max_pods(5)),
    ("max pods type", lambda: V.validate_max_pods("30")),  # type: ignore[arg-type]
    ("pod density", lambda: V.validate_pod_density(max_pods=30, node_count=2, pods_wanted=100)),
    ("pool count", lambda: V.validate_pool_count(0, "System")),
    ("cluster totals", lambda: V.validate_cluster_totals(pool_count=101, node_count=10)),
    ("pool spec", lambda: V.validate_pool_spec(name="w", os_type="Windows", count=-1, max_pods=300)),
    (
        "pool spec version",
        lambda: V.validate_pool_spec(name="w", os_type="Linux", count=1, orchestrator_version="1"),
    ),
    ("subnet id", lambda: V.validate_subnet_id("subnet-1")),
    ("version not offered", lambda: V.resolve_kubernetes_version("1.99.1", ["1.33.2"])),
    ("version garbage", lambda: versions.parse_version("one.two")),
    ("version type", lambda: versions.parse_version(133)),  # type: ignore[arg-type]
    ("skipped minor", lambda: versions.validate_upgrade_path("1.31.2", "1.33.1")),
    ("downgrade", lambda: versions.validate_upgrade_path("1.33.1", "1.32.1")),
    ("pool skew", lambda: versions.validate_pool_skew("1.33.1", "1.29.1")),
    ("hops without a minor", lambda: versions.plan_version_hops("1.31.1", "1.33.1", ["1.33.1"])),
    ("max surge", lambda: capacity.surge_nodes(3, "150%")),
    ("subnet prefix", lambda: capacity.usable_addresses("/30")),
    ("negative count", lambda: capacity.surge_nodes(-1, None)),
    ("hops from garbage", lambda: versions.plan_version_hops("x", "1.33.1", [])),
]


@pytest.mark.parametrize(("case", "call"), CASES, ids=[c for c, _ in CASES])
def test_each_refusal_says_what_to_do(case: str, call: Callable[[], Any]) -> None:
    with pytest.raises(InvalidInput) as info:
        call()
    assert info.value.remediation not in GENERIC, case
    assert info.value.remediation.strip().endswith((".", ")"))
    assert "_" not in info.value.remediation  # user-facing: no Python identifiers


def test_a_pool_spec_names_the_fix_of_each_rule_it_breaks_once() -> None:
    with pytest.raises(InvalidInput) as info:
        V.validate_pool_spec(name="WinPool1", os_type="Windows", count=-1, max_pods=5)
    remediation = info.value.remediation
    for fix in (
        names.POOL_NAME_REMEDIATION,
        pool_limits.POOL_COUNT_REMEDIATION,
        pool_limits.MAX_PODS_REMEDIATION,
    ):
        assert remediation.count(fix) == 1
    assert pool_limits.OS_SKU_REMEDIATION not in remediation  # no SKU problem, no SKU advice
