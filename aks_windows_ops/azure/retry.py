"""Retries: one tenacity factory for idempotent work, and the pipeline policy that applies it to every read.

There is one retry layer. Every client the library builds (the management clients of
:class:`~aks_windows_ops.azure.clients.AzureClients`, the container registry reader, the Blob checkpoint store)
gets :class:`ReadRetryPolicy` in place of azure-core's ``RetryPolicy``, so azure-core repeats nothing on its
own. The policy repeats reads (GET, HEAD, OPTIONS) through :func:`retrying` after a connection fault or a
408/429/500/502/503/504, waits the ``Retry-After`` the service asked for on the run's clock (virtual under the
simulator), and raises :class:`~aks_windows_ops.errors.Throttled` at once when that wait would overrun the
run's time budget: azure-core would sleep any ``Retry-After`` uncapped, and Compute answers
``Retry-After: 1200`` (Service facts: ARM behaviour).

Writes (PUT, POST, PATCH, DELETE) pass through once. A repeated write restarts every Windows node a second
time; after an ambiguous outcome the caller reads the resource back and decides
(``aks_windows_ops.runbooks.steps.send_write``; design notes, "Style"). Work that is idempotent at a higher
level (a Resource Graph query, re-applying a change to a freshly read blob) uses :func:`retrying` directly.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, TypeVar

import tenacity
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy

from aks_windows_ops.errors import Throttled

__all__ = [
    "READ_METHODS",
    "TRANSIENT_STATUS",
    "ReadRetryPolicy",
    "asked_wait_of_error",
    "is_transient",
    "observing_retries",
    "read_with_retries",
    "retry_after_seconds",
    "retrying",
]

T = TypeVar("T")

#: Statuses worth another attempt of a read (azure-core's list; Service facts: ARM behaviour).
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})

#: Methods that only read: the only requests :class:`ReadRetryPolicy` repeats.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Called before each wait of a read retried in this context: ``(seconds, status)`` (``None`` after a
#: connection fault). The fleet audit counts throttling and holds the subscription's bucket with it.
_OBSERVER: contextvars.ContextVar[Callable[[float, int | None], None] | None] = contextvars.ContextVar(
    "aks_windows_ops_retry_observer", default=None
)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed read is worth another attempt (Service facts: ARM behaviour).

    The connection failed, or the SDK raised a response whose status is in :data:`TRANSIENT_STATUS` (inside a
    pipeline the policy judges the response itself, before the SDK raises it).
    """
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return True
    return isinstance(exc, HttpResponseError) and exc.status_code in TRANSIENT_STATUS


def asked_wait_of_error(state: tenacity.RetryCallState) -> float | None:
    """The ``Retry-After`` of the response an SDK call raised in the failed attempt (Service facts: ARM behaviour)."""
    err = state.outcome.exception() if state.outcome is not None and state.outcome.failed else None
    response = getattr(err, "response", None)
    return retry_after_seconds(getattr(response, "headers", None))


def read_with_retries(
    call: Callable[[], T],
    *,
    sleep: Callable[[float], None],
    retries: int,
    remaining: Callable[[], float | None] | None = None,
) -> T:
    """Run one idempotent SDK read through :func:`retrying`, for a client whose own retries are off.

    Design notes, "Style": reads are repeated, writes never; used where the SDK's pipeline is not the
    library's (the Blob checkpoint store, whose storage client has ``retry_total=0``).

    Args:
        call: the read.
        sleep: how to wait (the run's ``Clock.sleep``).
        retries: how many times it is run again after a transient failure (:func:`is_transient`).
        remaining: seconds left in the time budget.
    """
    retry = retrying(
        sleep=sleep, attempts=retries + 1, remaining=remaining, asked_wait=asked_wait_of_error, base=0.8
    )
    result: T = retry(call)
    return result


