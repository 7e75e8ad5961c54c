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


SUB = "00000000-0000-0000-0000-000000000001"
CLUSTER_LEASE = f"cluster:{SUB}/rg-prod/aks-prod"


def _held_store(path: Path) -> tuple[object, object]:
    from aks_windows_ops.runbooks.checkpoints import checkpoint_store_from_url
    from aks_windows_ops.runbooks.leases import LeaseHolder

    store = checkpoint_store_from_url(str(path))
    other = LeaseHolder(
        id="ops@build-7:4242:abcd1234", host="build-7", started_at="2026-11-26T09:00:00+00:00"
    )
    store.acquire_lease(CLUSTER_LEASE, other)  # type: ignore[attr-defined]
    return store, other


def test_second_apply_on_a_leased_cluster_exits_5_naming_holder_and_how_to_break(tmp_path: Path) -> None:
    path = tmp_path / "cp.sqlite"
    _held_store(path)
    args = ["patch", "--simulate", "healthy", "--node-image-only", "--checkpoint", str(path)]
    result = runner.invoke(app, [*args, "--apply", "--yes"])
    assert result.exit_code == 5, result.output
    assert "Traceback" not in result.output
    error, what_to_do = result.stderr.strip().splitlines()[-2:]
    assert error.startswith("ERROR: ") and "ops@build-7:4242:abcd1234" in error
    assert "build-7" in error and "2026-11-26T09:00:00" in error
    assert f"lease break -g rg-prod -n aks-prod --subscription {SUB}" in what_to_do

    as_json = runner.invoke(app, [*args, "--apply", "--yes", "-o", "json"])
    assert as_json.exit_code == 5
    import json

    document = json.loads(as_json.stderr)["error"]
    assert document["type"] == "LeaseHeld" and document["exit_code"] == 5
    assert document["host"] == "build-7" and "lease break" in document["remediation"]


def test_lease_show_and_break_free_the_cluster(tmp_path: Path) -> None:
    import json

    path = tmp_path / "cp.sqlite"
    store, _ = _held_store(path)
    target = ["-g", "rg-prod", "-n", "aks-prod", "--subscription", SUB, "--checkpoint", str(path)]

    shown = runner.invoke(app, ["lease", "show", *target, "-o", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) | {"expires_at": None} == {
        "lease": CLUSTER_LEASE,
        "held": True,
        "holder": "ops@build-7:4242:abcd1234",
        "host": "build-7",
        "started_at": "2026-11-26T09:00:00+00:00",
        "expires_at": None,
    }

    unconfirmed = runner.invoke(app, ["lease", "break", *target])
    assert unconfirmed.exit_code == 4, unconfirmed.output
    assert "--yes" in unconfirmed.stderr
    assert store.lease_holder(CLUSTER_LEASE) is not None  # type: ignore[attr-defined]

    broken = runner.invoke(app, ["lease", "break", *target, "--yes", "-o", "json"])
    assert broken.exit_code == 0, broken.output
    assert json.loads(broken.stdout)["broken"] is True
    assert store.lease_holder(CLUSTER_LEASE) is None  # type: ignore[attr-defined]

    again = runner.invoke(app, ["lease", "break", *target, "--yes"])
    assert again.exit_code == 0 and "free" in again.stderr

    args = [
        "patch",
        "--simulate",
        "healthy",
        "--node-image-only",
        "--checkpoint",
        str(path),
        "--apply",
        "--yes",
    ]
    applied = runner.invoke(app, args)
    assert applied.exit_code == 0, applied.output


def test_lease_break_on_a_terminal_asks_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cp.sqlite"
    store, _ = _held_store(path)
    monkeypatch.setattr("aks_windows_ops.cli.leases._on_terminal", lambda: True)
    target = ["-g", "rg-prod", "-n", "aks-prod", "--subscription", SUB, "--checkpoint", str(path)]
    declined = runner.invoke(app, ["lease", "break", *target], input="n\n")
    assert declined.exit_code == 0, declined.output
    assert "ops@build-7:4242:abcd1234" in declined.stderr and "kept" in declined.stderr
    assert store.lease_holder(CLUSTER_LEASE) is not None  # type: ignore[attr-defined]
    accepted = runner.invoke(app, ["lease", "break", *target], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert store.lease_holder(CLUSTER_LEASE) is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "args",
    [
        ["--plan", "p1", "-g", "rg"],
        ["-g", "rg"],
        [],
        ["--plan", " "],
    ],
)
def test_lease_commands_refuse_a_half_named_target(args: list[str], tmp_path: Path) -> None:
    for command in ("show", "break"):
        result = runner.invoke(app, ["lease", command, *args, "--checkpoint", str(tmp_path / "cp.sqlite")])
        assert result.exit_code == 4, result.output
        assert result.stderr.startswith("ERROR: ")
        assert "Traceback" not in result.output
