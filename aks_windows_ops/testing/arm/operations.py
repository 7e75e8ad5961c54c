"""Long-running operations: starting them, polling them, finishing them on virtual time, and 409 while busy.

ARM's asynchronous pattern as the recordings show it: a write answers with ``Azure-AsyncOperation`` (and, for
202 answers, ``Location``); the operation status is ``InProgress`` (or free text) until ``Succeeded``,
``Failed`` or ``Canceled`` (https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

from azure.core.rest import HttpRequest

from aks_windows_ops.testing._http import FakeResponse
from aks_windows_ops.testing.arm.faults import Faults
from aks_windows_ops.testing.arm.state import ARM, ArmError, Cluster, Json, Operation, iso

#: Terminal operation statuses.
TERMINAL = ("Succeeded", "Failed", "Canceled")


class Operations(Faults):
    """The operation engine: virtual time moves operations forward."""

    def _advance(self) -> None:
        now = self.clock.monotonic()
        for op in sorted(self.operations.values(), key=lambda o: o.start):
            if op.status != "InProgress" or op.stuck:
                continue
            if now >= op.start + op.duration:
                self._finish(op, now)

    def _finish(self, op: Operation, now: float) -> None:
        op.end = now
        if op.fail_with is not None:
            op.status = "Failed"
            op.error = {"code": op.fail_with[0], "message": op.fail_with[1]}
            if op.on_failure:
                op.on_failure()
            return
        op.status = "Succeeded"
        if op.on_success:
            op.on_success()

    def settle(self, max_seconds: float = 86400.0) -> None:
        """Advance virtual time until no operation is in progress (stuck ones excepted)."""
        with self._lock:
            for _ in range(10000):
                pending = [o for o in self.operations.values() if o.status == "InProgress" and not o.stuck]
                if not pending:
                    return
                target = min(o.start + o.duration for o in pending)
                if target - self.clock.monotonic() > max_seconds:
                    return
                self.clock.advance(max(target - self.clock.monotonic(), 0.0))
                self._advance()

    def _start_operation(
        self,
        cluster: Cluster | None,
        kind: str,
        duration: float,
        *,
        subscription: str,
        location: str,
        provider: str = "Microsoft.ContainerService",
        pool: str | None = None,
        on_success: Callable[[], None] | None = None,
        on_failure: Callable[[], None] | None = None,
        method: str = "PUT",
        path: str = "",
        progress_total: int = 0,
    ) -> Operation:
        op = Operation(
            id=str(uuid.uuid4()),
            subscription=subscription,
            location=location,
            provider=provider,
            cluster_key=cluster.key if cluster else None,
            pool=pool,
            kind=kind,
            start=self.clock.monotonic(),
            duration=duration,
            on_success=on_success,
            on_failure=on_failure,
            progress_total=progress_total,
        )
        self._operation_faults(op, method, path)
        self.operations[op.id] = op
        return op

    def _begin(
        self,
        request: HttpRequest,
        cluster: Cluster,
        kind: str,
        duration: float,
        *,
        pool: str | None = None,
        on_success: Callable[[], None] | None = None,
        on_failure: Callable[[], None] | None = None,
        progress_total: int = 0,
    ) -> Operation:
        """Start an operation on a cluster (or one of its pools) for ``request``."""
        return self._start_operation(
            cluster,
            kind,
            duration,
            subscription=cluster.subscription,
            location=cluster.location,
            pool=pool,
            on_success=on_success,
            on_failure=on_failure,
            method=request.method.upper(),
            path=request.url,
            progress_total=progress_total,
        )

    def _accepted(self, request: HttpRequest, op: Operation, status: int, body: Json | None) -> FakeResponse:
        """The answer to a write that started ``op``: a 202 also carries ``Location``, 200/201 do not."""
        return FakeResponse(request, status, body, self._op_headers(op, location_header=status == 202))

    def _op_headers(self, op: Operation, *, location_header: bool) -> dict[str, str]:
        base = f"{ARM}/subscriptions/{op.subscription}/providers/{op.provider}/locations/{op.location}"
        # ARM polling URLs carry signed query parameters: the client must use them verbatim.
        sig = base64.urlsafe_b64encode(op.id.encode()).decode().rstrip("=")
        headers = {"Azure-AsyncOperation": f"{base}/operations/{op.id}?api-version=2026-08-01&t=638&s={sig}"}
        if location_header:
            headers["Location"] = f"{base}/operationresults/{op.id}?api-version=2026-08-01&t=638&s={sig}"
        return headers

    def _busy(self, cluster: Cluster, pool: str | None = None) -> Operation | None:
        """Return the operation that blocks a write, if any.

        Any operation on the cluster blocks a cluster write; a pool write is blocked by one on the cluster itself
        or on the same pool (the service runs operations on different pools side by side, as the recorded
        ``nodepool delete --no-wait`` followed by another delete shows).
        """
        for op in self.operations.values():
            if op.cluster_key != cluster.key or op.status != "InProgress" or op.kind == "vm_update":
                continue
            if pool is None or op.pool is None or op.pool.lower() == pool.lower():
                return op
        return None

    def _ensure_idle(self, cluster: Cluster, pool: str | None = None) -> None:
        op = self._busy(cluster, pool)
        if op is not None:
            target = f"agent pool {op.pool}" if op.pool else "managed cluster"
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Operation is not allowed because there's an in progress {op.kind.replace('_', ' ')} operation "
                f"on the {target} {cluster.name} started at {iso(self.base_time, op.start)}. Please wait for "
                "it to finish before starting a new operation.",
            )

    def _mark(
        self, cluster: Cluster, target: Json, state: str, pool: str | None = None
    ) -> Callable[[], None]:
        """A callback that sets ``target``'s provisioning state (e.g. ``Failed`` when an operation fails)."""

        def mark() -> None:
            target["provisioningState"] = state
            self._touch(cluster, pool)

        return mark

    def _op_status(self, request: HttpRequest, op_id: str) -> FakeResponse:
        op = self.operations.get(op_id)
        if op is None:
            raise ArmError(404, "NotFound", f"Operation {op_id} not found")
        return FakeResponse(request, 200, op.status_body(self.clock.monotonic(), self.base_time))

    def _op_result(self, request: HttpRequest, op_id: str) -> FakeResponse:
        op = self.operations.get(op_id)
        if op is None:
            raise ArmError(404, "NotFound", f"Operation {op_id} not found")
        if op.status == "InProgress":
            return FakeResponse(request, 202, None, self._op_headers(op, location_header=True))
        return FakeResponse(request, 204, None)
