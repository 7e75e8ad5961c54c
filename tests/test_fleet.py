"""Fleet audit: many subscriptions of the simulator, failures isolated, rate limits, outputs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from typing import Any

import pytest

from aks_windows_ops import errors as E
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.fleet import (
    COLUMNS,
    BucketSpec,
    FleetReport,
    FleetRow,
    RateLimiter,
    TokenBucket,
    Ws2019Exposure,
    audit,
    audit_command,
    image_date,
    image_lag_days,
    ws2019_exposure,
)
from aks_windows_ops.models import ClusterRef, ClusterSnapshot, OsType, PoolMode, PoolSnapshot
from aks_windows_ops.testing import VirtualClock
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS, load_scenario, read_scenario
from aks_windows_ops.testing.throttle import ArmThrottle

HEALTHY = "00000000-0000-0000-0000-000000000001"
RETIRING = "00000000-0000-0000-0000-000000000002"
LEGACY = "00000000-0000-0000-0000-000000000003"
FULL = "00000000-0000-0000-0000-000000000004"
SUBS = [HEALTHY, RETIRING, LEGACY, FULL]
#: Small ARM read buckets so that a four-cluster audit runs into them.
ARM_SMALL = BucketSpec(5, 1)


def mixed_fake(**kwargs: Any) -> FakeAzure:
    """The four built-in scenarios, one subscription each, in one simulator."""
    subscriptions: list[dict[str, Any]] = []
    for name in BUILTIN_SCENARIOS:
        subscriptions += read_scenario(name)["subscriptions"]
    fake: FakeAzure = load_scenario({"name": "mixed", "subscriptions": subscriptions}, **kwargs)
    return fake


def by_cluster(report: FleetReport) -> dict[str, FleetRow]:
    return {row.cluster: row for row in report.rows}


def test_audit_of_four_subscriptions_isolates_a_failing_cluster() -> None:
    fake = mixed_fake()
    fake.add_fault("error", path="aks-apps$", status=500, times=0)
    seen: list[str] = []
    report = audit(
        AzureClients.for_simulator(fake, HEALTHY),
        source="arm",  # faults and buckets on the per-cluster ARM reads
        subscriptions=SUBS,
        concurrency=4,
        on_row=lambda row: seen.append(row.cluster),
    )
    rows = by_cluster(report)
    assert [r.subscription for r in report.rows] == SUBS  # sorted in the order given
    assert sorted(seen) == sorted(rows) == ["aks-apps", "aks-erp", "aks-prod", "aks-retail"]

    failed = rows["aks-apps"]
    assert not failed.ok and failed.error_type == "AzureOperationFailed"
    assert "reading cluster rg-legacy-apps/aks-apps" in (failed.error or "")
    assert failed.windows_pools == () and failed.record()["errors"] is None
    assert report.failed == (failed,)

    prod = rows["aks-prod"]
    assert prod.ok and prod.kubernetes_version == "1.35.5" and prod.license_type == "Windows_Server"
    assert [(p.name, p.os_sku, p.image_lag_days) for p in prod.windows_pools] == [
        ("win22", "Windows2022", 0),
        ("win25", "Windows2025", 0),
    ]
    # no error: Kubernetes 1.35 is in AKS standard support until 2027-03-31
    assert prod.ws2019_exposure == Ws2019Exposure.NONE and prod.ahub_drift == 0 and prod.errors == 0
    assert {f.code for f in prod.findings if f.severity.value == "error"} == set()

    erp = rows["aks-erp"]
    assert erp.ws2019_exposure == Ws2019Exposure.RETIRING and erp.ws2019_pools == ("erpwin",)
    assert "OLD_WINDOWS_IMAGE" in {f.code for f in erp.findings} and erp.errors >= 1
    assert erp.license_type is None

    assert rows["aks-retail"].ok and rows["aks-retail"].windows_pools[0].os_sku == "Windows2022"
    assert report.complete and report.exit_code == 2
    summary = report.summary()
    assert summary["clusters"] == 4 and summary["failed"] == 1 and summary["ws2019_exposed"] == 1
    # the simulator saw no write: an audit only reads
    assert fake.writes() == []


def test_ws2019_blocks_upgrade_drift_and_image_lag_are_reported() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    report = audit(AzureClients.for_simulator(fake, RETIRING))
    (row,) = report.rows
    assert row.ws2019_exposure == Ws2019Exposure.BLOCKS_UPGRADE and row.ws2019_pools == ("win19",)
    assert row.ahub_drift == 1
    (pool,) = row.windows_pools
    assert pool.node_image_version == "AKSWindows-2019-containerd-17763.6800.260610"
    assert pool.latest_node_image_version == "AKSWindows-2019-containerd-17763.6900.260715"
    assert pool.image_lag_days == 35 and row.max_image_lag_days == 35
    codes = {f.code for f in row.findings}
    assert {"AHUB_DRIFT", "WINDOWS_OS_LAST_KUBERNETES_MINOR", "SERVICE_PRINCIPAL_WITH_WINDOWS"} <= codes
    # errors: Windows Server 2019 retired on 2026-03-01, Kubernetes 1.32 is out of AKS support
    assert {"WINDOWS_OS_RETIRED", "KUBERNETES_OUT_OF_SUPPORT"} <= codes
    assert report.exit_code == 2


def test_outputs_carry_the_columns() -> None:
    fake = mixed_fake()
    fake.add_fault("error", path="aks-apps$", status=500, times=0)
    report = audit(AzureClients.for_simulator(fake, HEALTHY), subscriptions=SUBS, concurrency=2, source="arm")

    data = json.loads(report.to_json())
    assert data["columns"] == list(COLUMNS)
    assert data["summary"]["clusters"] == 4 and len(data["rows"]) == 4
    row = next(r for r in data["rows"] if r["cluster"] == "aks-prod")
    assert row["windows_pools"][0]["os_sku"] == "Windows2022"
    assert {"errors", "warnings", "infos", "items"} <= set(row["findings"])

    parsed = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert list(parsed[0]) == list(COLUMNS) and len(parsed) == 4
    apps = next(r for r in parsed if r["cluster"] == "aks-apps")
    assert apps["error"].startswith("InternalServerError") and apps["errors"] == ""
    erp = next(r for r in parsed if r["cluster"] == "aks-erp")
    assert erp["windows_pools"] == "erpwin:Windows2019" and erp["ws2019_exposure"] == "retiring"

    page = report._repr_html_()
    assert page.count("<tr") == 5 and all(f"<th>{c}</th>" in page for c in COLUMNS)
    assert "aks-retail" in page and "1 failed" in page

    text = report.to_text()
    for needle in (
        "aks-prod",
        "aks-apps",
        "aks-erp",
        "aks-retail",
        "Windows2025",
        "WS2019",
        "AHUB",
        "retiring: erpwin",
    ):
        assert needle in text
    assert "\x1b[" not in text


def test_dataframe_when_pandas_is_installed() -> None:
    pd = pytest.importorskip("pandas")
    report = audit(AzureClients.for_simulator(FakeAzure.from_scenario("healthy"), HEALTHY))
    frame = report.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(COLUMNS) and len(frame) == 1


def test_dataframe_without_pandas_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="notebooks"):
        FleetReport(rows=()).to_dataframe()


def test_explicit_clusters_factory_and_missing_cluster() -> None:
    fake = mixed_fake()
    made: list[str] = []

    def factory(sub: str) -> AzureClients:
        made.append(sub)
        return AzureClients.for_simulator(fake, sub)

    report = audit(
        factory,
        clusters=[
            f"{LEGACY}/rg-erp/aks-erp",
            ClusterRef(FULL, "rg-retail", "aks-retail"),
            (FULL, "rg-x", "nosuch"),
        ],
        include=("findings",),
    )
    assert sorted(made) == [LEGACY, FULL]
    rows = by_cluster(report)
    assert rows["nosuch"].error_type == "NotFound"
    # without upgrade profiles and scale sets there is no image age and no drift figure
    erp = rows["aks-erp"]
    assert erp.windows_pools[0].latest_node_image_version is None and erp.max_image_lag_days is None
    assert erp.ahub_drift is None and erp.errors >= 1
    assert fake.requests(path="virtualMachineScaleSets") == []
    assert fake.requests(path="upgradeProfiles") == []


def test_a_subscription_that_cannot_be_listed_gets_an_error_row() -> None:
    fake = mixed_fake()
    fake.add_fault(
        "error",
        path=f"/subscriptions/{LEGACY}/providers/Microsoft.ContainerService/managedClusters$",
        status=403,
        code="AuthorizationFailed",
        message="no access",
        times=0,
    )
    report = audit(AzureClients.for_simulator(fake, HEALTHY), subscriptions=SUBS)
    broken = [r for r in report.rows if r.subscription == LEGACY]
    assert len(broken) == 1 and broken[0].cluster == "" and "no access" in (broken[0].error or "")
    assert sum(1 for r in report.rows if r.ok) == 3 and report.summary()["clusters"] == 3


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"include": ("images", "nonsense")}, "unknown include"),
        ({"concurrency": 0}, "concurrency"),
        ({"time_budget": 0}, "time budget"),
        ({"clusters": ["only/two"]}, "a cluster is"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(kwargs: dict[str, Any], problem: str) -> None:
    fake = FakeAzure.from_scenario("healthy")
    with pytest.raises(E.InvalidInput) as err:
        audit(AzureClients.for_simulator(fake, HEALTHY), **kwargs)
    assert problem in str(err.value)
    assert fake.journal == []


def test_a_factory_needs_subscriptions() -> None:
    with pytest.raises(E.InvalidInput):
        audit(lambda sub: AzureClients(sub))


# ------------------------------------------------------------------------------------ rate limiting
def test_token_bucket_reserves_in_turn_on_a_virtual_clock() -> None:
    t = VirtualClock(record=True)
    bucket = TokenBucket(BucketSpec(3, 2), clock=t.monotonic)
    assert [bucket.try_take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_take() == pytest.approx(0.5) and bucket.tokens == pytest.approx(0.0)
    assert bucket.reserve() == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(1.0)  # each caller waits once, for its own turn
    t.advance(1.0)
    assert bucket.tokens == pytest.approx(0.0)
    t.advance(100)
    assert bucket.tokens == 3  # never above the burst
    bucket.hold(2.0)
    assert bucket.wait_time() == pytest.approx(2.5)
    with pytest.raises(E.InvalidInput):
        TokenBucket(BucketSpec(0, 1), clock=t.monotonic)


def test_rate_limiter_waits_per_subscription_and_per_cluster() -> None:
    t = VirtualClock(record=True)
    limiter = RateLimiter(
        reads=BucketSpec(4, 2), cluster_gets=BucketSpec(2, 1), headroom=0, clock=t.monotonic, sleep=t.sleep
    )
    for _ in range(4):
        assert limiter.acquire("sub-a") == 0
    assert limiter.acquire("sub-b") == 0  # another subscription has its own bucket
    assert limiter.acquire("sub-a") == pytest.approx(0.5)
    assert limiter.ready_in(["sub-a", "sub-b"]) == {"sub-a": pytest.approx(0.5), "sub-b": 0.0}
    assert limiter.acquire("sub-b", cluster="c1") == 0
    assert limiter.acquire("sub-b", cluster="c1") == 0
    assert limiter.acquire("sub-b", cluster="C1") == pytest.approx(1.0)  # cluster GET bucket: 2 then 1/s
    assert t.sleeps == [pytest.approx(0.5), pytest.approx(1.0)]
    assert limiter.calls == 9 and limiter.waited == pytest.approx(1.5)

    limiter.penalize("sub-b", 30)
    with pytest.raises(E.BudgetExhausted):
        limiter.acquire("sub-b", deadline=t.monotonic() + 10)
    assert limiter.calls == 9  # refused: nothing admitted, nothing slept
    assert limiter.acquire("sub-b", deadline=t.monotonic() + 60) == pytest.approx(30.5)


def test_audit_paces_requests_with_its_limiter_on_virtual_time() -> None:
    fake = mixed_fake()
    t = VirtualClock(record=True)
    limiter = RateLimiter(
        reads=BucketSpec(6, 2), cluster_gets=None, headroom=0, clock=t.monotonic, sleep=t.sleep
    )
    report = audit(
        AzureClients.for_simulator(fake, HEALTHY),
        subscriptions=SUBS,
        concurrency=1,
        rate_limit=limiter,
        source="arm",  # one read bucket per subscription paces the per-cluster ARM reads
    )
    assert all(r.ok for r in report.rows) and report.complete
    calls = limiter.calls
    assert calls == report.api_calls == len(SUBS) + sum(r.api_calls for r in report.rows)
    assert calls == len(fake.journal)  # one token per request: every SDK call here is one request
    # one worker, and the clock moves only while it waits: at least the slowest subscription's excess over the
    # burst at 2/s, and less than waiting for each subscription in turn (work goes to the readiest bucket)
    excess = [max(len(fake.requests(path=f"/subscriptions/{s}/")) - 6, 0) / 2 for s in SUBS]
    assert max(excess) <= t.monotonic() < sum(excess)
    assert report.waited == pytest.approx(sum(t.sleeps)) and report.elapsed == pytest.approx(t.monotonic())


def test_time_budget_stops_starting_clusters_and_reports_them() -> None:
    fake = mixed_fake()
    t = VirtualClock(record=True)
    limiter = RateLimiter(
        reads=BucketSpec(3, 0.1), cluster_gets=None, headroom=0, clock=t.monotonic, sleep=t.sleep
    )
    report = audit(
        AzureClients.for_simulator(fake, HEALTHY),
        subscriptions=SUBS,
        concurrency=1,
        rate_limit=limiter,
        time_budget=25,
    )
    assert not report.complete and report.exit_code == 2
    assert t.monotonic() <= 25
    assert {r.error_type for r in report.rows} == {"BudgetExhausted"}
    # every subscription is accounted for: listed ones by cluster, the others by an error row
    assert {r.subscription for r in report.rows} == set(SUBS)
    assert "time budget" in report.to_text()


def test_arm_throttle_429s_are_retried_and_the_audit_completes() -> None:
    fake = mixed_fake()
    throttle = ArmThrottle(reads=ARM_SMALL, clock=fake.clock.monotonic).install(fake)
    report = audit(
        AzureClients.for_simulator(fake, HEALTHY),
        subscriptions=SUBS,
        concurrency=1,
        rate_limit=None,
        clock=fake.clock.monotonic,
        sleep=fake.sleep,
    )
    assert all(r.ok for r in report.rows), [r.error for r in report.rows]
    assert throttle.throttled > 0 and throttle.throttled_by["reads"] == throttle.throttled
    assert len(fake.requests()) - throttle.throttled == sum(1 for e in fake.journal if e.status == 200)
    assert sum(1 for e in fake.journal if e.status == 429) == throttle.throttled


def test_client_side_limiter_keeps_arm_from_throttling() -> None:
    fake = mixed_fake()
    throttle = ArmThrottle(reads=ARM_SMALL, clock=fake.clock.monotonic).install(fake)
    limiter = RateLimiter(
        reads=ARM_SMALL, cluster_gets=None, headroom=0, clock=fake.clock.monotonic, sleep=fake.sleep
    )
    report = audit(
        AzureClients.for_simulator(fake, HEALTHY), subscriptions=SUBS, concurrency=1, rate_limit=limiter
    )
    assert all(r.ok for r in report.rows)
    assert throttle.throttled == 0 and limiter.waited > 0


def test_throttled_beyond_retries_becomes_the_clusters_error() -> None:
    fake = mixed_fake()
    fake.add_fault("throttle", path="aks-prod$", retry_after=7, times=0)
    t = VirtualClock(record=True)
    report = audit(
        AzureClients.for_simulator(fake, HEALTHY, retry_total=1),
        source="arm",  # faults and buckets on the per-cluster ARM reads
        subscriptions=[HEALTHY, FULL],
        rate_limit=None,
        retries=2,
        clock=t.monotonic,
        sleep=t.sleep,
    )
    rows = by_cluster(report)
    assert rows["aks-prod"].error_type == "Throttled" and rows["aks-prod"].attempts == 3
    assert t.sleeps == [7.0, 7.0] and report.throttled == 2
    assert rows["aks-retail"].ok


def test_retry_after_beyond_the_time_budget_is_not_waited_for() -> None:
    fake = mixed_fake()
    fake.add_fault("throttle", path="aks-prod$", retry_after=1200, times=0)
    t = VirtualClock(record=True)
    report = audit(
        AzureClients.for_simulator(fake, HEALTHY),
        source="arm",  # faults and buckets on the per-cluster ARM reads
        subscriptions=[HEALTHY, FULL],
        time_budget=60,
        clock=t.monotonic,
        sleep=t.sleep,
    )
    rows = by_cluster(report)
    assert rows["aks-prod"].error_type == "Throttled" and rows["aks-prod"].attempts == 1
    assert "1200" in (rows["aks-prod"].error or "")
    assert t.sleeps == [] and fake.clock.monotonic() < 60  # neither the SDK nor the audit slept 20 minutes
    assert rows["aks-retail"].ok


# ------------------------------------------------------------------------------------ pure helpers
@pytest.mark.parametrize(
    ("image", "date"),
    [
        ("AKSWindows-2022-containerd-20348.4300.261111", dt.date(2026, 11, 11)),
        ("AKSWindows-2019-containerd-17763.6800.260610", dt.date(2026, 6, 10)),
        ("AKSUbuntu-2204gen2containerd-202611.11.0", dt.date(2026, 11, 11)),
        ("AKSAzureLinux-V3gen2-202607.15.0", dt.date(2026, 7, 15)),
        ("AKSWindows-2022-containerd-20348.4300.261399", None),
        ("custom-image", None),
        (None, None),
    ],
)
def test_image_date_from_the_name(image: str | None, date: dt.date | None) -> None:
    assert image_date(image) == date


def test_image_lag_days() -> None:
    assert (
        image_lag_days("AKSUbuntu-2204gen2containerd-202606.10.0", "AKSUbuntu-2204gen2containerd-202611.11.0")
        == 154
    )
    assert image_lag_days("x", "x") == 0
    assert image_lag_days("custom", "AKSUbuntu-2204gen2containerd-202611.11.0") is None
    assert image_lag_days(None, "AKSUbuntu-2204gen2containerd-202611.11.0") is None


def _snapshot(cp: str, pools: list[tuple[str, str, str]]) -> ClusterSnapshot:
    return ClusterSnapshot(
        ref=ClusterRef("s", "rg", "c"),
        location="westeurope",
        kubernetes_version=cp,
        current_kubernetes_version=cp,
        provisioning_state="Succeeded",
        network_plugin="azure",
        network_plugin_mode=None,
        identity_type="SystemAssigned",
        uses_service_principal=False,
        windows_admin_username="azureuser",
        license_type=None,
        gmsa_enabled=False,
        node_resource_group="MC_rg_c",
        max_agent_pools=100,
        auto_upgrade_channel=None,
        pools=tuple(
            PoolSnapshot(
                name=name,
                os_type=OsType.WINDOWS,
                os_sku=sku,
                mode=PoolMode.USER,
                count=1,
                vm_size="Standard_D4s_v5",
                orchestrator_version=version,
                current_orchestrator_version=version,
                node_image_version=None,
                provisioning_state="Succeeded",
                max_pods=30,
            )
            for name, sku, version in pools
        ),
    )


@pytest.mark.parametrize(
    ("cp", "pools", "expected"),
    [
        ("1.33.5", [("win22", "Windows2022", "1.33.5")], (Ws2019Exposure.NONE, ())),
        ("1.31.10", [("win19", "Windows2019", "1.30.14")], (Ws2019Exposure.RETIRING, ("win19",))),
        ("1.32.7", [("win19", "Windows2019", "1.31.10")], (Ws2019Exposure.BLOCKS_UPGRADE, ("win19",))),
        (
            "1.33.2",
            [("old", "Windows2019", "1.32.7"), ("win22", "Windows2022", "1.33.2")],
            (Ws2019Exposure.UNSUPPORTED, ("old",)),
        ),
    ],
)
def test_ws2019_exposure(
    cp: str, pools: list[tuple[str, str, str]], expected: tuple[str, tuple[str, ...]]
) -> None:
    assert ws2019_exposure(_snapshot(cp, pools)) == expected


# ------------------------------------------------------------------------------------ the command
def simulated(scenario: str) -> AzureClients:
    fake = load_scenario(scenario)
    return AzureClients.for_simulator(fake, next(iter(fake.clusters))[0])


def test_audit_command_outputs_and_exit_codes() -> None:
    from rich.console import Console

    out: list[str] = []
    assert audit_command(simulated("ws2019-retiring"), output="json", write=out.append) == 2
    data = json.loads("".join(out))
    assert data["rows"][0]["cluster"] == "aks-apps" and data["summary"]["ahub_drift"] == 1

    out.clear()
    assert audit_command(simulated("healthy"), output="csv", write=out.append) == 0  # info findings only
    lines = "".join(out).splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 2

    buffer = io.StringIO()
    assert audit_command(simulated("legacy-2019"), console=Console(file=buffer, width=200)) == 2
    assert "aks-erp" in buffer.getvalue() and "retiring" in buffer.getvalue()

    with pytest.raises(E.InvalidInput):
        audit_command(simulated("healthy"), output="yaml")
