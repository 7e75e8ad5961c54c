from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from aks_windows_ops.errors import PreflightFailed
from aks_windows_ops.models import (
    ClusterSnapshot,
    OsType,
    PoolMode,
    Severity,
    SubnetUsage,
    VmssInstance,
    VmssSnapshot,
)
from aks_windows_ops.rules.preflight import RUNBOOKS, PreflightReport
from aks_windows_ops.rules.preflight import preflight as run_preflight

#: The lifecycle findings (Windows OS retirement, Kubernetes support) depend on the day; they have their own
#: tests with fixed dates (tests/rules/test_rules_lifecycle.py). Here they are left out so that each case
#: shows the one rule it is about.
LIFECYCLE_CODES = frozenset(
    {
        "WINDOWS_OS_RETIRED",
        "WINDOWS_OS_RETIRING",
        "WINDOWS_OS_LIFECYCLE",
        "KUBERNETES_OUT_OF_SUPPORT",
        "KUBERNETES_SUPPORT_ENDING",
        "KUBERNETES_SUPPORT_END",
    }
)


def preflight(snapshot: ClusterSnapshot, workloads: list[dict[str, Any]] | None = None) -> PreflightReport:
    report = run_preflight(snapshot, workloads, as_of=date(2026, 11, 26))
    return PreflightReport(report.cluster, tuple(f for f in report.findings if f.code not in LIFECYCLE_CODES))


SUBNET = "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/nodes"
POD_SUBNET = "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/pods"

Build = Callable[[Callable[..., Any], Callable[..., Any], Callable[..., Any]], ClusterSnapshot]


def _vmss(pool: str, license_type: str | None, *instances: VmssInstance) -> VmssSnapshot:
    return VmssSnapshot(
        name=f"aks-{pool}-12345-vmss",
        resource_group="MC_rg_aks1_westeurope",
        pool_name=pool,
        license_type=license_type,
        capacity=len(instances),
        instances=instances,
    )


def _vm(name: str, license_type: str | None, latest: bool | None = True) -> VmssInstance:
    return VmssInstance(
        instance_id=name[-1], name=name, license_type=license_type, latest_model_applied=latest
    )


