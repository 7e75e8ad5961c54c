"""The client bundle: real Azure SDK clients built lazily from one credential and subscription.

Design: ``azure/`` is the only package that imports the Azure SDKs. Clients are created on first use (a cold
``import aks_windows_ops`` imports no SDK: Service facts: Anchor figures) and share one transport. Their one retry
layer is ``azure.retry.ReadRetryPolicy`` in place of azure-core's ``RetryPolicy``: reads are repeated on the
bundle's clock with ``Retry-After`` capped at the remaining time budget, writes are sent once (Service facts:
ARM behaviour).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aks_windows_ops.clock import Clock, system_clock

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.core.credentials import TokenCredential
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resourcegraph import ResourceGraphClient

__all__ = ["AzureClients"]


class AzureClients:
    """Lazily built ``ContainerServiceClient``, ``ComputeManagementClient`` and ``NetworkManagementClient``.

    Args:
        subscription_id: the subscription the clients address.
        credential: any azure-identity credential; ``DefaultAzureCredential`` (managed identity in Azure
            Functions, the developer's login elsewhere) when omitted.
        transport: an azure-core ``HttpTransport`` (the simulator's ``FakeAzure`` in rehearsals and tests).
        polling_interval: seconds between operation polls (the CLI's 30 s by default).
        max_retry_after: the longest ``Retry-After`` honoured when no time budget is set.
        retry_total: how many times a read is sent again after a transient answer (writes are sent once).
        clock: the one :class:`~aks_windows_ops.clock.Clock` every wait of a run uses; by default the
            simulator's virtual clock when ``transport`` has one, else the system's.
        logging_enable: azure-core's HTTP trace at DEBUG (credentials are masked, see ``azure.redact``).
    """

    def __init__(
        self,
        subscription_id: str,
        *,
        credential: TokenCredential | None = None,
        transport: Any = None,
        polling_interval: float = 30.0,
        max_retry_after: float = 120.0,
        retry_total: int = 6,
        clock: Clock | None = None,
        logging_enable: bool = False,
    ) -> None:
        self.logging_enable = logging_enable
        self.subscription_id = subscription_id
        self._credential = credential
        self.transport = transport
        self.polling_interval = polling_interval
        self.max_retry_after = max_retry_after
        self.retry_total = retry_total
        fake_clock = getattr(transport, "clock", None)
        self._run_clock: Clock = clock or (fake_clock if isinstance(fake_clock, Clock) else system_clock)
        #: Monotonic seconds on :attr:`run_clock` (deadlines and budgets).
        self.clock: Callable[[], float] = self._run_clock.monotonic
        # The simulator's transport waits on the same virtual clock (and never waits zero seconds).
        transport_sleep = (
            getattr(transport, "sleep", None) if clock is None and fake_clock is not None else None
        )
        #: How to wait: the run clock's ``sleep``.
        self.sleep: Callable[[float], None] = transport_sleep or self._run_clock.sleep
        #: Absolute deadline on :attr:`clock` (set by the runner); ``None`` = no budget.
        self.deadline: float | None = None

    @property
    def run_clock(self) -> Clock:
        """The clock runs on these clients wait on: the simulator's virtual clock, else the system's."""
        return self._run_clock

    @property
    def mode(self) -> str:
        """Where requests go: ``azure``, or ``twin`` / ``twin:<name>`` for a simulated transport.

        Plans record it, and a rehearsal plan is never sent to Azure (``Plan.refusal``).
        """
        if not getattr(self.transport, "simulated", False):
            return "azure"
        name = getattr(self.transport, "twin_name", None)
        return f"twin:{name}" if name else "twin"

    def remaining(self) -> float | None:
        """Seconds left before :attr:`deadline`, or ``None`` without a budget."""
        if self.deadline is None:
            return None
        return self.deadline - self.clock()

    def read_retry_policy(self) -> Any:
        """The pipeline's one retry layer: reads repeated on this bundle's clock within its budget, writes once."""
        from aks_windows_ops.azure.retry import ReadRetryPolicy

        return ReadRetryPolicy(
            sleep=self.sleep,
            remaining=self.remaining,
            retries=self.retry_total,
            max_retry_after=self.max_retry_after,
            now=self.run_clock.now,
        )

    @cached_property
    def credential(self) -> TokenCredential:
        """The credential (``DefaultAzureCredential`` unless one was given)."""
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        return self._credential

    def _kwargs(self) -> dict[str, Any]:
        from aks_windows_ops.azure.redact import RedactingNetworkTraceLoggingPolicy

        kwargs: dict[str, Any] = {
            "polling_interval": self.polling_interval,
            "retry_policy": self.read_retry_policy(),
        }
        if self.transport is not None:
            kwargs["transport"] = self.transport
        if self.logging_enable:
            kwargs["logging_enable"] = True
        # The HTTP trace (DEBUG, logging_enable) is written with every credential masked (docs/security.md).
        kwargs["logging_policy"] = RedactingNetworkTraceLoggingPolicy(logging_enable=self.logging_enable)
        return kwargs

    @cached_property
    def containerservice(self) -> ContainerServiceClient:
        """The AKS management client."""
        from azure.mgmt.containerservice import ContainerServiceClient

        return ContainerServiceClient(self.credential, self.subscription_id, **self._kwargs())

    @cached_property
    def compute(self) -> ComputeManagementClient:
        """The compute client (scale sets in the node resource group)."""
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(self.credential, self.subscription_id, **self._kwargs())

    @cached_property
    def network(self) -> NetworkManagementClient:
        """The network client (subnet usage)."""
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(self.credential, self.subscription_id, **self._kwargs())

    @cached_property
    def resource_graph(self) -> ResourceGraphClient:
        """The Azure Resource Graph client (fleet reads across subscriptions; not scoped to one)."""
        from azure.mgmt.resourcegraph import ResourceGraphClient

        return ResourceGraphClient(self.credential, **self._kwargs())

    def for_subscription(self, subscription_id: str) -> AzureClients:
        """Return a bundle for another subscription sharing credential, transport and settings."""
        other = AzureClients(
            subscription_id,
            credential=self._credential,
            transport=self.transport,
            polling_interval=self.polling_interval,
            max_retry_after=self.max_retry_after,
            retry_total=self.retry_total,
            clock=self._run_clock,
            logging_enable=self.logging_enable,
        )
        other.sleep = self.sleep
        other.deadline = self.deadline
        return other

    @classmethod
    def for_simulator(cls, fake: Any, subscription_id: str, **kwargs: Any) -> AzureClients:
        """Return a bundle that talks to a ``FakeAzure`` with its fake credential and virtual clock."""
        kwargs.setdefault("polling_interval", 30.0)
        return cls(subscription_id, credential=fake.credential(), transport=fake, **kwargs)
