"""One retry layer: the real SDK clients against the simulator with scripted faults, on virtual time.

Reads are repeated (``Retry-After`` honoured on the simulator's clock), writes are sent once, and a wait the
run's budget cannot afford is the typed ``Throttled`` error without waiting.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from aks_windows_ops import errors as E
from aks_windows_ops.azure import lro
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import list_clusters, read_snapshot
from aks_windows_ops.azure.raw import read_snapshot_raw
from aks_windows_ops.azure.retry import observing_retries, retry_after_seconds, retrying
from aks_windows_ops.testing import VirtualClock

LIGHT = {"upgrade_profiles": False, "scale_sets": False, "subnets": False}


def _cluster_gets(fake: Any, name: str) -> list[Any]:
    return [
        e for e in fake.journal if e.method == "GET" and e.path.lower().endswith(f"/managedclusters/{name}")
    ]


@pytest.mark.parametrize("reader", [read_snapshot, read_snapshot_raw])
def test_throttled_reads_wait_the_retry_after_on_virtual_time(scenario: Any, reader: Any) -> None:
    fake, clients, rg, name = scenario("healthy")
    fake.add_fault("throttle", method="GET", path=f"{name}$", times=2, retry_after=20)
    start = fake.clock.monotonic()
    snap = reader(clients, rg, name, **LIGHT)
    assert snap.ref.name == name
    gets = _cluster_gets(fake, name)
    assert [e.status for e in gets] == [429, 429, 200]
    # each retry came exactly when the service said it could: 20 s of the simulator's clock apart
    assert [round(b.time - a.time, 3) for a, b in itertools.pairwise(gets)] == [20.0, 20.0]
    assert gets[0].time == start


@pytest.mark.parametrize("kind", ["error", "reset"])
def test_a_failed_read_or_a_lost_connection_is_read_again(scenario: Any, kind: str) -> None:
    fake, clients, rg, name = scenario("healthy")
    fake.add_fault(kind, method="GET", path=f"{name}$", times=2, status=503)
    assert read_snapshot(clients, rg, name, **LIGHT).ref.name == name
    assert fake.faults[0].hits == 2
    assert _cluster_gets(fake, name)[-1].status == 200


def test_lists_are_read_again_page_by_page(scenario: Any) -> None:
    fake, clients, rg, name = scenario("healthy")
    fake.add_fault("error", method="GET", path="managedClusters$", times=1, status=502)
    assert (rg, name) in list_clusters(clients)
    assert fake.faults[0].hits == 1


@pytest.mark.parametrize(
    ("kind", "status"), [("error", 503), ("error", 500), ("throttle", 429), ("reset_after", 0)]
)
def test_writes_are_sent_once(scenario: Any, kind: str, status: int) -> None:
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    pool = cs.agent_pools.get(rg, name, "linux")
    pool.count = (pool.count or 0) + 1
    fake.add_fault(kind, method="PUT", path="agentPools/linux$", times=1, status=status or 503, retry_after=5)
    before = fake.clock.monotonic()
    with pytest.raises(E.AksWindowsOpsError):
        lro.start(cs.agent_pools.begin_create_or_update, rg, name, "linux", pool)
    puts = [e for e in fake.journal if e.method == "PUT"]
    assert len(puts) == 1 and fake.faults[0].hits == 1
    assert fake.clock.monotonic() == before  # nothing waited to send it again


def test_a_retry_after_beyond_the_budget_is_throttled_without_waiting(scenario: Any) -> None:
    fake, clients, rg, name = scenario("healthy")
    clients.deadline = clients.clock() + 60
    fake.add_fault("throttle", method="GET", path=f"{name}$", times=0, retry_after=1200)
    before = fake.clock.monotonic()
    with pytest.raises(E.Throttled) as info:
        read_snapshot_raw(clients, rg, name, **LIGHT)
    assert info.value.retry_after == 1200 and "60" in str(info.value)
    assert len(_cluster_gets(fake, name)) == 1 and fake.clock.monotonic() == before


def test_a_retry_after_beyond_the_longest_wait_is_throttled_without_a_budget(scenario: Any) -> None:
    fake, base, rg, name = scenario("healthy")
    clients = AzureClients.for_simulator(fake, base.subscription_id, max_retry_after=30)
    fake.add_fault("throttle", method="GET", path=f"{name}$", times=0, retry_after=31)
    with pytest.raises(E.Throttled):
        read_snapshot(clients, rg, name, **LIGHT)
    assert len(_cluster_gets(fake, name)) == 1


def test_retries_run_out_into_the_typed_error(scenario: Any) -> None:
    fake, base, rg, name = scenario("healthy")
    clients = AzureClients.for_simulator(fake, base.subscription_id, retry_total=2)
    fake.add_fault("throttle", method="GET", path=f"{name}$", times=0, retry_after=3)
    seen: list[tuple[float, int | None]] = []
    with (
        observing_retries(lambda seconds, status: seen.append((seconds, status))),
        pytest.raises(E.Throttled),
    ):
        read_snapshot(clients, rg, name, **LIGHT)
    # exactly one layer: two retries, not the SDK's own on top
    assert len(_cluster_gets(fake, name)) == 3 and seen == [(3.0, 429), (3.0, 429)]


def test_backoff_never_overruns_the_budget(scenario: Any) -> None:
    fake, clients, rg, name = scenario("healthy")
    deadline = clients.deadline = clients.clock() + 2
    fake.add_fault("error", method="GET", path=f"{name}$", times=0, status=503)
    with pytest.raises(E.AksWindowsOpsError):
        read_snapshot(clients, rg, name, **LIGHT)
    gets = _cluster_gets(fake, name)
    assert len(gets) > 1 and all(e.time <= deadline for e in gets) and fake.clock.monotonic() <= deadline


def test_no_retries_sends_each_read_once(scenario: Any) -> None:
    fake, base, rg, name = scenario("healthy")
    clients = AzureClients.for_simulator(fake, base.subscription_id, retry_total=0)
    fake.add_fault("error", method="GET", path=f"{name}$", times=1, status=503)
    with pytest.raises(E.AksWindowsOpsError):
        read_snapshot(clients, rg, name, **LIGHT)
    assert len(_cluster_gets(fake, name)) == 1


def test_the_factory_waits_on_the_given_clock_and_stops_at_the_budget() -> None:
    clock = VirtualClock()
    calls: list[float] = []

    def flaky() -> str:
        calls.append(clock.monotonic())
        if len(calls) < 3:
            raise E.Throttled("busy", retry_after=4)
        return "ok"

    retry = retrying(
        sleep=clock.sleep,
        attempts=5,
        retry_on=lambda err: isinstance(err, E.Throttled),
        asked_wait=lambda state: state.outcome.exception().retry_after,  # type: ignore[union-attr]
    )
    assert retry(flaky) == "ok" and calls == [0.0, 4.0, 8.0]

    deadline = clock.monotonic() + 5
    calls.clear()
    tight = retrying(
        sleep=clock.sleep,
        attempts=5,
        remaining=lambda: deadline - clock.monotonic(),
        retry_on=lambda err: isinstance(err, E.Throttled),
        asked_wait=lambda state: 10.0,
    )
    with pytest.raises(E.Throttled) as info:
        tight(flaky)
    assert info.value.retry_after == 10.0 and len(calls) == 1


def test_retry_after_forms() -> None:
    import datetime as dt

    now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"retry-after": "Thu, 26 Nov 2026 12:00:30 GMT"}, now) == 30.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_registry_reads_are_read_again_on_the_given_clock() -> None:
    from azure.core.exceptions import ServiceResponseError

    from aks_windows_ops.azure.registry import RegistryReader
    from aks_windows_ops.testing.fake_registry import FakeRegistry

    class DroppingRegistry(FakeRegistry):
        """Drops the connection of the first manifest read (a network fault), then serves normally."""

        dropped = 0

        def send(self, request: Any, **kwargs: Any) -> Any:
            if "/manifests/" in request.url and request.method == "GET" and not self.dropped:
                self.dropped += 1
                raise ServiceResponseError("Connection reset by peer (simulated)")
            return super().send(request, **kwargs)

    registry = DroppingRegistry()
    registry.add_image("mcr.example.com/app/web:v1", ["10.0.20348.2000"])
    clock = VirtualClock()
    found = RegistryReader(transport=registry, clock=clock).image_builds("mcr.example.com/app/web:v1")
    assert found.builds == frozenset({"10.0.20348"}) and registry.dropped == 1
    manifest_reads = [r for r in registry.journal if "/manifests/" in r.path]
    assert manifest_reads[-1].status == 200  # the dropped read never arrived; the retry did
    assert clock.monotonic() > 0  # the backoff passed on the virtual clock, not the machine's


def test_what_counts_as_transient() -> None:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    from aks_windows_ops.azure.retry import is_transient

    def raised(status: int) -> HttpResponseError:
        err = HttpResponseError(message="x")
        err.status_code = status
        return err

    assert is_transient(ServiceRequestError("no route")) and is_transient(ServiceResponseError("reset"))
    assert all(is_transient(raised(s)) for s in (408, 429, 500, 502, 503, 504))
    assert not any(is_transient(raised(s)) for s in (400, 401, 403, 404, 409, 412, 501))
    assert not is_transient(E.Throttled("the library's own error is final")) and not is_transient(
        ValueError()
    )
