"""Selector, affinity and toleration matching for the fake Kubernetes API server.

These follow the Kubernetes API conventions (label selectors, field selectors, node selector terms, taints
and tolerations) and are kept apart from ``aks_windows_ops.kube.workloads`` on purpose: the fake checks the
library's placement logic, so it must not share it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aks_windows_ops.rules.selectors import expression_matches, selector_matches

__all__ = [
    "SelectorError",
    "field_selector",
    "label_selector",
    "merge_patch",
    "node_selector_term_matches",
    "selector_dict_matches",
    "tolerates",
    "untolerated_taints",
]

Obj = dict[str, Any]

_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9._/-]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[A-Za-z0-9._-]*)|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


class SelectorError(ValueError):
    """A label or field selector that does not parse (the API server answers 400)."""


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in (part.strip() for part in parts) if p]


def label_selector(text: str | None) -> Callable[[Mapping[str, str]], bool]:
    """Compile a label selector string (``a=b,c!=d,e in (x,y),!f``) into a predicate over labels."""
    requirements: list[dict[str, Any]] = []
    for part in _split_top_level(text or ""):
        m = _REQUIREMENT.match(part)
        if m is None or (m["neg"] and (m["op"] or m["setop"])):
            raise SelectorError(f"unable to parse requirement: {part!r}")
        key = m["key"]
        if m["neg"]:
            requirements.append({"key": key, "operator": "DoesNotExist"})
        elif m["op"]:
            # "a!=b" also matches objects without the label, exactly like NotIn.
            requirements.append(
                {"key": key, "operator": "NotIn" if m["op"] == "!=" else "In", "values": [m["value"]]}
            )
        elif m["setop"]:
            values = [v.strip() for v in m["values"].split(",") if v.strip()]
            requirements.append(
                {"key": key, "operator": "In" if m["setop"] == "in" else "NotIn", "values": values}
            )
        else:
            requirements.append({"key": key, "operator": "Exists"})

    def matches(labels: Mapping[str, str]) -> bool:
        return all(expression_matches(r, labels) for r in requirements)

    return matches


def _field_value(obj: Obj, field: str) -> str:
    if field == "spec.unschedulable":
        return str(bool(obj.get("spec", {}).get("unschedulable"))).lower()
    value: Any = obj
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


_FIELDS = frozenset(
    {
        "metadata.name",
        "metadata.namespace",
        "spec.nodeName",
        "spec.unschedulable",
        "status.phase",
        "involvedObject.kind",
        "involvedObject.name",
        "involvedObject.namespace",
        "involvedObject.uid",
        "reason",
        "type",
    }
)


def field_selector(text: str | None) -> Callable[[Obj], bool]:
    """Compile a field selector (``spec.nodeName=x,status.phase!=Failed``) into a predicate over objects."""
    requirements: list[tuple[str, bool, str]] = []
    for part in _split_top_level(text or ""):
        m = re.match(r"^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$", part)
        if m is None:
            raise SelectorError(f"invalid field selector: {part!r}")
        field = m.group(1)
        if field not in _FIELDS:
            raise SelectorError(f'field label not supported: "{field}"')
        requirements.append((field, m.group(2) == "!=", m.group(3).strip()))

    def matches(obj: Obj) -> bool:
        return all((_field_value(obj, f) == v) != negate for f, negate, v in requirements)

    return matches


def selector_dict_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Match a ``metav1.LabelSelector``; ``None`` selects nothing, ``{}`` selects everything."""
    return selector_matches(selector, labels)


def node_selector_term_matches(term: Mapping[str, Any], node: Obj) -> bool:
    """Match one ``nodeSelectorTerm``; an empty term selects no node (Kubernetes semantics)."""
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = node["metadata"].get("labels") or {}
    if not all(expression_matches(e, labels) for e in exprs):
        return False
    name_only = {"metadata.name": node["metadata"]["name"]}
    return all(expression_matches(f, name_only) for f in fields)


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Whether one toleration tolerates one taint (``ToleratesTaint`` in the Kubernetes API)."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if key != taint.get("key"):
        return key == "" and operator == "Exists"
    if operator == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taints(
    tolerations: Sequence[Mapping[str, Any]], taints: Sequence[Mapping[str, Any]]
) -> list[Obj]:
    """Return the NoSchedule/NoExecute taints that no toleration covers (PreferNoSchedule never blocks)."""
    return [
        dict(t)
        for t in taints
        if t.get("effect") in ("NoSchedule", "NoExecute")
        and not any(tolerates(tol, t) for tol in tolerations)
    ]


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON merge patch (RFC 7386); strategic merge patches of the fields served here reduce to it."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
