"""Fleet audit with network latency: the library against a plain sequential loop and the concurrency bound.

500 simulated clusters (2-4 pools each) in 20 subscriptions (25 per subscription, so ARM's read bucket of 250
per subscription never binds), 40 ms of real latency injected per request. The library (``fleet.audit``, default
rate limiter) runs in full; the sequential loop (``list_clusters`` per subscription, then ``read_snapshot`` +
``preflight`` + ``license_report`` one cluster after another) runs for every listing and the first
``SAMPLE`` clusters, and is extrapolated per cluster to the whole fleet. The lower bound is
``requests / concurrency x latency`` with the requests counted in the simulator's journal.

    python benchmarks/bench_audit.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_result, ratio, seed_fleet, write_results

LATENCY = 0.040
SUBSCRIPTIONS = 20
PER_SUBSCRIPTION = 25
SAMPLE = 50
CONCURRENCY = 32
SWEEP = (16, 64)


def _library_run(fake: Any, subs: list[str], concurrency: int) -> dict[str, Any]:
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.fleet import audit

    fake.clear_journal()
    clients = AzureClients.for_simulator(fake, subs[0])
    start = time.perf_counter()
    report = audit(clients, subscriptions=subs, concurrency=concurrency, source="arm")
    wall = time.perf_counter() - start
    requests = len(fake.journal)
    bound = requests / concurrency * LATENCY
    return {
        "wall": wall,
        "requests": requests,
        "bound": bound,
        "clusters": len(report.rows),
        "failed": len(report.failed),
    }


def _sequential_sample(fake: Any, subs: list[str]) -> dict[str, Any]:
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.azure.facts import list_clusters, read_snapshot
    from aks_windows_ops.rules.preflight import preflight
    from aks_windows_ops.runbooks.ahub import license_report

    fake.clear_journal()
    bundles = {s: AzureClients.for_simulator(fake, s) for s in subs}
    start = time.perf_counter()
    found: list[tuple[str, str, str]] = []
    for sub in subs:
        found.extend((sub, rg, name) for rg, name in list_clusters(bundles[sub]))
    listing = time.perf_counter() - start
    start = time.perf_counter()
    for sub, rg, name in found[:SAMPLE]:
        snap = read_snapshot(bundles[sub], rg, name)
        preflight(snap)
        license_report(snap)
    sample = time.perf_counter() - start
    per_cluster = sample / SAMPLE
    return {
        "listing": listing,
        "per_cluster": per_cluster,
        "estimate": listing + per_cluster * len(found),
        "clusters": len(found),
        "requests_sampled": len(fake.journal),
    }


def run() -> dict[str, Any]:
    from aks_windows_ops.testing.fake_azure import FakeAzure

    fake = FakeAzure(latency=LATENCY)
    subs = seed_fleet(fake, subscriptions=SUBSCRIPTIONS, clusters_per_subscription=PER_SUBSCRIPTION)
    sequential = _sequential_sample(fake, subs)
    main = _library_run(fake, subs, CONCURRENCY)
    sweep = {c: _library_run(fake, subs, c) for c in SWEEP}
    speedup = sequential["estimate"] / main["wall"]
    to_bound = main["wall"] / main["bound"]
    figures: dict[str, Any] = {
        "clusters": main["clusters"],
        "failed clusters": main["failed"],
        "requests (library run)": main["requests"],
        "latency per request": f"{LATENCY * 1000:.0f} ms",
        "concurrency": CONCURRENCY,
        f"library wall time (concurrency {CONCURRENCY})": f"{main['wall']:.2f} s",
        "lower bound requests/concurrency x latency": f"{main['bound']:.2f} s",
        f"sequential: {SAMPLE} clusters measured, per cluster": f"{sequential['per_cluster'] * 1000:.0f} ms",
        "sequential: listing all subscriptions": f"{sequential['listing']:.2f} s",
        "sequential: estimate for the fleet": f"{sequential['estimate']:.1f} s",
    }
    for c, r in sweep.items():
        figures[f"concurrency {c}: wall / bound"] = (
            f"{r['wall']:.2f} s / {r['bound']:.2f} s = {r['wall'] / r['bound']:.2f}x"
        )
    return {
        "benchmark": "audit_latency",
        "title": f"{main['clusters']} clusters, {LATENCY * 1000:.0f} ms per request",
        "command": "python benchmarks/bench_audit.py",
        "figures": figures,
        "ratios": [
            ratio("speedup vs sequential loop", speedup, ">= 20x", speedup >= 20),
            ratio("wall time / lower bound", to_bound, "<= 1.5x", to_bound <= 1.5),
        ],
    }


if __name__ == "__main__":
    result = run()
    print_result(result)
    write_results([result], "bench_audit")
