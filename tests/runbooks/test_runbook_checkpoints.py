from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from runbook_fakes import make_plan

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.runbooks.checkpoints import (
    CHECKPOINTS_ENV,
    DEFAULT_BLOB_PREFIX,
    BlobCheckpointStore,
    CheckpointStore,
    JsonFileCheckpointStore,
    MemoryCheckpointStore,
    PlanStore,
    RecordState,
    SqliteCheckpointStore,
    StepRecord,
    checkpoint_store_from_url,
    default_checkpoint_path,
    default_checkpoint_url,
)
from aks_windows_ops.secrets import Secret

# Azurite's published development key; these tests only build clients and send no request.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;"
)


def record(step: str = "s1", **changes: Any) -> StepRecord:
    return StepRecord(plan_id="p-1", step_id=step, **changes)


def test_record_round_trip_and_shape() -> None:
    full = record(
        state=RecordState.IN_PROGRESS,
        attempts=2,
        started_at="2025-01-01T00:00:00+00:00",
        message="operation started",
        operation={"kind": "lro", "token": "abc", "extra": ("a", 1)},
    )
    data = full.to_dict()
    assert sorted(data) == sorted(
        ["plan_id", "step_id", "state", "attempts", "started_at", "finished_at", "message", "operation"]
    )
    assert data["state"] == "in_progress" and data["operation"] == {
        "kind": "lro",
        "token": "abc",
        "extra": ["a", 1],
    }
    assert StepRecord.from_dict(json.loads(json.dumps(data))) == full
    assert record(state="succeeded").state is RecordState.SUCCEEDED
    assert full.evolve(state=RecordState.SUCCEEDED, operation=None).operation is None
    with pytest.raises(InvalidInput):
        StepRecord.from_dict({"plan_id": "p"})
    with pytest.raises(InvalidInput):
        StepRecord.from_dict({"plan_id": "p", "step_id": "s", "state": "exploded"})


def test_record_refuses_a_secret_in_its_operation() -> None:
    with pytest.raises(InvalidInput, match="Secret") as caught:
        record(operation={"kind": "lro", "password": Secret("Never-Printed-123")})
    assert "Never-Printed-123" not in str(caught.value)


StoreFactory = Callable[[Path], Any]
STORES: dict[str, StoreFactory] = {
    "memory": lambda tmp: MemoryCheckpointStore(),
    "json": lambda tmp: JsonFileCheckpointStore(tmp / "sub" / "cp.json"),
    "sqlite": lambda tmp: SqliteCheckpointStore(tmp / "sub" / "cp.sqlite"),
}


@pytest.mark.parametrize("factory", STORES.values(), ids=STORES.keys())
def test_lease_contract(factory: StoreFactory, tmp_path: Path) -> None:
    from aks_windows_ops.errors import LeaseHeld
    from aks_windows_ops.runbooks.leases import LeaseHolder, LeaseStore

    store = factory(tmp_path)
    assert isinstance(store, LeaseStore)
    first, second = LeaseHolder(), LeaseHolder()
    store.acquire_lease("cluster:a", first)
    store.acquire_lease("cluster:a", first)  # renewing is taking it again
    store.acquire_lease("cluster:b", second)  # another cluster is free
    with pytest.raises(LeaseHeld) as caught:
        store.acquire_lease("cluster:a", second)
    assert (caught.value.holder, caught.value.host, caught.value.started_at) == (
        first.id,
        first.host,
        first.started_at,
    )
    assert caught.value.lease == "cluster:a" and "nothing was sent" in str(caught.value)
    assert (store.lease_holder("cluster:a") or {}).get("holder") == first.id
    store.release_lease("cluster:a", second)  # not the holder: nothing happens
    assert (store.lease_holder("cluster:a") or {}).get("holder") == first.id
    store.release_lease("cluster:a", first)
    assert store.lease_holder("cluster:a") is None
    store.acquire_lease("cluster:a", second)
    store.break_lease("cluster:a")
    store.acquire_lease("cluster:a", first)
    store.acquire_lease("cluster:c", first, seconds=-1)  # already expired: a dead holder's lease
    store.acquire_lease("cluster:c", second)


