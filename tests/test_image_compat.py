"""Image compatibility: tags, registry indexes through the real registry client, the kubelet's refusal, migrate."""

from __future__ import annotations

from typing import Any

import migrate_support as ms
import pytest
import yaml
from kubernetes import client as k8s
from typer.testing import CliRunner

from aks_windows_ops import errors as E
from aks_windows_ops.azure.registry import RegistryReader, registry_reader_for
from aks_windows_ops.rules.image_builds import (
    Compatibility,
    builds_from_tag,
    host_runs_image_build,
    judge_image,
    parse_image_reference,
)
from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
from aks_windows_ops.runbooks.migrate import apply_migration, plan_migration
from aks_windows_ops.runbooks.pools import plan_add_windows_pool
from aks_windows_ops.runbooks.runner import RunStatus
from aks_windows_ops.testing.fake_azure import FakeCredential
from aks_windows_ops.testing.fake_kube import FakeKubernetes
from aks_windows_ops.testing.fake_registry import FakeRegistry

MULTI = "mcr.microsoft.com/dotnet/framework/aspnet:4.8"
LEGACY = "contoso.azurecr.io/shop/legacy:2.1-windowsservercore-ltsc2019"
MISMATCH = "The container operating system does not match the host operating system."


@pytest.mark.parametrize(
    ("image", "builds"),
    [
        ("mcr.microsoft.com/windows/servercore:ltsc2019", {"10.0.17763"}),
        ("mcr.microsoft.com/windows/nanoserver:1809", {"10.0.17763"}),
        ("mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2022", {"10.0.20348"}),
        ("mcr.microsoft.com/windows/servercore:ltsc2025-amd64", {"10.0.26100"}),
        ("contoso.azurecr.io/app:1.0-10.0.17763.5820", {"10.0.17763"}),
        ("registry.local:5000/team/app:10.0.20348", {"10.0.20348"}),
        ("mcr.microsoft.com/dotnet/framework/aspnet:4.8", None),
        ("contoso.azurecr.io/app@sha256:" + "ab" * 32, None),
        ("contoso.azurecr.io/app:ltsc2019@sha256:" + "ab" * 32, None),  # the digest decides
        ("contoso.azurecr.io/app:v18090", None),
        ("not an image", None),
    ],
)
def test_builds_from_tag(image: str, builds: set[str] | None) -> None:
    found = builds_from_tag(image)
    assert (set(found) if found else None) == builds


def test_portability_comes_from_the_lifecycle_data_and_matches_the_aks_facts() -> None:
    assert host_runs_image_build("10.0.99999", "10.0.20348") is None  # a host build the data does not list
    assert host_runs_image_build("10.0.20348", "10.0.17763") is False
    assert host_runs_image_build("10.0.17763", "10.0.20348") is False
    assert host_runs_image_build("10.0.26100", "10.0.20348") is True
    assert host_runs_image_build("10.0.25398", "10.0.20348") is True
    assert host_runs_image_build("10.0.26100", "10.0.17763") is False
    assert host_runs_image_build("10.0.99999", "10.0.20348") is None
    assert (
        parse_image_reference("nginx") is not None
        and parse_image_reference("nginx").repository == "library/nginx"
    )  # type: ignore[union-attr]


def _registry() -> FakeRegistry:
    registry = FakeRegistry(accept_tokens=["fake-token"])
    registry.add_image(MULTI, ["10.0.17763.6532", "10.0.20348.2849"])
    registry.add_image("mcr.microsoft.com/windows/servercore:custom", ["10.0.20348.2849"])
    registry.add_image("contoso.azurecr.io/shop/web:1.4", ["10.0.17763.6532"])
    registry.add_image("mcr.microsoft.com/cbl-mariner/base/nginx:1", os="linux")
    return registry


