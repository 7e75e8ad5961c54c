"""One evolving twin per rehearsal target, kept in the user's state directory.

A rehearsal target is a built-in scenario name or a scenario file. The first command that rehearses on a
target builds its twin from the scenario; every later command with the same target continues from where the
last one left it: the ARM state (clusters, pools, scale sets, networks, finished operations), the Kubernetes
state (nodes, workloads, pods) and the virtual clock. A rehearsed control-plane upgrade is therefore still
there for the next ``show`` or ``preflight``, and a rehearsal paused by its time budget resumes in a new
process, as it would on Azure.

Each twin lives in its own folder, ``<state dir>/twins/<target>/`` (mode 0700, files 0600):

* ``state.json``: the twin (a versioned JSON document; never code, so reading it cannot run anything);
* ``checkpoints.json``: the checkpoints of the plans rehearsed on it, kept apart from real runs;
* ``lock``: one process at a time works on a twin (an exclusive ``flock`` held from open to close), so
  concurrent commands on one twin queue instead of corrupting it.

:func:`reset_twin` (``--simulate-reset``, ``aks-windows-ops twin reset TARGET``) starts a target afresh.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import re
from pathlib import Path
from types import TracebackType
from typing import Any

from aks_windows_ops.clock import system_clock
from aks_windows_ops.paths import private_file, state_dir
from aks_windows_ops.testing._http import Fault, VirtualClock

__all__ = ["STATE_VERSION", "Twin", "open_twin", "reset_twin", "twin_directory", "twin_target"]

#: Version of the ``state.json`` layout; a twin of another version is rebuilt from its scenario.
STATE_VERSION = 1


def twin_target(target: str) -> str:
    """The canonical name of a rehearsal target: a built-in scenario name, or a scenario file's absolute path.

    Raises:
        InvalidInput: neither a built-in name nor an existing file (the message lists the built-ins).
    """
    from aks_windows_ops.errors import InvalidInput
    from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS

    text = str(target).strip()
    if text in BUILTIN_SCENARIOS:
        return text
    path = Path(text).expanduser()
    if path.is_file():
        return str(path.resolve())
    raise InvalidInput(
        f"no scenario {text!r}: not a built-in scenario and no such file; "
        f"the built-in scenarios are {', '.join(BUILTIN_SCENARIOS)}"
    )


def twin_directory(target: str) -> Path:
    """The folder that holds the twin of ``target`` (created, mode 0700)."""
    canonical = twin_target(target)
    if "/" not in canonical and "\\" not in canonical:
        slug = canonical
    else:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(canonical).stem)[:40] or "scenario"
        slug = f"{stem}-{hashlib.sha256(canonical.encode()).hexdigest()[:12]}"
    return state_dir("twins", slug)


def reset_twin(target: str) -> bool:
    """Forget the twin of ``target`` and its rehearsal checkpoints; return whether there was one.

    Waits for any process working on the twin to finish first.
    """
    directory = twin_directory(target)
    with _Lock(directory / "lock"):
        existed = (directory / "state.json").exists()
        for name in ("state.json", "checkpoints.json"):
            (directory / name).unlink(missing_ok=True)
    return existed


class _Lock:
    """An exclusive advisory lock on a file (``flock``; a no-op where the platform has none)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> _Lock:
        self._fd = os.open(private_file(self.path), os.O_RDWR)
        try:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: one process at a time is the user's job
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


