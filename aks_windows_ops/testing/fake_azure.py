"""``FakeAzure``: an in-memory Azure Resource Manager served as an azure-core ``HttpTransport``.

Unmodified ``ContainerServiceClient``, ``ComputeManagementClient`` and ``NetworkManagementClient`` run against it
with a :class:`FakeCredential` (design notes, "The simulator"). It answers like the recordings in ``cassettes/``:
PUT 201/200 with ``Azure-AsyncOperation``; DELETE and POST 202 with ``Azure-AsyncOperation`` and ``Location``;
operation status ``InProgress`` (or free text) then ``Succeeded``/``Failed``/``Canceled``; non-terminal
provisioning states while an operation runs; 409 ``OperationNotAllowed`` for a write during another operation;
the service-side rules of Service facts: FAQ rules; How the Azure CLI does it; ARM behaviour; and the side effects the FAQ describes (password and
license changes reimage the Windows pools and update the scale sets' ``licenseType``; a node image upgrade only
picks up a newer Windows image after a control plane upgrade).

Time is virtual: :meth:`FakeAzure.sleep` advances :attr:`FakeAzure.clock`, which drives operation progress.
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import json
import math
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import ServiceResponseError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from aks_windows_ops.testing import catalog
from aks_windows_ops.testing._http import FakeResponse, Fault, JournalEntry, SimulatedCrash, VirtualClock
from aks_windows_ops.testing.fake_registry import FakeRegistry

__all__ = ["FakeAzure", "FakeCredential"]

ARM = "https://management.azure.com"
_TERMINAL = ("Succeeded", "Failed", "Canceled")
_WINDOWS_NAME = re.compile(r"^[a-z][a-z0-9]{0,5}$")
_LINUX_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
OLD_IMAGE_MESSAGE = (
    "The following list of images referenced from the deployment template is not found: Publisher: "
    "MicrosoftWindowsServer, Offer: WindowsServer, Sku: 2019-datacenter-core-smalldisk-2004, Version: latest. "
    "Please refer to https://docs.microsoft.com/en-us/azure/virtual-machines/windows/cli-ps-findimage for "
    "instructions on finding available images."
)

#: Virtual durations in seconds (Service facts: ARM behaviour).
DEFAULT_DURATIONS: dict[str, float] = {
    "create_cluster": 480.0,
    "delete_cluster": 600.0,
    "create_pool": 390.0,  # 5-8 min
    "delete_pool": 240.0,
    "scale_pool": 180.0,
    "update_pool": 120.0,
    "update_cluster": 120.0,
    "windows_profile_base": 720.0,  # password / AHUB: 12-14 min for one node
    "windows_profile_per_node": 120.0,
    "control_plane_upgrade": 900.0,  # ~15 min
    "pool_upgrade_per_node": 300.0,
    "node_image_linux_per_node": 180.0,
    "node_image_windows_per_node": 300.0,  # ~5 min per node plus the image pull
    "windows_image_pull": 900.0,
    "vm_update": 60.0,
    "abort": 30.0,
}


class FakeCredential:
    """A credential that hands out a fixed bearer token (Service facts: Serving the SDK from an in-memory ARM)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return a token valid for an hour."""
        return AccessToken("fake-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        """Return a token valid for an hour (the newer credential protocol)."""
        return AccessTokenInfo("fake-token", int(time.time()) + 3600)

    def close(self) -> None:
        """Nothing to release."""


class _ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class _Operation:
    id: str
    subscription: str
    location: str
    provider: str
    cluster_key: tuple[str, str, str] | None
    pool: str | None
    kind: str
    start: float
    duration: float
    on_success: Callable[[], None] | None = None
    on_failure: Callable[[], None] | None = None
    status: str = "InProgress"
    error: dict[str, str] | None = None
    fail_with: tuple[str, str] | None = None
    stuck: bool = False
    end: float | None = None
    progress_total: int = 0

    def status_body(self, now: float, base: _dt.datetime) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.id,
            "status": self.status,
            "startTime": _iso(base, self.start),
        }
        if self.status == "InProgress" and self.progress_total and now > self.start + self.duration / 2:
            # The service reports free-text progress on long pool operations (2025 recordings).
            done = min(
                self.progress_total - 1, int((now - self.start) / max(self.duration, 1) * self.progress_total)
            )
            body["status"] = f"CreatingAgentPool: {done}/{self.progress_total} nodes completed"
        if self.end is not None:
            body["endTime"] = _iso(base, self.end)
        if self.error:
            body["error"] = self.error
        return body


@dataclass
class _Cluster:
    subscription: str
    resource_group: str
    name: str
    body: dict[str, Any]
    pools: dict[str, dict[str, Any]] = field(default_factory=dict)
    legacy_windows_image: bool = False
    windows_image_cutoff: _dt.date | None = None
    etag: str = ""
    admin_password_set: bool = False
    pool_etags: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subscription, self.resource_group.lower(), self.name.lower())

    @property
    def props(self) -> dict[str, Any]:
        props: dict[str, Any] = self.body["properties"]
        return props


def _iso(base: _dt.datetime, seconds: float) -> str:
    return (base + _dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _mask(body: Any) -> Any:
    """Copy a JSON body with every ``adminPassword`` masked (the journal must never hold a secret)."""
    if isinstance(body, dict):
        return {k: ("***" if k.lower() == "adminpassword" else _mask(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [_mask(v) for v in body]
    return body


def _prefix_size(prefix: str) -> int:
    bits = int(prefix.split("/")[1])
    return int(2 ** (32 - bits))


def _surge(count: int, max_surge: str | None) -> int:
    text = (max_surge or "10%").strip()
    if text.endswith("%"):
        return math.ceil(count * float(text[:-1]) / 100.0)
    return int(text)


class FakeAzure(HttpTransport):  # type: ignore[type-arg]
    """An ARM emulator that the real Azure SDK clients talk to (design notes, "The simulator").

    Args:
        clock: the virtual clock (a new one by default).
        latency: real seconds to block on every request (benchmarks only).
        kube: an optional ``FakeKubernetes`` whose nodes follow the emulated pools.
        today: the simulated calendar date at virtual time zero.
        durations: overrides of :data:`DEFAULT_DURATIONS`.
        real_sleep: make :meth:`sleep` also sleep for real (benchmarks with real pacing).
    """

    #: Marks a simulated transport: plans applied through it are rehearsals (``Plan.mode`` ``twin``).
    simulated = True
    #: The twin's name (a built-in scenario or a scenario file), recorded in the mode of its plans.
    twin_name: str | None = None

    def __init__(
        self,
        *,
        clock: VirtualClock | None = None,
        latency: float = 0.0,
        kube: Any = None,
        today: _dt.date = _dt.date(2026, 11, 26),
        durations: dict[str, float] | None = None,
        real_sleep: bool = False,
    ) -> None:
        self.latency = latency
        self.kube = kube
        #: The container registries the simulated cluster pulls from (image builds; see ``fake_registry``).
        self.registry = FakeRegistry()
        if kube is not None:
            kube.use_registry(self.registry)
        self.today0 = today
        self.base_time = _dt.datetime(today.year, today.month, today.day, 8, 0, 0)
        self.clock = clock or VirtualClock(epoch=self.base_time)
        if kube is not None and hasattr(kube, "use_clock"):
            kube.use_clock(self.clock)  # one timeline: Kubernetes controllers advance with Azure operations
        self.durations = {**DEFAULT_DURATIONS, **(durations or {})}
        self.real_sleep = real_sleep
        self.faults: list[Fault] = []
        self.journal: list[JournalEntry] = []
        self.resource_groups: dict[tuple[str, str], str] = {}
        self.clusters: dict[tuple[str, str, str], _Cluster] = {}
        self.vmss: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.vms: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
        self.vnets: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.subnet_base_usage: dict[str, int] = {}
        self.operations: dict[str, _Operation] = {}
        self.throttle: Any = None
        #: Azure Resource Graph's quota and paging (``testing.resource_graph.ResourceGraph``; a default one on use).
        self.resource_graph: Any = None
        #: Kubernetes versions the simulated region offers (the catalog's by default).
        self.kubernetes_versions: list[str] = list(catalog.KUBERNETES_VERSIONS)
        #: The version a cluster gets when a create leaves ``kubernetesVersion`` empty.
        self.default_kubernetes_version: str | None = None
        self._lock = threading.RLock()
        self._seq = 0

    # ------------------------------------------------------------------ transport protocol
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
        """Serve one HTTP request (Service facts: Serving the SDK from an in-memory ARM: requests arrive as ``azure.core.rest.HttpRequest``)."""
        if self.latency:
            time.sleep(self.latency)
        split = urlsplit(request.url)
        path = split.path.rstrip("/")
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        method = request.method.upper()
        body = self._body(request)
        if method in ("PUT", "PATCH"):
            body = canonical_enums(body)
        kind = self._classify(method, path)
        crash_after = False
        reset_after = False
        with self._lock:
            self._advance()
            response: FakeResponse
            try:
                for fault in self.faults:
                    if fault.kind in ("fail_operation", "stuck"):
                        continue
                    if not fault.matches(method, path):
                        continue
                    if fault.kind == "crash_before":
                        self._record(method, path, 0, kind, body)
                        raise SimulatedCrash(f"simulated crash before {method} {path}")
                    if fault.kind == "crash_after":
                        crash_after = True
                        continue
                    if fault.kind == "reset_after":
                        reset_after = True
                        continue
                    if fault.kind == "reset":
                        self._record(method, path, 0, kind, body)
                        raise ServiceResponseError("Connection reset by peer (simulated)")
                    if fault.kind == "throttle":
                        raise _ArmError(
                            429,
                            "TooManyRequests",
                            "The request is being throttled.",
                            {
                                "Retry-After": str(
                                    int(fault.retry_after if fault.retry_after is not None else 5)
                                )
                            },
                        )
                    if fault.kind == "error":
                        hdrs = {}
                        if fault.status in (429, 503) and fault.retry_after is not None:
                            hdrs["Retry-After"] = str(int(fault.retry_after))
                        raise _ArmError(fault.status, fault.code, fault.message, hdrs)
                if self.throttle is not None:
                    # A throttle model (e.g. token buckets) answers how long the caller must wait, or None.
                    wait = self.throttle.check(self, method, path, kind)
                    if wait is not None:
                        raise _ArmError(
                            429,
                            "TooManyRequests",
                            "The request is being throttled as the limit has been reached for operation type.",
                            {"Retry-After": str(max(1, math.ceil(wait)))},
                        )
                response = self._route(request, method, path, query, body)
            except _ArmError as err:
                response = FakeResponse(
                    request, err.status, {"error": {"code": err.code, "message": err.message}}, err.headers
                )
            self._record(method, path, response.status_code, kind, body)
        if crash_after:
            raise SimulatedCrash(f"simulated crash after {method} {path}")
        if reset_after:
            raise ServiceResponseError("Connection reset by peer after the request was applied (simulated)")
        return response

    # ------------------------------------------------------------------ journal helpers
    def requests(
        self, *, kind: str | None = None, method: str | None = None, path: str | None = None
    ) -> list[JournalEntry]:
        """Return journaled requests filtered by kind (read/write/poll), method and a path regex."""
        out = []
        for e in list(self.journal):
            if kind and e.kind != kind:
                continue
            if method and e.method != method.upper():
                continue
            if path and not re.search(path, e.path, flags=re.IGNORECASE):
                continue
            out.append(e)
        return out

    def writes(self) -> list[JournalEntry]:
        """Return every journaled write (PUT, PATCH, DELETE and state-changing POST)."""
        return self.requests(kind="write")

    def clear_journal(self) -> None:
        """Forget the journal (between phases of a test)."""
        with self._lock:
            self.journal.clear()

    def add_fault(self, kind: str, **kwargs: Any) -> Fault:
        """Script a fault (see :class:`Fault`) and return it."""
        fault = Fault(kind=kind, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every scripted fault."""
        with self._lock:
            self.faults.clear()

    def _record(self, method: str, path: str, status: int, kind: str, body: Any) -> None:
        self._seq += 1
        self.journal.append(
            JournalEntry(self._seq, self.clock.monotonic(), method, path, status, kind, _mask(body))
        )

    @staticmethod
    def _body(request: HttpRequest) -> Any:
        raw = request.content
        if raw is None:
            return None
        if isinstance(raw, (bytes, bytearray)):
            text = raw.decode("utf-8")
        elif isinstance(raw, str):
            text = raw
        else:
            return None
        return json.loads(text) if text.strip() else None

    @staticmethod
    def _classify(method: str, path: str) -> str:
        low = path.lower()
        if "/operations/" in low or "/operationresults/" in low:
            return "poll"
        if (
            method == "GET"
            or low.startswith("/providers/microsoft.resourcegraph/")
            or (method == "POST" and ("/listcluster" in low or low.endswith("/listcredential")))
        ):
            return "read"
        return "write"

    # ------------------------------------------------------------------ time
    def now_date(self) -> _dt.date:
        """The simulated calendar date now."""
        return (self.base_time + _dt.timedelta(seconds=self.clock.monotonic())).date()

    def _advance(self) -> None:
        now = self.clock.monotonic()
        for op in sorted(self.operations.values(), key=lambda o: o.start):
            if op.status != "InProgress" or op.stuck:
                continue
            if now >= op.start + op.duration:
                self._finish(op, now)

    def _finish(self, op: _Operation, now: float) -> None:
        op.end = now
        if op.fail_with is not None:
            op.status = "Failed"
            op.error = {"code": op.fail_with[0], "message": op.fail_with[1]}
            if op.on_failure:
                op.on_failure()
            return
        op.status = "Succeeded"
        if op.on_success:
            op.on_success()

    def settle(self, max_seconds: float = 86400.0) -> None:
        """Advance virtual time until no operation is in progress (stuck ones excepted)."""
        with self._lock:
            for _ in range(10000):
                pending = [o for o in self.operations.values() if o.status == "InProgress" and not o.stuck]
                if not pending:
                    return
                target = min(o.start + o.duration for o in pending)
                if target - self.clock.monotonic() > max_seconds:
                    return
                self.clock.advance(max(target - self.clock.monotonic(), 0.0))
                self._advance()

    # ------------------------------------------------------------------ operations
    def _start_operation(
        self,
        cluster: _Cluster | None,
        kind: str,
        duration: float,
        *,
        subscription: str,
        location: str,
        provider: str = "Microsoft.ContainerService",
        pool: str | None = None,
        on_success: Callable[[], None] | None = None,
        on_failure: Callable[[], None] | None = None,
        method: str = "PUT",
        path: str = "",
        progress_total: int = 0,
    ) -> _Operation:
        op = _Operation(
            id=str(uuid.uuid4()),
            subscription=subscription,
            location=location,
            provider=provider,
            cluster_key=cluster.key if cluster else None,
            pool=pool,
            kind=kind,
            start=self.clock.monotonic(),
            duration=duration,
            on_success=on_success,
            on_failure=on_failure,
            progress_total=progress_total,
        )
        path = urlsplit(path).path  # match on the path, as request faults do (never the query string)
        for fault in self.faults:
            if fault.kind in ("fail_operation", "stuck") and fault.matches(method, path):
                if fault.kind == "stuck":
                    op.stuck = True
                else:
                    op.fail_with = (fault.code, fault.message)
        self.operations[op.id] = op
        return op

    def _op_headers(self, op: _Operation, *, location_header: bool) -> dict[str, str]:
        base = f"{ARM}/subscriptions/{op.subscription}/providers/{op.provider}/locations/{op.location}"
        # ARM polling URLs carry signed query parameters: the client must use them verbatim.
        sig = base64.urlsafe_b64encode(op.id.encode()).decode().rstrip("=")
        headers = {"Azure-AsyncOperation": f"{base}/operations/{op.id}?api-version=2026-08-01&t=638&s={sig}"}
        if location_header:
            headers["Location"] = f"{base}/operationresults/{op.id}?api-version=2026-08-01&t=638&s={sig}"
        return headers

    def _busy(self, cluster: _Cluster, pool: str | None = None) -> _Operation | None:
        """Return the operation that blocks a write, if any.

        Any operation on the cluster blocks a cluster write; a pool write is blocked by one on the cluster itself
        or on the same pool (the service runs operations on different pools side by side, as the recorded
        ``nodepool delete --no-wait`` followed by another delete shows).
        """
        for op in self.operations.values():
            if op.cluster_key != cluster.key or op.status != "InProgress" or op.kind == "vm_update":
                continue
            if pool is None or op.pool is None or op.pool.lower() == pool.lower():
                return op
        return None

    def _ensure_idle(self, cluster: _Cluster, pool: str | None = None) -> None:
        op = self._busy(cluster, pool)
        if op is not None:
            target = f"agent pool {op.pool}" if op.pool else "managed cluster"
            raise _ArmError(
                409,
                "OperationNotAllowed",
                f"Operation is not allowed because there's an in progress {op.kind.replace('_', ' ')} operation "
                f"on the {target} {cluster.name} started at {_iso(self.base_time, op.start)}. Please wait for "
                "it to finish before starting a new operation.",
            )

    # ------------------------------------------------------------------ routing
    def _route(
        self, request: HttpRequest, method: str, path: str, query: dict[str, str], body: Any
    ) -> FakeResponse:
        parts = path.strip("/").split("/")
        low = [p.lower() for p in parts]
        if low[:2] == ["providers", "microsoft.resourcegraph"]:
            from aks_windows_ops.testing.resource_graph import answer

            return answer(self, request, method, low[2:], body)
        if len(parts) < 2 or low[0] != "subscriptions":
            raise _ArmError(404, "InvalidResourceType", f"No route for {path}")
        sub = parts[1]
        # /subscriptions/{s}/providers/{ns}/locations/{loc}/(operations|operationresults)/{id}
        if len(parts) >= 7 and low[2] == "providers" and low[4] == "locations":
            ns, loc = parts[3], parts[5]
            if low[6] == "operations" and len(parts) >= 8:
                return self._op_status(request, parts[7])
            if low[6] == "operationresults" and len(parts) >= 8:
                return self._op_result(request, parts[7])
            if low[6] == "kubernetesversions" and ns.lower() == "microsoft.containerservice":
                return FakeResponse(request, 200, self._versions_body(loc))
        if len(parts) == 4 and low[2] == "providers" and low[3] == "microsoft.containerservice":
            raise _ArmError(404, "NotFound", path)
        if len(parts) == 5 and low[2] == "providers" and low[4] == "managedclusters":
            return FakeResponse(
                request, 200, {"value": [self._cluster_view(c) for c in self._clusters_in(sub)]}
            )
        if len(parts) >= 4 and low[2] == "resourcegroups":
            rg = parts[3]
            if len(parts) == 4:
                return self._resource_group(request, sub, rg)
            if len(parts) >= 6 and low[4] == "providers":
                ns = low[5]
                rest = parts[6:]
                if ns == "microsoft.containerservice":
                    return self._aks(request, method, sub, rg, rest, query, body)
                if ns == "microsoft.compute":
                    return self._compute(request, method, sub, rg, rest, body)
                if ns == "microsoft.network":
                    return self._network(request, method, sub, rg, rest)
        raise _ArmError(404, "InvalidResourceType", f"The emulator has no route for {method} {path}")

    def _resource_group(self, request: HttpRequest, sub: str, rg: str) -> FakeResponse:
        location = self.resource_groups.get((sub, rg.lower()))
        if location is None:
            raise _ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return FakeResponse(
            request,
            200,
            {
                "id": f"/subscriptions/{sub}/resourceGroups/{rg}",
                "name": rg,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "properties": {"provisioningState": "Succeeded"},
            },
        )

    def _op_status(self, request: HttpRequest, op_id: str) -> FakeResponse:
        op = self.operations.get(op_id)
        if op is None:
            raise _ArmError(404, "NotFound", f"Operation {op_id} not found")
        return FakeResponse(request, 200, op.status_body(self.clock.monotonic(), self.base_time))

    def _op_result(self, request: HttpRequest, op_id: str) -> FakeResponse:
        op = self.operations.get(op_id)
        if op is None:
            raise _ArmError(404, "NotFound", f"Operation {op_id} not found")
        if op.status == "InProgress":
            return FakeResponse(request, 202, None, self._op_headers(op, location_header=True))
        return FakeResponse(request, 204, None)

    # ------------------------------------------------------------------ AKS
    def _clusters_in(self, sub: str, rg: str | None = None) -> list[_Cluster]:
        return [
            c
            for c in self.clusters.values()
            if c.subscription == sub and (rg is None or c.resource_group.lower() == rg.lower())
        ]

    def _get_cluster(self, sub: str, rg: str, name: str) -> _Cluster:
        cluster = self.clusters.get((sub, rg.lower(), name.lower()))
        if cluster is None:
            raise _ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.ContainerService/managedClusters/{name}' under resource group '{rg}' "
                "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            )
        return cluster

    def _aks(
        self,
        request: HttpRequest,
        method: str,
        sub: str,
        rg: str,
        rest: list[str],
        query: dict[str, str],
        body: Any,
    ) -> FakeResponse:
        low = [p.lower() for p in rest]
        if low == ["managedclusters"]:
            return FakeResponse(
                request, 200, {"value": [self._cluster_view(c) for c in self._clusters_in(sub, rg)]}
            )
        if len(rest) < 2 or low[0] != "managedclusters":
            raise _ArmError(404, "InvalidResourceType", "/".join(rest))
        name = rest[1]
        if len(rest) == 2:
            if method == "GET":
                return FakeResponse(request, 200, self._cluster_view(self._get_cluster(sub, rg, name)))
            if method == "PUT":
                return self._put_cluster(request, sub, rg, name, body)
            if method == "DELETE":
                return self._delete_cluster(request, sub, rg, name)
        cluster = self._get_cluster(sub, rg, name)
        sub_path = low[2:]
        if sub_path == ["upgradeprofiles", "default"] and method == "GET":
            return FakeResponse(request, 200, self._cluster_upgrade_profile(cluster))
        if sub_path == ["availableagentpoolversions"]:
            return FakeResponse(request, 200, self._available_pool_versions(cluster))
        if sub_path in (["listclusterusercredential"], ["listclusteradmincredential"]):
            return FakeResponse(request, 200, self._credentials(cluster, admin="admin" in sub_path[0]))
        if sub_path == ["abort"] and method == "POST":
            return self._abort(request, cluster, None)
        if sub_path == ["agentpools"] and method == "GET":
            return FakeResponse(
                request,
                200,
                {"value": [self._pool_view(cluster, p) for p in cluster.pools], "nextLink": None},
            )
        if len(sub_path) >= 2 and sub_path[0] == "agentpools":
            pool = rest[3]
            tail = sub_path[2:]
            if not tail:
                if method == "GET":
                    return FakeResponse(
                        request, 200, self._pool_view(cluster, self._pool_name(cluster, pool))
                    )
                if method == "PUT":
                    return self._put_pool(request, cluster, pool, body)
                if method == "DELETE":
                    return self._delete_pool(request, cluster, pool, query)
            pool = self._pool_name(cluster, pool)
            if tail == ["upgradeprofiles", "default"]:
                return FakeResponse(request, 200, self._pool_upgrade_profile(cluster, pool))
            if tail == ["upgradenodeimageversion"] and method == "POST":
                return self._node_image_upgrade(request, cluster, pool)
            if tail == ["abort"] and method == "POST":
                return self._abort(request, cluster, pool)
        raise _ArmError(404, "InvalidResourceType", "/".join(rest))

    def _pool_name(self, cluster: _Cluster, name: str) -> str:
        for existing in cluster.pools:
            if existing.lower() == name.lower():
                return existing
        raise _ArmError(
            404,
            "NotFound",
            f"Agent pool '{name}' was not found in managed cluster '{cluster.name}'.",
        )

    # -- views
    def _pool_id(self, cluster: _Cluster, pool: str) -> str:
        return (
            f"/subscriptions/{cluster.subscription}/resourcegroups/{cluster.resource_group}/providers/"
            f"Microsoft.ContainerService/managedClusters/{cluster.name}/agentPools/{pool}"
        )

    def _pool_view(self, cluster: _Cluster, pool: str) -> dict[str, Any]:
        props = copy.deepcopy(cluster.pools[pool])
        props.pop("name", None)
        props["eTag"] = cluster.pool_etags.setdefault(pool, str(uuid.uuid4()))
        return {
            "id": self._pool_id(cluster, pool),
            "name": pool,
            "type": "Microsoft.ContainerService/managedClusters/agentPools",
            "properties": props,
        }

    def _cluster_view(self, cluster: _Cluster) -> dict[str, Any]:
        view = copy.deepcopy(cluster.body)
        profiles = []
        for name, props in cluster.pools.items():
            entry = {"name": name}
            entry.update({k: v for k, v in copy.deepcopy(props).items() if k != "name"})
            entry["eTag"] = cluster.pool_etags.setdefault(name, str(uuid.uuid4()))
            profiles.append(entry)
        view["properties"]["agentPoolProfiles"] = profiles
        view["eTag"] = cluster.etag
        return view

    def _touch(self, cluster: _Cluster) -> None:
        cluster.etag = str(uuid.uuid4())
        cluster.pool_etags.clear()
        cluster.body.setdefault("systemData", {})["lastModifiedAt"] = _iso(
            self.base_time, self.clock.monotonic()
        )

    # -- versions and profiles
    def _versions_body(self, location: str) -> dict[str, Any]:
        by_minor: dict[str, list[str]] = {}
        for v in self.kubernetes_versions:
            major_n, minor_n = catalog.minor_of(v)
            by_minor.setdefault(f"{major_n}.{minor_n}", []).append(v)
        minors = list(by_minor)
        values = []
        for minor in minors:
            # The same upgrades a cluster on that patch sees in its upgrade profile (one region's answer).
            patches = {
                p: {"upgrades": [u["kubernetesVersion"] for u in self._upgrades_from(p)]}
                for p in by_minor[minor]
            }
            values.append(
                {
                    "version": minor,
                    "isDefault": minor == minors[-2],
                    "capabilities": {"supportPlan": ["KubernetesOfficial"]},
                    "patchVersions": patches,
                }
            )
        return {"values": values}

    def _upgrades_from(self, current: str, *, ceiling: str | None = None) -> list[dict[str, Any]]:
        cur = catalog.parse_version(current)
        out = []
        for v in self.kubernetes_versions:
            pv = catalog.parse_version(v)
            if pv <= cur or pv[0] != cur[0] or pv[1] > cur[1] + 1:
                continue
            if ceiling is not None and pv > catalog.parse_version(ceiling):
                continue
            out.append({"kubernetesVersion": v})
        return out

    def _cluster_upgrade_profile(self, cluster: _Cluster) -> dict[str, Any]:
        cur = cluster.props["currentKubernetesVersion"]
        return {
            "id": f"{self._cluster_id(cluster)}/upgradeprofiles/default",
            "name": "default",
            "type": "Microsoft.ContainerService/managedClusters/upgradeprofiles",
            "properties": {
                "controlPlaneProfile": {
                    "kubernetesVersion": cur,
                    "name": None,
                    "osType": "Linux",
                    "upgrades": self._upgrades_from(cur),
                },
                "agentPoolProfiles": [
                    {
                        "name": name,
                        "kubernetesVersion": p.get("currentOrchestratorVersion"),
                        "osType": p.get("osType", "Linux"),
                        "upgrades": self._upgrades_from(
                            p.get("currentOrchestratorVersion") or cur, ceiling=cur
                        ),
                    }
                    for name, p in cluster.pools.items()
                ],
            },
        }

    def _latest_image(self, cluster: _Cluster, props: dict[str, Any]) -> str:
        return catalog.latest_image(
            props.get("osSKU"),
            props.get("osType", "Linux"),
            today=self.now_date(),
            windows_cutoff=cluster.windows_image_cutoff,
        )

    def _pool_upgrade_profile(self, cluster: _Cluster, pool: str) -> dict[str, Any]:
        props = cluster.pools[pool]
        cur = props.get("currentOrchestratorVersion") or cluster.props["currentKubernetesVersion"]
        return {
            "id": f"{self._pool_id(cluster, pool)}/upgradeProfiles/default",
            "name": "default",
            "type": "Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles",
            "properties": {
                "kubernetesVersion": cur,
                "osType": props.get("osType", "Linux"),
                "upgrades": self._upgrades_from(cur, ceiling=cluster.props["currentKubernetesVersion"]),
                "latestNodeImageVersion": self._latest_image(cluster, props),
            },
        }

    def _available_pool_versions(self, cluster: _Cluster) -> dict[str, Any]:
        cp = catalog.parse_version(cluster.props["currentKubernetesVersion"])
        return {
            "id": f"{self._cluster_id(cluster)}/availableagentpoolversions",
            "name": "default",
            "type": "Microsoft.ContainerService/managedClusters/availableAgentpoolVersions",
            "properties": {
                "agentPoolVersions": [
                    {"kubernetesVersion": v, "default": False, "isPreview": False}
                    for v in self.kubernetes_versions
                    if catalog.parse_version(v) <= cp and cp[1] - catalog.parse_version(v)[1] <= 3
                ]
            },
        }

    def _credentials(self, cluster: _Cluster, *, admin: bool) -> dict[str, Any]:
        if self.kube is not None:
            kubeconfig = self.kube.kubeconfig(cluster.name)
        else:
            kubeconfig = {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": cluster.name, "cluster": {"server": f"https://{cluster.props.get('fqdn')}:443"}}
                ],
                "users": [{"name": "user", "user": {"token": "fake"}}],
                "contexts": [{"name": cluster.name, "context": {"cluster": cluster.name, "user": "user"}}],
                "current-context": cluster.name,
            }
        import yaml

        text = yaml.safe_dump(kubeconfig).encode("utf-8")
        return {
            "kubeconfigs": [
                {"name": "clusterAdmin" if admin else "clusterUser", "value": base64.b64encode(text).decode()}
            ]
        }

    def _cluster_id(self, cluster: _Cluster) -> str:
        return (
            f"/subscriptions/{cluster.subscription}/resourcegroups/{cluster.resource_group}/providers/"
            f"Microsoft.ContainerService/managedClusters/{cluster.name}"
        )

    # -- cluster writes
    def _check_if_match(self, request: HttpRequest, cluster: _Cluster) -> None:
        if_match = request.headers.get("If-Match")
        if if_match:
            if_match = if_match.removeprefix("W/").strip('"')
        if if_match and if_match not in ("*", cluster.etag):
            raise _ArmError(
                412,
                "PreconditionFailed",
                f"Operation is not allowed: the eTag '{if_match}' does not match the current eTag of "
                f"managed cluster {cluster.name}.",
            )

    def _put_cluster(self, request: HttpRequest, sub: str, rg: str, name: str, body: Any) -> FakeResponse:
        if not isinstance(body, dict):
            raise _ArmError(400, "InvalidRequestContent", "The request content was invalid.")
        existing = self.clusters.get((sub, rg.lower(), name.lower()))
        if existing is None:
            return self._create_cluster(request, sub, rg, name, body)
        cluster = existing
        self._check_if_match(request, cluster)
        self._ensure_idle(cluster)
        props_in = body.get("properties") or {}
        props = cluster.props
        cur = props["currentKubernetesVersion"]
        target = self.resolve_version(props_in.get("kubernetesVersion") or props["kubernetesVersion"])
        self._validate_cluster_version(cluster, cur, target)
        # Pool versions sent in agentPoolProfiles: a full upgrade when they move with the control plane.
        pool_targets: dict[str, str] = {}
        for prof in props_in.get("agentPoolProfiles") or []:
            pname = prof.get("name")
            if pname in cluster.pools and prof.get("orchestratorVersion"):
                wanted = self.resolve_version(prof["orchestratorVersion"])
                if wanted != cluster.pools[pname].get("currentOrchestratorVersion"):
                    pool_targets[pname] = wanted
        for pname, pv in pool_targets.items():
            self._validate_pool_version(
                cluster, target, cluster.pools[pname].get("currentOrchestratorVersion"), pv, pname
            )
        upgrade_cp = catalog.parse_version(target) != catalog.parse_version(cur)
        if upgrade_cp and not pool_targets:
            channel = (props.get("autoUpgradeProfile") or {}).get("upgradeChannel")
            if channel and channel.lower() != "none":
                raise _ArmError(
                    400,
                    "OperationNotAllowed",
                    "Control plane only upgrade is not allowed while cluster auto-upgrade channel is "
                    f"'{channel}'. Disable auto-upgrade or upgrade the whole cluster.",
                )
        win_in = props_in.get("windowsProfile") or {}
        win = props.get("windowsProfile")
        password = win_in.get("adminPassword")
        license_type = win_in.get("licenseType")
        if (password or license_type) and win is None:
            raise _ArmError(
                400, "InvalidParameter", "The cluster has no windowsProfile; it has no Windows admin."
            )
        if password is not None and not 8 <= len(password) <= 123:
            raise _ArmError(
                400,
                "InvalidParameter",
                "The value of parameter windowsProfile.adminPassword is invalid: it must be 8-123 characters and "
                "meet the Windows password complexity requirements.",
            )
        if (
            win is not None
            and win_in.get("adminUsername")
            and win_in["adminUsername"] != win.get("adminUsername")
        ):
            raise _ArmError(
                400, "InvalidParameter", "windowsProfile.adminUsername cannot be changed by an update."
            )
        license_changed = license_type is not None and license_type != (win or {}).get("licenseType", "None")
        gmsa_changed = "gmsaProfile" in win_in and win_in["gmsaProfile"] != (win or {}).get("gmsaProfile")
        windows_pools = [n for n, p in cluster.pools.items() if p.get("osType") == "Windows"]
        reimage_windows = bool(password) or license_changed
        # Apply the desired state now; runtime fields move when the operation completes.
        props["kubernetesVersion"] = target
        for key in ("autoUpgradeProfile", "tags"):
            if key in props_in:
                props[key] = props_in[key]
        if win is not None:
            if license_type is not None:
                win["licenseType"] = license_type
            for key in ("gmsaProfile", "enableCSIProxy"):
                if key in win_in:
                    win[key] = win_in[key]
            if password:
                cluster.admin_password_set = True
        if "tags" in body:
            cluster.body["tags"] = body["tags"]
        if upgrade_cp:
            state = "Upgrading"
            duration = self.durations["control_plane_upgrade"] + sum(
                self.durations["pool_upgrade_per_node"] * max(cluster.pools[p].get("count", 1), 1)
                for p in pool_targets
            )
        elif reimage_windows:
            state = "Updating"
            nodes = sum(max(cluster.pools[p].get("count", 1), 1) for p in windows_pools)
            duration = self.durations["windows_profile_base"] + self.durations[
                "windows_profile_per_node"
            ] * max(nodes - 1, 0)
        else:
            state = "Updating"
            duration = self.durations["update_cluster"]
        props["provisioningState"] = state
        moving = set(pool_targets)
        if reimage_windows or gmsa_changed:
            # Recorded: a PUT that changes the Windows profile, licence or gMSA moves every pool, Linux too.
            moving |= set(cluster.pools)
        for pname in moving:
            cluster.pools[pname]["provisioningState"] = "Upgrading" if pname in pool_targets else "Updating"
            if pname in pool_targets:
                cluster.pools[pname]["orchestratorVersion"] = pool_targets[pname]
        self._touch(cluster)

        def done() -> None:
            props["provisioningState"] = "Succeeded"
            if upgrade_cp:
                props["currentKubernetesVersion"] = target
                if self.kube is not None:
                    self.kube.control_plane_version = target
                cluster.windows_image_cutoff = self.now_date()
                cluster.legacy_windows_image = False
            for pname in moving:
                pool = cluster.pools.get(pname)
                if pool is None:
                    continue
                pool["provisioningState"] = "Succeeded"
                if pname in pool_targets:
                    pool["currentOrchestratorVersion"] = pool_targets[pname]
                    pool["nodeImageVersion"] = self._latest_image(cluster, pool)
                self._reimage_vmss(cluster, pname)
                self._sync_kube(cluster, pname)
            self._touch(cluster)

        def failed() -> None:
            props["provisioningState"] = "Failed"
            for pname in moving:
                if pname in cluster.pools:
                    cluster.pools[pname]["provisioningState"] = "Failed"
            self._touch(cluster)

        op = self._start_operation(
            cluster,
            "upgrade_cluster" if upgrade_cp else "update_cluster",
            duration,
            subscription=sub,
            location=cluster.body["location"],
            on_success=done,
            on_failure=failed,
            path=request.url,
        )
        return FakeResponse(
            request, 200, self._cluster_view(cluster), self._op_headers(op, location_header=False)
        )

    def resolve_version(self, version: str) -> str:
        """A ``major.minor`` version means its latest patch in the region (as the service resolves it)."""
        text = str(version)
        if re.fullmatch(r"\d+\.\d+", text):
            patches = [v for v in self.kubernetes_versions if v.startswith(f"{text}.")]
            if patches:
                return max(patches, key=catalog.parse_version)
        return text

    def _validate_cluster_version(self, cluster: _Cluster, cur: str, target: str) -> None:
        if target not in self.kubernetes_versions and catalog.parse_version(target) != catalog.parse_version(
            cur
        ):
            raise _ArmError(
                400,
                "InvalidParameter",
                f"Version {target} is not supported in this region. Run 'az aks get-versions' for the supported list.",
            )
        c, t = catalog.parse_version(cur), catalog.parse_version(target)
        if t < c:
            raise _ArmError(
                400,
                "OperationNotAllowed",
                f"Downgrading the control plane from {cur} to {target} is not allowed.",
            )
        if t[1] > c[1] + 1:
            raise _ArmError(
                400,
                "OperationNotAllowed",
                f"Upgrading the control plane from {cur} to {target} skips a minor version; upgrade to "
                f"{c[0]}.{c[1] + 1} first.",
            )
        if t > c:
            for name, pool in cluster.pools.items():
                pv = catalog.parse_version(pool.get("currentOrchestratorVersion") or cur)
                if t[1] - pv[1] > 3:
                    raise _ArmError(
                        400,
                        "OperationNotAllowed",
                        f"Control plane version {target} would be more than 3 minor versions ahead of agent pool "
                        f"{name} ({pool.get('currentOrchestratorVersion')}). Upgrade the pool first.",
                    )
                if pool.get("osSKU") == "Windows2019" and t >= (1, 33, 0):
                    raise _ArmError(
                        400,
                        "OperationNotAllowed",
                        f"Windows Server 2019 (agent pool {name}) is not supported on Kubernetes 1.33 and later. "
                        "Migrate the pool to Windows2022 or Windows2025 first.",
                    )

    def _validate_pool_version(
        self, cluster: _Cluster, cp: str, current: str | None, target: str, name: str
    ) -> None:
        c = catalog.parse_version(cp)
        t = catalog.parse_version(target)
        if target not in self.kubernetes_versions:
            raise _ArmError(400, "InvalidParameter", f"Version {target} is not supported in this region.")
        if t > c:
            raise _ArmError(
                400,
                "InvalidParameter",
                f"Agent pool {name} version {target} cannot be greater than the control plane version {cp}.",
            )
        if t[0] != c[0] or c[1] - t[1] > 3:
            raise _ArmError(
                400,
                "InvalidParameter",
                f"Agent pool {name} version {target} is more than 3 minor versions behind the control plane {cp}.",
            )
        if current:
            cv = catalog.parse_version(current)
            if t < cv:
                raise _ArmError(
                    400,
                    "OperationNotAllowed",
                    f"Downgrading agent pool {name} from {current} is not allowed.",
                )
            if t[1] > cv[1] + 1:
                raise _ArmError(
                    400,
                    "OperationNotAllowed",
                    f"Upgrading agent pool {name} from {current} to {target} skips a minor version.",
                )

    def _create_cluster(
        self, request: HttpRequest, sub: str, rg: str, name: str, body: dict[str, Any]
    ) -> FakeResponse:
        if (sub, rg.lower()) not in self.resource_groups:
            self.resource_groups[(sub, rg.lower())] = body.get("location", "westus2")
        cluster = build_cluster(self, sub, rg, name, body)
        for prof in (body.get("properties") or {}).get("agentPoolProfiles") or []:
            props = {k: v for k, v in prof.items() if k != "name"}
            self._check_new_pool(cluster, prof["name"], props, creating_cluster=True)
        self.clusters[cluster.key] = cluster
        for prof in (body.get("properties") or {}).get("agentPoolProfiles") or []:
            pool = pool_defaults(self, cluster, prof["name"], {k: v for k, v in prof.items() if k != "name"})
            pool["provisioningState"] = "Creating"
            cluster.pools[prof["name"]] = pool
        cluster.props["provisioningState"] = "Creating"
        self._touch(cluster)

        def done() -> None:
            cluster.props["provisioningState"] = "Succeeded"
            complete_cluster(cluster)
            for pname, pool in cluster.pools.items():
                pool["provisioningState"] = "Succeeded"
                self._create_vmss(cluster, pname)
                self._sync_kube(cluster, pname)
            self._touch(cluster)

        op = self._start_operation(
            cluster,
            "create_cluster",
            self.durations["create_cluster"],
            subscription=sub,
            location=cluster.body["location"],
            on_success=done,
            path=request.url,
        )
        return FakeResponse(
            request, 201, self._cluster_view(cluster), self._op_headers(op, location_header=False)
        )

    def _delete_cluster(self, request: HttpRequest, sub: str, rg: str, name: str) -> FakeResponse:
        cluster = self.clusters.get((sub, rg.lower(), name.lower()))
        if cluster is None:
            return FakeResponse(request, 204, None)
        cluster.props["provisioningState"] = "Deleting"

        def done() -> None:
            for pname in list(cluster.pools):
                self._remove_vmss(cluster, pname)
                if self.kube is not None:
                    self.kube.delete_pool(pname)
            self.clusters.pop(cluster.key, None)

        op = self._start_operation(
            cluster,
            "delete_cluster",
            self.durations["delete_cluster"],
            subscription=sub,
            location=cluster.body["location"],
            on_success=done,
            method="DELETE",
            path=request.url,
        )
        return FakeResponse(request, 202, None, self._op_headers(op, location_header=True))

    # -- pool writes
    def _subnet_for(self, cluster: _Cluster, props: dict[str, Any]) -> str | None:
        subnet: str | None = props.get("vnetSubnetID")
        return subnet

    def _check_new_pool(
        self, cluster: _Cluster, name: str, props: dict[str, Any], *, creating_cluster: bool = False
    ) -> None:
        os_type = props.get("osType") or "Linux"
        if os_type == "Windows":
            if not _WINDOWS_NAME.match(name):
                raise _ArmError(
                    400,
                    "InvalidParameter",
                    f"The agent pool name '{name}' is invalid: Windows agent pool names must be 1-6 lowercase "
                    "alphanumeric characters starting with a letter.",
                )
            plugin = (cluster.props.get("networkProfile") or {}).get("networkPlugin", "kubenet")
            if plugin != "azure":
                raise _ArmError(
                    400,
                    "AzureCNIOnlyForWindows",
                    "Windows agent pools are only supported with the Azure CNI network plugin (networkPlugin=azure); "
                    f"this cluster uses '{plugin}'.",
                )
            if (props.get("mode") or "User") == "System":
                raise _ArmError(400, "InvalidParameter", "System agent pools osType must be Linux.")
            if cluster.props.get("windowsProfile") is None:
                raise _ArmError(
                    400, "InvalidParameter", "A windowsProfile is required to add Windows agent pools."
                )
        elif not _LINUX_NAME.match(name):
            raise _ArmError(
                400,
                "InvalidParameter",
                f"The agent pool name '{name}' is invalid: names must be 1-12 lowercase alphanumeric characters "
                "starting with a letter.",
            )
        if not creating_cluster and len(cluster.pools) >= int(cluster.props.get("maxAgentPools", 100)):
            raise _ArmError(
                400,
                "InvalidParameter",
                f"The cluster already has the maximum of {cluster.props.get('maxAgentPools', 100)} agent pools.",
            )
        total = sum(int(p.get("count", 0)) for p in cluster.pools.values()) + int(props.get("count", 1))
        if total > 1000:
            raise _ArmError(
                400, "InvalidParameter", f"The cluster would have {total} nodes; the limit is 1000."
            )
        max_pods = props.get("maxPods")
        if max_pods is not None and not 10 <= int(max_pods) <= 250:
            raise _ArmError(400, "InvalidParameter", f"maxPods {max_pods} is out of the range 10-250.")
        cp = cluster.props.get("currentKubernetesVersion") or cluster.props.get("kubernetesVersion")
        version = props.get("orchestratorVersion") or cp
        if version and cp and not creating_cluster:
            self._validate_pool_version(cluster, cp, None, version, name)
        sku = props.get("osSKU")
        if sku == "Windows2019" and version and catalog.parse_version(version) >= (1, 33, 0):
            raise _ArmError(
                400,
                "InvalidParameter",
                "Windows2019 is not supported for Kubernetes version 1.33 and later; use Windows2022 or Windows2025.",
            )
        if sku == "Windows2025" and version and catalog.parse_version(version) < (1, 32, 0):
            raise _ArmError(400, "InvalidParameter", "Windows2025 requires Kubernetes version 1.32 or later.")
        if sku and sku.startswith("Windows") and os_type != "Windows":
            raise _ArmError(400, "InvalidParameter", f"osSKU {sku} requires osType Windows.")

    def _subnet_room(
        self, cluster: _Cluster, name: str, props: dict[str, Any], count: int, *, existing: int = 0
    ) -> None:
        subnet_id = props.get("vnetSubnetID")
        if not subnet_id:
            return
        usage = self._subnet_usage(subnet_id)
        if usage is None:
            return
        used, limit = usage
        mode = (cluster.props.get("networkProfile") or {}).get("networkPluginMode")
        pods_elsewhere = mode == "overlay" or props.get("podSubnetID")
        per_node = 1 if pods_elsewhere else int(props.get("maxPods") or 30) + 1
        surge = _surge(count, (props.get("upgradeSettings") or {}).get("maxSurge"))
        needed = (count + surge) * per_node - existing * per_node
        available = limit - used
        if needed > available:
            raise _ArmError(
                400,
                "InsufficientSubnetSize",
                f"Pre-allocated IPs {needed} exceeds IPs available {available} in Subnet Cidr "
                f"{self._subnet_prefix(subnet_id)}, Subnet Name {subnet_id.rsplit('/', 1)[-1]}. "
                "http://aka.ms/aks/insufficientsubnetsize",
            )

    def _put_pool(self, request: HttpRequest, cluster: _Cluster, name: str, body: Any) -> FakeResponse:
        if not isinstance(body, dict):
            raise _ArmError(400, "InvalidRequestContent", "The request content was invalid.")
        props_in = dict(body.get("properties") or {})
        existing_name = next((p for p in cluster.pools if p.lower() == name.lower()), None)
        if existing_name is not None and request.headers.get("If-None-Match") == "*":
            raise _ArmError(
                412, "PreconditionFailed", f"Agent pool {name} already exists (If-None-Match: *)."
            )
        pool_match = (request.headers.get("If-Match") or "").removeprefix("W/").strip('"')
        if (
            pool_match
            and pool_match != "*"
            and (existing_name is None or pool_match != cluster.pool_etags.get(existing_name))
        ):
            raise _ArmError(
                412, "PreconditionFailed", f"The eTag '{pool_match}' of agent pool {name} is stale."
            )
        self._ensure_idle(cluster, name)
        sub = cluster.subscription
        if existing_name is None:
            self._check_new_pool(cluster, name, props_in)
            pool = pool_defaults(self, cluster, name, props_in)
            self._subnet_room(cluster, name, pool, int(pool.get("count", 1)))
            pool["provisioningState"] = "Creating"
            cluster.pools[name] = pool
            self._touch(cluster)
            windows = pool.get("osType") == "Windows"
            legacy = windows and cluster.legacy_windows_image

            def created() -> None:
                pool["provisioningState"] = "Succeeded"
                self._create_vmss(cluster, name)
                self._sync_kube(cluster, name)
                self._touch(cluster)

            def failed() -> None:
                pool["provisioningState"] = "Failed"
                self._touch(cluster)

            op = self._start_operation(
                cluster,
                "create_pool",
                self.durations["create_pool"],
                subscription=sub,
                location=cluster.body["location"],
                pool=name,
                on_success=created,
                on_failure=failed,
                path=request.url,
                progress_total=int(pool.get("count", 1)),
            )
            if legacy:
                op.fail_with = ("InvalidTemplateDeployment", OLD_IMAGE_MESSAGE)
            return FakeResponse(
                request, 201, self._pool_view(cluster, name), self._op_headers(op, location_header=False)
            )
        name = existing_name
        pool = cluster.pools[name]
        cp = cluster.props["currentKubernetesVersion"]
        cur = pool.get("currentOrchestratorVersion") or cp
        target = props_in.get("orchestratorVersion") or pool.get("orchestratorVersion") or cur
        if catalog.parse_version(target) != catalog.parse_version(cur):
            self._validate_pool_version(cluster, cp, cur, target, name)
            if pool.get("osSKU") == "Windows2019" and catalog.parse_version(target) >= (1, 33, 0):
                raise _ArmError(
                    400,
                    "InvalidParameter",
                    "Windows2019 is not supported for Kubernetes version 1.33 and later; use Windows2022 or Windows2025.",
                )
        for immutable in ("osType", "osSKU", "vmSize", "maxPods", "vnetSubnetID", "mode"):
            if immutable in props_in and props_in[immutable] not in (None, pool.get(immutable)):
                if immutable == "mode" and pool.get("osType") == "Linux":
                    continue
                raise _ArmError(
                    400,
                    "InvalidParameter",
                    f"Changing property '{immutable}' of agent pool {name} is not allowed; create a new pool instead.",
                )
        new_count = int(props_in.get("count", pool.get("count", 1)))
        if new_count != int(pool.get("count", 0)):
            if (pool.get("mode") == "System") and new_count < 1:
                raise _ArmError(400, "InvalidParameter", "System agent pools must have at least 1 node.")
            if new_count > int(pool.get("count", 0)):
                self._subnet_room(cluster, name, pool, new_count - int(pool.get("count", 0)))
        upgrading = catalog.parse_version(target) != catalog.parse_version(cur)
        for key in (
            "nodeLabels",
            "nodeTaints",
            "upgradeSettings",
            "enableAutoScaling",
            "minCount",
            "maxCount",
            "tags",
        ):
            if key in props_in:
                pool[key] = props_in[key]
        if props_in.get("mode"):
            if props_in["mode"] == "User" and pool.get("mode") == "System":
                others = [p for n, p in cluster.pools.items() if n != name and p.get("mode") == "System"]
                if not others:
                    raise _ArmError(
                        400, "InvalidParameter", "There has to be at least one system agent pool."
                    )
            pool["mode"] = props_in["mode"]
        pool["orchestratorVersion"] = target
        old_count = int(pool.get("count", 0))
        pool["count"] = new_count
        if upgrading:
            state, duration = "Upgrading", self.durations["pool_upgrade_per_node"] * max(new_count, 1)
        elif new_count != old_count:
            state, duration = "Scaling", self.durations["scale_pool"]
        else:
            state, duration = "Updating", self.durations["update_pool"]
        pool["provisioningState"] = state
        self._touch(cluster)

        def done() -> None:
            pool["provisioningState"] = "Succeeded"
            if upgrading:
                pool["currentOrchestratorVersion"] = target
                pool["nodeImageVersion"] = self._latest_image(cluster, pool)
                self._reimage_vmss(cluster, name)
            self._resize_vmss(cluster, name)
            self._sync_kube(cluster, name)
            self._touch(cluster)

        def update_failed() -> None:
            pool["provisioningState"] = "Failed"
            self._touch(cluster)

        op = self._start_operation(
            cluster,
            "upgrade_pool" if upgrading else "update_pool",
            duration,
            subscription=sub,
            location=cluster.body["location"],
            pool=name,
            on_success=done,
            on_failure=update_failed,
            path=request.url,
        )
        return FakeResponse(
            request, 200, self._pool_view(cluster, name), self._op_headers(op, location_header=False)
        )

    def _delete_pool(
        self, request: HttpRequest, cluster: _Cluster, name: str, query: dict[str, str]
    ) -> FakeResponse:
        existing = next((p for p in cluster.pools if p.lower() == name.lower()), None)
        if existing is None:
            return FakeResponse(request, 204, None)
        self._ensure_idle(cluster, existing)
        pool = cluster.pools[existing]
        if pool.get("mode") == "System":
            others = [p for n, p in cluster.pools.items() if n != existing and p.get("mode") == "System"]
            if not others:
                raise _ArmError(
                    400,
                    "OperationNotAllowed",
                    "There has to be at least one system agent pool; the last System pool cannot be deleted.",
                )
        pool["provisioningState"] = "Deleting"
        self._touch(cluster)
        ignore_pdb = query.get("ignore-pod-disruption-budget", "").lower() == "true"

        def done() -> None:
            cluster.pools.pop(existing, None)
            self._remove_vmss(cluster, existing)
            if self.kube is not None:
                self.kube.delete_pool(existing)
            self._touch(cluster)

        op = self._start_operation(
            cluster,
            "delete_pool",
            self.durations["delete_pool"],
            subscription=cluster.subscription,
            location=cluster.body["location"],
            pool=existing,
            on_success=done,
            method="DELETE",
            path=request.url,
        )
        op_kind_note = "ignore-pdb" if ignore_pdb else "honour-pdb"
        op.kind = f"delete_pool:{op_kind_note}"
        return FakeResponse(request, 202, None, self._op_headers(op, location_header=True))

    def _node_image_upgrade(self, request: HttpRequest, cluster: _Cluster, name: str) -> FakeResponse:
        self._ensure_idle(cluster, name)
        pool = cluster.pools[name]
        latest = self._latest_image(cluster, pool)
        if pool.get("nodeImageVersion") == latest:
            return FakeResponse(request, 304, None)
        windows = pool.get("osType") == "Windows"
        count = max(int(pool.get("count", 1)), 1)
        if windows:
            duration = (
                self.durations["windows_image_pull"] + self.durations["node_image_windows_per_node"] * count
            )
        else:
            duration = self.durations["node_image_linux_per_node"] * count
        pool["provisioningState"] = "UpgradingNodeImageVersion"
        self._touch(cluster)

        def done() -> None:
            pool["provisioningState"] = "Succeeded"
            pool["nodeImageVersion"] = latest
            self._reimage_vmss(cluster, name)
            self._touch(cluster)

        def failed() -> None:
            pool["provisioningState"] = "Failed"
            self._touch(cluster)

        op = self._start_operation(
            cluster,
            "node_image_upgrade",
            duration,
            subscription=cluster.subscription,
            location=cluster.body["location"],
            pool=name,
            on_success=done,
            on_failure=failed,
            method="POST",
            path=request.url,
        )
        return FakeResponse(
            request, 202, self._pool_view(cluster, name), self._op_headers(op, location_header=True)
        )

    def _abort(self, request: HttpRequest, cluster: _Cluster, pool: str | None) -> FakeResponse:
        running = self._busy(cluster, pool)
        if running is None or (pool is not None and running.pool != pool) or running.kind == "abort":
            raise _ArmError(
                409,
                "OperationNotAllowed",
                "There is no running operation to abort on this resource; it may have finished already.",
            )
        running.status = "Canceled"
        running.end = self.clock.monotonic()
        running.error = {
            "code": "OperationCanceled",
            "message": "The operation was canceled by an abort request.",
        }
        target = cluster.pools.get(running.pool) if running.pool else cluster.props
        if target is not None:
            target["provisioningState"] = "Canceling"

        def done() -> None:
            if target is not None:
                target["provisioningState"] = "Canceled"
            self._touch(cluster)

        op = self._start_operation(
            cluster,
            "abort",
            self.durations["abort"],
            subscription=cluster.subscription,
            location=cluster.body["location"],
            pool=pool,
            on_success=done,
            method="POST",
            path=request.url,
        )
        op.kind = "abort"
        return FakeResponse(request, 202, None, self._op_headers(op, location_header=True))

    # ------------------------------------------------------------------ node resource group
    def _vmss_name(self, cluster: _Cluster, pool: str) -> str:
        digits = str(zlib.crc32(cluster.name.encode()) % 10**8).zfill(8)
        return f"aks-{pool}-{digits}-vmss"

    def _node_rg(self, cluster: _Cluster) -> str:
        return str(cluster.props.get("nodeResourceGroup"))

    def _create_vmss(self, cluster: _Cluster, pool: str) -> None:
        props = cluster.pools[pool]
        rg = self._node_rg(cluster)
        self.resource_groups.setdefault((cluster.subscription, rg.lower()), cluster.body["location"])
        name = self._vmss_name(cluster, pool)
        windows = props.get("osType") == "Windows"
        license_type = None
        if windows:
            license_type = ((cluster.props.get("windowsProfile") or {}).get("licenseType")) or None
            if license_type == "None":
                license_type = None
        vmss = {
            "id": f"/subscriptions/{cluster.subscription}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}",
            "name": name,
            "type": "Microsoft.Compute/virtualMachineScaleSets",
            "location": cluster.body["location"],
            "tags": {
                "aks-managed-poolName": pool,
                "aks-managed-createOperationID": str(uuid.uuid4()),
                "aks-managed-orchestrator": f"Kubernetes:{props.get('currentOrchestratorVersion')}",
            },
            "sku": {"name": props.get("vmSize"), "tier": "Standard", "capacity": int(props.get("count", 0))},
            "properties": {
                "singlePlacementGroup": False,
                "orchestrationMode": "Uniform",
                "upgradePolicy": {"mode": "Manual"},
                "provisioningState": "Succeeded",
                "virtualMachineProfile": {
                    "osProfile": {
                        "computerNamePrefix": f"aks{pool}"
                        if windows
                        else f"aks-{pool}-{name.split('-')[2]}-vmss",
                        "adminUsername": (cluster.props.get("windowsProfile") or {}).get(
                            "adminUsername", "azureuser"
                        )
                        if windows
                        else "azureuser",
                    },
                    "storageProfile": {
                        "osDisk": {"osType": "Windows" if windows else "Linux", "createOption": "FromImage"}
                    },
                },
            },
        }
        if license_type:
            vmss["properties"]["virtualMachineProfile"]["licenseType"] = license_type
        key = (cluster.subscription, rg.lower(), name.lower())
        self.vmss[key] = vmss
        self.vms[key] = {}
        self._resize_vmss(cluster, pool)

    def _vm_body(self, vmss: dict[str, Any], index: int, windows: bool, pool: str) -> dict[str, Any]:
        name = f"{vmss['name']}_{index}"
        computer = f"aks{pool}{index:06d}" if windows else f"{vmss['name']}{index:06d}"
        body: dict[str, Any] = {
            "id": f"{vmss['id']}/virtualMachines/{index}",
            "name": name,
            "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
            "location": vmss["location"],
            "instanceId": str(index),
            "tags": dict(vmss.get("tags") or {}),
            "properties": {
                "latestModelApplied": True,
                "provisioningState": "Succeeded",
                "osProfile": {"computerName": computer},
            },
        }
        lt = vmss["properties"]["virtualMachineProfile"].get("licenseType")
        if lt:
            body["properties"]["licenseType"] = lt
        return body

    def _find_vmss(self, cluster: _Cluster, pool: str) -> tuple[tuple[str, str, str], dict[str, Any]] | None:
        rg = self._node_rg(cluster).lower()
        for key, vmss in self.vmss.items():
            if (
                key[0] == cluster.subscription
                and key[1] == rg
                and (vmss.get("tags") or {}).get("aks-managed-poolName") == pool
            ):
                return key, vmss
        return None

    def _resize_vmss(self, cluster: _Cluster, pool: str) -> None:
        found = self._find_vmss(cluster, pool)
        if found is None:
            return
        key, vmss = found
        count = int(cluster.pools[pool].get("count", 0))
        windows = cluster.pools[pool].get("osType") == "Windows"
        vmss["sku"]["capacity"] = count
        vms = self.vms.setdefault(key, {})
        while len(vms) < count:
            index = max((int(i) for i in vms), default=-1) + 1
            vms[str(index)] = self._vm_body(vmss, index, windows, pool)
        while len(vms) > count:
            vms.pop(max(vms, key=int))

    def _reimage_vmss(self, cluster: _Cluster, pool: str) -> None:
        """Apply the cluster's Windows model to the pool's scale set and reimage its instances (FAQ AHUB)."""
        found = self._find_vmss(cluster, pool)
        if found is None:
            return
        key, vmss = found
        if cluster.pools[pool].get("osType") == "Windows":
            lt = (cluster.props.get("windowsProfile") or {}).get("licenseType")
            profile = vmss["properties"]["virtualMachineProfile"]
            if lt and lt != "None":
                profile["licenseType"] = lt
            else:
                profile.pop("licenseType", None)
        for vm in self.vms.get(key, {}).values():
            vm["properties"]["latestModelApplied"] = True
            lt = vmss["properties"]["virtualMachineProfile"].get("licenseType")
            if lt:
                vm["properties"]["licenseType"] = lt
            else:
                vm["properties"].pop("licenseType", None)

    def _remove_vmss(self, cluster: _Cluster, pool: str) -> None:
        found = self._find_vmss(cluster, pool)
        if found is not None:
            self.vmss.pop(found[0], None)
            self.vms.pop(found[0], None)

    def _sync_kube(self, cluster: _Cluster, pool: str) -> None:
        if self.kube is None or pool not in cluster.pools:
            return
        p = cluster.pools[pool]
        self.kube.control_plane_version = str(cluster.props["currentKubernetesVersion"])
        self.kube.sync_pool(
            pool,
            os_type=p.get("osType", "Linux"),
            os_sku=p.get("osSKU"),
            count=int(p.get("count", 0)),
            labels=dict(p.get("nodeLabels") or {}),
            taints=list(p.get("nodeTaints") or []),
            kubernetes_version=p.get("currentOrchestratorVersion")
            or cluster.props["currentKubernetesVersion"],
            max_pods=int(p.get("maxPods") or 30),
            mode=str(p.get("mode") or "User"),
        )

    # ------------------------------------------------------------------ compute routes
    def _compute(
        self, request: HttpRequest, method: str, sub: str, rg: str, rest: list[str], body: Any
    ) -> FakeResponse:
        low = [p.lower() for p in rest]
        if low == ["virtualmachinescalesets"] and method == "GET":
            items = [v for k, v in self.vmss.items() if k[0] == sub and k[1] == rg.lower()]
            return FakeResponse(request, 200, {"value": copy.deepcopy(items)})
        if len(low) >= 2 and low[0] == "virtualmachinescalesets":
            key = (sub, rg.lower(), low[1])
            vmss = self.vmss.get(key)
            if vmss is None:
                raise _ArmError(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.Compute/virtualMachineScaleSets/{rest[1]}' under resource group '{rg}' was not found.",
                )
            if len(low) == 2:
                if method == "GET":
                    return FakeResponse(request, 200, copy.deepcopy(vmss))
                if method in ("PUT", "PATCH"):
                    profile_in = ((body or {}).get("properties") or {}).get("virtualMachineProfile") or {}
                    if "licenseType" in profile_in:
                        profile = vmss["properties"]["virtualMachineProfile"]
                        lt = profile_in["licenseType"]
                        if lt and lt != "None":
                            profile["licenseType"] = lt
                        else:
                            profile.pop("licenseType", None)
                        for vm in self.vms.get(key, {}).values():
                            vm["properties"]["latestModelApplied"] = False
                    return self._compute_lro(request, vmss)
            if len(low) >= 3 and low[2] == "virtualmachines":
                vms = self.vms.get(key, {})
                if len(low) == 3 and method == "GET":
                    return FakeResponse(request, 200, {"value": copy.deepcopy(list(vms.values()))})
                if len(low) == 4:
                    found_vm = vms.get(rest[3])
                    if found_vm is None:
                        raise _ArmError(404, "NotFound", f"Instance {rest[3]} not found in {rest[1]}.")
                    vm = found_vm
                    if method == "GET":
                        return FakeResponse(request, 200, copy.deepcopy(vm))
                    if method in ("PUT", "PATCH"):
                        props_in = (body or {}).get("properties") or {}
                        if "licenseType" in props_in:
                            lt = props_in["licenseType"]
                            if lt and lt != "None":
                                vm["properties"]["licenseType"] = lt
                            else:
                                vm["properties"].pop("licenseType", None)
                        return self._compute_lro(request, vm)
        raise _ArmError(404, "InvalidResourceType", "/".join(rest))

    def _compute_lro(self, request: HttpRequest, resource: dict[str, Any]) -> FakeResponse:
        resource["properties"]["provisioningState"] = "Updating"

        def done() -> None:
            resource["properties"]["provisioningState"] = "Succeeded"

        sub = request.url.split("/subscriptions/")[1].split("/")[0]
        op = self._start_operation(
            None,
            "vm_update",
            self.durations["vm_update"],
            subscription=sub,
            location=resource.get("location", "westus2"),
            provider="Microsoft.Compute",
            on_success=done,
            path=request.url,
        )
        return FakeResponse(
            request, 200, copy.deepcopy(resource), self._op_headers(op, location_header=False)
        )

    # ------------------------------------------------------------------ network routes
    def _subnet_usage(self, subnet_id: str) -> tuple[int, int] | None:
        m = re.search(
            r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft.Network/virtualNetworks/([^/]+)/subnets/([^/]+)",
            subnet_id,
            re.IGNORECASE,
        )
        if not m:
            return None
        vnet = self.vnets.get((m.group(1), m.group(2).lower(), m.group(3).lower()))
        if vnet is None:
            return None
        for s in vnet["properties"]["subnets"]:
            if s["name"].lower() == m.group(4).lower():
                limit = _prefix_size(s["properties"]["addressPrefix"]) - 5
                return self._subnet_used(s["id"]), limit
        return None

    def _subnet_prefix(self, subnet_id: str) -> str:
        for vnet in self.vnets.values():
            for s in vnet["properties"]["subnets"]:
                if s["id"].lower() == subnet_id.lower():
                    return str(s["properties"]["addressPrefix"])
        return "unknown"

    def _subnet_used(self, subnet_id: str) -> int:
        used = self.subnet_base_usage.get(subnet_id.lower(), 0)
        for cluster in self.clusters.values():
            mode = (cluster.props.get("networkProfile") or {}).get("networkPluginMode")
            for pool in cluster.pools.values():
                if (pool.get("vnetSubnetID") or "").lower() != subnet_id.lower():
                    continue
                count = int(pool.get("count", 0))
                if mode == "overlay" or pool.get("podSubnetID"):
                    used += count
                else:
                    used += count * (int(pool.get("maxPods") or 30) + 1)
        return used

    def _network(self, request: HttpRequest, method: str, sub: str, rg: str, rest: list[str]) -> FakeResponse:
        low = [p.lower() for p in rest]
        if len(low) >= 2 and low[0] == "virtualnetworks":
            vnet = self.vnets.get((sub, rg.lower(), low[1]))
            if vnet is None:
                raise _ArmError(404, "ResourceNotFound", f"Virtual network {rest[1]} was not found.")
            if len(low) == 2 and method == "GET":
                return FakeResponse(request, 200, copy.deepcopy(vnet))
            if low[2:] == ["usages"]:
                values = []
                for s in vnet["properties"]["subnets"]:
                    limit = _prefix_size(s["properties"]["addressPrefix"]) - 5
                    values.append(
                        {
                            "currentValue": float(self._subnet_used(s["id"])),
                            "limit": float(limit),
                            "id": s["id"],
                            "name": {
                                "value": "Subnet size and usage",
                                "localizedValue": "Subnet size and usage",
                            },
                            "unit": "Count",
                        }
                    )
                return FakeResponse(request, 200, {"value": values})
            if low[2:] == ["subnets"]:
                return FakeResponse(request, 200, {"value": copy.deepcopy(vnet["properties"]["subnets"])})
            if len(low) == 4 and low[2] == "subnets":
                for s in vnet["properties"]["subnets"]:
                    if s["name"].lower() == low[3]:
                        return FakeResponse(request, 200, copy.deepcopy(s))
                raise _ArmError(404, "NotFound", f"Subnet {rest[3]} was not found.")
        raise _ArmError(404, "InvalidResourceType", "/".join(rest))

    # ------------------------------------------------------------------ seeding API (scenarios, tests)
    def add_resource_group(self, subscription: str, name: str, location: str = "westeurope") -> None:
        """Create a resource group."""
        with self._lock:
            self.resource_groups[(subscription, name.lower())] = location

    def add_vnet(
        self,
        subscription: str,
        resource_group: str,
        name: str,
        *,
        address_prefix: str = "10.0.0.0/8",
        subnets: dict[str, str] | None = None,
        used: dict[str, int] | None = None,
        location: str = "westeurope",
    ) -> dict[str, str]:
        """Create a virtual network with subnets ``{name: prefix}``; ``used`` adds addresses taken by others.

        Returns:
            The subnet ids by name.
        """
        with self._lock:
            self.add_resource_group(subscription, resource_group, location)
            vnet_id = f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Network/virtualNetworks/{name}"
            ids: dict[str, str] = {}
            subnet_bodies = []
            for sname, prefix in (subnets or {}).items():
                sid = f"{vnet_id}/subnets/{sname}"
                ids[sname] = sid
                subnet_bodies.append(
                    {
                        "id": sid,
                        "name": sname,
                        "type": "Microsoft.Network/virtualNetworks/subnets",
                        "properties": {"addressPrefix": prefix, "provisioningState": "Succeeded"},
                    }
                )
                if used and sname in used:
                    self.subnet_base_usage[sid.lower()] = int(used[sname])
            self.vnets[(subscription, resource_group.lower(), name.lower())] = {
                "id": vnet_id,
                "name": name,
                "type": "Microsoft.Network/virtualNetworks",
                "location": location,
                "properties": {
                    "addressSpace": {"addressPrefixes": [address_prefix]},
                    "subnets": subnet_bodies,
                    "provisioningState": "Succeeded",
                },
            }
            return ids

    def add_cluster(self, subscription: str, resource_group: str, name: str, **spec: Any) -> None:
        """Seed a running cluster (see ``aks_windows_ops.testing.scenario`` for the fields)."""
        from aks_windows_ops.testing.scenario import seed_cluster

        with self._lock:
            seed_cluster(self, subscription, resource_group, name, spec)

    def cluster_state(self, subscription: str, resource_group: str, name: str) -> dict[str, Any]:
        """Return the cluster's wire JSON as a GET would (for assertions)."""
        with self._lock:
            return self._cluster_view(self._get_cluster(subscription, resource_group, name))

    def pool_state(self, subscription: str, resource_group: str, name: str, pool: str) -> dict[str, Any]:
        """Return a pool's wire properties (for assertions)."""
        with self._lock:
            cluster = self._get_cluster(subscription, resource_group, name)
            return copy.deepcopy(cluster.pools[self._pool_name(cluster, pool)])

    def scale_sets(
        self, subscription: str, resource_group: str, name: str
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Yield each scale set of the cluster's node resource group with its instances (for assertions)."""
        with self._lock:
            cluster = self._get_cluster(subscription, resource_group, name)
            rg = self._node_rg(cluster).lower()
            items = [
                (copy.deepcopy(v), copy.deepcopy(list(self.vms.get(k, {}).values())))
                for k, v in self.vmss.items()
                if k[0] == subscription and k[1] == rg
            ]
        yield from items

    def set_instance_license(
        self,
        subscription: str,
        resource_group: str,
        name: str,
        pool: str,
        instance_id: str,
        license_type: str | None,
    ) -> None:
        """Change one instance's license type behind AKS's back (to test drift reports)."""
        with self._lock:
            cluster = self._get_cluster(subscription, resource_group, name)
            found = self._find_vmss(cluster, pool)
            if found is None:
                raise KeyError(pool)
            vm = self.vms[found[0]][instance_id]
            if license_type:
                vm["properties"]["licenseType"] = license_type
            else:
                vm["properties"].pop("licenseType", None)

    @classmethod
    def from_scenario(cls, source: Any, **kwargs: Any) -> FakeAzure:
        """Build an emulator from a scenario file, a built-in scenario name, or a parsed dict."""
        from aks_windows_ops.testing.scenario import load_scenario

        fake: FakeAzure = load_scenario(source, **kwargs)
        return fake


def build_cluster(fake: FakeAzure, sub: str, rg: str, name: str, body: dict[str, Any]) -> _Cluster:
    """Make the wire body of a new cluster from a PUT body, with the fields the service fills in."""
    props_in = copy.deepcopy(body.get("properties") or {})
    location = body.get("location", "westus2")
    version = fake.resolve_version(
        props_in.get("kubernetesVersion") or fake.default_kubernetes_version or fake.kubernetes_versions[-3]
    )
    dns = props_in.get("dnsPrefix") or f"{name}-dns"
    suffix = uuid.uuid5(uuid.NAMESPACE_DNS, f"{sub}/{rg}/{name}").hex[:8]
    network_in = props_in.get("networkProfile") or {}
    plugin = network_in.get("networkPlugin", "kubenet")
    network: dict[str, Any] = {
        "networkPlugin": plugin,
        "networkPolicy": network_in.get("networkPolicy", "none"),
        "networkDataplane": "azure",
        "loadBalancerSku": network_in.get("loadBalancerSku", "standard"),
        "loadBalancerProfile": {"managedOutboundIPs": {"count": 1}, "backendPoolType": "nodeIPConfiguration"},
        "serviceCidr": network_in.get("serviceCidr", "10.0.0.0/16"),
        "dnsServiceIP": network_in.get("dnsServiceIP", "10.0.0.10"),
        "outboundType": network_in.get("outboundType", "loadBalancer"),
        "serviceCidrs": [network_in.get("serviceCidr", "10.0.0.0/16")],
        "ipFamilies": ["IPv4"],
    }
    if plugin == "kubenet":
        network["podCidr"] = network_in.get("podCidr", "10.244.0.0/16")
        network["podCidrs"] = [network["podCidr"]]
        network["dockerBridgeCidr"] = network_in.get("dockerBridgeCidr", "172.17.0.1/16")
    if network_in.get("networkPluginMode"):
        network["networkPluginMode"] = network_in["networkPluginMode"]
        network["podCidr"] = network_in.get("podCidr", "10.244.0.0/16")
        network["podCidrs"] = [network["podCidr"]]
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "kubernetesVersion": version,
        "currentKubernetesVersion": version,
        "dnsPrefix": dns,
        "fqdn": f"{dns}-{suffix}.hcp.{location}.azmk8s.io",
        "azurePortalFQDN": f"{dns}-{suffix}.portal.hcp.{location}.azmk8s.io",
        "agentPoolProfiles": [],
        "nodeResourceGroup": props_in.get("nodeResourceGroup") or f"MC_{rg}_{name}_{location}",
        "enableRBAC": props_in.get("enableRBAC", True),
        "supportPlan": "KubernetesOfficial",
        "networkProfile": network,
        "maxAgentPools": 100,
        "disableLocalAccounts": props_in.get("disableLocalAccounts", False),
        "securityProfile": props_in.get("securityProfile") or {},
        "storageProfile": {
            "diskCSIDriver": {"enabled": True, "version": "v1"},
            "fileCSIDriver": {"enabled": True},
            "snapshotController": {"enabled": True},
        },
        "oidcIssuerProfile": {"enabled": False},
        "workloadAutoScalerProfile": {},
        "autoUpgradeProfile": props_in.get("autoUpgradeProfile") or {"nodeOSUpgradeChannel": "NodeImage"},
        "resourceUID": suffix * 3,
        "metricsProfile": {"costAnalysis": {"enabled": False}},
        "nodeProvisioningProfile": {"mode": "Manual", "defaultNodePools": "Auto"},
        "bootstrapProfile": props_in.get("bootstrapProfile") or {"artifactSource": "Direct"},
    }
    if network["outboundType"] in ("managedNATGateway", "userAssignedNATGateway"):
        # NAT gateway egress: no load-balancer outbound IPs; a managed gateway reports its own profile.
        network.pop("loadBalancerProfile", None)
        if network["outboundType"] == "managedNATGateway":
            nat_in = network_in.get("natGatewayProfile") or {}
            network["natGatewayProfile"] = {
                "managedOutboundIPProfile": dict(nat_in.get("managedOutboundIPProfile") or {"count": 1}),
                "idleTimeoutInMinutes": int(nat_in.get("idleTimeoutInMinutes") or 4),
            }
    if props_in.get("enablePodSecurityPolicy") is not None:
        props["enablePodSecurityPolicy"] = props_in["enablePodSecurityPolicy"]
    # The service keeps the other properties it is given (nodeResourceGroupProfile, ...).
    for key, value in props_in.items():
        if value is not None and key not in props and key not in _SERVICE_SET_CLUSTER_FIELDS:
            props[key] = copy.deepcopy(value)
    if props_in.get("linuxProfile"):
        props["linuxProfile"] = props_in["linuxProfile"]
    win_in = props_in.get("windowsProfile")
    if win_in is not None:
        win = {
            "adminUsername": win_in.get("adminUsername", "azureuser"),
            "enableCSIProxy": win_in.get("enableCSIProxy", True),
        }
        if win_in.get("licenseType"):
            win["licenseType"] = win_in["licenseType"]
        if win_in.get("gmsaProfile"):
            win["gmsaProfile"] = win_in["gmsaProfile"]
        props["windowsProfile"] = win
    identity_in = body.get("identity")
    cluster_body: dict[str, Any] = {
        "id": f"/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}",
        "location": location,
        "name": name,
        "type": "Microsoft.ContainerService/ManagedClusters",
        "kind": "Base",
        "properties": props,
        "sku": body.get("sku") or {"name": "Base", "tier": "Free"},
        "systemData": {
            "createdAt": _iso(fake.base_time, fake.clock.monotonic()),
            "lastModifiedAt": _iso(fake.base_time, fake.clock.monotonic()),
        },
    }
    if identity_in:
        cluster_body["identity"] = {
            "type": identity_in.get("type", "SystemAssigned"),
            "principalId": "00000000-0000-0000-0000-000000000001",
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        }
        # ARM still reports a placeholder service principal for managed-identity clusters.
        props["servicePrincipalProfile"] = {"clientId": "msi"}
    else:
        sp = props_in.get("servicePrincipalProfile") or {"clientId": "00000000-0000-0000-0000-000000000001"}
        props["servicePrincipalProfile"] = {"clientId": sp.get("clientId")}
    if body.get("tags"):
        cluster_body["tags"] = body["tags"]
    cluster = _Cluster(sub, rg, name, cluster_body, windows_image_cutoff=fake.now_date())
    return cluster


