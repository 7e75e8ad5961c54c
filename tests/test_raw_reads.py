"""Bulk reads without SDK models (``azure.raw``) give the same snapshots as the SDK-model path (``azure.facts``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from aks_windows_ops import errors as E
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import list_clusters, read_snapshot
from aks_windows_ops.azure.raw import list_clusters_raw, read_snapshot_raw
from aks_windows_ops.testing._http import FakeResponse
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS, load_scenario

CASSETTES = [Path(__file__).resolve().parent / "cassettes"]


def _subscriptions(fake: FakeAzure) -> list[str]:
    return sorted({sub for sub, _rg, _name in fake.clusters})


@pytest.mark.parametrize("scenario", BUILTIN_SCENARIOS)
def test_raw_snapshot_equals_the_sdk_model_snapshot_for_every_builtin_scenario(scenario: str) -> None:
    fake = load_scenario(scenario)
    compared = 0
    for sub in _subscriptions(fake):
        clients = AzureClients.for_simulator(fake, sub)
        found = list_clusters(clients)
        assert list_clusters_raw(clients) == found
        for rg, name in found:
            assert list_clusters_raw(clients, rg) == list_clusters(clients, rg)
            for flags in ({}, {"upgrade_profiles": False, "scale_sets": False, "subnets": False}):
                before = len(fake.journal)
                expected = read_snapshot(clients, rg, name, **flags)
                sdk_requests = [(e.method, e.path) for e in fake.journal[before:]]
                before = len(fake.journal)
                assert read_snapshot_raw(clients, rg, name, **flags) == expected
                # the same requests, in the same order
                assert [(e.method, e.path) for e in fake.journal[before:]] == sdk_requests
            compared += 1
    assert compared >= 1


def test_raw_snapshot_matches_on_a_generated_fleet_with_scale_sets_and_many_pages() -> None:
    fake = FakeAzure()
    sub = "00000000-0000-0000-0000-00000000abcd"
    for i in range(3):
        fake.add_cluster(
            sub,
            "rg-many",
            f"aks-{i}",
            kubernetes_version="1.32.7",
            network_plugin="azure",
            windows_profile={"admin_username": "azureuser", "license_type": "Windows_Server" if i else None},
            pools=[
                {"name": "system", "mode": "System", "os_type": "Linux", "count": 2},
                {"name": "win19", "os_type": "Windows", "os_sku": "Windows2019", "count": 3},
                {"name": "win22", "os_type": "Windows", "os_sku": "Windows2022", "count": 2},
            ],
        )
    clients = AzureClients.for_simulator(fake, sub)
    for rg, name in list_clusters(clients):
        raw = read_snapshot_raw(clients, rg, name)
        assert raw == read_snapshot(clients, rg, name)
        assert {v.pool_name for v in raw.scale_sets} == {"win19", "win22"}
        assert sum(len(v.instances) for v in raw.scale_sets) == 5


def test_raw_read_of_a_missing_cluster_raises_the_same_error() -> None:
    fake = load_scenario("healthy")
    sub = _subscriptions(fake)[0]
    clients = AzureClients.for_simulator(fake, sub)
    with pytest.raises(E.NotFound):
        read_snapshot(clients, "rg-none", "nope")
    with pytest.raises(E.NotFound):
        read_snapshot_raw(clients, "rg-none", "nope")


class _Replay(HttpTransport):  # type: ignore[misc]
    """Answers every request with one recorded body (a managed cluster GET)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def send(self, request: HttpRequest, **kwargs: Any) -> FakeResponse:
        return FakeResponse(request, 200, self.body)

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Replay:
        return self

    def __exit__(self, *args: Any) -> None:
        pass


def _recorded_clusters() -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    seen: set[bytes] = set()
    for folder in CASSETTES:
        for path in sorted(folder.glob("*.yaml")):
            for i, interaction in enumerate(yaml.safe_load(path.read_text()).get("interactions") or []):
                response = interaction.get("response") or {}
                if (response.get("status") or {}).get("code") != 200:
                    continue
                text = (response.get("body") or {}).get("string") or ""
                try:
                    body = json.loads(text)
                except ValueError:
                    continue
                if str(body.get("type", "")).lower() != "microsoft.containerservice/managedclusters":
                    continue
                raw = text.encode() if isinstance(text, str) else bytes(text)
                if raw not in seen:
                    seen.add(raw)
                    out.append((f"{path.stem}#{i}", raw))
    return out


RECORDED = _recorded_clusters()


def test_the_recordings_hold_cluster_bodies() -> None:
    assert len(RECORDED) >= 10


@pytest.mark.parametrize(("where", "body"), RECORDED, ids=[w for w, _ in RECORDED])
def test_raw_snapshot_equals_the_sdk_model_snapshot_for_recorded_bodies(where: str, body: bytes) -> None:
    clients = AzureClients(
        "00000000-0000-0000-0000-000000000000", credential=FakeAzure().credential(), transport=_Replay(body)
    )
    flags = {"upgrade_profiles": False, "scale_sets": False, "subnets": False}
    expected = read_snapshot(clients, "clitest000001", "cliakstest000001", **flags)
    assert read_snapshot_raw(clients, "clitest000001", "cliakstest000001", **flags) == expected
    assert expected.pools  # the recording was parsed, not an empty snapshot on both sides
