"""Habits an ``az`` user brings: the subscription of ``az login``, 80-column tables, Ctrl-C and SIGTERM, secrets."""

from __future__ import annotations

import io
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aks_windows_ops import errors as E
from aks_windows_ops.cli import app
from aks_windows_ops.cli.app import default_subscription

runner = CliRunner()

SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"


def write_profile(directory: Path) -> None:
    profile = {
        "installationId": "x",
        "subscriptions": [
            {"id": SUB_A, "name": "Dev", "isDefault": False, "state": "Enabled"},
            {"id": SUB_B, "name": "Production", "isDefault": True, "state": "Enabled"},
        ],
    }
    # az writes the file with a byte order mark.
    (directory / "azureProfile.json").write_text("\ufeff" + json.dumps(profile), encoding="utf-8")


def test_subscription_comes_from_the_az_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile(tmp_path)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    assert default_subscription(None) == SUB_B
    assert default_subscription("dev") == SUB_A
    assert default_subscription(SUB_A) == SUB_A
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUB_A)
    assert default_subscription(None) == SUB_A
    with pytest.raises(E.InvalidInput, match="--subscription 'Nope'"):
        default_subscription("Nope")


def test_no_subscription_anywhere_is_invalid_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    with pytest.raises(E.InvalidInput, match="az account set"):
        default_subscription(None)
    result = runner.invoke(app, ["show", "-g", "rg", "-n", "aks"])
    assert result.exit_code == 4
    assert "Traceback" not in result.output


@pytest.mark.parametrize("width", [80, 200])
def test_the_pool_table_fits_the_terminal(width: int) -> None:
    from rich.console import Console

    from aks_windows_ops.azure.facts import read_snapshot
    from aks_windows_ops.cli.app import resolve_target
    from aks_windows_ops.cli.render import snapshot_table

    target = resolve_target(resource_group=None, name=None, subscription=None, simulate="ws2019-retiring")
    snap = read_snapshot(target.clients, target.resource_group, target.name)
    buffer = io.StringIO()
    Console(file=buffer, width=width).print(snapshot_table(snap, width))
    lines = buffer.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    text = buffer.getvalue()
    for pool in snap.pools:
        # Names, versions and node counts stay whole on one line.
        assert any(pool.name in line and str(pool.count) in line for line in lines), pool.name
    assert ("latest image" in text) is (width >= 140)
    assert "license" in text


