"""The library's one exception tree, grouped by what the caller does next.

```
AksWindowsOpsError                      base of everything raised on purpose
├── InvalidInput (ValueError)           fix the input; nothing was sent (lists every problem at once)
├── PreflightFailed                     fix the findings (carries them); nothing was changed
├── UnsafeOperation                     refused by a safety rail (last System pool, lost workloads ...)
│   ├── DrainBlocked                    a PodDisruptionBudget never allowed the eviction; old pool intact
│   └── UntrustedCheckpoint             a stored record failed its integrity or Resource Manager URL check
├── BudgetExhausted                     the time budget ran out at a clean point: run again to resume
├── NotFound                            the cluster, pool or scale set does not exist
├── OperationConflict                   another operation runs on the resource (409): wait, or abort it
│   └── EtagMismatch                    the resource changed since it was read (409/412): re-read
├── Throttled                           ARM kept answering 429 beyond the retry budget
└── AzureOperationFailed                Azure refused or failed the operation (carries ARM code + remediation)
    ├── OldWindowsImage                 pre-2020 cluster image: upgrade control plane, migrate the pool
    ├── SubnetFull                      SubnetIsFull / InsufficientSubnetSize / No available addresses
    ├── PdbBlockedUpgrade               UpgradeFailed because a PodDisruptionBudget blocked an eviction
    ├── QuotaExceeded                   regional vCPU quota too small
    ├── DeprecatedApiBlocked            UpgradeBlockedOnDeprecatedAPIUsage
    └── OperationCanceled               the long-running operation ended Canceled
```

Every error has a one-line ``str()``, a ``remediation`` (what to do next) and, where one applies, the
``runbook`` of this library that fixes it. No error text ever carries a secret (design principle "secrets never print").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "AksWindowsOpsError",
    "AzureOperationFailed",
    "BudgetExhausted",
    "DeprecatedApiBlocked",
    "DrainBlocked",
    "EtagMismatch",
    "InvalidInput",
    "LeaseHeld",
    "NotFound",
    "OldWindowsImage",
    "OperationCanceled",
    "OperationConflict",
    "OperationLost",
    "PdbBlockedUpgrade",
    "PreflightFailed",
    "QuotaExceeded",
    "RunInterrupted",
    "SubnetFull",
    "Throttled",
    "UnsafeOperation",
    "UntrustedCheckpoint",
]


class AksWindowsOpsError(Exception):
    """Base class of every error the library raises on purpose.

    Args:
        message: one line saying what went wrong.
        remediation: what the caller should do next.
        runbook: the name of this library's runbook that fixes it, if any.
    """

    default_remediation = ""
    default_runbook: str | None = None

    def __init__(self, message: str, *, remediation: str | None = None, runbook: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remediation = remediation if remediation is not None else self.default_remediation
        self.runbook = runbook if runbook is not None else self.default_runbook

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description (type, message, remediation, runbook)."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "remediation": self.remediation,
            "runbook": self.runbook,
        }


class InvalidInput(AksWindowsOpsError, ValueError):
    """The caller's input breaks an FAQ rule; raised before any request is sent.

    Args:
        problems: every problem found, one sentence each.
    """

    default_remediation = "Correct the listed values and run again; nothing was sent to Azure."
    #: What to do about one problem raised without its own remediation ("the listed values" would not fit).
    single_remediation = "Fix what the message names, then run again; nothing was sent to Azure."

    def __init__(self, problems: str | Iterable[str], *, remediation: str | None = None) -> None:
        items = [problems] if isinstance(problems, str) else list(problems)
        if not items:
            items = ["invalid input"]
        if (
            remediation is None
            and len(items) == 1
            and self.default_remediation == InvalidInput.default_remediation
        ):
            remediation = self.single_remediation
        self.problems: tuple[str, ...] = tuple(items)
        message = items[0] if len(items) == 1 else f"{len(items)} problems: " + "; ".join(items)
        super().__init__(message, remediation=remediation)


class PreflightFailed(AksWindowsOpsError):
    """Preflight found errors that would make the service reject the operation.

    Args:
        findings: the error findings (``aks_windows_ops.models.Finding``).
    """

    default_remediation = "Fix each finding (each names its remediation) and plan again."

    def __init__(self, findings: Sequence[Any], *, message: str | None = None) -> None:
        self.findings = tuple(findings)
        codes = ", ".join(str(getattr(f, "code", f)) for f in self.findings)
        super().__init__(message or f"preflight failed: {codes}")


class UnsafeOperation(AksWindowsOpsError):
    """A safety rail refused the operation (design principle "never lose a workload": never lose a workload)."""


class DrainBlocked(UnsafeOperation):
    """A PodDisruptionBudget never allowed an eviction within the timeout (Service facts: Moving pods).

    Args:
        pods: ``namespace/name`` of the pods that could not be evicted.
        pdbs: ``namespace/name`` of the budgets that blocked them.
    """

    default_remediation = (
        "Relax the PodDisruptionBudget (or scale the workload up) so that one disruption is allowed, then "
        "run again; the message says which nodes are left cordoned."
    )

    def __init__(self, message: str, *, pods: Sequence[str] = (), pdbs: Sequence[str] = ()) -> None:
        self.pods = tuple(pods)
        self.pdbs = tuple(pdbs)
        super().__init__(message)


class UntrustedCheckpoint(UnsafeOperation):
    """A stored record cannot be trusted, so it is reported and never acted on (see docs/security.md).

    Raised before any request when a checkpoint record or plan document fails its integrity tag, or when a
    URL taken from a continuation token is not on the configured Azure Resource Manager endpoint with the
    path shape of the operation being resumed.
    """

    default_remediation = (
        "Someone or something changed the checkpoint store. Check who can write to it, then start the "
        "procedure again from a new plan; the running operation (if any) can be watched with `az aks show`."
    )


class BudgetExhausted(AksWindowsOpsError):
    """The time budget ran out at a clean point; the checkpoint holds the progress (design principle "resumable by construction")."""

    default_remediation = "Run the same command again with the same checkpoint to resume."


class NotFound(AksWindowsOpsError):
    """The named resource does not exist (ARM 404)."""

    default_remediation = "Check the subscription, resource group and name."


class OperationConflict(AksWindowsOpsError):
    """Another operation is in progress on the resource (409 OperationNotAllowed, Service facts: ARM behaviour).

    Never re-send the write meanwhile: wait for the running operation to reach a terminal state, or abort it.
    """

    default_remediation = "Wait for the running operation to finish (or abort it with `az aks operation-abort`), then run again."

    def __init__(
        self, message: str, *, code: str = "OperationNotAllowed", remediation: str | None = None
    ) -> None:
        self.code = code
        super().__init__(message, remediation=remediation)


class EtagMismatch(OperationConflict):
    """The resource changed since it was read (409 EtagMismatch or 412, Service facts: ARM behaviour)."""

    default_remediation = "Re-read the resource and plan again; someone else changed it."


class Throttled(AksWindowsOpsError):
    """ARM kept throttling (429) beyond the retry or time budget (Service facts: ARM behaviour).

    Args:
        retry_after: seconds the service asked to wait, when it said.
        headers: the throttling headers of the refused response (``Retry-After`` and Resource Graph's
            ``x-ms-user-quota-*``), the only part of it that is kept.
    """

    default_remediation = "Lower the concurrency or rate limit, or run again later."

    def __init__(
        self, message: str, *, retry_after: float | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.retry_after = retry_after
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(message)


class AzureOperationFailed(AksWindowsOpsError):
    """Azure refused a request or a long-running operation ended Failed.

    Args:
        message: the service's message (never holds a secret: ARM does not echo passwords).
        code: the ARM error code (``err.error.code``), e.g. ``QuotaExceeded``.
        status_code: the HTTP status, when known.
    """

    default_remediation = "Read the ARM error code and message; fix the cause and run again."

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        remediation: str | None = None,
        runbook: str | None = None,
    ) -> None:
        self.code = code
        self.status_code = status_code
        text = f"{code}: {message}" if code and not message.startswith(code) else message
        super().__init__(text, remediation=remediation, runbook=runbook)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description including the ARM code."""
        data = super().to_dict()
        data["code"] = self.code
        data["status_code"] = self.status_code
        return data