# (id, build(cluster, pool, windows_pool), expected code, expected severity, expected runbook)
CASES: list[tuple[str, Build, str, Severity, str | None]] = [
    (
        "windows-name-7-chars",
        lambda c, p, w: c(pools=(p(), w("winpool"))),
        "WINDOWS_POOL_NAME_TOO_LONG",
        Severity.ERROR,
        "migrate",
    ),
    (
        "linux-name-uppercase",
        lambda c, p, w: c(pools=(p("Sys"), w())),
        "POOL_NAME_INVALID",
        Severity.ERROR,
        "migrate",
    ),
    (
        "kubenet-with-windows",
        lambda c, p, w: c(network_plugin="kubenet", network_plugin_mode=None),
        "WINDOWS_REQUIRES_AZURE_CNI",
        Severity.ERROR,
        None,
    ),
    (
        "windows-system-pool",
        lambda c, p, w: c(pools=(p(), w(mode=PoolMode.SYSTEM))),
        "WINDOWS_POOL_SYSTEM_MODE",
        Severity.ERROR,
        "migrate",
    ),
    (
        "no-linux-system-pool",
        lambda c, p, w: c(pools=(p(mode=PoolMode.USER), w())),
        "NO_LINUX_SYSTEM_POOL",
        Severity.ERROR,
        "add-pool",
    ),
    (
        "system-pool-one-node",
        lambda c, p, w: c(pools=(p(count=1), w())),
        "SYSTEM_POOL_TOO_SMALL",
        Severity.WARNING,
        None,
    ),
    (
        "more-pools-than-max",
        lambda c, p, w: c(max_agent_pools=3, pools=(p(), w("w1"), w("w2"), w("w3"))),
        "TOO_MANY_POOLS",
        Severity.ERROR,
        None,
    ),
    (
        "pool-limit-reached",
        lambda c, p, w: c(max_agent_pools=2),
        "POOL_LIMIT_REACHED",
        Severity.WARNING,
        None,
    ),
    (
        "more-than-1000-nodes",
        lambda c, p, w: c(pools=(p(count=600), w(count=401))),
        "TOO_MANY_NODES",
        Severity.ERROR,
        None,
    ),
    (
        "system-pool-zero-nodes",
        lambda c, p, w: c(pools=(p(), p("sys2", count=0), w())),
        "POOL_NODE_COUNT_INVALID",
        Severity.ERROR,
        None,
    ),
    (
        "ws2019-on-1.33",
        lambda c, p, w: c(
            kubernetes_version="1.33.0",
            current_kubernetes_version="1.33.0",
            pools=(
                p(orchestrator_version="1.33.0", current_orchestrator_version="1.33.0"),
                w(os_sku="Windows2019"),
            ),
        ),
        "WINDOWS_OS_KUBERNETES_UNSUPPORTED",
        Severity.ERROR,
        "migrate",
    ),
    (
        "ws2019-on-1.32",
        lambda c, p, w: c(
            kubernetes_version="1.32.3",
            current_kubernetes_version="1.32.3",
            pools=(
                p(orchestrator_version="1.32.3", current_orchestrator_version="1.32.3"),
                w(os_sku="Windows2019", orchestrator_version="1.32.3", current_orchestrator_version="1.32.3"),
            ),
        ),
        "WINDOWS_OS_LAST_KUBERNETES_MINOR",
        Severity.WARNING,
        "migrate",
    ),
    (
        "ws2025-below-1.32",
        lambda c, p, w: c(pools=(p(), w(os_sku="Windows2025"))),
        "WINDOWS_OS_KUBERNETES_UNSUPPORTED",
        Severity.ERROR,
        "patch",
    ),
    (
        "linux-sku-on-windows-pool",
        lambda c, p, w: c(pools=(p(), w(os_sku="Ubuntu"))),
        "OS_SKU_MISMATCH",
        Severity.ERROR,
        "migrate",
    ),
    (
        "pool-above-control-plane",
        lambda c, p, w: c(
            pools=(p(), w(orchestrator_version="1.32.0", current_orchestrator_version="1.32.0"))
        ),
        "POOL_VERSION_SKEW",
        Severity.ERROR,
        "patch",
    ),
    (
        "pool-four-minors-behind",
        lambda c, p, w: c(
            pools=(p(), w(orchestrator_version="1.27.9", current_orchestrator_version="1.27.9"))
        ),
        "POOL_VERSION_SKEW",
        Severity.ERROR,
        "patch",
    ),
    (
        "unreadable-control-plane-version",
        lambda c, p, w: c(kubernetes_version="latest", current_kubernetes_version="latest"),
        "VERSION_UNREADABLE",
        Severity.WARNING,
        None,
    ),
    (
        "unreadable-pool-version",
        lambda c, p, w: c(pools=(p(), w(orchestrator_version="weird", current_orchestrator_version="weird"))),
        "VERSION_UNREADABLE",
        Severity.WARNING,
        None,
    ),
    (
        "service-principal",
        lambda c, p, w: c(uses_service_principal=True, identity_type=None),
        "SERVICE_PRINCIPAL_WITH_WINDOWS",
        Severity.WARNING,
        "migrate",
    ),
    (
        "created-before-2020-never-upgraded",
        lambda c, p, w: c(
            created_before_2020=True,
            kubernetes_version="1.17.0",
            current_kubernetes_version="1.17.0",
            pools=(
                p(orchestrator_version="1.17.0", current_orchestrator_version="1.17.0"),
                w(os_sku="Windows2019", orchestrator_version="1.17.0", current_orchestrator_version="1.17.0"),
            ),
        ),
        "OLD_WINDOWS_IMAGE",
        Severity.ERROR,
        "patch",
    ),
    (
        "node-image-behind",
        lambda c, p, w: c(
            pools=(p(), w(latest_node_image_version="AKSWindows-2022-containerd-20348.3000.250210"))
        ),
        "NODE_IMAGE_OUTDATED",
        Severity.INFO,
        "patch",
    ),
    (
        "image-needs-control-plane-upgrade",
        lambda c, p, w: c(
            control_plane_upgrades=("1.31.5", "1.32.1"),
            pools=(
                p(latest_node_image_version="AKSUbuntu-2204gen2containerd-202505.12.0"),
                w(latest_node_image_version="AKSWindows-2022-containerd-20348.3000.250210"),
            ),
        ),
        "WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE",
        Severity.WARNING,
        "patch",
    ),
    (
        "auto-upgrade-on",
        lambda c, p, w: c(auto_upgrade_channel="patch"),
        "AUTO_UPGRADE_BLOCKS_CONTROL_PLANE_ONLY",
        Severity.INFO,
        "patch",
    ),
    (
        "max-agent-pools-below-8",
        lambda c, p, w: c(max_agent_pools=5),
        "CONTROL_PLANE_ONLY_UPGRADE_UNAVAILABLE",
        Severity.INFO,
        "patch",
    ),
    (
        "ahub-on-vmss-off",
        lambda c, p, w: c(license_type="Windows_Server", scale_sets=(_vmss("win1", "None"),)),
        "AHUB_DRIFT",
        Severity.WARNING,
        "ahub",
    ),
    (
        "ahub-on-instance-off",
        lambda c, p, w: c(
            license_type="Windows_Server",
            scale_sets=(
                _vmss(
                    "win1",
                    "Windows_Server",
                    _vm("akswin1000000", "Windows_Server"),
                    _vm("akswin1000001", None),
                ),
            ),
        ),
        "AHUB_DRIFT",
        Severity.WARNING,
        "ahub",
    ),
    (
        "ahub-only-on-vmss",
        lambda c, p, w: c(license_type=None, scale_sets=(_vmss("win1", "Windows_Server"),)),
        "AHUB_SET_OUTSIDE_CLUSTER",
        Severity.INFO,
        "ahub",
    ),
    (
        "vmss-model-not-applied",
        lambda c, p, w: c(
            license_type="Windows_Server",
            scale_sets=(
                _vmss("win1", "Windows_Server", _vm("akswin1000000", "Windows_Server", latest=False)),
            ),
        ),
        "SCALE_SET_MODEL_NOT_APPLIED",
        Severity.INFO,
        "ahub",
    ),
    (
        "vmss-missing",
        lambda c, p, w: c(scale_sets=(_vmss("other", None),)),
        "SCALE_SET_NOT_FOUND",
        Severity.INFO,
        None,
    ),
    (
        "max-pods-out-of-range",
        lambda c, p, w: c(pools=(p(max_pods=5), w())),
        "MAX_PODS_OUT_OF_RANGE",
        Severity.ERROR,
        "migrate",
    ),
    (
        "windows-max-pods-low",
        lambda c, p, w: c(pools=(p(), w(max_pods=12))),
        "WINDOWS_MAX_PODS_LOW",
        Severity.INFO,
        "migrate",
    ),
    (
        "windows-max-pods-high",
        lambda c, p, w: c(pools=(p(), w(max_pods=250))),
        "WINDOWS_MAX_PODS_HIGH",
        Severity.INFO,
        "migrate",
    ),
    (
        "node-subnet-no-surge-room",
        # Node subnet CNI, 10 nodes x 30 pods: a 1-node surge needs 31 addresses; 20 are free.
        lambda c, p, w: c(
            network_plugin_mode=None,
            subnets=(SubnetUsage(SUBNET, "10.0.0.0/24", 231, 251),),
            pools=(p(), w(count=10, vnet_subnet_id=SUBNET)),
        ),
        "SUBNET_NO_SURGE_ROOM",
        Severity.WARNING,
        "migrate",
    ),
    (
        "pod-subnet-no-surge-room",
        lambda c, p, w: c(
            network_plugin_mode=None,
            subnets=(
                SubnetUsage(SUBNET, "10.0.0.0/24", 0, 251),
                SubnetUsage(POD_SUBNET, "10.1.0.0/24", 240, 251),
            ),
            pools=(p(), w(count=10, vnet_subnet_id=SUBNET, pod_subnet_id=POD_SUBNET)),
        ),
        "SUBNET_NO_SURGE_ROOM",
        Severity.WARNING,
        "migrate",
    ),
    (
        "max-surge-garbage",
        lambda c, p, w: c(subnets=(SubnetUsage(SUBNET, None, 0, 251),), pools=(p(), w(max_surge="lots"))),
        "MAX_SURGE_INVALID",
        Severity.WARNING,
        None,
    ),
    ("gmsa-status", lambda c, p, w: c(), "GMSA_STATUS", Severity.INFO, None),
    (
        "windows-profile-missing",
        lambda c, p, w: c(windows_admin_username=None),
        "WINDOWS_PROFILE_MISSING",
        Severity.WARNING,
        "password",
    ),
    (
        "pool-failed",
        lambda c, p, w: c(pools=(p(), w(provisioning_state="Failed"))),
        "PROVISIONING_FAILED",
        Severity.WARNING,
        None,
    ),
    (
        "cluster-upgrading",
        lambda c, p, w: c(provisioning_state="Upgrading"),
        "OPERATION_IN_PROGRESS",
        Severity.WARNING,
        None,
    ),
    (
        "pool-unknown-state-counts-as-running",
        lambda c, p, w: c(pools=(p(), w(provisioning_state="ReimagingSomethingNew"))),
        "OPERATION_IN_PROGRESS",
        Severity.WARNING,
        None,
    ),
]


