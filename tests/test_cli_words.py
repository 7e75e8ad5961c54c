"""Words for people: no Python identifiers, internal document names or section numbers in what users read.

Checked over every command's help and every option's help, and over every message and "what to do" the
package's errors carry (their source text, so that a message a test never triggers is checked too).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aks_windows_ops import errors as E
from aks_windows_ops.cli import app

PACKAGE = Path(__file__).resolve().parents[1] / "aks_windows_ops"

#: Python keyword arguments (``max_pods=``, ``allow_hops=True``), internal documents and their numbering.
INTERNAL = re.compile(
    r"(?<![?&])\b[a-z][a-z0-9]*_[a-z0-9_]+\s*=(?!=)"
    r"|=\s*(True|False|None)\b"
    r"|\bREFERENCE\b|\bDESIGN\b|\bsection \d|\bprinciple \d"
    r"|<bool>|<list\[|\blist\[str\]"
    r"|\b[a-z][a-z0-9]*_[a-z0-9_]+ must\b"  # ``max_attempts must be ...``: a parameter's name
    r"|(?<![\w.-])[a-z][a-z0-9]*=(?=[\s)])"  # ``give subscriptions= (or clusters=)``
    r"|\b(?:give|pass|needs?) (?:exactly one of )?[a-z]+_[a-z_]+\b"  # ``one of container_client, ...``
)

ERROR_NAMES = {name for name in E.__all__ if isinstance(getattr(E, name), type)}


def test_the_pattern_finds_what_it_is_for() -> None:
    for bad in (
        "give kubernetes_version=... or node_image_only=True",
        "pass allow_hops=True",
        "needs max_pods=",
        "REFERENCE section 3",
        "DESIGN principle 4",
        "--debug <bool>",
        "max_attempts must be >= 1",
        "give subscriptions= (or clusters=) when passing a factory",
        "give exactly one of container_client, account_url or connection_string",
        "time_budget must be positive",
    ):
        assert INTERNAL.search(bad), bad
    for good in (
        "--max-pods 60",
        "key=value",
        "the FAQ's order",
        "maxSurge 33%",
        "a == b",
        '"resource_group" must be a string',
        "the time budget must be positive",
    ):
        assert not INTERNAL.search(good), good


def help_texts() -> Iterator[tuple[str, str]]:
    def walk(command: object, path: str) -> Iterator[tuple[str, str]]:
        yield path, getattr(command, "help", None) or ""
        for param in getattr(command, "params", []):
            yield f"{path} {'/'.join(param.opts)}", getattr(param, "help", None) or ""
        for name, sub in (getattr(command, "commands", None) or {}).items():
            yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(app), "aks-windows-ops")


def test_no_help_text_names_identifiers_or_internal_documents() -> None:
    found = [(where, text) for where, text in help_texts() if INTERNAL.search(text)]
    assert not found, found


@pytest.mark.parametrize("width", [80, 200])
def test_rendered_help_has_no_internal_words(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    runner = CliRunner()
    for where, _ in help_texts():
        words = where.split()[1:]
        if any(w.startswith("-") for w in words):
            continue
        result = runner.invoke(app, [*words, "-h"])
        assert result.exit_code == 0
        assert not INTERNAL.search(result.stdout), (where, INTERNAL.search(result.stdout))


def user_strings() -> Iterator[tuple[str, str]]:
    """Text of error messages and remediations in the package's source (the simulator excluded)."""

    def strings(node: ast.AST) -> Iterator[str]:
        for child in ast.walk(node):
            if isinstance(child, ast.Constant) and isinstance(child.value, str):
                yield child.value

    for path in sorted(PACKAGE.rglob("*.py")):
        if "testing" in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            texts: list[str] = []
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                owner = getattr(getattr(func, "value", None), "id", "")
                if name in ERROR_NAMES or name == "Finding":
                    for arg in node.args:
                        texts += strings(arg)
                if name == "append" and "problem" in owner:
                    for arg in node.args:
                        texts += strings(arg)
                for keyword in node.keywords:
                    if keyword.arg in ("remediation", "message"):
                        texts += strings(keyword.value)
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", "") == "default_remediation" for t in node.targets
            ):
                texts += strings(node.value)
            for text in texts:
                yield f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}", text


def test_no_error_message_names_identifiers_or_internal_documents() -> None:
    checked = list(user_strings())
    assert len(checked) > 100  # the scan reaches the package's messages
    found = [(where, text) for where, text in checked if INTERNAL.search(text)]
    assert not found, found


def test_each_error_type_has_its_own_what_to_do() -> None:
    remediations: dict[str, str] = {}
    for name in ERROR_NAMES:
        cls = getattr(E, name)
        text = getattr(cls, "default_remediation", "")
        if text and issubclass(cls, E.AksWindowsOpsError) and "default_remediation" in vars(cls):
            assert text not in remediations.values(), f"{name} repeats another error's what to do"
            remediations[name] = text
    assert len(remediations) >= 8


def test_a_single_problem_is_not_told_to_correct_the_listed_values() -> None:
    one = E.InvalidInput("--time-budget must be a positive duration, got '5x'")
    several = E.InvalidInput(["--time-budget is not a duration", "--max-pods is too large"])
    assert "listed values" not in one.remediation and one.remediation
    assert "listed values" in several.remediation
    own = E.InvalidInput("the subnet is full", remediation="Give the pool a larger subnet.")
    assert own.remediation == "Give the pool a larger subnet."


@pytest.mark.parametrize(
    "args",
    [
        ["patch", "--simulate", "healthy", "-k", "1.36.3", "--time-budget", "5x"],
        ["patch", "--simulate", "healthy", "-k", "one"],
        ["show", "--simulate", "nosuch"],
        ["lease", "show", "--plan", " "],
    ],
)
def test_cli_errors_with_one_problem_have_a_fitting_what_to_do(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 4, result.output
    error, what_to_do = result.stderr.strip().splitlines()
    assert error.startswith("ERROR: ") and what_to_do.startswith("What to do: ")
    assert "listed values" not in what_to_do