class OldWindowsImage(AzureOperationFailed):
    """The pre-February-2020 image error (FAQ: "Why am I seeing an error when I try to create a new Windows agent pool?")."""

    default_remediation = (
        "Upgrade the cluster control plane, create a new Windows pool, move the pods and delete the old pool: "
        "`aks-windows-ops migrate --reason old-image`."
    )
    default_runbook = "migrate"


class SubnetFull(AzureOperationFailed):
    """The subnet cannot hold the pool's pre-allocated pod addresses (Service facts: ARM behaviour; Azure CNI capacity).

    Also raised for the FAQ's `No available addresses` error when max pods is below the pods wanted.
    """

    default_remediation = (
        "Use a larger subnet or a lower max pods (both only by a new pool: `aks-windows-ops migrate "
        "--reason max-pods`), or Azure CNI Overlay."
    )
    default_runbook = "migrate"


class PdbBlockedUpgrade(AzureOperationFailed):
    """UpgradeFailed because evicting a pod would violate its PodDisruptionBudget (Service facts: ARM behaviour).

    Args:
        pdb: the blocking budget's ``namespace/name`` when the message names it.
    """

    default_remediation = (
        "Relax the PodDisruptionBudget named in the message (allow at least one disruption), then re-issue "
        "the same upgrade; it resumes where it stopped."
    )
    default_runbook = "patch"

    def __init__(self, message: str, *, pdb: str | None = None, **kwargs: Any) -> None:
        self.pdb = pdb
        super().__init__(message, **kwargs)


