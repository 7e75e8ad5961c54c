"""Checkpoint stores: where each step's outcome is recorded so that a re-run resumes (design principle "resumable by construction").

Every step of an applied plan has one fixed-shape :class:`StepRecord` (kopf's progress records are the
model): its state, how many times its write was sent, when it ran, a one-line message, and the handle of the
Azure operation it started (a continuation token, never a secret: design principle "secrets never print").

Stores implement :class:`CheckpointStore` (records) and, optionally, :class:`PlanStore` (the plan document, so
that ``resume(plan_id)`` works without planning again):

- :class:`SqliteCheckpointStore`: the default, one SQLite database (WAL, one transaction per record) in the
  user's state directory, shared safely by several processes.
- :class:`JsonFileCheckpointStore`: one JSON file holding every plan, for a single user on one machine. Each
  write goes to a temporary file that then replaces the old file (``os.replace``) under an OS file lock.
- :class:`MemoryCheckpointStore`: for tests and notebooks; lost with the process.
- :class:`BlobCheckpointStore`: one blob per plan with optimistic concurrency, for Azure Functions, where the
  local disk does not outlive the instance (Service facts: Where it runs). Its Azure half is
  ``aks_windows_ops.azure.blob_store.BlobJsonStore``, imported only when such a store is built.

:func:`checkpoint_store_from_url` picks one from a URL or path; :func:`default_checkpoint_url` says where the
default store lives (``$AKS_WINDOWS_OPS_CHECKPOINTS``, else ``checkpoints.sqlite`` in the state directory).
Every store shipped here also keeps leases (:mod:`aks_windows_ops.runbooks.leases`): one apply at a time per
cluster and per plan.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, urlparse

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.paths import state_dir
from aks_windows_ops.runbooks.leases import LEASE_SECONDS, LeaseHolder, acquire_in, expired, held_message
from aks_windows_ops.runbooks.plan import JsonValue, Plan, check_json_safe
from aks_windows_ops.runbooks.sqlite_store import SqliteCheckpointStore

__all__ = [
    "CHECKPOINTS_ENV",
    "DEFAULT_BLOB_PREFIX",
    "BlobCheckpointStore",
    "CheckpointStore",
    "JsonFileCheckpointStore",
    "MemoryCheckpointStore",
    "PlanStore",
    "RecordState",
    "SqliteCheckpointStore",
    "StepRecord",
    "checkpoint_store_from_url",
    "default_checkpoint_path",
    "default_checkpoint_url",
]

#: Environment variable naming the default checkpoint store (a path or a URL that
#: :func:`checkpoint_store_from_url` understands).
CHECKPOINTS_ENV = "AKS_WINDOWS_OPS_CHECKPOINTS"

#: Where :class:`BlobCheckpointStore` puts its blobs in the container unless told otherwise.
DEFAULT_BLOB_PREFIX = "aks-windows-ops/checkpoints/"

_FILE_FORMAT = 1


class RecordState(str, enum.Enum):
    """Where a step stands in the checkpoint (design principle "resumable by construction")."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class StepRecord:
    """The fixed-shape progress record of one step of one plan (design principle "resumable by construction", after kopf).

    Attributes:
        plan_id: the plan's :attr:`~aks_windows_ops.runbooks.plan.Plan.id`.
        step_id: the step's id within the plan.
        state: pending, in_progress, succeeded or failed.
        attempts: how many times the step's write was sent (incremented before sending).
        started_at: when the current attempt started (UTC, ISO 8601), if it did.
        finished_at: when the step succeeded or failed (UTC, ISO 8601).
        message: one line: the verification result or the error; never a secret.
        operation: the handle of the Azure operation in flight, e.g. ``{"kind": "lro", "token": "..."}``;
            JSON only, and a ``Secret`` is refused (design principle "secrets never print").
    """

    plan_id: str
    step_id: str
    state: RecordState = RecordState.PENDING
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    message: str = ""
    operation: Mapping[str, JsonValue] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", RecordState(self.state))
        if self.operation is not None:
            where = f"checkpoint operation of step {self.step_id!r}"
            if not isinstance(self.operation, Mapping):
                raise InvalidInput(f"{where} must be a mapping or None")
            object.__setattr__(self, "operation", check_json_safe(self.operation, where))

    def evolve(self, **changes: Any) -> StepRecord:
        """Return a copy with ``changes`` applied (records are immutable)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a JSON-ready dict (the stored shape)."""
        return {
            "plan_id": self.plan_id,
            "step_id": self.step_id,
            "state": self.state.value,
            "attempts": self.attempts,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "message": self.message,
            "operation": None if self.operation is None else dict(self.operation),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepRecord:
        """Build a record from :meth:`to_dict` output.

        Raises:
            InvalidInput: the document is malformed.
        """
        if not isinstance(data, Mapping):
            raise InvalidInput(
                f"malformed checkpoint record: a JSON object was expected, got {type(data).__name__}"
            )
        try:
            return cls(
                plan_id=str(data["plan_id"]),
                step_id=str(data["step_id"]),
                state=RecordState(data.get("state", RecordState.PENDING.value)),
                attempts=int(data.get("attempts", 0)),
                started_at=data.get("started_at"),
                finished_at=data.get("finished_at"),
                message=str(data.get("message", "")),
                operation=data.get("operation"),
            )
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, InvalidInput):
                raise
            raise InvalidInput(f"malformed checkpoint record: {type(err).__name__}: {err}") from None


