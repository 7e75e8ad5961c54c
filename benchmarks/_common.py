"""Shared helpers for the benchmark scripts: a seeded fleet of simulated clusters and result records.

Every benchmark script exposes ``run() -> dict`` and prints its table when run directly; ``run_all.py`` runs
them in one process and writes the JSON to ``benchmarks/results/`` (gitignored).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import random
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

WINDOWS_SKUS = ("Windows2022", "Windows2022", "Windows2019", "Windows2025")


def subscription_id(index: int) -> str:
    return f"00000000-0000-0000-0000-{index:012d}"


def seed_fleet(
    fake: Any,
    *,
    subscriptions: int,
    clusters_per_subscription: int,
    seed: int = 7,
    first: int = 1,
) -> list[str]:
    """Add ``subscriptions x clusters_per_subscription`` clusters of 2-4 pools (1 Linux System pool, 1-3 Windows
    or Linux user pools) to ``fake`` and return the subscription ids. Deterministic for a given seed."""
    rnd = random.Random(seed)
    subs = []
    for s in range(subscriptions):
        sub = subscription_id(s + first)
        subs.append(sub)
        for c in range(clusters_per_subscription):
            version = rnd.choice(("1.31.10", "1.32.7", "1.33.5"))
            pools: list[dict[str, Any]] = [
                {"name": "system", "mode": "System", "os_type": "Linux", "count": 2}
            ]
            for p in range(rnd.randint(1, 3)):
                if p == 2 and rnd.random() < 0.5:
                    pools.append({"name": "linux", "os_type": "Linux", "count": 2})
                    continue
                sku = rnd.choice(WINDOWS_SKUS)
                if (sku == "Windows2019" and version.startswith("1.33")) or (
                    sku == "Windows2025" and version.startswith("1.31")
                ):
                    sku = "Windows2022"
                pools.append(
                    {
                        "name": f"win{p}",
                        "os_type": "Windows",
                        "os_sku": sku,
                        "count": rnd.randint(1, 3),
                        "node_image": rnd.choice(("oldest", "latest")),
                    }
                )
            fake.add_cluster(
                sub,
                f"rg-{c % 5}",
                f"aks-{s + first - 1}-{c}",
                kubernetes_version=version,
                network_plugin="azure",
                network_plugin_mode="overlay",
                windows_profile={
                    "admin_username": "azureuser",
                    "license_type": rnd.choice(("Windows_Server", None)),
                },
                windows_image_date=rnd.choice(("2026-09-20", "2026-11-20")),
                pools=pools,
            )
    return subs


def ratio(name: str, value: float, goal: str, met: bool | None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "value": round(value, 3), "goal": goal, "met": met, **extra}


def environment() -> dict[str, Any]:
    import os

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def print_result(result: dict[str, Any]) -> None:
    print(f"== {result['benchmark']}: {result.get('title', '')}")
    if result.get("skipped"):
        print(f"   skipped: {result['skipped']}")
        return
    for key, value in result.get("figures", {}).items():
        print(f"   {key:<44} {value}")
    for r in result.get("ratios", []):
        mark = "-" if r["met"] is None else ("met" if r["met"] else "NOT MET")
        print(f"   {r['name']:<44} {r['value']:>10}   goal {r['goal']:<14} {mark}")


def write_results(results: list[dict[str, Any]], name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    data = {"environment": environment(), "results": results}
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    (RESULTS / f"{name}-latest.json").write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    return path
