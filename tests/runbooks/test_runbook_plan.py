from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import Finding, Severity
from aks_windows_ops.runbooks.plan import (
    NoOp,
    Plan,
    Step,
    format_duration,
    render_html,
    render_json,
    render_markdown,
    render_text,
)
from aks_windows_ops.secrets import Secret

SECRET_TEXT = "Sup3r-Secret-Pa55word!"


def _steps() -> tuple[Step, ...]:
    return (
        Step(
            id="upgrade-control-plane",
            kind="update_control_plane",
            title="Upgrade the control plane to 1.31.2",
            resource="rg/cluster",
            reason="a new Windows image is used only after the control plane was upgraded",
            expected_seconds=900,
            params={"version": "1.31.2"},
        ),
        Step(
            id="upgrade-pool:npwin",
            kind="upgrade_pool",
            title="Upgrade pool npwin to 1.31.2",
            resource="rg/cluster/npwin",
            reason="pool is on 1.30.5",
            expected_seconds=1500,
            restarts_nodes=True,
            params={"version": "1.31.2", "max_surge": "33%", "nodes": ["a", "b"], "extra": {"n": 1}},
        ),
    )


def _plan(**overrides: object) -> Plan:
    fields: dict[str, object] = {
        "procedure": "patch",
        "target": "sub/rg/cluster",
        "steps": _steps(),
        "noops": (NoOp("rg/cluster/npwin2", "already on 1.31.2"),),
        "findings": (
            Finding(
                code="WS2019_END_OF_LIFE",
                severity=Severity.WARNING,
                message="pool npold runs Windows Server 2019",
                remediation="migrate to Windows2022",
                resource="rg/cluster/npold",
                runbook="migrate",
            ),
        ),
        "warnings": ("Windows nodes are reimaged one at a time",),
        "created_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "nonce": "0123456789ab",
    }
    fields.update(overrides)
    return Plan(**fields)  # type: ignore[arg-type]


def test_plan_id_hashes_the_work_and_its_nonce_not_wording_time_or_mode() -> None:
    first = _plan()
    again = _plan(created_at=datetime(2030, 1, 1, tzinfo=timezone.utc), warnings=(), noops=(), findings=())
    reworded = _plan(steps=tuple(Step(**{**s.__dict__, "title": "other", "reason": "x"}) for s in _steps()))
    assert re.fullmatch(r"patch-[0-9a-f]{20}", first.id)
    assert first.id == again.id == reworded.id == first.with_mode("twin:x").id


def test_every_plan_made_has_its_own_id_and_keeps_it_through_a_document_round_trip() -> None:
    made = [_plan(nonce=n) for n in ("a", "b")]
    assert made[0].id != made[1].id
    fresh = [Plan(procedure="patch", target="sub/rg/cluster", steps=_steps()) for _ in range(3)]
    assert len({p.id for p in fresh}) == 3
    for plan in fresh:
        back = Plan.from_dict(plan.to_dict())
        assert back.id == plan.id and back.nonce == plan.nonce


@pytest.mark.parametrize(
    "change",
    [
        {"target": "sub/rg/other"},
        {"procedure": "ahub"},
        {"nonce": "another"},
        {"steps": _steps()[:1]},
        {"steps": tuple(reversed(_steps()))},
        {"steps": (_steps()[0], Step(**{**_steps()[1].__dict__, "params": {"version": "1.31.3"}}))},
        {"steps": (_steps()[0], Step(**{**_steps()[1].__dict__, "resource": "rg/cluster/npwin3"}))},
    ],
)
def test_plan_id_changes_with_the_work(change: dict[str, object]) -> None:
    assert _plan(**change).id != _plan().id


def test_totals() -> None:
    plan = _plan()
    assert plan.expected_seconds == 2400
    assert plan.restarts_nodes is True
    assert _plan(steps=_steps()[:1]).restarts_nodes is False
    assert plan.step("upgrade-pool:npwin").kind == "upgrade_pool"
    with pytest.raises(KeyError):
        plan.step("nope")


@pytest.mark.parametrize(
    "params",
    [
        {"password": Secret(SECRET_TEXT)},
        {"nested": {"deeper": [1, Secret(SECRET_TEXT)]}},
        {"list": (Secret(SECRET_TEXT),)},
    ],
)
def test_secret_in_params_is_refused(params: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        Step(id="s", kind="k", title="t", resource="r", reason="", params=params)  # type: ignore[arg-type]
    assert "Secret" in str(caught.value)
    assert SECRET_TEXT not in str(caught.value)
    assert SECRET_TEXT not in repr(caught.value.problems)


@pytest.mark.parametrize(
    "params",
    [{"obj": object()}, {"nan": float("nan")}, {"d": {1: "x"}}, {"when": datetime(2025, 1, 1)}],
)
def test_non_json_params_are_refused(params: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        Step(id="s", kind="k", title="t", resource="r", reason="", params=params)  # type: ignore[arg-type]


def test_params_are_copied_and_tuples_become_lists() -> None:
    params: dict[str, object] = {"nodes": ("a", "b"), "opts": {"x": 1}}
    step = Step(id="s", kind="k", title="t", resource="r", reason="", params=params)  # type: ignore[arg-type]
    params["opts"]["x"] = 2  # type: ignore[index]
    params["new"] = True
    assert step.params == {"nodes": ["a", "b"], "opts": {"x": 1}}
    assert hash(step) == hash(Step(id="s", kind="k", title="t", resource="r", reason=""))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"procedure": "bad name!"}, "procedure name"),
        ({"target": ""}, "target"),
        ({"steps": (_steps()[0], _steps()[0])}, "appears twice"),
    ],
)
def test_invalid_plans_are_refused(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        _plan(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"id": ""}, {"id": " x"}, {"kind": ""}, {"expected_seconds": -1}, {"expected_seconds": float("inf")}],
)
def test_invalid_steps_are_refused(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"id": "s", "kind": "k", "title": "t", "resource": "r", "reason": ""}
    with pytest.raises(InvalidInput):
        Step(**{**base, **kwargs})  # type: ignore[arg-type]


