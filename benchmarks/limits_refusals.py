"""How fast, and with how little memory, each input limit refuses its adversarial input (docs/security.md).

Each case runs twice: once for the wall time (``time.perf_counter``), once under ``tracemalloc`` for the peak
of memory allocated (tracemalloc slows Python down, so the two are measured apart).

    python benchmarks/limits_refusals.py
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.rules.workloads import load_manifests
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.scenario import load_scenario


def _bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\ndescription: *a8\n"


def _scenario(count: str) -> str:
    return (
        "name: c\nsubscriptions:\n  - id: s\n    resource_groups:\n      - name: rg\n        clusters:\n"
        f"          - name: aks\n            pools:\n              - {{name: system, mode: System, count: {count}}}\n"
    )


def _cases(folder: Path) -> dict[str, Callable[[], Any]]:
    huge = folder / "huge.yaml"
    huge.write_bytes(b"# filler\n" * (50 * (1 << 20) // 9))  # a real 50 MiB file on disk
    bomb = _bomb()
    return {
        "50 MiB manifest file": lambda: load_manifests(huge),
        "alias bomb scenario (9^9 nodes)": lambda: load_scenario(bomb),
        "alias bomb manifest": lambda: load_manifests(
            "kind: ConfigMap\n" + bomb.replace("description", "data")
        ),
        "scenario count: 1e7": lambda: load_scenario(_scenario("1e7")),
        "scenario count: 10000000": lambda: load_scenario(_scenario("10000000")),
        "scenario count: -5": lambda: load_scenario(_scenario("-5")),
        "fault path (a+)+$": lambda: FakeAzure().add_fault("error", path="(a+)+$"),
        "manifest nested 200 deep": lambda: load_manifests("a: " + "[" * 200 + "]" * 200 + "\n"),
        "manifest nested 100000 deep": lambda: load_manifests("a: " + "[" * 100_000 + "]" * 100_000 + "\n"),
        "manifest with 10001 documents": lambda: load_manifests("---\na: 1\n" * 10_001),
    }


def _outcome(run: Callable[[], Any]) -> str:
    try:
        run()
    except InvalidInput as err:
        return "refused: " + str(err).splitlines()[0][:72]
    return "ACCEPTED"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, run in _cases(Path(folder)).items():
            start = time.perf_counter()
            outcome = _outcome(run)
            elapsed = time.perf_counter() - start
            tracemalloc.start()
            _outcome(run)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"{name:32s} {elapsed * 1000:8.1f} ms  peak {peak / 1024:6.0f} KiB  {outcome}")


if __name__ == "__main__":
    main()