@runtime_checkable
class CheckpointStore(Protocol):
    """Storage for step records, keyed by plan id and step id (design principle "resumable by construction").

    ``save`` must be atomic per record: after a crash a reader sees the old record or the new one, whole.
    """

    def load(self, plan_id: str, step_id: str) -> StepRecord | None:
        """Return the record of one step, or ``None`` if the step never ran."""
        ...

    def save(self, record: StepRecord) -> None:
        """Store ``record``, replacing the previous record of the same step."""
        ...

    def records(self, plan_id: str) -> list[StepRecord]:
        """Return every record of a plan (any order)."""
        ...

    def clear(self, plan_id: str) -> None:
        """Forget a plan: its records and, where stored, its document."""
        ...


@runtime_checkable
class PlanStore(Protocol):
    """Optional extension of :class:`CheckpointStore`: keeps the plan document next to its records.

    The runner saves the plan when the store supports it, so ``resume(plan_id)`` can apply exactly the plan
    that was started, even after the cluster changed (design principle "resumable by construction").
    """

    def save_plan(self, plan: Plan) -> None:
        """Store the plan document (idempotent)."""
        ...

    def load_plan(self, plan_id: str) -> Plan | None:
        """Return the stored plan, or ``None``."""
        ...

    def plan_ids(self) -> list[str]:
        """Return the ids of every plan with records or a stored document, sorted."""
        ...


class MemoryCheckpointStore:
    """An in-process store for tests, notebooks and rehearsals (lost when the process ends).

    Implements :class:`CheckpointStore` and :class:`PlanStore` (design principle "resumable by construction"). Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, StepRecord]] = {}
        self._plans: dict[str, dict[str, Any]] = {}
        self._leases: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"MemoryCheckpointStore(plans={len(self.plan_ids())})"

    def load(self, plan_id: str, step_id: str) -> StepRecord | None:
        """Return the record of one step, or ``None``."""
        with self._lock:
            return self._records.get(plan_id, {}).get(step_id)

    def save(self, record: StepRecord) -> None:
        """Store ``record``."""
        with self._lock:
            self._records.setdefault(record.plan_id, {})[record.step_id] = record

    def records(self, plan_id: str) -> list[StepRecord]:
        """Return every record of a plan."""
        with self._lock:
            return list(self._records.get(plan_id, {}).values())

    def clear(self, plan_id: str) -> None:
        """Forget a plan and its records."""
        with self._lock:
            self._records.pop(plan_id, None)
            self._plans.pop(plan_id, None)

    def save_plan(self, plan: Plan) -> None:
        """Store the plan document (as JSON data, as the durable stores do)."""
        with self._lock:
            self._plans[plan.id] = plan.to_dict()

    def load_plan(self, plan_id: str) -> Plan | None:
        """Return the stored plan, or ``None``."""
        with self._lock:
            data = self._plans.get(plan_id)
        return None if data is None else Plan.from_dict(data)

    def plan_ids(self) -> list[str]:
        """Return the ids of every plan with records or a stored document."""
        with self._lock:
            return sorted(set(self._records) | set(self._plans))

    def acquire_lease(self, name: str, holder: LeaseHolder, seconds: float = LEASE_SECONDS) -> None:
        """Take or renew a lease (see :mod:`aks_windows_ops.runbooks.leases`)."""
        with self._lock:
            acquire_in(self._leases, name, holder, seconds)

    def release_lease(self, name: str, holder: LeaseHolder) -> None:
        """Give the lease back if ``holder`` holds it."""
        with self._lock:
            if (self._leases.get(name) or {}).get("holder") == holder.id:
                del self._leases[name]

    def break_lease(self, name: str) -> None:
        """Remove the lease whoever holds it."""
        with self._lock:
            self._leases.pop(name, None)

    def lease_holder(self, name: str) -> dict[str, Any] | None:
        """Return the current holder's record, or ``None``."""
        with self._lock:
            current = self._leases.get(name)
        return None if current is None or expired(float(current["expires"])) else dict(current)


