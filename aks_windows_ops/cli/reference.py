"""The CLI reference page, generated from the commands themselves so that it never drifts.

``python -m aks_windows_ops.cli.reference PATH`` writes it; the docs build runs the same function through a
MkDocs hook (``docs/hooks/cli_reference.py``), and a test checks that the committed page is current.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["render_reference", "write_reference"]

HEADER = """# Command reference

<!-- Generated from the commands by `python -m aks_windows_ops.cli.reference`; do not edit by hand. -->

Every command and option of `aks-windows-ops`, as `aks-windows-ops COMMAND -h` shows them. The
[CLI guide](cli.md) explains the conventions, output formats and exit codes.
"""


def _commands(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name in sorted(subcommands):
            yield from _commands(subcommands[name], (*path, name))
    else:
        yield path, command


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _option_row(param: Any, ctx: Any) -> str:
    names = ", ".join(f"`{o}`" for o in (*param.opts, *param.secondary_opts))
    if getattr(param, "is_flag", False):
        value = ""
    else:
        metavar = param.metavar
        choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
        if choices and not metavar:
            metavar = "|".join(str(getattr(c, "value", c)) for c in choices)
        metavar = metavar or str(param.display_type_rich(ctx) or "").strip("<>").upper()
        metavar = {"INT RANGE": "N", "INT": "N", "STR": "TEXT"}.get(metavar, metavar)
        value = f"`{_cell(metavar)}`" if metavar else ""
    default = param.default
    default_value = getattr(default, "value", default)
    shown_default = "" if default_value in (None, False, (), []) or param.required else f"`{default_value}`"
    required = "yes" if param.required else ""
    return f"| {names} | {value} | {_cell(param.help or '')} | {shown_default} | {required} |"


def render_reference() -> str:
    """Return the Markdown reference of every command: usage, description, arguments and options."""
    import typer
    from typer._click.core import Context

    from aks_windows_ops.cli import app

    root = typer.main.get_command(app)
    ctx = Context(root, info_name="aks-windows-ops")
    out = [HEADER]
    global_params = [p for p in root.params if p.name not in ("install_completion", "show_completion")]
    out.append("## Global options\n")
    out.append("Accepted before or after the command.\n")
    out.append("| option | value | description | default | required |")
    out.append("|---|---|---|---|---|")
    out.extend(_option_row(p, ctx) for p in global_params if p.name != "help")
    out.append("")
    for path, command in _commands(root, ()):
        name = " ".join(path)
        out.append(f"## `aks-windows-ops {name}`\n")
        help_text = (command.help or "").strip()
        if help_text:
            out.append(help_text.replace("\b\n", "") + "\n")
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        options = [p for p in command.params if p.param_type_name == "option" and not p.hidden]
        usage = " ".join(
            [f"aks-windows-ops {name}"]
            + [(a.metavar or a.name or "").upper() for a in arguments]
            + ["[OPTIONS]"]
        )
        out.append(f"```text\n{usage}\n```\n")
        if arguments:
            out.append("| argument | description |")
            out.append("|---|---|")
            for argument in arguments:
                out.append(
                    f"| `{(argument.metavar or argument.name or '').upper()}` | {_cell(getattr(argument, 'help', '') or '')} |"
                )
            out.append("")
        if options:
            out.append("| option | value | description | default | required |")
            out.append("|---|---|---|---|---|")
            out.extend(_option_row(p, ctx) for p in options if p.name != "help")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_reference(path: Path) -> bool:
    """Write the reference to ``path`` if it changed; return whether it was written."""
    text = render_reference()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


if __name__ == "__main__":  # pragma: no cover
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/cli-commands.md")
    print(f"{target}: {'written' if write_reference(target) else 'already current'}")
