from __future__ import annotations

import dataclasses
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import ClusterSnapshot, OsSku, OsType, PoolMode, SubnetUsage
from aks_windows_ops.rules import validation as v
from aks_windows_ops.secrets import Secret

PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
SPECIAL = "!#$%&()*+,-./:;<=>?@[]^_{|}~"

# --- strategies -------------------------------------------------------------------------------------------------

valid_windows_names = st.from_regex(r"\A[a-z][a-z0-9]{0,5}\Z")
valid_linux_names = st.from_regex(r"\A[a-z][a-z0-9]{0,11}\Z")
invalid_windows_names = st.one_of(
    st.from_regex(r"\A[a-z][a-z0-9]{6,30}\Z"),
    st.from_regex(r"\A[0-9A-Z_\-][a-z0-9]{0,5}\Z"),
    st.text(max_size=10).filter(lambda s: v.WINDOWS_POOL_NAME_PATTERN.fullmatch(s) is None),
)
invalid_linux_names = st.one_of(
    st.from_regex(r"\A[a-z][a-z0-9]{12,30}\Z"),
    st.text(max_size=16).filter(lambda s: v.LINUX_POOL_NAME_PATTERN.fullmatch(s) is None),
)

username_chars = LOWER + UPPER + DIGITS + "_-."
valid_usernames = (
    st.text(alphabet=username_chars, min_size=1, max_size=20)
    .filter(lambda u: not u.endswith(".") and not u.startswith("-"))
    .filter(lambda u: u.lower() not in v.RESERVED_ADMIN_USERNAMES)
)
invalid_usernames = st.one_of(
    st.text(alphabet=username_chars, min_size=21, max_size=40),
    st.text(alphabet=LOWER, min_size=1, max_size=19).map(lambda u: u + "."),
    st.sampled_from(sorted(v.RESERVED_ADMIN_USERNAMES)).map(str.upper),
    st.tuples(
        st.text(alphabet=LOWER, min_size=1, max_size=8),
        st.sampled_from([*sorted(v.ADMIN_USERNAME_FORBIDDEN_CHARACTERS), " ", "\t"]),
    ).map(lambda t: t[0] + t[1] + "x"),
    st.just(""),
)


@st.composite
def valid_passwords(draw: st.DrawFn) -> str:
    classes = draw(
        st.sampled_from(
            [
                (LOWER, UPPER, DIGITS),
                (LOWER, UPPER, SPECIAL),
                (UPPER, DIGITS, SPECIAL),
                (LOWER, UPPER, DIGITS, SPECIAL),
            ]
        )
    )
    chars = [draw(st.sampled_from(c)) for c in classes]
    length = draw(st.integers(min_value=14, max_value=123))
    alphabet = "".join(classes)
    chars += draw(
        st.lists(st.sampled_from(alphabet), min_size=length - len(chars), max_size=length - len(chars))
    )
    return "".join(draw(st.permutations(chars)))


@st.composite
def invalid_passwords(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["short", "long", "two-classes", "denied"]))
    if kind == "short":
        return draw(valid_passwords())[: draw(st.integers(0, 13))]
    if kind == "long":
        return draw(valid_passwords()) + "Aa1!" * 31
    if kind == "two-classes":
        pair = draw(st.sampled_from([LOWER + DIGITS, UPPER + SPECIAL, LOWER + UPPER, DIGITS + SPECIAL]))
        return draw(st.text(alphabet=pair, min_size=14, max_size=40))
    return draw(st.sampled_from(sorted(v.DISALLOWED_PASSWORDS)))


# --- pool names -------------------------------------------------------------------------------------------------


@PROPS
@given(valid_windows_names)
def test_valid_windows_names_pass(name: str) -> None:
    assert v.check_pool_name(name, OsType.WINDOWS) == []
    v.validate_pool_name(name, "Windows")
    v.validate_pool_name(name, OsType.LINUX)


