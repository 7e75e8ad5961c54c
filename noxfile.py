"""Developer sessions: tests, lint, typecheck, docs, notebooks, bench."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", "-n", "2", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[lint,test]")
    session.run("mypy", "--strict", "aks_windows_ops")


@nox.session
def docs(session: nox.Session) -> None:
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict")


@nox.session
def notebooks(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", "tests/test_notebooks.py")


@nox.session
def bench(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/run_all.py", *session.posargs)


@nox.session(name="az_twin")
def az_twin(session: nox.Session) -> None:
    """Run the Azure CLI's ``az aks`` commands for the FAQ procedures against ``twin serve`` (not default)."""
    session.install("-e", ".", "azure-cli")
    session.run("python", "scripts/az_on_twin.py", *(session.posargs or ["az-on-twin.md"]))
