"""``FakeKubernetes``, the simulated Kubernetes API server (kept at this path; it lives in :mod:`.kube`)."""

from __future__ import annotations

from aks_windows_ops.testing.kube.fake import (
    AAD_SERVER_ID,
    ApiError,
    FakeKubernetes,
    HistoryEntry,
    RecordedRequest,
)
from aks_windows_ops.testing.kube.nodes import parse_taint

__all__ = ["AAD_SERVER_ID", "ApiError", "FakeKubernetes", "HistoryEntry", "RecordedRequest", "parse_taint"]
