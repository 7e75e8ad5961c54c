"""The fleet's scale sets and instances from Azure Resource Graph, indexed for the audit's clusters.

Two paged queries over every subscription in scope replace the per-cluster scale set list and the per-scale-set
instance lists of the ARM path (FAQ "Can I use Azure Hybrid Benefit with Windows nodes?": the scale set's model
and each instance carry ``licenseType``). Scale sets are matched to pools by the ``aks-managed-poolName`` tag in
the cluster's node resource group, as the ARM path does, and built by the same parser
(``azure.facts.scale_set_from_wire``), so both paths give the audit the same snapshot.

The index fills page by page (:func:`fill_graph_index`, run on its own thread by the audit): both queries are
ordered by resource id, so their rows come grouped by subscription, and a subscription is complete once a page
brings rows of the next one. :meth:`GraphIndex.ready` tells the audit which subscriptions' clusters can be
audited while later pages are still being read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aks_windows_ops.models import VmssSnapshot

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.azure.resource_graph import GraphReader

__all__ = ["GraphIndex", "fill_graph_index", "read_graph_index"]

_KINDS = ("scale_sets", "instances")

_POOL_TAG = "aks-managed-poolName"


def _instance_key(row: dict[str, Any]) -> tuple[int, str]:
    tail = str(row.get("id") or "").rstrip("/").rsplit("/", 1)[-1]
    return (int(tail), "") if tail.isdigit() else (1 << 62, tail)


@dataclass
class GraphIndex:
    """Scale sets and their instances read from Resource Graph, by subscription and resource group.

    Attributes:
        scale_sets: scale set rows by ``(subscription, resource group)``, both lower case.
        instances: instance rows by ``(subscription, resource group, scale set)``, lower case.
        read_at: the audit clock's reading when the last page arrived (how fresh the rows are).
        requests: Resource Graph requests sent.
        waited: seconds spent waiting for the user's quota window.
        failure: why the reading stopped early (``None`` while it goes on or once it completed).
        on_progress: called (from the reading thread) whenever more subscriptions become ready, or on failure.
    """

    scale_sets: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    instances: dict[tuple[str, str, str], list[dict[str, Any]]] = field(default_factory=dict)
    read_at: float = 0.0
    requests: int = 0
    waited: float = 0.0
    failure: BaseException | None = None
    on_progress: Callable[[], None] | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False, compare=False)
    _complete: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in _KINDS}, repr=False)
    _last: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(_KINDS), repr=False)
    _done: set[str] = field(default_factory=set, repr=False)
    _ready_at: dict[str, float] = field(default_factory=dict, repr=False)
    _pages: int = field(default=0, repr=False)
    _cancelled: bool = field(default=False, repr=False)

    def cancel(self) -> None:
        """Stop the reading after the page in flight (the audit was interrupted)."""
        with self._cond:
            self._cancelled = True

    def ready(self, subscription: str) -> bool:
        """Whether every scale set and instance of ``subscription`` has been read (or the reading failed)."""
        sub = subscription.lower()
        with self._cond:
            return self.failure is not None or all(
                k in self._done or sub in self._complete[k] for k in _KINDS
            )

    def usable(self, subscription: str) -> bool:
        """Whether ``subscription``'s scale sets and instances were all read (not cut short by a failure)."""
        sub = subscription.lower()
        with self._cond:
            return all(k in self._done or sub in self._complete[k] for k in _KINDS)

    def read_at_for(self, subscription: str) -> float:
        """The clock's reading when ``subscription``'s last rows arrived (how fresh its rows are)."""
        with self._cond:
            return self._ready_at.get(subscription.lower(), self.read_at)

    @property
    def pages_read(self) -> int:
        """Pages indexed so far."""
        with self._cond:
            return self._pages

    def wait_first_page(self) -> None:
        """Block until the first page arrived, every query completed, or the reading failed."""
        with self._cond:
            while self._pages == 0 and self.failure is None and len(self._done) < len(_KINDS):
                self._cond.wait()

    def _progress(self) -> None:
        # Called outside the index's lock: the callback takes the work queue's lock, which asks ready().
        if self.on_progress is not None:
            self.on_progress()

    def add_page(self, kind: str, rows: list[dict[str, Any]], at: float) -> None:
        """Index one page of ``kind`` (``scale_sets`` or ``instances``) read at ``at``.

        Raises:
            BudgetExhausted: the reading was cancelled (:meth:`cancel`); no more pages are read.
        """
        with self._cond:
            if self._cancelled:
                from aks_windows_ops.errors import BudgetExhausted

                raise BudgetExhausted("the audit stopped before Resource Graph's pages were all read")
            self._pages += 1
            for row in rows:
                sub = str(row.get("subscriptionId")).lower()
                if sub != self._last[kind]:
                    if self._last[kind] is not None:
                        self._complete[kind].add(str(self._last[kind]))
                        self._ready_at[str(self._last[kind])] = at
                    self._last[kind] = sub
                if kind == "scale_sets":
                    self.scale_sets.setdefault((sub, str(row.get("resourceGroup")).lower()), []).append(row)
                    continue
                low = [p.lower() for p in str(row.get("id") or "").split("/")]
                if "virtualmachinescalesets" not in low:
                    continue
                vmss = low[low.index("virtualmachinescalesets") + 1]
                key3 = (sub, str(row.get("resourceGroup")).lower(), vmss)
                self.instances.setdefault(key3, []).append(row)
            self.read_at = at
            self._cond.notify_all()
        self._progress()

    def finish(self, kind: str, at: float) -> None:
        """Mark the query of ``kind`` complete: every subscription's rows of that kind have arrived."""
        with self._cond:
            self._done.add(kind)
            self.read_at = at
            if len(self._done) == len(_KINDS):
                for sub in set(self._complete[_KINDS[0]]) | set(self._complete[_KINDS[1]]):
                    self._ready_at.setdefault(sub, at)
            self._cond.notify_all()
        self._progress()

    def fail(self, err: BaseException) -> None:
        """Record that the reading stopped: every waiting cluster goes on, reading its scale sets from ARM."""
        with self._cond:
            self.failure = err
            self._cond.notify_all()
        self._progress()

    def scale_sets_for(
        self, subscription: str, node_resource_group: str, windows_pools: set[str]
    ) -> list[VmssSnapshot]:
        """The Windows pools' scale sets with their instances, as the ARM path reads them."""
        from aks_windows_ops.azure.facts import scale_set_from_wire

        sub, rg = subscription.lower(), node_resource_group.lower()
        out: list[VmssSnapshot] = []
        for row in self.scale_sets.get((sub, rg), []):
            pool = (row.get("tags") or {}).get(_POOL_TAG)
            if pool not in windows_pools:
                continue
            name = str(row.get("name"))
            wire = {
                "name": name,
                "sku": {"capacity": row.get("capacity") or 0},
                "properties": {"virtualMachineProfile": {"licenseType": row.get("licenseType")}},
            }
            vms = [
                {
                    "instanceId": str(vm.get("id") or "").rstrip("/").rsplit("/", 1)[-1],
                    "name": vm.get("name"),
                    "properties": {
                        "licenseType": vm.get("licenseType"),
                        "latestModelApplied": vm.get("latestModelApplied"),
                        "provisioningState": vm.get("provisioningState"),
                    },
                }
                for vm in sorted(self.instances.get((sub, rg, name.lower()), []), key=_instance_key)
            ]
            out.append(scale_set_from_wire(wire, node_resource_group, str(pool), vms))
        return out


