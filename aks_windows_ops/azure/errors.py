"""Translation of azure-core exceptions into the library's typed errors (Service facts: FAQ rules; ARM behaviour).

Every Azure failure the library sees goes through :func:`translate`, so callers only ever handle the tree in
``aks_windows_ops.errors``, each error with the ARM code, the service's message and a remediation. Azure
exceptions are translated only here, and the original is chained with ``from`` after it has been stripped of
its request and response objects and of the SDK's frames, which hold request bodies (see docs/security.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from aks_windows_ops import errors as E

__all__ = ["arm_code", "translate", "translating"]

_OLD_IMAGE = "referenced from the deployment template is not found"
_PDB = re.compile(r"disruption budget|blocked by pdb|\(PDB\)", re.IGNORECASE)
# AKS drain messages: "<ns>/<pod> blocked by pdb <name>" (current and older wording) or "pdb: <ns>/<name>".
_PDB_BLOCKED = re.compile(r"(?:(?P<ns>[\w.-]+)/[\w.-]+\s+)?blocked by pdb\s+(?P<name>[\w.-]+)", re.IGNORECASE)
_PDB_NAME = re.compile(r"\bpdb:\s*\"?'?(?P<name>[\w.-]+/[\w.-]+|[\w.-]+)", re.IGNORECASE)


def arm_code(err: BaseException) -> str | None:
    """Return the ARM error code carried by an azure-core exception (``err.error.code``), if any."""
    error = getattr(err, "error", None)
    code = getattr(error, "code", None)
    if code:
        return str(code)
    response = getattr(err, "response", None)
    if response is not None:
        try:
            body = response.json()
        except Exception:
            body = None
        if isinstance(body, dict):
            inner = body.get("error") or {}
            if isinstance(inner, dict) and inner.get("code"):
                return str(inner["code"])
    return None


def _pdb_name(message: str) -> str | None:
    """The blocking budget's ``namespace/name`` (or name) in an AKS drain failure message."""
    blocked = _PDB_BLOCKED.search(message)
    if blocked:
        return (
            f"{blocked.group('ns')}/{blocked.group('name')}" if blocked.group("ns") else blocked.group("name")
        )
    named = _PDB_NAME.search(message)
    return named.group("name") if named else None


def _message(err: BaseException) -> str:
    error = getattr(err, "error", None)
    message = getattr(error, "message", None)
    if message:
        return str(message)
    text = str(getattr(err, "message", "") or err)
    # azure-core prefixes "(Code) " and appends "Code: ...\nMessage: ..."; keep the first line.
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__


def translate(err: BaseException, *, context: str = "") -> E.AksWindowsOpsError:
    """Map an azure-core exception to the library's error tree.

    Rules (Service facts: FAQ rules; ARM behaviour, FAQ sections named in each error's docstring): the FAQ's old-image
    message -> :class:`~aks_windows_ops.errors.OldWindowsImage`; ``SubnetIsFull`` /
    ``InsufficientSubnetSize`` / "No available addresses" -> ``SubnetFull``; ``UpgradeFailed`` naming a
    disruption budget -> ``PdbBlockedUpgrade``; 409 ``OperationNotAllowed`` -> ``OperationConflict``;
    ``EtagMismatch`` and 412 -> ``EtagMismatch``; 429 -> ``Throttled``; ``QuotaExceeded``;
    ``UpgradeBlockedOnDeprecatedAPIUsage``; a Canceled operation -> ``OperationCanceled``; 404 -> ``NotFound``.

    Args:
        err: the exception raised by an SDK call or poller.
        context: what the library was doing (prefixed to the message).
    """
    if isinstance(err, E.AksWindowsOpsError):
        return err
    try:
        return _translate(err, context)
    finally:
        if isinstance(err, AzureError):
            _detach(err)


