"""Rehearsals on the command line continue one twin per target, across processes, until it is reset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

_MAIN = "from aks_windows_ops.cli import main; main()"


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    env = {**os.environ, "AKS_WINDOWS_OPS_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}

    def run(*args: str, code: int = 0) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", _MAIN, *args], capture_output=True, text=True, env=env,
            timeout=300,
        )  # fmt: skip
        assert proc.returncode == code, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        return proc.stdout

    return run


def _show(cli: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(cli("show", "--simulate", "legacy-2019", "-o", "json"))
    return data


def _old_image(cli: Any) -> str:
    """The preflight finding that depends on the control plane version ("" when it is not raised)."""
    out = json.loads(cli("preflight", "--simulate", "legacy-2019", "-o", "json", code=2))
    return next((f["message"] for f in out["findings"] if f["code"] == "OLD_WINDOWS_IMAGE"), "")


def test_a_control_plane_upgrade_is_seen_by_show_and_preflight_in_the_next_process(cli: Any) -> None:
    before = _show(cli)
    assert before["kubernetes_version"] == "1.17.0" and before["twin"]["changed_by"] == []
    # Created before February 2020 and never upgraded: new Windows pools fail until the control plane moves.
    assert "never upgraded" in _old_image(cli)
    out = cli("patch", "--simulate", "legacy-2019", "-k", "1.18.1", "--apply", "--yes", "-o", "json")
    plan_id = json.loads(out)["plan_id"]
    after = _show(cli)
    assert after["kubernetes_version"] == "1.18.1"
    assert {p["name"]: p["orchestrator_version"] for p in after["pools"]} == {
        "nodepool1": "1.18.1",
        "erpwin": "1.18.1",
    }
    assert after["twin"]["twin"] == "legacy-2019" and after["twin"]["since"] == before["twin"]["since"]
    assert [p["plan_id"] for p in after["twin"]["changed_by"]] == [plan_id]
    assert after["twin"]["simulated_now"] > before["twin"]["simulated_now"]
    assert _old_image(cli) == ""  # the next process's preflight sees the upgraded control plane
    # The table says it is a twin too.
    assert "Twin of legacy-2019 since" in cli("show", "--simulate", "legacy-2019")


def test_reset_starts_afresh_both_ways(cli: Any) -> None:
    cli("patch", "--simulate", "legacy-2019", "-k", "1.18.1", "--apply", "--yes")
    assert _show(cli)["kubernetes_version"] == "1.18.1"
    out = cli("--simulate-reset", "show", "--simulate", "legacy-2019", "-o", "json")
    assert json.loads(out)["kubernetes_version"] == "1.17.0"
    cli("patch", "--simulate", "legacy-2019", "-k", "1.18.1", "--apply", "--yes")
    assert "reset" in cli("twin", "reset", "legacy-2019")
    assert _show(cli)["kubernetes_version"] == "1.17.0" and _show(cli)["twin"]["changed_by"] == []


def test_a_paused_rehearsal_resumes_in_a_new_process(cli: Any) -> None:
    args = ("patch", "--simulate", "legacy-2019", "-k", "1.18.1", "--apply", "--yes", "-o", "json")
    first = json.loads(cli(*args, "--time-budget", "10m", code=3))
    assert first["status"] == "paused"
    done_first = [r["step_id"] for r in first["records"] if r["state"] == "succeeded"]
    listed = json.loads(cli("status", "-o", "json"))
    row = next(r for r in listed if r["plan_id"] == first["plan_id"])
    assert row["mode"] == "twin:legacy-2019" and row["twin"] == "legacy-2019"
    second = json.loads(cli("resume", first["plan_id"], "-o", "json"))
    assert second["status"] == "succeeded" and second["plan_id"] == first["plan_id"]
    assert set(done_first) <= set(second["skipped"])  # continued, not started over
    assert _show(cli)["kubernetes_version"] == "1.18.1"
    assert [p["plan_id"] for p in _show(cli)["twin"]["changed_by"]] == [first["plan_id"]]


def test_an_unknown_target_lists_the_built_ins(cli: Any) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _MAIN, "show", "--simulate", "legacy-2091"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "legacy-2019" in proc.stdout + proc.stderr and "healthy" in proc.stdout + proc.stderr


def test_four_rehearsals_started_at_once_are_all_recorded_and_listed(cli: Any, tmp_path: Path) -> None:
    from aks_windows_ops.testing.scenario import scenario_path

    text = scenario_path("legacy-2019").read_text(encoding="utf-8")
    files = []
    for i in range(4):
        path = tmp_path / f"site{i}.yaml"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    env = {**os.environ, "AKS_WINDOWS_OPS_STATE_DIR": str(tmp_path / "state")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _MAIN,
                "patch",
                "--simulate",
                str(f),
                "-k",
                "1.18.1",
                "--apply",
                "--yes",
                "-o",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for f in files
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, out + err
    rows = [r for r in json.loads(cli("status", "-o", "json")) if r["mode"].startswith("twin:")]
    assert sorted(r["twin"] for r in rows) == sorted(str(f.resolve()) for f in files)
    assert all(r["done"] == r["total"] > 0 for r in rows)
