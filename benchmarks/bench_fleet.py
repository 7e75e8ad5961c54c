"""Fleet audit at the service's limit: raw reads, Resource Graph, streaming, against a naive thread pool.

Three measurements (``python benchmarks/bench_fleet.py [cpu|latency|scale]``, all by default):

``cpu``
    Client-side CPU per request of a cluster read, SDK models (``azure.facts.read_snapshot``) against raw JSON
    (``azure.raw.read_snapshot_raw``): 100 clusters, ``time.process_time`` less the CPU spent inside the
    simulator's ``send`` (measured around it), divided by the requests.

``latency``
    500 clusters in 20 subscriptions, 40 ms of real latency per request: ``fleet.audit`` (Resource Graph path,
    and ARM path) against a naive ``ThreadPoolExecutor`` of the same width over the same SDK calls
    (``list_clusters``, then ``read_snapshot`` + ``preflight`` + ``license_report`` per cluster).

``scale``
    5,000 clusters in 50 subscriptions with ARM's token buckets (``testing.throttle.ArmThrottle``) and Resource
    Graph's user quota (``testing.resource_graph.ResourceGraph``, 15 queries per 5 s) enforced by the simulator
    on real time; the Resource Graph path with rows streamed to CSV (``keep_rows=False``). Bound of the path:
    the larger of the ARM bucket bound (per subscription, reads beyond the burst at 25 per second) and the
    Resource Graph quota bound (queries beyond one window's 15, at 15 per 5 s). Peak memory: ``tracemalloc``'s
    peak over the audit (a second run, as tracing slows the first).
"""

from __future__ import annotations

import io
import os
import sys
import time
import tracemalloc
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_result, ratio, seed_fleet, write_results

LATENCY = 0.040
CONCURRENCY = 32
#: Subscriptions of 100 clusters in the ``scale`` run (50 = 5,000 clusters; fewer for a quick check).
SCALE_SUBSCRIPTIONS = int(os.environ.get("BENCH_SCALE_SUBSCRIPTIONS", "50"))


def _timed_send(fake: Any) -> list[float]:
    """Measure the CPU spent inside the simulator's ``send`` (to leave only the client's share)."""
    spent = [0.0, 0.0]
    original = fake.send

    def send(request: Any, **kwargs: Any) -> Any:
        t = time.process_time()
        try:
            return original(request, **kwargs)
        finally:
            spent[0] += time.process_time() - t
            spent[1] += 1

    fake.send = send
    return spent


def cpu() -> dict[str, Any]:
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.azure.facts import list_clusters, read_snapshot
    from aks_windows_ops.azure.raw import read_snapshot_raw
    from aks_windows_ops.testing.fake_azure import FakeAzure

    fake = FakeAzure()
    (sub,) = seed_fleet(fake, subscriptions=1, clusters_per_subscription=100)
    clients = AzureClients.for_simulator(fake, sub)
    found = list_clusters(clients)
    spent = _timed_send(fake)
    per_request = {}
    for name, read in (("sdk models", read_snapshot), ("raw JSON", read_snapshot_raw)):
        for rg, cluster in found[:5]:
            read(clients, rg, cluster)  # warm up
        spent[:] = [0.0, 0.0]
        start = time.process_time()
        for rg, cluster in found:
            read(clients, rg, cluster)
        total = time.process_time() - start
        per_request[name] = ((total - spent[0]) / spent[1], spent[0] / spent[1], int(spent[1]))
    sdk, raw = per_request["sdk models"], per_request["raw JSON"]
    gain = sdk[0] / raw[0]
    return {
        "benchmark": "fleet_cpu_per_request",
        "title": "client-side CPU per request of a cluster read, 100 clusters",
        "command": "python benchmarks/bench_fleet.py cpu",
        "figures": {
            "requests per run": sdk[2],
            "SDK models: client CPU per request": f"{sdk[0] * 1000:.3f} ms",
            "raw JSON: client CPU per request": f"{raw[0] * 1000:.3f} ms",
            "simulator CPU per request (excluded)": f"{raw[1] * 1000:.3f} ms",
        },
        "ratios": [ratio("CPU per request, SDK models / raw JSON", gain, ">= 5x", gain >= 5)],
    }


