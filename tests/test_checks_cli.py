"""The ``preflight`` and ``lint`` commands: output formats, exit codes, workloads read through Kubernetes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aks_windows_ops.cli import app
from aks_windows_ops.testing.scenario import read_scenario

runner = CliRunner()
IMAGE_2019 = "mcr.microsoft.com/windows/servercore:ltsc2019"
IMAGE_2022 = "mcr.microsoft.com/windows/servercore:ltsc2022"


def windows_deployment(name: str, image: str = IMAGE_2022, **pod: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "nodeSelector": {"kubernetes.io/os": "windows"},
        "tolerations": [{"key": "os", "operator": "Exists", "effect": "NoSchedule"}],
        "containers": [{"name": "app", "image": image}],
    }
    spec.update(pod)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }


def sticky_service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "web"},
        "spec": {
            "type": "LoadBalancer",
            "sessionAffinity": "ClientIP",
            "selector": {"app": name},
            "ports": [{"port": 80}],
        },
    }


def _write(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    return path


# --- preflight ------------------------------------------------------------------------------------------------


#: Lifecycle dates are graded against a day; these tests are about output formats, so they fix a day when
#: neither Windows Server 2019 nor the scenarios' Kubernetes minors were past their end yet.
EARLY = ["--as-of", "2025-01-01"]


def test_preflight_json_matches_the_table_and_the_exit_code() -> None:
    as_json = runner.invoke(app, ["preflight", "--simulate", "ws2019-retiring", *EARLY, "-o", "json"])
    assert as_json.exit_code == 1, as_json.output
    data = json.loads(as_json.stdout)
    assert data["exit_code"] == 1 and data["counts"]["error"] == 0 and data["counts"]["warning"] >= 1
    assert "workloads_read" not in data
    table = runner.invoke(app, ["preflight", "--simulate", "ws2019-retiring", *EARLY])
    assert table.exit_code == 1
    for finding in data["findings"]:
        assert finding["code"] in table.stdout


def test_preflight_reads_workloads_through_kubernetes(tmp_path: Path) -> None:
    scenario = read_scenario("healthy")
    cluster = scenario["subscriptions"][0]["resource_groups"][0]["clusters"][0]
    cluster["workloads"] = [windows_deployment("shop"), sticky_service("shop")]
    path = tmp_path / "sticky.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    without = runner.invoke(app, ["preflight", "--simulate", str(path), *EARLY, "-o", "json"])
    assert without.exit_code == 0, without.output
    result = runner.invoke(
        app, ["preflight", "--simulate", str(path), "--with-workloads", *EARLY, "-o", "json"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    codes = {f["code"] for f in data["findings"]}
    assert {"SESSION_AFFINITY_NEEDS_LOCAL_POLICY", "SESSION_AFFINITY_NEEDS_ANTI_AFFINITY"} <= codes
    # The Deployment, its two pods' controller objects aside, and the Service were read from the API server.
    assert data["workloads_read"] >= 2
    scoped = runner.invoke(
        app,
        [
            "preflight",
            "--simulate",
            str(path),
            "--with-workloads",
            "--namespace",
            "other",
            *EARLY,
            "-o",
            "json",
        ],
    )
    assert json.loads(scoped.stdout)["workloads_read"] == 0 and scoped.exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["preflight"], "--resource-group is required"),
        (["preflight", "--simulate", "healthy", "-o", "xml"], "'xml' is not one of"),
        (["preflight", "--simulate", "healthy", "-g", "rg-nope"], "no cluster matching"),
    ],
)
def test_preflight_refuses_bad_input(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 4
    assert message in result.output


# --- lint -----------------------------------------------------------------------------------------------------


def test_lint_clean_files_exit_zero(tmp_path: Path) -> None:
    path = _write(tmp_path / "ok.yaml", [windows_deployment("ok")])
    result = runner.invoke(app, ["lint", str(path)])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.stdout


def test_lint_warnings_exit_one_and_list_every_finding(tmp_path: Path) -> None:
    linuxish = windows_deployment(
        "legacy", securityContext={"runAsUser": 1000}, volumes=[{"name": "data", "emptyDir": {}}]
    )
    linuxish["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/mnt/data"}
    ]
    path = _write(tmp_path / "warn.yaml", [linuxish])
    result = runner.invoke(app, ["lint", str(path), "-o", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    codes = {f["code"] for f in data["findings"]}
    assert "LINUX_MOUNT_PATH_ON_WINDOWS" in codes and data["counts"]["error"] == 0
    assert data["manifests"] == 1 and data["exit_code"] == 1


def test_lint_errors_exit_two(tmp_path: Path) -> None:
    pinned = windows_deployment("pinned", IMAGE_2019)
    pinned["spec"]["template"]["spec"]["nodeSelector"]["node.kubernetes.io/windows-build"] = "10.0.20348"
    path = _write(tmp_path / "err.yaml", [pinned])
    result = runner.invoke(app, ["lint", str(path)])
    assert result.exit_code == 2, result.output
    assert "WINDOWS_IMAGE_BUILD_MISMATCH" in result.stdout


def test_lint_uses_the_cluster_facts_given(tmp_path: Path) -> None:
    directory = tmp_path / "manifests"
    directory.mkdir()
    _write(directory / "a.yaml", [windows_deployment("shop", IMAGE_2019)])
    _write(directory / "b.yaml", [sticky_service("shop")])
    plain = runner.invoke(app, ["lint", str(directory), "-o", "json"])
    facts = runner.invoke(
        app,
        [
            "lint",
            str(directory),
            "--windows-build",
            "10.0.20348",
            "--kubernetes-version",
            "1.19.4",
            "-o",
            "json",
        ],
    )
    plain_codes = {f["code"] for f in json.loads(plain.stdout)["findings"]}
    fact_codes = {f["code"] for f in json.loads(facts.stdout)["findings"]}
    assert "WINDOWS_IMAGE_BUILD_MISMATCH" not in plain_codes
    assert {"WINDOWS_IMAGE_BUILD_MISMATCH", "SESSION_AFFINITY_VERSION_TOO_LOW"} <= fact_codes
    assert facts.exit_code == 2


def test_lint_refuses_missing_and_broken_files(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["lint", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 4 and "no such file" in missing.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n", encoding="utf-8")
    result = runner.invoke(app, ["lint", str(broken)])
    assert result.exit_code == 4 and "not valid YAML" in result.output