@PROPS
@given(invalid_windows_names)
def test_invalid_windows_names_rejected(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        v.validate_pool_name(name, OsType.WINDOWS)
    assert info.value.problems


@PROPS
@given(valid_linux_names)
def test_valid_linux_names_pass(name: str) -> None:
    v.validate_pool_name(name, "linux")


@PROPS
@given(invalid_linux_names)
def test_invalid_linux_names_rejected(name: str) -> None:
    with pytest.raises(InvalidInput):
        v.validate_pool_name(name, OsType.LINUX)


def test_pool_name_lists_every_problem() -> None:
    with pytest.raises(InvalidInput) as info:
        v.validate_pool_name("9Win-Pool", OsType.WINDOWS)
    problems = info.value.problems
    assert len(problems) == 3
    assert any("at most 6" in p for p in problems)
    assert any("start with a lowercase letter" in p for p in problems)
    assert any("not '-PW'" in p for p in problems)
    assert isinstance(info.value, ValueError)


def test_trailing_newline_is_not_a_valid_name() -> None:
    assert v.check_pool_name("win\n", OsType.WINDOWS)


def test_unknown_os_type() -> None:
    assert v.check_pool_name("abc", "Darwin") == ["OS type must be Linux or Windows, got 'Darwin'"]


# --- credentials ------------------------------------------------------------------------------------------------


@PROPS
@given(valid_usernames)
def test_valid_usernames_pass(username: str) -> None:
    v.validate_admin_username(username)


@PROPS
@given(invalid_usernames)
def test_invalid_usernames_rejected(username: str) -> None:
    with pytest.raises(InvalidInput):
        v.validate_admin_username(username)


@PROPS
@given(valid_passwords(), valid_usernames)
def test_valid_passwords_pass(password: str, username: str) -> None:
    assume(len(username) < 3 or username.lower() not in password.lower())
    assume(password.lower() not in v.DISALLOWED_PASSWORDS)
    v.validate_admin_password(password, username=username)
    v.validate_admin_password(Secret(password), username=username)


@PROPS
@given(invalid_passwords())
def test_invalid_passwords_rejected(password: str) -> None:
    with pytest.raises(InvalidInput):
        v.validate_admin_password(Secret(password))


@PROPS
@given(
    valid_passwords(), st.from_regex(r"\A[a-z]{3,12}\Z"), st.sampled_from([str.lower, str.upper, str.title])
)
def test_password_containing_username_rejected(
    password: str, username: str, case: Callable[[str], str]
) -> None:
    spliced = password[:7] + case(username) + password[7:]
    with pytest.raises(InvalidInput) as info:
        v.validate_admin_password(spliced, username=username)
    assert "must not contain the admin username" in str(info.value)


def test_short_username_is_not_checked_for_containment() -> None:
    assert v.check_admin_password("ab-Cdefgh1234567", username="ab") == []


def test_password_of_wrong_type() -> None:
    assert v.check_admin_password(12345678901234, username=None) == [  # type: ignore[arg-type]
        "admin password must be a str or Secret, got int"
    ]


def test_all_password_problems_at_once() -> None:
    with pytest.raises(InvalidInput) as info:
        v.validate_admin_password("azureuser", username="azureuser")
    assert len(info.value.problems) == 3


# --- OS SKU, mode, max pods, counts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sku", "os_type", "version", "ok"),
    [
        ("Windows2019", "Windows", "1.32.7", True),
        ("Windows2019", "Windows", "1.33.0", False),
        ("Windows2019", "Windows", "1.33", False),
        ("Windows2022", "Windows", "1.33.0", True),
        ("Windows2025", "Windows", "1.32.0", True),
        ("Windows2025", "Windows", "1.31.9", False),
        ("windows2022", "Windows", "1.30", True),
        ("Ubuntu", "Windows", "1.30", False),
        ("AzureLinux", "Windows", "1.30", False),
        ("WindowsAnnual", "Windows", "1.30", False),
        ("Windows2022", "Linux", "1.30", False),
        ("Ubuntu2404", "Linux", "1.33", True),
        (None, "Windows", "1.34", True),
        (OsSku.WINDOWS2022, OsType.WINDOWS, None, True),
        ("Windows2022", "Windows", "one.two", False),
    ],
)
def test_os_sku_rules(sku: Any, os_type: Any, version: str | None, ok: bool) -> None:
    problems = v.check_os_sku(sku, os_type=os_type, kubernetes_version=version)
    assert (problems == []) is ok, problems
    if not ok:
        with pytest.raises(InvalidInput):
            v.validate_os_sku(sku, os_type=os_type, kubernetes_version=version)


@pytest.mark.parametrize(
    ("os_type", "version", "expected"),
    [
        ("Windows", "1.24.9", OsSku.WINDOWS2019),
        ("Windows", "1.24", OsSku.WINDOWS2019),
        ("Windows", "1.25.0", OsSku.WINDOWS2022),
        ("Windows", "1.33", OsSku.WINDOWS2022),
        ("Linux", "1.20", OsSku.UBUNTU),
    ],
)
def test_default_os_sku(os_type: str, version: str, expected: OsSku) -> None:
    assert v.default_os_sku(os_type, version) is expected


def test_windows_pool_is_user_only() -> None:
    v.validate_pool_mode(PoolMode.USER, OsType.WINDOWS)
    v.validate_pool_mode("System", "Linux")
    with pytest.raises(InvalidInput, match="System agent pools osType must be Linux"):
        v.validate_pool_mode("System", "Windows")
    assert v.check_pool_mode("Primary", "Linux") == ["pool mode must be System or User, got 'Primary'"]


