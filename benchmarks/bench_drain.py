"""Draining 20 Windows nodes of 10 pods each: nodes at once against one node after another.

``FakeKubernetes`` (a real HTTP API server on loopback, with a controller, scheduler and kubelet) runs 10
Deployments of 20 replicas pinned to Windows, each with a PodDisruptionBudget of ``maxUnavailable: 25%``; the
scheduler spreads them 10 per node over the old pool's 20 nodes. A new pool of 20 nodes receives the
replacements. Pods take 1 s to become Ready and 0.5 s to terminate (real time), the drain polls every 0.1 s.
``aks_windows_ops.kube.drain.drain_nodes`` runs with ``concurrency=1`` and with nodes in parallel; every run
starts from a fresh cluster. Skipped when the drain module or the fake API server is missing.

    python benchmarks/bench_drain.py
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_result, ratio, write_results

NODES = 20
APPS = 10
READY_DELAY = 1.0
TERMINATION_DELAY = 0.5
POLL = 0.1
PARALLEL = (5, 20)

_TOLERATION = {"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}
_POOL: dict[str, Any] = {
    "os_type": "Windows",
    "os_sku": "Windows2022",
    "labels": {},
    "taints": ["os=windows:NoSchedule"],
    "kubernetes_version": "1.33.0",
    "max_pods": 30,
}


def _deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {"kubernetes.io/os": "windows"},
                    "tolerations": [_TOLERATION],
                    "containers": [
                        {
                            "name": "main",
                            "image": "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022",
                        }
                    ],
                },
            },
        },
    }


def _pdb(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": name}}, "maxUnavailable": "25%"},
    }


def _drain_once(concurrency: int) -> dict[str, Any]:
    from aks_windows_ops.kube.drain import drain_nodes
    from aks_windows_ops.testing.fake_kube import FakeKubernetes

    with FakeKubernetes(ready_delay=READY_DELAY, termination_delay=TERMINATION_DELAY) as kube:
        old = kube.sync_pool("win1", count=NODES, **_POOL)
        kube.apply([m for i in range(APPS) for m in (_deployment(f"app{i}", NODES), _pdb(f"app{i}"))])
        kube.settle(timeout=60)
        per_node = sorted(len(kube.pods("default", node=n)) for n in old)
        kube.sync_pool("win2", count=NODES, **_POOL)
        kube.settle(timeout=60)
        mark = kube.history_mark()
        kube.clear_requests()
        with kube.api_client() as api:
            start = time.perf_counter()
            result = drain_nodes(api, old, concurrency=concurrency, poll_interval=POLL, timeout_per_node=300)
            wall = time.perf_counter() - start
        return {
            "wall": wall,
            "evicted": len(result.evicted),
            "refusals": sum(n.refusals for n in result.nodes),
            "requests": len(kube.requests),
            "pdb_violations": len(kube.pdb_violations(since=mark)),
            "pods_per_node": str(per_node[0])
            if per_node[0] == per_node[-1]
            else f"{per_node[0]}-{per_node[-1]}",
        }


def run() -> dict[str, Any]:
    missing = [
        m
        for m in ("aks_windows_ops.kube.drain", "aks_windows_ops.testing.fake_kube")
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        return {"benchmark": "drain", "title": "drain", "skipped": f"missing {', '.join(missing)}"}
    sequential = _drain_once(1)
    parallel = {c: _drain_once(c) for c in PARALLEL}
    figures: dict[str, Any] = {
        "nodes x pods": f"{NODES} x {sequential['pods_per_node']} (10 Deployments, PDB maxUnavailable 25%)",
        "pod ready / termination delay": f"{READY_DELAY} s / {TERMINATION_DELAY} s",
        "one node after another": (
            f"{sequential['wall']:.2f} s, {sequential['requests']} API requests, {sequential['refusals']} "
            "evictions refused by a budget"
        ),
    }
    ratios = []
    for c, r in parallel.items():
        figures[f"{c} nodes at once"] = (
            f"{r['wall']:.2f} s, {r['requests']} API requests, {r['refusals']} evictions refused by a budget"
        )
        ratios.append(
            ratio(
                f"speedup, {c} nodes at once",
                sequential["wall"] / r["wall"],
                "> 1x",
                r["wall"] < sequential["wall"],
            )
        )
    violations = sequential["pdb_violations"] + sum(r["pdb_violations"] for r in parallel.values())
    figures["PodDisruptionBudget violations (all runs)"] = violations
    evicted = {sequential["evicted"], *(r["evicted"] for r in parallel.values())}
    figures["pods evicted per run"] = ", ".join(str(e) for e in sorted(evicted))
    return {
        "benchmark": "drain",
        "title": f"{NODES} Windows nodes x {APPS} pods, concurrent vs one node after another",
        "command": "python benchmarks/bench_drain.py",
        "figures": figures,
        "ratios": ratios,
    }


if __name__ == "__main__":
    result = run()
    print_result(result)
    write_results([result], "bench_drain")
