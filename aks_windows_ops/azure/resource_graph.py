"""Fleet reads through Azure Resource Graph: a handful of paged queries instead of one read per resource.

Azure Resource Graph (``azure-mgmt-resourcegraph``) answers a query over many subscriptions at once, up to 1,000
rows per page with a ``$skipToken`` for the next one, and meters each user with its own quota ("for example 15
queries per 5-second window"), reported on every response as ``x-ms-user-quota-remaining`` and
``x-ms-user-quota-resets-after`` (``hh:mm:ss``); see "Guidance for throttled requests in Azure Resource Graph" on
learn.microsoft.com. It does not spend the subscriptions' ARM read quota. :class:`GraphReader` groups the
subscriptions (fewer than 300 per query, as that guidance advises), follows the pages, and waits for the quota
window to reset when the service says none is left, instead of running into 429s.

Resource Graph lags ARM by seconds to minutes: good for an audit, never for a runbook's verify step, which
reads ARM directly. Rows read here carry the time they were read (:attr:`GraphResult.read_at`).

The queries the library sends (:data:`SCALE_SETS_QUERY`, :data:`SCALE_SET_VMS_QUERY`, :data:`CLUSTERS_QUERY`)
use only ``where`` with ``=~``, ``project`` and ``order by``: the subset the simulator checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.errors import translating
from aks_windows_ops.errors import BudgetExhausted, InvalidInput, Throttled

__all__ = [
    "CLUSTERS_QUERY",
    "SCALE_SETS_QUERY",
    "SCALE_SET_VMS_QUERY",
    "GraphReader",
    "GraphResult",
    "parse_hms",
]

#: Managed clusters with their agent pool profiles (``properties.agentPoolProfiles``).
CLUSTERS_QUERY = (
    "Resources"
    " | where type =~ 'microsoft.containerservice/managedclusters'"
    " | project id, name, subscriptionId, resourceGroup, location, identity, sku, tags, properties"
    " | order by id asc"
)
#: Scale sets with their pool tag, capacity and ``licenseType`` (Azure Hybrid Benefit on the scale set model).
SCALE_SETS_QUERY = (
    "Resources"
    " | where type =~ 'microsoft.compute/virtualmachinescalesets'"
    " | project id, name, subscriptionId, resourceGroup, tags, capacity = sku.capacity,"
    " licenseType = properties.virtualMachineProfile.licenseType"
    " | order by id asc"
)
#: Scale-set VMs with their own ``licenseType`` (Azure Hybrid Benefit per instance).
SCALE_SET_VMS_QUERY = (
    "ComputeResources"
    " | where type =~ 'microsoft.compute/virtualmachinescalesets/virtualmachines'"
    " | project id, name, subscriptionId, resourceGroup, licenseType = properties.licenseType,"
    " latestModelApplied = properties.latestModelApplied, provisioningState = properties.provisioningState"
    " | order by id asc"
)

_HMS = re.compile(r"^(?:(\d+)\.)?(\d+):(\d{2}):(\d{2})(?:\.\d+)?$")


def parse_hms(text: str | None) -> float | None:
    """Seconds in an ``x-ms-user-quota-resets-after`` value (``hh:mm:ss``, optionally ``d.hh:mm:ss``)."""
    if not text:
        return None
    m = _HMS.match(text.strip())
    if m is None:
        return None
    days = int(m.group(1) or 0)
    return float(days * 86400 + int(m.group(2)) * 3600 + int(m.group(3)) * 60 + int(m.group(4)))


@dataclass
class GraphResult:
    """Rows of one query with when they were read and what it cost.

    Attributes:
        rows: the rows, in the query's order.
        read_at: the clock's reading when the last page arrived.
        pages: requests sent (one per page per subscription group).
        waited: seconds spent waiting for the quota window to reset.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    read_at: float = 0.0
    pages: int = 0
    waited: float = 0.0


