"""Cold import: ``import aks_windows_ops`` against ``import azure.mgmt.containerservice`` (Service facts: Anchor figures).

Each import runs in a fresh interpreter (``python -c "import X"``), several times, alternating; the figure is
the median wall time of the process minus the median of a bare ``python -c pass`` (the interpreter's own start),
so that the ratio compares what the import itself costs. ``python -X importtime`` gives the same ordering.

    python benchmarks/bench_import.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_result, ratio, write_results

REPEATS = 9
TARGETS = {
    "bare interpreter": "pass",
    "import aks_windows_ops": "import aks_windows_ops",
    "import azure.mgmt.containerservice": "import azure.mgmt.containerservice",
    "import aks_windows_ops.fleet": "import aks_windows_ops.fleet",
}


def _once(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def _self_import_us(module: str) -> int:
    """Cumulative microseconds ``-X importtime`` reports for ``module`` itself."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    for line in reversed(out.splitlines()):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    return -1


def run() -> dict[str, Any]:
    samples: dict[str, list[float]] = {name: [] for name in TARGETS}
    for code in TARGETS.values():  # warm the file cache once
        _once(code)
    for _ in range(REPEATS):
        for name, code in TARGETS.items():
            samples[name].append(_once(code))
    median = {name: statistics.median(values) for name, values in samples.items()}
    base = median["bare interpreter"]
    ours = median["import aks_windows_ops"] - base
    sdk = median["import azure.mgmt.containerservice"] - base
    fleet = median["import aks_windows_ops.fleet"] - base
    process_ratio = median["import aks_windows_ops"] / median["import azure.mgmt.containerservice"]
    importtime = {m: _self_import_us(m) for m in ("aks_windows_ops", "azure.mgmt.containerservice")}
    return {
        "benchmark": "cold_import",
        "title": f"fresh interpreters, median of {REPEATS}",
        "command": "python benchmarks/bench_import.py",
        "figures": {
            "bare interpreter start": f"{base * 1000:.0f} ms",
            "import aks_windows_ops (beyond start)": f"{ours * 1000:.0f} ms",
            "import azure.mgmt.containerservice (beyond start)": f"{sdk * 1000:.0f} ms",
            "import aks_windows_ops.fleet (beyond start)": f"{fleet * 1000:.0f} ms",
            "-X importtime aks_windows_ops": f"{importtime['aks_windows_ops'] / 1000:.1f} ms",
            "-X importtime azure.mgmt.containerservice": f"{importtime['azure.mgmt.containerservice'] / 1000:.1f} ms",
        },
        "ratios": [
            ratio("aks_windows_ops / containerservice (import)", ours / sdk, "<= 1.2x", ours / sdk <= 1.2),
            ratio(
                "aks_windows_ops / containerservice (process)", process_ratio, "<= 1.2x", process_ratio <= 1.2
            ),
        ],
    }


if __name__ == "__main__":
    result = run()
    print_result(result)
    write_results([result], "bench_import")
