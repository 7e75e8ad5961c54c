"""The ``aks-windows-ops`` command line: :data:`app` (the typer application) and :func:`main` (its entry point).

The commands live in one module per area (``app``, ``checks``, ``pools``, ``workloads``, ``plans``, ``fleet``).
"""

from __future__ import annotations

from aks_windows_ops.cli.app import app, main

__all__ = ["app", "main"]