def test_reader_uses_the_real_registry_client_anonymously_and_with_a_credential() -> None:
    registry = _registry()
    reader = RegistryReader(FakeCredential(), transport=registry)
    multi = reader(MULTI)
    assert multi.builds == {"10.0.17763", "10.0.20348"} and "10.0.20348.2849" in multi.evidence
    assert judge_image(multi, "10.0.20348") is Compatibility.COMPATIBLE
    single = reader("mcr.microsoft.com/windows/servercore:custom")
    assert single.builds == {"10.0.20348"}
    assert judge_image(single, "10.0.17763") is Compatibility.INCOMPATIBLE
    private = reader("contoso.azurecr.io/shop/web:1.4")
    assert private.builds == {"10.0.17763"}
    linux = reader("mcr.microsoft.com/cbl-mariner/base/nginx:1")
    assert judge_image(linux, "10.0.20348") is Compatibility.INCOMPATIBLE
    missing = reader("mcr.microsoft.com/nothing/here:1")
    assert missing.builds is None and "not found" in missing.evidence
    # The public registry was read anonymously (password grant), the private one through the token exchange.
    paths = [(r.host, r.path, r.status) for r in registry.journal]
    assert ("contoso.azurecr.io", "/oauth2/exchange", 200) in paths
    assert not any(h == "mcr.microsoft.com" and p == "/oauth2/exchange" for h, p, _ in paths)
    # Each image is read once.
    before = len(registry.journal)
    reader(MULTI)
    assert len(registry.journal) == before


def test_private_registry_without_credential_or_with_a_refused_token_is_unknown() -> None:
    registry = _registry()
    assert "refused" in RegistryReader(None, transport=registry)("contoso.azurecr.io/shop/web:1.4").evidence
    wrong = FakeRegistry(accept_tokens=["another-token"])
    wrong.add_image("contoso.azurecr.io/shop/web:1.4", ["10.0.17763.6532"])
    found = RegistryReader(FakeCredential(), transport=wrong)("contoso.azurecr.io/shop/web:1.4")
    assert found.builds is None and judge_image(found, "10.0.20348") is Compatibility.UNKNOWN


def test_simulator_clients_never_reach_a_real_registry() -> None:
    class Bare:
        transport = object()

    found = registry_reader_for(Bare())("mcr.microsoft.com/some/image:1")
    assert found.builds is None and "not read" in found.evidence


def _deployment(name: str, image: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "nodeSelector": {"kubernetes.io/os": "windows"},
                    "tolerations": ms.TOLERATE,
                    "containers": [{"name": "main", "image": image}],
                },
            },
        },
    }


def test_fake_kubelet_refuses_an_image_build_the_node_cannot_run() -> None:
    with FakeKubernetes(ready_delay=0) as kube:
        kube.sync_pool(
            "win22", os_type="Windows", os_sku="Windows2022", count=1, taints=["os=windows:NoSchedule"]
        )
        kube.apply(_deployment("legacy", LEGACY, replicas=1))
        kube.apply(_deployment("modern", "mcr.microsoft.com/windows/servercore:ltsc2022", replicas=1))
        kube.settle()
        pods = k8s.CoreV1Api(kube.api_client()).list_namespaced_pod("shop").items
        by_app = {p.metadata.labels["app"]: p for p in pods}
        legacy, modern = by_app["legacy"], by_app["modern"]
        assert legacy.status.phase == "Pending"
        waiting = legacy.status.container_statuses[0].state.waiting
        assert waiting.reason == "CreateContainerError"
        assert waiting.message.startswith("failed to create containerd container: hcs::CreateComputeSystem ")
        assert waiting.message.endswith(MISMATCH)
        assert not any(c.type == "Ready" and c.status == "True" for c in legacy.status.conditions)
        assert modern.status.phase == "Running"


def _with(extra: list[dict[str, Any]], images: dict[str, list[str]] | None = None) -> tuple[Any, Any, Any]:
    fake, kube, clients = ms.build()
    for image, builds in (images or {}).items():
        fake.registry.add_image(image, builds)
    kube.apply(extra)
    kube.settle()
    return fake, kube, clients


def _fast(ctx: Any) -> Any:
    return ctx


def test_ltsc2019_workload_is_refused_at_plan_time_naming_workload_container_and_image() -> None:
    fake, kube, clients = _with([_deployment("legacy", LEGACY)])
    try:
        with pytest.raises(E.UnsafeOperation) as info:
            plan_migration(clients, ms.RG, ms.NAME, "win19", reason="os-upgrade")
        text = str(info.value)
        assert "Deployment/shop/legacy container main image " + LEGACY in text
        assert "tag 2.1-windowsservercore-ltsc2019 -> 10.0.17763" in text
        assert "--allow-incompatible-images" in (info.value.remediation or "")
        assert fake.writes() == []
    finally:
        kube.stop()