class QuotaExceeded(AzureOperationFailed):
    """The subscription's regional vCPU quota cannot fit the nodes (ARM ``QuotaExceeded``)."""

    default_remediation = "Request a quota increase for the VM family, or use fewer or smaller nodes."


class DeprecatedApiBlocked(AzureOperationFailed):
    """The upgrade is blocked because the cluster still uses removed Kubernetes APIs."""

    default_remediation = (
        "Move the workloads off the deprecated APIs listed in the message, or wait for the usage window to "
        "pass, then upgrade again."
    )


class OperationCanceled(AzureOperationFailed):
    """The long-running operation ended Canceled (for example after an abort)."""

    default_remediation = "Run the procedure again to resume from its checkpoint."


class LeaseHeld(AksWindowsOpsError):
    """Another apply holds the lease on this cluster or plan; this one stopped before any write.

    Two runs on one cluster at once could each send the same write (design principle "resumable by construction"). The lease names its
    holder so that the operator can tell a live run from one that died.

    Args:
        message: what is held, and by whom.
        holder: the holder's id (``user@host:pid``).
        host: the holder's host name.
        started_at: when the holder took the lease (UTC, ISO 8601).
        lease: the lease's name (``cluster:<target>`` or ``plan:<id>``).
    """

    default_remediation = (
        "Wait for the other run to finish. A lease whose holder died expires on its own two minutes after "
        "its last renewal; to break it at once (only when that host or process is surely gone), delete the "
        "lease from the checkpoint store as the Safety page of the documentation shows, then run again."
    )

    def __init__(
        self, message: str, *, holder: str, host: str, started_at: str, lease: str, **kwargs: Any
    ) -> None:
        self.holder = holder
        self.host = host
        self.started_at = started_at
        self.lease = lease
        super().__init__(message, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description, with the holder, its host, start time and the lease's name."""
        return {
            **super().to_dict(),
            "holder": self.holder,
            "host": self.host,
            "started_at": self.started_at,
            "lease": self.lease,
        }


class RunInterrupted(AksWindowsOpsError):
    """The run was interrupted (Ctrl-C or SIGTERM) after the step in flight was recorded (design principle "resumable by construction").

    Args:
        message: one line for people.
        plan_id: the plan to resume.
        done: steps that have succeeded.
        remaining: steps that have not, in plan order.
        changed: one line per write sent to Azure during this run.
        signal_name: ``SIGINT`` or ``SIGTERM``.
    """

    default_remediation = "Run `aks-windows-ops resume PLAN_ID` to continue where it stopped."

    def __init__(
        self,
        message: str,
        *,
        plan_id: str,
        done: tuple[str, ...] = (),
        remaining: tuple[str, ...] = (),
        changed: tuple[str, ...] = (),
        signal_name: str = "SIGINT",
        **kwargs: Any,
    ) -> None:
        self.plan_id = plan_id
        self.done = done
        self.remaining = remaining
        self.changed = changed
        self.signal_name = signal_name
        kwargs.setdefault(
            "remediation", f"Run `aks-windows-ops resume {plan_id}` to continue where it stopped."
        )
        super().__init__(message, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description with the plan id, the steps done and left, and the writes sent."""
        return {
            **super().to_dict(),
            "plan_id": self.plan_id,
            "done": list(self.done),
            "remaining": list(self.remaining),
            "changed": list(self.changed),
            "signal": self.signal_name,
        }


class OperationLost(AksWindowsOpsError):
    """Azure no longer knows a recorded operation (its status URL answers 404 or 400).

    Operation records expire; the runner then reads the resource again and decides from its current state
    (design principle "resumable by construction"), so this error is handled there and never ends a run.
    """

    default_remediation = "Run again: the step re-reads the resource and continues from what is there."
