"""A checkpoint store is input: tampered tokens never reach a non-ARM host, edited records are never run."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aks_windows_ops.azure import actions as az
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.errors import InvalidInput, UntrustedCheckpoint
from aks_windows_ops.integrations import functions as F
from aks_windows_ops.runbooks import integrity
from aks_windows_ops.runbooks.checkpoints import JsonFileCheckpointStore, MemoryCheckpointStore, RecordState
from aks_windows_ops.runbooks.patch import apply_patch, plan_patch
from aks_windows_ops.testing.fake_azure import FakeAzure

SUB, RG, NAME = "00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps"
KEY = b"k" * 32


class HostRecorder:
    """A transport in front of the simulator that records the host of every request it is asked to send."""

    def __init__(self, fake: FakeAzure) -> None:
        self.fake = fake
        self.clock = fake.clock
        self.urls: list[str] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.urls.append(request.url)
        return self.fake.send(request, **kwargs)

    def sleep(self, seconds: float) -> None:
        self.fake.sleep(seconds)

    def open(self) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> HostRecorder:
        return self

    def __exit__(self, *args: Any) -> None: ...

    def hosts(self) -> set[str]:
        return {urlsplit(u).netloc for u in self.urls}


def _clients() -> tuple[FakeAzure, HostRecorder, AzureClients]:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    recorder = HostRecorder(fake)
    clients = AzureClients(SUB, credential=fake.credential(), transport=recorder)
    return fake, recorder, clients


def _decode(token: str) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(token)))


def _encode(document: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def _edit(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    document = _decode(token)
    change(document["data"])
    return _encode(document)


def _header(data: dict[str, Any], name: str) -> str:
    return next(k for k in data["response"]["headers"] if k.lower() == name)


def _set_header(name: str, value: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["response"]["headers"][_header(data, name)] = value

    return change


def _replace_in_header(name: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        key = _header(data, name)
        data["response"]["headers"][key] = data["response"]["headers"][key].replace(old, new)

    return change


def _request_url(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["request"]["url"] = data["request"]["url"].replace(old, new)

    return change


def _method(method: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["request"]["method"] = method

    return change


ARM = "https://management.azure.com"
TAMPERINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "status URL on another host": _replace_in_header("azure-asyncoperation", ARM, "https://attacker.example"),
    "status URL on a look-alike host": _replace_in_header(
        "azure-asyncoperation", ARM, "https://management.azure.com.attacker.example"
    ),
    "status URL with user information": _replace_in_header(
        "azure-asyncoperation", ARM, "https://management.azure.com@attacker.example"
    ),
    "status URL on another port": _replace_in_header(
        "azure-asyncoperation", ARM, "https://management.azure.com:8443"
    ),
    "status URL over plain http": _replace_in_header(
        "azure-asyncoperation", ARM, "http://management.azure.com"
    ),
    "status URL on another ARM path": _set_header(
        "azure-asyncoperation", f"{ARM}/subscriptions/{SUB}/resourceGroups/x/providers/Microsoft.Web/sites/y"
    ),
    "status URL of another subscription": _replace_in_header(
        "azure-asyncoperation", SUB, "11111111-1111-1111-1111-111111111111"
    ),
    "status URL of another provider": _replace_in_header(
        "azure-asyncoperation", "Microsoft.ContainerService", "Microsoft.Storage"
    ),
    "status URL leaving by dot segments": _replace_in_header(
        "azure-asyncoperation", "/operations/", "/operations/../../../../../../x/"
    ),
    "resource URL on another host": _request_url(ARM, "https://attacker.example"),
    "resource URL of another kind of resource": _request_url("managedClusters", "storageAccounts"),
    "another initial method": _method("DELETE"),
    "status URL missing": _set_header("azure-asyncoperation", ""),
}


@pytest.fixture
def started() -> tuple[FakeAzure, HostRecorder, AzureClients, str]:
    fake, recorder, clients = _clients()
    token = az.begin_node_image_upgrade(clients, RG, NAME, "win19")
    assert (
        urlsplit(
            _decode(token)["data"]["response"]["headers"][
                _header(_decode(token)["data"], "azure-asyncoperation")
            ]
        ).netloc
        == "management.azure.com"
    )
    return fake, recorder, clients, token


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_a_tampered_token_is_refused_before_any_request(
    started: tuple[FakeAzure, HostRecorder, AzureClients, str], tampering: str
) -> None:
    fake, recorder, clients, token = started
    tampered = _edit(token, TAMPERINGS[tampering])
    recorder.urls.clear()
    with pytest.raises(UntrustedCheckpoint, match="nothing was sent"):
        az.wait(clients, "node_image", tampered)
    assert recorder.urls == []  # not one request, to any host


def test_a_token_that_is_not_a_token_is_refused(
    started: tuple[FakeAzure, HostRecorder, AzureClients, str],
) -> None:
    _, recorder, clients, _ = started
    recorder.urls.clear()
    for text in ("not base64 !", base64.b64encode(b"[1, 2]").decode(), _encode({"version": 1, "data": {}})):
        with pytest.raises(UntrustedCheckpoint):
            az.wait(clients, "node_image", text)
    assert recorder.urls == []


def test_a_token_for_another_operation_kind_is_refused(
    started: tuple[FakeAzure, HostRecorder, AzureClients, str],
) -> None:
    _, recorder, clients, token = started
    recorder.urls.clear()
    with pytest.raises(UntrustedCheckpoint, match=r"agent pool delete"):
        az.wait(clients, "pool_delete", token)
    assert recorder.urls == []


def test_positive_control_the_sdk_alone_follows_a_tampered_status_url(
    started: tuple[FakeAzure, HostRecorder, AzureClients, str],
) -> None:
    # Without the check, azure-core sends the poll (with the bearer token) wherever the token says: the
    # recorder sees it, so the refusal tests above would see a leak too.
    _, recorder, clients, token = started
    tampered = _edit(token, TAMPERINGS["status URL on another host"])
    recorder.urls.clear()
    poller = clients.containerservice.agent_pools.begin_upgrade_node_image_version(
        "rg", "name", "pool", continuation_token=tampered
    )
    with contextlib.suppress(Exception):
        poller.result()  # polls to the end on the simulator's virtual clock (the simulator ignores the host)
    assert "attacker.example" in recorder.hosts()


def test_an_untampered_token_resumes_to_the_end(
    started: tuple[FakeAzure, HostRecorder, AzureClients, str],
) -> None:
    fake, recorder, clients, token = started
    az.wait(clients, "node_image", token)
    assert recorder.hosts() == {"management.azure.com"}
    assert fake.pool_state(SUB, RG, NAME, "win19")["provisioningState"] == "Succeeded"


# ------------------------------------------------------------------------------------------- integrity
def _paused_patch(path: Path) -> tuple[FakeAzure, AzureClients, Any]:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    clients = AzureClients.for_simulator(fake, SUB)
    plan, context = plan_patch(clients, RG, NAME, node_image_only=True)
    first = apply_patch(plan, context, checkpoints=str(path), time_budget=60)
    assert first.status.value == "paused"
    return fake, clients, plan


def _edit_file(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _in_progress(data: dict[str, Any]) -> dict[str, Any]:
    (entry,) = data["plans"].values()
    return next(s for s in entry["steps"].values() if s["state"] == "in_progress")


def _retarget_token(data: dict[str, Any]) -> None:
    step = _in_progress(data)
    envelope = step["operation"]
    envelope["operation"]["token"] = _edit(
        envelope["operation"]["token"], TAMPERINGS["status URL on another host"]
    )


def _mark_done(data: dict[str, Any]) -> None:
    _in_progress(data)["state"] = "succeeded"


def _change_plan(data: dict[str, Any]) -> None:
    (entry,) = data["plans"].values()
    entry["plan"]["target"] = entry["plan"]["target"].replace("aks-apps", "aks-other")


def _change_plan_quietly(data: dict[str, Any]) -> None:
    (entry,) = data["plans"].values()
    entry["plan"]["warnings"] = [*entry["plan"].get("warnings", []), "edited"]


def _strip_tags(data: dict[str, Any]) -> None:
    (entry,) = data["plans"].values()
    entry["steps"].pop(integrity.PLAN_TAG_STEP)
    for step in entry["steps"].values():
        if step["operation"] is not None:
            step["operation"] = step["operation"]["operation"]


EDITS = {
    "status URL in the token": _retarget_token,
    "step marked succeeded": _mark_done,
    "plan target changed": _change_plan,
    "plan changed outside its id": _change_plan_quietly,
    "tags removed": _strip_tags,
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_the_timer_reports_an_edited_record_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    path = tmp_path / "cp.json"
    fake, clients, plan = _paused_patch(path)
    _edit_file(path, EDITS[edit])
    fake.clear_journal()
    outcomes = F.advance_plans(JsonFileCheckpointStore(path), lambda sub: clients, time_budget=240)
    assert [(o.plan_id, o.status) for o in outcomes] == [(plan.id, "refused")]
    assert "integrity" in outcomes[0].message or "cannot be trusted" in outcomes[0].message
    assert fake.journal == []  # not even a read


def test_the_timer_resumes_an_intact_plan(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    fake, clients, plan = _paused_patch(path)
    outcomes = F.advance_plans(JsonFileCheckpointStore(path), lambda sub: clients, time_budget=3600)
    assert [(o.plan_id, o.status) for o in outcomes] == [(plan.id, "succeeded")]
    assert fake.pool_state(SUB, RG, NAME, "win19")["provisioningState"] == "Succeeded"


def test_signed_records_cannot_move_between_steps() -> None:
    from aks_windows_ops.runbooks.checkpoints import StepRecord

    inner = MemoryCheckpointStore()
    store = integrity.SignedStore(inner, KEY)
    store.save(StepRecord("p", "a", RecordState.SUCCEEDED))
    stored = inner.load("p", "a")
    assert stored is not None and stored.operation is not None
    inner.save(stored.evolve(step_id="b"))
    assert store.load("p", "a") is not None and store.load("p", "a").state is RecordState.SUCCEEDED  # type: ignore[union-attr]
    with pytest.raises(UntrustedCheckpoint, match="p/b"):
        store.load("p", "b")
    with pytest.raises(UntrustedCheckpoint):
        integrity.SignedStore(inner, b"x" * 32).load("p", "a")  # another key


def test_the_local_key_file_is_private_and_stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKS_WINDOWS_OPS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv(integrity.INTEGRITY_KEY_ENV, raising=False)
    key = integrity.load_key()
    path = tmp_path / "state" / integrity.KEY_FILE_NAME
    assert len(key) >= 32 and integrity.load_key() == key
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
        path.chmod(0o644)
        with pytest.raises(InvalidInput, match="read by other users") as refused:
            integrity.load_key()
        assert "chmod 600" in refused.value.remediation


def test_a_key_vault_key(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = base64.b64encode(b"v" * 32).decode()

    class Client:
        def get_secret(self, name: str) -> Any:
            assert name == "ops-integrity"
            return type("S", (), {"value": stored})()

    key = integrity.load_key(
        "https://ops.vault.azure.net/secrets/ops-integrity", client_factory=lambda url, cred: Client()
    )
    assert key == b"v" * 32


# ------------------------------------------------------------------------------------- minimal tokens
def _resumers(clients: AzureClients) -> dict[str, Callable[[str], Any]]:
    cs = clients.containerservice
    return {
        "cluster": lambda t: cs.managed_clusters.begin_create_or_update(
            "rg", "name", {}, continuation_token=t
        ),
        "node_image": lambda t: cs.agent_pools.begin_upgrade_node_image_version(
            "rg", "name", "pool", continuation_token=t
        ),
        "pool_delete": lambda t: cs.agent_pools.begin_delete("rg", "name", "pool", continuation_token=t),
    }


STARTS: dict[str, Callable[[AzureClients], str]] = {
    "cluster": lambda c: az.begin_windows_profile_update(c, RG, NAME, license_type="None"),
    "node_image": lambda c: az.begin_node_image_upgrade(c, RG, NAME, "win19"),
    "pool_delete": lambda c: az.begin_pool_delete(c, RG, NAME, "win19"),
}


@pytest.mark.parametrize("kind", sorted(STARTS))
def test_stored_tokens_hold_no_resource_body_yet_the_sdk_resumes_them(kind: str) -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    clients = AzureClients.for_simulator(fake, SUB)
    token = STARTS[kind](clients)
    text = base64.b64decode(token).decode()
    data = _decode(token)["data"]
    for leaked in (
        "fqdn",
        "azmk8s.io",
        "winadmin",
        "identityProfile",
        "agentPoolProfiles",
        "nodeImageVersion",
    ):
        assert leaked not in text, leaked
    assert set(data["request"]) == {"method", "url", "headers"}
    assert {k.lower() for k in data["response"]["headers"]} <= {
        "azure-asyncoperation",
        "location",
        "operation-location",
        "retry-after",
        "content-type",
    }
    # The real SDK resumes the reduced token, in another client, to the end (virtual time).
    other = AzureClients.for_simulator(fake, SUB)
    poller = _resumers(other)[kind](token)
    result = poller.result()
    if kind == "cluster":
        assert result.windows_profile.license_type == "None"
        assert fake.cluster_state(SUB, RG, NAME)["properties"]["provisioningState"] == "Succeeded"
    elif kind == "node_image":
        assert fake.pool_state(SUB, RG, NAME, "win19")["provisioningState"] == "Succeeded"
    else:
        pools = fake.cluster_state(SUB, RG, NAME)["properties"]["agentPoolProfiles"]
        assert "win19" not in [p["name"] for p in pools]


def test_positive_control_the_sdk_token_holds_the_whole_cluster() -> None:
    from aks_windows_ops.azure.urls import reduce_continuation_token

    fake = FakeAzure.from_scenario("ws2019-retiring")
    clients = AzureClients.for_simulator(fake, SUB)
    cs = clients.containerservice
    poller = cs.managed_clusters.begin_create_or_update(RG, NAME, cs.managed_clusters.get(RG, NAME))
    full = poller.continuation_token()
    assert "azmk8s.io" in base64.b64decode(full).decode() and "winadmin" in base64.b64decode(full).decode()
    assert "azmk8s.io" not in base64.b64decode(reduce_continuation_token(full)).decode()
