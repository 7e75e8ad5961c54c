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


@nox.session
def audit(session: nox.Session) -> None:
    """Check the installed dependencies against the Python Packaging Advisory Database (pip-audit).

    Needs network access to PyPI (the advisory database and package metadata), so it is not a default
    session and the offline test suite does not run it; run it from a scheduled CI job (docs/security.md).
    """
    session.install("-e", ".[keyvault,blob,functions]")
    session.install("pip-audit>=2.7")
    session.run("pip-audit", "--progress-spinner", "off", "--skip-editable", *session.posargs)


@nox.session(name="az_twin")
def az_twin(session: nox.Session) -> None:
    """Run the Azure CLI's ``az aks`` commands for the FAQ procedures against ``twin serve`` (not default).

    The Azure CLI pins its own Azure SDK versions, so it gets a virtual environment of its own (outside the
    project's); set ``AZ=/path/to/az`` to use an installed one instead.
    """
    import os

    session.install("-e", ".")
    az = os.environ.get("AZ")
    if not az:
        venv = os.path.join(session.create_tmp(), "azure-cli")
        session.run("python", "-m", "venv", venv)
        session.run(os.path.join(venv, "bin", "pip"), "install", "-q", "azure-cli", external=True)
        az = os.path.join(venv, "bin", "az")
    session.run("python", "scripts/az_on_twin.py", *(session.posargs or ["az-on-twin.md"]), env={"AZ": az})
