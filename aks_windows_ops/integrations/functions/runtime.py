"""The timer's process state: the client factory (injectable), the simulators of rehearsals, the opened stores (design principle "one fake, at the wire")."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from aks_windows_ops.integrations.functions.settings import ClientsFactory
from aks_windows_ops.runbooks.checkpoints import (
    CheckpointStore,
    MemoryCheckpointStore,
    checkpoint_store_from_url,
)
from aks_windows_ops.runbooks.integrity import sign_store

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.azure.clients import AzureClients

__all__ = ["clients_factory", "open_store", "reset_runtime", "set_clients_factory", "simulator"]

_lock = threading.Lock()
_factory: ClientsFactory | None = None
_simulators: dict[str, Any] = {}
_stores: dict[str, CheckpointStore] = {}
_memory_documents: dict[str, dict[str, Any]] = {}
_base_clients: dict[str, AzureClients] = {}


def set_clients_factory(factory: ClientsFactory | None) -> None:
    """Make every function of this module build its client bundles with ``factory`` (``None`` restores).

    Tests and rehearsals pass ``lambda sub: AzureClients.for_simulator(fake, sub)``.
    """
    global _factory
    with _lock:
        _factory = factory


def reset_runtime() -> None:
    """Forget the injected factory, the simulators, the opened stores and in-memory reports (for tests)."""
    global _factory
    with _lock:
        _factory = None
        _simulators.clear()
        _stores.clear()
        _memory_documents.clear()
        _base_clients.clear()


def simulator(scenario: str) -> Any:
    """Return this process's ``FakeAzure`` for ``scenario`` (built on first use, then kept).

    Keeping one per process lets consecutive timer runs in a rehearsal see their operations progress.
    """
    with _lock:
        fake = _simulators.get(scenario)
        if fake is None:
            from aks_windows_ops.rehearsal import load_scenario

            fake = load_scenario(scenario)
            _simulators[scenario] = fake
        return fake


def clients_factory(*, simulate: str | None = None) -> ClientsFactory:
    """Return how to build the client bundle of a subscription (design principle "one fake, at the wire": injectable).

    In order: the factory given to :func:`set_clients_factory`; the simulator of ``simulate`` (a scenario);
    else ``AzureClients`` with ``DefaultAzureCredential`` (the managed identity in Azure), one credential
    shared by every subscription and a fresh bundle per call (each run sets its own deadline on it).

    Args:
        simulate: a scenario name or file, as ``AKS_WINDOWS_OPS_SIMULATE`` gives it.
    """
    from aks_windows_ops.azure.clients import AzureClients

    with _lock:
        injected = _factory
    if injected is not None:
        return injected
    if simulate:
        fake = simulator(simulate)
        return lambda sub: AzureClients.for_simulator(fake, sub)

    def real(sub: str) -> AzureClients:
        with _lock:
            base = _base_clients.get("base")
            if base is None:
                base = AzureClients(sub)
                _ = base.credential  # resolved once: every subscription shares it and its token cache
                _base_clients["base"] = base
        return base.for_subscription(sub)

    return real


def open_store(url: str) -> CheckpointStore:
    """Open (once per process) the checkpoint store at ``url``; ``memory:<name>`` stores live as long.

    The store is wrapped in ``aks_windows_ops.runbooks.integrity.SignedStore``: what it writes carries an
    integrity tag, and records without a valid one are refused (docs/security.md).

    Raises:
        InvalidInput: the URL is not understood (see ``checkpoint_store_from_url``).
    """
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = MemoryCheckpointStore() if url.startswith("memory:") else checkpoint_store_from_url(url)
            store = sign_store(store)
            _stores[url] = store
        return store
