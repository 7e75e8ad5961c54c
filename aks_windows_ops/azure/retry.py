"""Retries: one predicate of what is transient, a tenacity factory, and a budget-aware azure-core policy.

Service facts: ARM behaviour: azure-core's ``RetryPolicy`` sleeps any ``Retry-After`` uncapped, so one SDK call can block
for an hour (Compute answers ``Retry-After: 1200``). :class:`BudgetRetryPolicy` caps the wait at the caller's
remaining time budget and raises :class:`~aks_windows_ops.errors.Throttled` instead of overrunning it. Writes are
never repeated here without re-reading state (design notes, "Style"): the tenacity factory is for reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import tenacity
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline.policies import RetryPolicy

from aks_windows_ops.errors import Throttled

__all__ = ["READ_METHODS", "TRANSIENT_STATUS", "BudgetRetryPolicy", "is_transient", "retrying"]

T = TypeVar("T")

#: Statuses worth retrying (azure-core's list; Service facts: ARM behaviour).
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """Whether an exception is worth retrying: connection faults and 408/429/5xx (Service facts: ARM behaviour)."""
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return True
    if isinstance(exc, HttpResponseError):
        return exc.status_code in TRANSIENT_STATUS
    return False


def retrying(
    *,
    attempts: int = 4,
    remaining: Callable[[], float | None] | None = None,
    sleep: Callable[[float], None] | None = None,
    base: float = 1.0,
    cap: float = 30.0,
    retry_on: Callable[[BaseException], bool] = is_transient,
    jitter: bool = False,
) -> tenacity.Retrying:
    """Return a tenacity ``Retrying`` for idempotent work: reads, and re-applying a change to a fresh read.

    design notes, "Style": the one retry factory of the library. It is never used to repeat a write blindly;
    the Blob checkpoint store uses it to re-apply a record to a freshly read blob after a 412 (the service
    refused the stale write, so nothing landed).

    Args:
        attempts: total attempts.
        remaining: seconds left in the time budget; retries stop when the next wait would exceed it.
        sleep: how to wait (the simulator's virtual sleep in tests).
        base: first backoff in seconds (doubling, capped at ``cap``).
        cap: the longest backoff.
        retry_on: which exceptions are worth another attempt (:func:`is_transient` by default).
        jitter: wait a random 50-150 % of each backoff, so that competing writers spread out.
    """

    def _stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= attempts:
            return True
        left = remaining() if remaining is not None else None
        upcoming = min(cap, base * 2 ** (state.attempt_number - 1))
        return left is not None and upcoming > left

    wait: Any = tenacity.wait_exponential(multiplier=base, max=cap)
    if jitter:
        wait = tenacity.wait_random_exponential(multiplier=base, max=cap)
    kwargs: dict[str, Any] = {
        "retry": tenacity.retry_if_exception(retry_on),
        "stop": _stop,
        "wait": wait,
        "reraise": True,
    }
    if sleep is not None:
        kwargs["sleep"] = sleep
    return tenacity.Retrying(**kwargs)


#: Methods azure-core may repeat on its own: reads. Every other request is a write, sent once per call.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BudgetRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """azure-core ``RetryPolicy`` that repeats only reads, and whose waits never overrun the time budget.

    Writes (PUT, POST, PATCH, DELETE) are sent once per call: azure-core would repeat a PUT after a lost
    response or a 5xx and a POST after a 500/503/504, and a repeated write restarts every Windows node a second
    time. The caller decides instead, after reading the resource back (design notes, "Style";
    ``aks_windows_ops.runbooks.steps.send_write``). Reads are retried with azure-core's backoff, and a
    ``Retry-After`` longer than the remaining budget raises :class:`~aks_windows_ops.errors.Throttled` rather
    than blocking (Service facts: ARM behaviour). Only public azure-core hooks are overridden (``send`` sets the
    per-call ``retry_total`` keyword azure-core documents; ``sleep`` is the documented wait hook).

    Args:
        remaining: returns the seconds left in the budget, or ``None`` without one.
        max_retry_after: the longest ``Retry-After`` honoured without a budget.
        retry_total: total retries of a read (azure-core keyword).
    """

    def __init__(
        self,
        *,
        remaining: Callable[[], float | None] | None = None,
        max_retry_after: float = 120.0,
        retry_total: int = 6,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("retry_backoff_factor", 0.8)
        super().__init__(retry_total=retry_total, **kwargs)
        self._remaining = remaining
        self._max_retry_after = max_retry_after

    def _cap(self) -> float:
        left = self._remaining() if self._remaining is not None else None
        return self._max_retry_after if left is None else max(min(left, self._max_retry_after), 0.0)

    def send(self, request: Any) -> Any:
        """Send ``request``; a write gets ``retry_total=0`` so that azure-core never repeats it."""
        if str(request.http_request.method).upper() not in READ_METHODS:
            request.context.options["retry_total"] = 0
        return super().send(request)

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        """Wait before the next attempt of a read: ``Retry-After`` or backoff, capped at the budget.

        Raises:
            Throttled: Azure asked for a longer wait than the run may still spend.
        """
        retry_after = self.get_retry_after(response) if response is not None else None
        cap = self._cap()
        if retry_after:
            if retry_after > cap:
                raise Throttled(
                    f"Azure asked to wait {retry_after:.0f} s before retrying, more than the {cap:.0f} s this "
                    "run may still wait",
                    retry_after=retry_after,
                )
            transport.sleep(retry_after)
            return
        backoff = min(self.get_backoff_time(settings), cap)
        if backoff > 0:
            transport.sleep(backoff)
