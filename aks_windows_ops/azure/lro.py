"""Long-running operations that survive a crash: start, hand back a continuation token, resume anywhere.

Service facts: ARM behaviour; Serving the SDK from an in-memory ARM: every ``begin_*`` accepts ``continuation_token=``; a token is base64 JSON of the
initial request and response (never the request body, so never a password). :func:`start` sends the one write
and returns the token at once; :func:`wait` resumes from a token on any client and polls on the caller's thread
through the client's clock and sleep (virtual in the simulator), raising
:class:`~aks_windows_ops.errors.BudgetExhausted` when the time budget runs out, with the token still valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotModifiedError
from azure.core.polling.base_polling import BadResponse, BadStatus
from azure.mgmt.core.polling.arm_polling import ARMPolling

from aks_windows_ops.azure.errors import translate
from aks_windows_ops.azure.urls import check_resume, reduce_continuation_token
from aks_windows_ops.errors import AksWindowsOpsError, AzureOperationFailed, BudgetExhausted, OperationLost

__all__ = ["NOT_MODIFIED", "start", "wait"]

#: Returned by :func:`start` when the service started no operation: a 304, or a final answer at once (node image
#: already the newest); the caller reads the resource back before calling it done.
NOT_MODIFIED = "not-modified"


class _CallerDrivenPolling(ARMPolling):
    """ARM polling whose loop runs on the caller's thread, not on LROPoller's background thread.

    The SDK's poller thread would swallow a crash and cannot honour a time budget; here ``run()`` is a no-op and
    :func:`wait` drives ``update_status()`` itself, then ``finish()`` does the final checks and GET.
    """

    def run(self) -> None:
        return None

    def finish(self) -> None:
        super().run()


def start(
    begin: Callable[..., Any],
    *args: Any,
    context: str = "",
    done_at_once: str | None = None,
    **kwargs: Any,
) -> str:
    """Send the initial request of an LRO and return its continuation token (or :data:`NOT_MODIFIED`).

    Args:
        begin: a ``begin_*`` method of an SDK client.
        args: its positional arguments.
        context: what is being done, prefixed to error messages.
        done_at_once: returned instead of a token when the service answered with a final status and started no
            operation (a node image upgrade of a pool already on the newest image answers 200 at once).
        kwargs: its keyword arguments.

    Raises:
        AksWindowsOpsError: the request was refused (translated).
    """
    try:
        poller = begin(*args, polling=_CallerDrivenPolling(timeout=0), **kwargs)
    except ResourceNotModifiedError:
        return NOT_MODIFIED
    except AzureError as err:
        raise translate(err, context=context) from err
    if done_at_once is not None and poller.polling_method().finished():
        return done_at_once
    return reduce_continuation_token(str(poller.continuation_token()))  # no resource body: docs/security.md


def wait(
    begin: Callable[..., Any],
    token: str,
    *args: Any,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    interval: float = 30.0,
    deadline: float | None = None,
    on_status: Callable[[str, float], None] | None = None,
    context: str = "",
) -> Any:
    """Resume an LRO from ``token`` and poll it to a terminal state; return the final resource (or ``None``).

    Args:
        begin: the same ``begin_*`` method that started it (any client instance).
        token: the continuation token from :func:`start`.
        args: placeholder positional arguments the ``begin_*`` signature requires.
        clock: monotonic seconds (virtual in the simulator).
        sleep: waits between polls.
        interval: seconds between polls.
        deadline: absolute time on ``clock`` after which a :class:`BudgetExhausted` is raised.
        on_status: called with (status text, seconds waited) after each poll.
        context: prefix for error messages.

    Raises:
        BudgetExhausted: the deadline passed before the operation finished; resume with the same token.
        OperationLost: Azure no longer knows the operation (404/400 on its status URL, or an unreadable
            token): read the resource and decide again.
        AksWindowsOpsError: the operation ended Failed or Canceled (translated, with the ARM code).
        UntrustedCheckpoint: a URL in the token is not on this client's Resource Manager endpoint and path.
    """
    if token == NOT_MODIFIED:
        return None
    check_resume(
        begin, token
    )  # the token's URLs must be this client's Resource Manager paths (docs/security.md)
    started = clock()
    what = context or "operation"
    try:
        try:
            poller = begin(*args, continuation_token=token, polling=_CallerDrivenPolling(timeout=interval))
        except (ValueError, TypeError, KeyError) as err:
            raise OperationLost(
                f"{what}: the recorded operation handle cannot be read ({type(err).__name__})"
            ) from None
        method = poller.polling_method()
        while not method.finished():
            if deadline is not None and clock() + min(interval, 1.0) > deadline:
                raise BudgetExhausted(
                    f"{what} still running after {clock() - started:.0f} s; time budget used up",
                )
            sleep(interval)
            try:
                method.update_status()
            except (BadStatus, BadResponse) as err:
                raise _lost_or_failed(err, what) from err
            if on_status is not None:
                on_status(str(method.status()), clock() - started)
        method.finish()
        return method.resource()
    except HttpResponseError as err:
        if isinstance(getattr(err, "error", None), BadStatus) or _LOST.search(str(err)):
            raise _lost_or_failed(err, what) from err
        raise translate(err, context=context) from err
    except AzureError as err:
        raise translate(err, context=context) from err


_LOST = re.compile(r"Invalid return status '?(\d{3})'?")


def _lost_or_failed(err: BaseException, what: str) -> AksWindowsOpsError:
    """A poll that Azure answered 404/400 means the operation is no longer known; anything else failed."""
    found = _LOST.search(str(err))
    status = int(found.group(1)) if found else getattr(err, "status_code", None)
    if status in (400, 404, 410):
        return OperationLost(f"{what}: Azure no longer knows the operation (HTTP {status} on its status URL)")
    return AzureOperationFailed(f"{what}: polling the operation failed: {err}", status_code=status)