def test_forced_incompatible_migration_fails_at_verify_and_keeps_the_old_pool_uncordoned() -> None:
    fake, kube, clients = _with([_deployment("legacy", LEGACY)])
    try:
        plan, ctx = plan_migration(
            clients,
            ms.RG,
            ms.NAME,
            "win19",
            reason="os-upgrade",
            allow_incompatible_images=True,
        )
        assert any("allowed although incompatible" in w and "legacy" in w for w in plan.warnings)
        result = apply_migration(plan, _fast(ctx), checkpoints=MemoryCheckpointStore())
        assert result.status is RunStatus.FAILED
        assert isinstance(result.error, E.UnsafeOperation)
        assert str(result.failed_step).startswith("verify-moved:")
        message = str(result.error)
        assert (
            "Deployment/shop/legacy" in message and "CreateContainerError" in message and MISMATCH in message
        )
        assert "pool win19 was kept" in message and "running and billed" in message
        pools = {
            p["name"] for p in fake.cluster_state(ms.SUB, ms.RG, ms.NAME)["properties"]["agentPoolProfiles"]
        }
        assert "win19" in pools
        assert fake.requests(method="DELETE") == []
        assert all(not n["spec"].get("unschedulable") for n in kube.nodes(pool="win19"))
    finally:
        kube.stop()


def test_workload_on_a_multi_build_image_moves_and_passes() -> None:
    images = {MULTI: ["10.0.17763.6532", "10.0.20348.2849"]}
    fake, kube, clients = _with([], images)
    try:
        plan, ctx = plan_migration(clients, ms.RG, ms.NAME, "win19", reason="os-upgrade")
        assert not any("cannot tell" in w for w in plan.warnings)
        assert "compatible" in plan.steps[0].reason
        assert any(
            n.resource.endswith("Deployment/shop/web")
            and "index: 10.0.17763.6532, 10.0.20348.2849" in n.reason
            for n in plan.noops
        )
        result = apply_migration(plan, _fast(ctx), checkpoints=MemoryCheckpointStore())
        assert result.status is RunStatus.SUCCEEDED, result.error
        assert fake.registry.pulls("mcr.microsoft.com")
        pools = {
            p["name"] for p in fake.cluster_state(ms.SUB, ms.RG, ms.NAME)["properties"]["agentPoolProfiles"]
        }
        assert "win19" not in pools
    finally:
        kube.stop()


def test_pool_add_refuses_when_a_windows_workload_would_land_on_an_incompatible_build() -> None:
    fake, kube, clients = _with([_deployment("legacy", LEGACY)])
    try:
        with pytest.raises(E.UnsafeOperation) as info:
            plan_add_windows_pool(
                clients, ms.RG, ms.NAME, "win22", os_sku="Windows2022", kube=kube.api_client()
            )
        assert "Deployment/shop/legacy" in str(info.value)
        # A taint the workload does not tolerate keeps it away: nothing to refuse.
        plan, _ = plan_add_windows_pool(
            clients,
            ms.RG,
            ms.NAME,
            "win22",
            os_sku="Windows2022",
            taints=["dedicated=new:NoSchedule"],
            kube=kube.api_client(),
        )
        assert plan.steps
        plan, _ = plan_add_windows_pool(
            clients,
            ms.RG,
            ms.NAME,
            "win22",
            os_sku="Windows2022",
            kube=kube.api_client(),
            allow_incompatible_images=True,
        )
        assert any("legacy" in w for w in plan.warnings)
        assert fake.writes() == []
    finally:
        kube.stop()


def test_cli_rehearsal_refuses_with_exit_5(tmp_path: Any) -> None:
    from aks_windows_ops.cli import app
    from aks_windows_ops.testing.scenario import read_scenario

    scenario = read_scenario("ws2019-retiring")
    cluster = scenario["subscriptions"][0]["resource_groups"][0]["clusters"][0]
    cluster["workloads"] = [*cluster.get("workloads", []), _deployment("legacy", LEGACY, replicas=1)]
    scenario["images"] = [{"image": MULTI, "builds": ["10.0.17763.6532", "10.0.20348.2849"]}]
    path = tmp_path / "legacy.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["migrate", "--simulate", str(path), "--pool", "win19", "--reason", "os-upgrade"]
    )
    assert result.exit_code == 5, result.output
    assert "Deployment/shop/legacy" in result.output and "Traceback" not in result.output


def test_cli_pool_add_refuses_with_exit_5_and_allows_on_request(tmp_path: Any) -> None:
    from aks_windows_ops.cli import app
    from aks_windows_ops.testing.scenario import read_scenario

    scenario = read_scenario("ws2019-retiring")
    cluster = scenario["subscriptions"][0]["resource_groups"][0]["clusters"][0]
    cluster["workloads"] = [_deployment("legacy", LEGACY, replicas=1)]
    path = tmp_path / "legacy.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    args = ["pool", "add", "--simulate", str(path), "--pool", "win22", "--os-sku", "Windows2022"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 5, refused.output
    assert "Deployment/shop/legacy" in refused.output and LEGACY in refused.output
    allowed = CliRunner().invoke(app, [*args, "--allow-incompatible-images"])
    assert allowed.exit_code in (0, 1), allowed.output
    assert "allowed although incompatible" in allowed.output