def retry_after_seconds(headers: Any, now: datetime | None = None) -> float | None:
    """Seconds a response asks the caller to wait (``retry-after-ms``, ``x-ms-retry-after-ms``, ``Retry-After``).

    ``Retry-After`` may be seconds or an HTTP date (RFC 9110, section 10.2.3); ``None`` when none is given.
    """
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("x-ms-retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(float(value) / scale, 0.0)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max((when - (now or datetime.now(timezone.utc))).total_seconds(), 0.0)
    return None


def retrying(
    *,
    sleep: Callable[[float], None],
    attempts: int = 4,
    remaining: Callable[[], float | None] | None = None,
    retry_on: Callable[[BaseException], bool] = is_transient,
    retry_on_result: Callable[[Any], bool] | None = None,
    asked_wait: Callable[[tenacity.RetryCallState], float | None] | None = None,
    max_asked_wait: float | None = None,
    over_budget: Callable[[float, float], BaseException] | None = None,
    on_wait: Callable[[float, tenacity.RetryCallState], None] | None = None,
    base: float = 1.0,
    cap: float = 30.0,
    jitter: bool = False,
) -> tenacity.Retrying:
    """Return a tenacity ``Retrying`` for idempotent work: reads, and re-applying a change to a fresh read.

    Design notes, "Style": the one retry factory of the library; it never repeats a write blindly. The wait
    is the one the service asked for (``asked_wait``: ``Retry-After``, a quota window's reset) when it gave
    one, else an exponential backoff; every wait happens on ``sleep`` (the run's ``Clock.sleep``: virtual
    time under the simulator).

    Args:
        sleep: how to wait: the run's clock (``Clock.sleep``).
        attempts: total attempts.
        remaining: seconds left in the time budget (``None``: no budget). A backoff that would overrun it
            stops the retries; an asked wait that would overrun it raises ``over_budget``.
        retry_on: which exceptions are worth another attempt (:func:`is_transient` by default).
        retry_on_result: which results are worth another attempt (a transient HTTP response).
        asked_wait: the wait the service asked for after the failed attempt, or ``None``.
        max_asked_wait: the longest asked wait honoured when there is no budget.
        over_budget: the error raised when an asked wait is longer than the run may still wait; given the
            asked and the allowed seconds (:class:`~aks_windows_ops.errors.Throttled` by default).
        on_wait: called with the seconds and the retry state before each wait.
        base: first backoff in seconds (doubling, capped at ``cap``).
        cap: the longest backoff.
        jitter: wait a random share of each backoff, so that competing writers spread out.
    """

    def _left() -> float | None:
        left = remaining() if remaining is not None else None
        return None if left is None else max(left, 0.0)

    def _backoff(number: int) -> float:
        return float(min(cap, base * 2 ** max(number - 1, 0)))

    def _stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= attempts:
            return True
        asked = asked_wait(state) if asked_wait is not None else None
        if asked is not None:
            return False  # the wait decides: honoured, or over budget
        left = _left()
        return left is not None and _backoff(state.attempt_number) > left

    jittered = tenacity.wait_random_exponential(multiplier=base, max=cap)

    def _wait(state: tenacity.RetryCallState) -> float:
        if state.attempt_number >= attempts:
            return 0.0  # tenacity asks for the wait before the stop: this was the last attempt
        asked = asked_wait(state) if asked_wait is not None else None
        left = _left()
        if asked is not None:
            allowed = left if left is not None else max_asked_wait
            if max_asked_wait is not None and left is not None:
                allowed = min(left, max_asked_wait)
            if allowed is not None and asked > allowed:
                raise (over_budget or _throttled)(asked, allowed)
            seconds = asked
        else:
            seconds = float(jittered(state)) if jitter else _backoff(state.attempt_number)
            if left is not None:
                seconds = min(seconds, left)
        return seconds

    def _before_sleep(state: tenacity.RetryCallState) -> None:
        if on_wait is not None:
            on_wait(state.upcoming_sleep, state)

    retry: Any = tenacity.retry_if_exception(retry_on)
    if retry_on_result is not None:
        retry = retry | tenacity.retry_if_result(retry_on_result)
    return tenacity.Retrying(
        retry=retry,
        stop=_stop,
        wait=_wait,
        sleep=sleep,
        before_sleep=_before_sleep,
        reraise=True,
        retry_error_callback=_last_result,
    )


def _release(response: Any) -> None:
    close = getattr(response, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):  # a response that cannot close is simply dropped
            close()


def _last_result(state: tenacity.RetryCallState) -> Any:
    # Out of attempts: raise the last error, or hand back the last (transient) response for the SDK to raise.
    assert state.outcome is not None
    return state.outcome.result()


def _throttled(asked: float, allowed: float) -> BaseException:
    return Throttled(
        f"Azure asked to wait {asked:.0f} s before retrying, more than the {allowed:.0f} s this run may still "
        "wait",
        retry_after=asked,
    )


@contextlib.contextmanager
def observing_retries(observer: Callable[[float, int | None], None]) -> Iterator[None]:
    """Within the block, call ``observer(seconds, status)`` before each wait of a retried read (this thread).

    The fleet audit counts throttling with it and holds the subscription's read bucket for the ``Retry-After``
    (Service facts: ARM behaviour).
    """
    token = _OBSERVER.set(observer)
    try:
        yield
    finally:
        _OBSERVER.reset(token)


class ReadRetryPolicy(HTTPPolicy):  # type: ignore[type-arg]
    """The pipeline's only retry layer: reads repeated through :func:`retrying`, writes sent once.

    Installed as the client's ``retry_policy`` (the documented azure-core keyword), so it replaces
    azure-core's ``RetryPolicy``. A read that fails to connect or answers 408/429/500/502/503/504 is sent
    again after the ``Retry-After`` the service asked for (or a backoff), waited on ``sleep``; a
    ``Retry-After`` longer than the remaining budget raises :class:`~aks_windows_ops.errors.Throttled`
    without waiting (Service facts: ARM behaviour). When the attempts run out the last response goes back
    to the SDK, which raises it as usual. Every other method is a write and is sent exactly once (design
    notes, "Style").

    Args:
        sleep: how to wait (the run's ``Clock.sleep``; the simulator's virtual clock in rehearsals).
        remaining: returns the seconds left in the run's time budget, or ``None`` without one.
        retries: how many times a read is sent again.
        max_retry_after: the longest ``Retry-After`` honoured without a budget.
        backoff: the first backoff in seconds when the service asks for no wait (doubling, at most 30 s).
        now: the current date, for a ``Retry-After`` given as an HTTP date.
    """

    def __init__(
        self,
        *,
        sleep: Callable[[float], None],
        remaining: Callable[[], float | None] | None = None,
        retries: int = 6,
        max_retry_after: float = 120.0,
        backoff: float = 0.8,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self._sleep = sleep
        self._remaining = remaining
        self.retries = max(retries, 0)
        self._max_retry_after = max_retry_after
        self._backoff = backoff
        self._now = now

    def _asked(self, state: tenacity.RetryCallState) -> float | None:
        outcome = state.outcome
        if outcome is None or outcome.failed:
            return None
        response = outcome.result().http_response
        return retry_after_seconds(response.headers, self._now() if self._now is not None else None)

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Send ``request``: a read up to ``retries`` more times while the answer is transient, a write once."""
        if str(request.http_request.method).upper() not in READ_METHODS or self.retries == 0:
            return self.next.send(request)
        observer = _OBSERVER.get()

        def notify(seconds: float, state: tenacity.RetryCallState) -> None:
            if state.outcome is None:
                return
            status = None
            if not state.outcome.failed:
                response = state.outcome.result().http_response
                status = response.status_code
                _release(response)  # this answer is dropped: give its connection back before waiting
            if observer is not None:
                observer(seconds, status)

        retry = retrying(
            sleep=self._sleep,
            attempts=self.retries + 1,
            remaining=self._remaining,
            retry_on_result=lambda response: response.http_response.status_code in TRANSIENT_STATUS,
            asked_wait=self._asked,
            max_asked_wait=self._max_retry_after,
            on_wait=notify,
            base=self._backoff,
        )
        result: PipelineResponse[Any, Any] = retry(self.next.send, request)
        return result
