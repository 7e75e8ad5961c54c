"""ArmThrottle: ARM's and AKS's token buckets behind the simulator's throttle hook."""

from __future__ import annotations

import pytest
from azure.core.rest import HttpRequest

from aks_windows_ops.fleet import AKS_CLUSTER_GETS, AKS_RESOURCE_PUTS, ARM_READS, BucketSpec
from aks_windows_ops.testing import VirtualClock
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.throttle import ArmThrottle

SUB = "00000000-0000-0000-0000-000000000001"
AKS = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.ContainerService"
CLUSTER = f"{AKS}/managedClusters/aks-prod"
OP = f"/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/operations/abc"


@pytest.mark.parametrize(
    ("method", "path", "kind", "buckets"),
    [
        ("GET", CLUSTER, "read", [("reads", SUB), ("cluster_gets", CLUSTER.lower())]),
        ("GET", f"{CLUSTER}/agentPools/win22", "read", [("reads", SUB)]),
        ("GET", f"{CLUSTER}/upgradeProfiles/default", "read", [("reads", SUB)]),
        ("POST", f"{CLUSTER}/listClusterUserCredential", "read", [("reads", SUB)]),
        ("GET", OP, "poll", [("reads", SUB), ("operation_status", SUB)]),
        ("PUT", CLUSTER, "write", [("writes", SUB), ("resource_puts", CLUSTER.lower())]),
        (
            "PUT",
            f"{CLUSTER}/agentPools/win22",
            "write",
            [("writes", SUB), ("resource_puts", f"{CLUSTER}/agentPools/win22".lower())],
        ),
        ("POST", f"{CLUSTER}/agentPools/win22/upgradeNodeImageVersion", "write", [("writes", SUB)]),
        ("DELETE", f"{CLUSTER}/agentPools/win22", "write", [("deletes", SUB)]),
        ("GET", "/providers/Microsoft.ContainerService/operations", "read", []),
    ],
)
def test_each_request_spends_from_the_documented_buckets(
    method: str, path: str, kind: str, buckets: list[tuple[str, str]]
) -> None:
    assert ArmThrottle().buckets_for(method, path, kind) == [(name, key.lower()) for name, key in buckets]


def test_cluster_get_bucket_throttles_before_the_subscription_bucket() -> None:
    clock = VirtualClock()
    throttle = ArmThrottle(clock=clock.monotonic)
    fake = FakeAzure()
    for _ in range(int(AKS_CLUSTER_GETS.burst)):
        assert throttle.check(fake, "GET", CLUSTER, "read") is None
    reads_left = throttle.tokens("reads", SUB)
    assert throttle.check(fake, "GET", CLUSTER, "read") == pytest.approx(1.0)
    assert throttle.tokens("reads", SUB) == reads_left  # a refused request spends no token
    assert (
        throttle.check(fake, "GET", f"{CLUSTER}/agentPools/win22", "read") is None
    )  # other reads still pass
    clock.advance(1.0)
    assert throttle.check(fake, "GET", CLUSTER, "read") is None
    assert throttle.throttled == 1 and dict(throttle.throttled_by) == {"cluster_gets": 1}
    assert throttle.checked == int(AKS_CLUSTER_GETS.burst) + 3


def test_put_of_one_resource_is_20_then_one_per_minute() -> None:
    clock = VirtualClock()
    throttle = ArmThrottle(clock=clock.monotonic)
    fake = FakeAzure()
    for _ in range(int(AKS_RESOURCE_PUTS.burst)):
        assert throttle.check(fake, "PUT", CLUSTER, "write") is None
    assert throttle.check(fake, "PUT", CLUSTER, "write") == pytest.approx(60.0)
    assert throttle.check(fake, "PUT", f"{CLUSTER}/agentPools/win22", "write") is None  # another resource
    clock.advance(30)
    assert throttle.check(fake, "PUT", CLUSTER, "write") == pytest.approx(30.0)
    clock.advance(30)
    assert throttle.check(fake, "PUT", CLUSTER, "write") is None


def test_subscription_read_bucket_refills_at_its_rate() -> None:
    clock = VirtualClock()
    throttle = ArmThrottle(clock=clock.monotonic)
    fake = FakeAzure()
    path = f"{CLUSTER}/agentPools/win22"
    for _ in range(int(ARM_READS.burst)):
        assert throttle.check(fake, "GET", path, "read") is None
    assert throttle.check(fake, "GET", path, "read") == pytest.approx(1 / ARM_READS.rate)
    clock.advance(1.0)
    admitted = sum(throttle.check(fake, "GET", path, "read") is None for _ in range(100))
    assert admitted == ARM_READS.rate
    other = "/subscriptions/another/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets"
    assert throttle.check(fake, "GET", other, "read") is None  # buckets are per subscription


def test_the_simulator_answers_429_with_retry_after() -> None:
    fake = FakeAzure.from_scenario("healthy")
    throttle = ArmThrottle(reads=BucketSpec(2, 0.4), clock=fake.clock.monotonic).install(fake)
    assert fake.throttle is throttle
    url = f"https://management.azure.com{CLUSTER}?api-version=2026-08-01"
    statuses = [fake.send(HttpRequest("GET", url)).status_code for _ in range(2)]
    throttled = fake.send(HttpRequest("GET", url))
    assert statuses == [200, 200] and throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"  # 2.5 s rounded up to whole seconds
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert [e.status for e in fake.journal] == [200, 200, 429]
    fake.sleep(3)
    assert fake.send(HttpRequest("GET", url)).status_code == 200
    assert throttle.throttled == 1