def _naive_pool(fake: Any, subs: list[str]) -> float:
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.azure.facts import list_clusters, read_snapshot
    from aks_windows_ops.rules.preflight import preflight
    from aks_windows_ops.runbooks.ahub import license_report

    bundles = {s: AzureClients.for_simulator(fake, s) for s in subs}

    def one(item: tuple[str, str, str]) -> None:
        sub, rg, name = item
        snap = read_snapshot(bundles[sub], rg, name)
        preflight(snap)
        license_report(snap)

    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        listed = list(pool.map(lambda s: [(s, rg, n) for rg, n in list_clusters(bundles[s])], subs))
        list(pool.map(one, [item for group in listed for item in group]))
    return time.perf_counter() - start


def latency() -> dict[str, Any]:
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.fleet import audit
    from aks_windows_ops.testing.fake_azure import FakeAzure

    fake = FakeAzure(latency=LATENCY)
    subs = seed_fleet(fake, subscriptions=20, clusters_per_subscription=25)
    naive = _naive_pool(fake, subs)
    naive_requests = len(fake.journal)
    figures: dict[str, Any] = {
        "clusters": 500,
        "latency per request": f"{LATENCY * 1000:.0f} ms",
        f"naive thread pool ({CONCURRENCY} threads), wall": f"{naive:.2f} s ({naive_requests} requests)",
    }
    walls = {}
    for source in ("graph", "arm"):
        fake.clear_journal()
        clients = AzureClients.for_simulator(fake, subs[0])
        start = time.perf_counter()
        report = audit(clients, subscriptions=subs, concurrency=CONCURRENCY, source=source)
        walls[source] = time.perf_counter() - start
        assert report.source == source and not report.failed
        figures[f"fleet.audit source={source}, wall"] = (
            f"{walls[source]:.2f} s ({len(fake.journal)} requests)"
        )
    speedup = naive / walls["graph"]
    return {
        "benchmark": "fleet_latency",
        "title": f"500 clusters, {LATENCY * 1000:.0f} ms per request, against a naive thread pool",
        "command": "python benchmarks/bench_fleet.py latency",
        "figures": figures,
        "ratios": [
            ratio("speedup vs naive thread pool (graph path)", speedup, ">= 2x", speedup >= 2),
            ratio("speedup vs naive thread pool (arm path)", naive / walls["arm"], "-", None),
        ],
    }


def _scale_world() -> tuple[Any, list[str], Any, Any]:
    from aks_windows_ops.testing.fake_azure import FakeAzure
    from aks_windows_ops.testing.resource_graph import ResourceGraph
    from aks_windows_ops.testing.throttle import ArmThrottle

    fake = FakeAzure()
    subs: list[str] = []
    for s in range(SCALE_SUBSCRIPTIONS):
        subs += seed_fleet(fake, subscriptions=1, clusters_per_subscription=100, seed=11 + s, first=s + 1)
    throttle = ArmThrottle().install(fake)
    graph = ResourceGraph(clock=time.monotonic).install(fake)
    return fake, subs, throttle, graph


