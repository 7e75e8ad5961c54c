"""Leases: one apply at a time per cluster and per plan (design principle "resumable by construction": each write once).

Two applies of the same plan, or of two plans on the same cluster, would each read "not done" and each send
the write. Before its first step an apply takes a lease named ``cluster:<target>`` and one named
``plan:<id>`` in its checkpoint store, renews them while it runs (every :data:`RENEW_SECONDS`, from a small
background thread, so that long waits for Azure keep them), and releases them at the end. A second apply
finds the lease held and stops before any write with :class:`~aks_windows_ops.errors.LeaseHeld`, naming the
holder, its host and when it started. A holder that died stops renewing: its lease expires
:data:`LEASE_SECONDS` after the last renewal, and ``break_lease`` removes it at once.

Stores that keep leases implement :class:`LeaseStore`: the SQLite store (a row per lease, in one
transaction), the JSON file store (under its file lock), the Blob store (a Blob lease), and the in-memory
store. A custom store without leases runs unguarded.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

from aks_windows_ops.errors import LeaseHeld

__all__ = [
    "LEASE_SECONDS",
    "RENEW_SECONDS",
    "LeaseHolder",
    "LeaseStore",
    "acquire_in",
    "expired",
    "expiry",
    "held_message",
    "holding",
    "lease_names",
    "memory_leases",
]

#: A lease expires this long after its holder's last renewal.
LEASE_SECONDS = 120.0
#: How often a running apply renews its leases.
RENEW_SECONDS = 30.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no user name in some containers
        return "unknown"


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a lease: ``user@host:pid`` plus a random suffix, its host, and when it took the lease.

    Attributes:
        id: unique per apply.
        host: the holder's host name.
        started_at: when the lease was taken (UTC, ISO 8601).
    """

    id: str = field(
        default_factory=lambda: f"{_user()}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
    host: str = field(default_factory=socket.gethostname)
    started_at: str = field(default_factory=lambda: _utcnow().replace(microsecond=0).isoformat())

    def to_dict(self) -> dict[str, Any]:
        """Return the holder as stored next to the lease."""
        return {"holder": self.id, "host": self.host, "started_at": self.started_at}


def expiry(seconds: float = LEASE_SECONDS) -> float:
    """Return the wall-clock time (seconds since the epoch) at which a lease taken or renewed now expires."""
    return _utcnow().timestamp() + seconds


def expired(expires: float) -> bool:
    """Whether a lease with this expiry time has expired."""
    return expires <= _utcnow().timestamp()


def held_message(name: str, current: dict[str, Any]) -> LeaseHeld:
    """Build the :class:`LeaseHeld` error for a lease found held by ``current`` (its stored holder record)."""
    holder = str(current.get("holder", "?"))
    host = str(current.get("host", "?"))
    started = str(current.get("started_at", "?"))
    until = current.get("expires")
    left = ""
    if isinstance(until, (int, float)):
        left = f"; it expires at {datetime.fromtimestamp(until, timezone.utc).replace(microsecond=0).isoformat()} unless renewed"
    return LeaseHeld(
        f"another run holds the lease {name!r}: {holder} on host {host}, started {started}{left}; "
        "nothing was sent to Azure",
        holder=holder,
        host=host,
        started_at=started,
        lease=name,
    )


@runtime_checkable
class LeaseStore(Protocol):
    """A checkpoint store that also keeps leases (see the module documentation)."""

    def acquire_lease(self, name: str, holder: LeaseHolder, seconds: float = LEASE_SECONDS) -> None:
        """Take the lease, or renew it if ``holder`` has it.

        Raises:
            LeaseHeld: another holder has it and it has not expired.
        """
        ...

    def release_lease(self, name: str, holder: LeaseHolder) -> None:
        """Give the lease back (nothing happens if ``holder`` does not hold it)."""
        ...

    def break_lease(self, name: str) -> None:
        """Remove the lease whoever holds it (for a holder known to be dead)."""
        ...

    def lease_holder(self, name: str) -> dict[str, Any] | None:
        """Return the record of the lease's current holder, or ``None`` when free or expired."""
        ...


def lease_names(plan_id: str, target: str) -> list[str]:
    """The leases an apply takes: its cluster's, then its plan's."""
    return [f"cluster:{target.lower()}", f"plan:{plan_id}"]


@contextmanager
def holding(
    store: object, names: Sequence[str], *, renew_every: float = RENEW_SECONDS
) -> Iterator[LeaseHolder]:
    """Hold ``names`` in ``store`` for the duration of the block, renewing them from a background thread.

    Leases already taken are released when a later one is held by someone else. A store that keeps no leases
    yields a holder and guards nothing.

    Raises:
        LeaseHeld: one of the leases is held by another run; none is kept.
    """
    holder = LeaseHolder()
    if not isinstance(store, LeaseStore):
        yield holder
        return
    taken: list[str] = []
    try:
        for name in names:
            store.acquire_lease(name, holder)
            taken.append(name)
    except BaseException:
        for name in reversed(taken):
            store.release_lease(name, holder)
        raise
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(renew_every):
            for name in taken:
                try:
                    store.acquire_lease(name, holder)
                except Exception:
                    continue

    keeper = threading.Thread(target=renew, name="aks-windows-ops-lease", daemon=True)
    keeper.start()
    try:
        yield holder
    finally:
        stop.set()
        keeper.join(timeout=5)
        for name in reversed(taken):
            store.release_lease(name, holder)


def memory_leases() -> tuple[threading.Lock, dict[str, dict[str, Any]]]:
    """Return the lock and table an in-process store keeps its leases in."""
    return threading.Lock(), {}


def acquire_in(table: dict[str, dict[str, Any]], name: str, holder: LeaseHolder, seconds: float) -> None:
    """Take or renew ``name`` in an in-memory lease table (the caller holds the table's lock).

    Raises:
        LeaseHeld: another holder has it and it has not expired.
    """
    current = table.get(name)
    if current is not None and current.get("holder") != holder.id and not expired(float(current["expires"])):
        raise held_message(name, current)
    table[name] = {**holder.to_dict(), "expires": expiry(seconds)}
