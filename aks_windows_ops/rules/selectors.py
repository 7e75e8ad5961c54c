"""Kubernetes label selectors, evaluated once for the whole library (Kubernetes API: ``metav1.LabelSelector``).

A selector is ``matchLabels`` (every pair must be present) and ``matchExpressions`` (``In``, ``NotIn``,
``Exists``, ``DoesNotExist``; node selector terms add ``Gt`` and ``Lt`` on integer values). The rules that
decide whether a PodDisruptionBudget or an anti-affinity term covers a workload's pods (FAQ "How do I keep my
Windows workloads available during upgrades?") and the simulated Kubernetes API server use this one matcher.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["expression_matches", "labels_match", "selector_matches"]


def expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether one ``matchExpressions`` entry holds for ``labels`` (Kubernetes API: ``LabelSelectorRequirement``).

    An unknown operator never matches.
    """
    key = str(expr.get("key", ""))
    op = expr.get("operator", "")
    raw = expr.get("values")
    values = [str(v) for v in raw] if isinstance(raw, (list, tuple)) else []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and len(values) == 1:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def labels_match(wanted: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether every ``wanted`` label is on ``labels`` with the same value (Kubernetes API: ``matchLabels``)."""
    return all(labels.get(str(k)) == str(v) for k, v in wanted.items())


def selector_matches(
    selector: Mapping[str, Any] | None, labels: Mapping[str, str], *, empty_matches: bool = True
) -> bool:
    """Whether a label selector selects an object with ``labels``.

    Args:
        selector: the ``metav1.LabelSelector`` (``None`` selects nothing).
        labels: the object's labels.
        empty_matches: what an empty selector (``{}``) means: everything (the Kubernetes API's meaning), or
            nothing (``False``: a rule that must not assume an unscoped selector covers a workload).
    """
    if selector is None:
        return False
    match_labels = selector.get("matchLabels")
    expressions = selector.get("matchExpressions")
    if not match_labels and not expressions:
        return empty_matches
    if isinstance(match_labels, Mapping) and not labels_match(match_labels, labels):
        return False
    return all(
        isinstance(expr, Mapping) and expression_matches(expr, labels)
        for expr in (expressions if isinstance(expressions, list) else [])
    )
