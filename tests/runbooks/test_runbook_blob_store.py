from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from runbook_fakes import KIND, FakeCloud, SetValueAction, VirtualClock, make_plan

from aks_windows_ops.azure.blob_store import BlobJsonStore
from aks_windows_ops.errors import AzureOperationFailed, EtagMismatch, InvalidInput
from aks_windows_ops.runbooks.checkpoints import (
    BlobCheckpointStore,
    RecordState,
    StepRecord,
    checkpoint_store_from_url,
)
from aks_windows_ops.runbooks.runner import RunStatus, apply

pytestmark = pytest.mark.azurite


def blob_store(connection_string: str, container: str, **options: Any) -> BlobCheckpointStore:
    return BlobCheckpointStore(
        connection_string=connection_string, container=container, prefix="t/", **options
    )


def rec(step: str, plan: str = "p-1", **changes: Any) -> StepRecord:
    return StepRecord(plan_id=plan, step_id=step, **changes)


def test_contract_on_azurite_creates_the_container(azurite: str, container_name: str) -> None:
    store = blob_store(azurite, container_name)
    # Reading from a container that does not exist yet is "nothing stored", not an error.
    assert store.load("p-1", "s1") is None and store.records("p-1") == [] and store.plan_ids() == []
    store.save(rec("s1"))
    store.save(rec("s2", state=RecordState.IN_PROGRESS, operation={"kind": "lro", "token": "tok"}))
    store.save(rec("s1", state=RecordState.SUCCEEDED, attempts=1, message="done"))
    assert store.load("p-1", "s1") == rec("s1", state=RecordState.SUCCEEDED, attempts=1, message="done")
    assert sorted(r.step_id for r in store.records("p-1")) == ["s1", "s2"]
    plan = make_plan(2)
    store.save_plan(plan)
    assert store.load_plan(plan.id) == plan and store.load_plan("nope") is None
    assert store.plan_ids() == sorted(["p-1", plan.id])

    # One blob per plan, holding plain JSON.
    blob = store.documents.client.get_blob_client("t/p-1.json")
    document = json.loads(blob.download_blob().readall())
    assert document["format"] == 1 and sorted(document["steps"]) == ["s1", "s2"]
    assert blob.get_blob_properties().content_settings.content_type == "application/json"

    store.clear("p-1")
    store.clear("p-1")
    assert store.records("p-1") == [] and store.plan_ids() == [plan.id]
    assert store.documents.conflicts == 0


def test_a_stale_writer_gets_412_and_reapplies_its_change(azurite: str, container_name: str) -> None:
    sleeps: list[float] = []
    first = blob_store(azurite, container_name, sleep=sleeps.append)
    second = blob_store(azurite, container_name)
    first.save(rec("a"))
    second.save(rec("b"))  # first's cached etag is now stale
    first.save(rec("c"))
    assert first.documents.conflicts == 1 and len(sleeps) == 1
    assert sorted(r.step_id for r in second.records("p-1")) == ["a", "b", "c"]
    # The blob deleted behind a writer's back is recreated, not an error.
    second.clear("p-1")
    first.save(rec("d"))
    assert [r.step_id for r in second.records("p-1")] == ["d"]


def test_gives_up_with_etag_mismatch_when_the_blob_keeps_changing(azurite: str, container_name: str) -> None:
    stale = blob_store(azurite, container_name, max_attempts=1)
    other = blob_store(azurite, container_name)
    stale.save(rec("a"))
    other.save(rec("b"))
    with pytest.raises(EtagMismatch, match="kept changing"):
        stale.save(rec("c"))
    assert sorted(r.step_id for r in other.records("p-1")) == ["a", "b"]


def test_concurrent_writers_lose_no_record(azurite: str, container_name: str) -> None:
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        store = blob_store(azurite, container_name, max_attempts=50)
        try:
            for n in range(5):
                store.save(rec(f"w{worker}-{n}", attempts=n))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    records = blob_store(azurite, container_name).records("p-1")
    assert sorted(r.step_id for r in records) == sorted(f"w{w}-{n}" for w in range(6) for n in range(5))


