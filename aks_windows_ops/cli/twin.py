"""``aks-windows-ops twin serve``: serve a twin to real clients (``az``, ``kubectl``, your own scripts).

Operators rehearse their own scripts on a twin: the served ARM endpoint answers as the simulator does (the FAQ
procedures, 409 while an operation runs, long-running operations that take their simulated time), and the
cluster's Kubernetes API behaves like the simulated cluster (drains honour PodDisruptionBudgets).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from aks_windows_ops.cli.app import EXIT_INVALID, _console

__all__ = ["register", "serve", "twin_app"]

twin_app = typer.Typer(help="Serve and manage twins of clusters.", no_args_is_help=True)


def _write_private(path: Path, text: str) -> None:
    """Write an owner-only file atomically, so that a script waiting for it never reads half of it."""
    import os

    from aks_windows_ops.paths import private_file

    partial = private_file(path.with_name(f".{path.name}.partial"))
    partial.write_text(text)
    os.replace(partial, path)


def _az_commands(arm_url: str, subscription: str | None) -> list[str]:
    lines = [
        f"az cloud register --name AksWindowsOpsTwin --endpoint-resource-manager {arm_url}/",
        "az cloud set --name AksWindowsOpsTwin",
        "az login --identity",
    ]
    if subscription:
        lines.append(f"az account set --subscription {subscription}")
    return lines


@twin_app.command("serve")
def serve(
    target: str = typer.Argument(..., help="A built-in scenario name or a scenario YAML file."),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="Write the cluster's kubeconfig here once the servers accept connections."
    ),
    env_file: Path | None = typer.Option(
        None, "--env-file", help="Write the environment for az (KEY=value lines) here once serving."
    ),
    time_rate: float = typer.Option(
        60.0, "--time-rate", min=0.0, help="Simulated seconds that pass per real second (0: only on polls)."
    ),
    arm_port: int = typer.Option(
        0, "--arm-port", min=0, max=65535, help="Port of the ARM endpoint (0: any)."
    ),
) -> None:
    """Serve a twin on loopback over HTTPS: an ARM endpoint for az and the cluster's Kubernetes API for kubectl.

    Prints the commands that point az (a custom cloud and ``az login --identity``) and kubectl at the twin,
    and serves until interrupted (Ctrl-C or SIGTERM).
    """
    from aks_windows_ops.testing.fake_kube import FakeKubernetes
    from aks_windows_ops.testing.scenario import load_scenario
    from aks_windows_ops.testing.serve import TwinServer

    console = _console()
    try:
        kube = FakeKubernetes(ready_delay=0.0)
        fake = load_scenario(target, kube=kube)
    except (KeyError, ValueError, OSError) as err:
        console.print(f"[red]error:[/] cannot load the twin {target!r}: {err}", markup=True, highlight=False)
        raise typer.Exit(EXIT_INVALID) from err
    if not fake.clusters:
        console.print(f"[red]error:[/] the twin {target!r} has no cluster", highlight=False)
        raise typer.Exit(EXIT_INVALID)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Any] = {
        sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    server = TwinServer(fake, time_rate=time_rate, arm_port=arm_port)
    try:
        endpoints = server.start()
        (sub, _rg, _name), cluster = next(iter(sorted(fake.clusters.items())))
        env = endpoints.az_environment()
        if env_file is not None:
            _write_private(env_file, "".join(f"{k}={v}\n" for k, v in env.items()))
        if kubeconfig is not None:
            import yaml

            _write_private(kubeconfig, yaml.safe_dump(kube.kubeconfig(cluster.name)))
        console.print(
            f"Serving the twin {target!r}: ARM {endpoints.arm_url}, Kubernetes {endpoints.kube_url}"
        )
        console.print("Point az at it (a custom cloud, offline managed-identity login):", highlight=False)
        for key, value in env.items():
            console.print(f"  export {key}={value}", markup=False, highlight=False)
        for line in _az_commands(endpoints.arm_url, sub):
            console.print(f"  {line}", markup=False, highlight=False)
        console.print(
            f"  az aks get-credentials --resource-group {cluster.resource_group} --name {cluster.name} "
            "--file twin.kubeconfig",
            markup=False,
            highlight=False,
        )
        if kubeconfig is not None:
            console.print(
                f"Point kubectl at it:\n  export KUBECONFIG={kubeconfig}", markup=False, highlight=False
            )
        console.print("Serving until Ctrl-C or SIGTERM.", highlight=False)
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("Stopped.", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``twin`` commands to the CLI."""
    app.add_typer(twin_app, name="twin")
