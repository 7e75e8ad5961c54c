"""Integrity tags on checkpoint records and plan documents: a record edited in the store is never acted on.

Write access to a checkpoint store (a JSON file, a Blob container) must not be enough to start or redirect
an operation: the nightly timer resumes every plan it finds with its own identity. :class:`SignedStore`
wraps any :class:`~aks_windows_ops.runbooks.checkpoints.CheckpointStore` and adds an HMAC-SHA256 tag to
every step record and plan document it writes, computed with a key kept apart from the store; it checks the
tag of everything it reads and raises :class:`~aks_windows_ops.errors.UntrustedCheckpoint` for a record
whose tag is missing or wrong, so the caller reports it instead of resuming it.

The tag covers the record's whole stored form, including its plan and step ids, so a record cannot be moved
to another plan or step. Where the tag lives: a step record keeps it in its ``operation`` field
(``{"kind": "signed", "mac": ..., "operation": <the real handle or null>}``); a plan document's tag is a
record of the reserved step :data:`PLAN_TAG_STEP`. Readers through the wrapper never see either.

Keys (:func:`load_key`): a local file of 32 random bytes, mode 0600, in the private state directory
(created on first use), or a Key Vault secret (``https://<vault>.vault.azure.net/secrets/<name>``) when
several machines share the store, e.g. a workstation that starts rollouts and the Functions timer that
resumes them. ``$AKS_WINDOWS_OPS_INTEGRITY_KEY`` names either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aks_windows_ops import paths
from aks_windows_ops.errors import InvalidInput, UntrustedCheckpoint
from aks_windows_ops.runbooks.checkpoints import CheckpointStore, PlanStore, StepRecord
from aks_windows_ops.runbooks.plan import Plan

__all__ = [
    "INTEGRITY_KEY_ENV",
    "KEY_FILE_NAME",
    "PLAN_TAG_STEP",
    "SignedStore",
    "load_key",
    "sign_store",
]

#: Environment variable naming the integrity key: a file path or a Key Vault secret URL.
INTEGRITY_KEY_ENV = "AKS_WINDOWS_OPS_INTEGRITY_KEY"
#: The local key file's name in the state directory.
KEY_FILE_NAME = "integrity.key"
#: The reserved step id whose record carries a plan document's tag.
PLAN_TAG_STEP = "~plan-integrity"
_MIN_KEY_BYTES = 32
_SIGNED = "signed"


def _local_key(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(_MIN_KEY_BYTES)) + b"\n")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise InvalidInput(
            f"the integrity key file {path} can be read by other users",
            remediation=f"Run `chmod 600 {path}`, or delete it to make a new key (unfinished plans then restart).",
        )
    return _decode(path.read_text(encoding="ascii").strip(), str(path))


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"the integrity key in {where} is not base64 text") from None
    if len(key) < _MIN_KEY_BYTES:
        raise InvalidInput(f"the integrity key in {where} is shorter than {_MIN_KEY_BYTES} bytes")
    return key


def load_key(source: str | None = None, *, credential: Any = None, client_factory: Any = None) -> bytes:
    """Return the integrity key named by ``source`` (see the module docstring).

    Args:
        source: a key file path, or a Key Vault secret URL ``https://<vault>.vault.azure.net/secrets/<name>``
            holding base64 text of at least 32 bytes. ``None``: ``$AKS_WINDOWS_OPS_INTEGRITY_KEY``, else the
            local key file in the state directory, created (0600) when missing.
        credential: an Azure credential for Key Vault (``DefaultAzureCredential`` when omitted).
        client_factory: builds the Key Vault ``SecretClient`` (tests inject one).

    Raises:
        InvalidInput: the key is malformed or too short, or the key file is readable by others.
        NotFound: the Key Vault secret does not exist.
    """
    text = (source if source is not None else os.environ.get(INTEGRITY_KEY_ENV, "")).strip()
    if text.startswith("https://"):
        from aks_windows_ops.azure.keyvault import get_secret

        vault, sep, name = text.partition("/secrets/")
        if not sep or not name.strip("/"):
            raise InvalidInput(
                "a Key Vault integrity key must look like https://<vault>.vault.azure.net/secrets/<name>"
            )
        value = get_secret(
            vault, name.strip("/").split("/")[0], credential=credential, client_factory=client_factory
        )
        return _decode(value.strip(), "the Key Vault secret")
    path = Path(text).expanduser() if text else paths.state_dir() / KEY_FILE_NAME
    return _local_key(path)


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode()


class SignedStore:
    """A checkpoint store wrapper that tags what it writes and checks what it reads (see the module docstring).

    Implements :class:`~aks_windows_ops.runbooks.checkpoints.CheckpointStore` and
    :class:`~aks_windows_ops.runbooks.checkpoints.PlanStore` over any store; every other attribute (leases,
    paths) is the wrapped store's.

    Args:
        inner: the store that keeps the data.
        key: the HMAC key (:func:`load_key`), at least 32 bytes.
    """

    def __init__(self, inner: CheckpointStore, key: bytes) -> None:
        if len(key) < _MIN_KEY_BYTES:
            raise InvalidInput(f"an integrity key needs at least {_MIN_KEY_BYTES} bytes")
        self.inner = inner
        self._key = key

    def __repr__(self) -> str:
        return f"SignedStore({self.inner!r})"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    # ----------------------------------------------------------------------------------- tags
    def _mac(self, kind: str, document: Mapping[str, Any]) -> str:
        message = kind.encode() + b"\0" + _canonical(document)
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _seal(self, record: StepRecord) -> StepRecord:
        body = record.to_dict()
        return record.evolve(
            operation={"kind": _SIGNED, "mac": self._mac("record", body), "operation": body["operation"]}
        )

    def _open(self, stored: StepRecord) -> StepRecord:
        where = f"checkpoint record {stored.plan_id}/{stored.step_id}"
        envelope = stored.operation
        if not isinstance(envelope, Mapping) or envelope.get("kind") != _SIGNED:
            raise UntrustedCheckpoint(f"{where} has no integrity tag; it was not written by this library")
        inner_op = envelope.get("operation")
        record = stored.evolve(operation=inner_op if isinstance(inner_op, Mapping) else None)
        expected = self._mac("record", record.to_dict())
        if not isinstance(envelope.get("mac"), str) or not hmac.compare_digest(
            expected, str(envelope["mac"])
        ):
            raise UntrustedCheckpoint(f"{where} was changed after it was written (integrity tag mismatch)")
        if inner_op is not None and not isinstance(inner_op, Mapping):
            raise UntrustedCheckpoint(f"{where} has a malformed operation handle")
        return record

    # ----------------------------------------------------------------------------- CheckpointStore
    def load(self, plan_id: str, step_id: str) -> StepRecord | None:
        """Return the checked record of one step, or ``None``.

        Raises:
            UntrustedCheckpoint: the stored record has no valid tag.
        """
        stored = self.inner.load(plan_id, step_id)
        return None if stored is None else self._open(stored)

    def save(self, record: StepRecord) -> None:
        """Store ``record`` with its tag."""
        if record.step_id == PLAN_TAG_STEP:
            raise InvalidInput(f"step id {PLAN_TAG_STEP!r} is reserved")
        self.inner.save(self._seal(record))

    def records(self, plan_id: str) -> list[StepRecord]:
        """Return every checked record of a plan.

        Raises:
            UntrustedCheckpoint: one of them has no valid tag.
        """
        return [self._open(r) for r in self.inner.records(plan_id) if r.step_id != PLAN_TAG_STEP]

    def clear(self, plan_id: str) -> None:
        """Forget a plan, its records and its tag."""
        self.inner.clear(plan_id)

    # ----------------------------------------------------------------------------------- PlanStore
    def save_plan(self, plan: Plan) -> None:
        """Store the plan document and its tag (the tag first: a crash in between leaves a refused plan)."""
        tag = self._mac("plan", plan.to_dict())
        self.inner.save(
            StepRecord(
                plan.id, PLAN_TAG_STEP, message="plan integrity tag", operation={"kind": _SIGNED, "mac": tag}
            )
        )
        if isinstance(self.inner, PlanStore):
            self.inner.save_plan(plan)

    def load_plan(self, plan_id: str) -> Plan | None:
        """Return the checked plan document, or ``None`` when none is stored.

        Raises:
            UntrustedCheckpoint: the document has no valid tag, or it is another plan's.
        """
        if not isinstance(self.inner, PlanStore):
            return None
        where = f"plan document {plan_id}"
        try:
            plan = self.inner.load_plan(plan_id)
        except InvalidInput as err:
            raise UntrustedCheckpoint(f"{where} cannot be trusted: {err}") from None
        if plan is None:
            return None
        if plan.id != plan_id:
            raise UntrustedCheckpoint(f"{where} holds another plan ({plan.id})")
        tag = self.inner.load(plan_id, PLAN_TAG_STEP)
        mac = tag.operation.get("mac") if tag is not None and isinstance(tag.operation, Mapping) else None
        if not isinstance(mac, str):
            raise UntrustedCheckpoint(f"{where} has no integrity tag; it was not written by this library")
        if not hmac.compare_digest(self._mac("plan", plan.to_dict()), mac):
            raise UntrustedCheckpoint(f"{where} was changed after it was written (integrity tag mismatch)")
        return plan

    def plan_ids(self) -> list[str]:
        """Return the ids of every stored plan (checked when loaded, not here)."""
        return self.inner.plan_ids() if isinstance(self.inner, PlanStore) else []

    def verify(self, plan_id: str) -> Plan | None:
        """Check a plan's document and every record; return the plan (``None`` if it has no document).

        The Functions timer calls it before resuming, so a tampered plan is reported and never run.

        Raises:
            UntrustedCheckpoint: something of the plan has no valid tag.
        """
        plan = self.load_plan(plan_id)
        self.records(plan_id)
        return plan


def sign_store(store: CheckpointStore, key: bytes | None = None) -> SignedStore:
    """Wrap ``store`` in a :class:`SignedStore` (idempotent), with :func:`load_key`'s key unless one is given."""
    if isinstance(store, SignedStore):
        return store
    return SignedStore(store, key if key is not None else load_key())
