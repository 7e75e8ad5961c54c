"""ApiClient construction from AKS kubeconfigs, with a static token or an Entra ID credential."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from kube_manifests import k8s

import aks_windows_ops.kube as kube_pkg
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.kube import AKS_AAD_SCOPE, api_client_for_aad, api_client_from_kubeconfig
from aks_windows_ops.testing.fake_kube import FakeKubernetes


@dataclass
class Token:
    token: str
    expires_on: int


class StubCredential:
    """An azure-identity-shaped credential handing out numbered tokens."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Token:
        self.scopes.append(scopes)
        return Token(f"aad-{len(self.scopes)}", int(time.time() + self.lifetime))


@pytest.mark.parametrize("form", ["dict", "text", "bytes"])
def test_client_from_kubeconfig_forms(kube: FakeKubernetes, form: str) -> None:
    kube.add_node("n1")
    config = kube.kubeconfig("aks-prod")
    given: Any = {"dict": config, "text": yaml.safe_dump(config), "bytes": yaml.safe_dump(config).encode()}[
        form
    ]
    with api_client_from_kubeconfig(given) as api:
        assert [n.metadata.name for n in k8s.CoreV1Api(api).list_node().items] == ["n1"]
    assert kube.requests[-1].authorized


@pytest.mark.parametrize(
    "bad",
    [
        b"\xff\xfe",
        "clusters: [unclosed",
        "just text",
        {"clusters": [], "users": []},
        {"clusters": [], "contexts": [], "users": []},
    ],
)
def test_bad_kubeconfigs_are_invalid_input(bad: Any) -> None:
    with pytest.raises(InvalidInput):
        api_client_from_kubeconfig(bad)


def test_unknown_context_is_invalid_input(kube: FakeKubernetes) -> None:
    with pytest.raises(InvalidInput, match="no context 'other'"):
        api_client_from_kubeconfig(kube.kubeconfig(), context="other")


def test_aad_client_uses_credential_token_for_aks_scope(kube: FakeKubernetes) -> None:
    kube.add_node("n1")
    credential = StubCredential(lifetime=3600)
    kube.allow_token("aad-1")
    config = kube.kubeconfig("aad", aad=True)
    with api_client_for_aad(yaml.safe_dump(config), credential) as api:
        core = k8s.CoreV1Api(api)
        assert [n.metadata.name for n in core.list_node().items] == ["n1"]
        core.list_node()
    assert credential.scopes == [(AKS_AAD_SCOPE,)]  # one token, reused while it is fresh
    assert AKS_AAD_SCOPE == "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
    assert all(r.authorized for r in kube.requests)


def test_aad_token_is_renewed_before_expiry(kube: FakeKubernetes) -> None:
    credential = StubCredential(lifetime=60)  # inside the 300 s renewal margin: every request renews
    for token in ("aad-1", "aad-2", "aad-3"):
        kube.allow_token(token)
    with api_client_for_aad(kube.kubeconfig(aad=True), credential) as api:
        k8s.CoreV1Api(api).list_node()
        k8s.CoreV1Api(api).list_node()
    assert len(credential.scopes) == 3


def test_aad_token_the_server_rejects_surfaces_as_401(kube: FakeKubernetes) -> None:
    with (
        api_client_for_aad(kube.kubeconfig(aad=True), StubCredential(lifetime=3600)) as api,
        pytest.raises(k8s.ApiException) as err,
    ):
        k8s.CoreV1Api(api).list_node()
    assert err.value.status == 401


def test_aad_scope_follows_the_kubeconfig_server_id(kube: FakeKubernetes) -> None:
    config = kube.kubeconfig(aad=True)
    args = config["users"][0]["user"]["exec"]["args"]
    args[args.index("--server-id") + 1] = "11111111-2222-3333-4444-555555555555"
    credential = StubCredential(lifetime=3600)
    api_client_for_aad(config, credential).close()
    assert credential.scopes == [("11111111-2222-3333-4444-555555555555/.default",)]
    with pytest.raises(InvalidInput):
        api_client_for_aad(config, object())  # type: ignore[arg-type]


def test_package_exports_load_lazily() -> None:
    assert kube_pkg.drain_nodes.__module__ == "aks_windows_ops.kube.drain"
    assert sorted(kube_pkg.__all__) == kube_pkg.__all__
    assert all(getattr(kube_pkg, name) is not None for name in kube_pkg.__all__)
    with pytest.raises(AttributeError):
        kube_pkg.not_a_name  # noqa: B018
