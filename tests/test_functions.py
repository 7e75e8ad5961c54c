"""Azure Functions: the nightly timer on the simulator with Blob checkpoints on Azurite, and the Durable rollout."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import importlib.util
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.durable_functions.testing import orchestrator_generator_wrapper

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.integrations import durable as D
from aks_windows_ops.integrations import functions as F
from aks_windows_ops.runbooks.checkpoints import BlobCheckpointStore, RecordState
from aks_windows_ops.runbooks.password import plan_password_rotation
from aks_windows_ops.runbooks.patch import apply_patch, plan_patch
from aks_windows_ops.runbooks.runner import get_plan_status
from aks_windows_ops.secrets import Secret
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.scenario import read_scenario

ROOT = Path(__file__).resolve().parents[1]
SUB2, RG2, NAME2 = "00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps"
APP_ENV = (
    "AKS_WINDOWS_OPS_CHECKPOINTS",
    "AKS_WINDOWS_OPS_ROLLOUT_CHECKPOINTS",
    "AKS_WINDOWS_OPS_REPORTS",
    "AKS_WINDOWS_OPS_SIMULATE",
    "AKS_WINDOWS_OPS_SUBSCRIPTIONS",
    "AKS_WINDOWS_OPS_TIME_BUDGET",
    "AKS_WINDOWS_OPS_AUDIT_BUDGET",
    "AKS_WINDOWS_OPS_PASSWORD_SECRET",
    "AZURE_SUBSCRIPTION_ID",
)


@pytest.fixture(autouse=True)
def clean_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in APP_ENV:
        monkeypatch.delenv(name, raising=False)
    F.reset_runtime()
    yield
    F.reset_runtime()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from azurite_support import start_azurite

    with start_azurite(tmp_path_factory.mktemp("azurite-functions")) as connection_string:
        yield connection_string


def functions_of(*blueprints: Any) -> dict[str, Any]:
    """Index blueprints the way the Functions worker does, and return the functions by name."""
    app = func.FunctionApp()
    for blueprint in blueprints:
        app.register_functions(blueprint)
    return {fn.get_function_name(): fn for fn in app.get_functions()}


# --------------------------------------------------------------------------------------------- the timer
def test_settings_from_app_settings() -> None:
    settings = F.FunctionSettings.from_env(
        {
            "AKS_WINDOWS_OPS_CHECKPOINTS": "blob://ops?account_url=https://acct.blob.core.windows.net",
            "AKS_WINDOWS_OPS_SUBSCRIPTIONS": "sub-a, sub-b;sub-c",
            "AKS_WINDOWS_OPS_TIME_BUDGET": "480",
        }
    )
    assert settings.subscriptions == ("sub-a", "sub-b", "sub-c")
    assert settings.time_budget == 480 and settings.audit_seconds == 120
    assert (
        settings.reports_url
        == "blob://ops/aks-windows-ops/reports?account_url=https://acct.blob.core.windows.net"
    )
    assert (
        F.FunctionSettings.from_env({"AKS_WINDOWS_OPS_SIMULATE": "healthy"}).time_budget
        == F.DEFAULT_TIME_BUDGET
    )
    with pytest.raises(InvalidInput, match="AKS_WINDOWS_OPS_CHECKPOINTS"):
        F.FunctionSettings.from_env({"AZURE_SUBSCRIPTION_ID": "s"})
    with pytest.raises(InvalidInput, match="number of seconds"):
        F.FunctionSettings.from_env(
            {"AKS_WINDOWS_OPS_SIMULATE": "healthy", "AKS_WINDOWS_OPS_TIME_BUDGET": "5m"}
        )
    with pytest.raises(InvalidInput, match="audit budget"):
        F.FunctionSettings(checkpoints="memory:", time_budget=60, audit_budget=90)
    assert D.rollout_store_url({"AKS_WINDOWS_OPS_CHECKPOINTS": "blob://ops?connection_string_env=CS"}) == (
        "blob://ops/aks-windows-ops/rollouts?connection_string_env=CS"
    )
    assert (
        D.rollout_store_url({"AKS_WINDOWS_OPS_CHECKPOINTS": "/var/ops/cp.json"}) == "/var/ops/rollouts.json"
    )


@pytest.mark.azurite
def test_timer_advances_plans_within_budget_with_blob_checkpoints(
    azurite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = f"fn{uuid.uuid4().hex[:16]}"
    url = f"blob://{container}"
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite)
    monkeypatch.setenv("AKS_WINDOWS_OPS_CHECKPOINTS", url)
    monkeypatch.setenv("AKS_WINDOWS_OPS_SIMULATE", "ws2019-retiring")
    monkeypatch.setenv("AKS_WINDOWS_OPS_TIME_BUDGET", "240")
    fake = F.simulator("ws2019-retiring")
    clients = AzureClients.for_simulator(fake, SUB2)

    # An operator started a node image patch from the CLI with a short budget: it paused mid-way.
    plan, context = plan_patch(clients, RG2, NAME2, node_image_only=True)
    first = apply_patch(plan, context, checkpoints=url, time_budget=60)
    assert first.status.value == "paused"
    # And planned a password rotation whose password the timer does not have: it must not be touched.
    rotation, _ = plan_password_rotation(clients, RG2, NAME2, new_password=Secret("Rotated-Pa55word!xyz"))
    F.open_store(url).save_plan(rotation)  # type: ignore[attr-defined]

    timer = functions_of(F.create_blueprint())[F.NIGHTLY_FUNCTION_NAME].get_user_function()
    for _ in range(12):
        before = fake.clock.monotonic()
        timer(func.timer.TimerRequest(past_due=False))
        assert fake.clock.monotonic() - before <= 240 + 1  # the budget holds on the simulator's clock
        fresh = BlobCheckpointStore(connection_string=azurite, container=container)
        states = {r.step_id: r.state for r in get_plan_status(plan, fresh)}
        if all(s is RecordState.SUCCEEDED for s in states.values()):
            break
    else:
        pytest.fail(f"the patch did not finish in 12 timer runs: {states}")

    pool = fake.pool_state(SUB2, RG2, NAME2, "win19")
    assert pool["provisioningState"] == "Succeeded" and pool["nodeImageVersion"].endswith(".260715")
    assert fake.requests(method="PUT") == []  # the rotation waits for its password
    assert all(r.state is RecordState.PENDING for r in get_plan_status(rotation, fresh))
    report = F.read_report(f"{url}/aks-windows-ops/reports", "fleet-audit/latest.json")
    assert report is not None and report["summary"]["clusters"] == 1
    assert report["rows"][0]["cluster"] == NAME2 and report["rows"][0]["ws2019_exposure"] != "none"


def test_timer_reports_failure_when_the_store_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKS_WINDOWS_OPS_SIMULATE", "healthy")
    monkeypatch.setenv("AKS_WINDOWS_OPS_CHECKPOINTS", "ftp://nowhere/cp")
    monkeypatch.setenv("AKS_WINDOWS_OPS_REPORTS", "memory:reports")
    timer = functions_of(F.create_blueprint())[F.NIGHTLY_FUNCTION_NAME].get_user_function()
    with pytest.raises(F.NightlyRunFailed, match="not supported"):
        timer(func.timer.TimerRequest(past_due=True))
    # The audit still ran and was stored before the plans were attempted.
    latest = F.read_report("memory:reports", "fleet-audit/latest.json")
    assert latest is not None and latest["summary"]["clusters"] == 1


def test_nightly_run_waits_for_failed_plans_and_defers_without_budget() -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    F.set_clients_factory(lambda sub: AzureClients.for_simulator(fake, sub))
    store = F.open_store("memory:cp")
    clients = AzureClients.for_simulator(fake, SUB2)
    plan, context = plan_patch(clients, RG2, NAME2, node_image_only=True)
    store.save_plan(plan)  # type: ignore[attr-defined]
    outcomes = F.advance_plans(store, F.clients_factory(), time_budget=1.0)
    assert [o.status for o in outcomes] == ["deferred"] and fake.writes() == []
    fake.add_fault("fail_operation", path="upgradeNodeImageVersion", code="UpgradeFailed", message="boom")
    settings = F.FunctionSettings(
        checkpoints="memory:cp", reports="memory:reports", subscriptions=(SUB2,), time_budget=3600
    )
    result = F.run_nightly(settings, factory=F.clients_factory())
    assert [p.status for p in result.plans] == ["failed"], result.to_dict()
    again = F.run_nightly(settings, factory=F.clients_factory())
    assert [p.status for p in again.plans] == ["waiting"] and "fix the cause" in again.plans[0].message
    assert again.ok and again.audit is not None


def test_example_function_app_indexes_every_function() -> None:
    spec = importlib.util.spec_from_file_location(
        "example_function_app", ROOT / "examples/function_app/function_app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    functions = {fn.get_function_name(): fn for fn in module.app.get_functions()}
    assert set(functions) == {
        F.NIGHTLY_FUNCTION_NAME,
        D.ORCHESTRATOR_NAME,
        D.DISCOVER_ACTIVITY,
        D.PLAN_ACTIVITY,
        D.APPLY_ACTIVITY,
        D.REPORT_ACTIVITY,
        D.STARTER_NAME,
    }
    bindings = {name: fn.get_bindings_dict()["bindings"] for name, fn in functions.items()}
    assert bindings[F.NIGHTLY_FUNCTION_NAME][0]["type"] == "timerTrigger"
    assert bindings[F.NIGHTLY_FUNCTION_NAME][0]["schedule"] == F.DEFAULT_SCHEDULE
    assert bindings[D.ORCHESTRATOR_NAME][0]["type"] == "orchestrationTrigger"
    assert {b["type"] for b in bindings[D.STARTER_NAME]} >= {"httpTrigger", "durableClient"}
    host = json.loads((ROOT / "examples/function_app/host.json").read_text())
    assert host["functionTimeout"] == "00:05:00" and F.DEFAULT_TIME_BUDGET < 300


# --------------------------------------------------------------------------------------------- the orchestrator
class Task:
    """What the orchestrator yields: an activity call, a fan-out, or a timer (with its result already known)."""

    def __init__(
        self, kind: str, *, name: str = "", payload: Any = None, result: Any = None, children: Any = ()
    ):
        self.kind, self.name, self.payload, self.result, self.children = (
            kind,
            name,
            payload,
            result,
            list(children),
        )

    def describe(self) -> Any:
        if self.kind == "all":
            return ["all", [c.describe() for c in self.children]]
        return [self.kind, self.name, self.payload]


class FakeContext:
    """The parts of ``DurableOrchestrationContext`` the orchestrator uses; activities answer at once."""

    def __init__(self, request: Any, activity: Callable[[str, Any], Any], now: dt.datetime) -> None:
        self._input = json.loads(json.dumps(request))
        self._activity = activity
        self.current_utc_datetime = now
        self.instance_id = "aks-windows-ops-rollout-test"
        self.continued: Any = None
        self.custom_status: Any = None

    def get_input(self) -> Any:
        return self._input

    def call_activity(self, name: str, input_: Any = None) -> Task:
        payload = json.loads(json.dumps(input_))
        return Task(
            "activity",
            name=name,
            payload=payload,
            result=json.loads(json.dumps(self._activity(name, payload))),
        )

    def task_all(self, tasks: list[Task]) -> Task:
        return Task("all", children=tasks, result=[t.result for t in tasks])

    def create_timer(self, fire_at: dt.datetime) -> Task:
        task = Task("timer", payload=fire_at.isoformat())
        self.current_utc_datetime = fire_at
        return task

    def continue_as_new(self, input_: Any) -> None:
        self.continued = json.loads(json.dumps(input_))

    def set_custom_status(self, status: Any) -> None:
        self.custom_status = json.loads(json.dumps(status))


START = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.timezone.utc)


def run_generations(
    orchestrator: Callable[[Any], Any],
    request: dict[str, Any],
    activity: Callable[[str, Any], Any],
    *,
    limit: int = 50,
) -> tuple[Any, list[list[Any]], list[FakeContext]]:
    """Run the orchestrator through ``continue_as_new`` generations; return the result, tasks and contexts."""
    generations: list[list[Any]] = []
    contexts: list[FakeContext] = []
    now = START
    for _ in range(limit):
        context = FakeContext(request, activity, now)
        contexts.append(context)
        *tasks, result = list(orchestrator_generator_wrapper(orchestrator(context)))
        generations.append(tasks)
        if context.continued is None:
            return result, generations, contexts
        assert result is None
        request, now = context.continued, context.current_utc_datetime
    pytest.fail("the rollout never finished")


def scripted(
    plan_status: dict[str, str], pauses: int, failing: str | None = None
) -> Callable[[str, Any], Any]:
    applied: dict[str, int] = {}

    def activity(name: str, payload: Any) -> Any:
        if name == D.PLAN_ACTIVITY:
            status = plan_status.get(payload["cluster"], "planned")
            return {
                "cluster": payload["cluster"],
                "status": status,
                "plan_id": f"patch-{payload['cluster']}",
                "steps": ["a"],
            }
        if name == D.APPLY_ACTIVITY:
            cid = payload["cluster"]
            applied[cid] = applied.get(cid, 0) + 1
            if cid == failing:
                return {"cluster": cid, "status": "failed", "message": "UpgradeFailed"}
            done = applied[cid] > pauses
            return {
                "cluster": cid,
                "status": "succeeded" if done else "paused",
                "message": "",
                "remaining": [],
            }
        if name == D.REPORT_ACTIVITY:
            return "memory:reports/rollouts/test.json"
        raise AssertionError(name)

    return activity


def orchestrator_function() -> Callable[[Any], Any]:
    handle = functions_of(D.create_durable_blueprint())[D.ORCHESTRATOR_NAME].get_user_function()
    return handle.orchestrator_function  # type: ignore[no-any-return]


def test_orchestrator_fans_out_per_subscription_with_caps_timers_and_continue_as_new() -> None:
    clusters = [f"sub-a/rg/c{i}" for i in range(3)] + ["sub-b/rg/d0", "sub-b/rg/d1"]
    request = {
        "name": "test",
        "options": {"node_image_only": True},
        "clusters": clusters,
        "max_active_per_subscription": 1,
        "poll_seconds": 600,
        "rounds_per_generation": 3,
    }
    result, generations, contexts = run_generations(
        orchestrator_function(), request, scripted({"sub-b/rg/d1": "nothing"}, pauses=2)
    )
    tasks = [t for generation in generations for t in generation]
    fan_outs = [t for t in tasks if t.kind == "all"]
    # Never more than one active cluster per subscription, in every fan-out of plans or applies.
    for fan_out in fan_outs:
        subs = [c.payload["cluster"].split("/")[0] for c in fan_out.children]
        assert len(subs) == len(set(subs)), fan_out.describe()
    first = generations[0]
    assert first[0].kind == "all" and [c.name for c in first[0].children] == [D.PLAN_ACTIVITY] * 2
    assert [c.payload["cluster"] for c in first[0].children] == ["sub-a/rg/c0", "sub-b/rg/d0"]
    assert first[1].kind == "all" and {c.name for c in first[1].children} == {D.APPLY_ACTIVITY}
    assert first[1].children[0].payload["time_budget"] == 240
    timers = [t for t in tasks if t.kind == "timer"]
    assert timers and dt.datetime.fromisoformat(timers[0].payload) == START + dt.timedelta(seconds=600)
    # History stays short: each generation ran at most rounds_per_generation rounds, then continued as new.
    assert len(generations) > 1
    for context in contexts[:-1]:
        assert context.continued["state"]["generation"] >= 1 and context.continued["name"] == "test"
    assert all(sum(1 for t in g if t.kind == "timer") <= 3 for g in generations)
    assert result["outcome"] == "completed" and result["report"].startswith("memory:reports")
    assert sorted(result["done"]) == sorted(clusters) and result["done"]["sub-b/rg/d1"]["status"] == "nothing"
    assert tasks[-1].name == D.REPORT_ACTIVITY and contexts[-1].custom_status["active"] == []


def test_orchestrator_stops_admitting_after_a_failure_and_is_deterministic() -> None:
    request = {
        "name": "canary",
        "options": {"kubernetes_version": "1.34.2"},
        "clusters": [f"sub-a/rg/c{i}" for i in range(4)],
        "max_active_per_subscription": 1,
        "rounds_per_generation": 100,
    }
    runs = [
        run_generations(orchestrator_function(), request, scripted({}, pauses=1, failing="sub-a/rg/c1"))
        for _ in range(2)
    ]
    (result, generations, _), (again, generations2, _) = runs
    assert [[t.describe() for t in g] for g in generations] == [
        [t.describe() for t in g] for g in generations2
    ]
    assert result == again
    assert result["outcome"] == "stopped"
    assert list(result["failed"]) == ["sub-a/rg/c1"] and list(result["done"]) == ["sub-a/rg/c0"]
    assert result["not_started"] == ["sub-a/rg/c2", "sub-a/rg/c3"]


def test_orchestrator_discovers_clusters_first() -> None:
    seen: list[str] = []

    def activity(name: str, payload: Any) -> Any:
        seen.append(name)
        if name == D.DISCOVER_ACTIVITY:
            assert payload == {"subscriptions": ["sub-a"], "resource_group": "rg"}
            return {"clusters": ["sub-a/rg/x"], "errors": {}}
        return scripted({}, pauses=0)(name, payload)

    request = {
        "name": "d",
        "options": {"node_image_only": True},
        "subscriptions": ["sub-a"],
        "resource_group": "rg",
    }
    result, _, _ = run_generations(orchestrator_function(), request, activity)
    assert seen[0] == D.DISCOVER_ACTIVITY and list(result["done"]) == ["sub-a/rg/x"]


@pytest.mark.parametrize(
    ("request_body", "problem"),
    [
        ({"clusters": ["a/b/c"], "options": {}}, 'exactly one of "kubernetes_version"'),
        ({"clusters": ["a/b"], "options": {"node_image_only": True}}, "not subscription/group/name"),
        (
            {"clusters": ["a/b/c"], "subscriptions": ["a"], "options": {"node_image_only": True}},
            'either "clusters"',
        ),
        (
            {"clusters": ["a/b/c"], "options": {"node_image_only": True}, "poll_seconds": 10**9},
            "poll_seconds",
        ),
        ({"clusters": ["a/b/c"], "procedure": "rotate-password"}, '"procedure" must be'),
        ({"clusters": ["a/b/c"], "options": {"node_image_only": True}, "name": "Bad Name"}, '"name" must be'),
    ],
)
def test_invalid_rollout_requests(request_body: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        D.normalize_request(request_body)


def fleet_scenario(*names: str) -> FakeAzure:
    subscriptions = [sub for name in names for sub in read_scenario(name)["subscriptions"]]
    return FakeAzure.from_scenario({"name": "fleet", "subscriptions": subscriptions})


def test_rollout_runs_real_activities_on_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fleet_scenario("healthy", "ws2019-retiring", "subnet-full")
    F.set_clients_factory(lambda sub: AzureClients.for_simulator(fake, sub))
    monkeypatch.setenv("AKS_WINDOWS_OPS_CHECKPOINTS", "memory:")
    functions = functions_of(D.create_durable_blueprint())
    activities = {
        name: functions[name].get_user_function()
        for name in (D.DISCOVER_ACTIVITY, D.PLAN_ACTIVITY, D.APPLY_ACTIVITY, D.REPORT_ACTIVITY)
    }
    request = {
        "name": "win-images",
        "options": {"node_image_only": True, "pools": "windows"},
        "subscriptions": sorted({sub for sub, _, _ in fake.clusters}),
        "apply_budget_seconds": 240,
        "rounds_per_generation": 4,
    }
    result, generations, _ = run_generations(
        functions[D.ORCHESTRATOR_NAME].get_user_function().orchestrator_function,
        request,
        lambda name, payload: activities[name](payload),
    )
    assert result["outcome"] == "completed", result
    assert result["done"][f"{SUB2}/{RG2}/{NAME2}"]["status"] == "succeeded"
    statuses = {cid.rsplit("/", 1)[1]: info["status"] for cid, info in result["done"].items()}
    assert statuses == {"aks-prod": "nothing", "aks-apps": "succeeded", "aks-retail": "succeeded"}
    assert len(generations) > 1  # the 30-minute Windows image upgrade took several 240 s slices
    pool = fake.pool_state(SUB2, RG2, NAME2, "win19")
    assert pool["nodeImageVersion"].endswith(".260715") and pool["provisioningState"] == "Succeeded"
    store = F.open_store(D.rollout_store_url())
    plan_id = result["done"][f"{SUB2}/{RG2}/{NAME2}"]["plan_id"]
    assert plan_id in store.plan_ids()  # type: ignore[attr-defined]
    report = F.read_report("memory:reports", result["report"].split("memory:reports/", 1)[1])
    assert report is not None and report["outcome"] == "completed"


class FakeDurableClient:
    def __init__(self, runtime_status: str | None) -> None:
        self.runtime_status = runtime_status
        self.started: list[tuple[str, str, Any]] = []

    async def get_status(self, instance_id: str) -> Any:
        class Status:
            runtime_status = self.runtime_status
            custom_status = {"round": 3}

        return Status()

    async def start_new(self, name: str, instance_id: str, client_input: Any) -> str:
        self.started.append((name, instance_id, client_input))
        return instance_id

    def create_check_status_response(self, request: Any, instance_id: str) -> func.HttpResponse:
        return func.HttpResponse(json.dumps({"id": instance_id}), status_code=202)


ROLLOUT_OPERATOR = {
    "X-MS-CLIENT-PRINCIPAL-NAME": "operator@contoso.example",
    "X-MS-CLIENT-PRINCIPAL": base64.b64encode(
        json.dumps({"auth_typ": "aad", "claims": [{"typ": "roles", "val": "AksWindowsOps.Rollout"}]}).encode()
    ).decode(),
}


def test_http_starter_keeps_one_instance_per_rollout() -> None:
    starter = functions_of(D.create_durable_blueprint())[D.STARTER_NAME].get_user_function().client_function

    def post(body: Any, client: FakeDurableClient) -> func.HttpResponse:
        request = func.HttpRequest(
            "POST",
            "http://localhost/api/aks-windows-ops/rollouts",
            body=json.dumps(body).encode(),
            headers=ROLLOUT_OPERATOR,
        )
        response: func.HttpResponse = asyncio.run(starter(request, client=client))
        return response

    body = {"name": "nightly", "clusters": ["s/rg/c"], "options": {"node_image_only": True}}
    idle = FakeDurableClient(None)
    assert post(body, idle).status_code == 202
    assert idle.started[0][:2] == (D.ORCHESTRATOR_NAME, "aks-windows-ops-rollout-nightly")
    assert idle.started[0][2]["max_active_per_subscription"] == 2
    busy = FakeDurableClient("Running")
    conflict = post(body, busy)
    assert conflict.status_code == 409 and busy.started == []
    assert json.loads(conflict.get_body())["instance_id"] == "aks-windows-ops-rollout-nightly"
    bad = post({"clusters": "nope"}, idle)
    assert bad.status_code == 400 and json.loads(bad.get_body())["problems"]


def test_the_timer_audits_every_subscription_of_its_scenario_as_the_cli_does() -> None:
    """One meaning of "the scenario's subscriptions": each holding a resource group or a cluster, first seen first."""
    from aks_windows_ops.testing.scenario import scenario_subscriptions

    F.reset_runtime()
    try:
        fake = F.simulator("healthy")
        empty = "00000000-0000-0000-0000-0000000000ff"
        fake.add_resource_group(empty, "rg-empty")  # a subscription with a resource group and no cluster
        assert scenario_subscriptions(fake) == ("00000000-0000-0000-0000-000000000001", empty)
        settings = F.FunctionSettings(checkpoints="memory:subs", simulate="healthy", reports="memory:subs-r")
        result = F.run_nightly(settings)
        assert result.audit is not None and result.audit["subscriptions"] == 2
        assert result.audit["clusters"] == 1
    finally:
        F.reset_runtime()
