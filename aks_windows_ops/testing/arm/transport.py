"""``FakeAzure``: the simulator served as an azure-core ``HttpTransport`` to the real SDK clients.

Unmodified ``ContainerServiceClient``, ``ComputeManagementClient`` and ``NetworkManagementClient`` send their
requests here with a :class:`FakeCredential`; each request is matched against the scripted faults, routed,
answered and journaled. Time is virtual: :meth:`FakeAzure.sleep` (the SDK's poller and retry waits) advances
the clock, which drives the operations.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import ServiceResponseError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from aks_windows_ops.testing._http import FakeResponse, SimulatedCrash
from aks_windows_ops.testing.arm.bodies import canonical_enums
from aks_windows_ops.testing.arm.journal import classify, request_body
from aks_windows_ops.testing.arm.router import Router
from aks_windows_ops.testing.arm.seeding import Seeding
from aks_windows_ops.testing.arm.state import ArmError

#: A token lifetime in seconds.
_TOKEN_SECONDS = 3600


class FakeCredential:
    """A credential that hands out a fixed bearer token (the simulator checks no signature)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return a token valid for an hour."""
        return AccessToken("fake-token", int(time.time()) + _TOKEN_SECONDS)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        """Return a token valid for an hour (the newer credential protocol)."""
        return AccessTokenInfo("fake-token", int(time.time()) + _TOKEN_SECONDS)

    def close(self) -> None:
        """Nothing to release."""


class FakeAzure(Router, Seeding, HttpTransport):  # type: ignore[type-arg]
    """An ARM emulator that the real Azure SDK clients talk to (docs: "Simulator fidelity").

    Args:
        clock: the virtual clock (a new one by default).
        latency: real seconds to block on every request (benchmarks only).
        kube: an optional ``FakeKubernetes`` whose nodes follow the emulated pools.
        today: the simulated calendar date at virtual time zero.
        durations: overrides of :data:`~aks_windows_ops.testing.arm.state.DEFAULT_DURATIONS`.
        real_sleep: make :meth:`sleep` also sleep for real (benchmarks with real pacing).
    """

    #: Marks a simulated transport: plans applied through it are rehearsals (``Plan.mode`` ``twin``).
    simulated = True
    #: The twin's name (a built-in scenario or a scenario file), recorded in the mode of its plans.
    twin_name: str | None = None

    def open(self) -> None:
        """Nothing to open: the emulator lives in memory."""

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> FakeAzure:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def sleep(self, duration: float) -> None:
        """Advance virtual time instead of blocking (the SDK's poller and retries wait through this)."""
        self.clock.advance(duration if duration > 0 else 1.0)
        if self.real_sleep and duration > 0:
            time.sleep(min(duration, 0.05))

    def credential(self) -> FakeCredential:
        """Return a credential the SDK clients accept."""
        return FakeCredential()

    def send(self, request: HttpRequest, **kwargs: Any) -> FakeResponse:
        """Serve one HTTP request (requests arrive as ``azure.core.rest.HttpRequest``)."""
        if self.latency:
            time.sleep(self.latency)
        split = urlsplit(request.url)
        path = split.path.rstrip("/")
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        method = request.method.upper()
        body = request_body(request)
        if method in ("PUT", "PATCH"):
            body = canonical_enums(body)
        kind = classify(method, path)
        crash_after = reset_after = False
        with self._lock:
            self._advance()
            response: FakeResponse
            try:
                crash_after, reset_after = self._before_request(method, path, kind, body)
                response = self._route(request, method, path, query, body)
            except ArmError as err:
                response = FakeResponse(
                    request, err.status, {"error": {"code": err.code, "message": err.message}}, err.headers
                )
            self._record(method, path, response.status_code, kind, body)
        if crash_after:
            raise SimulatedCrash(f"simulated crash after {method} {path}")
        if reset_after:
            raise ServiceResponseError("Connection reset by peer after the request was applied (simulated)")
        return response

    @classmethod
    def from_scenario(cls, source: Any, **kwargs: Any) -> FakeAzure:
        """Build an emulator from a scenario file, a built-in scenario name, or a parsed dict."""
        from aks_windows_ops.testing.scenario import load_scenario

        fake: FakeAzure = load_scenario(source, **kwargs)
        return fake
