"""Preflight on each built-in scenario lists exactly the findings its cluster deserves, and the CLI exits accordingly.

The expected sets come from reading each scenario file against the FAQ and the lifecycle data, on the simulator's
day (2026-11-26):

* healthy: Kubernetes 1.35 with Windows2022/2025 pools on the newest node images, overlay, managed identity,
  AHUB on everywhere. Kubernetes 1.35's AKS standard support ends on 2027-03-31, more than 90 days ahead (info).
  Windows Server 2022 retires on 2028-06-30, more than 12 months ahead (info); Windows Server 2025 has no
  retirement announced. gMSA off (info). Exit 0.
* ws2019-retiring: a Windows2019 pool on 1.32, the last minor with WS2019 (warning); Windows Server 2019 retired
  on 2026-03-01 (error; images removed on 2027-04-01); 1.32 is out of support (error); a service principal
  (cannot be rotated on Windows pools: warning), one instance whose license was removed (AHUB drift: warning),
  a July image while newer ones exist (info) that only a control plane upgrade unlocks (warning), gMSA off
  (info). Exit 2.
* legacy-2019: created in January 2020 on Kubernetes 1.17 and never upgraded (its control plane still runs a
  minor that existed before February 2020): adding a Windows pool fails with the old-image error (error); 1.17
  is older than every minor AKS supports (error); its Windows2019 pool's OS retired (error); its Windows images
  are held back behind the never-done control plane upgrade (warning); gMSA off (info). Exit 2.
* subnet-full: the Windows pool runs the oldest image, but the newest one is already available to it (its
  upgrade profile says so and a node image upgrade alone delivers it, see the test below), so the image is
  outdated (info) and nothing needs a control plane upgrade; a replacement for the Windows pool (any FAQ
  migration) would not fit in the /24 beside it (info); Windows Server 2022 retires in more than 12 months
  (info); Kubernetes 1.35's standard support ends in more than 90 days (info); gMSA off (info). Exit 0.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from aks_windows_ops import errors as E
from aks_windows_ops.azure import actions, lro
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import read_snapshot
from aks_windows_ops.cli import app
from aks_windows_ops.rules.preflight import PreflightReport, preflight
from aks_windows_ops.testing import catalog
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.scenario import read_scenario

runner = CliRunner()

#: Where each built-in scenario's cluster lives (subscription, resource group, name).
SCENARIO_TARGETS: dict[str, tuple[str, str, str]] = {
    "healthy": ("00000000-0000-0000-0000-000000000001", "rg-prod", "aks-prod"),
    "ws2019-retiring": ("00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps"),
    "legacy-2019": ("00000000-0000-0000-0000-000000000003", "rg-erp", "aks-erp"),
    "subnet-full": ("00000000-0000-0000-0000-000000000004", "rg-retail", "aks-retail"),
}

EXPECTED: dict[str, tuple[tuple[str, ...], int]] = {
    "healthy": (("GMSA_STATUS", "KUBERNETES_SUPPORT_END", "WINDOWS_OS_LIFECYCLE"), 0),
    "ws2019-retiring": (
        (
            "AHUB_DRIFT",
            "GMSA_STATUS",
            "KUBERNETES_OUT_OF_SUPPORT",
            "NODE_IMAGE_OUTDATED",
            "SERVICE_PRINCIPAL_WITH_WINDOWS",
            "WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE",
            "WINDOWS_OS_LAST_KUBERNETES_MINOR",
            "WINDOWS_OS_RETIRED",
        ),
        2,
    ),
    "legacy-2019": (
        (
            "GMSA_STATUS",
            "KUBERNETES_OUT_OF_SUPPORT",
            "OLD_WINDOWS_IMAGE",
            "WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE",
            "WINDOWS_OS_RETIRED",
        ),
        2,
    ),
    "subnet-full": (
        (
            "GMSA_STATUS",
            "KUBERNETES_SUPPORT_END",
            "NODE_IMAGE_OUTDATED",
            "NO_ROOM_FOR_REPLACEMENT_POOL",
            "WINDOWS_OS_LIFECYCLE",
        ),
        0,
    ),
}


def _cases() -> list[Any]:
    return sorted(EXPECTED)


def _report(name: str, source: Any = None) -> PreflightReport:
    sub, rg, cluster = SCENARIO_TARGETS[name]
    fake = FakeAzure.from_scenario(source if source is not None else name)
    return preflight(read_snapshot(AzureClients.for_simulator(fake, sub), rg, cluster), as_of=fake.now_date())


@pytest.mark.parametrize("name", _cases())
def test_preflight_lists_exactly_the_expected_findings(name: str) -> None:
    codes, exit_code = EXPECTED[name]
    report = _report(name)
    assert tuple(sorted(report.codes)) == codes
    assert report.exit_code == exit_code


@pytest.mark.parametrize("name", _cases())
def test_preflight_cli_exit_code(name: str) -> None:
    result = runner.invoke(app, ["preflight", "--simulate", name])
    assert result.exit_code == EXPECTED[name][1], result.output


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_cli_reports_what_the_library_finds(name: str) -> None:
    result = runner.invoke(app, ["preflight", "--simulate", name, "-o", "json"])
    report = _report(name)
    assert result.exit_code == report.exit_code
    data = json.loads(result.stdout)
    assert [f["code"] for f in data["findings"]] == list(report.codes)
    assert data["cluster"] == report.cluster


@pytest.mark.parametrize("name", _cases())
def test_a_scenario_reports_the_findings_it_exists_to_show_and_no_other_problem(name: str) -> None:
    """A scenario's ``shows:`` lists what it exists to show: all of it is reported, and every warning or error is in it."""
    shows = set(read_scenario(name)["shows"])
    report = _report(name)
    assert shows <= set(report.codes), f"{name} no longer shows {sorted(shows - set(report.codes))}"
    problems = {f.code for f in report.findings if f.severity.value in ("warning", "error")}
    assert problems <= shows, (
        f"{name} also reports {sorted(problems - shows)}, which it does not exist to show"
    )


