"""The one seam through which product code reaches the simulator (design principle "one fake, at the wire").

``--simulate``, ``twin serve``, ``twin reset``, ``demo``, a rehearsed fleet audit and the Azure Functions timer's
scenario mode run on the simulator shipped in :mod:`aks_windows_ops.testing`. They reach it only through this
module: an import contract forbids every other product module to import the simulator, and each function here
imports it only when called, so a run against Azure never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from aks_windows_ops.testing.fake_azure import FakeAzure
    from aks_windows_ops.testing.kube.fake import FakeKubernetes
    from aks_windows_ops.testing.serve import TwinServer
    from aks_windows_ops.testing.twins import Twin

__all__ = [
    "builtin_scenarios",
    "fake_kubernetes",
    "load_scenario",
    "open_twin",
    "read_scenario",
    "reset_twin",
    "scenario_subscriptions",
    "twin_directory",
    "twin_server",
    "twin_target",
]


def builtin_scenarios() -> tuple[str, ...]:
    """The names of the scenarios shipped with the package (the twins ``--simulate NAME`` can rehearse on)."""
    from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS

    return BUILTIN_SCENARIOS


def read_scenario(source: Any) -> dict[str, Any]:
    """Parse and validate a scenario (a built-in name, a file, YAML text or a mapping).

    Raises:
        InvalidInput: the scenario cannot be read or breaks its schema (the message names the key and line).
    """
    from aks_windows_ops.testing.scenario import read_scenario as read

    return read(source)


def load_scenario(source: Any, **kwargs: Any) -> FakeAzure:
    """Build a fresh simulated Azure from a scenario; keyword arguments go to the simulator (``kube=`` ...)."""
    from aks_windows_ops.testing.scenario import load_scenario as load

    fake: FakeAzure = load(source, **kwargs)
    return fake


def scenario_subscriptions(fake: Any) -> tuple[str, ...]:
    """Every subscription of a simulated Azure that holds a resource group or a cluster (what a rehearsed audit covers)."""
    from aks_windows_ops.testing.scenario import scenario_subscriptions as subscriptions

    return subscriptions(fake)


def fake_kubernetes(**kwargs: Any) -> FakeKubernetes:
    """A simulated Kubernetes API server (not started) for a twin's cluster; keyword arguments go to it."""
    from aks_windows_ops.testing.kube.fake import FakeKubernetes

    return FakeKubernetes(**kwargs)


def twin_target(target: str) -> str:
    """The canonical name of a rehearsal target: a built-in scenario name or a scenario file's absolute path.

    Raises:
        InvalidInput: neither a built-in name nor an existing file.
    """
    from aks_windows_ops.testing.twins import twin_target as canonical

    return canonical(target)


def twin_directory(target: str) -> Path:
    """The private folder that holds the persisted twin of ``target`` (and its rehearsal checkpoints)."""
    from aks_windows_ops.testing.twins import twin_directory as directory

    return directory(target)


def open_twin(target: str, *, reset: bool = False, kube: Any = None) -> Twin:
    """Open the persisted twin of ``target`` under its lock (built from the scenario the first time or on reset)."""
    from aks_windows_ops.testing.twins import open_twin as opener

    return opener(target, reset=reset, kube=kube)


def reset_twin(target: str) -> bool:
    """Forget the twin of ``target`` and its rehearsal checkpoints; return whether there was one."""
    from aks_windows_ops.testing.twins import reset_twin as reset

    return reset(target)


def twin_server(fake: Any, **kwargs: Any) -> TwinServer:
    """The loopback HTTPS server (ARM for ``az``, the cluster's API for ``kubectl``) of a twin (not started)."""
    from aks_windows_ops.testing.serve import TwinServer

    return TwinServer(fake, **kwargs)
