"""A Windows Server 2019 cluster with workloads on both the ARM and the Kubernetes simulators."""

from __future__ import annotations

from typing import Any

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.fake_kube import FakeKubernetes

SUB, RG, NAME = "00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps"
TOLERATE = [{"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}]


def _template(app: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {
            "nodeSelector": {"kubernetes.io/os": "windows"},
            "tolerations": TOLERATE,
            "containers": [{"name": app, "image": "mcr.microsoft.com/dotnet/framework/aspnet:4.8"}],
        },
    }


def workloads() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for app, replicas in (("web", 4), ("api", 3), ("jobs", 2)):
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": app, "namespace": "shop"},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": app}},
                    "template": _template(app),
                },
            }
        )
    out.append(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "ledger", "namespace": "shop"},
            "spec": {
                "replicas": 2,
                "serviceName": "ledger",
                "selector": {"matchLabels": {"app": "ledger"}},
                "template": _template("ledger"),
            },
        }
    )
    out.append(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "log-agent", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"app": "log-agent"}}, "template": _template("log-agent")},
        }
    )
    for app, rule in (
        ("web", {"minAvailable": 3}),
        ("api", {"maxUnavailable": 1}),
        ("ledger", {"minAvailable": 1}),
    ):
        out.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": f"{app}-pdb", "namespace": "shop"},
                "spec": {"selector": {"matchLabels": {"app": app}}, **rule},
            }
        )
    return out


def build(*, ready_delay: float = 0.0) -> tuple[FakeAzure, FakeKubernetes, AzureClients]:
    """Start the simulators (stop the returned FakeKubernetes when done)."""
    kube = FakeKubernetes(ready_delay=ready_delay).start()
    fake = FakeAzure.from_scenario("ws2019-retiring", kube=kube)
    kube.apply(workloads())
    kube.settle()
    clients = AzureClients.for_simulator(fake, SUB, polling_interval=60)
    return fake, kube, clients
