"""Serve a twin on loopback over HTTPS, so that real clients (``az``, ``kubectl``, your scripts) can rehearse on it.

:class:`TwinServer` runs two servers with this process's private CA (``testing.kube.tls``):

- an ARM endpoint: the cloud metadata document that ``az cloud register --endpoint-resource-manager`` reads
  (``/metadata/endpoints``), a managed-identity token endpoint (``/msi/token``, the App Service protocol that
  ``az login --identity`` uses when ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` are set), ``/subscriptions``
  and ``/tenants``, and every ARM path the ``FakeAzure`` emulator serves (long-running operation URLs point back
  at this server);
- the cluster's Kubernetes API (a TLS ``FakeKubernetes``), reachable through the kubeconfig that
  ``get-credentials`` (``listClusterUserCredential``) returns.

Time: while a long-running operation is in flight (or a Kubernetes change waits on time, such as a pod
turning Ready), the twin's virtual clock advances at ``time_rate`` virtual seconds per real second, whoever
polls: the operation URL, ``az aks nodepool wait`` reading the agent pool, or nobody. An idle twin's clock stands
still, so serving it for an hour does not age it by days. ``time_rate=0`` leaves the clock to the caller (tests
advance it themselves). The ticker reads the real clock on purpose: it is the bridge from the clients' real
seconds to the twin's virtual ones.

Persistence: with ``persist`` (``Twin.save`` of the persisted twin, see :mod:`.twins`), every change made
through either server is saved back to the twin's folder within ``save_interval`` real seconds, whenever no
operation is in flight (an operation in flight is saved once it ends, or finished at shutdown by the caller's
final save). Saving happens under the emulator's lock, so a save never sees half of a request.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aks_windows_ops.testing.kube.tls import TlsMaterial, loopback_tls
from aks_windows_ops.testing.loopback import LoopbackHandler, LoopbackServer, serve_in_thread

__all__ = ["TwinEndpoints", "TwinServer"]

_ARM = "https://management.azure.com"
_TENANT = "00000000-0000-0000-0000-00000000c0de"
_CLIENT_ID = "00000000-0000-0000-0000-000000000001"
_IDENTITY = "00000000-0000-0000-0000-0000000000a1"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class TwinEndpoints:
    """Where a running twin is served.

    Attributes:
        arm_url: the ARM endpoint (``https://127.0.0.1:<port>``).
        kube_url: the Kubernetes API server.
        identity_header: the secret a managed-identity token request must carry (``X-IDENTITY-HEADER``).
        ca_file: the CA certificate file clients must trust.
    """

    arm_url: str
    kube_url: str
    identity_header: str
    ca_file: str

    @property
    def identity_endpoint(self) -> str:
        """The managed-identity token endpoint (``IDENTITY_ENDPOINT``)."""
        return f"{self.arm_url}/msi/token"

    def az_environment(self) -> dict[str, str]:
        """Environment variables that point the Azure CLI at the twin (trust the CA, use the identity endpoint)."""
        return {
            "REQUESTS_CA_BUNDLE": self.ca_file,
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
        }


class _ArmServer(LoopbackServer):
    def __init__(self, address: tuple[str, int], twin: TwinServer, tls: TlsMaterial) -> None:
        super().__init__(address, _ArmHandler, ssl_context=tls.server_context())
        self.twin = twin


class TwinServer:
    """A ``FakeAzure`` (with its ``FakeKubernetes``) served to real clients over HTTPS on loopback.

    Args:
        fake: the ARM emulator; its ``kube`` must be a TLS ``FakeKubernetes`` (started here if needed).
        time_rate: virtual seconds that pass per real second while something is in flight (0 = the clock moves
            only when the caller advances it).
        host: the loopback address to bind.
        arm_port: the ARM port (0 = any free port).
        persist: saves the twin (called under the emulator's lock, when no operation is in flight).
        save_interval: real seconds between checks for changes to save.
    """

    def __init__(
        self,
        fake: Any,
        *,
        time_rate: float = 60.0,
        host: str = "127.0.0.1",
        arm_port: int = 0,
        persist: Callable[[], None] | None = None,
        save_interval: float = 2.0,
    ) -> None:
        self.fake = fake
        self.time_rate = time_rate
        self.persist = persist
        self.save_interval = save_interval
        self._writes = 0
        self._saved: Any = self._fingerprint() if persist is not None else None
        self.identity_header = uuid.uuid4().hex
        self._tls = loopback_tls()
        self._host = host
        self._arm_port = arm_port
        self._arm: _ArmServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def start(self) -> TwinEndpoints:
        """Start both servers and the time ticker; return where they listen."""
        kube = self.fake.kube
        if kube is None:
            raise ValueError("the twin has no Kubernetes API server")
        kube.start()
        self._arm = _ArmServer((self._host, self._arm_port), self, self._tls)
        ticker = threading.Thread(target=self._tick, name="twin-clock", daemon=True)
        ticker.start()
        self._threads = [serve_in_thread(self._arm, "twin-arm"), ticker]
        if self.persist is not None:
            saver = threading.Thread(target=self._save_loop, name="twin-save", daemon=True)
            saver.start()
            self._threads.append(saver)
        return self.endpoints

    @property
    def endpoints(self) -> TwinEndpoints:
        """Where the twin is served.

        Raises:
            RuntimeError: not started.
        """
        if self._arm is None:
            raise RuntimeError("the twin is not being served")
        host, port = self._arm.server_address[:2]
        return TwinEndpoints(
            arm_url=f"https://{host!s}:{port}",
            kube_url=self.fake.kube.url,
            identity_header=self.identity_header,
            ca_file=str(self._tls.ca_file),
        )

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        self._stop.set()
        if self._arm is not None:
            self._arm.shutdown()
            self._arm.server_close()
            self._arm = None
        if self.fake.kube is not None:
            self.fake.kube.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def _in_flight(self) -> bool:
        return any(op.status == "InProgress" and not op.stuck for op in self.fake.operations.values())

    def _tick(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(0.2):
            now = time.monotonic()
            if self.time_rate > 0:
                with self.fake._lock:
                    kube = self.fake.kube
                    if self._in_flight() or (kube is not None and kube.state.next_due() is not None):
                        self.fake.clock.advance((now - last) * self.time_rate)
                        self.fake._advance()  # operations end when due, polled or not
            last = now

    def _fingerprint(self) -> Any:
        kube = self.fake.kube
        return (
            self._writes,
            kube.state.resource_version() if kube is not None else 0,
            tuple(sorted((op.id, op.status) for op in self.fake.operations.values())),
        )

    def checkpoint(self) -> bool:
        """Save the twin if it changed since the last save and no operation is in flight; return whether saved."""
        if self.persist is None:
            return False
        with self.fake._lock:
            if self._in_flight():
                return False
            fingerprint = self._fingerprint()
            if fingerprint == self._saved:
                return False
            self.persist()
            self._saved = fingerprint
            return True

    def _save_loop(self) -> None:
        while not self._stop.wait(self.save_interval):
            try:
                self.checkpoint()
            except Exception as err:  # a full disk must not stop serving; the final save reports it
                import logging

                logging.getLogger(__name__).warning("could not save the twin: %s", err)

    # ------------------------------------------------------------------ what the ARM handler serves
    def subscriptions(self) -> list[dict[str, Any]]:
        """The subscriptions of the twin (each that holds a resource group or a cluster)."""
        subs = sorted({sub for sub, _ in self.fake.resource_groups} | {k[0] for k in self.fake.clusters})
        return [
            {
                "id": f"/subscriptions/{sub}",
                "subscriptionId": sub,
                "tenantId": _TENANT,
                "displayName": f"twin {sub[:8]}",
                "state": "Enabled",
                "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "spendingLimit": "Off"},
                "authorizationSource": "RoleBased",
                "managedByTenants": [],
            }
            for sub in subs
        ]

    def metadata(self, base: str) -> dict[str, Any]:
        """The cloud metadata document (``/metadata/endpoints``) for ``az cloud register``."""
        return {
            "name": "AksWindowsOpsTwin",
            "resourceManager": f"{base}/",
            "authentication": {"loginEndpoint": f"{base}/", "audiences": [f"{base}/"], "tenant": "common"},
            "suffixes": {
                "storage": "core.windows.net",
                "keyVaultDns": "vault.azure.net",
                "acrLoginServer": "azurecr.io",
            },
            "portal": base,
            "graph": f"{base}/",
            "graphAudience": f"{base}/",
            "microsoftGraphResourceId": f"{base}/",
            "activeDirectoryDataLake": f"{base}/",
            "batch": f"{base}/",
            "gallery": f"{base}/",
            "media": f"{base}/",
            "sqlManagement": f"{base}/",
            "vmImageAliasDoc": f"{base}/aliases.json",
        }

    def token(self, resource: str) -> dict[str, Any]:
        """A managed-identity token answer (App Service protocol, ``expires_on`` in epoch seconds).

        The token is shaped as a JWT, because ``az login --identity`` reads its tenant (``tid``) from it without
        checking the signature; the twin never checks tokens. Expiry is in real time: the client compares it
        with its own clock.
        """
        issued = int(time.time())
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{_TENANT}/",
            "iat": issued,
            "nbf": issued,
            "exp": issued + 3600,
            "tid": _TENANT,
            "oid": _IDENTITY,
            "sub": _IDENTITY,
            "appid": _CLIENT_ID,
            "idtyp": "app",
        }
        token = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode())
            for part in ({"typ": "JWT", "alg": "RS256", "kid": "twin"}, claims)
        )
        return {
            "access_token": f"{token}.{_b64url(uuid.uuid4().bytes)}",
            "expires_on": str(issued + 3600),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": _CLIENT_ID,
        }

    def forward(
        self, method: str, path_and_query: str, headers: dict[str, str], body: bytes, base: str
    ) -> tuple[int, dict[str, str], bytes]:
        """Serve one ARM request with the emulator; absolute ARM URLs in the answer point back at ``base``.

        Answers that start or report a long-running operation get ``Retry-After: 1`` (unless the emulator
        set one): without it clients poll every 30 real seconds, slow against a twin whose operations take
        seconds at ``time_rate``. The service itself sends no ``Retry-After`` on AKS operations.
        """
        from azure.core.rest import HttpRequest

        if method not in ("GET", "HEAD"):
            self._writes += 1
        request = HttpRequest(method, f"{_ARM}{path_and_query}", headers=headers, content=body or None)
        response = self.fake.send(request)
        out_headers = {
            key: str(value).replace(_ARM, base)
            for key, value in response.headers.items()
            if key.lower() not in ("content-length", "transfer-encoding", "connection")
        }
        lowered = {key.lower() for key in out_headers}
        path = urlsplit(path_and_query).path.lower()
        reports = bool(lowered & {"azure-asyncoperation", "location"}) or (
            "/operations/" in path or "/operationresults/" in path
        )
        if reports and "retry-after" not in lowered and response.status_code < 300:
            out_headers["Retry-After"] = "1"
        return response.status_code, out_headers, response.content.replace(_ARM.encode(), base.encode())


_Route = Callable[["_ArmHandler", dict[str, list[str]]], Any]


class _ArmHandler(LoopbackHandler):
    server: _ArmServer

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_body(
            status, body, headers, content_type="application/json; charset=utf-8" if body else None
        )

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode())

    def handle_method(self, method: str) -> None:
        """Serve the login endpoints here and every other ARM request with the emulator."""
        twin = self.server.twin
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        body = self.read_body()
        base = self.server.base_url
        path = url.path.rstrip("/").lower()
        try:
            if path == "/metadata/endpoints":
                self._json(200, twin.metadata(base))
                return
            if path == "/msi/token":
                if self.headers.get("X-IDENTITY-HEADER") != twin.identity_header:
                    self._json(
                        401, {"error": "invalid_request", "error_description": "wrong identity header"}
                    )
                    return
                resource = (query.get("resource") or query.get("scope") or [f"{base}/"])[0]
                self._json(200, twin.token(resource))
                return
            if path == "/tenants" and method == "GET":
                self._json(200, {"value": [{"id": f"/tenants/{_TENANT}", "tenantId": _TENANT}]})
                return
            if path == "/subscriptions" and method == "GET":
                self._json(200, {"value": twin.subscriptions()})
                return
            subs = {s["subscriptionId"]: s for s in twin.subscriptions()}
            parts = path.split("/")
            if len(parts) == 3 and parts[1] == "subscriptions" and method == "GET":
                if parts[2] in subs:
                    self._json(200, subs[parts[2]])
                else:
                    self._json(
                        404,
                        {
                            "error": {
                                "code": "SubscriptionNotFound",
                                "message": f"The subscription '{parts[2]}' could not be found.",
                            }
                        },
                    )
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            status, out_headers, content = twin.forward(method, self.path, headers, body, base)
            self._send(status, content, out_headers)
        except Exception as err:  # a bug in the twin must reach the client as a 500, not a dropped connection
            self._json(500, {"error": {"code": "InternalServerError", "message": f"twin error: {err!r}"}})