@pytest.mark.parametrize("factory", STORES.values(), ids=STORES.keys())
def test_store_contract(factory: StoreFactory, tmp_path: Path) -> None:
    store = factory(tmp_path)
    assert isinstance(store, CheckpointStore) and isinstance(store, PlanStore)
    assert store.load("p-1", "s1") is None and store.records("p-1") == [] and store.load_plan("x") is None
    store.save(record("s1"))
    store.save(record("s2", state=RecordState.IN_PROGRESS, operation={"kind": "lro", "token": "t"}))
    store.save(record("s1", state=RecordState.SUCCEEDED, attempts=1, message="ok"))
    store.save(StepRecord(plan_id="p-2", step_id="s1"))
    assert store.load("p-1", "s1") == record("s1", state=RecordState.SUCCEEDED, attempts=1, message="ok")
    assert sorted(r.step_id for r in store.records("p-1")) == ["s1", "s2"]
    loaded = store.load("p-1", "s2")
    assert loaded is not None and loaded.operation == {"kind": "lro", "token": "t"}
    plan = make_plan(2)
    store.save_plan(plan)
    assert store.load_plan(plan.id) == plan
    assert store.plan_ids() == sorted(["p-1", "p-2", plan.id])
    store.clear("p-1")
    assert store.records("p-1") == [] and store.load("p-2", "s1") is not None
    store.clear(plan.id)
    assert store.load_plan(plan.id) is None
    store.clear("never-existed")


def test_json_file_is_complete_json_after_every_save_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    store = JsonFileCheckpointStore(path)
    store.save_plan(make_plan(1))
    for attempt in range(20):
        store.save(record(f"s{attempt % 4}", attempts=attempt, message="x" * attempt))
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["format"] == 1 and data["plans"]["p-1"]["steps"][f"s{attempt % 4}"]["attempts"] == attempt
        assert sorted(os.listdir(tmp_path)) == ["cp.json", "cp.json.lock"]
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A second instance (another process) sees the same records.
    assert len(JsonFileCheckpointStore(path).records("p-1")) == 4


def test_json_file_survives_a_failed_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cp.json"
    store = JsonFileCheckpointStore(path)
    store.save(record("s1", message="before"))
    before = path.read_bytes()

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        store.save(record("s1", message="after"))
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["cp.json", "cp.json.lock"]
    loaded = store.load("p-1", "s1")
    assert loaded is not None and loaded.message == "before"


def test_json_file_refuses_a_corrupt_or_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    path.write_text('{"plans": {"p-1": ')
    with pytest.raises(InvalidInput, match="not valid JSON"):
        JsonFileCheckpointStore(path).load("p-1", "s1")
    path.write_text("[1, 2]")
    with pytest.raises(InvalidInput, match="does not hold"):
        JsonFileCheckpointStore(path).records("p-1")
    path.write_text('{"format": 7, "plans": {}}')
    with pytest.raises(InvalidInput, match="format"):
        JsonFileCheckpointStore(path).records("p-1")


def test_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CHECKPOINTS_ENV, raising=False)
    monkeypatch.setenv("AKS_WINDOWS_OPS_STATE_DIR", str(tmp_path / "state"))
    assert default_checkpoint_path() == tmp_path / "state" / "checkpoints.sqlite"
    assert default_checkpoint_url() == str(tmp_path / "state" / "checkpoints.sqlite")
    store = checkpoint_store_from_url(None)
    assert isinstance(store, SqliteCheckpointStore) and store.path == default_checkpoint_path()
    for url in (str(tmp_path / "x.db"), f"sqlite://{tmp_path}/y.sqlite", str(tmp_path / "z.sqlite3")):
        assert isinstance(checkpoint_store_from_url(url), SqliteCheckpointStore), url
    monkeypatch.setenv(CHECKPOINTS_ENV, "memory:")
    assert isinstance(checkpoint_store_from_url(""), MemoryCheckpointStore)


def test_store_from_url_paths_and_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    cases = {
        str(tmp_path / "a.json"): tmp_path / "a.json",
        "~/b.json": tmp_path / "b.json",
        f"file://{tmp_path}/c.json": tmp_path / "c.json",
        "relative/d.json": Path("relative/d.json"),
        "C:\\ops\\cp.json": Path("C:\\ops\\cp.json"),
    }
    for url, expected in cases.items():
        store = checkpoint_store_from_url(url)
        assert isinstance(store, JsonFileCheckpointStore) and store.path == expected, url
    assert isinstance(checkpoint_store_from_url(tmp_path / "p.json"), JsonFileCheckpointStore)
    assert isinstance(checkpoint_store_from_url("memory:"), MemoryCheckpointStore)
    with pytest.raises(InvalidInput, match="scheme 'ftp'"):
        checkpoint_store_from_url("ftp://host/x")