@pytest.mark.parametrize(
    ("plugin", "mode", "pod_subnet", "expected"),
    [
        ("azure", None, None, 30),
        ("azure", None, "/subnets/pods", 110),
        ("azure", "overlay", None, 250),
        ("Azure", "Overlay", "/subnets/pods", 250),
        ("kubenet", None, None, 110),
        ("none", None, None, 110),
        (None, None, None, 110),
    ],
)
def test_default_max_pods(
    plugin: str | None, mode: str | None, pod_subnet: str | None, expected: int
) -> None:
    assert v.default_max_pods(plugin, mode, pod_subnet) == expected


@PROPS
@given(st.integers(10, 250))
def test_max_pods_in_range(max_pods: int) -> None:
    v.validate_max_pods(max_pods)


@PROPS
@given(st.one_of(st.integers(max_value=9), st.integers(min_value=251)))
def test_max_pods_out_of_range(max_pods: int) -> None:
    with pytest.raises(InvalidInput):
        v.validate_max_pods(max_pods)


def test_max_pods_not_a_bool() -> None:
    assert v.check_max_pods(True) == ["max pods must be a whole number, got bool"]


def test_pod_density_no_available_addresses() -> None:
    assert v.check_pod_density(max_pods=30, node_count=3, pods_wanted=90) == []
    with pytest.raises(InvalidInput, match="No available addresses") as info:
        v.validate_pod_density(max_pods=30, node_count=3, pods_wanted=91)
    assert "max pods >= 31" in str(info.value)
    problems = v.check_pod_density(max_pods=30, node_count=3, pods_wanted=80, daemon_pods_per_node=4)
    assert problems and "max pods >= 31" in problems[0]
    assert "more nodes" in v.check_pod_density(max_pods=250, node_count=1, pods_wanted=400)[0]
    assert "no nodes" in v.check_pod_density(max_pods=30, node_count=0, pods_wanted=1)[0]
    assert len(v.check_pod_density(max_pods=-1, node_count=-1, pods_wanted=-1)) == 3


@pytest.mark.parametrize(
    ("count", "mode", "ok"),
    [
        (0, "User", True),
        (1000, "User", True),
        (1001, "User", False),
        (-1, "User", False),
        (0, "System", False),
        (1, "System", True),
        (1000, PoolMode.SYSTEM, True),
    ],
)
def test_pool_count(count: int, mode: Any, ok: bool) -> None:
    assert (v.check_pool_count(count, mode) == []) is ok


def test_cluster_totals() -> None:
    v.validate_cluster_totals(pool_count=100, node_count=1000)
    with pytest.raises(InvalidInput) as info:
        v.validate_cluster_totals(pool_count=101, node_count=1001)
    assert len(info.value.problems) == 2
    assert v.check_cluster_totals(pool_count=9, node_count=10, max_agent_pools=8)


# --- pool spec --------------------------------------------------------------------------------------------------


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    os_type = draw(st.sampled_from([OsType.WINDOWS, OsType.LINUX]))
    minor = draw(st.integers(25, 34))
    version = f"1.{minor}.{draw(st.integers(0, 20))}"
    if os_type is OsType.WINDOWS:
        name = draw(valid_windows_names)
        skus: list[OsSku | None] = [None, OsSku.WINDOWS2022]
        if minor <= 32:
            skus.append(OsSku.WINDOWS2019)
        if minor >= 32:
            skus.append(OsSku.WINDOWS2025)
        mode = PoolMode.USER
    else:
        name = draw(valid_linux_names)
        skus = [None, OsSku.UBUNTU, OsSku.AZURE_LINUX]
        mode = draw(st.sampled_from(list(PoolMode)))
    low = 1 if mode is PoolMode.SYSTEM else 0
    return {
        "name": name,
        "os_type": os_type,
        "mode": mode,
        "count": draw(st.integers(low, 1000)),
        "os_sku": draw(st.sampled_from(skus)),
        "max_pods": draw(st.one_of(st.none(), st.integers(10, 250))),
        "orchestrator_version": version,
    }


BREAKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "long-name": lambda s: {**s, "name": s["name"] + "abcdefghijkl"},
    "bad-count": lambda s: {**s, "count": 1001},
    "bad-max-pods": lambda s: {**s, "max_pods": 251},
    "bad-version": lambda s: {**s, "orchestrator_version": "1.x"},
    "wrong-family-sku": lambda s: {
        **s,
        "os_sku": OsSku.UBUNTU if s["os_type"] is OsType.WINDOWS else OsSku.WINDOWS2022,
    },
    "windows-system": lambda s: {
        **s,
        "os_type": OsType.WINDOWS,
        "mode": PoolMode.SYSTEM,
        "name": "w",
        "os_sku": None,
    },
    "ws2019-too-new": lambda s: {
        **s,
        "os_type": OsType.WINDOWS,
        "name": "w",
        "mode": PoolMode.USER,
        "os_sku": OsSku.WINDOWS2019,
        "orchestrator_version": "1.33.1",
    },
    "ws2025-too-old": lambda s: {
        **s,
        "os_type": OsType.WINDOWS,
        "name": "w",
        "mode": PoolMode.USER,
        "os_sku": OsSku.WINDOWS2025,
        "orchestrator_version": "1.31.1",
    },
}


@PROPS
@given(valid_specs())
def test_valid_pool_specs_pass(spec: dict[str, Any]) -> None:
    v.validate_pool_spec(**spec)


@PROPS
@given(valid_specs(), st.sampled_from(sorted(BREAKERS)))
def test_broken_pool_specs_rejected(spec: dict[str, Any], breaker: str) -> None:
    with pytest.raises(InvalidInput) as info:
        v.validate_pool_spec(**BREAKERS[breaker](spec))
    assert info.value.problems


def test_pool_spec_against_cluster(cluster: Callable[..., ClusterSnapshot]) -> None:
    snapshot = cluster()
    v.validate_pool_spec(name="win2", os_type="Windows", count=3, cluster=snapshot)
    problems = v.check_pool_spec(name="win1", os_type="Windows", count=3, cluster=snapshot)
    assert problems == ["the cluster already has a pool named 'win1'"]
    # created before February 2020 and still on a control plane minor of that time: never upgraded
    old = dataclasses.replace(
        snapshot,
        created_before_2020=True,
        network_plugin="kubenet",
        kubernetes_version="1.17.0",
        current_kubernetes_version="1.17.0",
    )
    problems = v.check_pool_spec(name="win2", os_type="Windows", count=3, cluster=old)
    assert len(problems) == 2
    assert any("Azure CNI" in p for p in problems) and any("pre-February-2020" in p for p in problems)
    # Linux pools do not care about either.
    assert v.check_pool_spec(name="lin2", os_type="Linux", count=3, cluster=old) == []


def test_pool_spec_totals_and_skew(cluster: Callable[..., ClusterSnapshot]) -> None:
    full = cluster(max_agent_pools=2)
    assert v.check_pool_spec(name="w2", os_type="Windows", count=1, cluster=full) == [
        "the cluster would have 3 node pools; at most 2 are allowed"
    ]
    many = v.check_pool_spec(name="w2", os_type="Windows", count=996, cluster=cluster())
    assert many == ["the cluster would have 1001 nodes; at most 1000 across all pools"]
    skew = v.check_pool_spec(
        name="w2", os_type="Windows", count=1, orchestrator_version="1.32.0", cluster=cluster()
    )
    assert skew and "above the control plane" in skew[0]


def test_pool_spec_subnet_capacity(cluster: Callable[..., ClusterSnapshot]) -> None:
    subnet = "/subscriptions/s/resourceGroups/n/providers/Microsoft.Network/virtualNetworks/v/subnets/win"
    node_subnet = cluster(network_plugin_mode=None, subnets=(SubnetUsage(subnet, "10.0.0.0/24", 0, 251),))
    # 8 nodes + 1 surge at 30 max pods pre-allocate 9 * 31 = 279 > 251.
    problems = v.check_pool_spec(
        name="w2", os_type="Windows", count=8, vnet_subnet_id=subnet, cluster=node_subnet
    )
    assert problems == [
        "node subnet too small: Pre-allocated IPs 279 exceeds IPs available 251 in subnet win (28 short)"
    ]
    assert (
        v.check_pool_spec(name="w2", os_type="Windows", count=7, vnet_subnet_id=subnet, cluster=node_subnet)
        == []
    )
    overlay = cluster(subnets=(SubnetUsage(subnet, "10.0.0.0/24", 0, 251),))
    assert (
        v.check_pool_spec(name="w2", os_type="Windows", count=200, vnet_subnet_id=subnet, cluster=overlay)
        == []
    )


def test_pool_spec_pods_wanted(cluster: Callable[..., ClusterSnapshot]) -> None:
    node_subnet = cluster(network_plugin_mode=None)
    problems = v.check_pool_spec(name="w2", os_type="Windows", count=2, pods_wanted=61, cluster=node_subnet)
    assert len(problems) == 1 and "No available addresses" in problems[0]
    v.validate_pool_spec(name="w2", os_type="Windows", count=2, max_pods=3 * 10 + 1, pods_wanted=61)
