"""``FakeAzure``: an in-memory Azure Resource Manager served as an azure-core ``HttpTransport``.

The simulator lives in :mod:`aks_windows_ops.testing.arm` (one module per job); this module keeps the names it
has always offered importable from here.
"""

from __future__ import annotations

from aks_windows_ops.testing.arm.bodies import build_cluster, canonical_enums, complete_cluster, pool_defaults
from aks_windows_ops.testing.arm.pools import OLD_IMAGE_MESSAGE
from aks_windows_ops.testing.arm.state import ARM, DEFAULT_DURATIONS, ArmError, Cluster, Operation, iso
from aks_windows_ops.testing.arm.transport import FakeAzure, FakeCredential

# The names other simulator modules used before the split.
_Cluster = Cluster
_Operation = Operation
_ArmError = ArmError
_iso = iso

__all__ = [
    "ARM",
    "DEFAULT_DURATIONS",
    "OLD_IMAGE_MESSAGE",
    "FakeAzure",
    "FakeCredential",
    "build_cluster",
    "canonical_enums",
    "complete_cluster",
    "pool_defaults",
]