def test_healthy_cluster_has_only_the_gmsa_info(cluster: Callable[..., ClusterSnapshot]) -> None:
    report = preflight(cluster())
    assert report.codes == ("GMSA_STATUS",)
    assert report.exit_code == 0
    assert report.ok


@pytest.mark.parametrize(
    ("build", "code", "severity", "runbook"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule(
    build: Build,
    code: str,
    severity: Severity,
    runbook: str | None,
    cluster: Callable[..., Any],
    pool: Callable[..., Any],
    windows_pool: Callable[..., Any],
) -> None:
    report = preflight(build(cluster, pool, windows_pool))
    matches = report.by_code(code)
    assert matches, report.to_text()
    finding = matches[0]
    assert finding.severity is severity
    assert finding.runbook == runbook
    assert finding.message and finding.remediation and finding.faq
    assert finding.code.isupper() and " " not in finding.code
    if runbook is not None:
        assert runbook in RUNBOOKS
        assert runbook in finding.remediation or "--reason" in finding.remediation


def test_clean_variants_do_not_fire(
    cluster: Callable[..., ClusterSnapshot], pool: Callable[..., Any], windows_pool: Callable[..., Any]
) -> None:
    # Boundary values that are allowed: 6-char Windows name, 3 minors behind, subnet with just enough room.
    snapshot = cluster(
        network_plugin_mode=None,
        subnets=(SubnetUsage(SUBNET, "10.0.0.0/24", 220, 251),),
        pools=(
            pool(count=2),
            windows_pool(
                "win123",
                count=10,
                vnet_subnet_id=SUBNET,
                orchestrator_version="1.28.15",
                current_orchestrator_version="1.28.15",
            ),
        ),
        license_type="Windows_Server",
        scale_sets=(_vmss("win123", "Windows_Server", _vm("akswin123000000", "Windows_Server")),),
    )
    report = preflight(snapshot)
    # Just enough room for the surge, not for a whole replacement pool beside it (informational).
    assert report.codes == ("GMSA_STATUS", "NO_ROOM_FOR_REPLACEMENT_POOL"), report.to_text()
    roomy = preflight(replace(snapshot, subnets=(SubnetUsage(SUBNET, "10.0.0.0/22", 220, 1019),)))
    assert roomy.codes == ("GMSA_STATUS",), roomy.to_text()


def test_findings_sorted_errors_first_and_exit_codes(
    cluster: Callable[..., ClusterSnapshot], pool: Callable[..., Any], windows_pool: Callable[..., Any]
) -> None:
    snapshot = cluster(
        network_plugin="kubenet",
        uses_service_principal=True,
        pools=(pool(count=1), windows_pool("toolongname")),
    )
    report = preflight(snapshot)
    ranks = [f.severity.rank for f in report.findings]
    assert ranks == sorted(ranks, reverse=True)
    assert report.exit_code == 2
    assert {"WINDOWS_REQUIRES_AZURE_CNI", "WINDOWS_POOL_NAME_TOO_LONG"} <= {f.code for f in report.errors}
    assert {"SERVICE_PRINCIPAL_WITH_WINDOWS", "SYSTEM_POOL_TOO_SMALL"} <= {f.code for f in report.warnings}
    with pytest.raises(PreflightFailed) as info:
        report.raise_for_errors()
    assert len(info.value.findings) == len(report.errors)

    warn_only = preflight(cluster(uses_service_principal=True))
    assert warn_only.exit_code == 1
    warn_only.raise_for_errors()


def test_report_is_frozen_and_renders(cluster: Callable[..., ClusterSnapshot]) -> None:
    report = preflight(cluster(provisioning_state="Updating"))
    assert isinstance(report, PreflightReport)
    with pytest.raises(AttributeError):
        report.cluster = "x"  # type: ignore[misc]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["cluster"] == "rg/aks1"
    assert data["exit_code"] == 1
    assert data["counts"] == {"error": 0, "warning": 1, "info": 1}
    assert data["findings"][0]["code"] == "OPERATION_IN_PROGRESS"
    text = report.to_text()
    assert text.splitlines()[0].startswith("Preflight rg/aks1: 0 error(s), 1 warning(s), 1 info")
    assert "WARNING OPERATION_IN_PROGRESS [ManagedCluster/rg/aks1]" in text
    assert "fix: Wait" in text


def test_empty_report_text() -> None:
    assert PreflightReport(cluster="rg/x").to_text().endswith("no findings")
    assert PreflightReport(cluster="rg/x").exit_code == 0


def test_linux_only_cluster_has_no_windows_findings(
    cluster: Callable[..., ClusterSnapshot], pool: Callable[..., Any]
) -> None:
    report = preflight(cluster(network_plugin="kubenet", uses_service_principal=True, pools=(pool(),)))
    assert report.codes == ()


def test_workloads_are_linted_with_the_pools_builds(
    cluster: Callable[..., ClusterSnapshot], pool: Callable[..., Any], windows_pool: Callable[..., Any]
) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 70,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "nodeSelector": {"kubernetes.io/os": "windows"},
                    "containers": [
                        {
                            "name": "web",
                            "image": "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2019",
                        }
                    ],
                },
            },
        },
    }
    report = preflight(cluster(pools=(pool(), windows_pool(max_pods=30, count=2))), [deployment])
    mismatch = report.by_code("WINDOWS_IMAGE_BUILD_MISMATCH")
    assert mismatch and mismatch[0].resource == "Deployment/shop/web"
    assert "10.0.17763" in mismatch[0].message and "10.0.20348" in mismatch[0].message
    capacity = report.by_code("WINDOWS_POD_CAPACITY_EXCEEDED")
    assert capacity and "70 pods" in capacity[0].message and "60 pod slots" in capacity[0].message
    assert report.exit_code == 2


