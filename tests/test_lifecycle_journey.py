"""The old-image rule clears after the FAQ's fix, through the real SDK clients on the simulator; the preflight
CLI grades lifecycle dates against ``--as-of`` and reads a newer data file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aks_windows_ops import errors as E
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import read_snapshot
from aks_windows_ops.cli import app
from aks_windows_ops.rules.preflight import preflight
from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
from aks_windows_ops.runbooks.patch import apply_patch, plan_patch
from aks_windows_ops.runbooks.pools import plan_add_windows_pool
from aks_windows_ops.testing.fake_azure import FakeAzure

runner = CliRunner()
SUB, RG, NAME = "00000000-0000-0000-0000-000000000003", "rg-erp", "aks-erp"


def test_old_image_clears_after_the_tools_control_plane_upgrade() -> None:
    fake = FakeAzure.from_scenario("legacy-2019")
    clients = AzureClients.for_simulator(fake, SUB, polling_interval=120)
    before = read_snapshot(clients, RG, NAME)
    assert "OLD_WINDOWS_IMAGE" in preflight(before, as_of=fake.now_date()).codes
    with pytest.raises(E.InvalidInput, match="February-2020"):
        plan_add_windows_pool(clients, RG, NAME, "win22", os_sku="Windows2022")
    assert fake.writes() == []

    plan, ctx = plan_patch(clients, RG, NAME, kubernetes_version="1.18.1", pools=["nodepool1"])
    assert plan.steps[0].kind == "update_control_plane"
    result = apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message

    after = read_snapshot(clients, RG, NAME)
    assert after.current_kubernetes_version == "1.18.1"
    assert after.created_before_2020
    assert "OLD_WINDOWS_IMAGE" not in preflight(after, as_of=fake.now_date()).codes
    new_plan, _ = plan_add_windows_pool(clients, RG, NAME, "win22", os_sku="Windows2022")
    assert new_plan.steps[0].kind == "create_pool"


def test_preflight_as_of_changes_the_grade() -> None:
    today = runner.invoke(app, ["preflight", "--simulate", "ws2019-retiring", "-o", "json"])
    earlier = runner.invoke(
        app, ["preflight", "--simulate", "ws2019-retiring", "--as-of", "2025-06-01", "-o", "json"]
    )
    codes_today = {f["code"]: f["severity"] for f in json.loads(today.stdout)["findings"]}
    codes_earlier = {f["code"]: f["severity"] for f in json.loads(earlier.stdout)["findings"]}
    assert codes_today["WINDOWS_OS_RETIRED"] == "error"
    assert codes_earlier["WINDOWS_OS_RETIRING"] == "warning"
    assert "WINDOWS_OS_RETIRED" not in codes_earlier


def test_preflight_reads_a_newer_lifecycle_file(tmp_path: Path) -> None:
    raw = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "aks_windows_ops/rules/data/lifecycle.yaml").read_text("utf-8")
    )
    raw["os_skus"]["Windows2022"]["retirement"] = "2026-10-01"
    path = tmp_path / "newer.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = runner.invoke(
        app, ["preflight", "--simulate", "healthy", "--lifecycle-data", str(path), "-o", "json"]
    )
    codes = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert "WINDOWS_OS_RETIRED" in codes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "next week"], "--as-of must be a date"),
        (["--lifecycle-data", "/nonexistent/lifecycle.yaml"], "no such file"),
    ],
)
def test_preflight_refuses_bad_lifecycle_options(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["preflight", "--simulate", "healthy", *args])
    assert result.exit_code == 4, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_migrate_plans_after_the_control_plane_upgrade_but_not_before() -> None:
    from aks_windows_ops.runbooks.migrate import plan_migration
    from aks_windows_ops.testing.fake_kube import FakeKubernetes

    kube = FakeKubernetes(ready_delay=0.0).start()
    try:
        fake = FakeAzure.from_scenario("legacy-2019", kube=kube)
        clients = AzureClients.for_simulator(fake, SUB, polling_interval=120)
        with pytest.raises(E.InvalidInput, match="February-2020"):
            plan_migration(clients, RG, NAME, "erpwin", reason="sp-rotation")
        plan, ctx = plan_patch(clients, RG, NAME, kubernetes_version="1.18.1", pools=["nodepool1"])
        assert apply_patch(plan, ctx, checkpoints=MemoryCheckpointStore()).ok
        for reason in ("sp-rotation", "os-upgrade"):
            planned, _ = plan_migration(clients, RG, NAME, "erpwin", reason=reason)
            assert planned.steps[0].kind == "create_pool", reason
    finally:
        kube.stop()