def test_runner_resumes_across_instances_with_blob_checkpoints(
    azurite: str, container_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CP_CONN", azurite)
    clock = VirtualClock()
    cloud = FakeCloud(clock)
    plan = make_plan(2, duration=600)
    url = f"blob://{container_name}/timer?connection_string_env=CP_CONN"
    statuses = []
    for _ in range(20):
        # Each timer run builds its own store and action, as a new Functions instance would.
        store = checkpoint_store_from_url(url)
        result = apply(plan, {KIND: SetValueAction(cloud)}, checkpoints=store, clock=clock,
                       time_budget=400)  # fmt: skip
        statuses.append(result.status)
        if result.ok:
            break
    assert statuses[-1] is RunStatus.SUCCEEDED and RunStatus.PAUSED in statuses
    assert sorted(cloud.writes) == [(s.resource, "v2") for s in plan.steps]
    stored = checkpoint_store_from_url(url)
    assert isinstance(stored, BlobCheckpointStore) and stored.load_plan(plan.id) == plan
    assert [r.attempts for r in result.records] == [1, 1]


def test_service_errors_are_translated_without_leaking_the_key(azurite: str, container_name: str) -> None:
    good_key = azurite.split("AccountKey=")[1].split(";")[0]
    wrong_key = "A" * len(good_key)
    store = blob_store(azurite.replace(good_key, wrong_key), container_name, retry_total=0)
    with pytest.raises(AzureOperationFailed) as caught:
        store.save(rec("a"))
    err = caught.value
    assert err.status_code == 403 and err.code == "AuthorizationFailure"
    assert wrong_key not in str(err) and wrong_key not in repr(err.to_dict())
    assert str(err).startswith(
        "AuthorizationFailure: Blob checkpoint store could not read t/p-1.json: HTTP 403"
    )


def test_construction_is_checked(azurite: str) -> None:
    with pytest.raises(InvalidInput, match="exactly one"):
        BlobJsonStore()
    with pytest.raises(InvalidInput, match="container name"):
        BlobJsonStore(connection_string=azurite)
    with pytest.raises(InvalidInput, match="malformed"):
        BlobJsonStore(connection_string="not a connection string", container="c")


def test_blob_lease_names_its_holder_and_can_be_released_or_broken(azurite: str, container_name: str) -> None:
    from aks_windows_ops.errors import LeaseHeld
    from aks_windows_ops.runbooks.leases import LeaseHolder

    first, second = blob_store(azurite, container_name), blob_store(azurite, container_name)
    a, b = LeaseHolder(), LeaseHolder()
    first.acquire_lease("cluster:sub/rg/aks", a)
    first.acquire_lease("cluster:sub/rg/aks", a)  # renewal
    with pytest.raises(LeaseHeld) as caught:
        second.acquire_lease("cluster:sub/rg/aks", b)
    assert (caught.value.holder, caught.value.host, caught.value.started_at) == (a.id, a.host, a.started_at)
    assert (second.lease_holder("cluster:sub/rg/aks") or {}).get("holder") == a.id
    first.release_lease("cluster:sub/rg/aks", a)
    assert second.lease_holder("cluster:sub/rg/aks") is None
    second.acquire_lease("cluster:sub/rg/aks", b)
    first.break_lease("cluster:sub/rg/aks")
    first.acquire_lease("cluster:sub/rg/aks", a)
    assert first.plan_ids() == []  # lease blobs are not plans


class _DroppingTransport:
    """A real ``RequestsTransport`` that loses the connection of the first request of a given method."""

    def __init__(self, method: str) -> None:
        from azure.core.pipeline.transport import RequestsTransport

        self.inner = RequestsTransport()
        self.method = method
        self.sent: list[str] = []
        self.dropped = 0

    def __enter__(self) -> Any:
        self.inner.__enter__()
        return self

    def __exit__(self, *args: Any) -> None:
        self.inner.__exit__(*args)

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def sleep(self, seconds: float) -> None:
        raise AssertionError("the store waits on its own clock, never the transport's")

    def send(self, request: Any, **kwargs: Any) -> Any:
        from azure.core.exceptions import ServiceResponseError

        self.sent.append(request.method)
        if request.method == self.method and not self.dropped:
            self.dropped += 1
            raise ServiceResponseError("Connection reset by peer (simulated)")
        return self.inner.send(request, **kwargs)


def test_reads_are_read_again_and_writes_sent_once(azurite: str, container_name: str) -> None:
    from aks_windows_ops.azure.blob_store import BlobJsonStore
    from aks_windows_ops.testing import VirtualClock

    seed = BlobJsonStore(connection_string=azurite, container=container_name)
    seed.update("doc", lambda _: {"n": 1})

    reads = _DroppingTransport("GET")
    clock = VirtualClock()
    store = BlobJsonStore(connection_string=azurite, container=container_name, clock=clock, transport=reads)
    assert store.read("doc") == {"n": 1}
    assert reads.dropped == 1 and reads.sent.count("GET") == 2 and clock.monotonic() > 0

    writes = _DroppingTransport("PUT")
    store = BlobJsonStore(connection_string=azurite, container=container_name, clock=clock, transport=writes)
    with pytest.raises(AzureOperationFailed):
        store.update("doc", lambda doc: {"n": (doc or {}).get("n", 0) + 1})
    assert writes.sent.count("PUT") == 1  # an ambiguous write is not repeated blindly
    assert seed.read("doc") == {"n": 1}
