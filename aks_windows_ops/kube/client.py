"""Kubernetes API clients from AKS kubeconfigs (Service facts: Moving pods).

``managed_clusters.list_cluster_user_credentials(...).kubeconfigs[0].value`` is YAML bytes; it becomes an
``ApiClient`` without touching ``~/.kube/config``. Entra ID (AAD) clusters hand out a kubeconfig whose user
runs the ``kubelogin`` exec plugin; here a token for the AKS server application comes from any
azure-identity-style credential instead, and is renewed before it expires.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from kubernetes import config

from aks_windows_ops import limits
from aks_windows_ops.errors import InvalidInput

__all__ = [
    "AKS_AAD_SCOPE",
    "AKS_AAD_SERVER_ID",
    "TokenCredential",
    "api_client_for_aad",
    "api_client_from_kubeconfig",
    "load_kubeconfig",
]

# The loader is untyped; this alias gives it a signature.
_new_client_from_config_dict: Callable[..., Any] = config.new_client_from_config_dict

#: The AKS Entra ID server application every AKS-managed Entra ID cluster trusts.
AKS_AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
#: The scope to ask a credential for (Service facts: Moving pods).
AKS_AAD_SCOPE = f"{AKS_AAD_SERVER_ID}/.default"


class TokenCredential(Protocol):
    """The part of an azure-identity credential used here: ``get_token(scope).token`` (and ``.expires_on``)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """Return an access token object with ``token`` and ``expires_on`` (epoch seconds)."""
        ...


def load_kubeconfig(kubeconfig: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """Parse a kubeconfig given as YAML bytes (as ARM returns it), YAML text, or an already parsed dict.

    ``list_cluster_user_credentials(...).kubeconfigs[0].value`` is such YAML bytes (Service facts: Moving pods).

    Raises:
        InvalidInput: not a kubeconfig (no ``clusters``/``contexts``/``users`` lists).
    """
    if isinstance(kubeconfig, bytes):
        try:
            kubeconfig = kubeconfig.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidInput("the kubeconfig is not UTF-8 text") from err
    if isinstance(kubeconfig, str):
        data = limits.load_yaml(kubeconfig, limits.MANIFEST_LIMITS, source="the kubeconfig")
    else:
        data = copy.deepcopy(dict(kubeconfig))
    if not isinstance(data, dict):
        raise InvalidInput("the kubeconfig is not a mapping")
    missing = [key for key in ("clusters", "contexts", "users") if not isinstance(data.get(key), list)]
    if missing:
        raise InvalidInput(f"the kubeconfig has no {', '.join(missing)} list")
    return data


def _context_user(data: Mapping[str, Any], context: str | None) -> str:
    wanted = context or data.get("current-context")
    for entry in data.get("contexts") or []:
        if entry.get("name") == wanted:
            return str((entry.get("context") or {}).get("user"))
    raise InvalidInput(f"the kubeconfig has no context {wanted!r}")


def api_client_from_kubeconfig(
    kubeconfig: bytes | str | Mapping[str, Any], *, context: str | None = None
) -> Any:
    """Build a ``kubernetes.client.ApiClient`` from an AKS kubeconfig, without writing any file of the user's.

    Uses ``kubernetes.config.new_client_from_config_dict`` (Service facts: Moving pods), so certificates, tokens and
    exec plugins behave as with kubectl. Proxy environment variables apply, as they do for kubectl.

    Args:
        kubeconfig: YAML bytes from ``list_cluster_user_credentials``, YAML text, or a dict.
        context: the context to use; the kubeconfig's ``current-context`` by default.

    Raises:
        InvalidInput: not a kubeconfig, or the context does not exist.
    """
    data = load_kubeconfig(kubeconfig)
    _context_user(data, context)
    try:
        return _new_client_from_config_dict(config_dict=data, context=context, persist_config=False)
    except config.ConfigException as err:
        raise InvalidInput(f"the kubeconfig cannot be used: {err}") from err


def _server_scope(user: Mapping[str, Any], default: str) -> str:
    """Prefer the server id that kubelogin would have been asked for, so sovereign clouds keep working."""
    args = list(((user.get("exec") or {}).get("args")) or [])
    for i, arg in enumerate(args):
        if arg == "--server-id" and i + 1 < len(args):
            return f"{args[i + 1]}/.default"
        if isinstance(arg, str) and arg.startswith("--server-id="):
            return f"{arg.split('=', 1)[1]}/.default"
    return default


def api_client_for_aad(
    kubeconfig: bytes | str | Mapping[str, Any],
    credential: TokenCredential,
    *,
    context: str | None = None,
    scope: str | None = None,
    refresh_margin: float = 300.0,
) -> Any:
    """Build an ``ApiClient`` for an Entra ID (AAD) AKS cluster from a token credential instead of kubelogin.

    The kubeconfig user's exec plugin is replaced by a bearer token for scope
    ``6dae42f8-4368-4678-94ff-3960e28e3630/.default`` (Service facts: Moving pods), or for the ``--server-id`` the
    plugin names. The token is fetched again when it is within ``refresh_margin`` seconds of ``expires_on``.
    No Azure package is imported: any object with ``get_token(scope)`` will do.

    Args:
        kubeconfig: the cluster user kubeconfig (YAML bytes, text or dict).
        credential: e.g. ``azure.identity.DefaultAzureCredential()``.
        context: the context to use; the kubeconfig's ``current-context`` by default.
        scope: override the token scope.
        refresh_margin: seconds before expiry at which to renew the token.

    Raises:
        InvalidInput: not a kubeconfig, the context or its user does not exist, or the credential has no
            ``get_token``.
    """
    if not callable(getattr(credential, "get_token", None)):
        raise InvalidInput("the credential has no get_token(scope) method")
    data = load_kubeconfig(kubeconfig)
    user_name = _context_user(data, context)
    entry = next((u for u in data["users"] if u.get("name") == user_name), None)
    if entry is None:
        raise InvalidInput(f"the kubeconfig has no user {user_name!r}")
    token_scope = scope or _server_scope(entry.get("user") or {}, AKS_AAD_SCOPE)
    lock = threading.Lock()
    first = credential.get_token(token_scope)
    current: dict[str, Any] = {"token": str(first.token), "expires_on": getattr(first, "expires_on", None)}
    entry["user"] = {"token": current["token"]}
    try:
        api = _new_client_from_config_dict(config_dict=data, context=context, persist_config=False)
    except config.ConfigException as err:
        raise InvalidInput(f"the kubeconfig cannot be used: {err}") from err

    def refresh(cfg: Any) -> None:
        with lock:
            expires_on = current["expires_on"]
            if expires_on is not None and time.time() >= float(expires_on) - refresh_margin:
                token = credential.get_token(token_scope)
                current["token"] = str(token.token)
                current["expires_on"] = getattr(token, "expires_on", None)
            cfg.api_key["BearerToken"] = f"Bearer {current['token']}"

    # The hook runs before every request; it replaces the kubeconfig loader's own hook, which would
    # re-read the static token.
    api.configuration.refresh_api_key_hook = refresh
    return api
