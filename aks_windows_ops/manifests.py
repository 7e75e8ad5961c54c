"""Load Kubernetes manifests from files, directories or YAML/JSON text, for the lint and the CLI.

The file I/O and YAML parsing that the pure Windows workload lint (:mod:`aks_windows_ops.rules.workloads`) needs
kept out of it: everything that reads a manifest goes through :func:`load_manifests`, under the size, document,
depth and node limits of :mod:`aks_windows_ops.limits`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aks_windows_ops import limits
from aks_windows_ops.errors import InvalidInput

__all__ = ["load_manifests"]


def _expand(doc: Any, source: str, out: list[dict[str, Any]]) -> None:
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise InvalidInput(f"{source}: a manifest must be a mapping, got {type(doc).__name__}")
    kind = doc.get("kind")
    items = doc.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for item in items:
            _expand(item, source, out)
        return
    out.append(doc)


def _parse_text(text: str, source: str) -> list[dict[str, Any]]:
    docs = limits.load_yaml_documents(text, limits.MANIFEST_LIMITS, source=source)
    out: list[dict[str, Any]] = []
    for doc in docs:
        _expand(doc, source, out)
    return out


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(
            p for p in path.rglob("*") if p.suffix.lower() in {".yaml", ".yml", ".json"} and p.is_file()
        )
    return [path]


def load_manifests(
    paths_or_text: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[dict[str, Any]]:
    """Load Kubernetes manifests from files, directories or YAML/JSON text (FAQ "Is Kubernetes different on Windows and Linux?" and the other workload rules).

    Multi-document YAML is split, ``List`` kinds (``kind: List``, ``PodList`` ...) are expanded into their
    items, and empty documents are dropped. A ``str`` naming an existing file or directory is read; any other
    ``str`` is parsed as manifest text. Directories are read recursively (``.yaml``, ``.yml``, ``.json``).

    Args:
        paths_or_text: a path, a directory, manifest text, or an iterable of paths and texts.

    Returns:
        The manifests as plain dicts, in file and document order.

    Raises:
        InvalidInput: a path cannot be read, or a document is not YAML or not a mapping.
    """
    if isinstance(paths_or_text, (str, os.PathLike)):
        sources: list[str | os.PathLike[str]] = [paths_or_text]
    else:
        sources = list(paths_or_text)
    out: list[dict[str, Any]] = []
    for source in sources:
        if isinstance(source, os.PathLike) or ("\n" not in source and _is_path(source)):
            path = Path(source)
            if not path.exists():
                raise InvalidInput(f"{path}: no such file or directory")
            for file in _files(path):
                text = limits.read_text_limited(file, limits.MANIFEST_LIMITS, what="manifest file")
                out.extend(_parse_text(text, str(file)))
        else:
            docs = _parse_scalar_guard(source)
            out.extend(docs)
    return out


def _is_path(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # a name too long for the file system, or with NUL: text, not a path
        return False


def _parse_scalar_guard(text: str) -> list[dict[str, Any]]:
    try:
        return _parse_text(text, "<text>")
    except InvalidInput:
        # A one-line string that is no mapping was most likely meant as a path: say so rather than "not a mapping".
        if "\n" not in text.strip() and ":" not in text:
            shown = text if len(text) <= 80 else f"{text[:77]}..."
            raise InvalidInput(f"{shown}: no such file or directory (and not manifest text)") from None
        raise
