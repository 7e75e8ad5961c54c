"""Fleet audit bound by ARM's request limits: 5,000 clusters in 50 subscriptions behind ``ArmThrottle``.

The simulator enforces ARM's and AKS's token buckets on real time (``aks_windows_ops.testing.throttle``:
reads 250 burst / 25 per second per subscription, GET of one cluster 60 / 1 per second ...). The audit runs with
its default client-side limiter. The bound the buckets impose is, over the subscriptions,
``max((reads - burst) / rate)`` with the reads each subscription actually received (journal entries answered
other than 429), and likewise for the per-cluster GET bucket; the 429s the throttle produced are counted.

Each subscription lives in its own ``FakeAzure`` (the audit gets a factory ``subscription -> AzureClients``),
all sharing one ``ArmThrottle``: the simulator lists a resource group's scale sets by scanning every scale set
it holds, a cost that grows with the whole fleet and that ARM does not have.

    python benchmarks/bench_throttle.py
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_result, ratio, seed_fleet, write_results

SUBSCRIPTIONS = 50
PER_SUBSCRIPTION = 100
CONCURRENCY = int(__import__("os").environ.get("BENCH_CONCURRENCY", "64"))


def run() -> dict[str, Any]:
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.fleet import AKS_CLUSTER_GETS, ARM_READS, audit
    from aks_windows_ops.testing.fake_azure import FakeAzure
    from aks_windows_ops.testing.throttle import ArmThrottle

    throttle = ArmThrottle()
    fakes: dict[str, Any] = {}
    for s in range(SUBSCRIPTIONS):
        fake = FakeAzure()
        (sub,) = seed_fleet(
            fake, subscriptions=1, clusters_per_subscription=PER_SUBSCRIPTION, seed=11 + s, first=s + 1
        )
        throttle.install(fake)
        fakes[sub] = fake
    subs = list(fakes)
    start = time.perf_counter()
    report = audit(
        lambda sub: AzureClients.for_simulator(fakes[sub], sub),
        subscriptions=subs,
        concurrency=CONCURRENCY,
        source="arm",  # the ARM path; bench_fleet.py measures the Resource Graph path
    )
    wall = time.perf_counter() - start

    reads: Counter[str] = Counter()
    gets: Counter[str] = Counter()
    for entry in (e for f in fakes.values() for e in f.journal):
        if entry.status == 429 or entry.kind == "write":
            continue
        reads[entry.path.split("/")[2]] += 1
        if (
            entry.method == "GET"
            and entry.path.lower().count("/") == 8
            and "/managedclusters/" in entry.path.lower()
        ):
            gets[entry.path.lower()] += 1
    bound_reads = max((n - ARM_READS.burst) / ARM_READS.rate for n in reads.values())
    bound_gets = max((n - AKS_CLUSTER_GETS.burst) / AKS_CLUSTER_GETS.rate for n in gets.values())
    bound = max(bound_reads, bound_gets, 0.0)
    to_bound = wall / bound
    total = sum(reads.values())
    return {
        "benchmark": "audit_throttled",
        "title": f"{len(report.rows)} clusters in {SUBSCRIPTIONS} subscriptions behind ARM's token buckets",
        "command": "python benchmarks/bench_throttle.py",
        "figures": {
            "clusters audited": len(report.rows),
            "failed clusters": len(report.failed),
            "concurrency": CONCURRENCY,
            "requests answered": total,
            "reads per subscription (max)": max(reads.values()),
            "bound from the buckets": f"{bound:.2f} s",
            "wall time": f"{wall:.2f} s",
            "throughput": f"{total / wall:.0f} requests/s",
            "429s produced by ArmThrottle": throttle.throttled,
            "429s by bucket": dict(throttle.throttled_by),
            "clusters read again after 429": report.throttled,
            "client-side wait, summed over workers": f"{report.waited:.0f} s",
        },
        "ratios": [
            ratio("wall time / bucket bound", to_bound, "<= 1.5x", to_bound <= 1.5),
            ratio("429s per 1000 requests", throttle.throttled * 1000 / total, "near 0", None),
        ],
    }


if __name__ == "__main__":
    result = run()
    print_result(result)
    write_results([result], "bench_throttle")
