"""Twin export: a cluster's shape as a scenario file that the simulator loads back (design notes, "The simulator")."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.facts import read_snapshot
from aks_windows_ops.cli import app
from aks_windows_ops.models import ClusterSnapshot
from aks_windows_ops.rules.preflight import preflight
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.fake_kube import FakeKubernetes
from aks_windows_ops.testing.scenario import read_scenario
from aks_windows_ops.twin import export_twin, sanitize_manifest

runner = CliRunner()

#: Where each built-in scenario's cluster lives (subscription, resource group, name).
SCENARIO_TARGETS: dict[str, tuple[str, str, str]] = {
    "healthy": ("00000000-0000-0000-0000-000000000001", "rg-prod", "aks-prod"),
    "ws2019-retiring": ("00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps"),
    "legacy-2019": ("00000000-0000-0000-0000-000000000003", "rg-erp", "aks-erp"),
    "subnet-full": ("00000000-0000-0000-0000-000000000004", "rg-retail", "aks-retail"),
}


def _snapshot(fake: FakeAzure, scenario: str) -> ClusterSnapshot:
    sub, rg, name = SCENARIO_TARGETS[scenario]
    return read_snapshot(AzureClients.for_simulator(fake, sub), rg, name)


def _shape(snap: ClusterSnapshot) -> dict[str, Any]:
    """What a twin must reproduce: pools, versions, SKUs, license (cluster, scale sets, instances), subnets."""
    data = dataclasses.asdict(snap)
    return {
        "cluster": {
            k: data[k]
            for k in (
                "location",
                "kubernetes_version",
                "current_kubernetes_version",
                "network_plugin",
                "network_plugin_mode",
                "identity_type",
                "uses_service_principal",
                "windows_admin_username",
                "license_type",
                "gmsa_enabled",
                "max_agent_pools",
                "auto_upgrade_channel",
                "control_plane_upgrades",
                "created_before_2020",
            )
        },
        "pools": data["pools"],
        "licenses": [
            (
                s["pool_name"],
                s["license_type"],
                s["capacity"],
                [(i["instance_id"], i["license_type"]) for i in s["instances"]],
            )
            for s in data["scale_sets"]
        ],
        "subnets": [(s["subnet_id"].lower(), s["used"], s["limit"]) for s in data["subnets"]],
    }


@pytest.mark.parametrize("scenario", sorted(SCENARIO_TARGETS))
def test_a_simulated_cluster_exported_and_reloaded_has_the_same_snapshot(
    tmp_path: Path, scenario: str
) -> None:
    out = tmp_path / f"{scenario}.yaml"
    result = runner.invoke(app, ["snapshot", "--simulate", scenario, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"--simulate {out}" in result.output
    original = _snapshot(FakeAzure.from_scenario(scenario), scenario)
    twin = _snapshot(FakeAzure.from_scenario(out), scenario)
    assert _shape(twin) == _shape(original)
    # Everything the rules see survives too: the twin gets the same findings.
    assert preflight(twin).codes == preflight(original).codes
    assert "password" not in out.read_text(encoding="utf-8").lower()


def test_the_twin_holds_no_secret_even_after_a_password_rotation(scenario: Any) -> None:
    from aks_windows_ops.azure import lro

    fake, clients, rg, name = scenario("healthy")
    mc = clients.containerservice.managed_clusters.get(rg, name)
    mc.properties.windows_profile.admin_password = "Zq7!vTt0-long-enough-pw"
    lro.wait(
        clients.containerservice.managed_clusters.begin_create_or_update,
        lro.start(clients.containerservice.managed_clusters.begin_create_or_update, rg, name, mc),
        rg,
        name,
        mc,
        clock=clients.clock,
        sleep=clients.sleep,
    )
    text = yaml.safe_dump(export_twin(clients, rg, name))
    assert "Zq7!" not in text and "password" not in text.lower()


def test_workloads_are_exported_sanitised_and_recreated_on_the_twin(tmp_path: Path) -> None:
    out = tmp_path / "apps.yaml"
    result = runner.invoke(
        app, ["snapshot", "--simulate", "ws2019-retiring", "--with-workloads", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "2 workload object(s)" in result.output
    data = read_scenario(out)
    cluster = data["subscriptions"][0]["resource_groups"][0]["clusters"][0]
    kinds = sorted(w["kind"] for w in cluster["workloads"])
    assert kinds == ["Deployment", "PodDisruptionBudget"]  # the Deployment's pods are left to it
    for manifest in cluster["workloads"]:
        assert "status" not in manifest
        assert not {"uid", "resourceVersion", "creationTimestamp"} & set(manifest["metadata"])
    with FakeKubernetes(ready_delay=0) as kube:
        FakeAzure.from_scenario(out, kube=kube)
        kube.settle()
        pods = kube.pods("shop")
        assert len(pods) == 3
        assert all(p["spec"]["nodeName"].startswith("akswin19") for p in pods)
        assert kube.get("PodDisruptionBudget", "storefront-pdb", "shop") is not None


def test_system_namespaces_are_left_out_unless_asked(tmp_path: Path) -> None:
    scenario = read_scenario("healthy")
    cluster = scenario["subscriptions"][0]["resource_groups"][0]["clusters"][0]
    cluster["workloads"] = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "dns", "namespace": "kube-system"},
            "spec": {"selector": {"k8s-app": "dns"}, "ports": [{"port": 53}]},
        }
    ]
    source = tmp_path / "with-system.yaml"
    source.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    for flags, expected in (([], 0), (["--include-system-namespaces"], 1)):
        result = runner.invoke(
            app, ["snapshot", "--simulate", str(source), "--with-workloads", "--out", "-", *flags]
        )
        assert result.exit_code == 0, result.output
        exported = yaml.safe_load(result.stdout)["subscriptions"][0]["resource_groups"][0]["clusters"][0]
        assert len(exported["workloads"]) == expected


def test_a_subnet_in_another_resource_group_is_exported_with_its_usage() -> None:
    sub = "00000000-0000-0000-0000-0000000000aa"
    subnet_id = f"/subscriptions/{sub}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/hub/subnets/aks"
    source = {
        "subscriptions": [
            {
                "id": sub,
                "resource_groups": [
                    {"name": "rg-net", "location": "westeurope", "vnets": [
                        {"name": "hub", "address_prefix": "10.50.0.0/16", "subnets": {"aks": "10.50.4.0/22"}, "used": {"aks": 77}}
                    ]},
                    {"name": "rg-app", "location": "westeurope", "clusters": [
                        {
                            "name": "aks-app",
                            "windows_profile": {"admin_username": "opsadmin"},
                            "pools": [
                                {"name": "system", "mode": "System", "count": 2, "subnet": subnet_id, "max_pods": 40},
                                {"name": "win", "os_type": "Windows", "count": 4, "subnet": subnet_id, "max_pods": 20,
                                 "labels": {"team": "erp"}, "taints": ["sku=Windows:NoSchedule"], "zones": ["1", "2"]},
                            ],
                        }
                    ]},
                ],
            }
        ]
    }  # fmt: skip
    fake = FakeAzure.from_scenario(source)
    clients = AzureClients.for_simulator(fake, sub)
    exported = export_twin(clients, "rg-app", "aks-app")
    groups = {g["name"]: g for g in exported["subscriptions"][0]["resource_groups"]}
    assert groups["rg-net"]["vnets"] == [
        {
            "name": "hub",
            "address_prefix": "10.50.0.0/16",
            "subnets": {"aks": "10.50.4.0/22"},
            "used": {"aks": 77},
        }
    ]
    twin = FakeAzure.from_scenario(exported)
    before = read_snapshot(clients, "rg-app", "aks-app")
    after = read_snapshot(AzureClients.for_simulator(twin, sub), "rg-app", "aks-app")
    assert _shape(after) == _shape(before)
    assert after.subnets[0].used == 77 + 2 * 41 + 4 * 21


def test_sanitize_drops_what_a_twin_must_not_carry() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "job",
            "namespace": "ops",
            "uid": "u-1",
            "resourceVersion": "42",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "team": "ops"},
        },
        "spec": {
            "nodeName": "akswin000000",
            "containers": [
                {
                    "name": "app",
                    "image": "img",
                    "env": [
                        {"name": "DB_PASSWORD", "value": "hunter2"},
                        {"name": "API_TOKEN", "value": "abc"},
                        {"name": "LOG_LEVEL", "value": "debug"},
                        {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                    ],
                }
            ],
        },
        "status": {"phase": "Running"},
    }
    clean = sanitize_manifest(pod)
    assert clean is not None
    env = {e["name"]: e.get("value") for e in clean["spec"]["containers"][0]["env"]}
    assert env == {
        "DB_PASSWORD": "<redacted>",
        "API_TOKEN": "<redacted>",
        "LOG_LEVEL": "debug",
        "FROM_SECRET": None,
    }
    assert clean["metadata"] == {"name": "job", "namespace": "ops", "annotations": {"team": "ops"}}
    assert "nodeName" not in clean["spec"] and "status" not in clean
    assert pod["spec"]["containers"][0]["env"][0]["value"] == "hunter2"  # the input is not modified
    owned = {
        **pod,
        "metadata": {**pod["metadata"], "ownerReferences": [{"kind": "ReplicaSet", "controller": True}]},
    }
    assert sanitize_manifest(owned) is None
    assert sanitize_manifest({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}}) is None
    svc = sanitize_manifest(
        {
            "kind": "Service",
            "metadata": {"name": "s"},
            "spec": {"clusterIP": "10.0.0.9", "clusterIPs": ["10.0.0.9"]},
        }
    )
    assert svc == {"kind": "Service", "metadata": {"name": "s"}, "spec": {}}


def test_snapshot_refuses_a_missing_directory_before_any_request(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["snapshot", "--simulate", "healthy", "--out", str(tmp_path / "no" / "x.yaml")]
    )
    assert result.exit_code == 4 and "does not exist" in result.output
