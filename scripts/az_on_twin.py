"""Run the Azure CLI's ``az aks`` commands for the FAQ procedures against ``aks-windows-ops twin serve``.

Used by the ``az_twin`` nox session (the Azure CLI is a large install, so it is not part of the default
sessions), or directly: ``AZ=/path/to/az python scripts/az_on_twin.py OUT.md``. It serves the ``healthy``
twin (in a private state directory, so the user's own twins are untouched) with ``--env-file`` and
``--kubeconfig``, points ``az`` at it (a custom cloud and ``az login --identity`` against the twin's
managed-identity endpoint), runs one command per FAQ procedure, stops the twin with SIGTERM and reads it back
with ``aks-windows-ops show --simulate``. It writes a Markdown table (command, expected and actual exit code,
outcome) to OUT.md and exits 0 when every command ended as expected.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RG, CLUSTER, TWIN = "rg-prod", "aks-prod", "healthy"
PASSWORD = "Twin-Passw0rd-2026!"
RATE = ["--time-rate", "120"]
CLI = [sys.executable, "-c", "from aks_windows_ops.cli import main; main()"]


@dataclass
class Step:
    """One command: what it rehearses, its arguments, the exit code a real cluster would give."""

    title: str
    args: list[str]
    expect: int = 0
    query: str | None = None


@dataclass
class Result:
    """What a step did."""

    step: Step
    code: int
    outcome: str
    seconds: float


def _outcome(done: subprocess.CompletedProcess[str]) -> str:
    if done.returncode:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        return next((line for line in lines if line.startswith("ERROR")), lines[0] if lines else "")
    text = " ".join(done.stdout.split())
    return text[:160]


def _run(command: list[str], env: dict[str, str], step: Step) -> tuple[Result, str]:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=900)
    return Result(step, done.returncode, _outcome(done), time.monotonic() - started), done.stdout


def _shown(args: list[str], work: Path) -> str:
    return " ".join("***" if a == PASSWORD else a for a in args).replace(str(work), "WORK")


def main(out: Path) -> int:
    """Serve the twin, run the commands, write the results table to ``out``; 0 when all ended as expected."""
    az = os.environ.get("AZ") or shutil.which("az")
    kubectl = shutil.which("kubectl")
    if az is None:
        print("the Azure CLI (az) is not installed (set AZ=/path/to/az)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="az-twin-"))
    env_file, kubeconfig = work / "twin.env", work / "twin.kubeconfig"
    base_env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    base_env.update(AKS_WINDOWS_OPS_STATE_DIR=str(work / "state"), NO_PROXY="127.0.0.1,localhost")
    base_env["no_proxy"] = base_env["NO_PROXY"]
    serve = subprocess.Popen(
        [*CLI, "twin", "serve", TWIN, "--env-file", str(env_file), "--kubeconfig", str(kubeconfig), *RATE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=base_env,
    )
    deadline = time.monotonic() + 60
    while not (env_file.exists() and kubeconfig.exists()):
        if serve.poll() is not None or time.monotonic() > deadline:
            print("twin serve did not start", file=sys.stderr)
            return 2
        time.sleep(0.2)
    env = dict(base_env)
    for line in env_file.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            env[key] = value
    env["AZURE_CONFIG_DIR"] = str(work / "azure")
    arm = env["IDENTITY_ENDPOINT"].rsplit("/msi/token", 1)[0]
    version = json.loads(
        subprocess.run([az, "version", "-o", "json"], capture_output=True, text=True, env=env).stdout
    )
    pool_q = ["-g", RG, "--cluster-name", CLUSTER]
    results: list[Result] = []

    def az_step(step: Step) -> Result:
        args = [*step.args, *(["--query", step.query, "-o", "tsv"] if step.query else ["-o", "none"])]
        result, _ = _run([az, *args], env, step)
        results.append(result)
        return result

    try:
        for step in (
            Step(
                "Register the twin as a cloud",
                [
                    "cloud",
                    "register",
                    "--name",
                    "AksWindowsOpsTwin",
                    "--endpoint-resource-manager",
                    f"{arm}/",
                ],
            ),
            Step("Use it", ["cloud", "set", "--name", "AksWindowsOpsTwin"]),
            Step("Log in (managed identity)", ["login", "--identity"], query="[].name"),
            Step(
                "Read the cluster",
                ["aks", "show", "-g", RG, "-n", CLUSTER],
                query="[kubernetesVersion, provisioningState, windowsProfile.licenseType]",
            ),
            Step(
                "List the node pools",
                ["aks", "nodepool", "list", *pool_q],
                query="[].[name, osType, osSku, count]",
            ),
            Step(
                "Rotate the Windows admin password (FAQ)",
                ["aks", "update", "-g", RG, "-n", CLUSTER, "--windows-admin-password", PASSWORD],
                query="provisioningState",
            ),
            Step(
                "Disable Azure Hybrid Benefit (FAQ)",
                ["aks", "update", "-g", RG, "-n", CLUSTER, "--disable-ahub"],
                query="windowsProfile.licenseType",
            ),
            Step(
                "Enable Azure Hybrid Benefit (FAQ)",
                ["aks", "update", "-g", RG, "-n", CLUSTER, "--enable-ahub"],
                query="windowsProfile.licenseType",
            ),
            Step(
                "Add a Windows Server 2022 pool (FAQ)",
                [
                    "aks",
                    "nodepool",
                    "add",
                    *pool_q,
                    "-n",
                    "win3",
                    "--os-type",
                    "Windows",
                    "--os-sku",
                    "Windows2022",
                    "--node-count",
                    "1",
                ],
                query="[osSku, count, provisioningState]",
            ),
            Step(
                "Node image upgrade of a pool already on the latest image (FAQ patching)",
                ["aks", "nodepool", "upgrade", *pool_q, "-n", "win3", "--node-image-only", "--yes"],
                query="[nodeImageVersion, provisioningState]",
            ),
            Step(
                "Versions offered",
                ["aks", "get-upgrades", "-g", RG, "-n", CLUSTER],
                query="controlPlaneProfile.upgrades[-1].kubernetesVersion",
            ),
        ):
            az_step(step)
        target = results[-1].outcome.strip() if results[-1].code == 0 else ""
        for step in (
            Step(
                "Upgrade the control plane only (FAQ: control plane first)",
                [
                    "aks",
                    "upgrade",
                    "-g",
                    RG,
                    "-n",
                    CLUSTER,
                    "--control-plane-only",
                    "--kubernetes-version",
                    target,
                    "--yes",
                ],
                query="[currentKubernetesVersion, provisioningState]",
            ),
            Step(
                "Upgrade a Windows pool, not waiting",
                [
                    "aks",
                    "nodepool",
                    "upgrade",
                    *pool_q,
                    "-n",
                    "win22",
                    "--kubernetes-version",
                    target,
                    "--no-wait",
                    "--yes",
                ],
            ),
            Step(
                "Change the pool while it upgrades (409 expected)",
                ["aks", "nodepool", "update", *pool_q, "-n", "win22", "--labels", "rehearsal=yes"],
                expect=1,
            ),
            Step(
                "Wait for the pool (GET polling of the pool)",
                ["aks", "nodepool", "wait", *pool_q, "-n", "win22", "--updated", "--interval", "1"],
            ),
            Step(
                "The pool after the wait",
                ["aks", "nodepool", "show", *pool_q, "-n", "win22"],
                query="[currentOrchestratorVersion, provisioningState]",
            ),
            Step("Delete the added pool", ["aks", "nodepool", "delete", *pool_q, "-n", "win3"]),
            Step(
                "Get credentials",
                [
                    "aks",
                    "get-credentials",
                    "-g",
                    RG,
                    "-n",
                    CLUSTER,
                    "--file",
                    str(work / "kc"),
                    "--overwrite-existing",
                ],
            ),
        ):
            az_step(step)
        if kubectl is not None:
            kc_step = Step(
                "kubectl with that kubeconfig",
                [kubectl, "--kubeconfig", str(work / "kc"), "get", "nodes", "-o", "name"],
            )
            result, stdout = _run(kc_step.args, env, kc_step)
            result.outcome = f"{len(stdout.split())} nodes" if result.code == 0 else result.outcome
            results.append(result)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=120)
    saved = Step("Read the saved twin back after SIGTERM", ["show", "--simulate", TWIN, "-o", "json"])
    shown = subprocess.run([*CLI, *saved.args], capture_output=True, text=True, env=base_env, check=False)
    summary = ""
    if shown.returncode == 0:
        snap = json.loads(shown.stdout)
        summary = f"control plane {snap['current_kubernetes_version']}; " + ", ".join(
            f"{p['name']} {p['current_orchestrator_version']}" for p in snap["pools"]
        )
    results.append(Result(saved, shown.returncode, summary or _outcome(shown), 0.0))
    rows = [
        f"| {r.step.title} | `{'aks-windows-ops' if r.step is saved else 'az' if r.step.args[0] != kubectl else 'kubectl'} "
        f"{_shown(r.step.args if r.step.args[0] != kubectl else r.step.args[1:], work)}` | {r.step.expect} | {r.code} | "
        f"{r.outcome.replace('|', '/')} |"
        for r in results
    ]
    out.write_text(
        "| Procedure | Command | Expected exit | Exit | Outcome |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
        f"\nAzure CLI {version.get('azure-cli', 'unknown')}, twin `{TWIN}`, `{' '.join(RATE)}`; WORK is a temporary folder.\n"
    )
    print(out.read_text())
    return 0 if all(r.code == r.step.expect for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "az-on-twin.md")))
