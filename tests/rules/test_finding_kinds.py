"""The catalogue of preflight finding kinds: one declaration per code, findings that follow it, docs that list it."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from aks_windows_ops.models import ClusterSnapshot, OsType, PoolMode, PoolSnapshot, Severity
from aks_windows_ops.rules import finding_kinds as kinds
from aks_windows_ops.rules.faq import FaqSection
from aks_windows_ops.rules.finding_kinds import CATALOGUE, RUNBOOKS, FindingKind, kind, markdown_table
from aks_windows_ops.rules.preflight import RUNBOOKS as PREFLIGHT_RUNBOOKS
from aks_windows_ops.rules.preflight import preflight

DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "procedures" / "preflight.md"
_BY_CODE = {k.code: k for k in CATALOGUE}


def test_each_code_is_declared_once_under_its_own_name_with_known_runbooks() -> None:
    assert len(_BY_CODE) == len(CATALOGUE)
    named = {name: value for name, value in vars(kinds).items() if isinstance(value, FindingKind)}
    assert {name: k.code for name, k in named.items()} == {k.code: k.code for k in CATALOGUE}
    for k in CATALOGUE:
        assert k.severities, k.code
        assert {r for r in (k.runbook, *k.other_runbooks) if r} <= set(RUNBOOKS), k.code
    assert PREFLIGHT_RUNBOOKS == RUNBOOKS


def test_graded_triples_map_each_grade_to_a_code_of_that_severity() -> None:
    for graded in (kinds.WINDOWS_OS_BY_GRADE, kinds.KUBERNETES_SUPPORT_BY_GRADE):
        for severity in Severity:
            assert graded[severity].severity is severity


def test_a_kind_fills_in_its_fixed_facts() -> None:
    found = kinds.WINDOWS_POOL_SYSTEM_MODE.at("AgentPool/win1", "Windows pool win1 is a System pool.")
    assert found.code == "WINDOWS_POOL_SYSTEM_MODE"
    assert found.severity is Severity.ERROR
    assert found.faq == FaqSection.WINDOWS_ONLY_CLUSTERS.value
    assert found.runbook == "migrate"
    assert found.remediation == kinds.WINDOWS_POOL_SYSTEM_MODE.remediation
    assert (found.resource, found.message) == ("AgentPool/win1", "Windows pool win1 is a System pool.")
    other = kinds.WINDOWS_OS_KUBERNETES_UNSUPPORTED.at(
        "AgentPool/w", "too old", remediation="Upgrade.", runbook="patch"
    )
    assert (other.runbook, other.remediation, other.severity) == ("patch", "Upgrade.", Severity.ERROR)


def test_a_kind_refuses_what_it_does_not_allow() -> None:
    with pytest.raises(ValueError, match="severity"):
        kinds.WINDOWS_POOL_SYSTEM_MODE.at("AgentPool/w", "m", severity=Severity.INFO)
    with pytest.raises(ValueError, match="severity"):
        kinds.WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE.at("AgentPool/w", "m", remediation="r")
    with pytest.raises(ValueError, match="severity"):
        kinds.WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE.at(
            "AgentPool/w", "m", remediation="r", severity=Severity.ERROR
        )
    with pytest.raises(ValueError, match="remediation"):
        kinds.SYSTEM_POOL_TOO_SMALL.at("AgentPool/sys", "m")
    with pytest.raises(ValueError, match="runbook"):
        kinds.WINDOWS_POOL_SYSTEM_MODE.at("AgentPool/w", "m", runbook="patch")
    with pytest.raises(ValueError, match="twice"):
        kind("AHUB_DRIFT", Severity.WARNING, FaqSection.HYBRID_BENEFIT)
    with pytest.raises(ValueError, match="runbook"):
        kind("NOT_A_CODE", Severity.INFO, FaqSection.GMSA, runbook="reboot")
    assert "NOT_A_CODE" not in {k.code for k in CATALOGUE}


def _messy_clusters(
    cluster: Callable[..., ClusterSnapshot],
    pool: Callable[..., PoolSnapshot],
    windows_pool: Callable[..., PoolSnapshot],
) -> list[ClusterSnapshot]:
    return [
        cluster(
            network_plugin="kubenet",
            uses_service_principal=True,
            auto_upgrade_channel="stable",
            max_agent_pools=5,
            provisioning_state="Updating",
            pools=(
                pool(count=1),
                windows_pool("toolongname", mode=PoolMode.SYSTEM, max_pods=12, provisioning_state="Failed"),
                windows_pool("w2019", os_sku="Windows2019", max_pods=200, node_image_version="old"),
                windows_pool("wbad", orchestrator_version="x.y", current_orchestrator_version="x.y"),
            ),
        ),
        cluster(
            kubernetes_version="1.27.3",
            current_kubernetes_version="1.27.3",
            gmsa_enabled=True,
            pools=(
                pool(os_type=OsType.WINDOWS, os_sku="Ubuntu", mode=PoolMode.USER, name="lin2"),
                windows_pool("w1", orchestrator_version="1.24.0", current_orchestrator_version="1.24.0"),
            ),
        ),
        cluster(
            pools=(windows_pool("w1"),), kubernetes_version="banana", current_kubernetes_version="banana"
        ),
    ]


@pytest.mark.parametrize("as_of", [_dt.date(2024, 1, 1), _dt.date(2026, 11, 26), _dt.date(2030, 1, 1)])
def test_every_preflight_finding_follows_its_catalogue_entry(
    as_of: _dt.date,
    cluster: Callable[..., ClusterSnapshot],
    pool: Callable[..., PoolSnapshot],
    windows_pool: Callable[..., PoolSnapshot],
) -> None:
    seen: set[str] = set()
    for snapshot in _messy_clusters(cluster, pool, windows_pool):
        for found in preflight(snapshot, as_of=as_of).findings:
            declared = _BY_CODE[found.code]
            seen.add(found.code)
            assert found.severity in declared.severities, found
            assert found.faq == declared.faq.value, found
            assert found.runbook in (declared.runbook, *declared.other_runbooks), found
            assert found.remediation, found
    assert len(seen) >= 12, seen


def test_the_preflight_page_lists_the_catalogue() -> None:
    page = DOCS_PAGE.read_text(encoding="utf-8")
    start = page.index("<!-- finding codes:")
    end = page.index("<!-- end of finding codes -->")
    listed = page[page.index("\n", start) + 1 : end]
    assert listed == markdown_table(), (
        "docs/procedures/preflight.md lists other finding codes than the catalogue; paste markdown_table() "
        "from aks_windows_ops.rules.finding_kinds between its markers"
    )
    named = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", listed, flags=re.MULTILINE))
    assert named == set(_BY_CODE)
