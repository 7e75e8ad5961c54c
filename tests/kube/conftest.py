"""Fixtures and manifest builders for the Kubernetes tests (real ``kubernetes`` client against FakeKubernetes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kube_manifests import k8s

from aks_windows_ops.testing.fake_kube import FakeKubernetes


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Clients built from kubeconfigs read proxy variables; the fake is on loopback.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(ready_delay=0) as fake:
        yield fake


@pytest.fixture
def api(kube: FakeKubernetes) -> Iterator[Any]:
    api_client = kube.api_client()
    yield api_client
    api_client.close()


@pytest.fixture
def core(api: Any) -> Any:
    return k8s.CoreV1Api(api)
