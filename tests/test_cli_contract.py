"""The command line's contract with scripts, over every command: documents on stdout, exit codes, errors.

Every command is driven with ``-o json``, ``-o yaml``, ``-o tsv`` and ``--query``; stdout must parse and carry
nothing else. Usage errors exit 4 with one line on stderr (a JSON document with ``-o json``), never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from aks_windows_ops import errors as E
from aks_windows_ops.cli import app
from aks_windows_ops.cli.runtime import exit_code_for

runner = CliRunner()

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {kubernetes.io/os: windows}
      containers: [{name: web, image: "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022"}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
"""


def leaf_commands() -> Iterator[tuple[str, ...]]:
    """Every runnable command path, e.g. ``("pool", "add")``."""

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                yield from walk(sub, (*path, name))
        else:
            yield path

    yield from walk(typer.main.get_command(app), ())


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    manifest = root / "app.yaml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    return {"manifest": manifest, "root": root}


def good_invocation(command: tuple[str, ...], files: dict[str, Path]) -> list[str]:
    """A valid, read-only (or plan-only) invocation of each command on the simulator."""
    root = files["root"]
    table: dict[tuple[str, ...], list[str]] = {
        ("show",): ["--simulate", "healthy"],
        ("patch",): ["--simulate", "healthy", "-k", "1.36.3"],
        ("rotate-password",): ["--simulate", "healthy", "--password-env", "CLI_TEST_PW"],
        ("ahub",): ["verify", "--simulate", "healthy"],
        ("demo",): ["--scenario", "healthy"],
        ("audit",): ["--simulate", "healthy"],
        ("preflight",): ["--simulate", "healthy"],
        ("lint",): [str(files["manifest"])],
        ("snapshot",): ["--simulate", "healthy", "--out", str(root / "twin.yaml")],
        ("migrate",): ["--simulate", "ws2019-retiring", "--pool", "win19", "--reason", "os-upgrade"],
        ("affinity",): [str(files["manifest"])],
        ("status",): ["--checkpoint", str(root / "cp.json")],
        ("lease", "show"): ["--plan", "patch-0", "--checkpoint", str(root / "cp.json")],
        ("lease", "break"): ["--plan", "patch-0", "--checkpoint", str(root / "cp.json"), "--yes"],
        ("pool", "add"): ["--simulate", "healthy", "-n", "win3", "--node-count", "2"],
        ("timezone", "get"): ["--simulate", "healthy"],
        ("timezone", "list"): ["--simulate", "healthy"],
        ("timezone", "set"): ["--simulate", "healthy", "--id", "Russian Standard Time"],
        ("twin", "reset"): ["healthy"],
        ("twin", "serve"): ["healthy", "--check"],
    }
    if command not in table:
        pytest.fail(f"no valid invocation listed for {' '.join(command)}: add one to this test")
    return [*command, *table[command]]


#: Commands that cannot succeed on the simulator from a fresh process: checked on their error document.
ERROR_ONLY = {("resume",): ["resume", "no-such-plan"]}

COMMANDS = sorted(leaf_commands())


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLI_TEST_PW", "Cli-Test-Passw0rd!x")


def invoke(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output, result.output
    return result


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in ERROR_ONLY], ids=" ".join)
def test_every_command_writes_only_json_to_stdout(command: tuple[str, ...], files: dict[str, Path]) -> None:
    args = good_invocation(command, files)
    result = invoke([*args, "-o", "json"])
    assert result.exit_code in (0, 1, 2), result.output
    document = json.loads(result.stdout)
    assert document not in (None, "", [], {}) or command == ("status",)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in ERROR_ONLY], ids=" ".join)
def test_every_command_speaks_yaml_tsv_and_query(command: tuple[str, ...], files: dict[str, Path]) -> None:
    args = good_invocation(command, files)
    as_json = json.loads(invoke([*args, "-o", "json"]).stdout)
    as_yaml = invoke([*args, "-o", "yaml"])
    documents = list(yaml.safe_load_all(as_yaml.stdout))
    if command == ("affinity",):  # a stream of manifests for kubectl apply -f -
        assert documents == as_json["items"]
    else:
        (loaded,) = documents
        assert type(loaded) is type(as_json)
        if isinstance(as_json, dict):  # the same document (times may differ by a second between runs)
            assert loaded.keys() == as_json.keys()
    tsv = invoke([*args, "-o", "tsv"])
    assert tsv.exit_code in (0, 1, 2)
    assert "{" not in tsv.stdout.splitlines()[0] if tsv.stdout else True
    queried = invoke([*args, "-o", "json", "--query", "type(@)"])
    assert json.loads(queried.stdout) == ("array" if isinstance(as_json, list) else "object")
    none = invoke([*args, "-o", "none"])
    assert none.stdout == ""


