"""Azure Key Vault access for secrets (optional extra ``keyvault``; Service facts: Libraries).

Used by :func:`secret_from_key_vault` (a password source) and by password rotation to store a generated
password. The value crosses this module only as a return value; it is never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aks_windows_ops.errors import InvalidInput, NotFound
from aks_windows_ops.secrets import Secret

__all__ = ["get_secret", "secret_from_key_vault", "set_secret"]


def _client(vault_url: str, credential: Any, client_factory: Callable[..., Any] | None) -> Any:
    if not vault_url.startswith("https://"):
        raise InvalidInput(
            f"Key Vault URL must start with https:// (got {vault_url!r})",
            remediation="Give the vault's URI as the portal shows it, such as https://<vault>.vault.azure.net.",
        )
    if client_factory is not None:
        return client_factory(vault_url, credential)
    try:
        from azure.keyvault.secrets import SecretClient
    except ImportError as err:  # pragma: no cover - depends on the extra
        raise InvalidInput(
            "Key Vault support needs the extra: pip install 'aks-windows-ops[keyvault]'",
            remediation="Install it with `pip install 'aks-windows-ops[keyvault]'`, then run again.",
        ) from err
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    from aks_windows_ops.azure.redact import RedactingNetworkTraceLoggingPolicy
    from aks_windows_ops.azure.retry import ReadRetryPolicy
    from aks_windows_ops.clock import system_clock

    # Secret values in the HTTP trace (logging_enable) are masked (docs/security.md). The library's one retry
    # layer replaces azure-core's: a secret is read again after a transient answer, and stored exactly once.
    return SecretClient(
        vault_url=vault_url,
        credential=credential,
        logging_policy=RedactingNetworkTraceLoggingPolicy(),
        retry_policy=ReadRetryPolicy(sleep=system_clock.sleep, retries=3, now=system_clock.now),
    )


def get_secret(
    vault_url: str, name: str, *, credential: Any = None, client_factory: Callable[..., Any] | None = None
) -> str:
    """Return the current value of a Key Vault secret (Service facts: Credentials: the password source).

    Raises:
        NotFound: the vault has no such secret.
    """
    from azure.core.exceptions import ResourceNotFoundError

    client = _client(vault_url, credential, client_factory)
    try:
        value = client.get_secret(name).value
    except ResourceNotFoundError as err:
        raise NotFound(f"Key Vault secret {name!r} not found in {vault_url}") from err
    if not value:
        raise NotFound(f"Key Vault secret {name!r} in {vault_url} is empty")
    return str(value)


def set_secret(
    vault_url: str,
    name: str,
    value: str,
    *,
    credential: Any = None,
    client_factory: Callable[..., Any] | None = None,
) -> None:
    """Store a secret value in Key Vault (a generated admin password, before it is applied)."""
    client = _client(vault_url, credential, client_factory)
    client.set_secret(name, value, content_type="password")


def secret_from_key_vault(
    vault_url: str, name: str, *, credential: Any = None, client_factory: Callable[..., Any] | None = None
) -> Secret:
    """Read a Key Vault secret into a masked :class:`~aks_windows_ops.secrets.Secret` (Service facts: Credentials).

    Args:
        vault_url: ``https://<vault>.vault.azure.net``.
        name: the secret's name.
        credential: an azure-identity credential; ``DefaultAzureCredential`` when omitted.
        client_factory: builds the ``SecretClient`` (tests inject one).
    """
    value = get_secret(vault_url, name, credential=credential, client_factory=client_factory)
    return Secret(value, source=f"keyvault:{vault_url.rstrip('/')}/secrets/{name}")