def test_cli_forced_rehearsal_fails_at_verify_saying_what_is_left(tmp_path: Any) -> None:
    from aks_windows_ops.cli import app
    from aks_windows_ops.testing.scenario import read_scenario

    scenario = read_scenario("ws2019-retiring")
    cluster = scenario["subscriptions"][0]["resource_groups"][0]["clusters"][0]
    cluster["workloads"] = [_deployment("legacy", LEGACY, replicas=1)]
    path = tmp_path / "legacy.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "migrate",
            "--simulate",
            str(path),
            "--pool",
            "win19",
            "--reason",
            "os-upgrade",
            "--allow-incompatible-images",
            "--apply",
            "--yes",
            "--checkpoint",
            str(tmp_path / "cp.json"),
        ],
    )
    assert result.exit_code not in (0, 1), result.output
    assert "CreateContainerError" in result.output and "pool win19 was kept" in result.output
    assert "az aks nodepool delete" in result.output and "Traceback" not in result.output


def test_scenario_images_feed_the_registry_and_bad_entries_are_named() -> None:
    from aks_windows_ops.testing.scenario import load_scenario

    fake = load_scenario(
        {"name": "x", "images": [{"image": MULTI, "builds": ["10.0.17763.1", "10.0.20348.1"]}]}
    )
    assert fake.registry.builds_of(MULTI) == {"10.0.17763", "10.0.20348"}
    with pytest.raises(ValueError, match="images entry 1"):
        load_scenario({"name": "x", "images": [{"image": MULTI, "builds": ["abc"]}]})
    with pytest.raises(ValueError, match="images entry 1"):
        load_scenario({"name": "x", "images": [{"builds": ["10.0.17763"]}]})


def test_judge_workloads_from_manifests() -> None:
    from aks_windows_ops.runbooks.image_check import judge_workloads

    manifests = [
        _deployment("legacy", LEGACY),
        _deployment("modern", "mcr.microsoft.com/windows/servercore:ltsc2022"),
        _deployment("multi", MULTI),
    ]
    verdicts = {v.workload: v.result for v in judge_workloads(manifests, "Windows2025")}
    assert verdicts == {
        "Deployment/shop/legacy": Compatibility.INCOMPATIBLE,
        "Deployment/shop/modern": Compatibility.COMPATIBLE,
        "Deployment/shop/multi": Compatibility.UNKNOWN,
    }
    registry = _registry()
    reader = RegistryReader(FakeCredential(), transport=registry)
    resolved = {v.workload: v.result for v in judge_workloads(manifests, "Windows2022", reader)}
    assert resolved["Deployment/shop/multi"] is Compatibility.COMPATIBLE
    with pytest.raises(E.InvalidInput):
        judge_workloads(manifests, "Ubuntu")


def test_cli_forced_rehearsal_blocked_by_a_budget_names_the_image_as_the_cause(tmp_path: Any) -> None:
    """A budget blocks the drain because the replacements can never start: the message says so, not "relax it"."""
    from aks_windows_ops.cli import app
    from aks_windows_ops.testing.scenario import read_scenario

    scenario = read_scenario("ws2019-retiring")
    cluster = scenario["subscriptions"][0]["resource_groups"][0]["clusters"][0]
    pinned = yaml.safe_dump(cluster["workloads"]).replace(
        "mcr.microsoft.com/dotnet/framework/aspnet:4.8",
        "mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2019",
    )
    cluster["workloads"] = yaml.safe_load(pinned)
    assert any(w.get("kind") == "PodDisruptionBudget" for w in cluster["workloads"])
    path = tmp_path / "pinned.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    args = ["migrate", "--simulate", str(path), "--pool", "win19", "--reason", "os-upgrade"]
    result = CliRunner().invoke(app, [*args, "--allow-incompatible-images", "--apply", "--yes"])
    assert result.exit_code == 5, result.output
    assert "pool win19 was kept" in result.output and "never started" in result.output
    assert "does not match the host operating system" in result.output
    assert (
        "Rebuild the listed images" in result.output and "Relax the PodDisruptionBudget" not in result.output
    )
