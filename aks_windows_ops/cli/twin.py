"""``aks-windows-ops twin serve``: serve a twin to real clients (``az``, ``kubectl``, your own scripts).

Operators rehearse their own scripts on a twin: the served ARM endpoint answers as the simulator does (the FAQ
procedures, 409 while an operation runs, long-running operations that take their simulated time), and the
cluster's Kubernetes API behaves like the simulated cluster (drains honour PodDisruptionBudgets).

``twin serve TARGET`` serves the same evolving twin as ``--simulate TARGET`` (its ARM state, Kubernetes state and
clock, see :mod:`aks_windows_ops.testing.twins`), holding its lock while serving: what az and kubectl change is
saved back as it happens and once more at shutdown, so a later ``status --simulate TARGET`` sees it. Commands
on the same twin wait until serving stops.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from aks_windows_ops import errors as E
from aks_windows_ops.cli.options import Output, OutputFormat, Query
from aks_windows_ops.cli.output import emit, note
from aks_windows_ops.cli.runtime import fail

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


def _document(
    endpoints: Any, env: dict[str, str], commands: list[str], kubeconfig: Path | None
) -> dict[str, Any]:
    return {
        "arm_url": endpoints.arm_url,
        "kube_url": endpoints.kube_url,
        "ca_file": endpoints.ca_file,
        "environment": env,
        "az_commands": commands,
        "kubeconfig": str(kubeconfig) if kubeconfig is not None else None,
    }


def _text(document: dict[str, Any]) -> str:
    lines = [
        f"Serving the twin: ARM {document['arm_url']}, Kubernetes {document['kube_url']}",
        "Point az at it (a custom cloud, offline managed-identity login):",
        *(f"  export {key}={value}" for key, value in document["environment"].items()),
        *(f"  {line}" for line in document["az_commands"]),
    ]
    if document["kubeconfig"]:
        lines.append(f"Point kubectl at it:\n  export KUBECONFIG={document['kubeconfig']}")
    return "\n".join(lines)


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
        60.0,
        "--time-rate",
        min=0.0,
        help="Simulated seconds that pass per real second while an operation is in flight "
        "(0: the clock stands still).",
    ),
    reset: bool = typer.Option(
        False, "--reset", help="Start the twin afresh from its scenario (forgets what was rehearsed on it)."
    ),
    arm_port: int = typer.Option(
        0, "--arm-port", min=0, max=65535, help="Port of the ARM endpoint (0: any)."
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Start the servers, print how to reach them, then stop (checks that TARGET serves).",
    ),
    output: Output = OutputFormat.table,
    query: Query = None,
) -> None:
    """Serve a twin on loopback over HTTPS: an ARM endpoint for az and the cluster's Kubernetes API for kubectl.

    Prints the commands that point az (a custom cloud and ``az login --identity``) and kubectl at the twin,
    and serves until interrupted (Ctrl-C or SIGTERM).
    """
    from aks_windows_ops.rehearsal import fake_kubernetes, open_twin, twin_server

    if not math.isfinite(time_rate):
        raise fail(E.InvalidInput(f"--time-rate: {time_rate} is not a finite number of simulated seconds"))
    for option, path in (("--kubeconfig", kubeconfig), ("--env-file", env_file)):
        if path is not None and (path.is_dir() or not path.parent.is_dir()):
            raise fail(E.InvalidInput(f"{option}: {path} is not a file in an existing directory"))
    try:
        twin = open_twin(target, reset=reset, kube=fake_kubernetes(ready_delay=0.0))
    except E.InvalidInput as err:
        raise fail(E.InvalidInput([f"cannot load the twin {target!r}: {p}" for p in err.problems])) from err
    except (KeyError, ValueError, OSError, TypeError) as err:
        raise fail(E.InvalidInput(f"cannot load the twin {target!r}: {err}")) from err
    fake, kube = twin.fake, twin.kube
    if not fake.clusters:
        twin.close(save=False)
        raise fail(E.InvalidInput(f"the twin {target!r} has no cluster"))
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Any] = {}
    if not check:
        previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = twin_server(fake, time_rate=time_rate, arm_port=arm_port, persist=twin.save)
    try:
        endpoints = server.start()
        (sub, _rg, _name), cluster = next(iter(sorted(fake.clusters.items())))
        env = endpoints.az_environment()
        if env_file is not None:
            _write_private(env_file, "".join(f"{k}={v}\n" for k, v in env.items()))
        if kubeconfig is not None:
            import yaml

            _write_private(kubeconfig, yaml.safe_dump(kube.kubeconfig(cluster.name)))
        commands = [
            *_az_commands(endpoints.arm_url, sub),
            f"az aks get-credentials --resource-group {cluster.resource_group} --name {cluster.name} "
            "--file twin.kubeconfig",
        ]
        document = _document(endpoints, env, commands, kubeconfig)
        document["twin"] = {"target": twin.target, "fresh": twin.fresh, "saved_in": str(twin.directory)}
        emit(document, output, query, table=_text)
        sys.stdout.flush()
        if not check:
            how = (
                "built afresh from its scenario"
                if twin.fresh
                else "continued from the last --simulate command"
            )
            note(
                f"Serving until Ctrl-C or SIGTERM; the twin is {how} and changes are saved to {twin.directory}."
            )
            while not stop.wait(0.2):
                pass
    finally:
        server.stop()
        twin.close()  # operations still in flight are finished, then the twin is saved and unlocked
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not check:
        note("Stopped.")


def register(app: typer.Typer) -> None:
    """Add the ``twin`` commands to the CLI."""
    app.add_typer(twin_app, name="twin")
