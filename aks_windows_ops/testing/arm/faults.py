"""Scripted faults: errors, throttling, connection resets and crashes around requests, failed or stuck operations."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import ServiceResponseError

from aks_windows_ops.testing._http import Fault, SimulatedCrash
from aks_windows_ops.testing.arm.journal import Journal
from aks_windows_ops.testing.arm.state import ArmError, Operation

#: Faults that act on the operation a request starts rather than on the request itself.
OPERATION_FAULTS = ("fail_operation", "stuck")


class Faults(Journal):
    """Applies the scripted faults (see :class:`~aks_windows_ops.testing.Fault`) and the throttle model."""

    def add_fault(self, kind: str, **kwargs: Any) -> Fault:
        """Script a fault (see :class:`Fault`) and return it."""
        fault = Fault(kind=kind, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every scripted fault."""
        with self._lock:
            self.faults.clear()

    def _before_request(self, method: str, path: str, kind: str, body: Any) -> tuple[bool, bool]:
        """Apply the request faults and the throttle; return (crash after, reset after) for the caller.

        Raises:
            SimulatedCrash: a ``crash_before`` fault.
            ServiceResponseError: a ``reset`` fault.
            ArmError: an ``error`` or ``throttle`` fault, or the throttle model refused the request.
        """
        crash_after = reset_after = False
        for fault in self.faults:
            if fault.kind in OPERATION_FAULTS or not fault.matches(method, path):
                continue
            if fault.kind == "crash_before":
                self._record(method, path, 0, kind, body)
                raise SimulatedCrash(f"simulated crash before {method} {path}")
            if fault.kind == "crash_after":
                crash_after = True
            elif fault.kind == "reset_after":
                reset_after = True
            elif fault.kind == "reset":
                self._record(method, path, 0, kind, body)
                raise ServiceResponseError("Connection reset by peer (simulated)")
            elif fault.kind == "throttle":
                wait = fault.retry_after if fault.retry_after is not None else 5
                raise ArmError(
                    429, "TooManyRequests", "The request is being throttled.", {"Retry-After": str(int(wait))}
                )
            elif fault.kind == "error":
                hdrs = {}
                if fault.status in (429, 503) and fault.retry_after is not None:
                    hdrs["Retry-After"] = str(int(fault.retry_after))
                raise ArmError(fault.status, fault.code, fault.message, hdrs)
        if self.throttle is not None:
            # A throttle model (e.g. token buckets) answers how long the caller must wait, or None.
            wait_s = self.throttle.check(self, method, path, kind)
            if wait_s is not None:
                raise ArmError(
                    429,
                    "TooManyRequests",
                    "The request is being throttled as the limit has been reached for operation type.",
                    {"Retry-After": str(max(1, math.ceil(wait_s)))},
                )
        return crash_after, reset_after

    def _operation_faults(self, op: Operation, method: str, url: str) -> None:
        """Mark an operation failed or stuck when a fault scripted for its request says so."""
        path = urlsplit(url).path  # match on the path, as request faults do (never the query string)
        for fault in self.faults:
            if fault.kind in OPERATION_FAULTS and fault.matches(method, path):
                if fault.kind == "stuck":
                    op.stuck = True
                else:
                    op.fail_with = (fault.code, fault.message)
