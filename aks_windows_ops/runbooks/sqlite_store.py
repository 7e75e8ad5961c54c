"""The default checkpoint store: one SQLite database in the user's state directory (design principle "resumable by construction").

Standard library ``sqlite3`` in WAL mode: every record, plan document and lease is written in its own
transaction (``BEGIN IMMEDIATE``), so several processes share the file safely: readers never see half a
record, and no writer overwrites another's records (each row is keyed by plan and step, not rewritten
whole as a JSON file would be). The file is created 0600 inside the 0700 state directory (continuation
tokens name the cluster's resources); no secret is ever stored (records refuse them).

Leases (:mod:`aks_windows_ops.runbooks.leases`) are rows of the ``leases`` table, taken and renewed in one
transaction each.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.paths import private_file
from aks_windows_ops.runbooks.leases import LEASE_SECONDS, LeaseHolder, expired, expiry, held_message
from aks_windows_ops.runbooks.plan import Plan

__all__ = ["SqliteCheckpointStore"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS plans (plan_id TEXT PRIMARY KEY, document TEXT)",
    "CREATE TABLE IF NOT EXISTS steps (plan_id TEXT NOT NULL, step_id TEXT NOT NULL, record TEXT NOT NULL, "
    "PRIMARY KEY (plan_id, step_id))",
    "CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, host TEXT NOT NULL, "
    "started_at TEXT NOT NULL, expires REAL NOT NULL)",
)


class SqliteCheckpointStore:
    """Checkpoints, plan documents and leases in one SQLite file, safe for several processes at once.

    Implements ``CheckpointStore``, ``PlanStore`` and ``LeaseStore`` (design principle "resumable by construction").

    Args:
        path: the database file; created (0600) with its parent directories on first use.
        timeout: seconds a writer waits for another's transaction before giving up.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self.timeout = timeout
        self._local = threading.local()
        self._ready = False
        self._ready_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteCheckpointStore({str(self.path)!r})"

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._ready_lock:
            if not self._ready:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                private_file(self.path)
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with self._ready_lock:
                if not self._ready:
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    self._ready = True
        except sqlite3.DatabaseError as err:
            raise InvalidInput(
                f"checkpoint store {self.path} is not an aks-windows-ops SQLite database ({err})",
                remediation="Point to another file, or move this one away: plans then restart by re-reading state.",
            ) from None
        self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _read(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        try:
            return list(self._connection().execute(sql, args).fetchall())
        except sqlite3.DatabaseError as err:
            raise InvalidInput(f"checkpoint store {self.path} cannot be read: {err}") from None

    # ------------------------------------------------------------------ records
    def load(self, plan_id: str, step_id: str) -> Any:
        """Return the record of one step, or ``None``."""
        from aks_windows_ops.runbooks.checkpoints import StepRecord

        rows = self._read("SELECT record FROM steps WHERE plan_id = ? AND step_id = ?", plan_id, step_id)
        return StepRecord.from_dict(_loads(rows[0][0], self.path)) if rows else None

    def save(self, record: Any) -> None:
        """Store ``record`` in one transaction."""
        text = json.dumps(record.to_dict(), sort_keys=True, allow_nan=False)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO steps (plan_id, step_id, record) VALUES (?, ?, ?) "
                "ON CONFLICT (plan_id, step_id) DO UPDATE SET record = excluded.record",
                (record.plan_id, record.step_id, text),
            )

    def records(self, plan_id: str) -> list[Any]:
        """Return every record of a plan."""
        from aks_windows_ops.runbooks.checkpoints import StepRecord

        rows = self._read("SELECT record FROM steps WHERE plan_id = ? ORDER BY rowid", plan_id)
        return [StepRecord.from_dict(_loads(row[0], self.path)) for row in rows]

    def clear(self, plan_id: str) -> None:
        """Forget a plan: its records and its document."""
        with self._write() as conn:
            conn.execute("DELETE FROM steps WHERE plan_id = ?", (plan_id,))
            conn.execute("DELETE FROM plans WHERE plan_id = ?", (plan_id,))

    # ------------------------------------------------------------------ plans
    def save_plan(self, plan: Plan) -> None:
        """Store the plan document (idempotent)."""
        text = json.dumps(plan.to_dict(), sort_keys=True, allow_nan=False)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO plans (plan_id, document) VALUES (?, ?) "
                "ON CONFLICT (plan_id) DO UPDATE SET document = excluded.document",
                (plan.id, text),
            )

    def load_plan(self, plan_id: str) -> Plan | None:
        """Return the stored plan, or ``None``."""
        rows = self._read("SELECT document FROM plans WHERE plan_id = ?", plan_id)
        return Plan.from_dict(_loads(rows[0][0], self.path)) if rows else None

    def plan_ids(self) -> list[str]:
        """Return the ids of every plan with records or a stored document, sorted."""
        rows = self._read("SELECT plan_id FROM plans UNION SELECT plan_id FROM steps")
        return sorted(str(r[0]) for r in rows)

    # ------------------------------------------------------------------ leases
    def acquire_lease(self, name: str, holder: LeaseHolder, seconds: float = LEASE_SECONDS) -> None:
        """Take or renew a lease in one transaction.

        Raises:
            LeaseHeld: another holder has it and it has not expired.
        """
        with self._write() as conn:
            row = conn.execute(
                "SELECT holder, host, started_at, expires FROM leases WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and row[0] != holder.id and not expired(float(row[3])):
                raise held_message(
                    name, {"holder": row[0], "host": row[1], "started_at": row[2], "expires": row[3]}
                )
            conn.execute(
                "INSERT INTO leases (name, holder, host, started_at, expires) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, host = excluded.host, "
                "started_at = excluded.started_at, expires = excluded.expires",
                (name, holder.id, holder.host, holder.started_at, expiry(seconds)),
            )

    def release_lease(self, name: str, holder: LeaseHolder) -> None:
        """Give the lease back if ``holder`` holds it."""
        with self._write() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder.id))

    def break_lease(self, name: str) -> None:
        """Remove the lease whoever holds it."""
        with self._write() as conn:
            conn.execute("DELETE FROM leases WHERE name = ?", (name,))

    def lease_holder(self, name: str) -> dict[str, Any] | None:
        """Return the current holder's record, or ``None`` when the lease is free or expired."""
        rows = self._read("SELECT holder, host, started_at, expires FROM leases WHERE name = ?", name)
        if not rows or expired(float(rows[0][3])):
            return None
        holder, host, started, expires = rows[0]
        return {"holder": holder, "host": host, "started_at": started, "expires": expires}

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _loads(text: str, path: Path) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidInput(f"checkpoint store {path} holds a corrupt row") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"checkpoint store {path} holds a row that is not a record")
    return data
