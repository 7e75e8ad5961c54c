"""Where the timer's and the rollouts' JSON reports go: Blob storage, a directory, or memory (for tests)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.integrations.functions.runtime import _lock, _memory_documents
from aks_windows_ops.paths import private_file

if TYPE_CHECKING:  # pragma: no cover - typing only
    pass

__all__ = ["read_report", "write_report"]


def _blob_documents(url: str) -> Any:
    from aks_windows_ops.azure.blob_store import BlobJsonStore

    parsed = urlparse(url)
    if not parsed.netloc:
        raise InvalidInput("a blob:// report URL needs a container: blob://<container>[/<prefix>]")
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    prefix = parsed.path.strip("/")
    prefix = f"{prefix}/" if prefix else "aks-windows-ops/reports/"
    if options.get("account_url"):
        return BlobJsonStore(account_url=options["account_url"], container=parsed.netloc, prefix=prefix)
    variable = options.get("connection_string_env", "AZURE_STORAGE_CONNECTION_STRING")
    connection_string = os.environ.get(variable, "")
    if not connection_string:
        raise InvalidInput(f"{url.split('?')[0]} needs a storage connection string in ${variable}")
    return BlobJsonStore(connection_string=connection_string, container=parsed.netloc, prefix=prefix)


def write_report(url: str, name: str, document: Mapping[str, Any]) -> str:
    """Store a JSON ``document`` called ``name`` at ``url`` and return where it went.

    ``url`` is ``blob://<container>[/<prefix>][?connection_string_env=...|?account_url=...]`` (the forms of
    the checkpoint store), ``memory:<name>`` (kept in the process, for tests), or a local directory.

    Raises:
        InvalidInput: the URL is not understood.
        AzureOperationFailed: Blob storage refused the write.
    """
    data = json.loads(json.dumps(document, default=str))
    if url.startswith("memory:"):
        with _lock:
            _memory_documents.setdefault(url, {})[name] = data
        return f"{url}/{name}"
    if urlparse(url).scheme == "blob":
        documents = _blob_documents(url)
        documents.update(name, lambda _current: data)
        return f"blob://{documents.container_name}/{documents.prefix}{name}"
    path = Path(url).expanduser() / name
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_file(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return str(path)


def read_report(url: str, name: str) -> dict[str, Any] | None:
    """Read back a document written by :func:`write_report` (``None`` when there is none)."""
    if url.startswith("memory:"):
        with _lock:
            found = _memory_documents.get(url, {}).get(name)
        return None if found is None else json.loads(json.dumps(found))
    if urlparse(url).scheme == "blob":
        document: dict[str, Any] | None = _blob_documents(url).read(name)
        return document
    path = Path(url).expanduser() / name
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