class Twin:
    """The twin of one rehearsal target, open for one command (see the module docstring).

    Use :func:`open_twin`; close it (or use it as a context manager) to save it and release its lock.

    Attributes:
        target: the canonical target (built-in name or absolute scenario path).
        directory: where it is kept.
        fake: the ``FakeAzure`` serving its ARM state.
        kube: the ``FakeKubernetes`` holding its Kubernetes state (not serving until started).
        created_at: when the twin was built from its scenario (UTC, ISO 8601).
        fresh: whether this command built it from the scenario.
    """

    def __init__(self, target: str, directory: Path, fake: Any, kube: Any, meta: dict[str, Any], fresh: bool):
        self.target = target
        self.directory = directory
        self.fake = fake
        self.kube = kube
        self.created_at: str = str(meta.get("created_at") or _utc_now())
        self.fresh = fresh
        self._lock: _Lock | None = None

    @property
    def checkpoint_path(self) -> Path:
        """The checkpoint file of the plans rehearsed on this twin (apart from real runs)."""
        return self.directory / "checkpoints.json"

    def save(self) -> None:
        """Write the twin to its folder (atomically; operations still running are finished first)."""
        self.fake.settle()
        document = {
            "version": STATE_VERSION,
            "target": self.target,
            "created_at": self.created_at,
            "saved_at": _utc_now(),
            "clock": {"epoch": self.fake.clock.epoch.isoformat(), "seconds": self.fake.clock.monotonic()},
            "arm": _arm_state(self.fake),
            "kube": _kube_state(self.kube),
        }
        path = self.directory / "state.json"
        tmp = private_file(self.directory / "state.json.tmp")
        tmp.write_text(json.dumps(document, separators=(",", ":"), default=_json_default), encoding="utf-8")
        os.replace(tmp, path)

    def close(self, *, save: bool = True) -> None:
        """Save (unless told not to) and release the lock; idempotent."""
        if self._lock is None:
            return
        try:
            if save:
                self.save()
        finally:
            self._lock.__exit__()
            self._lock = None

    def __enter__(self) -> Twin:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_twin(target: str, *, reset: bool = False, kube: Any = None) -> Twin:
    """Open the twin of ``target``: load it, or build it from the scenario the first time (or after a reset).

    Holds the twin's lock until :meth:`Twin.close`: another process opening the same twin waits.

    Args:
        target: a built-in scenario name or a scenario file.
        reset: start afresh from the scenario, forgetting the saved twin and its rehearsal checkpoints.
        kube: the ``FakeKubernetes`` to hold the twin's Kubernetes state (a new one by default, not started).

    Raises:
        InvalidInput: the target is neither a built-in scenario nor a file, or the scenario is invalid.
    """
    from aks_windows_ops.testing.kube.fake import FakeKubernetes
    from aks_windows_ops.testing.scenario import load_scenario

    canonical = twin_target(target)
    directory = twin_directory(canonical)
    lock = _Lock(directory / "lock").__enter__()
    try:
        if reset:
            for name in ("state.json", "checkpoints.json"):
                (directory / name).unlink(missing_ok=True)
        kube = kube if kube is not None else FakeKubernetes(ready_delay=0.0)
        document = _read_state(directory / "state.json")
        if document is None:
            fake = load_scenario(canonical, kube=kube)
            twin = Twin(canonical, directory, fake, kube, {}, fresh=True)
        else:
            fake = _restore(document, kube)
            twin = Twin(canonical, directory, fake, kube, document, fresh=False)
        fake.twin_name = canonical  # plans rehearsed on it record mode ``twin:<target>``
        twin._lock = lock
        return twin
    except BaseException:
        lock.__exit__()
        raise


# --- the state document ---------------------------------------------------------------------------------------


def _utc_now() -> str:
    return system_clock.now().replace(microsecond=0).isoformat()


def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a twin")


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # unreadable: rebuilt from the scenario (the user can also reset it)
    if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
        return None
    return document


def _keyed(mapping: dict[tuple[str, ...], Any]) -> list[list[Any]]:
    return [[*key, value] for key, value in mapping.items()]


def _unkeyed(rows: list[list[Any]]) -> dict[tuple[str, ...], Any]:
    return {tuple(row[:-1]): row[-1] for row in rows}


_OPERATION_FIELDS = (
    "id",
    "subscription",
    "location",
    "provider",
    "cluster_key",
    "pool",
    "kind",
    "start",
    "duration",
    "status",
    "error",
    "fail_with",
    "stuck",
    "end",
    "progress_total",
)


def _arm_state(fake: Any) -> dict[str, Any]:
    with fake._lock:
        clusters = []
        for key, cluster in fake.clusters.items():
            data = {f.name: getattr(cluster, f.name) for f in dataclasses.fields(cluster)}
            clusters.append([*key, data])
        return {
            "today": fake.today0.isoformat(),
            "scenario": getattr(fake, "scenario", None),
            "durations": fake.durations,
            "resource_groups": _keyed(fake.resource_groups),
            "clusters": clusters,
            "vmss": _keyed(fake.vmss),
            "vms": _keyed(fake.vms),
            "vnets": _keyed(fake.vnets),
            "subnet_base_usage": fake.subnet_base_usage,
            "operations": [
                {name: getattr(op, name) for name in _OPERATION_FIELDS} for op in fake.operations.values()
            ],
            "kubernetes_versions": fake.kubernetes_versions,
            "default_kubernetes_version": fake.default_kubernetes_version,
            "vcpu_quota": dict(fake.vcpu_quota),
            "faults": [
                {**{f.name: getattr(fault, f.name) for f in dataclasses.fields(fault)}}
                for fault in fake.faults
            ],
            "seq": fake._seq,
        }


