"""Run every benchmark, print one table of the ratios, and write the results to ``benchmarks/results/``.

python benchmarks/run_all.py            # all of them (about 2.5 minutes on 2 cores)
python benchmarks/run_all.py audit drain   # only those whose name contains one of the words
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_result, write_results

BENCHMARKS = (
    "bench_import",
    "bench_procedures",
    "bench_audit",
    "bench_throttle",
    "bench_fleet",
    "bench_drain",
)


def main(argv: list[str]) -> int:
    wanted = [a for a in argv if not a.startswith("-")]
    selected = [b for b in BENCHMARKS if not wanted or any(w in b for w in wanted)]
    results: list[dict[str, Any]] = []
    for name in selected:
        module = importlib.import_module(name)
        start = time.perf_counter()
        try:
            result = module.run()
        except Exception as err:  # a broken benchmark is reported, the others still run
            traceback.print_exc()
            result = {"benchmark": name, "title": "failed", "skipped": f"{type(err).__name__}: {err}"}
        result["seconds"] = round(time.perf_counter() - start, 1)
        results.append(result)
        print_result(result)
        print(f"   ({result['seconds']} s)\n", flush=True)

    print(f"{'benchmark':<24} {'ratio':<52} {'value':>9}  {'goal':<10} result")
    failed = 0
    for result in results:
        if result.get("skipped"):
            print(f"{result['benchmark']:<24} {'skipped: ' + result['skipped']:<52}")
            continue
        for r in result["ratios"]:
            mark = "-" if r["met"] is None else ("met" if r["met"] else "NOT MET")
            failed += r["met"] is False
            print(f"{result['benchmark']:<24} {r['name']:<52} {r['value']:>9}  {r['goal']:<10} {mark}")
    path = write_results(results, "run_all")
    print(f"\nresults written to {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
