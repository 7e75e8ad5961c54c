from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from runbook_fakes import KIND, FakeCloud, SetValueAction, SimulatedCrash, VirtualClock, make_plan

from aks_windows_ops.errors import (
    AzureOperationFailed,
    BudgetExhausted,
    InvalidInput,
    LeaseHeld,
    NotFound,
    RunInterrupted,
)
from aks_windows_ops.runbooks.checkpoints import (
    CHECKPOINTS_ENV,
    JsonFileCheckpointStore,
    MemoryCheckpointStore,
    RecordState,
    StepRecord,
)
from aks_windows_ops.runbooks.events import Event, EventKind
from aks_windows_ops.runbooks.leases import LeaseHolder, lease_names
from aks_windows_ops.runbooks.plan import Plan
from aks_windows_ops.runbooks.runner import (
    ApplyResult,
    RunContext,
    RunStatus,
    StepState,
    Terminated,
    get_plan_status,
    resume_plan,
    run_plan,
)
from aks_windows_ops.secrets import Secret


def run(
    plan: Plan,
    action: SetValueAction,
    clock: VirtualClock,
    store: Any,
    events: list[Event] | None = None,
    **options: Any,
) -> ApplyResult:
    return run_plan(
        plan,
        {KIND: action},
        checkpoints=store,
        clock=clock,
        on_event=None if events is None else events.append,
        **options,
    )


def final_values(cloud: FakeCloud, plan: Plan) -> dict[str, str | None]:
    return {s.resource: cloud.get(s.resource) for s in plan.steps}


