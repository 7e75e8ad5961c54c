"""Fixtures for the runbook engine tests: a virtual clock, the fake cloud, and the Azurite Blob emulator.

Azurite (Service facts: Test tooling) is installed once with npm into ``.cache/azurite`` at the repository root
(gitignored; about 30 s the first time; ``$AZURITE_CACHE_DIR`` overrides the place), started per test session on an ephemeral port with in-memory
persistence, and stopped by PID at the end. Without npm the ``azurite`` tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from runbook_fakes import FakeCloud, SetValueAction, VirtualClock

AZURITE_VERSION = "3.35.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
# CI can point this at a cached directory; the default sits in the gitignored .cache/ of the repository.
AZURITE_PREFIX = Path(os.environ.get("AZURITE_CACHE_DIR", REPO_ROOT / ".cache" / "azurite"))
# The emulator's published development account key (not a secret: it is the same for every Azurite).
DEVSTORE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LISTENING = re.compile(r"successfully listens on http://127\.0\.0\.1:(\d+)")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def cloud(clock: VirtualClock) -> FakeCloud:
    return FakeCloud(clock)


@pytest.fixture
def action(cloud: FakeCloud) -> SetValueAction:
    return SetValueAction(cloud)


def _azurite_binary() -> Path:
    name = "azurite-blob.cmd" if os.name == "nt" else "azurite-blob"
    return AZURITE_PREFIX / "node_modules" / ".bin" / name


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    # pytest-xdist workers share the cache directory: only one may run npm install in it.
    AZURITE_PREFIX.mkdir(parents=True, exist_ok=True)
    with open(AZURITE_PREFIX / ".install.lock", "w") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no xdist lock, installs are rare
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_azurite() -> Path:
    npm = shutil.which("npm")
    binary = _azurite_binary()
    if binary.exists():
        return binary
    if npm is None or shutil.which("node") is None:
        pytest.skip(
            f"the Azurite tests need Node.js and npm to install azurite@{AZURITE_VERSION}; not found on PATH"
        )
    with _install_lock():
        if not binary.exists():
            done = subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(AZURITE_PREFIX),
                    "--no-audit",
                    "--no-fund",
                    f"azurite@{AZURITE_VERSION}",
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0 or not binary.exists():
                pytest.fail(f"npm install azurite@{AZURITE_VERSION} failed:\n{done.stderr[-2000:]}")
    return binary


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    # Keeps reading after start-up so that Azurite never blocks on a full stdout pipe; None marks the end.
    for line in stream:
        lines.put(line)
    lines.put(None)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start Azurite's Blob service for the session; yield its connection string."""
    binary = _ensure_azurite()
    workdir = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        [
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ],
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    try:
        seen: list[str] = []
        port = None
        while port is None:
            try:
                line = lines.get(timeout=30)
            except queue.Empty:
                pytest.fail("Azurite did not report its port within 30 s:\n" + "".join(seen))
            if line is None:
                pytest.fail("Azurite exited during start-up:\n" + "".join(seen))
            seen.append(line)
            match = _LISTENING.search(line)
            if match:
                port = int(match.group(1))
        yield (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={DEVSTORE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def container_name() -> str:
    return f"cp{uuid.uuid4().hex[:20]}"
