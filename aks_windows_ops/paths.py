"""Where the library keeps its state on this machine.

The state directory holds the default checkpoint store, the lease records and the rehearsal twins. It is
private to the user: created with mode 0700, and files in it are written 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["STATE_DIR_ENV", "private_file", "state_dir"]

STATE_DIR_ENV = "AKS_WINDOWS_OPS_STATE_DIR"


def state_dir(*parts: str) -> Path:
    """Return (and create, mode 0700) the user's state directory, or a folder inside it.

    ``$AKS_WINDOWS_OPS_STATE_DIR`` when set; otherwise ``$XDG_STATE_HOME/aks-windows-ops`` or
    ``~/.local/state/aks-windows-ops`` (the XDG Base Directory specification's place for state).
    """
    configured = os.environ.get(STATE_DIR_ENV, "").strip()
    if configured:
        base = Path(configured).expanduser()
    else:
        xdg = os.environ.get("XDG_STATE_HOME", "").strip()
        base = (Path(xdg) if xdg else Path.home() / ".local" / "state") / "aks-windows-ops"
    path = base.joinpath(*parts)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in [base, *[base.joinpath(*parts[: i + 1]) for i in range(len(parts))]]:
        if folder.stat().st_mode & 0o077:
            folder.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` if missing and make it readable and writable by its owner only (0600)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    return path
