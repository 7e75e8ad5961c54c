"""The documentation: its Python examples run on the simulator, its CLI reference matches the CLI, it builds."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
SKIP_MARK = "<!-- skip -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)$")


@dataclass
class Block:
    page: Path
    line: int
    language: str
    code: str
    skipped: bool


def blocks(page: Path) -> list[Block]:
    """Fenced code blocks of a page; a block right after ``<!-- skip -->`` is marked skipped."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    previous = ""
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            if lines[index].strip():
                previous = lines[index].strip()
            index += 1
            continue
        indent, info = match["indent"], match["info"].strip()
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            line = lines[index]
            body.append(line[len(indent) :] if line.startswith(indent) else line)
            index += 1
        language = info.split()[0] if info else ""
        found.append(Block(page, start + 1, language, "\n".join(body) + "\n", previous == SKIP_MARK))
        previous = ""
        index += 1
    return found


def python_pages() -> list[Path]:
    return [p for p in PAGES if any(b.language == "python" and not b.skipped for b in blocks(p))]


def test_docs_have_examples_and_skips_are_only_for_real_azure() -> None:
    assert python_pages(), "no runnable example found"
    for page in PAGES:
        for block in blocks(page):
            if block.skipped:
                # Only snippets that need a real subscription (or a real Key Vault, storage account ...) skip.
                assert re.search(
                    r"<subscription|<vault|<account|AzureClients\(|DefaultAzureCredential", block.code
                ), f"{page.relative_to(ROOT)}:{block.line}: skipped block does not need real Azure"


@pytest.mark.parametrize("page", python_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_python_examples_run_on_the_simulator(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ```python block of a page runs, in order, in one namespace (skipped blocks excepted)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # the default checkpoint file lands here, not in ~
    for name in [n for n in os.environ if n.startswith("AKS_WINDOWS_OPS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AKS_WINDOWS_OPS_CHECKPOINTS", str(tmp_path / "checkpoints.json"))
    from aks_windows_ops.integrations import functions

    functions.reset_runtime()
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    try:
        for block in blocks(page):
            if block.language != "python" or block.skipped:
                continue
            code = compile(block.code, f"{page.relative_to(ROOT)}:{block.line}", "exec")
            try:
                exec(code, namespace)
            except Exception as err:
                raise AssertionError(
                    f"{page.relative_to(ROOT)}, block at line {block.line} failed: {err!r}"
                ) from err
    finally:
        functions.reset_runtime()
        for value in list(namespace.values()):
            stop = getattr(value, "stop", None)
            if type(value).__name__ == "FakeKubernetes" and callable(stop):
                stop()


def test_cli_reference_covers_every_command() -> None:
    from aks_windows_ops.cli import app

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    names = [
        command.name or command.callback.__name__ for command in app.registered_commands if command.callback
    ]
    names += [group.name for group in app.registered_groups if group.name]
    missing = [name for name in names if f"`aks-windows-ops {name}" not in text]
    assert not missing, f"docs/cli.md does not document: {missing}"
    for code in range(6):
        assert f"| {code} |" in text, f"exit code {code} is not documented"


def cli_lines() -> list[tuple[str, str]]:
    """``aks-windows-ops ...`` lines of the shell blocks, continuation lines joined, pipes and comments cut."""
    found: list[tuple[str, str]] = []
    for page in PAGES:
        for block in blocks(page):
            if block.language not in ("bash", "sh", "console", ""):
                continue
            text = re.sub(r"\\\n\s*", " ", block.code)
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("aks-windows-ops "):
                    found.append((f"{page.relative_to(ROOT)}:{block.line}", line))
    return found


def test_cli_examples_use_existing_commands_and_options() -> None:
    import shlex

    import typer

    from aks_windows_ops.cli import app

    root = typer.main.get_command(app)  # a command tree (Typer ships its own copy of click's classes)
    checked = 0
    for where, line in cli_lines():
        words = shlex.split(line, comments=True)
        for stop in ("|", ">", "<", "3<", "&&"):
            if stop in words:
                words = words[: words.index(stop)]
        command = root
        args = [w for w in words[1:] if w not in ("--debug", "--simulate-reset")]  # the root options
        while isinstance(getattr(command, "commands", None), dict) and args and not args[0].startswith("-"):
            sub = command.commands.get(args[0])
            assert sub is not None, f"{where}: no command {args[0]!r} in {line!r}"
            command, args = sub, args[1:]
        assert not hasattr(command, "commands"), f"{where}: incomplete command {line!r}"
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        unknown = [a.split("=")[0] for a in args if a.startswith("-") and a.split("=")[0] not in known]
        assert not unknown, f"{where}: {line!r} uses unknown options {unknown}"
        checked += 1
    assert checked >= 20


def test_links_to_existing_pages() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert "performance.md" in index and "faq-map.md" in index


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]' to build the documentation")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert (tmp_path / "site" / "index.html").exists()