@pytest.mark.parametrize("width", [80, 200])
def test_show_and_preflight_render_at_the_width_given(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    for args in (
        ["show", "--simulate", "legacy-2019"],
        ["preflight", "--simulate", "legacy-2019"],
        ["audit", "--simulate", "legacy-2019"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1, 2), result.output
        assert max(len(line) for line in result.stdout.splitlines()) <= width
        # Each cluster's name stays readable on one line.
        assert "aks-erp" in result.stdout


def _signal_on_first_wait(monkeypatch: pytest.MonkeyPatch, signum: int) -> None:
    """Deliver a real signal to this process once the first change is under way."""
    import sys

    app_module = sys.modules["aks_windows_ops.cli.app"]  # the package's "app" attribute is the Typer app
    original = app_module._observer

    def observer(output: Any, no_wait: bool, state: dict[str, Any]) -> Any:
        observe, progress = original(output, no_wait, state)

        def wrapped(event: Any) -> None:
            observe(event)
            if event.kind.value == "waiting" and not state.get("signalled"):
                state["signalled"] = True
                os.kill(os.getpid(), signum)

        return wrapped, progress

    monkeypatch.setattr(app_module, "_observer", observer)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_apply_says_how_to_resume(
    signum: int, code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signal_on_first_wait(monkeypatch, signum)
    handler_before = signal.getsignal(signal.SIGTERM)
    checkpoint = str(tmp_path / "cp.json")
    args = ["patch", "--simulate", "healthy", "-k", "1.36.3", "--apply", "--yes", "--checkpoint", checkpoint]
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    status = json.loads(runner.invoke(app, ["status", "--checkpoint", checkpoint, "-o", "json"]).stdout)
    (plan,) = status
    assert plan["done"] < plan["total"]
    assert f"aks-windows-ops resume {plan['plan_id']} --checkpoint {checkpoint}" in result.stderr
    assert result.stderr.count("aks-windows-ops resume") == 1  # said once
    assert f"{plan['done']} of {plan['total']} steps done" in result.stderr
    assert signal.getsignal(signal.SIGTERM) == handler_before  # the handler was put back


def test_secret_values_are_never_printed_back(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "S3cret-Value!x9"
    for args in (
        ["rotate-password", "--simulate", "healthy", "--password-env", secret],
        ["rotate-password", "--simulate", "healthy", f"--password-env={secret}"],
        ["rotate-password", "--simulate", "healthy", secret],
        ["rotate-password", "--simulate", "healthy", "--password-fd", secret],
        ["rotate-password", "--simulate", "healthy", "--password-env", "PW", secret, "-o", "json"],
        ["--debug", "rotate-password", "--simulate", "healthy", "--password-env", secret],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 4, (args, result.output)
        assert secret not in result.output, args
        assert "Traceback" not in result.stdout


def test_key_vault_under_simulate_never_reaches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a rehearsal opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    result = runner.invoke(
        app,
        [
            "rotate-password",
            "--simulate",
            "healthy",
            "--key-vault-secret",
            "https://v.vault.azure.net/secrets/pw",
        ],
    )
    assert result.exit_code == 4
    assert "--key-vault-secret" in result.stderr and "--simulate" in result.stderr


def test_password_fd_that_is_not_open_is_one_line() -> None:
    fd = 987
    with pytest.raises(OSError):
        os.fstat(fd)
    result = runner.invoke(app, ["rotate-password", "--simulate", "healthy", "--password-fd", str(fd)])
    assert result.exit_code == 4
    assert result.stderr.startswith(f"ERROR: --password-fd {fd}: file descriptor {fd} is not open")


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"plans": 5}'])
def test_a_corrupt_checkpoint_file_is_invalid_input(content: str, tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    path.write_text(content, encoding="utf-8")
    for args in (
        ["patch", "--simulate", "healthy", "-k", "1.36.3", "--apply", "--yes", "--checkpoint", str(path)],
        ["status", "--checkpoint", str(path)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 4, result.output
        assert result.stdout == ""
        assert result.stderr.startswith("ERROR: ") and "Traceback" not in result.stderr


@pytest.mark.parametrize(("answer", "applied"), [("n\n", False), ("y\n", True)])
def test_apply_on_a_terminal_asks_first(answer: str, applied: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    real_stdin = sys.stdin

    def invoke() -> Any:
        # CliRunner replaces sys.stdin with the input; make that stream say it is a terminal.
        original = runner.isolation

        def isolation(*args: Any, **kwargs: Any) -> Any:
            manager = original(*args, **kwargs)

            class Wrapped:
                def __enter__(self) -> Any:
                    streams = manager.__enter__()
                    sys.stdin.isatty = lambda: True  # type: ignore[method-assign]
                    return streams

                def __exit__(self, *exc: Any) -> Any:
                    return manager.__exit__(*exc)

            return Wrapped()

        monkeypatch.setattr(runner, "isolation", isolation)
        return runner.invoke(
            app, ["patch", "--simulate", "healthy", "-k", "1.36.3", "--apply", "-o", "json"], input=answer
        )

    result = invoke()
    assert sys.stdin is real_stdin
    assert result.exit_code == 0, result.output
    assert "Apply this plan to" in result.stderr
    # The test runner echoes the typed answer to standard output, as a terminal would on screen.
    echoed, document = result.stdout.split("\n", 1)
    assert echoed.strip() == answer.strip()
    if applied:
        assert json.loads(document)["status"] == "succeeded"
    else:
        assert document == ""
        assert "nothing was changed" in result.stderr


def test_progress_lines_only_with_verbose_off_a_terminal() -> None:
    args = ["patch", "--simulate", "healthy", "-k", "1.36.3", "--apply", "--yes", "-o", "json"]
    quiet = runner.invoke(app, args)
    verbose = runner.invoke(app, [*args, "--verbose", "--simulate-reset"])  # the same change, from scratch
    assert quiet.exit_code == verbose.exit_code == 0
    assert json.loads(quiet.stdout)["status"] == json.loads(verbose.stdout)["status"] == "succeeded"
    assert "step" not in quiet.stderr
    assert len(verbose.stderr.splitlines()) > 5


def test_plans_show_pod_counts_and_names_and_json_has_the_detail() -> None:
    from aks_windows_ops.cli.render import readable_params

    args = ["migrate", "--simulate", "ws2019-retiring", "--pool", "win19", "--reason", "os-upgrade"]
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    pods_line = next(line for line in table.stdout.splitlines() if line.strip().startswith("pods:"))
    assert re.match(r"\s+pods: \d+: shop/", pods_line), pods_line
    for internal in ("metadata", "ownerReferences", "uid", "{", "_"):
        assert internal not in pods_line
    assert "timeout per node: 10 min" in table.stdout
    detail = json.loads(runner.invoke(app, [*args, "-o", "json"]).stdout)
    pods = next(s["params"]["pods"] for s in detail["steps"] if "pods" in s["params"])
    assert pods[0]["metadata"]["name"]
    assert readable_params({"osSKU": "Windows2022", "max_pods": 30, "vnetSubnetID": "x"}) == [
        "os SKU: Windows2022",
        "max pods: 30",
        "vnet subnet ID: x",
    ]


def test_shell_completion_offers_commands_and_choices() -> None:
    def complete(words: str) -> list[str]:
        env = {
            "_AKS_WINDOWS_OPS_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
        result = runner.invoke(app, [], env=env, prog_name="aks-windows-ops")
        assert result.exit_code == 0, result.output
        return result.stdout.split()

    assert "patch" in complete("aks-windows-ops pa")
    assert set(complete("aks-windows-ops show -o ")) >= {"json", "jsonc", "yaml", "table", "tsv", "none"}
    assert "--cluster-name" in complete("aks-windows-ops pool add --clu")


def test_a_missing_credential_says_to_sign_in(capsys: pytest.CaptureFixture[str]) -> None:
    from azure.identity import CredentialUnavailableError

    from aks_windows_ops.cli.output import SESSION
    from aks_windows_ops.cli.runtime import report_error

    SESSION.reset()
    code = report_error(CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token"))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("ERROR: cannot sign in to Azure")
    assert "az login" in err and "ARM error code" not in err