def test_store_from_blob_urls_builds_clients_without_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("azure.storage.blob")
    monkeypatch.setenv("MY_CONN", CONNECTION_STRING)
    store = checkpoint_store_from_url("blob://checkpoints/team-a/prod?connection_string_env=MY_CONN")
    assert isinstance(store, BlobCheckpointStore)
    assert store.documents.container_name == "checkpoints" and store.documents.prefix == "team-a/prod/"
    assert ACCOUNT_KEY not in repr(store) and "devstoreaccount1" in repr(store)

    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", CONNECTION_STRING)
    default_prefix = checkpoint_store_from_url("blob://checkpoints")
    assert (
        isinstance(default_prefix, BlobCheckpointStore)
        and default_prefix.documents.prefix == DEFAULT_BLOB_PREFIX
    )
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    with pytest.raises(InvalidInput, match="AZURE_STORAGE_CONNECTION_STRING"):
        checkpoint_store_from_url("blob://checkpoints")
    with pytest.raises(InvalidInput, match="container"):
        checkpoint_store_from_url("blob:///x")

    class FakeCredential:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise AssertionError("no request may be sent")

    credential = FakeCredential()
    https = checkpoint_store_from_url("https://acct.blob.core.windows.net/cps/ops", credential=credential)
    assert isinstance(https, BlobCheckpointStore)
    client = https.documents.client
    assert (
        client.account_name == "acct" and client.container_name == "cps" and https.documents.prefix == "ops/"
    )

    sas = checkpoint_store_from_url("https://acct.blob.core.windows.net/cps?sv=2024&sig=SECRETSIG")
    assert isinstance(sas, BlobCheckpointStore) and "SECRETSIG" not in repr(sas)

    emulator = checkpoint_store_from_url(
        "https://127.0.0.1:10000/devstoreaccount1/cps/x/y", credential=credential
    )
    assert isinstance(emulator, BlobCheckpointStore)
    assert emulator.documents.client.container_name == "cps" and emulator.documents.prefix == "x/y/"
    with pytest.raises(InvalidInput):
        checkpoint_store_from_url("https://acct.blob.core.windows.net/")
    with pytest.raises(InvalidInput, match="HTTPS"):
        checkpoint_store_from_url("http://127.0.0.1:10000/devstoreaccount1/cps", credential=credential)


def test_importing_the_blob_module_does_not_import_the_sdk() -> None:
    code = (
        "import sys, aks_windows_ops.azure.blob_store, aks_windows_ops.runbooks.runner, "
        "aks_windows_ops.runbooks.events; "
        "print([m for m in sys.modules if m.startswith(('azure.storage', 'azure.core', 'rich'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "content",
    [
        "[]",
        '{"plans": []}',
        '{"plans": {"p": 5}}',
        '{"plans": {"p": {"plan": 5, "steps": {}}}}',
        '{"plans": {"p": {"plan": {"procedure": 5}, "steps": {}}}}',
        '{"plans": {"p": {"plan": null, "steps": {"s": 5}}}}',
        '{"plans": {"p": {"plan": null, "steps": {"s": {"plan_id": "p", "step_id": "s", "attempts": "x"}}}}}',
        '{"plans": {"p": {"plan": null, "steps": []}}}',
        '{"plans": {}, "leases": {"cluster:a": 5}}',
        '{"plans": {}, "format": 7}',
    ],
)
def test_a_wrong_shaped_json_store_is_refused_with_one_typed_error(tmp_path: Path, content: str) -> None:
    from aks_windows_ops.runbooks.leases import LeaseHolder

    path = tmp_path / "cp.json"
    path.write_text(content)
    store = JsonFileCheckpointStore(path)
    for call in (
        lambda: store.plan_ids(),
        lambda: store.load_plan("p"),
        lambda: store.records("p"),
        lambda: store.acquire_lease("cluster:a", LeaseHolder()),
    ):
        try:
            call()
        except InvalidInput as err:
            assert "\n" not in str(err)
        # a shape that this call never looks at may pass; any other exception fails the test


def test_a_file_that_is_not_sqlite_is_refused_with_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "cp.sqlite"
    path.write_text("this is not a database" * 100)
    with pytest.raises(InvalidInput, match=r"not an aks-windows-ops SQLite database|cannot be read"):
        SqliteCheckpointStore(path).plan_ids()
