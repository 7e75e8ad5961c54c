"""Tables and text for people (``-o table``): plans, run results and cluster snapshots.

Plans show the parameters a person reads (pod counts and names, settings), never whole objects; ``-o json``
carries the full detail. Tables fit 80 columns: the columns that matter stay whole, long ones fold, and the
least useful drop when the terminal is narrow.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "plan_text",
    "readable_params",
    "result_text",
    "snapshot_dict",
    "snapshot_table",
]

_MAX_NAMES = 5


def _label(key: str) -> str:
    """``timeout_per_node`` -> ``timeout per node``; ``maxPods`` -> ``max pods``; ``osSKU`` -> ``os SKU``."""
    import re

    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key.replace("_", " ").replace("-", " ")).split()
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)


def _name_of(item: Mapping[str, Any]) -> str | None:
    meta = item.get("metadata")
    if isinstance(meta, Mapping) and meta.get("name"):
        ns = meta.get("namespace")
        return f"{ns}/{meta['name']}" if ns else str(meta["name"])
    for key in ("name", "id"):
        if isinstance(item.get(key), str):
            return str(item[key])
    return None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _value(key: str, value: Any) -> str:
    timed = any(word in key.lower() for word in ("timeout", "seconds"))
    if timed and isinstance(value, int | float) and not isinstance(value, bool):
        return _duration(float(value))
    if isinstance(value, Mapping):
        if not value:
            return "none"
        if all(isinstance(v, Mapping) for v in value.values()):
            names = [str(k) for k in value]
            more = f" and {len(names) - _MAX_NAMES} more" if len(names) > _MAX_NAMES else ""
            return f"{len(names)}: {', '.join(names[:_MAX_NAMES])}{more}"
        parts = [f"{_label(k)} {_scalar(v)}" for k, v in value.items() if not isinstance(v, Mapping | list)]
        lists = [f"{_label(k)} {', '.join(map(_scalar, v))}" for k, v in value.items() if isinstance(v, list)]
        nested = sum(1 for v in value.values() if isinstance(v, Mapping))
        text = "; ".join(parts + lists)
        if nested:
            text += f"{'; ' if text else ''}{nested} more setting group(s) in -o json"
        return text
    if isinstance(value, list):
        if not value:
            return "none"
        if all(isinstance(v, Mapping) for v in value):
            names = [n for n in (_name_of(v) for v in value) if n]
            shown = ", ".join(names[:_MAX_NAMES])
            more = f" and {len(names) - _MAX_NAMES} more" if len(names) > _MAX_NAMES else ""
            return f"{len(value)}" + (f": {shown}{more}" if shown else "")
        items = [_scalar(v) for v in value]
        more = f" and {len(items) - 2 * _MAX_NAMES} more" if len(items) > 2 * _MAX_NAMES else ""
        return ", ".join(items[: 2 * _MAX_NAMES]) + more
    return _scalar(value)


def readable_params(params: Mapping[str, Any]) -> list[str]:
    """Describe a step's parameters in words: ``pods: 3: shop/web-1, ...``, not the pod objects."""
    return [f"{_label(key)}: {_value(key, value)}" for key, value in params.items()]


def _duration(seconds: float) -> str:
    from aks_windows_ops.runbooks.plan import format_duration

    return format_duration(seconds)


def plan_text(plan: Any) -> str:
    """Render a plan for people: what changes, where, how long, and why (the FAQ's order)."""
    count = len(plan.steps)
    summary = f"{count} step{'' if count == 1 else 's'}"
    if count:
        summary += f", about {_duration(plan.expected_seconds)}"
        summary += ", restarts nodes" if plan.restarts_nodes else ", no node restarts"
    lines = [f"Plan {plan.id}: {plan.procedure} on {plan.target} ({summary})"]
    for number, step in enumerate(plan.steps, 1):
        flag = "  [restarts nodes]" if step.restarts_nodes else ""
        lines.append(f"  {number}. {step.title}  (~{_duration(step.expected_seconds)}){flag}")
        lines.append(f"     on: {step.resource}")
        if step.reason:
            lines.append(f"     why: {step.reason}")
        lines.extend(f"     {line}" for line in readable_params(step.params))
    if not plan.steps:
        lines.append("Nothing to do.")
    if plan.noops:
        lines.append("No change needed:")
        lines.extend(f"  - {n.resource}: {n.reason}" for n in plan.noops)
    if plan.findings:
        lines.append("Findings:")
        for f in sorted(plan.findings, key=lambda f: -f.severity.rank):
            where = f" ({f.resource})" if f.resource else ""
            lines.append(f"  [{f.severity.value}] {f.code}{where}: {f.message}")
            if f.remediation:
                lines.append(f"      what to do: {f.remediation}")
    return "\n".join(lines) + "\n"


def plan_warnings(plan: Any) -> list[str]:
    """The plan's warnings that the plan text does not already say (each fact printed once)."""
    said = [n.reason for n in plan.noops] + [f.message for f in plan.findings]
    return [w for w in plan.warnings if not any(s and s in w for s in said)]


def result_text(result: Any) -> str:
    """One line per outcome of a run: status and message, then the steps left when it did not finish."""
    lines = [f"{result.status.value}: {result.message}"]
    remaining = [r for r in result.remaining if r not in result.done]
    if result.status.value != "succeeded" and remaining:
        lines.append(f"steps left: {', '.join(remaining)}")
    return "\n".join(lines) + "\n"


def snapshot_dict(snapshot: Any) -> dict[str, Any]:
    """A JSON-ready view of a cluster snapshot (every field)."""
    data = dataclasses.asdict(snapshot)
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


#: Columns of the pool table, in order of importance: narrow terminals drop from the end of this list.
_POOL_COLUMNS: Sequence[tuple[str, int]] = (
    ("pool", 0),
    ("OS", 0),
    ("version", 0),
    ("nodes", 0),
    ("state", 0),
    ("license", 1),
    ("node image", 1),
    ("mode", 2),
    ("max pods", 2),
    ("latest image", 3),
)


def snapshot_table(snapshot: Any, width: int | None = None) -> Any:
    """Render a cluster snapshot as a table of its pools that fits ``width`` columns.

    At 80 columns the node image folds and the mode, max pods and latest image columns drop (``-o json``
    has them); at 120 or more every column shows.
    """
    from rich.table import Table

    level = 3 if width is None or width >= 140 else 2 if width >= 110 else 1
    columns = [name for name, priority in _POOL_COLUMNS if priority <= level]
    table = Table(
        title=f"{snapshot.ref}: Kubernetes {snapshot.current_kubernetes_version} ({snapshot.location})",
        title_justify="left",
    )
    for column in columns:
        folds = column in ("node image", "latest image", "OS")
        table.add_column(column, overflow="fold", no_wrap=not folds, min_width=None)
    for pool in snapshot.pools:
        vmss = snapshot.scale_set_for(pool.name)
        license_text = "-"
        if pool.is_windows:
            license_text = (vmss.license_type if vmss else None) or "None"
        image = pool.node_image_version or "-"
        latest = pool.latest_node_image_version or "-"
        values = {
            "pool": pool.name,
            "mode": pool.mode.value,
            "OS": pool.os_sku or pool.os_type.value,
            "version": pool.current_orchestrator_version or "-",
            "nodes": str(pool.count),
            "max pods": str(pool.max_pods or "-"),
            "node image": image
            + ("" if latest in ("-", image) or "latest image" in columns else " (newer exists)"),
            "latest image": "current" if latest == image else latest,
            "license": license_text,
            "state": pool.provisioning_state or "-",
        }
        table.add_row(*(values[c] for c in columns))
    return table