def test_text_rendering() -> None:
    text = render_text(_plan())
    assert text == _plan().to_text()
    assert text.startswith(f"Plan {_plan().id}: patch on sub/rg/cluster\n")
    assert "2 steps, about 40 min, restarts nodes" in text
    assert "  1. Upgrade the control plane to 1.31.2  (rg/cluster, ~15 min)\n" in text
    assert "  2. Upgrade pool npwin to 1.31.2  (rg/cluster/npwin, ~25 min)  [restarts nodes]" in text
    assert 'params: {"extra":{"n":1},"max_surge":"33%","nodes":["a","b"],"version":"1.31.2"}' in text
    assert "  - rg/cluster/npwin2: already on 1.31.2" in text
    assert "[warning] WS2019_END_OF_LIFE (rg/cluster/npold): pool npold runs Windows Server 2019" in text
    assert "  ! Windows nodes are reimaged one at a time" in text


def test_empty_plan_renders_nothing_to_do() -> None:
    plan = _plan(steps=())
    assert plan.is_empty and plan.expected_seconds == 0 and not plan.restarts_nodes
    assert "Nothing to do." in plan.to_text()
    assert "Nothing to do." in plan.to_markdown()
    assert "<p>Nothing to do.</p>" in plan._repr_html_()


def test_markdown_rendering_escapes_table_cells() -> None:
    steps = (
        Step(id="s|1", kind="k", title="a | b", resource="r", reason="line\nbreak", expected_seconds=60),
    )
    md = render_markdown(_plan(steps=steps))
    rows = [line for line in md.splitlines() if line.startswith("| 1 |")]
    assert rows == ["| 1 | a \\| b (`s\\|1`) | r | 60 s | no | line break |"]
    full = _plan().to_markdown()
    assert (
        "| 2 | Upgrade pool npwin to 1.31.2 (`upgrade-pool:npwin`) | rg/cluster/npwin | 25 min | yes |"
        in full
    )
    assert "| warning | `WS2019_END_OF_LIFE` | rg/cluster/npold |" in full


def test_html_rendering_escapes_everything() -> None:
    hostile = "<script>alert('x')</script>"
    steps = (
        Step(id="s&1", kind="k", title=hostile, resource="<b>r</b>", reason='"quoted"', expected_seconds=5),
    )
    plan = _plan(steps=steps, warnings=(hostile,), noops=(NoOp(hostile, hostile),))
    page = plan._repr_html_()
    assert page == render_html(plan)
    assert "<script>" not in page and "<b>r</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "s&amp;1" in page and "&quot;quoted&quot;" in page
    assert page.count("<tr>") == 1 + 1 + 1 + 1  # step header + step row + findings header + finding row


def test_json_round_trip() -> None:
    plan = _plan()
    text = render_json(plan)
    assert text == plan.to_json()
    data = json.loads(text)
    assert data["id"] == plan.id and data["expected_seconds"] == 2400 and data["restarts_nodes"] is True
    back = Plan.from_dict(data)
    assert back == plan
    assert back.id == plan.id and back.created_at == plan.created_at
    assert back.findings == plan.findings and back.noops == plan.noops and back.warnings == plan.warnings
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))).to_dict() == plan.to_dict()


def test_from_dict_refuses_tampered_or_foreign_documents() -> None:
    data = _plan().to_dict()
    data["steps"][1]["params"]["version"] = "1.99.0"
    with pytest.raises(InvalidInput, match="does not match its content"):
        Plan.from_dict(data)
    with pytest.raises(InvalidInput, match="schema"):
        Plan.from_dict({**_plan().to_dict(), "schema": 99})
    with pytest.raises(InvalidInput, match="malformed"):
        Plan.from_dict({"target": "x"})


def test_naive_created_at_is_taken_as_utc() -> None:
    assert _plan(created_at=datetime(2025, 1, 1)).created_at.tzinfo is timezone.utc


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (45.4, "45 s"),
        (89, "89 s"),
        (90, "2 min"),
        (840, "14 min"),
        (3600, "1 h 00 min"),
        (3900, "1 h 05 min"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