def default_checkpoint_path() -> Path:
    """Return the default checkpoint store: ``checkpoints.sqlite`` in the user's state directory (0700).

    design principle "resumable by construction": a SQLite database (:class:`SqliteCheckpointStore`) that several processes share
    safely. ``$AKS_WINDOWS_OPS_CHECKPOINTS`` overrides it (see :func:`default_checkpoint_url`).
    """
    return state_dir() / "checkpoints.sqlite"


def default_checkpoint_url() -> str:
    """Return where the default checkpoint store lives (design principle "resumable by construction").

    ``$AKS_WINDOWS_OPS_CHECKPOINTS`` when set (any form :func:`checkpoint_store_from_url` accepts, e.g. a
    ``blob://`` URL on Azure Functions, Service facts: Where it runs), else :func:`default_checkpoint_path`.
    """
    configured = os.environ.get(CHECKPOINTS_ENV, "").strip()
    return configured or str(default_checkpoint_path())


class JsonFileCheckpointStore:
    """One JSON file holding the records (and documents, and leases) of every plan; for a single user.

    Every change rewrites the file through a temporary file in the same directory and ``os.replace``, so the
    file on disk is always a complete JSON document, even after a crash mid-write (design principle "resumable by construction"). Each
    read-modify-write holds an exclusive OS lock on ``<file>.lock`` (``fcntl.flock`` on POSIX), so processes
    of one user on one machine never lose each other's records; the lock does not work across machines or on
    network file systems, which is why the default store is SQLite and Azure Functions use Blob. The file is
    created with mode 0600 because continuation tokens name the cluster's resources.

    Args:
        path: the JSON file; parent directories are created on first write.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JsonFileCheckpointStore({str(self.path)!r})"

    @property
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        # One thread of this process at a time, then one process at a time (the OS lock).
        with self._thread_lock:
            lock_path = self.path.with_name(self.path.name + ".lock")
            try:
                lock_path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
            except OSError:
                yield  # a read-only location: reads still work, writes fail on their own
                return
            try:
                _os_lock(fd)
                yield
            finally:
                _os_unlock(fd)
                os.close(fd)

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"format": _FILE_FORMAT, "plans": {}}
        try:
            data = json.loads(text)
        except ValueError:
            raise InvalidInput(
                f"checkpoint file {self.path} is not valid JSON",
                remediation=(
                    "Restore it from a backup, or move it away: the plans then restart by re-reading state."
                ),
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("plans"), dict):
            raise InvalidInput(f"checkpoint file {self.path} does not hold aks-windows-ops checkpoints")
        plans = data["plans"]
        if not all(isinstance(e, dict) and isinstance(e.get("steps", {}), dict) for e in plans.values()):
            raise InvalidInput(f"checkpoint file {self.path} has a plan entry of the wrong shape")
        leases = data.get("leases", {})
        if not isinstance(leases, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("expires"), (int, float)) for v in leases.values()
        ):
            raise InvalidInput(f"checkpoint file {self.path} has leases of the wrong shape")
        if data.get("format", _FILE_FORMAT) != _FILE_FORMAT:
            raise InvalidInput(f"checkpoint file {self.path} has format {data.get('format')!r}, expected 1")
        return data

    def _write(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: docs/security.md
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._sync_directory()

    def _sync_directory(self) -> None:
        # Makes the rename itself durable on POSIX; Windows cannot open directories, and loses nothing here.
        if os.name != "posix":
            return
        with contextlib.suppress(OSError):
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    @contextlib.contextmanager
    def _update(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            data = self._read()
            yield data
            self._write(data)

    def load(self, plan_id: str, step_id: str) -> StepRecord | None:
        """Return the record of one step, or ``None``."""
        with self._lock:
            raw = self._read()["plans"].get(plan_id, {}).get("steps", {}).get(step_id)
        return None if raw is None else StepRecord.from_dict(raw)

    def save(self, record: StepRecord) -> None:
        """Store ``record`` atomically (temporary file + ``os.replace``)."""
        with self._update() as data:
            entry = data["plans"].setdefault(record.plan_id, {"plan": None, "steps": {}})
            entry.setdefault("steps", {})[record.step_id] = record.to_dict()

    def records(self, plan_id: str) -> list[StepRecord]:
        """Return every record of a plan."""
        with self._lock:
            steps = self._read()["plans"].get(plan_id, {}).get("steps", {})
        return [StepRecord.from_dict(raw) for raw in steps.values()]

    def clear(self, plan_id: str) -> None:
        """Forget a plan and its records."""
        with self._lock:
            data = self._read()
            if plan_id in data["plans"]:
                del data["plans"][plan_id]
                self._write(data)

    def save_plan(self, plan: Plan) -> None:
        """Store the plan document next to its records."""
        with self._update() as data:
            entry = data["plans"].setdefault(plan.id, {"plan": None, "steps": {}})
            entry["plan"] = plan.to_dict()

    def load_plan(self, plan_id: str) -> Plan | None:
        """Return the stored plan, or ``None``."""
        with self._lock:
            raw = self._read()["plans"].get(plan_id, {}).get("plan")
        return None if raw is None else Plan.from_dict(raw)

    def plan_ids(self) -> list[str]:
        """Return the ids of every plan in the file."""
        with self._lock:
            return sorted(self._read()["plans"])

    def acquire_lease(self, name: str, holder: LeaseHolder, seconds: float = LEASE_SECONDS) -> None:
        """Take or renew a lease, under the file lock (see :mod:`aks_windows_ops.runbooks.leases`)."""
        with self._update() as data:
            acquire_in(data.setdefault("leases", {}), name, holder, seconds)

    def release_lease(self, name: str, holder: LeaseHolder) -> None:
        """Give the lease back if ``holder`` holds it."""
        with self._update() as data:
            leases = data.setdefault("leases", {})
            if (leases.get(name) or {}).get("holder") == holder.id:
                del leases[name]

    def break_lease(self, name: str) -> None:
        """Remove the lease whoever holds it."""
        with self._update() as data:
            data.setdefault("leases", {}).pop(name, None)

    def lease_holder(self, name: str) -> dict[str, Any] | None:
        """Return the current holder's record, or ``None``."""
        with self._lock:
            current = self._read().get("leases", {}).get(name)
        return None if current is None or expired(float(current["expires"])) else dict(current)


