"""Plans: the read-only result of planning a procedure, and its renderers (design principle "plan, then apply").

A procedure first reads facts and runs its preflight, then returns a :class:`Plan`: the ordered :class:`Step`
objects that must change something, the :class:`NoOp` objects that explain what needs no change, and the
findings and warnings met on the way. Nothing is sent to Azure until the plan is applied
(``aks_windows_ops.runbooks.runner.apply``), so a dry run is "stop after the plan".

A plan's :attr:`Plan.id` is a hash of the work it describes (procedure, target, and each step's id, kind,
resource and parameters) and of a random nonce, so every plan made has its own id and its own checkpoint
records (design principle "resumable by construction"); a document whose steps were edited no longer matches its id. A plan records its
target and its mode (Azure or a twin) and is refused elsewhere. Step parameters are JSON and never hold a
secret: a :class:`~aks_windows_ops.secrets.Secret` anywhere in them is refused (design principle "secrets never print"); actions
fetch secrets from their run context instead.

The renderers (:func:`render_text`, :func:`render_markdown`, :func:`render_html`, :func:`render_json`) are
also methods of :class:`Plan`; ``Plan._repr_html_`` makes a plan display as a table in Jupyter.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Union

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.htmltable import Html, html_table
from aks_windows_ops.models import ClusterRef, Finding, Severity
from aks_windows_ops.secrets import Secret

__all__ = [
    "PLAN_SCHEMA_VERSION",
    "JsonValue",
    "NoOp",
    "Plan",
    "Step",
    "check_json_safe",
    "format_duration",
    "render_html",
    "render_json",
    "render_markdown",
    "render_text",
]

#: Bumped when the plan document or the id's hash input changes shape; part of the hash, so an old checkpoint
#: never silently matches a plan whose steps mean something else.
PLAN_SCHEMA_VERSION = 1

# Union rather than "|": the alias is evaluated at runtime and refers to itself by name.
JsonValue = Union[str, int, float, bool, None, list["JsonValue"], dict[str, "JsonValue"]]  # noqa: UP007

_PROCEDURE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def check_json_safe(value: Any, where: str) -> JsonValue:
    """Return a deep copy of ``value`` as plain JSON, refusing secrets and anything JSON cannot hold.

    Plans and checkpoints are printed, stored and shown in notebooks, so they must never carry a secret
    (design principle "secrets never print") and must survive a JSON round trip unchanged (design principle "resumable by construction"). Tuples become
    lists; non-finite floats, non-string keys and other objects are refused.

    Args:
        value: the value to check.
        where: a name for error messages, e.g. ``"step 'x' params"``; never the value itself.

    Returns:
        An independent copy made of ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``.

    Raises:
        InvalidInput: a :class:`~aks_windows_ops.secrets.Secret` or a non-JSON value was found. The message
            names the path of the offending item, never its content.
    """
    problems: list[str] = []
    result = _copy_json(value, where, problems)
    if problems:
        raise InvalidInput(problems)
    return result


def _copy_json(value: Any, path: str, problems: list[str]) -> JsonValue:
    if isinstance(value, Secret):
        problems.append(f"{path} holds a Secret; secrets never go into plans or checkpoints")
        return None
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.append(f"{path} is not a finite number")
        return value
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append(f"{path} has a non-string key of type {type(key).__name__}")
                continue
            out[key] = _copy_json(item, f"{path}.{key}", problems)
        return out
    if isinstance(value, (list, tuple)):
        return [_copy_json(item, f"{path}[{i}]", problems) for i, item in enumerate(value)]
    problems.append(f"{path} has a value of type {type(value).__name__}, which is not JSON")
    return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_duration(seconds: float) -> str:
    """Format a duration for people: ``45 s``, ``14 min``, ``1 h 05 min``.

    Used by every plan renderer and progress display (design principle "plan, then apply": a plan says how long it takes).

    Args:
        seconds: the duration; negative values count as zero.
    """
    total = max(0, round(seconds))
    if total < 90:
        return f"{total} s"
    minutes = round(total / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"


@dataclass(frozen=True)
class Step:
    """One write the plan will make, with everything needed to do and explain it (design principle "plan, then apply").

    Attributes:
        id: stable and unique within the plan, e.g. ``upgrade-pool:npwin``; checkpoints are keyed by it.
        kind: selects the action that performs the step, e.g. ``update_control_plane``.
        title: one line for people, e.g. ``Upgrade the control plane to 1.31.2``.
        resource: what the step changes, e.g. ``rg/cluster/npwin``.
        reason: why the step is needed (the FAQ rule or the finding behind it).
        expected_seconds: typical duration, for progress display and budgeting (Service facts: ARM behaviour).
        restarts_nodes: the step reimages or restarts nodes (password, AHUB, upgrades).
        params: JSON parameters for the action. Never a secret: a ``Secret`` anywhere in them is refused.
    """

    id: str
    kind: str
    title: str
    resource: str
    reason: str
    expected_seconds: float = 0.0
    restarts_nodes: bool = False
    params: Mapping[str, JsonValue] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        problems = []
        if not self.id or self.id != self.id.strip():
            problems.append(f"step id {self.id!r} must be non-empty without surrounding spaces")
        if not self.kind:
            problems.append(f"step {self.id!r} needs a kind")
        if not math.isfinite(self.expected_seconds) or self.expected_seconds < 0:
            problems.append(
                f"step {self.id!r}: its expected duration must be a finite number of seconds, 0 or more"
            )
        if not isinstance(self.params, Mapping):
            problems.append(f"step {self.id!r} params must be a mapping")
        if problems:
            raise InvalidInput(problems)
        # A private copy: the caller mutating its dict later must not change a plan that may be applying.
        params = check_json_safe(self.params, f"step {self.id!r} params")
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "expected_seconds", float(self.expected_seconds))

    def to_dict(self) -> dict[str, Any]:
        """Return the step as a JSON-ready dict (the shape :meth:`from_dict` reads)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "resource": self.resource,
            "reason": self.reason,
            "expected_seconds": self.expected_seconds,
            "restarts_nodes": self.restarts_nodes,
            "params": check_json_safe(self.params, f"step {self.id!r} params"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        """Build a step from :meth:`to_dict` output.

        Raises:
            InvalidInput: a required key is missing or a value is invalid.
        """
        try:
            return cls(
                id=str(data["id"]),
                kind=str(data["kind"]),
                title=str(data.get("title", "")),
                resource=str(data.get("resource", "")),
                reason=str(data.get("reason", "")),
                expected_seconds=float(data.get("expected_seconds", 0.0)),
                restarts_nodes=bool(data.get("restarts_nodes", False)),
                params=data.get("params") or {},
            )
        except KeyError as err:
            raise InvalidInput(f"step document lacks {err.args[0]!r}") from None


@dataclass(frozen=True)
class NoOp:
    """Something the procedure looked at and left alone, with the reason (pyinfra style, design principle "plan, then apply").

    Attributes:
        resource: what was examined, e.g. ``rg/cluster/npwin``.
        reason: why nothing needs to change, e.g. ``already on 1.31.2``.
    """

    resource: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-ready dict."""
        return {"resource": self.resource, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NoOp:
        """Build a no-op from :meth:`to_dict` output."""
        return cls(resource=str(data.get("resource", "")), reason=str(data.get("reason", "")))


def _finding_from_dict(data: Mapping[str, Any]) -> Finding:
    runbook = data.get("runbook")
    return Finding(
        code=str(data["code"]),
        severity=Severity(data["severity"]),
        message=str(data.get("message", "")),
        remediation=str(data.get("remediation", "")),
        faq=str(data.get("faq", "")),
        resource=str(data.get("resource", "")),
        runbook=None if runbook is None else str(runbook),
    )


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class Plan:
    """The ordered steps of one procedure on one target, ready to show or apply (design principle "plan, then apply").

    Attributes:
        procedure: the procedure that made the plan, e.g. ``patch``.
        target: what it acts on, e.g. ``sub/rg/cluster``.
        steps: the writes, in the order they run.
        noops: what needs no change, and why.
        findings: preflight findings met while planning (errors stop planning before a plan exists).
        warnings: notes for the operator, e.g. ``the Windows nodes will be reimaged``.
        created_at: when the plan was made (UTC); not part of the id.
        mode: where the plan runs: ``azure``, ``twin`` or ``twin:<name>`` (a rehearsal on a simulated twin),
            or empty until the first apply records it. A plan is refused elsewhere (see
            :meth:`refusal`).
        nonce: random text that makes each plan made unique; part of the id.
        id: ``<procedure>-<hash>``, derived from the procedure, the target, the steps' ids, kinds, resources
            and parameters, and the nonce. Every plan made gets its own id (so its own checkpoint records and
            its own write markers); wording and durations do not change it.
    """

    procedure: str
    target: str
    steps: tuple[Step, ...] = ()
    noops: tuple[NoOp, ...] = ()
    findings: tuple[Finding, ...] = ()
    warnings: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=_utcnow, compare=False)
    mode: str = field(default="", compare=False)
    nonce: str = field(default_factory=lambda: secrets.token_hex(6))
    id: str = field(init=False)

    def __post_init__(self) -> None:
        problems = []
        if not _PROCEDURE_RE.match(self.procedure):
            problems.append(
                f"procedure name {self.procedure!r} must be 1-63 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        if not self.target:
            problems.append("a plan needs a target")
        seen: set[str] = set()
        for step in self.steps:
            if not isinstance(step, Step):
                problems.append(f"plan steps must be Step objects, got {type(step).__name__}")
            elif step.id in seen:
                problems.append(f"step id {step.id!r} appears twice; step ids must be unique in a plan")
            else:
                seen.add(step.id)
        if problems:
            raise InvalidInput(problems)
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "noops", tuple(self.noops))
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        if self.created_at.tzinfo is None:
            object.__setattr__(self, "created_at", self.created_at.replace(tzinfo=timezone.utc))
        object.__setattr__(self, "id", self._compute_id())

    def _compute_id(self) -> str:
        work: dict[str, Any] = {
            "schema": PLAN_SCHEMA_VERSION,
            "procedure": self.procedure,
            "target": self.target,
            "steps": [
                {"id": s.id, "kind": s.kind, "resource": s.resource, "params": s.params} for s in self.steps
            ],
        }
        if self.nonce:
            work["nonce"] = self.nonce
        digest = hashlib.sha256(_canonical(work).encode("utf-8")).hexdigest()
        return f"{self.procedure}-{digest[:20]}"

    @property
    def target_parts(self) -> tuple[str, str, str] | None:
        """``(subscription, resource group, cluster)`` when the target has that shape, else ``None``."""
        ref = ClusterRef.parse(self.target)
        return None if ref is None else (ref.subscription_id, ref.resource_group, ref.name)

    @property
    def is_rehearsal(self) -> bool:
        """Whether the plan was made for (or first applied on) a simulated twin."""
        return self.mode.startswith("twin")

    def with_mode(self, mode: str) -> Plan:
        """Return the same plan (same id) recording where it runs (``azure``, ``twin``, ``twin:<name>``)."""
        return replace(self, mode=mode)

    def refusal(self, *, target: str | None = None, mode: str | None = None) -> str | None:
        """Why this plan must not run on ``target`` in ``mode``, or ``None`` when it may.

        design principle "resumable by construction": a plan carries its target and its mode; it never acts on another cluster, a
        rehearsal plan is never sent to Azure, and a real plan never runs on a twin.
        """
        if target is not None and target.lower() != self.target.lower():
            return f"plan {self.id} was made for {self.target}, not {target}; plan again for {target}"
        if mode is None or not self.mode or mode == self.mode:
            return None
        if self.is_rehearsal and mode == "azure":
            return (
                f"plan {self.id} is a rehearsal made on the twin {self.mode.partition(':')[2] or '(unnamed)'}; "
                "it is never sent to Azure: plan again without --simulate to change the real cluster"
            )
        if not self.is_rehearsal and mode.startswith("twin"):
            return f"plan {self.id} was made for Azure; it does not run on a twin: plan again with --simulate"
        return f"plan {self.id} was made on {self.mode}, not {mode}; plan again there"

    @property
    def expected_seconds(self) -> float:
        """Total typical duration of all steps, in seconds."""
        return sum(s.expected_seconds for s in self.steps)

    @property
    def restarts_nodes(self) -> bool:
        """Whether any step reimages or restarts nodes."""
        return any(s.restarts_nodes for s in self.steps)

    @property
    def is_empty(self) -> bool:
        """Whether the plan has nothing to do."""
        return not self.steps

    def step(self, step_id: str) -> Step:
        """Return the step with this id.

        Raises:
            KeyError: no such step.
        """
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as a JSON-ready dict, the document that checkpoints store (design principle "resumable by construction")."""
        return {
            "schema": PLAN_SCHEMA_VERSION,
            "id": self.id,
            "procedure": self.procedure,
            "target": self.target,
            "mode": self.mode,
            "nonce": self.nonce,
            "created_at": self.created_at.isoformat(),
            "expected_seconds": self.expected_seconds,
            "restarts_nodes": self.restarts_nodes,
            "steps": [s.to_dict() for s in self.steps],
            "noops": [n.to_dict() for n in self.noops],
            "findings": [f.to_dict() for f in self.findings],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Rebuild a plan from :meth:`to_dict` output, checking that its id still matches its content.

        Raises:
            InvalidInput: the document is malformed, comes from another schema version, or its id does not
                match its steps (it was edited, or hashed by an incompatible version).
        """
        if not isinstance(data, Mapping):
            raise InvalidInput(f"a plan document must be a JSON object, got {type(data).__name__}")
        schema = data.get("schema", PLAN_SCHEMA_VERSION)
        if schema != PLAN_SCHEMA_VERSION:
            raise InvalidInput(
                f"plan document has schema {schema!r}; this version reads {PLAN_SCHEMA_VERSION}"
            )
        try:
            created = data.get("created_at")
            plan = cls(
                procedure=str(data["procedure"]),
                target=str(data["target"]),
                steps=tuple(Step.from_dict(s) for s in data.get("steps", ())),
                noops=tuple(NoOp.from_dict(n) for n in data.get("noops", ())),
                findings=tuple(_finding_from_dict(f) for f in data.get("findings", ())),
                warnings=tuple(str(w) for w in data.get("warnings", ())),
                created_at=datetime.fromisoformat(created) if created else _utcnow(),
                mode=str(data.get("mode") or ""),
                nonce=str(data.get("nonce") or ""),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            if isinstance(err, InvalidInput):
                raise
            raise InvalidInput(f"malformed plan document: {type(err).__name__}: {err}") from None
        stored_id = data.get("id")
        if stored_id is not None and stored_id != plan.id:
            raise InvalidInput(
                f"plan document id {stored_id!r} does not match its content ({plan.id!r}); "
                "it was edited or written by an incompatible version"
            )
        return plan

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return :meth:`to_dict` as JSON text (see :func:`render_json`)."""
        return render_json(self, indent=indent)

    def to_text(self) -> str:
        """Return the plan as plain text (see :func:`render_text`)."""
        return render_text(self)

    def to_markdown(self) -> str:
        """Return the plan as Markdown (see :func:`render_markdown`)."""
        return render_markdown(self)

    def _repr_html_(self) -> str:
        return render_html(self)


def _summary(plan: Plan) -> str:
    count = len(plan.steps)
    parts = [f"{count} step{'s' if count != 1 else ''}"]
    if count:
        parts.append(f"about {format_duration(plan.expected_seconds)}")
        parts.append("restarts nodes" if plan.restarts_nodes else "no node restarts")
    return ", ".join(parts)


def _sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -f.severity.rank)


def render_text(plan: Plan) -> str:
    """Render a plan as plain text for terminals and logs (design principle "plan, then apply").

    Args:
        plan: the plan to show.
    """
    lines = [
        f"Plan {plan.id}: {plan.procedure} on {plan.target}",
        f"  created {plan.created_at.isoformat()}; {_summary(plan)}",
    ]
    if plan.steps:
        lines.append("Steps:")
        for number, s in enumerate(plan.steps, 1):
            flag = "  [restarts nodes]" if s.restarts_nodes else ""
            lines.append(
                f"  {number}. {s.title}  ({s.resource}, ~{format_duration(s.expected_seconds)}){flag}"
            )
            lines.append(f"     id: {s.id}  kind: {s.kind}")
            if s.reason:
                lines.append(f"     why: {s.reason}")
            if s.params:
                lines.append(f"     params: {_canonical(s.params)}")
    else:
        lines.append("Nothing to do.")
    if plan.noops:
        lines.append("No change needed:")
        lines.extend(f"  - {n.resource}: {n.reason}" for n in plan.noops)
    if plan.findings:
        lines.append("Findings:")
        for f in _sorted_findings(plan.findings):
            where = f" ({f.resource})" if f.resource else ""
            lines.append(f"  [{f.severity.value}] {f.code}{where}: {f.message}")
            if f.remediation:
                lines.append(f"      fix: {f.remediation}")
    if plan.warnings:
        lines.append("Warnings:")
        lines.extend(f"  ! {w}" for w in plan.warnings)
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    # Table cells: a pipe would end the cell and a newline the row.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def render_markdown(plan: Plan) -> str:
    """Render a plan as Markdown, for change tickets and notebook cells (design principle "plan, then apply").

    Args:
        plan: the plan to show.
    """
    out = [
        f"### Plan `{plan.id}`: {_md(plan.procedure)} on `{_md(plan.target)}`",
        "",
        f"Created {plan.created_at.isoformat()}; {_summary(plan)}.",
        "",
    ]
    if plan.steps:
        out += [
            "| # | Step | Resource | Expected | Restarts nodes | Why |",
            "|---|------|----------|----------|----------------|-----|",
        ]
        for number, s in enumerate(plan.steps, 1):
            out.append(
                f"| {number} | {_md(s.title)} (`{_md(s.id)}`) | {_md(s.resource)} | "
                f"{format_duration(s.expected_seconds)} | {'yes' if s.restarts_nodes else 'no'} | "
                f"{_md(s.reason)} |"
            )
        out.append("")
    else:
        out += ["Nothing to do.", ""]
    if plan.noops:
        out.append("**No change needed**")
        out.append("")
        out.extend(f"- {_md(n.resource)}: {_md(n.reason)}" for n in plan.noops)
        out.append("")
    if plan.findings:
        out += ["**Findings**", "", "| Severity | Code | Resource | Message | Fix |", "|---|---|---|---|---|"]
        for f in _sorted_findings(plan.findings):
            out.append(
                f"| {f.severity.value} | `{_md(f.code)}` | {_md(f.resource)} | {_md(f.message)} | "
                f"{_md(f.remediation)} |"
            )
        out.append("")
    if plan.warnings:
        out.append("**Warnings**")
        out.append("")
        out.extend(f"- {_md(w)}" for w in plan.warnings)
        out.append("")
    return "\n".join(out)


def render_html(plan: Plan) -> str:
    """Render a plan as an HTML table for Jupyter (every value escaped) (design principle "plan, then apply").

    Args:
        plan: the plan to show.
    """
    e = html.escape
    parts = [
        '<div class="aks-windows-ops-plan">',
        f"<p><b>Plan <code>{e(plan.id)}</code></b>: {e(plan.procedure)} on <code>{e(plan.target)}</code>"
        f"<br/>created {e(plan.created_at.isoformat())}; {e(_summary(plan))}</p>",
    ]
    if plan.steps:
        steps = (
            (
                number,
                Html(f"{e(s.title)}<br/><small><code>{e(s.id)}</code></small>"),
                s.resource,
                format_duration(s.expected_seconds),
                "yes" if s.restarts_nodes else "no",
                s.reason,
            )
            for number, s in enumerate(plan.steps, 1)
        )
        parts.append(html_table(("#", "Step", "Resource", "Expected", "Restarts nodes", "Why"), steps))
    else:
        parts.append("<p>Nothing to do.</p>")
    if plan.noops:
        parts.append("<p><b>No change needed</b></p><ul>")
        parts.extend(f"<li>{e(n.resource)}: {e(n.reason)}</li>" for n in plan.noops)
        parts.append("</ul>")
    if plan.findings:
        findings = (
            (f.severity.value, Html(f"<code>{e(f.code)}</code>"), f.resource, f.message, f.remediation)
            for f in _sorted_findings(plan.findings)
        )
        parts.append("<p><b>Findings</b></p>")
        parts.append(html_table(("Severity", "Code", "Resource", "Message", "Fix"), findings))
    if plan.warnings:
        parts.append("<p><b>Warnings</b></p><ul>")
        parts.extend(f"<li>{e(w)}</li>" for w in plan.warnings)
        parts.append("</ul>")
    parts.append("</div>")
    return "\n".join(parts)


def render_json(plan: Plan, *, indent: int | None = 2) -> str:
    """Render a plan as JSON (the :meth:`Plan.to_dict` document) for tools and storage (design principle "plan, then apply").

    Args:
        plan: the plan to show.
        indent: JSON indentation; ``None`` for one line.
    """
    return json.dumps(plan.to_dict(), indent=indent, sort_keys=True, ensure_ascii=False, allow_nan=False)