def complete_cluster(cluster: _Cluster) -> None:
    """Add what a finished create reports: the kubelet identity and the load balancer's outbound IPs."""
    props = cluster.props
    node_rg = props.get("nodeResourceGroup")
    base = f"/subscriptions/{cluster.subscription}/resourcegroups/{node_rg}/providers"
    if "identity" in cluster.body:
        props["identityProfile"] = {
            "kubeletidentity": {
                "resourceId": f"{base}/Microsoft.ManagedIdentity/userAssignedIdentities/{cluster.name}-agentpool",
                "clientId": "00000000-0000-0000-0000-000000000001",
                "objectId": "00000000-0000-0000-0000-000000000001",
            }
        }
    lb = (props.get("networkProfile") or {}).get("loadBalancerProfile")
    if isinstance(lb, dict):
        lb["effectiveOutboundIPs"] = [{"id": f"{base}/Microsoft.Network/publicIPAddresses/{uuid.uuid4()}"}]
    nat = (props.get("networkProfile") or {}).get("natGatewayProfile")
    if isinstance(nat, dict):
        count = int((nat.get("managedOutboundIPProfile") or {}).get("count") or 1)
        nat["effectiveOutboundIPs"] = [
            {"id": f"{base}/Microsoft.Network/publicIPAddresses/{uuid.uuid4()}"} for _ in range(count)
        ]