def scale() -> dict[str, Any]:
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.fleet import audit
    from aks_windows_ops.fleet.stream import CsvStream

    include = ("licenses", "findings")
    fake, subs, throttle, graph = _scale_world()
    sink = io.StringIO()
    csv_stream = CsvStream(sink.write)
    row_times: list[float] = []

    def stream(row: Any) -> None:
        row_times.append(time.perf_counter())
        csv_stream(row)

    # when the last Resource Graph page arrived, to count the rows audited while pages were still being read
    graph_times: list[float] = []
    original_send = fake.send

    def send(request: Any, **kwargs: Any) -> Any:
        try:
            return original_send(request, **kwargs)
        finally:
            if "microsoft.resourcegraph" in request.url.lower():
                graph_times.append(time.perf_counter())

    fake.send = send
    # the simulator's buckets and quota run on real time: so do the client's waits
    clients = AzureClients.for_simulator(fake, subs[0], clock=time.monotonic, sleep=time.sleep)
    cpu0, start = time.process_time(), time.perf_counter()
    report = audit(
        clients, subscriptions=subs, concurrency=16, include=include, on_row=stream, keep_rows=False
    )
    wall, cpu_total = time.perf_counter() - start, time.process_time() - cpu0

    last_page = max(graph_times) if graph_times else start
    before_last_page = sum(1 for t in row_times if t < last_page)
    csv_stream.close(report)
    clusters = csv_stream.rows
    reads: Counter[str] = Counter()
    for entry in fake.journal:
        if entry.status != 429 and entry.path.lower().startswith("/subscriptions/"):
            reads[entry.path.split("/")[2]] += 1
    arm_bound = max([(n - 250) / 25 for n in reads.values()] + [0.0])
    graph_bound = max(graph.queries - graph.quota, 0) / (graph.quota / graph.window)
    bound = max(arm_bound, graph_bound)
    requests = sum(reads.values()) + graph.queries

    # peak memory: the same run again with tracemalloc (slower, so not timed)
    fake, subs, _throttle, _graph = _scale_world()
    clients = AzureClients.for_simulator(fake, subs[0], clock=time.monotonic, sleep=time.sleep)
    stream2 = CsvStream(io.StringIO().write)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    report2 = audit(
        clients, subscriptions=subs, concurrency=16, include=include, on_row=stream2, keep_rows=False
    )
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    assert report2.source == "graph"

    to_bound = wall / bound if bound > 0 else float("inf")
    per_cluster = requests / clusters
    cpu_cluster = cpu_total / clusters
    return {
        "benchmark": "fleet_scale",
        "title": f"{clusters} clusters in {len(subs)} subscriptions, ARM and Resource Graph throttling enforced",
        "command": "python benchmarks/bench_fleet.py scale",
        "figures": {
            "source": report.source,
            "include": ", ".join(include),
            "clusters audited / failed": f"{clusters} / {len(report.failed)}",
            "ARM requests answered": sum(reads.values()),
            "Resource Graph queries answered / refused (429)": f"{graph.queries} / {graph.throttled}",
            "ARM 429s": throttle.throttled,
            "bound: ARM buckets": f"{arm_bound:.2f} s",
            "bound: Resource Graph quota": f"{graph_bound:.2f} s",
            "wall time": f"{wall:.2f} s",
            "last Resource Graph page / first row, after the start": (
                f"{last_page - start:.2f} s / {(min(row_times) - start) if row_times else 0:.2f} s"
            ),
            "rows completed before the last Resource Graph page": f"{before_last_page} of {len(row_times)}",
            "process CPU (library and the in-process simulator)": f"{cpu_total:.2f} s",
            "process CPU / wall time (share of one core the run got)": f"{cpu_total / wall:.0%}",
            "peak traced memory during the audit": f"{peak / 2**20:.0f} MiB",
        },
        "ratios": [
            ratio("wall time / bound of the path", to_bound, "<= 1.2x", to_bound <= 1.2),
            ratio("requests per cluster", per_cluster, "<= 0.05", per_cluster <= 0.05),
            ratio("CPU per cluster (ms)", cpu_cluster * 1000, "<= 2 ms", cpu_cluster <= 0.002),
            ratio("peak memory (MiB)", peak / 2**20, "< 150", peak < 150 * 2**20),
        ],
    }


def run() -> dict[str, Any]:
    """The ``cpu`` and ``latency`` measurements (``run_all.py``); ``scale`` is run on its own."""
    first, second = cpu(), latency()
    return {
        "benchmark": "fleet",
        "title": "raw reads and the Resource Graph path",
        "command": "python benchmarks/bench_fleet.py",
        "figures": {**first["figures"], **second["figures"]},
        "ratios": first["ratios"] + second["ratios"],
    }


if __name__ == "__main__":
    wanted = sys.argv[1:] or ["cpu", "latency", "scale"]
    results = []
    for name in wanted:
        result = {"cpu": cpu, "latency": latency, "scale": scale}[name]()
        print_result(result)
        results.append(result)
    write_results(results, "bench_fleet" + ("" if len(wanted) == 3 else "-" + "-".join(wanted)))
    os._exit(0)