def test_workload_capacity_accounts_for_daemonsets(
    cluster: Callable[..., ClusterSnapshot], pool: Callable[..., Any], windows_pool: Callable[..., Any]
) -> None:
    def template(kind: str, replicas: int | None) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "template": {
                "metadata": {"labels": {"app": kind.lower()}},
                "spec": {
                    "nodeSelector": {"kubernetes.io/os": "windows"},
                    "containers": [{"name": "c", "image": "x"}],
                },
            }
        }
        if replicas is not None:
            spec["replicas"] = replicas
        return {"kind": kind, "metadata": {"name": kind.lower()}, "spec": spec}

    snapshot = cluster(pools=(pool(), windows_pool(max_pods=30, count=2)))
    fits = preflight(snapshot, [template("Deployment", 58), template("DaemonSet", None)])
    assert not fits.by_code("WINDOWS_POD_CAPACITY_EXCEEDED")
    too_many = preflight(snapshot, [template("Deployment", 59), template("DaemonSet", None)])
    assert too_many.by_code("WINDOWS_POD_CAPACITY_EXCEEDED")


def test_no_windows_pools_makes_windows_workloads_pending(
    cluster: Callable[..., ClusterSnapshot], pool: Callable[..., Any]
) -> None:
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "nodeSelector": {"kubernetes.io/os": "windows"},
            "containers": [{"name": "c", "image": "x"}],
        },
    }
    report = preflight(cluster(pools=(pool(),)), [pod])
    assert report.codes == ("WINDOWS_WORKLOAD_WITHOUT_WINDOWS_POOL",)


