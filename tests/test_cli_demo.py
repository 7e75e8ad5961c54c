from __future__ import annotations

import json

from typer.testing import CliRunner

from aks_windows_ops.cli import app

runner = CliRunner()


def test_demo_shows_every_builtin_scenario() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    for name in ("healthy", "ws2019-retiring", "legacy-2019", "subnet-full"):
        assert name in result.output
    assert "win19" in result.output and "Windows2019" in result.output
    # every procedure ran to a verified end: patch, AHUB, password, migrate x2, node-image patch
    assert result.output.count("-> succeeded") == 6, result.output
    assert "refused before any request" in result.output
    assert "verified 4 pools and control plane 1.36.3" in result.output


def test_show_json_on_a_simulated_cluster() -> None:
    result = runner.invoke(app, ["show", "--simulate", "ws2019-retiring", "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ref"]["name"] == "aks-apps"
    assert {p["name"] for p in data["pools"]} == {"system", "win19"}


def test_show_needs_a_target() -> None:
    result = runner.invoke(app, ["show"])
    assert result.exit_code == 4
    assert "--resource-group is required" in result.output
