"""JSON documents in Azure Blob Storage, updated with optimistic concurrency (design principle "resumable by construction").

This is the Azure half of the Blob checkpoint store
(``aks_windows_ops.runbooks.checkpoints.BlobCheckpointStore``): Azure Functions instances do not keep their
local disk between timer runs, so their checkpoints live in a storage account (Service facts: Where it runs).

:class:`BlobJsonStore` keeps one JSON document per blob under a name prefix. Every change is a
read-modify-write guarded by the blob's ``ETag`` (``etag=`` + ``MatchConditions.IfNotModified``, Service facts: SDK shapes): when another writer got there first the service answers 412, and the change is applied again to
the fresh document, so concurrent writers never lose each other's updates. New blobs are created
create-only (``overwrite=False``), and the container is created the first time a write finds it missing.

``azure.storage.blob`` (the ``blob`` extra) is imported only when a store is built, so importing this module
costs nothing. Azure exceptions are translated here into the library's errors
(:class:`~aks_windows_ops.errors.AzureOperationFailed`, :class:`~aks_windows_ops.errors.EtagMismatch`).
Connection strings, account keys and SAS tokens are never kept in attributes or shown in ``repr``
(design principle "secrets never print").
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from aks_windows_ops.clock import Clock, system_clock
from aks_windows_ops.errors import AzureOperationFailed, EtagMismatch, InvalidInput

if TYPE_CHECKING:
    from azure.core.exceptions import AzureError
    from azure.storage.blob import ContainerClient

__all__ = ["BlobJsonStore"]

Document = dict[str, Any]
T = TypeVar("T")


class BlobJsonStore:
    """JSON documents in one Blob container, one blob each, with etag-guarded updates (design principle "resumable by construction").

    Give exactly one of ``container_client``, ``connection_string`` (with ``container``), or ``account_url``
    (with ``container``; authenticated with ``credential``, a SAS token in the URL, or
    ``DefaultAzureCredential``). Building the store sends no request.

    Args:
        container_client: an ``azure.storage.blob.ContainerClient``.
        account_url: ``https://<account>.blob.core.windows.net`` (a SAS query string is allowed).
        container: the container name, with ``account_url`` or ``connection_string``.
        credential: an Azure credential for ``account_url``.
        connection_string: a storage connection string (kept only inside the client it builds).
        prefix: prepended to every document name, e.g. ``aks-windows-ops/checkpoints/``.
        max_attempts: how many times an update is tried when other writers keep changing the blob.
        sleep: waits between conflicting attempts (the clock's ``sleep`` by default).
        clock: the clock every wait happens on: reads sent again after a transient answer and the pause
            between conflicting attempts.
        read_retries: how many times a read (download, listing, properties) is sent again after a transient
            answer, through the library's one retry factory (``azure.retry``). The client built here has
            the storage SDK's own retries off (``retry_total=0``), so writes are sent once; a client given
            keeps its own retry settings and the store adds none.
        **client_options: passed to the ``ContainerClient`` built here (``api_version``...).

    Raises:
        InvalidInput: not exactly one way to reach the container was given.
    """

    def __init__(
        self,
        container_client: ContainerClient | None = None,
        *,
        account_url: str | None = None,
        container: str | None = None,
        credential: Any = None,
        connection_string: str | None = None,
        prefix: str = "",
        max_attempts: int = 30,
        sleep: Callable[[float], None] | None = None,
        clock: Clock = system_clock,
        read_retries: int = 3,
        **client_options: Any,
    ) -> None:
        given = [x is not None for x in (container_client, account_url, connection_string)]
        if sum(given) != 1:
            raise InvalidInput(
                "give exactly one of a container client, an account URL or a connection string",
                remediation="Name the container one way only, then try again.",
            )
        if container_client is None and not container:
            raise InvalidInput(
                "a container name is needed with an account URL or a connection string",
                remediation="Give the container's name as well.",
            )
        if max_attempts < 1:
            raise InvalidInput(
                f"the number of attempts must be at least 1, got {max_attempts}",
                remediation="Allow at least one attempt.",
            )
        self._read_retries = read_retries
        if container_client is None:
            client_options.setdefault("retry_total", 0)  # one retry layer: the store's, for reads only
            container_client = _build_client(
                account_url, container or "", credential, connection_string, client_options
            )
        else:
            self._read_retries = 0
        self.client: ContainerClient = container_client
        self.prefix = prefix
        self.max_attempts = max_attempts
        self.sleep = sleep if sleep is not None else clock.sleep
        self._clock = clock
        #: How many writes met a concurrent change (412 or a lost create race) and were applied again.
        self.conflicts = 0
        self._lock = threading.Lock()
        # Last seen (etag, document) per name: an update first tries the cached etag and re-reads only on 412.
        self._cache: dict[str, tuple[str, Document]] = {}

    def __repr__(self) -> str:
        account = getattr(self.client, "account_name", "?")
        container = getattr(self.client, "container_name", "?")
        return f"BlobJsonStore(account={account!r}, container={container!r}, prefix={self.prefix!r})"

    @property
    def container_name(self) -> str:
        """The container's name."""
        return str(self.client.container_name)

    def _blob_name(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _reading(self, call: Callable[[], T]) -> T:
        from aks_windows_ops.azure.retry import read_with_retries

        return read_with_retries(call, sleep=self._clock.sleep, retries=self._read_retries)

    def read(self, name: str) -> Document | None:
        """Return the document called ``name``, or ``None`` when it (or the container) does not exist.

        Raises:
            AzureOperationFailed: the service refused the read (authentication, network ...).
        """
        found = self._download(name)
        return None if found is None else json.loads(json.dumps(found[1]))

    def _download(self, name: str) -> tuple[str, Document] | None:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        blob = self.client.get_blob_client(self._blob_name(name))
        try:
            raw, etag = self._reading(lambda: _download_bytes(blob))
        except ResourceNotFoundError:
            with self._lock:
                self._cache.pop(name, None)
            return None
        except AzureError as err:
            raise _translate(err, "read", self._blob_name(name)) from err
        try:
            document = json.loads(raw)
        except ValueError:
            raise AzureOperationFailed(
                f"blob {self._blob_name(name)} in container {self.container_name} is not valid JSON",
                remediation="Delete or repair the blob; it is not a document this library wrote.",
            ) from None
        if not isinstance(document, dict):
            raise AzureOperationFailed(f"blob {self._blob_name(name)} does not hold a JSON object")
        with self._lock:
            self._cache[name] = (etag, document)
        return etag, document

    def update(self, name: str, change: Callable[[Document | None], Document]) -> Document:
        """Apply ``change`` to the document called ``name`` and store it, safe against other writers.

        ``change`` receives a private copy of the current document (``None`` if there is none) and returns
        the new one. It may run more than once (once per conflicting attempt), so it must only compute.

        Returns:
            The document as stored.

        Raises:
            EtagMismatch: other writers changed the blob on each of ``max_attempts`` attempts.
            AzureOperationFailed: the service refused the write.
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import (
            AzureError,
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )
        from azure.storage.blob import ContentSettings

        from aks_windows_ops.azure.retry import retrying

        blob_name = self._blob_name(name)
        blob = self.client.get_blob_client(blob_name)
        settings = ContentSettings(content_type="application/json")
        with self._lock:
            cached: tuple[str, Document] | None = self._cache.get(name)
        state = {"current": cached if cached is not None else self._download(name)}

        def attempt() -> Document:
            current = state["current"]
            before = None if current is None else json.loads(json.dumps(current[1]))
            document = change(before)
            data = json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False).encode(
                "utf-8"
            )
            try:
                if current is None:
                    result = self._create(blob, data, settings)
                else:
                    result = blob.upload_blob(
                        data,
                        overwrite=True,
                        etag=current[0],
                        match_condition=MatchConditions.IfNotModified,
                        content_settings=settings,
                    )
            except (ResourceModifiedError, ResourceExistsError, ResourceNotFoundError) as err:
                if isinstance(err, ResourceNotFoundError) and current is None:
                    raise _translate(err, "write", blob_name) from err
                # Someone else wrote (412), created the blob first (409), or deleted it (404 with an etag):
                # nothing of ours landed; read the blob again and re-apply the change to it.
                with self._lock:
                    self.conflicts += 1
                state["current"] = self._download(name)
                raise _Conflict() from err
            except AzureError as err:
                raise _translate(err, "write", blob_name) from err
            with self._lock:
                self._cache[name] = (str(result["etag"]), document)
            stored: Document = json.loads(data)
            return stored

        retry = retrying(
            attempts=self.max_attempts,
            sleep=self.sleep,
            base=0.05,
            cap=1.0,
            retry_on=lambda err: isinstance(err, _Conflict),
            jitter=True,
        )
        try:
            return retry(attempt)
        except _Conflict as err:
            raise EtagMismatch(
                f"blob {blob_name} kept changing during {self.max_attempts} attempts to update it",
                code="ConditionNotMet",
                remediation="Another process writes the same checkpoint; run one runner per plan.",
            ) from err.__cause__

    def _create(self, blob: Any, data: bytes, settings: Any) -> dict[str, Any]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            result: dict[str, Any] = blob.upload_blob(data, overwrite=False, content_settings=settings)
            return result
        except ResourceNotFoundError:
            self._create_container()
            created: dict[str, Any] = blob.upload_blob(data, overwrite=False, content_settings=settings)
            return created

    def _create_container(self) -> None:
        from azure.core.exceptions import AzureError, ResourceExistsError

        try:
            self.client.create_container()
        except ResourceExistsError:
            pass  # another writer created it between our 404 and now
        except AzureError as err:
            raise _translate(err, "create the container for", self.container_name) from err

    def delete(self, name: str) -> None:
        """Delete the document called ``name`` (no error if it does not exist).

        Raises:
            AzureOperationFailed: the service refused the delete.
        """
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        with self._lock:
            self._cache.pop(name, None)
        try:
            self.client.delete_blob(self._blob_name(name))
        except ResourceNotFoundError:
            return
        except AzureError as err:
            raise _translate(err, "delete", self._blob_name(name)) from err

    def names(self) -> list[str]:
        """Return the names of every document under the prefix (without the prefix), sorted.

        Raises:
            AzureOperationFailed: the service refused the listing.
        """
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            found = self._reading(
                lambda: [b.name for b in self.client.list_blobs(name_starts_with=self.prefix or None)]
            )
        except ResourceNotFoundError:
            return []
        except AzureError as err:
            raise _translate(err, "list", f"{self.prefix}*") from err
        return sorted(n[len(self.prefix) :] for n in found)

    def acquire_lease(self, name: str, lease_id: str, seconds: int, document: Document) -> Document | None:
        """Take (or renew) a Blob lease on the blob ``name`` and store ``document`` in it.

        The blob service expires the lease ``seconds`` (15-60) after the last renewal, so a holder that died
        frees it on its own. ``lease_id`` is the holder's GUID: taking the lease again with it renews it.

        Returns:
            ``None`` when the lease is ours; the stored document of the current holder when another has it.

        Raises:
            AzureOperationFailed: the service refused the request.
        """
        from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
        from azure.storage.blob import BlobLeaseClient, ContentSettings

        blob_name = self._blob_name(name)
        blob = self.client.get_blob_client(blob_name)
        settings = ContentSettings(content_type="application/json")
        try:
            with contextlib.suppress(ResourceExistsError):  # the lease blob outlives its leases
                self._create(blob, b"{}", settings)
            lease = BlobLeaseClient(blob, lease_id=lease_id)
            try:
                lease.acquire(lease_duration=seconds)
            except ResourceExistsError:
                return self.read(name) or {}
            except AzureError as err:
                if getattr(err, "status_code", None) == 409:
                    return self.read(name) or {}
                raise
            data = json.dumps(document, sort_keys=True).encode("utf-8")
            blob.upload_blob(data, overwrite=True, lease=lease, content_settings=settings)
        except ResourceNotFoundError as err:
            raise _translate(err, "lease", blob_name) from err
        except AzureError as err:
            raise _translate(err, "lease", blob_name) from err
        return None

    def release_lease(self, name: str, lease_id: str) -> None:
        """Release the Blob lease ``lease_id`` on ``name`` (nothing happens if it is not held with that id)."""
        from azure.core.exceptions import AzureError
        from azure.storage.blob import BlobLeaseClient

        blob = self.client.get_blob_client(self._blob_name(name))
        try:
            lease = BlobLeaseClient(blob, lease_id=lease_id)
            blob.upload_blob(b"{}", overwrite=True, lease=lease)
            lease.release()
        except AzureError:
            return  # not ours any more (expired or broken): nothing to give back

    def break_lease(self, name: str) -> None:
        """Break the Blob lease on ``name`` at once, whoever holds it.

        Raises:
            AzureOperationFailed: the service refused the request.
        """
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
        from azure.storage.blob import BlobLeaseClient

        blob = self.client.get_blob_client(self._blob_name(name))
        try:
            BlobLeaseClient(blob).break_lease(lease_break_period=0)
        except ResourceNotFoundError:
            return
        except HttpResponseError as err:
            if err.status_code == 409:  # no lease to break
                return
            raise _translate(err, "break the lease of", self._blob_name(name)) from err
        except AzureError as err:
            raise _translate(err, "break the lease of", self._blob_name(name)) from err

    def lease_state(self, name: str) -> str:
        """Return the blob's lease state (``available``, ``leased``, ``expired``, ``breaking``, ``broken``)."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        blob = self.client.get_blob_client(self._blob_name(name))
        try:
            props = self._reading(blob.get_blob_properties)
        except ResourceNotFoundError:
            return "available"
        except AzureError as err:
            raise _translate(err, "read", self._blob_name(name)) from err
        return str(getattr(props.lease, "state", "available"))


def _download_bytes(blob: Any) -> tuple[bytes, str]:
    downloader = blob.download_blob()
    raw: bytes = downloader.readall()
    return raw, str(downloader.properties.etag)


class _Conflict(Exception):
    """A conditional write lost to another writer (412/409/404): re-applied to a fresh read."""


def _build_client(
    account_url: str | None,
    container: str,
    credential: Any,
    connection_string: str | None,
    options: dict[str, Any],
) -> ContainerClient:
    try:
        from azure.storage.blob import ContainerClient
    except ImportError as err:  # pragma: no cover - depends on the installed extras
        raise InvalidInput(
            "the Blob checkpoint store needs the azure-storage-blob package",
            remediation="Install it with `pip install 'aks-windows-ops[blob]'`, then run again.",
        ) from err
    if connection_string is not None:
        try:
            return ContainerClient.from_connection_string(connection_string, container, **options)
        except ValueError:
            # The SDK's message may quote the string, and with it the account key.
            raise InvalidInput(
                "the storage connection string is malformed",
                remediation="Copy the connection string again from the storage account's access keys.",
            ) from None
    assert account_url is not None
    if credential is None and "sig=" not in (urlparse(account_url).query or ""):
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    try:
        return ContainerClient(account_url, container, credential=credential, **options)
    except ValueError as err:
        text = str(err)
        # Never echo a SAS token back.
        raise InvalidInput(
            f"cannot use this Blob account URL: {text if 'sig=' not in text else 'invalid'}"
        ) from None


def _translate(err: AzureError, action: str, what: str) -> AzureOperationFailed:
    # Built from the status and error code only: SDK messages can quote request URLs, and so SAS tokens.
    status = getattr(err, "status_code", None)
    code = getattr(err, "error_code", None)
    code = getattr(code, "value", code)  # a StorageErrorCode enum member, or a plain str
    reason = getattr(err, "reason", None) or type(err).__name__
    detail = f"HTTP {status} {reason}" if status else reason
    return AzureOperationFailed(
        f"Blob checkpoint store could not {action} {what}: {detail}",
        code=str(code) if code else None,
        status_code=status if isinstance(status, int) else None,
        remediation="Check the account, the container and the identity's Storage Blob Data Contributor role.",
    )
