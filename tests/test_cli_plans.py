from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from aks_windows_ops.cli import app

runner = CliRunner()


def test_status_lists_a_paused_patch_and_resume_refuses_unknown_plans(tmp_path: Path) -> None:
    store = str(tmp_path / "cp.json")
    paused = runner.invoke(
        app,
        [
            "patch",
            "--simulate",
            "healthy",
            "-k",
            "1.36.3",
            "--apply",
            "--yes",
            "--checkpoint",
            store,
            "--time-budget",
            "20m",
        ],
    )
    assert paused.exit_code == 3, paused.output
    listed = runner.invoke(app, ["status", "--checkpoint", store, "-o", "json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert row["procedure"] == "patch" and row["done"] == 1 and row["total"] == 6
    assert row["steps"][1]["state"] == "in_progress"
    missing = runner.invoke(app, ["resume", "patch-nope", "--checkpoint", store])
    assert missing.exit_code == 2
    assert "status" in missing.output
