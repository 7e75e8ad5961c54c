"""Bad input is refused with a typed error before any request reaches the (simulated) Azure."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aks_windows_ops import errors as E
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.runbooks.password import plan_password_rotation
from aks_windows_ops.runbooks.patch import plan_patch
from aks_windows_ops.runbooks.pools import plan_add_windows_pool
from aks_windows_ops.secrets import Secret
from aks_windows_ops.testing.fake_azure import FakeAzure

SUB = "00000000-0000-0000-0000-000000000001"
FAKE = FakeAzure.from_scenario("healthy")
CLIENTS = AzureClients.for_simulator(FAKE, SUB)
WINDOWS_NAME = re.compile(r"^[a-z][a-z0-9]{0,5}$")
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _refused_without_requests(call: object) -> E.InvalidInput:
    before = len(FAKE.journal)
    try:
        call()  # type: ignore[operator]
    except E.InvalidInput as err:
        assert len(FAKE.journal) == before, "a request was sent before the input was refused"
        return err
    raise AssertionError("accepted invalid input")


@SETTINGS
@given(st.text(min_size=0, max_size=14).filter(lambda n: not WINDOWS_NAME.match(n)))
def test_invalid_windows_pool_names(name: str) -> None:
    _refused_without_requests(lambda: plan_add_windows_pool(CLIENTS, "rg-prod", "aks-prod", name))


@SETTINGS
@given(st.one_of(st.integers(max_value=9), st.integers(min_value=251, max_value=10_000)))
def test_invalid_max_pods(max_pods: int) -> None:
    _refused_without_requests(
        lambda: plan_add_windows_pool(CLIENTS, "rg-prod", "aks-prod", "win9", max_pods=max_pods)
    )


@SETTINGS
@given(st.integers(min_value=1, max_value=20), st.integers(min_value=10, max_value=250))
def test_too_few_pods_for_the_workload(count: int, max_pods: int) -> None:
    err = _refused_without_requests(
        lambda: plan_add_windows_pool(
            CLIENTS,
            "rg-prod",
            "aks-prod",
            "win9",
            count=count,
            max_pods=max_pods,
            pods_wanted=count * max_pods + 1,
        )
    )
    assert "No available addresses" in str(err)


@SETTINGS
@given(
    st.one_of(
        st.text(alphabet="abcdefghijklmnop", min_size=14, max_size=40),  # one class only
        st.text(min_size=0, max_size=13),  # too short
        st.sampled_from(["P@ssw0rd", "Password1", "iloveyou!"]),
    )
)
def test_weak_passwords(password: str) -> None:
    err = _refused_without_requests(
        lambda: plan_password_rotation(CLIENTS, "rg-prod", "aks-prod", new_password=Secret(password))
    )
    if len(password) >= 6:  # shorter strings occur in any sentence ("14-123 characters")
        assert password not in str(err)


@SETTINGS
@given(st.text(min_size=1, max_size=12).filter(lambda v: not re.match(r"^v?\d+\.\d+(\.\d+)?$", v)))
def test_invalid_versions(version: str) -> None:
    _refused_without_requests(lambda: plan_patch(CLIENTS, "rg-prod", "aks-prod", kubernetes_version=version))


@SETTINGS
@given(st.sampled_from(["win3", "w1", "abc123"]), st.integers(min_value=1, max_value=5))
def test_valid_pools_pass(name: str, count: int) -> None:
    plan, _ = plan_add_windows_pool(CLIENTS, "rg-prod", "aks-prod", name, count=count, max_pods=110)
    assert plan.steps[0].params["pool"] == name
    assert FAKE.writes() == []
