"""Read a lifecycle data file supplied by the user (``--lifecycle-data FILE`` or ``AKS_WINDOWS_OPS_LIFECYCLE_DATA``).

The file has the shape of the one shipped in the package (``rules/data/lifecycle.yaml``); a newer copy updates
the Windows and Kubernetes lifecycle facts without a release. Validation is
:func:`aks_windows_ops.rules.lifecycle.parse_lifecycle`; this module only does the file I/O.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.rules.lifecycle import LIFECYCLE_ENV, LifecycleData, builtin_lifecycle, parse_lifecycle

__all__ = ["load_lifecycle"]

#: A lifecycle file is a few kilobytes; refuse anything far larger before parsing it.
MAX_LIFECYCLE_BYTES = 1_000_000


def load_lifecycle(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> LifecycleData:
    """Return the lifecycle data from ``path``, else from the file the environment names, else the built-in one.

    Implements the "newer data without a release" side of the lifecycle facts (FAQ "Which Windows operating
    systems are supported?").

    Args:
        path: a YAML or JSON file with the built-in file's keys.
        environ: the environment to read ``AKS_WINDOWS_OPS_LIFECYCLE_DATA`` from (``os.environ`` by default).

    Returns:
        The validated data.

    Raises:
        InvalidInput: the file is missing, unreadable, not YAML, too large, or a key is wrong (naming the file
            and the key).
    """
    env = os.environ if environ is None else environ
    chosen = path if path is not None else (env.get(LIFECYCLE_ENV) or None)
    if chosen is None:
        return builtin_lifecycle()
    file = Path(chosen)
    try:
        if file.stat().st_size > MAX_LIFECYCLE_BYTES:
            raise InvalidInput(f"lifecycle data {file}: larger than {MAX_LIFECYCLE_BYTES} bytes")
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"lifecycle data {file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"lifecycle data {file}: cannot be read ({exc.__class__.__name__})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"lifecycle data {file}: not valid YAML{where}") from None
    return parse_lifecycle(raw, origin=str(file))