class GraphReader:
    """Run Resource Graph queries over many subscriptions, paged and within the user's quota.

    Args:
        clients: any bundle: its credential and transport are used (Resource Graph is not scoped
            to the bundle's subscription).
        clock: monotonic seconds (the bundle's clock by default).
        sleep: how to wait for the quota window (the bundle's ``sleep`` by default).
        page_size: rows per page (the service's maximum is 1,000).
        group_size: subscriptions per query (fewer than 300).
        retries: how many times a throttled query is sent again (after the quota window resets).
        deadline: an absolute time on ``clock``; a quota wait that would end after it raises
            ``BudgetExhausted`` instead.
    """

    def __init__(
        self,
        clients: AzureClients,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        page_size: int = 1000,
        group_size: int = 250,
        retries: int = 3,
        deadline: float | None = None,
    ) -> None:
        if not 1 <= page_size <= 1000:
            raise InvalidInput(f"the page size must be between 1 and 1000 rows, got {page_size}")
        if not 1 <= group_size < 300:
            raise InvalidInput(
                f"the group size must be between 1 and 299 subscriptions per query, got {group_size}"
            )
        self.clients = clients
        self.clock = clock or clients.clock
        self.sleep = sleep or clients.sleep
        self.page_size = page_size
        self.group_size = group_size
        self.retries = retries
        self.deadline = deadline
        #: Quota left in the current window, as the service last reported it (``None`` = not known yet).
        self.quota_remaining: int | None = None
        self._resets_at: float | None = None
        #: Requests sent so far.
        self.requests = 0

    def _pause(self, seconds: float, result: GraphResult) -> None:
        if self.deadline is not None and self.clock() + seconds > self.deadline:
            raise BudgetExhausted("the time budget runs out before Resource Graph's quota window resets")
        result.waited += seconds
        self.sleep(seconds)

    def _wait_for_quota(self, result: GraphResult) -> None:
        if self.quota_remaining is not None and self.quota_remaining <= 0 and self._resets_at is not None:
            pause = self._resets_at - self.clock()
            if pause > 0:
                self._pause(pause, result)
            self.quota_remaining = None

    def _note_quota(self, headers: Any) -> None:
        remaining = headers.get("x-ms-user-quota-remaining")
        resets = parse_hms(headers.get("x-ms-user-quota-resets-after"))
        try:
            self.quota_remaining = int(remaining) if remaining is not None else None
        except ValueError:
            self.quota_remaining = None
        self._resets_at = self.clock() + resets if resets is not None else None

    def _page(
        self, query: str, group: list[str], token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        request = QueryRequest(
            query=query,
            subscriptions=group,
            options=QueryRequestOptions(top=self.page_size, skip_token=token, result_format="objectArray"),
        )

        def keep(pipeline_response: Any, deserialized: Any, _headers: Any) -> tuple[Any, Any]:
            return deserialized, pipeline_response.http_response.headers

        self.requests += 1
        with translating("querying Azure Resource Graph"):
            reply: Any = self.clients.resource_graph.resources(request, cls=keep)
        answer, headers = reply
        self._note_quota(headers)
        data = answer.data if isinstance(answer.data, list) else []
        return data, answer.skip_token

    def query(
        self,
        query: str,
        subscriptions: Sequence[str],
        *,
        on_page: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> GraphResult:
        """Run ``query`` over ``subscriptions`` and return every row (all pages, all subscription groups).

        With ``on_page``, each page's rows are handed to it as they arrive and not kept in the result.

        Raises:
            InvalidInput: no subscription.
            Throttled: the quota stayed exhausted through every retry.
            BudgetExhausted: waiting for the quota window would pass the deadline.
            AksWindowsOpsError: any other failure, translated (403: the caller may not use Resource Graph).
        """
        subs = list(dict.fromkeys(subscriptions))
        if not subs:
            raise InvalidInput("a Resource Graph query needs at least one subscription")
        result = GraphResult()
        for start in range(0, len(subs), self.group_size):
            group = subs[start : start + self.group_size]
            token: str | None = None
            while True:
                rows, token = self._with_retries(query, group, token, result)
                if on_page is not None:
                    on_page(rows)
                else:
                    result.rows.extend(rows)
                result.pages += 1
                if not token:
                    break
        result.read_at = self.clock()
        return result

    def _with_retries(
        self, query: str, group: list[str], token: str | None, result: GraphResult
    ) -> tuple[list[dict[str, Any]], str | None]:
        # A query only reads, so a throttled one is sent again (through the library's one retry factory)
        # once the quota window has reset, or after the Retry-After the service gave.
        from aks_windows_ops.azure.retry import retrying

        def asked(state: Any) -> float | None:
            err = state.outcome.exception() if state.outcome is not None else None
            if not isinstance(err, Throttled):
                return None
            if err.headers:
                self._note_quota({name.lower(): value for name, value in err.headers.items()})
            pause = self._resets_at - self.clock() if self._resets_at is not None else None
            return pause if pause and pause > 0 else (err.retry_after or 1.0)

        def counted(seconds: float, _state: Any) -> None:
            result.waited += seconds

        def page() -> tuple[list[dict[str, Any]], str | None]:
            self._wait_for_quota(result)
            return self._page(query, group, token)

        deadline = self.deadline
        retry = retrying(
            sleep=self.sleep,
            attempts=self.retries + 1,
            remaining=None if deadline is None else (lambda: deadline - self.clock()),
            retry_on=lambda err: isinstance(err, Throttled),
            asked_wait=asked,
            over_budget=lambda _asked, _left: BudgetExhausted(
                "the time budget runs out before Resource Graph's quota window resets"
            ),
            on_wait=counted,
        )
        answer: tuple[list[dict[str, Any]], str | None] = retry(page)
        return answer