def _kube_state(kube: Any) -> dict[str, Any]:
    state = kube.state
    with state.lock:
        return {
            "ready_delay": state.ready_delay,
            "termination_delay": state.termination_delay,
            "rv": state._rv,
            "objects": {kind: list(store.values()) for kind, store in state._objects.items() if store},
            "bound_at": state._bound_at,
            "gone_at": state._gone_at,
            "rng": _rng_state(state._rng),
            "alloc_counter": state._alloc.counter,
            "pool_next": kube._pool_next,
            "time_zones": [[uid, name, zone] for (uid, name), zone in kube.exec_state.time_zones.items()],
        }


def _rng_state(rng: Any) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _restore(document: dict[str, Any], kube: Any) -> Any:
    from aks_windows_ops.testing.arm.state import Cluster as _Cluster
    from aks_windows_ops.testing.arm.state import Operation as _Operation
    from aks_windows_ops.testing.arm.transport import FakeAzure

    clock_doc = document["clock"]
    arm = document["arm"]
    clock = VirtualClock(
        float(clock_doc["seconds"]), epoch=_dt.datetime.fromisoformat(str(clock_doc["epoch"]))
    )
    _restore_kube(document["kube"], kube)
    fake = FakeAzure(
        clock=clock, kube=kube, today=_dt.date.fromisoformat(arm["today"]), durations=arm["durations"]
    )
    fake.scenario = arm.get("scenario")  # type: ignore[attr-defined]
    fake.resource_groups = _unkeyed(arm["resource_groups"])  # type: ignore[assignment]
    for row in arm["clusters"]:
        data = dict(row[-1])
        cutoff = data.get("windows_image_cutoff")
        data["windows_image_cutoff"] = _dt.date.fromisoformat(cutoff) if cutoff else None
        fake.clusters[tuple(row[:-1])] = _Cluster(**data)
    fake.vmss = _unkeyed(arm["vmss"])  # type: ignore[assignment]
    fake.vms = _unkeyed(arm["vms"])  # type: ignore[assignment]
    fake.vnets = _unkeyed(arm["vnets"])  # type: ignore[assignment]
    fake.subnet_base_usage = dict(arm["subnet_base_usage"])
    for op in arm["operations"]:
        data = dict(op)
        if data.get("cluster_key") is not None:
            data["cluster_key"] = tuple(data["cluster_key"])
        if data.get("fail_with") is not None:
            data["fail_with"] = tuple(data["fail_with"])
        fake.operations[data["id"]] = _Operation(**data)
    fake.kubernetes_versions = list(arm["kubernetes_versions"])
    fake.default_kubernetes_version = arm.get("default_kubernetes_version")
    fake.vcpu_quota = {str(k): int(v) for k, v in (arm.get("vcpu_quota") or {}).items()}
    for spec in arm.get("faults") or []:
        data = dict(spec)
        hits, seen = data.pop("hits", 0), data.pop("seen", 0)
        fault = Fault(**data)
        fault.hits, fault.seen = hits, seen
        fake.faults.append(fault)
    fake._seq = int(arm.get("seq") or 0)
    return fake


def _restore_kube(doc: dict[str, Any], kube: Any) -> None:
    state = kube.state
    with state.lock:
        state.ready_delay = float(doc["ready_delay"])
        state.termination_delay = float(doc["termination_delay"])
        for store in state._objects.values():
            store.clear()
        for kind, objects in doc["objects"].items():
            for obj in objects:
                meta = obj["metadata"]
                state._objects[kind][(meta.get("namespace", ""), meta["name"])] = obj
        state._rv = int(doc["rv"])
        state._bound_at = {str(k): float(v) for k, v in doc["bound_at"].items()}
        state._gone_at = {str(k): float(v) for k, v in doc["gone_at"].items()}
        version, internal, gauss = doc["rng"]
        state._rng.setstate((version, tuple(internal), gauss))
        state._alloc.counter = int(doc["alloc_counter"])
        state._history.clear()
        state._record()
    kube._pool_next = {str(k): int(v) for k, v in doc["pool_next"].items()}
    for uid, name, zone in doc.get("time_zones") or []:
        kube.exec_state.set_time_zone(uid, name, zone)