def test_resume_of_an_unknown_plan_is_an_error_document(files: dict[str, Path]) -> None:
    result = invoke(["resume", "no-such-plan", "--checkpoint", str(files["root"] / "cp.json"), "-o", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "NotFound" and error["exit_code"] == 2
    assert "status" in error["remediation"]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_usage_errors_exit_4_with_one_line(command: tuple[str, ...]) -> None:
    result = invoke([*command, "--no-such-option"])
    assert result.exit_code == 4
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("ERROR: No such option: --no-such-option"), result.stderr
    assert len(lines) <= 2
    as_json = invoke([*command, "--no-such-option", "-o", "json"])
    assert as_json.exit_code == 4
    assert json.loads(as_json.stderr)["error"]["exit_code"] == 4


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_on_every_command(command: tuple[str, ...]) -> None:
    for flag in ("-h", "--help"):
        result = invoke([*command, flag])
        assert result.exit_code == 0
        assert "Usage:" in result.stdout


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in ERROR_ONLY], ids=" ".join)
def test_debug_is_accepted_after_the_subcommand(command: tuple[str, ...], files: dict[str, Path]) -> None:
    args = good_invocation(command, files)
    before = invoke(["--debug", *args, "-o", "json"])
    after = runner.invoke(app, [*args, "--debug", "-o", "json"])
    assert after.exit_code == before.exit_code
    assert json.loads(after.stdout) is not None


def test_debug_shows_a_traceback_only_when_asked() -> None:
    plain = runner.invoke(app, ["patch", "--simulate", "healthy", "--time-budget", "5x"])
    debug = runner.invoke(app, ["patch", "--simulate", "healthy", "--time-budget", "5x", "--debug"])
    assert plain.exit_code == debug.exit_code == 4
    assert "Traceback" not in plain.output
    assert "Traceback" in debug.stderr


def test_exit_codes_follow_the_readme() -> None:
    assert exit_code_for(E.InvalidInput("x")) == 4
    assert exit_code_for(E.UnsafeOperation("x")) == 5
    assert exit_code_for(E.DrainBlocked("x")) == 5
    assert exit_code_for(E.BudgetExhausted("x")) == 3
    assert exit_code_for(E.NotFound("x")) == 2
    assert exit_code_for(E.AzureOperationFailed("x")) == 2


def test_apply_without_yes_off_a_terminal_is_refused() -> None:
    result = invoke(["patch", "--simulate", "healthy", "-k", "1.36.3", "--apply"])
    assert result.exit_code == 4
    assert "--yes" in result.stderr


def test_a_run_paused_by_its_budget_exits_3_and_says_how_to_resume(tmp_path: Path) -> None:
    checkpoint = str(tmp_path / "cp.json")
    args = ["patch", "--simulate", "healthy", "-k", "1.36.3", "--apply", "--yes", "--checkpoint", checkpoint]
    result = invoke([*args, "--time-budget", "1s", "-o", "json"])
    assert result.exit_code == 3, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "paused"
    assert f"aks-windows-ops resume {document['plan_id']} --checkpoint {checkpoint}" in result.stderr


def test_an_apply_prints_each_fact_once() -> None:
    result = invoke(["patch", "--simulate", "healthy", "-k", "1.36.3", "--apply", "--yes"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("succeeded:") == 1
    assert "This was the plan only" not in result.output


def test_plan_only_json_is_pure_and_the_note_goes_to_stderr() -> None:
    result = invoke(["patch", "--simulate", "healthy", "-k", "1.36.3", "-o", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["procedure"] == "patch"
    assert "This was the plan only" in result.stderr


def test_no_wait_starts_and_says_how_to_follow(tmp_path: Path) -> None:
    checkpoint = str(tmp_path / "cp.json")
    args = ["patch", "--simulate", "healthy", "-k", "1.36.3", "--apply", "--yes", "--no-wait"]
    result = invoke([*args, "--checkpoint", checkpoint, "-o", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "started"
    assert document["resume"] == f"aks-windows-ops resume {document['plan_id']} --checkpoint {checkpoint}"
    status = json.loads(invoke(["status", "--checkpoint", checkpoint, "-o", "json"]).stdout)
    (plan,) = status
    assert plan["plan_id"] == document["plan_id"]
    assert plan["done"] < plan["total"]
    assert "status --checkpoint" in result.stderr
    # Without --checkpoint a rehearsal keeps its progress with its twin: it can be followed and resumed too.
    rehearsal = invoke([*args, "--simulate-reset", "-o", "json"])
    assert rehearsal.exit_code == 0, rehearsal.output
    started = json.loads(rehearsal.stdout)
    assert started["status"] == "started"
    assert started["resume"] == f"aks-windows-ops resume {started['plan_id']}"
    listed = json.loads(invoke(["status", "-o", "json"]).stdout)
    (row,) = [r for r in listed if r["plan_id"] == started["plan_id"]]
    assert row["mode"] == "twin:healthy" and row["done"] < row["total"]
    resumed = invoke(["resume", started["plan_id"], "-o", "json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["status"] == "succeeded"


def test_version_and_only_show_errors() -> None:
    from aks_windows_ops import __version__

    version = invoke(["--version"])
    assert version.exit_code == 0 and __version__ in version.stdout
    quiet = invoke(["patch", "--simulate", "healthy", "-k", "1.36.3", "--only-show-errors"])
    assert quiet.exit_code == 0
    assert quiet.stderr == ""


def test_the_command_reference_page_is_current() -> None:
    from aks_windows_ops.cli.reference import render_reference

    page = Path(__file__).resolve().parents[1] / "docs" / "cli-commands.md"
    assert page.read_text(encoding="utf-8") == render_reference(), (
        "docs/cli-commands.md is stale: run python -m aks_windows_ops.cli.reference"
    )
    for command in COMMANDS:
        assert f"## `aks-windows-ops {' '.join(command)}`" in page.read_text(encoding="utf-8")
