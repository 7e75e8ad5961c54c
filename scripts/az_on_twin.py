"""Run the Azure CLI's ``az aks`` commands for the FAQ procedures against ``aks-windows-ops twin serve``.

Used by the ``az_twin`` nox session (the Azure CLI is a large install, so it is not part of the default
sessions). It starts ``twin serve healthy`` with ``--env-file``/``--kubeconfig``, waits for both files, points
``az`` at the twin (a custom cloud and ``az login --identity`` against the twin's managed-identity endpoint),
runs one command per FAQ procedure, and writes a Markdown table of the results (command, exit code, the first
line of any error) to the file given as the first argument.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RG, CLUSTER = "rg-prod", "aks-prod"


def main(out: Path) -> int:
    """Serve the twin, run the commands, write the results table to ``out``; 0 when every command passed."""
    az = shutil.which("az")
    if az is None:
        print("the Azure CLI (az) is not installed", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="az-twin-"))
    env_file, kubeconfig = work / "twin.env", work / "twin.kubeconfig"
    serve = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from aks_windows_ops.cli import main; main()",
            "twin",
            "serve",
            "healthy",
            "--env-file",
            str(env_file),
            "--kubeconfig",
            str(kubeconfig),
            "--time-rate",
            "600",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (env_file.exists() and kubeconfig.exists()):
        if serve.poll() is not None or time.monotonic() > deadline:
            print("twin serve did not start", file=sys.stderr)
            return 2
        time.sleep(0.2)
    env = dict(os.environ)
    env.update(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    env["AZURE_CONFIG_DIR"] = str(work / "azure")
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(key, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    arm = env["IDENTITY_ENDPOINT"].rsplit("/msi/token", 1)[0]
    version = subprocess.run(
        [az, "version", "-o", "tsv"], capture_output=True, text=True, env=env, check=False
    )
    steps: list[tuple[str, list[str]]] = [
        (
            "Register the twin as a cloud",
            ["cloud", "register", "--name", "AksWindowsOpsTwin", "--endpoint-resource-manager", f"{arm}/"],
        ),
        ("Use it", ["cloud", "set", "--name", "AksWindowsOpsTwin"]),
        ("Log in (managed identity)", ["login", "--identity"]),
        ("Read the cluster", ["aks", "show", "-g", RG, "-n", CLUSTER]),
        ("List the node pools", ["aks", "nodepool", "list", "-g", RG, "--cluster-name", CLUSTER]),
        (
            "Rotate the Windows admin password",
            ["aks", "update", "-g", RG, "-n", CLUSTER, "--windows-admin-password", "Twin-Passw0rd-2026!"],
        ),
        ("Enable Azure Hybrid Benefit", ["aks", "update", "-g", RG, "-n", CLUSTER, "--enable-ahub"]),
        (
            "Add a Windows Server 2022 pool",
            [
                "aks",
                "nodepool",
                "add",
                "-g",
                RG,
                "--cluster-name",
                CLUSTER,
                "-n",
                "win3",
                "--os-type",
                "Windows",
                "--os-sku",
                "Windows2022",
                "--node-count",
                "1",
            ],
        ),
        (
            "Upgrade a pool's node image",
            [
                "aks",
                "nodepool",
                "upgrade",
                "-g",
                RG,
                "--cluster-name",
                CLUSTER,
                "-n",
                "win3",
                "--node-image-only",
            ],
        ),
        ("Upgrade the cluster", ["aks", "get-upgrades", "-g", RG, "-n", CLUSTER]),
        ("Delete the pool", ["aks", "nodepool", "delete", "-g", RG, "--cluster-name", CLUSTER, "-n", "win3"]),
        ("Get credentials", ["aks", "get-credentials", "-g", RG, "-n", CLUSTER, "--file", str(work / "kc")]),
    ]
    rows = []
    try:
        for title, args in steps:
            done = subprocess.run(
                [az, *args, "-o", "none"], capture_output=True, text=True, env=env, check=False, timeout=600
            )
            error = (
                next((line for line in done.stderr.splitlines() if line.strip()), "")
                if done.returncode
                else ""
            )
            rows.append(
                f"| {title} | `az {' '.join(a if 'Passw0rd' not in a else '***' for a in args)}` | {done.returncode} | {error} |"
            )
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
    out.write_text(
        "# az against a twin: results\n\n"
        f"Azure CLI: `{version.stdout.split()[1] if version.stdout.split()[1:] else 'unknown'}`\n\n"
        "| Procedure | Command | Exit code | Error |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    return 0 if all(row.split("|")[3].strip() == "0" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "az-on-twin.md")))