def _detach(err: BaseException) -> None:
    """Drop what an azure-core exception carries besides its message and code.

    That is the request and response objects (with their bodies: a password, a secret value), the model,
    and the SDK frames and their locals.

    The translated error is chained to ``err`` (``raise ... from err``), so whatever ``err`` keeps stays
    reachable from the public error and from any traceback rendering of it (docs/security.md).
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(seen) < 16:
        seen.add(id(current))
        if isinstance(current, AzureError):
            for attr in ("response", "model", "exc_value", "exc_traceback", "exc_type", "inner_exception"):
                if attr in vars(current):
                    setattr(current, attr, None)
        current.__traceback__ = None
        current = current.__cause__ or current.__context__


def _translate(err: BaseException, context: str) -> E.AksWindowsOpsError:
    code = arm_code(err)
    message = _message(err)
    prefix = f"{context}: " if context else ""
    status = getattr(err, "status_code", None)
    text = f"{prefix}{message}"
    if _OLD_IMAGE in message:
        return E.OldWindowsImage(text, code=code or "InvalidTemplateDeployment", status_code=status)
    if code in ("SubnetIsFull", "InsufficientSubnetSize") or "No available addresses" in message:
        return E.SubnetFull(text, code=code or "SubnetIsFull", status_code=status)
    lowered = message.lower()
    if _PDB.search(message) and (
        code in (None, "UpgradeFailed", "DrainFailed", "PodDrainFailure")
        or "evict" in lowered
        or "drain" in lowered
    ):
        return E.PdbBlockedUpgrade(
            text, pdb=_pdb_name(message), code=code or "UpgradeFailed", status_code=status
        )
    if code == "QuotaExceeded" or (code or "").endswith("QuotaExceeded"):
        return E.QuotaExceeded(text, code=code, status_code=status)
    if code == "UpgradeBlockedOnDeprecatedAPIUsage":
        return E.DeprecatedApiBlocked(text, code=code, status_code=status)
    if (
        code in ("EtagMismatch", "PreconditionFailed")
        or isinstance(err, ResourceModifiedError)
        or status == 412
    ):
        return E.EtagMismatch(text, code=code or "EtagMismatch")
    if isinstance(err, ResourceExistsError) or status == 409:
        if code in (None, "OperationNotAllowed", "Conflict", "AnotherOperationInProgress"):
            return E.OperationConflict(text, code=code or "OperationNotAllowed")
        return E.AzureOperationFailed(text, code=code, status_code=status)
    if isinstance(err, ResourceNotFoundError) or status == 404:
        return E.NotFound(text)
    if status == 429 or code in ("TooManyRequests", "Throttled"):
        retry_after = None
        kept: dict[str, str] = {}
        response = getattr(err, "response", None)
        if response is not None:
            kept = {
                name: str(value)
                for name, value in response.headers.items()
                if name.lower() == "retry-after" or name.lower().startswith("x-ms-user-quota-")
            }
            try:
                retry_after = float(response.headers.get("Retry-After", ""))
            except (TypeError, ValueError):
                retry_after = None
        return E.Throttled(
            f"{prefix}Azure is throttling requests: {message}", retry_after=retry_after, headers=kept
        )
    if code in ("OperationCanceled", "Canceled") or "canceled" in message.lower():
        return E.OperationCanceled(text, code=code or "Canceled", status_code=status)
    if isinstance(err, (ServiceRequestError, ServiceResponseError)):
        return E.AzureOperationFailed(
            text,
            code="ConnectionError",
            remediation="The connection to Azure failed repeatedly; check the network and run again to resume.",
        )
    if code == "AzureCNIOnlyForWindows":
        return E.AzureOperationFailed(
            text,
            code=code,
            status_code=status,
            remediation="Windows pools need Azure CNI; kubenet clusters cannot run them (FAQ: network plug-ins).",
        )
    if isinstance(err, (HttpResponseError, AzureError)):
        return E.AzureOperationFailed(text, code=code, status_code=status)
    return E.AzureOperationFailed(text, code=code)


@contextmanager
def translating(context: str = "") -> Iterator[None]:
    """Run a block of SDK calls and re-raise any Azure exception as the library's typed error, chained."""
    try:
        yield
    except AzureError as err:
        raise translate(err, context=context) from err
