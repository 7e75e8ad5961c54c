"""Password rotation and Azure Hybrid Benefit: end to end on the simulator, crash-resume, and no leak."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aks_windows_ops import errors as E
from aks_windows_ops import resume
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.cli import app
from aks_windows_ops.runbooks.ahub import (
    apply_ahub,
    plan_ahub_for_nodes,
    plan_disable_ahub,
    plan_enable_ahub,
    verify_ahub,
)
from aks_windows_ops.runbooks.checkpoints import JsonFileCheckpointStore, MemoryCheckpointStore
from aks_windows_ops.runbooks.password import (
    MARKER_TAG,
    apply_password_rotation,
    plan_password_rotation,
)
from aks_windows_ops.runbooks.runner import RunStatus
from aks_windows_ops.secrets import Secret
from aks_windows_ops.testing import SimulatedCrash
from aks_windows_ops.testing.fake_azure import FakeAzure

SUB, RG, NAME = "00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps"
CANARY = "Canary-Leak-Pa55w0rd!zq"


def _clients(fake: FakeAzure, **kw: object) -> AzureClients:
    return AzureClients.for_simulator(fake, SUB, polling_interval=60, **kw)  # type: ignore[arg-type]


def test_rotation_restarts_only_windows_pools_and_verifies() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    plan, ctx = plan_password_rotation(_clients(fake), RG, NAME, new_password=Secret(CANARY))
    assert fake.writes() == []
    assert plan.steps[0].restarts_nodes and "win19 (3 nodes)" in plan.steps[0].title
    assert [n.resource.rsplit("/", 1)[-1] for n in plan.noops] == ["system"]
    result = apply_password_rotation(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    put = fake.requests(method="PUT")
    assert len(put) == 1 and result.sent == ("windows-password",)
    profile = put[0].body["properties"]["windowsProfile"]
    # What the library sent: the password field, the username and license type kept as read.
    assert "adminPassword" in profile and profile["adminUsername"] == "winadmin"
    assert profile["licenseType"] == "Windows_Server"
    # What Azure now holds: the password was applied, and the cluster carries this write's marker tag.
    assert fake.clusters[(SUB, RG, NAME)].admin_password_set
    tags = _clients(fake).containerservice.managed_clusters.get(RG, NAME).tags or {}
    assert tags[MARKER_TAG] == f"{plan.id}/windows-password"
    windows = [p for p in fake.clusters[(SUB, RG, NAME)].pools.values() if p.get("osType") == "Windows"]
    assert windows and all(p["provisioningState"] == "Succeeded" for p in windows)
    assert (
        len([e for e in fake.journal if e.kind != "poll"]) <= 4
    )  # GET, PUT, final GET (+ the tag read above)


@pytest.mark.parametrize(
    "password",
    ["short1A!", "alllowercaseletters", "P@ssw0rd", "Contains-winadmin-1234", "x" * 124],
)
def test_weak_passwords_refused_before_any_write(password: str) -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    with pytest.raises(E.InvalidInput) as info:
        plan_password_rotation(_clients(fake), RG, NAME, new_password=Secret(password))
    assert password not in str(info.value)
    assert fake.writes() == []


def test_plain_string_and_missing_windows_profile_refused() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    with pytest.raises(E.InvalidInput):
        plan_password_rotation(_clients(fake), RG, NAME, new_password=CANARY)  # type: ignore[arg-type]
    fake.clusters[(SUB, RG, NAME)].props.pop("windowsProfile")
    with pytest.raises(E.InvalidInput, match="no Windows profile"):
        plan_password_rotation(_clients(fake), RG, NAME, new_password=Secret(CANARY))
    assert fake.writes() == []


@pytest.mark.parametrize("kind", ["crash_before", "crash_after"])
def test_rotation_resumes_after_a_crash_anywhere(tmp_path: Path, kind: str) -> None:
    reference = FakeAzure.from_scenario("ws2019-retiring")
    p0, c0 = plan_password_rotation(_clients(reference), RG, NAME, new_password=Secret(CANARY))
    apply_password_rotation(p0, c0, checkpoints=MemoryCheckpointStore())
    total = len(reference.journal)
    for k in range(total):
        fake = FakeAzure.from_scenario("ws2019-retiring")
        store = JsonFileCheckpointStore(tmp_path / f"{kind}-{k}.json")
        plan, ctx = plan_password_rotation(_clients(fake), RG, NAME, new_password=Secret(CANARY))
        fake.add_fault(kind, skip=k, times=1)
        try:
            assert apply_password_rotation(plan, ctx, checkpoints=store).ok
        except SimulatedCrash:
            fake.clear_faults()
            clients = _clients(fake)
            result = resume(plan.id, clients, checkpoints=store, secret=Secret(CANARY))
            assert result.ok, (k, result.message)
        puts = [e for e in fake.requests(method="PUT") if e.status]
        assert len(puts) == 1, (kind, k)
        assert fake.cluster_state(SUB, RG, NAME)["properties"]["provisioningState"] == "Succeeded"
        assert (
            CANARY not in (tmp_path / f"{kind}-{k}.json").read_text()
            if (tmp_path / f"{kind}-{k}.json").exists()
            else True
        )


def test_no_leak_anywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("aks_windows_ops", "azure", "azure.core.pipeline.policies._universal"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    seen: list[str] = []
    checkpoint = tmp_path / "checkpoints.json"

    # Python API, with azure-core's HTTP body logging on
    fake = FakeAzure.from_scenario("ws2019-retiring")
    clients = _clients(fake, logging_enable=True)
    secret = Secret(CANARY)
    plan, ctx = plan_password_rotation(clients, RG, NAME, new_password=secret)
    seen += [
        plan.to_text(),
        plan.to_markdown(),
        plan._repr_html_(),
        plan.to_json(),
        repr(plan),
        repr(ctx),
        repr(secret),
        str(secret),
        f"{secret}",
    ]
    result = apply_password_rotation(plan, ctx, checkpoints=JsonFileCheckpointStore(checkpoint))
    assert result.ok
    seen += [json.dumps(result.to_dict()), repr(result)]

    # a failure in the middle of the operation
    failing = FakeAzure.from_scenario("ws2019-retiring")
    failing.add_fault(
        "fail_operation", method="PUT", code="InternalOperationError", message="Reimage failed on node 2"
    )
    plan2, ctx2 = plan_password_rotation(
        _clients(failing, logging_enable=True), RG, NAME, new_password=Secret(CANARY)
    )
    failed = apply_password_rotation(
        plan2, ctx2, checkpoints=JsonFileCheckpointStore(tmp_path / "failed.json")
    )
    assert failed.status is RunStatus.FAILED and failed.error is not None
    seen += [
        str(failed.error),
        repr(failed.error),
        json.dumps(failed.to_dict()),
        json.dumps(failed.error.to_dict()),
    ]

    # the CLI, applying and failing
    monkeypatch.setenv("NEW_WIN_PW", CANARY)
    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "rotate-password",
            "--simulate",
            "ws2019-retiring",
            "--password-env",
            "NEW_WIN_PW",
            "--apply",
            "--yes",
            "--checkpoint",
            str(checkpoint),
        ],
    )
    assert ok.exit_code == 0, ok.output
    plan_json = runner.invoke(
        app,
        ["rotate-password", "--simulate", "ws2019-retiring", "--password-env", "NEW_WIN_PW", "-o", "json"],
    )
    bad = runner.invoke(
        app,
        [
            "--debug",
            "rotate-password",
            "--simulate",
            "ws2019-retiring",
            "--password-env",
            "NEW_WIN_PW",
            "--apply",
        ],
    )
    assert bad.exit_code == 4
    seen += [ok.output, plan_json.output, bad.output]

    seen += [checkpoint.read_text(), (tmp_path / "failed.json").read_text()]
    seen += [caplog.text] + [r.getMessage() for r in caplog.records]
    for text in seen:
        assert CANARY not in text
    # the HTTP trace really logged request bodies, masked: this test could fail
    assert "REDACTED" in caplog.text
    assert "adminPassword" in caplog.text


def test_ahub_enable_verify_and_drift() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    clients = _clients(fake)
    report = verify_ahub(clients, RG, NAME)
    assert not report.ok
    assert [(r.scale_set.startswith("aks-win19"), r.instance) for r in report.drift] == [(True, "2")]
    assert (
        report.to_dict()["drift"] == 1 and "DRIFT" in report.to_text() and "<table>" in report._repr_html_()
    )
    plan, ctx = plan_enable_ahub(clients, RG, NAME)
    # the cluster already says Windows_Server: only the drifting instance is fixed, no reimage
    assert [s.kind for s in plan.steps] == ["license_instance", "verify_licenses"]
    assert not plan.restarts_nodes
    assert apply_ahub(plan, ctx, checkpoints=MemoryCheckpointStore()).ok
    assert verify_ahub(clients, RG, NAME).ok
    again, _ = plan_enable_ahub(clients, RG, NAME)
    assert again.steps == () and "already" in again.noops[0].reason
    off, ctx_off = plan_disable_ahub(clients, RG, NAME)
    assert off.steps[0].kind == "update_windows_profile" and "reimages" in off.steps[0].title
    assert apply_ahub(off, ctx_off, checkpoints=MemoryCheckpointStore()).ok
    after = verify_ahub(clients, RG, NAME)
    assert after.cluster_license == "None" and after.ok
    assert all(r.license_type is None for r in after.rows)


def test_ahub_per_node_and_bad_node_names() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    clients = _clients(fake)
    with pytest.raises(E.InvalidInput):
        plan_ahub_for_nodes(clients, RG, NAME, instances=["win19/9", "nosuch/0"])
    assert fake.writes() == []
    plan, ctx = plan_ahub_for_nodes(clients, RG, NAME, instances=["win19/2"])
    assert any("re-apply" in w for w in plan.warnings)
    assert apply_ahub(plan, ctx, checkpoints=MemoryCheckpointStore()).ok
    assert verify_ahub(clients, RG, NAME).ok
    assert len(fake.writes()) == 1


def test_cli_ahub_verify_json_reports_drift() -> None:
    result = CliRunner().invoke(app, ["ahub", "verify", "--simulate", "ws2019-retiring", "-o", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["drift"] == 1 and data["cluster_license"] == "Windows_Server"


def test_ahub_enable_and_verify_cost_no_more_requests_than_the_cli() -> None:
    fake = FakeAzure.from_scenario("legacy-2019")
    clients = AzureClients.for_simulator(fake, "00000000-0000-0000-0000-000000000003", polling_interval=60)
    plan, ctx = plan_enable_ahub(clients, "rg-erp", "aks-erp")
    assert apply_ahub(plan, ctx, checkpoints=MemoryCheckpointStore()).ok
    # az aks update --enable-ahub (GET, PUT, final GET) + az vmss list + az vmss show per Windows pool
    assert len([e for e in fake.journal if e.kind != "poll"]) <= 3 + 1 + 1
    assert verify_ahub(clients, "rg-erp", "aks-erp").ok


def test_rotation_sent_before_a_crash_is_not_sent_again_after_it_finished(tmp_path: Path) -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    store = JsonFileCheckpointStore(tmp_path / "sent.json")
    plan, ctx = plan_password_rotation(_clients(fake), RG, NAME, new_password=Secret(CANARY))
    fake.add_fault("crash_after", method="PUT")
    with pytest.raises(SimulatedCrash):
        apply_password_rotation(plan, ctx, checkpoints=store)
    fake.clear_faults()
    fake.settle()  # the rotation finishes while nobody watches
    clients = _clients(fake)
    result = resume(plan.id, clients, checkpoints=store, secret=Secret(CANARY))
    assert result.ok, result.message
    assert len([e for e in fake.requests(method="PUT") if e.status]) == 1
    assert "already done" in result.records[0].message
