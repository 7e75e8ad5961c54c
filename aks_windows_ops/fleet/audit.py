"""Audit many clusters across many subscriptions, concurrently and within ARM's request limits.

For every cluster of the given subscriptions (or an explicit list of clusters) the audit reads a
:class:`~aks_windows_ops.models.ClusterSnapshot` (``read_snapshot``), runs the FAQ preflight on it and compares
Azure Hybrid Benefit on the cluster with its scale sets, then summarises each cluster in one
:class:`FleetRow`: Kubernetes version, Windows pools and their OS SKU, node image age against the newest image
(days between the images' date stamps), Windows Server 2019 retirement exposure, AHUB drift, findings by
severity, and the error when the cluster could not be read. One failing cluster never fails the audit.

Limits (Azure Resource Manager's throttling docs). ARM meters requests per subscription and principal with token buckets (reads:
250 burst, 25 per second) and AKS meters GETs of one cluster (60 burst, 1 per second). The audit keeps under
them with a client-side :class:`~aks_windows_ops.ratelimit.RateLimiter` that reserves a token before each SDK call, so throttling (429) is
the exception rather than the way the rate is found. When ARM throttles anyway, the library's one retry layer
(``azure.retry.ReadRetryPolicy``) sends the read again after the ``Retry-After``, waited on the audit's clock
and never past the time budget, and the audit holds that subscription's bucket for as long; a read still
throttled after ``retries`` retries becomes the cluster's error.

Concurrency. A ``ThreadPoolExecutor`` of ``concurrency`` workers pulls work from one queue: listing a
subscription's clusters first, then clusters, always from the subscription whose bucket is readiest, so that
one subscription's empty bucket never stalls workers that could serve another. On the Resource Graph path a
subscription's clusters are handed out once its scale sets and instances have arrived (``GraphIndex.ready``),
so the clusters' work overlaps the remaining pages.

The module imports no Azure SDK: every request goes through ``aks_windows_ops.azure``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from aks_windows_ops.clock import Clock
from aks_windows_ops.errors import BudgetExhausted, InvalidInput
from aks_windows_ops.fleet.graph import GraphIndex, fill_graph_index
from aks_windows_ops.fleet.metering import Meter, MeteredClients
from aks_windows_ops.fleet.queue import WorkQueue
from aks_windows_ops.fleet.regions import RegionVersions
from aks_windows_ops.fleet.report import FleetReport
from aks_windows_ops.fleet.rows import FleetRow, Ws2019Exposure, summarize_cluster
from aks_windows_ops.models import ClusterRef, ClusterSnapshot, VmssSnapshot
from aks_windows_ops.ratelimit import RateLimiter, monotonic_and_sleep

if TYPE_CHECKING:  # pragma: no cover - typing only
    from aks_windows_ops.azure.clients import AzureClients

__all__ = ["INCLUDE_ALL", "SOURCES", "audit"]


class _Unset:
    def __repr__(self) -> str:
        return "<default>"


_DEFAULT: Any = _Unset()

#: What :func:`audit` can read for each cluster: upgrade profiles (node image age), scale sets (AHUB drift),
#: the preflight findings, and subnet usage (capacity findings).
INCLUDE_ALL: tuple[str, ...] = ("images", "licenses", "findings", "subnets")


def _error_row(ref: ClusterRef, err: BaseException, *, attempts: int = 1, calls: int = 0) -> FleetRow:
    message = str(err) or type(err).__name__
    return FleetRow(
        subscription=ref.subscription_id,
        resource_group=ref.resource_group,
        cluster=ref.name,
        error=message.splitlines()[0],
        error_type=type(err).__name__,
        attempts=attempts,
        api_calls=calls,
    )


def _as_ref(item: ClusterRef | Sequence[str] | str) -> ClusterRef:
    if isinstance(item, ClusterRef):
        return item
    parts = list(item) if not isinstance(item, str) else None
    ref = ClusterRef.parse(item) if isinstance(item, str) else None
    if ref is not None:
        return ref
    if parts is None or len(parts) != 3 or not all(parts):
        raise InvalidInput(
            f"a cluster is a cluster reference, a (subscription, resource group, name) triple or "
            f"'subscription/group/name', got {item!r}"
        )
    return ClusterRef(str(parts[0]), str(parts[1]), str(parts[2]))


def _cluster_id(ref: ClusterRef) -> str:
    return (
        f"/subscriptions/{ref.subscription_id}/resourceGroups/{ref.resource_group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{ref.name}"
    )


#: Where :func:`audit` reads the fleet: Resource Graph with ARM for the rest, or ARM only.
SOURCES: tuple[str, ...] = ("graph", "arm")
_ARM_SOURCES: tuple[tuple[str, str], ...] = (
    ("cluster", "arm"),
    ("versions", "arm"),
    ("images", "arm"),
    ("licenses", "arm"),
    ("subnets", "arm"),
)


def _graph_sources(versions_per_region: bool, licenses_from_graph: bool) -> tuple[tuple[str, str], ...]:
    """Where a graph-path row's facts came from.

    ``cluster``: ARM's subscription-wide list (Resource Graph does not hold the cluster's creation date, which
    the old-image check needs). ``versions``: the region's Kubernetes versions, read once per region
    (``arm-region``), or the cluster's own upgrade profile when the region does not list its version.
    ``images``: each pool's upgrade profile (no per-region node image listing in the SDK; Windows images depend
    on the cluster). ``licenses``: Resource Graph, or ARM when Resource Graph could not answer. ``subnets``: ARM.
    """
    return (
        ("cluster", "arm"),
        ("versions", "arm-region" if versions_per_region else "arm"),
        ("images", "arm"),
        ("licenses", "graph" if licenses_from_graph else "arm"),
        ("subnets", "arm"),
    )


class _Totals:
    """Counts over every row, kept when the rows themselves are not (``keep_rows=False``)."""

    def __init__(self) -> None:
        self.counts = {"clusters": 0, "windows_pools": 0, "ws2019_exposed": 0, "ahub_drift": 0}
        self.counts.update({"errors": 0, "warnings": 0, "infos": 0})

    def add(self, row: FleetRow) -> None:
        c = self.counts
        c["clusters"] += 1 if row.cluster else 0
        if row.ok:
            c["windows_pools"] += len(row.windows_pools)
            c["ws2019_exposed"] += row.ws2019_exposure != Ws2019Exposure.NONE
            c["ahub_drift"] += row.ahub_drift or 0
            c["errors"] += row.errors
            c["warnings"] += row.warnings
            c["infos"] += row.infos

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)


def _start_graph(
    source: str,
    clients: AzureClients,
    subs: list[str],
    wanted: tuple[str, ...],
    now: Callable[[], float],
    time_budget: float | None,
) -> tuple[str, str | None, GraphIndex | None, threading.Thread | None]:
    """Start reading the fleet's scale sets from Resource Graph on a thread, or say why the audit reads ARM.

    The audit waits for the first page only: a refusal (403) or a failure there sends the whole audit to ARM;
    afterwards clusters are audited as their subscriptions' rows arrive (``GraphIndex.ready``).
    """
    if source == "arm":
        return "arm", None, None, None
    if "licenses" not in wanted:
        index = GraphIndex(read_at=now())
        index.finish("scale_sets", now())
        index.finish("instances", now())
        return "graph", None, index, None
    from aks_windows_ops.azure.resource_graph import GraphReader

    # The reader waits for the quota window on the bundle's clock (the simulator's virtual time in tests).
    # A time budget is the bundle's deadline: a quota wait past it stops the reading (ARM answers the rest).
    deadline = clients.deadline if time_budget is not None else None
    index = GraphIndex(read_at=now())
    reader = GraphReader(clients, deadline=deadline)
    thread = threading.Thread(
        target=fill_graph_index, args=(reader, subs, index, now), name="fleet-audit-graph", daemon=True
    )
    thread.start()
    index.wait_first_page()
    err = index.failure
    if err is not None and index.pages_read == 0:
        thread.join()
        return "arm", f"{_graph_failure(err)}; every fact was read from ARM", None, None
    return "graph", None, index, thread


def _graph_failure(err: BaseException) -> str:
    status = getattr(err, "status_code", None)
    return "the caller may not use Resource Graph (403)" if status == 403 else f"Resource Graph failed: {err}"


def _graph_snapshot(
    clients: AzureClients,
    ref: ClusterRef,
    listed: dict[str, Any] | None,
    index: GraphIndex,
    wanted: tuple[str, ...],
    regions: RegionVersions,
) -> tuple[ClusterSnapshot, tuple[tuple[str, str], ...]]:
    from aks_windows_ops.azure.errors import translating
    from aks_windows_ops.azure.facts import windows_pool_names
    from aks_windows_ops.azure.raw import complete_snapshot, get_json

    wire = listed
    if wire is None:
        with translating(f"reading cluster {ref.resource_group}/{ref.name}"):
            wire = get_json(clients.containerservice.managed_clusters.get, ref.resource_group, ref.name)
    props = wire.get("properties") or {}
    windows = windows_pool_names(props.get("agentPoolProfiles") or [])
    vmss: bool | list[VmssSnapshot] = False
    from_graph = "licenses" in wanted and index.usable(ref.subscription_id)
    if from_graph:
        node_rg = props.get("nodeResourceGroup")
        vmss = index.scale_sets_for(ref.subscription_id, str(node_rg), windows) if windows and node_rg else []
    elif "licenses" in wanted:
        vmss = True  # Resource Graph stopped before this subscription's rows: read them from ARM
    cp_upgrades = None
    if "images" in wanted:
        cp_upgrades = regions.control_plane_upgrades(
            clients, str(wire.get("location") or ""), str(props.get("currentKubernetesVersion") or "")
        )
    snapshot = complete_snapshot(
        clients,
        ref,
        wire,
        upgrade_profiles="images" in wanted,
        scale_sets=vmss,
        subnets="subnets" in wanted,
        control_plane_upgrades=cp_upgrades,
    )
    return snapshot, _graph_sources(cp_upgrades is not None, from_graph)


def audit(
    clients_or_factory: AzureClients | Callable[[str], AzureClients],
    *,
    subscriptions: Iterable[str] | None = None,
    clusters: Iterable[ClusterRef | Sequence[str] | str] | None = None,
    resource_group: str | None = None,
    concurrency: int = 16,
    rate_limit: RateLimiter | None = _DEFAULT,
    time_budget: float | None = None,
    include: Iterable[str] = INCLUDE_ALL,
    retries: int = 2,
    clock: Clock | Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    on_row: Callable[[FleetRow], None] | None = None,
    source: str = "graph",
    keep_rows: bool = True,
) -> FleetReport:
    """Audit every Windows-relevant fact of many clusters concurrently, within ARM's limits (module docstring).

    Implements Azure Resource Manager's and AKS's throttling (token buckets, 429 with ``Retry-After``, Retry-After capped
    at the time budget) over the FAQ checks of ``rules.preflight`` and the AHUB
    verification of ``runbooks.ahub``.

    Args:
        clients_or_factory: an ``AzureClients`` (other subscriptions get ``for_subscription`` copies sharing
            its credential and transport) or a callable returning the bundle for a subscription id. The
            audit sets each bundle's ``deadline`` when a ``time_budget`` is given.
        subscriptions: subscription ids to discover clusters in (``list_clusters``); by default the bundle's
            own subscription.
        clusters: audit exactly these clusters instead of discovering them (``ClusterRef``,
            ``(subscription, resource_group, name)`` or ``"sub/rg/name"``).
        resource_group: discover only in this resource group.
        concurrency: worker threads (clusters read at once).
        rate_limit: the client-side limiter; omitted, ARM's read bucket per subscription and AKS's GET bucket
            per cluster on real time (or on ``clock``/``sleep`` when given); ``None`` disables it and leaves
            pacing to 429 handling.
        time_budget: seconds; clusters not started in time are reported with a ``BudgetExhausted`` error and
            the report is marked incomplete. ``Retry-After`` waits never go past it.
        include: what to read besides the cluster itself, from :data:`INCLUDE_ALL`: ``images`` (upgrade
            profiles: node image age), ``licenses`` (scale sets: AHUB drift), ``findings`` (preflight),
            ``subnets`` (subnet usage for the capacity findings).
        retries: how many times each read is sent again after a transient answer (429, 5xx, a lost
            connection); the audit's bundles are set to it.
        clock: a :class:`~aks_windows_ops.clock.Clock` for the budget, the default limiter and ``Retry-After``
            waits (the limiter's, else the clients' own clock: virtual time under the simulator); a function returning monotonic seconds is accepted
            together with ``sleep``.
        sleep: how to wait, with a plain ``clock`` function.
        on_row: called with each row as soon as it is ready (from a worker thread; see ``fleet.stream`` to
            write CSV or JSON lines as rows complete).
        source: ``graph`` (default): clusters from ARM's subscription-wide list (one paged read per
            subscription; the cluster's creation date, which Resource Graph does not hold, comes with it), scale
            sets and instances from two Resource Graph queries over every subscription, read on a thread while
            the clusters of the subscriptions already read are audited; the Kubernetes versions of each region
            read once per region (``list_kubernetes_versions``) instead of each cluster's upgrade profile; and
            per cluster only the ARM reads neither can answer (each pool's upgrade profile for its newest node
            image, subnet usage). Falls back to ``arm`` when Resource Graph refuses the caller (403) or fails on
            its first page; a later failure leaves the clusters it had not answered to ARM. ``arm``: every fact
            read from ARM per cluster. Each row's ``sources`` says where its facts came from.
        keep_rows: keep every row in the returned report (``False`` with ``on_row`` for very large fleets: the
            report then holds the failed rows only, and the totals).

    Returns:
        The :class:`FleetReport`; it always holds a row for every cluster found, failed ones with their error.

    Raises:
        InvalidInput: bad arguments (unknown ``include``, no subscription, ``concurrency`` < 1).
    """
    from aks_windows_ops.azure.clients import AzureClients

    wanted = tuple(dict.fromkeys(include))
    unknown = [w for w in wanted if w not in INCLUDE_ALL]
    problems = [f"unknown include {w!r}; choose from {', '.join(INCLUDE_ALL)}" for w in unknown]
    if source not in SOURCES:
        problems.append(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")
    if concurrency < 1:
        problems.append(f"the concurrency (clusters read at once) must be at least 1, got {concurrency}")
    if time_budget is not None and time_budget <= 0:
        problems.append(f"the time budget must be positive, got {time_budget}")
    refs = [_as_ref(c) for c in clusters] if clusters is not None else None
    base = clients_or_factory if isinstance(clients_or_factory, AzureClients) else None
    subs: list[str]
    if refs is not None:
        subs = list(dict.fromkeys(r.subscription_id for r in refs))
    elif subscriptions is not None:
        subs = list(dict.fromkeys(str(s) for s in subscriptions))
    elif base is not None:
        subs = [base.subscription_id]
    else:
        subs = []
        problems.append("name the subscriptions (or the clusters) to audit when giving a client factory")
    if problems:
        raise InvalidInput(problems)

    now: Callable[[], float]
    wait: Callable[[float], None]
    given = rate_limit if isinstance(rate_limit, RateLimiter) else None
    if clock is None and given is None and base is not None:
        # The default limiter and the budget wait on the clients' clock: virtual time under the simulator.
        clock, sleep = base.clock, sleep or base.sleep
    if clock is None and given is not None:
        now, wait = given.clock, sleep or given.sleep
    else:
        if sleep is None and given is not None and not isinstance(clock, Clock):
            sleep = given.sleep
        now, wait = monotonic_and_sleep(clock, sleep)
    limiter: RateLimiter | None = RateLimiter(clock=now, sleep=wait) if rate_limit is _DEFAULT else rate_limit
    started = now()
    deadline = started + time_budget if time_budget is not None else None

    if base is not None and len(subs) > 1:
        # Resolve the credential once so that every subscription's bundle shares it (and its token cache).
        _ = base.credential
    bundles: dict[str, AzureClients] = {}
    for sub in subs:
        if base is not None:
            bundle = base.for_subscription(sub)
        else:
            bundle = cast("Callable[[str], AzureClients]", clients_or_factory)(sub)
        if time_budget is not None:
            bundle.deadline = bundle.clock() + time_budget
        if base is not None:
            # The one retry layer of these clients repeats reads on the audit's clock, ``retries`` times.
            bundle.retry_total, bundle.sleep = retries, wait
        bundles[sub] = bundle

    queue = WorkQueue(limiter)
    used, note, index, reading = _start_graph(source, bundles[subs[0]], subs, wanted, now, time_budget)
    if index is not None:
        # Clusters are handed out as their subscription's Resource Graph rows arrive (or once it failed).
        index.on_progress = queue.wake
        queue.set_gate(index.ready)
    regions = RegionVersions()
    bodies: dict[ClusterRef, dict[str, Any]] = {}

    rows: list[FleetRow] = []
    lock = threading.Lock()
    stats = {"throttled": 0, "calls": 0, "rows": 0, "graph_rows": 0}
    flags = {"budget_hit": False}
    totals = _Totals()

    def emit(row: FleetRow, sources: tuple[tuple[str, str], ...] = _ARM_SOURCES) -> None:
        if row.ok and index is not None:
            graph_age = None
            if dict(sources).get("licenses") == "graph":
                graph_age = round(now() - index.read_at_for(row.subscription), 3)
                with lock:
                    stats["graph_rows"] += 1
            row = replace(row, sources=sources, graph_age=graph_age)
        elif row.ok:
            row = replace(row, sources=_ARM_SOURCES)
        with lock:
            totals.add(row)
            if keep_rows or not row.ok:
                rows.append(row)
        if on_row is not None:
            on_row(row)

    def out_of_time() -> bool:
        return deadline is not None and now() >= deadline

    def do_listing(sub: str) -> None:
        from aks_windows_ops.azure.facts import cluster_ids_from_wire
        from aks_windows_ops.azure.raw import list_cluster_bodies

        meter = Meter(limiter, sub, None, deadline)
        try:
            listed = list_cluster_bodies(
                cast("AzureClients", MeteredClients(bundles[sub], meter)), resource_group
            )
            found = cluster_ids_from_wire(listed, resource_group)
            if used == "graph":
                with lock:
                    bodies.update(
                        (ClusterRef(sub, rg, name), body)
                        for (rg, name), body in zip(found, listed, strict=True)
                    )
        except Exception as err:  # one subscription failing never fails the audit
            if isinstance(err, BudgetExhausted):
                flags["budget_hit"] = True
            emit(_error_row(ClusterRef(sub, "", ""), err, calls=meter.calls))
            return
        finally:
            with lock:
                stats["calls"] += meter.calls
        queue.add_clusters(ClusterRef(sub, rg, name) for rg, name in found)

    def do_cluster(ref: ClusterRef) -> None:
        meter = Meter(limiter, ref.subscription_id, _cluster_id(ref), deadline)
        try:
            read_cluster(ref, meter)
        finally:
            with lock:
                stats["calls"] += meter.calls

    def read_cluster(ref: ClusterRef, meter: Meter) -> None:
        from aks_windows_ops.azure.raw import read_snapshot_raw
        from aks_windows_ops.rules.preflight import preflight
        from aks_windows_ops.runbooks.ahub import license_report

        metered = cast("AzureClients", MeteredClients(bundles[ref.subscription_id], meter))
        with lock:
            listed = bodies.pop(ref, None)
        from aks_windows_ops.azure.retry import observing_retries

        retried = {"attempts": 1}

        def on_retry(pause: float, status: int | None) -> None:
            retried["attempts"] += 1
            if status == 429:
                with lock:
                    stats["throttled"] += 1
                if limiter is not None:
                    limiter.penalize(ref.subscription_id, pause)

        try:
            with observing_retries(on_retry):
                if index is None:
                    snapshot = read_snapshot_raw(
                        metered,
                        ref.resource_group,
                        ref.name,
                        upgrade_profiles="images" in wanted,
                        scale_sets="licenses" in wanted,
                        subnets="subnets" in wanted,
                    )
                    sources = _ARM_SOURCES
                else:
                    snapshot, sources = _graph_snapshot(metered, ref, listed, index, wanted, regions)
            report = preflight(snapshot) if "findings" in wanted else None
            licenses = license_report(snapshot) if "licenses" in wanted else None
            emit(
                summarize_cluster(
                    snapshot,
                    report=report,
                    licenses=licenses,
                    attempts=retried["attempts"],
                    api_calls=meter.calls,
                ),
                sources,
            )
        except BudgetExhausted as err:
            flags["budget_hit"] = True
            emit(_error_row(ref, err, attempts=retried["attempts"], calls=meter.calls))
        except Exception as err:  # one failing cluster never fails the audit
            emit(_error_row(ref, err, attempts=retried["attempts"], calls=meter.calls))

    def worker() -> None:
        while True:
            if out_of_time():
                flags["budget_hit"] = True
                queue.close()
                return
            item = queue.next()
            if item is None:
                return
            kind, payload = item
            if kind == "list":
                try:
                    do_listing(payload)
                finally:
                    queue.listing_done()
            else:
                do_cluster(payload)

    if refs is not None:
        queue.add_clusters(refs)
    else:
        for sub in subs:
            queue.add_listing(sub)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fleet-audit") as pool:
        futures = [pool.submit(worker) for _ in range(concurrency)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            # Interrupted (or a simulated crash): let the other workers stop after their current cluster.
            queue.close()
            if index is not None:
                index.cancel()
            raise
    if reading is not None:
        reading.join()
    if index is not None:
        stats["calls"] += index.requests
        if index.failure is not None:
            how = "the clusters it had not answered were read from ARM"
            note = f"{_graph_failure(index.failure)}; {how}"
            if stats["graph_rows"] == 0:
                used, note = "arm", f"{_graph_failure(index.failure)}; every fact was read from ARM"

    listings, skipped = queue.leftovers()
    budget_error = BudgetExhausted("not audited: the time budget ran out before this was started")
    for sub in listings:
        emit(_error_row(ClusterRef(sub, "", ""), budget_error))
    for ref in skipped:
        emit(_error_row(ref, budget_error, attempts=0))
    complete = not (flags["budget_hit"] or listings or skipped)
    rows.sort(
        key=lambda r: (
            subs.index(r.subscription) if r.subscription in subs else len(subs),
            r.resource_group.lower(),
            r.cluster.lower(),
        )
    )
    return FleetReport(
        rows=tuple(rows),
        subscriptions=tuple(subs),
        complete=complete,
        elapsed=now() - started,
        api_calls=stats["calls"],
        waited=(limiter.waited if limiter is not None else 0.0)
        + (index.waited if index is not None else 0.0),
        throttled=stats["throttled"],
        source=used,
        source_note=note,
        totals=None if keep_rows else totals.as_dict(),
    )