class BlobCheckpointStore:
    """Checkpoints in Blob Storage, one JSON blob per plan: ``<prefix><plan id>.json`` (Service facts: Where it runs).

    Each blob holds the plan document and its step records, so a run reads one blob per step and a timer
    instance on another machine resumes where the last one stopped (design principle "resumable by construction"). Writes are
    read-modify-writes guarded by the blob's ETag and re-applied on 412, so two writers on the same plan never
    lose each other's records; the container is created when first needed. Needs the ``blob`` extra
    (``azure-storage-blob``), imported when the store is built. No secret is stored: records refuse them, and
    the connection string stays inside the SDK client (design principle "secrets never print").

    Args:
        container_client: an ``azure.storage.blob.ContainerClient``.
        account_url: ``https://<account>.blob.core.windows.net`` (with ``container``).
        container: the container name, with ``account_url`` or ``connection_string``.
        credential: an Azure credential for ``account_url`` (``DefaultAzureCredential`` when omitted and the
            URL has no SAS token).
        connection_string: a storage connection string (with ``container``).
        prefix: the blob name prefix, :data:`DEFAULT_BLOB_PREFIX` by default.
        **options: passed to ``BlobJsonStore`` (``max_attempts``, ``sleep``, ``api_version``, ...).
    """

    def __init__(
        self,
        container_client: Any = None,
        *,
        account_url: str | None = None,
        container: str | None = None,
        credential: Any = None,
        connection_string: str | None = None,
        prefix: str = DEFAULT_BLOB_PREFIX,
        **options: Any,
    ) -> None:
        from aks_windows_ops.azure.blob_store import BlobJsonStore

        self.documents = BlobJsonStore(
            container_client,
            account_url=account_url,
            container=container,
            credential=credential,
            connection_string=connection_string,
            prefix=prefix,
            **options,
        )

    def __repr__(self) -> str:
        return f"BlobCheckpointStore({self.documents!r})"

    @staticmethod
    def _name(plan_id: str) -> str:
        return f"{plan_id}.json"

    def _steps(self, plan_id: str) -> dict[str, Any]:
        document = self.documents.read(self._name(plan_id)) or {}
        steps = document.get("steps")
        return steps if isinstance(steps, dict) else {}

    @staticmethod
    def _document(current: dict[str, Any] | None) -> dict[str, Any]:
        document = current if current is not None else {}
        document.setdefault("format", _FILE_FORMAT)
        document.setdefault("plan", None)
        document.setdefault("steps", {})
        return document

    def load(self, plan_id: str, step_id: str) -> StepRecord | None:
        """Return the record of one step, or ``None``."""
        raw = self._steps(plan_id).get(step_id)
        return None if raw is None else StepRecord.from_dict(raw)

    def save(self, record: StepRecord) -> None:
        """Store ``record`` (an etag-guarded update of the plan's blob)."""
        raw = record.to_dict()

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            document = self._document(current)
            document["steps"][record.step_id] = raw
            return document

        self.documents.update(self._name(record.plan_id), change)

    def records(self, plan_id: str) -> list[StepRecord]:
        """Return every record of a plan."""
        return [StepRecord.from_dict(raw) for raw in self._steps(plan_id).values()]

    def clear(self, plan_id: str) -> None:
        """Delete the plan's blob."""
        self.documents.delete(self._name(plan_id))

    def save_plan(self, plan: Plan) -> None:
        """Store the plan document in the plan's blob."""
        raw = plan.to_dict()

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            document = self._document(current)
            document["plan"] = raw
            return document

        self.documents.update(self._name(plan.id), change)

    def load_plan(self, plan_id: str) -> Plan | None:
        """Return the stored plan, or ``None``."""
        document = self.documents.read(self._name(plan_id)) or {}
        raw = document.get("plan")
        return None if raw is None else Plan.from_dict(raw)

    def plan_ids(self) -> list[str]:
        """Return the ids of every plan stored under the prefix."""
        return [
            name[: -len(".json")]
            for name in self.documents.names()
            if name.endswith(".json") and "/" not in name
        ]

    @staticmethod
    def _lease_blob(name: str) -> str:
        return f"leases/{hashlib.sha256(name.encode('utf-8')).hexdigest()[:32]}.lease"

    @staticmethod
    def _lease_id(holder: LeaseHolder) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aks-windows-ops:{holder.id}"))

    def acquire_lease(self, name: str, holder: LeaseHolder, seconds: float = LEASE_SECONDS) -> None:
        """Take or renew a Blob lease (60 s, renewed by the holder every 30 s; the service expires it).

        Raises:
            LeaseHeld: another holder has it.
        """
        document = {**holder.to_dict(), "name": name}
        current = self.documents.acquire_lease(self._lease_blob(name), self._lease_id(holder), 60, document)
        if current is not None:
            raise held_message(name, current)

    def release_lease(self, name: str, holder: LeaseHolder) -> None:
        """Release the Blob lease if ``holder`` holds it."""
        self.documents.release_lease(self._lease_blob(name), self._lease_id(holder))

    def break_lease(self, name: str) -> None:
        """Break the Blob lease at once, whoever holds it."""
        self.documents.break_lease(self._lease_blob(name))

    def lease_holder(self, name: str) -> dict[str, Any] | None:
        """Return the current holder's record, or ``None`` when the lease is free."""
        if self.documents.lease_state(self._lease_blob(name)) != "leased":
            return None
        return self.documents.read(self._lease_blob(name)) or {}


