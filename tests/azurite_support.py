"""Azurite (the Blob emulator) for tests outside tests/runbooks (Service facts: Test tooling).

``start_azurite`` installs ``azurite@3.35.0`` with npm into ``.cache/azurite`` (or ``$AZURITE_CACHE_DIR``) the
first time, starts ``azurite-blob`` on an ephemeral port with in-memory persistence, and yields the
``devstoreaccount1`` connection string; the process is stopped by its PID afterwards. Without Node.js the
caller's test is skipped with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

VERSION = "3.35.0"
ROOT = Path(__file__).resolve().parents[1]
# The published development key of every Azurite instance (documented by Microsoft; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_PORT_LINE = re.compile(r"listens on http://127\.0\.0\.1:(?P<port>\d+)")


def cache_dir() -> Path:
    """Where npm installs Azurite (shared with tests/runbooks, so it is installed once)."""
    return Path(os.environ.get("AZURITE_CACHE_DIR", ROOT / ".cache" / "azurite"))


def _executable() -> Path:
    suffix = ".cmd" if sys.platform == "win32" else ""
    return cache_dir() / "node_modules" / ".bin" / f"azurite-blob{suffix}"


@contextmanager
def _locked() -> Iterator[None]:
    # xdist workers (and the runbook tests) may install at the same moment: one npm at a time.
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / ".install.lock", "a") as lock_file:
        if sys.platform == "win32":
            yield
            return
        import fcntl

        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


def ensure_installed() -> Path:
    """Return the ``azurite-blob`` executable, installing it with npm if needed (skips without Node.js)."""
    executable = _executable()
    if executable.exists():
        return executable
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip(f"needs Node.js and npm to install azurite@{VERSION}")
    with _locked():
        if not executable.exists():
            command = [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(cache_dir()),
                f"azurite@{VERSION}",
            ]
            done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
            if done.returncode != 0 or not executable.exists():
                pytest.fail(
                    f"installing azurite@{VERSION} failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
                )
    return executable


def connection_string(port: int) -> str:
    """The explicit ``devstoreaccount1`` connection string for Azurite on ``port``."""
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


@contextmanager
def start_azurite(workdir: Path, *, timeout: float = 30.0) -> Iterator[str]:
    """Run ``azurite-blob`` on an ephemeral port in ``workdir``; yield its connection string."""
    executable = ensure_installed()
    args = [
        str(executable),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--disableTelemetry",
    ]
    process = subprocess.Popen(
        args,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    found = threading.Event()
    port: list[int] = []

    def read() -> None:
        # Keep draining stdout for the life of the process, so that Azurite never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = _PORT_LINE.search(line)
            if match and not port:
                port.append(int(match["port"]))
                found.set()
        found.set()

    threading.Thread(target=read, name="azurite-output", daemon=True).start()
    try:
        deadline = time.monotonic() + timeout
        while not found.wait(0.1):
            if time.monotonic() > deadline:
                pytest.fail("Azurite printed no port within the timeout:\n" + "".join(output))
        if not port:
            pytest.fail("Azurite stopped while starting:\n" + "".join(output))
        yield connection_string(port[0])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