def pool_defaults(fake: FakeAzure, cluster: _Cluster, name: str, props_in: dict[str, Any]) -> dict[str, Any]:
    """Fill a new pool's wire properties the way the service does (defaults from Service facts: FAQ rules)."""
    os_type = props_in.get("osType") or "Linux"
    if props_in.get("orchestratorVersion"):
        props_in = {**props_in, "orchestratorVersion": fake.resolve_version(props_in["orchestratorVersion"])}
    version = (
        props_in.get("orchestratorVersion")
        or cluster.props.get("currentKubernetesVersion")
        or cluster.props["kubernetesVersion"]
    )
    sku = props_in.get("osSKU")
    if not sku:
        if os_type == "Windows":
            sku = "Windows2019" if catalog.parse_version(version) < (1, 25, 0) else "Windows2022"
        else:
            sku = "Ubuntu"
    network = cluster.props.get("networkProfile") or {}
    if props_in.get("maxPods"):
        max_pods = int(props_in["maxPods"])
    elif network.get("networkPluginMode") == "overlay":
        max_pods = 250
    elif network.get("networkPlugin") == "azure" and not props_in.get("podSubnetID"):
        max_pods = 30
    else:
        max_pods = 110
    upgrade = props_in.get("upgradeSettings") or {}
    if not upgrade:
        upgrade = {"maxSurge": "10%", "maxUnavailable": "0"}
    pool: dict[str, Any] = {
        "name": name,
        "count": int(props_in.get("count", 1 if props_in.get("count") is None else props_in["count"])),
        "vmSize": props_in.get("vmSize")
        or ("Standard_D2s_v3" if os_type == "Windows" else "Standard_DS2_v2"),
        "osDiskSizeGB": int(props_in.get("osDiskSizeGB") or 128),
        "osDiskType": props_in.get("osDiskType") or "Managed",
        "kubeletDiskType": "OS",
        "workloadRuntime": "OCIContainer",
        "maxPods": max_pods,
        "type": "VirtualMachineScaleSets",
        "enableAutoScaling": bool(props_in.get("enableAutoScaling", False)),
        "scaleDownMode": "Delete",
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "orchestratorVersion": version,
        "currentOrchestratorVersion": version,
        "enableNodePublicIP": False,
        "enableCustomCATrust": False,
        "nodeLabels": dict(props_in.get("nodeLabels") or {}),
        "mode": props_in.get("mode") or "User",
        "enableEncryptionAtHost": False,
        "enableUltraSSD": False,
        "osType": os_type,
        "osSKU": sku,
        "nodeImageVersion": props_in.get("nodeImageVersion")
        or catalog.latest_image(
            sku, os_type, today=fake.now_date(), windows_cutoff=cluster.windows_image_cutoff
        ),
        "upgradeStrategy": "Rolling",
        "upgradeSettings": upgrade,
        "enableFIPS": bool(props_in.get("enableFIPS", False)),
        "networkProfile": {},
        "securityProfile": {"enableVTPM": False, "enableSecureBoot": False},
    }
    if props_in.get("nodeTaints"):
        pool["nodeTaints"] = list(props_in["nodeTaints"])
    if os_type == "Windows":
        pool["windowsProfile"] = dict(props_in.get("windowsProfile") or {})
    for key in (
        "vnetSubnetID",
        "podSubnetID",
        "availabilityZones",
        "minCount",
        "maxCount",
        "tags",
        "enableAutoScaling",
    ):
        if props_in.get(key) is not None:
            pool[key] = props_in[key]
    # The service keeps every other property it is given (spot settings, public IPs, GPU, kubelet config ...).
    for key, value in props_in.items():
        if value is not None and key not in pool and key not in _SERVICE_SET_POOL_FIELDS:
            pool[key] = copy.deepcopy(value)
    for key in _GIVEN_OVER_DEFAULT:
        given = props_in.get(key)
        if isinstance(given, dict) and isinstance(pool.get(key), dict):
            pool[key] = {**pool[key], **copy.deepcopy(given)}  # the service fills what is left out
        elif given is not None:
            pool[key] = copy.deepcopy(given)
    return pool


