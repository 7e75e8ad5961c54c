"""Several processes at once against each checkpoint store: no record is lost, one lease holder wins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aks_windows_ops.errors import LeaseHeld
from aks_windows_ops.runbooks.checkpoints import checkpoint_store_from_url
from aks_windows_ops.runbooks.leases import LeaseHolder

WORKERS = 4
RECORDS = 40

# Each worker saves its own records of one shared plan, interleaved with the other workers, then tries to
# take the same cluster lease (never releasing it) and prints whether it got it.
WORKER = r"""
import json, sys
from aks_windows_ops.errors import LeaseHeld
from aks_windows_ops.runbooks.checkpoints import StepRecord, checkpoint_store_from_url
from aks_windows_ops.runbooks.leases import LeaseHolder
url, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = checkpoint_store_from_url(url)
sys.stdin.readline()  # start together
for n in range(count):
    store.save(StepRecord("shared-plan", f"w{worker}-{n}", attempts=n))
try:
    store.acquire_lease("cluster:sub/rg/aks", LeaseHolder())
    won = True
except LeaseHeld:
    won = False
print(json.dumps({"worker": worker, "won": won}))
"""


def _run_workers(url: str) -> list[dict[str, object]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(w), str(RECORDS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _check(url: str, results: list[dict[str, object]]) -> None:
    store = checkpoint_store_from_url(url)
    got = sorted(r.step_id for r in store.records("shared-plan"))
    assert got == sorted(f"w{w}-{n}" for w in range(WORKERS) for n in range(RECORDS))
    assert sum(bool(r["won"]) for r in results) == 1
    with pytest.raises(LeaseHeld):
        store.acquire_lease("cluster:sub/rg/aks", LeaseHolder())


@pytest.mark.parametrize("name", ["cp.sqlite", "cp.json"])
def test_processes_at_once_lose_no_record_and_one_takes_the_lease(tmp_path: Path, name: str) -> None:
    url = str(tmp_path / name)
    _check(url, _run_workers(url))


@pytest.mark.azurite
def test_processes_at_once_on_blob_lose_no_record_and_one_takes_the_blob_lease(
    azurite: str, container_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONCURRENCY_CONN", azurite)
    url = f"blob://{container_name}/c?connection_string_env=CONCURRENCY_CONN"
    _check(url, _run_workers(url))
