"""One evolving twin per rehearsal target: kept across processes, reset on demand, safe under concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.testing.twins import open_twin, reset_twin, twin_directory

LEGACY = ("00000000-0000-0000-0000-000000000003", "rg-erp", "aks-erp")

# A child process that opens the twin, changes the cluster through the real SDK and prints what it read.
_CHILD = """
import json, sys
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.testing.twins import open_twin

sub, rg, name = {target!r}
with open_twin({scenario!r}) as twin:
    cs = AzureClients.for_simulator(twin.fake, sub).containerservice
    mc = cs.managed_clusters.get(rg, name)
    seen = {{"version": mc.kubernetes_version, "tags": dict(mc.tags or {{}}), "fresh": twin.fresh,
             "now": twin.fake.clock.now().isoformat()}}
    action = sys.argv[1]
    if action == "upgrade":
        mc.kubernetes_version = "1.18.1"
        cs.managed_clusters.begin_create_or_update(rg, name, mc).result()
    elif action.startswith("tag"):
        mc.tags = {{**seen["tags"], action: "1"}}
        cs.managed_clusters.begin_create_or_update(rg, name, mc).result()
print(json.dumps(seen))
"""


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AKS_WINDOWS_OPS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _child(action: str, scenario: str = "legacy-2019") -> subprocess.Popen[str]:
    code = _CHILD.format(target=LEGACY, scenario=scenario)
    return subprocess.Popen(
        [sys.executable, "-c", code, action], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ),
    )  # fmt: skip


def _run(action: str, scenario: str = "legacy-2019") -> dict[str, object]:
    proc = _child(action, scenario)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def test_a_change_in_one_process_is_seen_by_the_next_until_reset(state_dir: Path) -> None:
    first = _run("upgrade")
    assert first["version"] == "1.17.0" and first["fresh"] is True
    second = _run("read")
    assert second["version"] == "1.18.1" and second["fresh"] is False
    assert str(second["now"]) > str(first["now"])  # the virtual clock carried on
    state = twin_directory("legacy-2019") / "state.json"
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    assert oct(state.parent.stat().st_mode & 0o777) == "0o700"
    assert reset_twin("legacy-2019") is True
    assert _run("read")["version"] == "1.17.0"


def test_concurrent_processes_on_one_twin_lose_no_change() -> None:
    procs = [_child(f"tag{i}") for i in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    tags = _run("read")["tags"]
    assert isinstance(tags, dict)
    assert {f"tag{i}" for i in range(4)} <= set(tags)


def test_a_scenario_file_is_its_own_target(tmp_path: Path) -> None:
    from aks_windows_ops.testing.scenario import scenario_path

    copy = tmp_path / "mine.yaml"
    copy.write_text(scenario_path("legacy-2019").read_text(encoding="utf-8"), encoding="utf-8")
    _run("upgrade", str(copy))
    assert _run("read", str(copy))["version"] == "1.18.1"
    assert _run("read")["version"] == "1.17.0"  # the built-in twin is another target
    assert twin_directory(str(copy)) != twin_directory("legacy-2019")


def test_unknown_target_lists_the_built_ins() -> None:
    with pytest.raises(InvalidInput) as err:
        open_twin("legacy-2091")
    assert "legacy-2019" in str(err.value) and "healthy" in str(err.value)


def test_reset_on_open_starts_from_the_scenario() -> None:
    _run("upgrade")
    with open_twin("legacy-2019", reset=True) as twin:
        assert twin.fresh
        assert twin.fake.clusters[LEGACY].props["kubernetesVersion"] == "1.17.0"


def test_a_python_rehearsal_never_writes_the_real_default_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aks_windows_ops.azure.clients import AzureClients
    from aks_windows_ops.runbooks.patch import apply_patch, plan_patch
    from aks_windows_ops.testing import FakeAzure

    real_default = tmp_path / "real" / "checkpoints.json"
    monkeypatch.setenv("AKS_WINDOWS_OPS_CHECKPOINTS", str(real_default))
    fake = FakeAzure.from_scenario("legacy-2019")
    clients = AzureClients.for_simulator(fake, LEGACY[0])
    plan, ctx = plan_patch(clients, LEGACY[1], LEGACY[2], kubernetes_version="1.18.1")
    assert apply_patch(plan, ctx).ok  # no checkpoints given
    assert not real_default.exists()