def test_every_runbook_named_is_a_library_runbook(
    cluster: Callable[..., ClusterSnapshot], pool: Callable[..., Any], windows_pool: Callable[..., Any]
) -> None:
    for _, build, *_ in CASES:
        for finding in preflight(build(cluster, pool, windows_pool)).findings:
            assert finding.runbook is None or finding.runbook in RUNBOOKS
            assert finding.severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)


def test_pool_os_type_drives_windows_rules(
    cluster: Callable[..., ClusterSnapshot], pool: Callable[..., Any]
) -> None:
    # A Linux pool named like a Windows one is fine up to 12 characters.
    report = preflight(cluster(pools=(pool(), pool("linuxpool12", mode=PoolMode.USER, os_type=OsType.LINUX))))
    assert report.codes == ()


def test_image_upgrade_after_control_plane_upgrade_is_only_outdated(
    cluster: Callable[..., ClusterSnapshot], pool: Callable[..., Any], windows_pool: Callable[..., Any]
) -> None:
    # The Windows pool is offered an image as new as the Linux pools': a node image upgrade is all it needs.
    snapshot = cluster(
        kubernetes_version="1.31.5",
        current_kubernetes_version="1.31.5",
        control_plane_upgrades=("1.32.1",),
        pools=(
            pool(latest_node_image_version="AKSUbuntu-2204gen2containerd-202502.10.0"),
            windows_pool(latest_node_image_version="AKSWindows-2022-containerd-20348.3000.250210"),
        ),
    )
    report = preflight(snapshot)
    assert "NODE_IMAGE_OUTDATED" in report.codes
    assert "WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE" not in report.codes
    # Held back (the Linux pools are offered a much newer release) with no control plane upgrade offered:
    # the hint is informational only.
    stuck = preflight(
        cluster(
            pools=(
                pool(latest_node_image_version="AKSUbuntu-2204gen2containerd-202506.10.0"),
                windows_pool(latest_node_image_version="AKSWindows-2022-containerd-20348.3000.250210"),
            )
        )
    )
    assert stuck.by_code("WINDOWS_IMAGE_NEEDS_CONTROL_PLANE_UPGRADE")[0].severity is Severity.INFO