#: File suffixes that name a SQLite checkpoint store; other paths are JSON files.
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def _file_store(path: str) -> CheckpointStore:
    if path.lower().endswith(SQLITE_SUFFIXES):
        return SqliteCheckpointStore(path)
    return JsonFileCheckpointStore(path)


def _os_lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: msvcrt locks the first byte instead
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _os_unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def _is_windows_drive_path(text: str) -> bool:
    return len(text) >= 2 and text[1] == ":" and text[0].isalpha()


def checkpoint_store_from_url(
    url: str | os.PathLike[str] | None = None, *, credential: Any = None
) -> CheckpointStore:
    r"""Open the checkpoint store that ``url`` names (design principle "resumable by construction"; Service facts: Where it runs for Blob).

    Accepted forms:

    - ``None`` or ``""``: the default, :func:`default_checkpoint_url`.
    - a path ending ``.sqlite``, ``.sqlite3`` or ``.db``, or ``sqlite:///abs/path.sqlite``:
      :class:`SqliteCheckpointStore` (the default kind).
    - any other path (``./cp.json``, ``~/x.json``, ``C:\ops\cp.json``) or ``file:///abs/path.json``:
      :class:`JsonFileCheckpointStore` (single user, one machine).
    - ``memory:``: a new :class:`MemoryCheckpointStore`.
    - ``blob://<container>[/<prefix>]``: Blob storage with a connection string read from the environment
      variable named by ``?connection_string_env=`` (default ``AZURE_STORAGE_CONNECTION_STRING``), or, with
      ``?account_url=https://<account>.blob.core.windows.net``, Entra ID authentication (``credential``, else
      ``DefaultAzureCredential``).
    - ``https://<account>.blob.core.windows.net/<container>[/<prefix>]``: Blob storage with Entra ID (or a SAS
      token in the query string). For emulators and custom endpoints, use the path style
      ``http(s)://host[:port]/<account>/<container>[/<prefix>]``.

    Args:
        url: where the store lives.
        credential: an Azure credential for Blob URLs; ignored otherwise.

    Raises:
        InvalidInput: the URL cannot be understood, or the connection string variable is unset.
    """
    text = os.fspath(url) if url is not None else ""
    text = text.strip() or default_checkpoint_url()
    if text in ("memory:", "memory://"):
        return MemoryCheckpointStore()
    if _is_windows_drive_path(text):
        return _file_store(text)
    parsed = urlparse(text)
    scheme = parsed.scheme.lower()
    if scheme == "":
        return _file_store(text)
    if scheme == "file":
        return _file_store(parsed.path)
    if scheme == "sqlite":
        if not parsed.path:
            raise InvalidInput("a sqlite: checkpoint URL needs a path: sqlite:///path/to/checkpoints.sqlite")
        return SqliteCheckpointStore(parsed.path)
    if scheme == "blob":
        return _blob_store_from_blob_url(parsed.netloc, parsed.path, parsed.query, credential)
    if scheme in ("http", "https"):
        return _blob_store_from_http_url(parsed.scheme, parsed.netloc, parsed.path, parsed.query, credential)
    raise InvalidInput(
        f"checkpoint store URL scheme {parsed.scheme!r} is not supported; "
        "use a path, file://, memory:, blob:// or an https Blob URL"
    )


