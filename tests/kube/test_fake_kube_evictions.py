"""The policy/v1 eviction subresource and its PodDisruptionBudget semantics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kube_manifests import add_pools, deployment, k8s, pdb, statefulset, windows_spec

from aks_windows_ops.testing.fake_kube import FakeKubernetes


def _evict(core: Any, name: str, namespace: str = "default") -> Any:
    body = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=name, namespace=namespace))
    return core.create_namespaced_pod_eviction(name, namespace, body)


def _names(kube: FakeKubernetes, app: str) -> list[str]:
    return [p["metadata"]["name"] for p in kube.pods("default") if p["metadata"]["labels"].get("app") == app]


def test_eviction_refused_with_429_when_budget_allows_nothing(kube: FakeKubernetes, core: Any) -> None:
    add_pools(kube, old=2)
    kube.apply([deployment("web", 2, **windows_spec()), pdb("web", "web", min_available=2)])
    victim = _names(kube, "web")[0]
    kube.clear_requests()
    with pytest.raises(k8s.ApiException) as err:
        _evict(core, victim)
    assert err.value.status == 429
    status = json.loads(err.value.body)
    assert status["reason"] == "TooManyRequests"
    assert status["details"]["causes"][0]["reason"] == "DisruptionBudget"
    assert "needs 2 healthy pods and has 2 currently" in status["details"]["causes"][0]["message"]
    assert victim in _names(kube, "web")  # nothing was deleted
    assert kube.requests[-1].path == f"/api/v1/namespaces/default/pods/{victim}/eviction"


def test_eviction_allowed_deletes_and_budget_recovers_only_when_replacement_is_ready() -> None:
    with FakeKubernetes(ready_delay=0.2) as kube:
        add_pools(kube, old=2)
        kube.apply([deployment("web", 3, **windows_spec()), pdb("web", "web", max_unavailable=1)])
        kube.settle()
        with kube.api_client() as api:
            core, policy = k8s.CoreV1Api(api), k8s.PolicyV1Api(api)
            first, second, _ = _names(kube, "web")
            result = _evict(core, first)
            assert result.kind == "Status"
            assert first not in _names(kube, "web") and len(_names(kube, "web")) == 3
            status = policy.read_namespaced_pod_disruption_budget("web", "default").status
            assert (status.current_healthy, status.desired_healthy, status.disruptions_allowed) == (2, 2, 0)
            with pytest.raises(k8s.ApiException) as err:
                _evict(core, second)
            assert err.value.status == 429
            kube.clock.sleep(0.19)  # virtual time: the replacement is not Ready yet, the budget still refuses
            with pytest.raises(k8s.ApiException) as err:
                _evict(core, second)
            assert err.value.status == 429
            kube.clock.sleep(0.02)
            status = policy.read_namespaced_pod_disruption_budget("web", "default").status
            assert status.disruptions_allowed == 1
            _evict(core, second)
            assert second not in _names(kube, "web")


def test_eviction_of_missing_pod_is_404(core: Any) -> None:
    with pytest.raises(k8s.ApiException) as err:
        _evict(core, "ghost")
    assert err.value.status == 404
    assert json.loads(err.value.body)["reason"] == "NotFound"


def test_pending_pod_is_evictable_despite_budget(kube: FakeKubernetes, core: Any) -> None:
    add_pools(kube, old=1)
    kube.apply(
        [
            deployment("nowhere", 1, node_selector={"agentpool": "missing"}),
            pdb("strict", "nowhere", max_unavailable=0),
        ]
    )
    (name,) = _names(kube, "nowhere")
    _evict(core, name)  # Pending pods hold no availability, so the budget is not consulted
    assert name not in _names(kube, "nowhere")


def test_max_unavailable_zero_and_unhealthy_pods(kube: FakeKubernetes, core: Any) -> None:
    add_pools(kube, old=2)
    kube.apply([statefulset("db", 2, **windows_spec()), pdb("db", "db", max_unavailable=0)])
    with pytest.raises(k8s.ApiException) as err:
        _evict(core, "db-0")
    assert err.value.status == 429
    # A NotReady pod under the default IfHealthyBudget policy is evictable only while the budget is met;
    # with one pod down, 1 healthy < 2 desired, so the budget still refuses.
    kube.set_node_ready(kube.get("Pod", "db-1")["spec"]["nodeName"], False)  # type: ignore[index]
    with pytest.raises(k8s.ApiException) as err:
        _evict(core, "db-1")
    assert err.value.status == 429


def test_unhealthy_pod_evictable_with_always_allow(kube: FakeKubernetes, core: Any) -> None:
    add_pools(kube, old=2)
    budget = pdb("db", "db", max_unavailable=0)
    budget["spec"]["unhealthyPodEvictionPolicy"] = "AlwaysAllow"
    kube.apply([statefulset("db", 2, **windows_spec()), budget])
    kube.set_node_ready(kube.get("Pod", "db-1")["spec"]["nodeName"], False)  # type: ignore[index]
    old_uid = kube.get("Pod", "db-1")["metadata"]["uid"]  # type: ignore[index]
    _evict(core, "db-1")
    assert kube.get("Pod", "db-1")["metadata"]["uid"] != old_uid  # type: ignore[index]


def test_two_budgets_for_one_pod_is_500(kube: FakeKubernetes, core: Any) -> None:
    add_pools(kube, old=2)
    kube.apply(
        [
            deployment("web", 2, **windows_spec()),
            pdb("a", "web", max_unavailable=1),
            pdb("b", "web", min_available=1),
        ]
    )
    with pytest.raises(k8s.ApiException) as err:
        _evict(core, _names(kube, "web")[0])
    assert err.value.status == 500
    assert "more than one PodDisruptionBudget" in json.loads(err.value.body)["message"]
