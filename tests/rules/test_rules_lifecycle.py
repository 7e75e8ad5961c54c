"""Lifecycle data: every entry sourced and dated; grading at several days; portability; user-supplied files."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.lifecycle_file import load_lifecycle
from aks_windows_ops.models import ClusterSnapshot, Severity
from aks_windows_ops.rules.lifecycle import (
    LIFECYCLE_ENV,
    builtin_lifecycle,
    grade,
    host_runs_image_build,
    parse_lifecycle,
    still_on_old_windows_image,
)
from aks_windows_ops.rules.preflight import preflight

DATA_FILE = Path(__file__).resolve().parents[2] / "aks_windows_ops" / "rules" / "data" / "lifecycle.yaml"


def _raw() -> dict[str, Any]:
    loaded = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_every_entry_has_a_source_and_a_check_date() -> None:
    data = builtin_lifecycle()
    entries = data.entries()
    assert {name for name, _ in entries} >= {
        "os_skus.Windows2019",
        "os_skus.Windows2022",
        "os_skus.Windows2025",
        "os_skus.WindowsAnnual",
        "kubernetes.1.33",
        "image_portability.10.0.26100",
        "old_windows_image",
    }
    for name, prov in entries:
        assert prov.source, name
        assert all(s.startswith("https://") for s in prov.source), name
        assert isinstance(prov.checked, date) and prov.checked <= data.checked, name
    # the raw file too: no entry without the two keys
    raw = _raw()
    for section in ("os_skus", "image_portability", "kubernetes"):
        for key, entry in raw[section].items():
            assert entry.get("source") and entry.get("checked"), f"{section}.{key}"


def test_disagreements_are_kept() -> None:
    data = builtin_lifecycle()
    ws2022 = data.os_sku("Windows2022")
    assert ws2022 is not None and ws2022.retirement == date(2028, 6, 30)
    assert any("2027-03-15" in d for d in ws2022.provenance.disagreements)
    assert data.portability["10.0.26100"].provenance.disagreements
    assert data.kubernetes[(1, 33)].provenance.disagreements


@pytest.mark.parametrize(
    ("when", "as_of", "severity"),
    [
        (date(2026, 3, 1), date(2025, 2, 28), Severity.INFO),
        (date(2026, 3, 1), date(2025, 3, 1), Severity.WARNING),
        (date(2026, 3, 1), date(2026, 2, 28), Severity.WARNING),
        (date(2026, 3, 1), date(2026, 3, 1), Severity.ERROR),
        (date(2026, 3, 1), date(2030, 1, 1), Severity.ERROR),
    ],
)
def test_grade(when: date, as_of: date, severity: Severity) -> None:
    assert grade(when, as_of) is severity


def _windows(cluster: Callable[..., ClusterSnapshot], pool: Any, windows_pool: Any, sku: str, v: str) -> Any:
    return cluster(
        kubernetes_version=v,
        current_kubernetes_version=v,
        pools=(
            pool(orchestrator_version=v, current_orchestrator_version=v),
            windows_pool("win", os_sku=sku, orchestrator_version=v, current_orchestrator_version=v),
        ),
    )


@pytest.mark.parametrize(
    ("sku", "version", "as_of", "code", "severity"),
    [
        ("Windows2019", "1.31.2", date(2024, 12, 1), "WINDOWS_OS_LIFECYCLE", Severity.INFO),
        ("Windows2019", "1.31.2", date(2025, 6, 1), "WINDOWS_OS_RETIRING", Severity.WARNING),
        ("Windows2019", "1.31.2", date(2026, 11, 26), "WINDOWS_OS_RETIRED", Severity.ERROR),
        ("Windows2019", "1.31.2", date(2027, 4, 2), "WINDOWS_OS_RETIRED", Severity.ERROR),
        ("Windows2022", "1.35.1", date(2026, 11, 26), "WINDOWS_OS_LIFECYCLE", Severity.INFO),
        ("Windows2022", "1.35.1", date(2027, 7, 1), "WINDOWS_OS_RETIRING", Severity.WARNING),
        ("Windows2022", "1.35.1", date(2028, 7, 1), "WINDOWS_OS_RETIRED", Severity.ERROR),
        ("WindowsAnnual", "1.33.1", date(2026, 11, 26), "WINDOWS_OS_RETIRED", Severity.ERROR),
        ("WindowsAnnual", "1.33.1", date(2026, 1, 10), "WINDOWS_OS_RETIRING", Severity.WARNING),
    ],
)
def test_windows_os_graded_by_day(
    cluster: Callable[..., ClusterSnapshot],
    pool: Any,
    windows_pool: Any,
    sku: str,
    version: str,
    as_of: date,
    code: str,
    severity: Severity,
) -> None:
    report = preflight(_windows(cluster, pool, windows_pool, sku, version), as_of=as_of)
    found = report.by_code(code)
    assert len(found) == 1, report.to_text()
    assert found[0].severity is severity
    entry = builtin_lifecycle().os_sku(sku)
    assert entry is not None and entry.retirement is not None and entry.image_removal is not None
    assert entry.retirement.isoformat() in found[0].message
    assert entry.image_removal.isoformat() in found[0].message
    assert "scaling and reimaging" in found[0].message
    assert "OS_SKU_MISMATCH" not in report.codes  # WindowsAnnual is a known OS SKU


def test_windows2019_today_is_an_error_with_both_dates(
    cluster: Callable[..., ClusterSnapshot], pool: Any, windows_pool: Any
) -> None:
    report = preflight(
        _windows(cluster, pool, windows_pool, "Windows2019", "1.32.3"), as_of=date(2026, 11, 26)
    )
    (retired,) = report.by_code("WINDOWS_OS_RETIRED")
    assert "retired on 2026-03-01" in retired.message and "removed on 2027-04-01" in retired.message
    assert report.by_code("WINDOWS_OS_LAST_KUBERNETES_MINOR")


@pytest.mark.parametrize(
    ("sku", "version", "unsupported"),
    [
        ("Windows2019", "1.33.1", True),
        ("Windows2019", "1.32.3", False),
        ("Windows2022", "1.37.0", True),
        ("Windows2022", "1.36.1", False),
        ("Windows2025", "1.31.2", True),
        ("Windows2025", "1.37.0", False),
    ],
)
def test_windows_pool_on_a_version_its_os_does_not_run_on(
    cluster: Callable[..., ClusterSnapshot],
    pool: Any,
    windows_pool: Any,
    sku: str,
    version: str,
    unsupported: bool,
) -> None:
    report = preflight(_windows(cluster, pool, windows_pool, sku, version), as_of=date(2026, 11, 26))
    assert bool(report.by_code("WINDOWS_OS_KUBERNETES_UNSUPPORTED")) is unsupported


@pytest.mark.parametrize(
    ("version", "plan", "as_of", "code", "severity"),
    [
        ("1.34.2", None, date(2025, 10, 1), "KUBERNETES_SUPPORT_END", Severity.INFO),
        ("1.34.2", None, date(2026, 11, 26), "KUBERNETES_SUPPORT_ENDING", Severity.WARNING),
        ("1.34.2", None, date(2026, 12, 1), "KUBERNETES_OUT_OF_SUPPORT", Severity.ERROR),
        # Standard support ends 2027-03-31: a warning from 90 days ahead, info before.
        ("1.35.7", None, date(2026, 12, 30), "KUBERNETES_SUPPORT_END", Severity.INFO),
        ("1.35.7", None, date(2026, 12, 31), "KUBERNETES_SUPPORT_ENDING", Severity.WARNING),
        ("1.33.5", None, date(2026, 11, 26), "KUBERNETES_OUT_OF_SUPPORT", Severity.ERROR),
        ("1.33.5", "AKSLongTermSupport", date(2026, 11, 26), "KUBERNETES_SUPPORT_ENDING", Severity.WARNING),
        ("1.33.5", "AKSLongTermSupport", date(2027, 8, 1), "KUBERNETES_OUT_OF_SUPPORT", Severity.ERROR),
        ("1.17.0", None, date(2026, 11, 26), "KUBERNETES_OUT_OF_SUPPORT", Severity.ERROR),
        ("1.40.0", None, date(2026, 11, 26), "KUBERNETES_VERSION_NOT_IN_DATA", Severity.INFO),
    ],
)
def test_kubernetes_support_graded_by_day(
    cluster: Callable[..., ClusterSnapshot],
    pool: Any,
    version: str,
    plan: str | None,
    as_of: date,
    code: str,
    severity: Severity,
) -> None:
    snapshot = cluster(
        kubernetes_version=version,
        current_kubernetes_version=version,
        support_plan=plan,
        pools=(pool(orchestrator_version=version, current_orchestrator_version=version),),
    )
    report = preflight(snapshot, as_of=as_of)
    found = report.by_code(code)
    assert len(found) == 1, report.to_text()
    assert found[0].severity is severity and found[0].resource.startswith("ManagedCluster/")
    if plan:
        assert "Long Term Support" in found[0].message


def test_a_pool_on_an_older_minor_is_graded_too(cluster: Callable[..., ClusterSnapshot], pool: Any) -> None:
    snapshot = cluster(
        kubernetes_version="1.36.1",
        current_kubernetes_version="1.36.1",
        pools=(pool(orchestrator_version="1.33.5", current_orchestrator_version="1.33.5"),),
    )
    report = preflight(snapshot, as_of=date(2026, 11, 26))
    assert [f.resource for f in report.by_code("KUBERNETES_OUT_OF_SUPPORT")] == ["AgentPool/sys"]
    assert report.by_code("KUBERNETES_SUPPORT_END")[0].resource.startswith("ManagedCluster/")


@pytest.mark.parametrize(
    ("host", "image", "runs"),
    [
        ("Windows2019", "10.0.17763", True),
        ("Windows2019", "10.0.20348", False),
        ("Windows2022", "10.0.17763", False),
        ("Windows2022", "10.0.20348.2849", True),
        ("Windows2022", "10.0.26100", False),
        ("Windows2025", "10.0.20348", True),
        ("Windows2025", "26100", True),
        ("Windows2025", "10.0.17763", False),
        ("WindowsAnnual", "10.0.20348", True),
        ("10.0.25398", "10.0.17763", False),
        ("10.0.26100", "10.0.20348", True),
    ],
)
def test_host_runs_image_build(host: str, image: str, runs: bool) -> None:
    assert host_runs_image_build(host, image) is runs


def test_host_runs_image_build_refuses_a_non_build() -> None:
    with pytest.raises(InvalidInput):
        host_runs_image_build("Windows2022", "latest")


def test_old_image_needs_evidence(cluster: Callable[..., ClusterSnapshot], pool: Any) -> None:
    never = cluster(
        created_before_2020=True,
        kubernetes_version="1.17.0",
        current_kubernetes_version="1.17.0",
        pools=(pool(orchestrator_version="1.17.0", current_orchestrator_version="1.17.0"),),
    )
    upgraded = dataclasses.replace(never, kubernetes_version="1.18.1", current_kubernetes_version="1.18.1")
    recent = dataclasses.replace(never, created_before_2020=False)
    assert still_on_old_windows_image(never)
    assert not still_on_old_windows_image(upgraded)
    assert not still_on_old_windows_image(recent)
    assert "OLD_WINDOWS_IMAGE" in preflight(never, as_of=date(2026, 11, 26)).codes
    assert "OLD_WINDOWS_IMAGE" not in preflight(upgraded, as_of=date(2026, 11, 26)).codes


def test_a_newer_data_file_changes_the_verdict(
    tmp_path: Path, cluster: Callable[..., ClusterSnapshot], pool: Any, windows_pool: Any
) -> None:
    raw = _raw()
    raw["os_skus"]["Windows2022"]["retirement"] = "2026-10-01"
    raw["os_skus"]["Windows2022"]["image_removal"] = "2027-10-01"
    path = tmp_path / "newer.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    data = load_lifecycle(path)
    snapshot = _windows(cluster, pool, windows_pool, "Windows2022", "1.35.1")
    assert "WINDOWS_OS_RETIRED" in preflight(snapshot, as_of=date(2026, 11, 26), lifecycle=data).codes
    assert "WINDOWS_OS_RETIRED" not in preflight(snapshot, as_of=date(2026, 11, 26)).codes
    assert load_lifecycle(environ={LIFECYCLE_ENV: str(path)}).origin == str(path)
    assert load_lifecycle(environ={}) is builtin_lifecycle()


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda r: r["os_skus"]["Windows2019"].pop("source"), "os_skus.Windows2019.source"),
        (lambda r: r["os_skus"]["Windows2022"].update(retirement="soon"), "os_skus.Windows2022.retirement"),
        (lambda r: r["kubernetes"]["1.33"].pop("checked"), "kubernetes.1.33.checked"),
        (lambda r: r["kubernetes"]["1.34"].update(ga="November"), "kubernetes.1.34.ga"),
        (
            lambda r: r["os_skus"]["Windows2025"].update(host_build="10.0.99999"),
            "os_skus.Windows2025.host_build",
        ),
        (lambda r: r.update(schema=2), "schema"),
        (lambda r: r.update(kubernetes=[]), "kubernetes"),
    ],
)
def test_a_bad_data_file_names_the_file_and_the_key(tmp_path: Path, change: Any, key: str) -> None:
    raw = _raw()
    change(raw)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        load_lifecycle(path)
    assert str(path) in str(err.value) and key in str(err.value)


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        load_lifecycle(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("os_skus: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        load_lifecycle(broken)
    with pytest.raises(InvalidInput, match="top level"):
        parse_lifecycle(["not", "a", "mapping"], origin="x.yaml")


def test_long_term_support_is_offered_only_while_it_lasts(
    cluster: Callable[..., ClusterSnapshot], pool: Any
) -> None:
    def finding(version: str) -> Any:
        snapshot = cluster(
            kubernetes_version=version,
            current_kubernetes_version=version,
            pools=(pool(orchestrator_version=version, current_orchestrator_version=version),),
        )
        (found,) = preflight(snapshot, as_of=date(2026, 11, 26)).by_code("KUBERNETES_OUT_OF_SUPPORT")
        return found

    still = finding("1.33.5")  # LTS until 2027-07-31
    assert "covers it until 2027-07-31" in still.message and "AKSLongTermSupport" in still.remediation
    over = finding("1.29.15")  # LTS ended 2026-04-30
    assert "ended on 2026-04-30" in over.message and "AKSLongTermSupport" not in over.remediation


def test_held_back_images_and_an_os_that_stops_at_the_next_minor(
    cluster: Callable[..., ClusterSnapshot], pool: Any, windows_pool: Any
) -> None:
    """Windows2022 runs up to 1.36: the only upgrade offered (1.37) cannot bring its pool newer images."""
    v = "1.36.1"
    snapshot = cluster(
        kubernetes_version=v,
        current_kubernetes_version=v,
        control_plane_upgrades=("1.37.0",),
        pools=(
            pool(
                orchestrator_version=v,
                current_orchestrator_version=v,
                latest_node_image_version="AKSUbuntu-2204gen2containerd-202611.11.0",
            ),
            windows_pool(
                "win",
                orchestrator_version=v,
                current_orchestrator_version=v,
                node_image_version="AKSWindows-2022-containerd-20348.3800.260610",
                latest_node_image_version="AKSWindows-2022-containerd-20348.3800.260610",
            ),
        ),
    )
    report = preflight(snapshot, as_of=date(2026, 11, 26))
    (held,) = report.by_code("WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE")
    assert (
        held.severity is Severity.WARNING and held.runbook == "migrate" and "Windows2022" in held.remediation
    )
    assert report.by_code("WINDOWS_OS_LAST_KUBERNETES_MINOR")