def _blob_store_from_blob_url(container: str, path: str, query: str, credential: Any) -> CheckpointStore:
    if not container:
        raise InvalidInput("a blob:// checkpoint URL needs a container: blob://<container>[/<prefix>]")
    options = {key: values[-1] for key, values in parse_qs(query).items()}
    prefix = _prefix(path) or DEFAULT_BLOB_PREFIX
    account_url = options.get("account_url")
    if account_url:
        return BlobCheckpointStore(
            account_url=account_url, container=container, credential=credential, prefix=prefix
        )
    variable = options.get("connection_string_env", "AZURE_STORAGE_CONNECTION_STRING")
    connection_string = os.environ.get(variable, "")
    if not connection_string:
        raise InvalidInput(
            f"blob://{container} needs a storage connection string in ${variable} "
            "(or ?account_url=https://<account>.blob.core.windows.net for Entra ID)"
        )
    return BlobCheckpointStore(connection_string=connection_string, container=container, prefix=prefix)


def _blob_store_from_http_url(
    scheme: str, netloc: str, path: str, query: str, credential: Any
) -> CheckpointStore:
    segments = [s for s in path.split("/") if s]
    host = netloc.rsplit("@", 1)[-1].split(":")[0].lower()
    # Azure endpoints put the account in the host name; emulators and IP endpoints put it in the path.
    path_style = ".blob." not in host
    base = f"{scheme}://{netloc}"
    if path_style:
        if len(segments) < 2:
            raise InvalidInput("a path-style Blob URL needs /<account>/<container>[/<prefix>]")
        base = f"{base}/{segments[0]}"
        segments = segments[1:]
    if not segments:
        raise InvalidInput(
            "a Blob checkpoint URL needs a container: https://<account>.blob.core.windows.net/<c>"
        )
    container, rest = segments[0], segments[1:]
    account_url = f"{base}?{query}" if query else base
    prefix = _prefix("/".join(rest)) or DEFAULT_BLOB_PREFIX
    return BlobCheckpointStore(
        account_url=account_url, container=container, credential=credential, prefix=prefix
    )


def _prefix(path: str) -> str:
    cleaned = path.strip("/")
    return f"{cleaned}/" if cleaned else ""
