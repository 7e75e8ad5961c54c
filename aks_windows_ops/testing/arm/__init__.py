"""The ARM simulator: an in-memory Azure Resource Manager the real Azure SDK clients talk to.

One job per module, each a layer of :class:`FakeAzure` built on the ones below it:

- ``state``: the data (clusters, operations, scale sets, networks) and the shared base class;
- ``journal`` and ``faults``: what was asked, and scripted failures around requests;
- ``operations``: long-running operations on virtual time, and 409 while one runs;
- ``network`` and ``compute``: the node resource group's virtual networks and scale sets;
- ``versions``: Kubernetes versions, upgrade profiles and node images;
- ``bodies``: the wire bodies the service fills in for new clusters and pools;
- ``pools`` and ``clusters``: the ``Microsoft.ContainerService`` API and its rules;
- ``router``, ``seeding`` and ``transport``: dispatch, the seeding API, and the azure-core transport.

What is modelled from recordings and what is a documented choice: docs, "Simulator fidelity".
"""

from __future__ import annotations

from aks_windows_ops.testing.arm.state import DEFAULT_DURATIONS
from aks_windows_ops.testing.arm.transport import FakeAzure, FakeCredential

__all__ = ["DEFAULT_DURATIONS", "FakeAzure", "FakeCredential"]
