"""Session affinity for Windows pods (FAQ "Can I maintain session affinity from client connections to pods ...").

The FAQ's recipe, applied to a Deployment (or StatefulSet) and the Service in front of it:

1. a cluster on Kubernetes 1.20 or later;
2. one pod per Windows node: a *required* pod anti-affinity term on ``kubernetes.io/hostname`` whose label
   selector matches the workload's own pods (plus the ``kubernetes.io/os: windows`` node selector when the pod
   template does not already choose Windows nodes);
3. ``externalTrafficPolicy: Local`` on the Service, so a node sends traffic only to its own pod;
4. ``sessionAffinity: ClientIP`` on the Service, so the Azure Load Balancer keeps a client on one node.

Decisions the FAQ leaves open, made here and reported in :attr:`AffinityResult.changes` / ``warnings``:

* ``externalTrafficPolicy`` is valid only on externally reachable Services. A ``ClusterIP`` Service becomes a
  ``LoadBalancer`` with the ``service.beta.kubernetes.io/azure-load-balancer-internal: "true"`` annotation, so
  the change gives it an Azure Load Balancer without making it public (delete the annotation for a public
  one). A ``NodePort`` Service stays ``NodePort``. Headless and ``ExternalName`` Services cannot be patched.
* With one pod per node a rolling update that surges a new pod has nowhere to put it once every Windows node
  holds one. A Deployment without an explicit strategy gets ``maxSurge: 0, maxUnavailable: 1``; an explicit
  strategy is kept, with a warning when it cannot make progress that way.
* A version below 1.20 cannot be fixed in a manifest: it is a warning naming the patch runbook.

Pure: the inputs are never modified; the result holds patched deep copies.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.rules import versions
from aks_windows_ops.rules.pod_templates import object_name, pod_templates
from aks_windows_ops.rules.selectors import selector_matches

__all__ = [
    "INTERNAL_LB_ANNOTATION",
    "SESSION_AFFINITY_MIN_VERSION",
    "AffinityResult",
    "session_affinity_manifests",
]

#: FAQ: "Use an AKS cluster running a minimum version of 1.20."
SESSION_AFFINITY_MIN_VERSION = "1.20"
#: Keeps a Service that was ClusterIP off the internet when it becomes a LoadBalancer.
INTERNAL_LB_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-internal"
_HOSTNAME = "kubernetes.io/hostname"
_OS_LABEL = "kubernetes.io/os"
_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass(frozen=True)
class AffinityResult:
    """Patched copies of a workload and its Service, with what changed and what still needs attention.

    Attributes:
        workload: the patched Deployment, StatefulSet or DaemonSet.
        service: the patched Service.
        changes: one sentence per change made.
        warnings: what the patch could not fix, or changed in a way the operator must know about.
        notes: consequences of the recipe worth knowing (capacity).
    """

    workload: dict[str, Any]
    service: dict[str, Any]
    changes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def manifests(self) -> list[dict[str, Any]]:
        """The patched workload and Service, in apply order."""
        return [self.workload, self.service]

    def to_yaml(self) -> str:
        """Multi-document YAML that ``kubectl apply -f -`` accepts (the workload first, then the Service)."""
        return yaml.safe_dump_all(self.manifests, sort_keys=False, default_flow_style=False)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _selects(match_labels: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    # A plain ``matchLabels`` selector; an empty one is not taken to cover the workload.
    return selector_matches({"matchLabels": dict(match_labels)}, labels, empty_matches=False)


def _explicit_os(spec: Mapping[str, Any]) -> str | None:
    os_name = _mapping(spec.get("os")).get("name")
    if os_name:
        return str(os_name).lower()
    value = _mapping(spec.get("nodeSelector")).get(_OS_LABEL)
    return str(value).lower() if value else None


def _own_selector(workload: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that identify the workload's own pods: ``spec.selector.matchLabels`` or the pod labels."""
    match = _mapping(_mapping(_mapping(workload.get("spec")).get("selector")).get("matchLabels"))
    chosen = {str(k): str(v) for k, v in match.items()}
    if chosen and all(labels.get(k) == v for k, v in chosen.items()):
        return chosen
    return dict(labels)


