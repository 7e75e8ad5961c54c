"""A small in-memory "cloud" with a virtual clock, and actions over it, to exercise the runner.

Not Azure: each resource holds one value; a write starts an operation that takes virtual time, like an ARM
long-running operation, and a second write while it runs gets a 409-style ``OperationConflict``. Every write
is journaled so tests can count them. Crash points raise ``SimulatedCrash`` (a ``BaseException``) once.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aks_windows_ops.errors import AzureOperationFailed, OperationConflict
from aks_windows_ops.runbooks.plan import JsonValue, Plan, Step
from aks_windows_ops.runbooks.runner import RunContext, StepState
from aks_windows_ops.testing import VirtualClock as _VirtualClock

KIND = "set_value"


class SimulatedCrash(BaseException):
    """The process died here (not an error the runner may handle)."""


class VirtualClock(_VirtualClock):
    """The library's virtual clock, started at 1000 s so that a zero reading never passes for "unset"."""

    def __init__(self, start: float = 1000.0) -> None:
        super().__init__(start)


@dataclass
class FakeOperation:
    token: str
    resource: str
    value: str
    done_at: float
    fail_code: str | None = None
    applied: bool = False


@dataclass
class FakeCloud:
    clock: VirtualClock
    values: dict[str, str] = field(default_factory=dict)
    operations: dict[str, FakeOperation] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)
    fail_next: dict[str, str] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _settle(self) -> None:
        for op in self.operations.values():
            if not op.applied and op.done_at <= self.clock():
                op.applied = True
                if op.fail_code is None:
                    self.values[op.resource] = op.value

    def running(self, resource: str) -> FakeOperation | None:
        self._settle()
        for op in self.operations.values():
            if op.resource == resource and not op.applied:
                return op
        return None

    def get(self, resource: str) -> str | None:
        self._settle()
        return self.values.get(resource)

    def begin_update(self, resource: str, value: str, duration: float) -> str:
        if self.running(resource) is not None:
            raise OperationConflict(f"another operation is in progress on {resource}")
        self.writes.append((resource, value))
        token = f"op-{next(self._ids)}"
        self.operations[token] = FakeOperation(
            token, resource, value, self.clock() + duration, self.fail_next.pop(resource, None)
        )
        self._settle()
        return token

    def status(self, token: str) -> str:
        self._settle()
        op = self.operations[token]
        if not op.applied:
            return "InProgress"
        return "Failed" if op.fail_code else "Succeeded"

    def writes_to(self, resource: str) -> int:
        return sum(1 for r, _ in self.writes if r == resource)


class SetValueAction:
    """The ``set_value`` step kind: set ``resource`` to ``params["value"]``."""

    def __init__(self, cloud: FakeCloud, *, poll_interval: float = 30.0, synchronous: bool = False) -> None:
        self.cloud = cloud
        self.poll_interval = poll_interval
        self.synchronous = synchronous
        self.calls: list[tuple[str, str]] = []
        # (crash point, step id): raise SimulatedCrash once there.
        self.crash_at: set[tuple[str, str]] = set()
        self.verify_failures = 0
        self.check_error: Exception | None = None
        self.start_error: BaseException | None = None
        self.start_returns: Any = None

    def _crash(self, point: str, step: Step) -> None:
        if (point, step.id) in self.crash_at:
            self.crash_at.discard((point, step.id))
            raise SimulatedCrash(point)

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)

    def check(self, step: Step, ctx: RunContext) -> StepState:
        self.calls.append(("check", step.id))
        self._crash("check", step)
        if self.check_error is not None:
            raise self.check_error
        if self.cloud.get(step.resource) == step.params["value"]:
            return StepState.DONE
        if self.cloud.running(step.resource) is not None:
            return StepState.IN_FLIGHT
        return StepState.READY

    def start(self, step: Step, ctx: RunContext) -> Mapping[str, JsonValue] | None:
        self.calls.append(("start", step.id))
        self._crash("before_send", step)
        if self.start_error is not None:
            raise self.start_error
        duration = 0.0 if self.synchronous else step.expected_seconds
        token = self.cloud.begin_update(step.resource, str(step.params["value"]), duration)
        self._crash("after_send", step)
        if self.start_returns is not None:
            returned: Mapping[str, JsonValue] = self.start_returns
            return returned
        return None if self.synchronous else {"kind": "lro", "token": token}

    def wait(self, step: Step, ctx: RunContext, operation: Mapping[str, JsonValue] | None) -> None:
        self.calls.append(("wait", step.id))
        polls = 0
        while True:
            if operation is not None:
                status = self.cloud.status(str(operation["token"]))
                if status == "Failed":
                    code = self.cloud.operations[str(operation["token"])].fail_code
                    raise AzureOperationFailed("the operation failed", code=code)
                if status == "Succeeded":
                    return
            elif self.cloud.running(step.resource) is None:
                return
            polls += 1
            if polls == 2:
                self._crash("in_wait", step)
            ctx.ensure_time(f"waiting for {step.id}")
            ctx.report(f"poll {polls}")
            ctx.sleep(ctx.capped(self.poll_interval))

    def verify(self, step: Step, ctx: RunContext) -> str:
        self.calls.append(("verify", step.id))
        self._crash("before_verify", step)
        value = self.cloud.get(step.resource)
        if self.verify_failures:
            self.verify_failures -= 1
            raise AzureOperationFailed("verification read failed", code="InternalServerError")
        if value != step.params["value"]:
            raise AzureOperationFailed(f"{step.resource} is {value!r}, expected {step.params['value']!r}")
        return f"{step.resource} = {value}"


def make_plan(
    count: int = 3, *, duration: float = 600.0, value: str = "v2", target: str = "sub/rg/cluster"
) -> Plan:
    steps = tuple(
        Step(
            id=f"set:pool{i}",
            kind=KIND,
            title=f"Set pool{i} to {value}",
            resource=f"rg/cluster/pool{i}",
            reason="test",
            expected_seconds=duration,
            restarts_nodes=True,
            params={"value": value},
        )
        for i in range(count)
    )
    return Plan(procedure="test", target=target, steps=steps)
