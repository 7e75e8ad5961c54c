"""The CLI's handling of ``--simulate`` targets and of a lease held by another apply."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aks_windows_ops.cli import app
from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS

runner = CliRunner()


@pytest.mark.parametrize("command", [["show"], ["audit"], ["preflight"]])
@pytest.mark.parametrize("target", ["nosuch", "/nonexistent/twin.yaml", "healthy.yml"])
def test_unknown_simulate_target_names_the_option_and_the_scenarios(command: list[str], target: str) -> None:
    result = runner.invoke(app, [*command, "--simulate", target])
    assert result.exit_code == 4, result.output
    assert result.stdout == ""
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("ERROR: --simulate")
    assert "neither a built-in scenario" in first and "readable scenario file" in first
    for name in BUILTIN_SCENARIOS:
        assert name in first
    assert "Correct the listed values" not in result.stderr


def test_unreadable_scenario_file_names_the_option(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    result = runner.invoke(app, ["show", "--simulate", str(bad)])
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"ERROR: --simulate {bad}: ")
    assert "Traceback" not in result.output