def _has_one_per_node(spec: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    terms = _mapping(_mapping(spec.get("affinity")).get("podAntiAffinity")).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    for term in terms if isinstance(terms, list) else []:
        if not isinstance(term, Mapping) or term.get("topologyKey") != _HOSTNAME:
            continue
        selector = _mapping(term.get("labelSelector"))
        if selector.get("matchExpressions"):
            continue  # not evaluated here: add our own plain term rather than guess
        if _selects(_mapping(selector.get("matchLabels")), labels):
            return True
    return False


def _check_inputs(workload: Mapping[str, Any], service: Mapping[str, Any]) -> list[str]:
    problems = []
    if not isinstance(workload, Mapping) or workload.get("kind") not in _WORKLOAD_KINDS:
        kind = workload.get("kind") if isinstance(workload, Mapping) else type(workload).__name__
        problems.append(f"the workload must be a Deployment, StatefulSet or DaemonSet, got {kind!r}")
    if not isinstance(service, Mapping) or service.get("kind") != "Service":
        kind = service.get("kind") if isinstance(service, Mapping) else type(service).__name__
        problems.append(f"the service must be a Service, got {kind!r}")
    return problems


def session_affinity_manifests(
    deployment: Mapping[str, Any],
    service: Mapping[str, Any],
    *,
    kubernetes_version: str | None = None,
) -> AffinityResult:
    """Apply the FAQ's session-affinity recipe to a workload and its Service (module docstring).

    Implements FAQ "Can I maintain session affinity from client connections to pods with Windows containers?"
    (Service facts: FAQ rules, session affinity row).

    Args:
        deployment: a Deployment (or StatefulSet / DaemonSet) manifest as a dict.
        service: the Service that selects its pods.
        kubernetes_version: the cluster's version; below 1.20 adds a warning.

    Returns:
        Patched copies and the list of changes and warnings; the inputs are not modified.

    Raises:
        InvalidInput: wrong kinds, a pod template without labels or pinned to Linux, a Service that does not
            select the pods, a headless or ExternalName Service, or an unparseable version (all reported at once).
    """
    problems = _check_inputs(deployment, service)
    if problems:
        raise InvalidInput(problems)
    workload = copy.deepcopy(dict(deployment))
    svc = copy.deepcopy(dict(service))
    changes: list[str] = []
    warnings: list[str] = []
    notes: list[str] = []
    wname, sname = object_name(workload), object_name(svc)
    templates = pod_templates([workload])
    template = templates[0] if templates else None
    labels = dict(template.labels) if template else {}
    spec_in = _mapping(svc.get("spec"))
    selector = {str(k): str(v) for k, v in _mapping(spec_in.get("selector")).items()}
    stype = str(spec_in.get("type") or "ClusterIP")
    if template is None:
        problems.append(f"{wname} has no pod template (spec.template.spec)")
    elif not labels:
        problems.append(f"{wname} has no pod labels (spec.template.metadata.labels) to select its own pods")
    elif _explicit_os(template.spec) not in (None, "windows"):
        problems.append(
            f"{wname} is pinned to {_explicit_os(template.spec)} nodes; the recipe is for Windows pods"
        )
    if labels and not _selects(selector, labels):
        problems.append(
            f"{sname} (selector {selector or '{}'}) does not select the pods of {wname} ({labels})"
        )
    if stype == "ExternalName":
        problems.append(f"{sname} is an ExternalName Service: it has no endpoints to keep a session on")
    elif str(spec_in.get("clusterIP") or "") == "None":
        problems.append(
            f"{sname} is headless (clusterIP: None): it does no load balancing to keep a session on"
        )
    namespaces = {str(_mapping(m.get("metadata")).get("namespace") or "default") for m in (workload, svc)}
    if len(namespaces) > 1:
        problems.append(f"{wname} and {sname} are in different namespaces")
    version_too_low = False
    if kubernetes_version is not None:
        try:
            version_too_low = not versions.version_at_least(kubernetes_version, SESSION_AFFINITY_MIN_VERSION)
        except InvalidInput as err:
            problems.append(f"kubernetes version: {err}")
    if problems:
        raise InvalidInput(problems)
    assert template is not None
    pod_spec = workload["spec"]["template"]["spec"]

    # 2. one pod per Windows node
    if _explicit_os(pod_spec) is None and not template.selects_windows:
        pod_spec.setdefault("nodeSelector", {})[_OS_LABEL] = "windows"
        changes.append(f"{wname}: added nodeSelector {_OS_LABEL}: windows")
    # A DaemonSet already runs one pod per node.
    if workload["kind"] != "DaemonSet" and not _has_one_per_node(pod_spec, labels):
        own = _own_selector(workload, labels)
        anti = pod_spec.setdefault("affinity", {}).setdefault("podAntiAffinity", {})
        anti.setdefault("requiredDuringSchedulingIgnoredDuringExecution", []).append(
            {"labelSelector": {"matchLabels": own}, "topologyKey": _HOSTNAME}
        )
        changes.append(
            f"{wname}: added required podAntiAffinity on {_HOSTNAME} matching {own} (one pod per Windows node)"
        )
    if workload["kind"] == "Deployment":
        _rollout_strategy(workload, wname, changes, warnings)
    replicas = _mapping(workload.get("spec")).get("replicas")
    if workload["kind"] != "DaemonSet":
        count = replicas if isinstance(replicas, int) else 1
        notes.append(
            f"{wname}: each of its {count} replica(s) needs its own Windows node; replicas beyond the Windows "
            "node count stay Pending (scale the Windows pools to at least that many nodes)"
        )

    # 3 and 4. the Service
    sspec = svc.setdefault("spec", {})
    if stype not in ("LoadBalancer", "NodePort"):
        sspec["type"] = "LoadBalancer"
        annotations = svc.setdefault("metadata", {}).setdefault("annotations", {})
        annotations.setdefault(INTERNAL_LB_ANNOTATION, "true")
        changes.append(
            f"{sname}: type {stype} -> LoadBalancer with an internal Azure Load Balancer "
            f'({INTERNAL_LB_ANNOTATION}: "true"); externalTrafficPolicy needs an external Service'
        )
        warnings.append(
            f"{sname}: now an internal LoadBalancer (reachable from the virtual network); remove the "
            f"{INTERNAL_LB_ANNOTATION} annotation to expose it publicly"
        )
    elif stype == "NodePort":
        warnings.append(
            f"{sname}: a NodePort Service gets no Azure Load Balancer; the load balancer in front of the nodes "
            "must keep client IP affinity itself"
        )
    if sspec.get("externalTrafficPolicy") != "Local":
        previous = sspec.get("externalTrafficPolicy") or "Cluster (default)"
        sspec["externalTrafficPolicy"] = "Local"
        changes.append(f"{sname}: externalTrafficPolicy {previous} -> Local")
    if sspec.get("sessionAffinity") != "ClientIP":
        previous = sspec.get("sessionAffinity") or "None (default)"
        sspec["sessionAffinity"] = "ClientIP"
        changes.append(f"{sname}: sessionAffinity {previous} -> ClientIP")
    if version_too_low:
        warnings.append(
            f"the cluster runs Kubernetes {kubernetes_version}; session affinity for Windows pods needs "
            f"{SESSION_AFFINITY_MIN_VERSION} or later: upgrade it first (patch runbook)"
        )
    return AffinityResult(workload, svc, tuple(changes), tuple(warnings), tuple(notes))


def _rollout_strategy(workload: dict[str, Any], wname: str, changes: list[str], warnings: list[str]) -> None:
    spec = workload.setdefault("spec", {})
    strategy = spec.get("strategy")
    if not strategy:
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
        changes.append(
            f"{wname}: rolling update set to maxSurge 0, maxUnavailable 1 (a surge pod would find no free node "
            "once every Windows node holds one)"
        )
        return
    rolling = _mapping(_mapping(strategy).get("rollingUpdate"))
    if _mapping(strategy).get("type", "RollingUpdate") == "RollingUpdate" and str(
        rolling.get("maxUnavailable", "25%")
    ) in ("0", "0%"):
        warnings.append(
            f"{wname}: its rolling update keeps maxUnavailable 0, so a rollout needs a spare Windows node for "
            "each surge pod; without one it stalls"
        )