def fill_graph_index(
    reader: GraphReader,
    subscriptions: Sequence[str],
    index: GraphIndex,
    now: Callable[[], float] | None = None,
) -> None:
    """Read every scale set and scale-set VM of ``subscriptions`` into ``index``, page by page.

    ``now`` stamps each page (the reader's clock by default), for the rows' ``graph_age``.

    Failures are recorded on the index (:meth:`GraphIndex.fail`), never raised: the audit runs this on its own
    thread and reads the scale sets of the clusters the index cannot answer from ARM.
    """
    from aks_windows_ops.azure.resource_graph import SCALE_SET_VMS_QUERY, SCALE_SETS_QUERY

    stamp = now or reader.clock
    try:
        for kind, query in (("scale_sets", SCALE_SETS_QUERY), ("instances", SCALE_SET_VMS_QUERY)):

            def page(rows: list[dict[str, Any]], k: str = kind) -> None:
                index.add_page(k, rows, stamp())

            result = reader.query(query, subscriptions, on_page=page)
            index.requests = reader.requests
            index.waited += result.waited
            index.finish(kind, stamp())
    except BaseException as err:  # handed to the audit, which falls back to ARM
        index.requests = reader.requests
        index.fail(err)


def read_graph_index(reader: GraphReader, subscriptions: Sequence[str]) -> GraphIndex:
    """Read every scale set and scale-set VM of ``subscriptions`` from Resource Graph (two paged queries).

    Raises:
        AksWindowsOpsError: Resource Graph failed (403 when the caller may not use it), translated.
    """
    index = GraphIndex()
    fill_graph_index(reader, subscriptions, index)
    if index.failure is not None:
        raise index.failure
    return index