def test_apply_runs_each_step_once_and_reports_events(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan = make_plan(3, duration=600)
    events: list[Event] = []
    result = run(plan, action, clock, MemoryCheckpointStore(), events)

    status: str = result.status  # a str enum: plain strings compare equal
    assert result.status is RunStatus.SUCCEEDED and status == "succeeded" and result.ok
    assert result.done == tuple(s.id for s in plan.steps) and result.skipped == () and result.remaining == ()
    assert not result.resumable and result.error is None
    assert result.elapsed == pytest.approx(1800)
    assert cloud.writes == [(s.resource, "v2") for s in plan.steps]
    assert [r.state for r in result.records] == [RecordState.SUCCEEDED] * 3
    assert all(r.attempts == 1 and r.operation is None and r.finished_at for r in result.records)
    assert result.records[0].message == "rg/cluster/pool0 = v2"
    assert result.raise_for_status() is result

    kinds = [e.kind for e in events]
    assert kinds[0] is EventKind.PLAN_STARTED and kinds[-1] is EventKind.PLAN_FINISHED
    assert kinds.count(EventKind.STEP_STARTED) == kinds.count(EventKind.STEP_SUCCEEDED) == 3
    first_step = [e for e in events if e.step_id == "set:pool0"]
    assert [e.kind for e in first_step][:2] == [EventKind.STEP_STARTED, EventKind.WAITING]
    polls = [e for e in first_step if e.kind is EventKind.WAITING and e.message.startswith("poll")]
    assert [e.elapsed for e in polls] == [30.0 * i for i in range(len(polls))]
    assert all(e.expected == 600 and e.index == 1 and e.total == 3 for e in polls)
    assert polls[10].fraction == pytest.approx(0.5)
    done = next(e for e in first_step if e.kind is EventKind.STEP_SUCCEEDED)
    assert done.elapsed == pytest.approx(600) and done.message == "rg/cluster/pool0 = v2"
    assert events[-1].message.startswith("succeeded: 3 steps done, 0 already done")


def test_rerun_checks_finished_steps_again_before_skipping_and_sends_nothing(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan, store = make_plan(3), MemoryCheckpointStore()
    run(plan, action, clock, store)
    action.calls.clear()
    events: list[Event] = []
    again = run(plan, action, clock, store, events)
    assert again.status is RunStatus.SUCCEEDED
    assert again.skipped == tuple(s.id for s in plan.steps) and again.done == () and again.drift == ()
    assert action.calls == [("check", s.id) for s in plan.steps] and len(cloud.writes) == 3
    skipped = [e.message for e in events if e.kind is EventKind.STEP_SKIPPED]
    assert (
        skipped[0] == "already succeeded, and checked again now: rg/cluster/pool0 = v2" and len(skipped) == 3
    )


def test_a_finished_step_whose_effect_is_gone_is_applied_again_and_reported_as_drift(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan, store = make_plan(3), MemoryCheckpointStore()
    assert run(plan, action, clock, store).ok
    cloud.values["rg/cluster/pool1"] = "v1"  # someone put it back
    events: list[Event] = []
    again = run(plan, action, clock, store, events)
    assert again.ok and again.drift == ("set:pool1",) and again.done == ("set:pool1",)
    assert again.skipped == ("set:pool0", "set:pool2") and "drift put right in set:pool1" in again.message
    assert cloud.values["rg/cluster/pool1"] == "v2" and cloud.writes_to("rg/cluster/pool1") == 2
    assert any(e.kind is EventKind.WARNING and "drift" in e.message for e in events)


def test_step_already_at_target_sends_no_write(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan = make_plan(2)
    cloud.values["rg/cluster/pool0"] = "v2"
    result = run(plan, action, clock, MemoryCheckpointStore())
    assert result.ok
    assert cloud.writes == [("rg/cluster/pool1", "v2")]
    assert result.records[0].message == "already done: rg/cluster/pool0 = v2"
    assert result.records[0].attempts == 0


def test_operation_already_running_is_awaited_not_repeated(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan = make_plan(1, duration=600)
    cloud.begin_update("rg/cluster/pool0", "v2", 300)  # started by someone else (portal, az)
    result = run(plan, action, clock, MemoryCheckpointStore())
    assert result.ok
    assert cloud.writes_to("rg/cluster/pool0") == 1 and action.count("start") == 0
    assert result.records[0].attempts == 0
    assert clock.monotonic() == pytest.approx(1300)


def test_synchronous_steps_need_no_operation_handle(cloud: FakeCloud, clock: VirtualClock) -> None:
    action = SetValueAction(cloud, synchronous=True)
    store = MemoryCheckpointStore()
    result = run(make_plan(2), action, clock, store)
    assert result.ok and len(cloud.writes) == 2 and result.elapsed == 0


def test_budget_pauses_inside_an_operation_and_resumes_it_without_restarting(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan, store = make_plan(1, duration=600), MemoryCheckpointStore()
    events: list[Event] = []
    first = run(plan, action, clock, store, events, time_budget=100)
    assert first.status is RunStatus.PAUSED and first.resumable and not first.ok
    assert isinstance(first.error, BudgetExhausted)
    assert first.elapsed == pytest.approx(100)
    assert first.raise_for_status() is first  # a pause is not an error
    record = store.load(plan.id, "set:pool0")
    assert record is not None and record.state is RecordState.IN_PROGRESS
    assert record.operation == {"kind": "lro", "token": "op-1"} and record.attempts == 1
    assert EventKind.PAUSED in [e.kind for e in events]

    second = run(plan, action, clock, store, time_budget=10_000)
    assert second.status is RunStatus.SUCCEEDED
    assert action.count("start") == 1 and action.count("check") == 1 and action.count("wait") == 2
    assert cloud.writes == [("rg/cluster/pool0", "v2")]
    assert second.records[0].attempts == 1


def test_small_budgets_finish_the_plan_over_many_invocations(
    cloud: FakeCloud, clock: VirtualClock, tmp_path: Path
) -> None:
    plan = make_plan(3, duration=600)
    statuses = []
    for _ in range(50):
        # A fresh action and store each time: every invocation is a new timer run in a new process.
        result = run(
            plan, SetValueAction(cloud), clock, JsonFileCheckpointStore(tmp_path / "cp.json"), time_budget=250
        )
        statuses.append(result.status)
        assert result.elapsed <= 250
        if result.ok:
            break
    assert statuses[-1] is RunStatus.SUCCEEDED
    assert statuses[:-1] == [RunStatus.PAUSED] * (len(statuses) - 1) and len(statuses) >= 8
    assert sorted(cloud.writes) == [(s.resource, "v2") for s in plan.steps]
    assert [r.attempts for r in result.records] == [1, 1, 1]


def test_zero_budget_pauses_before_the_first_step(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan = make_plan(2)
    result = run(plan, action, clock, MemoryCheckpointStore(), time_budget=0)
    assert result.status is RunStatus.PAUSED and result.remaining == ("set:pool0", "set:pool1")
    assert action.calls == [] and cloud.writes == []
    assert "before step 'set:pool0'" in result.message


CRASH_POINTS = ["check", "before_send", "after_send", "in_wait", "before_verify"]


@pytest.mark.parametrize("step_index", [0, 1])
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_then_rerun_reaches_the_same_end_state_with_each_write_sent_once(
    point: str, step_index: int, tmp_path: Path
) -> None:
    reference_clock = VirtualClock()
    reference_cloud = FakeCloud(reference_clock)
    plan = make_plan(3, duration=600)
    run(plan, SetValueAction(reference_cloud), reference_clock, MemoryCheckpointStore())

    clock = VirtualClock()
    cloud = FakeCloud(clock)
    path = tmp_path / "checkpoints.json"
    crashing = SetValueAction(cloud)
    # Let the earlier steps through; crash in the chosen step.
    for s in plan.steps[:step_index]:
        cloud.values[s.resource] = "v2"
    crashing.crash_at.add((point, plan.steps[step_index].id))
    with pytest.raises(SimulatedCrash):
        run(plan, crashing, clock, JsonFileCheckpointStore(path))
    stored = {r.step_id: r for r in JsonFileCheckpointStore(path).records(plan.id)}
    assert all(r.state is not RecordState.FAILED for r in stored.values())

    survivor = SetValueAction(cloud)
    result = run(plan, survivor, clock, JsonFileCheckpointStore(path))
    assert result.ok
    assert final_values(cloud, plan) == final_values(reference_cloud, plan)
    for s in plan.steps[step_index:]:
        assert cloud.writes_to(s.resource) == 1, s.id
    crashed = result.records[step_index]
    if point == "in_wait" or point == "before_verify":
        assert survivor.count("start") == len(plan.steps) - step_index - 1  # resumed, never re-sent
        # Every step but the resumed one is checked: the finished ones again, before they are skipped.
        assert survivor.count("check") == len(plan.steps) - 1
    if point == "before_send":
        assert crashed.attempts == 2  # marked before the crash, re-sent after re-reading (nothing was sent)
    else:
        assert crashed.attempts in (0, 1)


def test_crash_in_start_after_sending_waits_for_the_running_operation(
    cloud: FakeCloud, clock: VirtualClock
) -> None:
    plan, store = make_plan(1, duration=600), MemoryCheckpointStore()
    crashing = SetValueAction(cloud)
    crashing.crash_at.add(("after_send", "set:pool0"))
    with pytest.raises(SimulatedCrash):
        run(plan, crashing, clock, store)
    record = store.load(plan.id, "set:pool0")
    assert record is not None and record.state is RecordState.IN_PROGRESS and record.operation is None
    survivor = SetValueAction(cloud)
    events: list[Event] = []
    assert run(plan, survivor, clock, store, events).ok
    assert survivor.count("start") == 0 and cloud.writes_to("rg/cluster/pool0") == 1
    assert any(e.message == "waiting for an operation already running on the resource" for e in events)


def test_failed_step_stops_the_plan_and_a_rerun_starts_from_check(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan, store = make_plan(3), MemoryCheckpointStore()
    cloud.fail_next["rg/cluster/pool1"] = "UpgradeFailed"
    events: list[Event] = []
    result = run(plan, action, clock, store, events)
    assert result.status is RunStatus.FAILED and not result.resumable
    assert result.failed_step == "set:pool1" and result.done == ("set:pool0",)
    assert result.remaining == ("set:pool1", "set:pool2")
    assert isinstance(result.error, AzureOperationFailed) and result.error.code == "UpgradeFailed"
    failed = result.records[1]
    assert failed.state is RecordState.FAILED and failed.operation is None and failed.attempts == 1
    assert failed.message == "UpgradeFailed: the operation failed"
    assert result.records[2].state is RecordState.PENDING
    assert [e.kind for e in events if e.step_id == "set:pool2"] == []
    assert any(e.kind is EventKind.STEP_FAILED and e.step_id == "set:pool1" for e in events)
    with pytest.raises(AzureOperationFailed, match="UpgradeFailed"):
        result.raise_for_status()
    assert result.to_dict()["error"]["code"] == "UpgradeFailed"

    action.calls.clear()
    again = run(plan, action, clock, store)
    assert again.ok and again.skipped == ("set:pool0",)
    assert action.calls[:2] == [("check", "set:pool0"), ("check", "set:pool1")]
    assert cloud.writes_to("rg/cluster/pool1") == 2 and again.records[1].attempts == 2


def test_failed_step_whose_target_was_reached_is_not_sent_again(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan, store = make_plan(1), MemoryCheckpointStore()
    action.verify_failures = 1
    assert run(plan, action, clock, store).status is RunStatus.FAILED
    again = run(plan, action, clock, store)
    assert again.ok and cloud.writes_to("rg/cluster/pool0") == 1
    assert again.records[0].message.startswith("already done")


def test_library_error_while_checking_fails_without_writing(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan, store = make_plan(2), MemoryCheckpointStore()
    action.check_error = NotFound("cluster rg/cluster not found")
    result = run(plan, action, clock, store)
    assert result.status is RunStatus.FAILED and isinstance(result.error, NotFound)
    assert cloud.writes == [] and result.records[0].attempts == 0
    assert result.records[0].message == "cluster rg/cluster not found"


@pytest.mark.parametrize("error", [RuntimeError("bug")])
def test_other_exceptions_propagate_untouched_and_mark_nothing(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock, error: BaseException
) -> None:
    plan, store = make_plan(1), MemoryCheckpointStore()
    action.start_error = error
    with pytest.raises(type(error)) as caught:
        run(plan, action, clock, store)
    assert caught.value is error
    record = store.load(plan.id, "set:pool0")
    assert (
        record is not None
        and record.state is RecordState.IN_PROGRESS
        and record.message == "sending the write"
    )


def test_checkpoint_store_errors_propagate_instead_of_failing_the_step(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    class BrokenStore(MemoryCheckpointStore):
        def save(self, record: StepRecord) -> None:
            if record.operation is not None:
                raise AzureOperationFailed("storage said no", status_code=403)
            super().save(record)

    plan, store = make_plan(1), BrokenStore()
    with pytest.raises(AzureOperationFailed, match="storage said no"):
        run(plan, action, clock, store)
    record = store.load(plan.id, "set:pool0")
    assert record is not None and record.state is RecordState.IN_PROGRESS


def test_missing_action_is_refused_before_anything_runs(cloud: FakeCloud, clock: VirtualClock) -> None:
    store = MemoryCheckpointStore()
    with pytest.raises(InvalidInput, match="no action for step kind 'set_value'"):
        run_plan(make_plan(1), {}, checkpoints=store, clock=clock)
    with pytest.raises(InvalidInput, match="the step to stop after"):
        run_plan(make_plan(1), {KIND: SetValueAction(cloud)}, checkpoints=store, stop_after="nope")
    assert store.plan_ids() == [] and cloud.writes == []


def test_operation_handle_holding_a_secret_is_refused(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock, tmp_path: Path
) -> None:
    action.start_returns = {"kind": "lro", "token": Secret("t0ken-that-must-not-leak")}
    path = tmp_path / "cp.json"
    with pytest.raises(InvalidInput, match="Secret"):
        run(make_plan(1), action, clock, JsonFileCheckpointStore(path))
    assert "t0ken-that-must-not-leak" not in path.read_text()


def test_stop_after_applies_one_step_at_a_time(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan, store = make_plan(3), MemoryCheckpointStore()
    first = run(plan, action, clock, store, stop_after="set:pool0")
    assert first.status is RunStatus.PAUSED and first.done == ("set:pool0",) and first.error is None
    assert cloud.writes == [("rg/cluster/pool0", "v2")]
    repeated = run(plan, action, clock, store, stop_after="set:pool0")
    assert repeated.status is RunStatus.PAUSED and repeated.skipped == ("set:pool0",) and repeated.done == ()
    assert cloud.writes == [("rg/cluster/pool0", "v2")]
    last = run(plan, action, clock, store, stop_after="set:pool2")
    assert last.status is RunStatus.SUCCEEDED and last.done == ("set:pool1", "set:pool2")


def test_failing_event_callback_does_not_change_the_outcome(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    def broken(event: Event) -> None:
        raise ValueError("renderer bug")

    result = run_plan(
        make_plan(2),
        {KIND: action},
        checkpoints=MemoryCheckpointStore(),
        clock=clock,
        on_event=broken,
    )
    assert result.ok and len(cloud.writes) == 2


def test_warnings_and_empty_plans(action: SetValueAction, clock: VirtualClock) -> None:
    events: list[Event] = []
    plan = Plan(procedure="test", target="t", warnings=("nodes will restart",))
    result = run(plan, action, clock, MemoryCheckpointStore(), events)
    assert result.ok and result.message == "nothing to do"
    assert [e.kind for e in events] == [EventKind.PLAN_STARTED, EventKind.WARNING, EventKind.PLAN_FINISHED]
    assert events[1].message == "nodes will restart"


def test_resume_applies_the_stored_plan(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan, store = make_plan(2, duration=600), MemoryCheckpointStore()
    assert run(plan, action, clock, store, time_budget=700).status is RunStatus.PAUSED
    result = resume_plan(plan.id, {KIND: action}, checkpoints=store, clock=clock)
    assert result.ok and result.skipped == ("set:pool0",) and len(cloud.writes) == 2
    with pytest.raises(NotFound):
        resume_plan("test-0000", {KIND: action}, checkpoints=store)


def test_get_plan_status(cloud: FakeCloud, action: SetValueAction, clock: VirtualClock) -> None:
    plan, store = make_plan(2), MemoryCheckpointStore()
    assert [r.state for r in get_plan_status(plan, store)] == [RecordState.PENDING] * 2
    run(plan, action, clock, store, stop_after="set:pool0")
    assert [r.state for r in get_plan_status(plan, store)] == [RecordState.SUCCEEDED, RecordState.PENDING]


def test_default_checkpoints_go_to_the_configured_file(
    cloud: FakeCloud,
    action: SetValueAction,
    clock: VirtualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tmp_path / "env.json"))
    plan = make_plan(1)
    assert run_plan(plan, {KIND: action}, clock=clock).ok
    data = json.loads((tmp_path / "env.json").read_text())
    assert data["plans"][plan.id]["steps"]["set:pool0"]["state"] == "succeeded"

    monkeypatch.delenv(CHECKPOINTS_ENV)
    monkeypatch.setenv("AKS_WINDOWS_OPS_STATE_DIR", str(tmp_path / "state"))
    assert run_plan(make_plan(1, value="v3"), {KIND: action}, clock=clock).ok
    default = tmp_path / "state" / "checkpoints.sqlite"
    assert default.exists() and oct(default.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "state").stat().st_mode & 0o777) == "0o700"
    assert run_plan(plan, {KIND: action}, checkpoints=str(tmp_path / "given.json"), clock=clock).ok
    assert (tmp_path / "given.json").exists()


def test_run_context_budget_helpers(clock: VirtualClock, cloud: FakeCloud) -> None:
    ctx = RunContext(plan=make_plan(1), clock=clock, deadline=clock.monotonic() + 100)
    assert ctx.remaining() == 100 and not ctx.expired() and ctx.capped(500) == 100 and ctx.capped(5) == 5
    polls = iter([False, False, True])
    ctx.poll_until(lambda: next(polls), interval=30, what="x")
    assert clock.monotonic() == 1060
    with pytest.raises(BudgetExhausted, match="waiting for y"):
        ctx.poll_until(lambda: False, interval=30, what="y")
    assert clock.monotonic() == 1100 and ctx.expired()
    assert RunContext(plan=make_plan(1), clock=clock).remaining() is None
    assert StepState("ready") is StepState.READY


@pytest.mark.parametrize("signal_error", [KeyboardInterrupt(), Terminated()])
def test_an_interrupt_records_the_step_in_flight_and_raises_a_typed_interruption(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock, signal_error: KeyboardInterrupt
) -> None:
    plan, store = make_plan(2), MemoryCheckpointStore()
    action.start_error = signal_error
    with pytest.raises(RunInterrupted) as caught:
        run(plan, action, clock, store)
    err = caught.value
    assert err.plan_id == plan.id and err.remaining == ("set:pool0", "set:pool1") and err.done == ()
    assert err.changed == ("set:pool0",) and plan.id in err.remediation
    assert err.signal_name == ("SIGTERM" if isinstance(signal_error, Terminated) else "SIGINT")
    record = store.load(plan.id, "set:pool0")
    assert record is not None and record.state is RecordState.IN_PROGRESS and record.attempts == 1
    assert record.message.startswith("interrupted")
    action.start_error = None
    survivor = SetValueAction(cloud)
    assert run(plan, survivor, clock, store).ok


def test_a_failure_says_what_this_run_sent_and_what_it_did_not(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan, store = make_plan(3), MemoryCheckpointStore()
    cloud.fail_next["rg/cluster/pool1"] = "UpgradeFailed"
    result = run(plan, action, clock, store)
    assert result.sent == ("set:pool0", "set:pool1")
    assert "This run sent the writes of: set:pool0, set:pool1" in result.message
    assert "not started: set:pool2" in result.message

    clean, clean_store = make_plan(2, value="v2"), MemoryCheckpointStore()
    for s in clean.steps:
        cloud.values[s.resource] = "v2"
    cloud.fail_next.clear()
    done = run(clean, SetValueAction(cloud), clock, clean_store)
    assert done.ok and done.sent == ()


def test_a_plan_is_refused_for_another_target_or_mode_before_anything_is_read(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    plan, store = make_plan(1), MemoryCheckpointStore()
    with pytest.raises(InvalidInput, match="made for sub/rg/cluster, not sub/rg/other"):
        run_plan(plan, {KIND: action}, checkpoints=store, clock=clock, target="sub/rg/other")
    assert run_with_mode(plan, action, clock, store, "twin:legacy-2019").ok
    assert store.load_plan(plan.id).mode == "twin:legacy-2019"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match=r"rehearsal .* never sent to Azure"):
        resume_plan(plan.id, {KIND: action}, checkpoints=store, clock=clock, mode="azure")
    real = make_plan(1, value="v3").with_mode("azure")
    with pytest.raises(InvalidInput, match="made for Azure; it does not run on a twin"):
        run_with_mode(real, action, clock, store, "twin")
    assert action.count("start") == 1  # only the run on its own twin sent anything


def run_with_mode(
    plan: Plan, action: SetValueAction, clock: VirtualClock, store: MemoryCheckpointStore, mode: str
) -> ApplyResult:
    return run_plan(plan, {KIND: action}, checkpoints=store, clock=clock, mode=mode)


def test_a_second_apply_on_the_same_cluster_stops_before_any_write(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock
) -> None:
    store = MemoryCheckpointStore()
    first, second = make_plan(1), make_plan(1, value="v3")
    holder = LeaseHolder()
    store.acquire_lease(lease_names(first.id, first.target)[0], holder)
    with pytest.raises(LeaseHeld) as caught:
        run(second, action, clock, store)
    assert caught.value.host == holder.host and caught.value.started_at == holder.started_at
    assert caught.value.holder == holder.id and "nothing was sent" in str(caught.value)
    assert action.calls == [] and cloud.writes == []
    store.break_lease(lease_names(first.id, first.target)[0])
    assert run(second, action, clock, store).ok
    assert store.lease_holder(lease_names(second.id, second.target)[0]) is None  # released at the end


def test_plan_ids_are_unique_per_plan_made() -> None:
    assert make_plan(2).id != make_plan(2).id


@pytest.mark.parametrize("budget", [float("nan"), float("inf"), -1.0])
def test_a_budget_that_is_not_a_finite_number_is_refused_before_anything_runs(
    cloud: FakeCloud, action: SetValueAction, clock: VirtualClock, budget: float
) -> None:
    with pytest.raises(InvalidInput, match="finite number"):
        run_plan(make_plan(1), {KIND: action}, checkpoints=MemoryCheckpointStore(), time_budget=budget)
    assert action.calls == [] and cloud.writes == []