def test_every_finding_names_a_remediation_and_its_faq_section() -> None:
    for name in EXPECTED:
        for finding in _report(name).findings:
            assert finding.remediation, finding.code
            assert finding.faq, finding.code


def test_subnet_full_reaches_the_newest_windows_image_without_a_control_plane_upgrade(scenario: Any) -> None:
    """Why subnet-full expects no WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE: a node image upgrade is enough."""
    fake, clients, rg, name = scenario("subnet-full")
    before = read_snapshot(clients, rg, name)
    pos = before.pool("pos")
    newest = catalog.latest_image("Windows2022", "Windows", today=fake.now_date(), windows_cutoff=None)
    assert pos.latest_node_image_version == newest != pos.node_image_version
    begin = clients.containerservice.agent_pools.begin_upgrade_node_image_version
    lro.wait(
        begin, lro.start(begin, rg, name, "pos"), rg, name, "pos", clock=clients.clock, sleep=clients.sleep
    )
    after = read_snapshot(clients, rg, name)
    assert after.pool("pos").node_image_version == newest
    assert after.current_kubernetes_version == before.current_kubernetes_version
    assert "NODE_IMAGE_OUTDATED" not in preflight(after, as_of=fake.now_date()).codes


def test_ws2019_retiring_control_plane_upgrades_are_all_refused_while_win19_exists(scenario: Any) -> None:
    """The 1.33 upgrades WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE suggests are refused by the service."""
    fake, clients, rg, name = scenario("ws2019-retiring")
    snap = read_snapshot(clients, rg, name)
    cs = clients.containerservice
    assert snap.control_plane_upgrades
    for version in snap.control_plane_upgrades:
        mc = cs.managed_clusters.get(rg, name)
        mc.properties.kubernetes_version = version
        mc.properties.service_principal_profile = None
        with pytest.raises(E.AzureOperationFailed) as info:
            lro.start(cs.managed_clusters.begin_create_or_update, rg, name, mc)
        assert "Windows Server 2019" in str(info.value)
    assert fake.writes() and all(w.status == 400 for w in fake.writes())


def test_ws2019_retiring_image_advice_is_actionable() -> None:
    (finding,) = _report("ws2019-retiring").by_code("WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE")
    assert "1.33" not in finding.remediation


def test_windows_images_held_back_by_an_old_control_plane_upgrade_are_reported() -> None:
    data = read_scenario("healthy")
    cluster = data["subscriptions"][0]["resource_groups"][0]["clusters"][0]
    cluster["windows_image_date"] = "2026-06-15"
    report = _report("healthy", data)
    assert "WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE" in report.codes


def test_held_back_windows_pools_cannot_be_patched_by_a_node_image_upgrade() -> None:
    """The facts behind the expected failure above: the node image upgrade starts no operation (200 with the
    pool), although newer images exist."""
    data = read_scenario("healthy")
    cluster = data["subscriptions"][0]["resource_groups"][0]["clusters"][0]
    cluster["windows_image_date"] = "2026-06-15"
    fake = FakeAzure.from_scenario(data)
    sub, rg, name = SCENARIO_TARGETS["healthy"]
    clients = AzureClients.for_simulator(fake, sub)
    win22 = read_snapshot(clients, rg, name).pool("win22")
    newest = catalog.latest_image("Windows2022", "Windows", today=fake.now_date(), windows_cutoff=None)
    assert win22.node_image_version == win22.latest_node_image_version != newest
    assert actions.begin_node_image_upgrade(clients, rg, name, "win22") == lro.NOT_MODIFIED
    assert fake.requests(method="POST", path="win22/upgradeNodeImageVersion$")[-1].status == 200