#: Cluster properties only the service sets (read-only in the API).
_SERVICE_SET_CLUSTER_FIELDS = frozenset(
    {
        "provisioningState",
        "powerState",
        "currentKubernetesVersion",
        "fqdn",
        "azurePortalFQDN",
        "privateFQDN",
        "maxAgentPools",
        "resourceUID",
        "agentPoolProfiles",
    }
)
#: Enum properties ARM accepts in any letter case, with their canonical spelling.
_ENUMS: dict[str, tuple[str, ...]] = {
    "osType": ("Linux", "Windows"),
    "osSKU": (
        "Ubuntu",
        "Ubuntu2204",
        "Ubuntu2404",
        "AzureLinux",
        "AzureLinux3",
        "CBLMariner",
        "Windows2019",
        "Windows2022",
        "Windows2025",
        "WindowsAnnual",
    ),
    "mode": ("System", "User", "Gateway"),
    "scaleSetPriority": ("Regular", "Spot"),
    "scaleSetEvictionPolicy": ("Delete", "Deallocate"),
    "scaleDownMode": ("Delete", "Deallocate"),
    "osDiskType": ("Managed", "Ephemeral"),
    "kubeletDiskType": ("OS", "Temporary"),
    "licenseType": ("None", "Windows_Server"),
    "outboundType": (
        "loadBalancer",
        "userDefinedRouting",
        "managedNATGateway",
        "userAssignedNATGateway",
        "none",
    ),
}
_ENUM_LOOKUP = {field: {v.lower(): v for v in values} for field, values in _ENUMS.items()}


def canonical_enums(body: Any) -> Any:
    """Spell enum values as the service does: ARM matches them case-insensitively (``"windows"`` is Windows)."""
    if isinstance(body, list):
        return [canonical_enums(item) for item in body]
    if not isinstance(body, dict):
        return body
    out: dict[str, Any] = {}
    for key, value in body.items():
        lookup = _ENUM_LOOKUP.get(key)
        if key in ("tags", "nodeLabels"):  # maps whose keys are data
            out[key] = value
        elif lookup is not None and isinstance(value, str):
            out[key] = lookup.get(value.lower(), value)
        else:
            out[key] = canonical_enums(value)
    return out


#: Pool properties only the service sets (read-only in the API).
_SERVICE_SET_POOL_FIELDS = frozenset({"provisioningState", "currentOrchestratorVersion", "eTag", "name"})
#: Properties with a service default above that a caller's value replaces.
_GIVEN_OVER_DEFAULT = (
    "enableNodePublicIP",
    "enableCustomCATrust",
    "enableEncryptionAtHost",
    "enableUltraSSD",
    "enableFIPS",
    "kubeletDiskType",
    "workloadRuntime",
    "scaleDownMode",
    "upgradeStrategy",
    "networkProfile",
    "securityProfile",
)
