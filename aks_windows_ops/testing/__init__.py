"""The simulator: the ARM emulator, the Kubernetes API server, scenario files and fixtures.

``FakeAzure`` serves ARM as an azure-core transport, ``FakeKubernetes`` is an API server on loopback
(design notes, "The simulator").

Names are imported lazily so that importing this package costs nothing until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "BUILTIN_SCENARIOS",
    "FakeAzure",
    "FakeCredential",
    "FakeKubernetes",
    "Fault",
    "SimulatedCrash",
    "VirtualClock",
    "load_scenario",
]

_WHERE = {
    "BUILTIN_SCENARIOS": "aks_windows_ops.testing.scenario",
    "FakeAzure": "aks_windows_ops.testing.arm",
    "FakeCredential": "aks_windows_ops.testing.arm",
    "FakeKubernetes": "aks_windows_ops.testing.kube.fake",
    "Fault": "aks_windows_ops.testing._http",
    "SimulatedCrash": "aks_windows_ops.testing._http",
    "VirtualClock": "aks_windows_ops.testing._http",
    "load_scenario": "aks_windows_ops.testing.scenario",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
