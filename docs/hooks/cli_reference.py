"""MkDocs hook: regenerate the command reference page from the commands before every docs build."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def on_pre_build(config: Any) -> None:
    """Write ``docs/cli-commands.md`` from the CLI's own command tree (only when it changed)."""
    from aks_windows_ops.cli.reference import write_reference

    write_reference(Path(config["docs_dir"]) / "cli-commands.md")
