"""pytest fixtures for testing your own automation against a simulated AKS cluster.

Installed with the package as a pytest plugin (entry point ``pytest11``), so the fixtures are available in any
test suite of a project that depends on ``aks-windows-ops``; add ``-p no:aks_windows_ops`` to switch it off, or
``pytest_plugins = ["aks_windows_ops.testing.pytest_plugin"]`` in a ``conftest.py`` where plugin autoloading is
disabled. Everything runs in memory and on loopback, on one virtual clock: no Azure account, no real waiting.

Fixtures:

* ``aks_twin``: a :class:`SimulatedCluster` built from a scenario (the ``healthy`` built-in unless the test is
  marked ``@pytest.mark.aks_scenario("legacy-2019")`` or names a scenario file): the ARM emulator, its
  Kubernetes API server (started), and the first cluster's subscription, resource group and name.
* ``aks_clients``: an ``AzureClients`` bundle (the real Azure SDK clients) bound to that twin.
* ``aks_kube_api``: a ``kubernetes.client.ApiClient`` bound to the twin's Kubernetes API server.

Example::

    import pytest
    from aks_windows_ops.azure.facts import read_snapshot

    @pytest.mark.aks_scenario("ws2019-retiring")
    def test_my_report(aks_twin, aks_clients):
        snap = read_snapshot(aks_clients, aks_twin.resource_group, aks_twin.name)
        assert any(p.os_sku == "Windows2019" for p in snap.pools)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = ["SimulatedCluster", "aks_clients", "aks_kube_api", "aks_twin"]

_MARK = "aks_scenario"


@dataclass
class SimulatedCluster:
    """A simulated cluster for a test.

    Attributes:
        fake: the ``FakeAzure`` ARM emulator (an azure-core transport for the real SDK clients).
        kube: the ``FakeKubernetes`` API server, started, on the same virtual clock.
        subscription_id: the cluster's subscription.
        resource_group: its resource group.
        name: its name.
    """

    fake: Any
    kube: Any
    subscription_id: str
    resource_group: str
    name: str

    @property
    def clock(self) -> Any:
        """The virtual clock both simulators run on (``sleep`` on it to let time pass)."""
        return self.fake.clock


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``aks_scenario`` marker."""
    config.addinivalue_line(
        "markers", f"{_MARK}(name_or_file): the scenario the aks_twin fixture builds (default: healthy)"
    )


@pytest.fixture
def aks_twin(request: pytest.FixtureRequest) -> Iterator[SimulatedCluster]:
    """A simulated cluster from the test's scenario (module docstring); stopped after the test."""
    from aks_windows_ops.testing.kube.fake import FakeKubernetes
    from aks_windows_ops.testing.scenario import load_scenario

    marker = request.node.get_closest_marker(_MARK)
    source = marker.args[0] if marker and marker.args else "healthy"
    kube = FakeKubernetes(ready_delay=0.0).start()
    try:
        fake = load_scenario(source, kube=kube)
        if not fake.clusters:
            raise pytest.UsageError(f"scenario {source!r} has no cluster")
        (sub, _, _), cluster = next(iter(fake.clusters.items()))
        yield SimulatedCluster(fake, kube, sub, cluster.resource_group, cluster.name)
    finally:
        kube.stop()


@pytest.fixture
def aks_clients(aks_twin: SimulatedCluster) -> Any:
    """Real Azure SDK clients (an ``AzureClients`` bundle) bound to the simulated cluster's subscription."""
    from aks_windows_ops.azure.clients import AzureClients

    return AzureClients.for_simulator(aks_twin.fake, aks_twin.subscription_id)


@pytest.fixture
def aks_kube_api(aks_twin: SimulatedCluster) -> Iterator[Any]:
    """A ``kubernetes.client.ApiClient`` bound to the simulated cluster's Kubernetes API server."""
    api = aks_twin.kube.api_client()
    try:
        yield api
    finally:
        api.close()
