"""``FakeRegistry``: OCI registries in memory, served as an azure-core transport to the real registry client.

The real ``azure.containerregistry.ContainerRegistryClient`` talks to it (pass ``transport=registry``), so its
whole flow runs: the anonymous request, the ``401`` with a ``WWW-Authenticate: Bearer realm=...,service=...,
scope=...`` challenge, the token exchange (``POST /oauth2/exchange`` of an Entra ID token for a refresh token
on a private registry; ``POST /oauth2/token`` for an access token, with ``grant_type=password`` and no
credential for anonymous pulls of a public registry), then ``GET /v2/<repository>/manifests/<reference>`` with
the content type and ``Docker-Content-Digest`` of the OCI distribution specification, and blob reads.

Images are declared with the Windows builds they support; a multi-build image is served as an OCI image index
whose manifests carry ``platform.os.version``, a single-build image as one manifest whose config blob holds
``os.version`` (the shapes ``docker manifest inspect`` shows for ``mcr.microsoft.com/windows/servercore``)::

    registry = FakeRegistry()
    registry.add_image("mcr.microsoft.com/dotnet/framework/aspnet:4.8",
                       ["10.0.17763.6532", "10.0.20348.2849"])
    registry.add_image("contoso.azurecr.io/shop/web:1.4", ["10.0.17763.6532"])   # private: needs a credential

Registries whose host ends in ``.azurecr.io`` are private unless declared public; others are public.
A scenario file declares them under ``images`` (see :mod:`aks_windows_ops.testing.scenario`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from aks_windows_ops.rules.image_builds import build_of, parse_image_reference
from aks_windows_ops.testing._http import FakeResponse

__all__ = ["FakeRegistry", "RegistryRequest"]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


@dataclass(frozen=True)
class RegistryRequest:
    """One request the registry served: method, host, path and status."""

    method: str
    host: str
    path: str
    status: int


@dataclass
class _Registry:
    public: bool
    manifests: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    blobs: dict[tuple[str, str], bytes] = field(default_factory=dict)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _jwt(claims: Mapping[str, Any]) -> str:
    def part(obj: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(dict(claims))}.sig"


class FakeRegistry(HttpTransport):  # type: ignore[type-arg]
    """OCI registries (several hosts) as one azure-core ``HttpTransport`` (module docstring).

    Args:
        accept_tokens: Entra ID access tokens a private registry accepts in ``/oauth2/exchange``; ``None``
            accepts any non-empty token (the simulator's fake credential hands one out).
    """

    def __init__(self, *, accept_tokens: Iterable[str] | None = None) -> None:
        self._lock = threading.RLock()
        self._registries: dict[str, _Registry] = {}
        self._accept = None if accept_tokens is None else set(accept_tokens)
        self._tokens: dict[str, tuple[str, str]] = {}
        self.journal: list[RegistryRequest] = []

    # ------------------------------------------------------------------ transport protocol
    def open(self) -> None:
        """Nothing to open: the registry lives in memory."""

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> FakeRegistry:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def sleep(self, duration: float) -> None:
        """Never block (no retry in the registry flow needs real time)."""

    # ------------------------------------------------------------------ declaring content
    def add_registry(self, host: str, *, public: bool | None = None) -> None:
        """Declare a registry host; ``*.azurecr.io`` is private unless ``public=True``."""
        host = host.lower()
        with self._lock:
            if host not in self._registries:
                default = not host.endswith(".azurecr.io")
                self._registries[host] = _Registry(public=default if public is None else public)
            elif public is not None:
                self._registries[host].public = public

    def add_image(
        self,
        image: str,
        builds: Iterable[str] = (),
        *,
        os: str = "windows",
        index: bool | None = None,
        public: bool | None = None,
    ) -> str:
        """Publish an image supporting the given Windows builds; return the digest its tag resolves to.

        Args:
            image: ``registry/repository:tag``.
            builds: ``os.version`` values (``10.0.17763.6532``) or builds (``10.0.17763``), one per platform.
            os: ``windows`` or ``linux`` (a Linux image has one platform and no ``os.version``).
            index: serve an image index (the default with more than one build) or a single manifest.
            public: whether the registry allows anonymous pulls (see :meth:`add_registry`).

        Raises:
            ValueError: not an image reference, or a build that is not ``10.0.NNNNN``.
        """
        ref = parse_image_reference(image)
        if ref is None or ref.tag is None:
            raise ValueError(f"not a tagged image reference: {image!r}")
        versions = [str(b) for b in builds]
        for version in versions:
            if build_of(version) is None:
                raise ValueError(f"not a Windows build: {version!r} (expected 10.0.NNNNN[.R])")
        if os == "windows" and not versions:
            raise ValueError("a Windows image needs at least one build")
        platforms: list[dict[str, str]] = (
            [
                {"architecture": "amd64", "os": "windows", "os.version": v if v.count(".") >= 3 else v + ".1"}
                for v in versions
            ]
            if os == "windows"
            else [{"architecture": "amd64", "os": os}]
        )
        self.add_registry(ref.registry, public=public)
        with self._lock:
            reg = self._registries[ref.registry]
            entries = []
            for platform in platforms:
                config = json.dumps({**platform, "rootfs": {"type": "layers", "diff_ids": []}}).encode()
                config_digest = _digest(config)
                reg.blobs[(ref.repository, config_digest)] = config
                manifest = json.dumps(
                    {
                        "schemaVersion": 2,
                        "mediaType": OCI_MANIFEST,
                        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
                        "layers": [],
                    }
                ).encode()
                digest = _digest(manifest)
                reg.manifests[(ref.repository, digest)] = (manifest, OCI_MANIFEST)
                entries.append(
                    {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest), "platform": platform}
                )
            if index if index is not None else len(entries) > 1:
                body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
                top = (body, OCI_INDEX)
                reg.manifests[(ref.repository, _digest(body))] = top
            else:
                top = reg.manifests[(ref.repository, str(entries[0]["digest"]))]
            reg.manifests[(ref.repository, ref.tag)] = top
            return _digest(top[0])

    def builds_of(self, image: str) -> frozenset[str] | None:
        """The Windows builds the registry holds for an image (what a node's runtime would pull), or ``None``."""
        ref = parse_image_reference(image)
        if ref is None:
            return None
        with self._lock:
            reg = self._registries.get(ref.registry)
            found = reg.manifests.get((ref.repository, ref.reference)) if reg else None
            if reg is None or found is None:
                return None
            body = json.loads(found[0])
            if found[1] in (OCI_INDEX, DOCKER_LIST):
                platforms = [m.get("platform") or {} for m in body.get("manifests") or []]
            else:
                config = reg.blobs.get((ref.repository, body["config"]["digest"]), b"{}")
                platforms = [json.loads(config)]
        builds = {build_of(str(p.get("os.version") or "")) for p in platforms if p.get("os") == "windows"}
        return frozenset(b for b in builds if b) or None

    # ------------------------------------------------------------------ serving
    def send(self, request: HttpRequest, **kwargs: Any) -> FakeResponse:
        """Serve one request of the registry HTTP API (module docstring)."""
        split = urlsplit(request.url)
        host = (split.hostname or "").lower()
        path = unquote(split.path)
        with self._lock:
            response = self._serve(request, request.method.upper(), host, path)
            self.journal.append(RegistryRequest(request.method.upper(), host, path, response.status_code))
        return response

    def _form(self, request: HttpRequest) -> dict[str, str]:
        raw = request.content
        if isinstance(raw, Mapping):
            return {str(k): str(getattr(v, "value", v)) for k, v in raw.items() if v is not None}
        data = raw if isinstance(raw, bytes) else str(raw or "").encode()
        return {k: v[0] for k, v in parse_qs(data.decode(), keep_blank_values=True).items()}

    def _serve(self, request: HttpRequest, method: str, host: str, path: str) -> FakeResponse:
        reg = self._registries.get(host)
        if reg is None:
            return FakeResponse(
                request, 404, {"errors": [{"code": "NAME_UNKNOWN", "message": f"no registry {host}"}]}
            )
        if path == "/oauth2/exchange" and method == "POST":
            form = self._form(request)
            token = form.get("access_token", "")
            if (
                form.get("grant_type") != "access_token"
                or not token
                or (self._accept is not None and token not in self._accept)
            ):
                return FakeResponse(
                    request, 401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad token"}]}
                )
            refresh = _jwt({"exp": int(time.time()) + 3 * 3600, "sub": "principal", "aud": host})
            return FakeResponse(request, 200, {"refresh_token": refresh})
        if path == "/oauth2/token" and method == "POST":
            form = self._form(request)
            scope = form.get("scope", "")
            anonymous = form.get("grant_type") == "password" and not form.get("refresh_token")
            if anonymous and not reg.public:
                return FakeResponse(
                    request, 401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
                )
            if not anonymous and not form.get("refresh_token"):
                return FakeResponse(
                    request, 401, {"errors": [{"code": "UNAUTHORIZED", "message": "no token"}]}
                )
            access = _jwt({"exp": int(time.time()) + 3600, "scope": scope, "n": len(self._tokens)})
            self._tokens[access] = (host, scope)
            return FakeResponse(request, 200, {"access_token": access})
        if not path.startswith("/v2/"):
            return FakeResponse(request, 404, {"errors": [{"code": "NOT_FOUND", "message": path}]})
        repo, kind, reference = self._split(path)
        if repo is None:
            return FakeResponse(request, 404, {"errors": [{"code": "NOT_FOUND", "message": path}]})
        scope = f"repository:{repo}:pull"
        auth = request.headers.get("Authorization", "")
        granted = self._tokens.get(auth[len("Bearer ") :]) if auth.startswith("Bearer ") else None
        if granted is None or granted[0] != host or not granted[1].startswith(f"repository:{repo}:"):
            return FakeResponse(
                request,
                401,
                {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                {
                    "WWW-Authenticate": f'Bearer realm="https://{host}/oauth2/token",service="{host}",scope="{scope}"'
                },
            )
        if kind == "manifests" and method in ("GET", "HEAD"):
            found = reg.manifests.get((repo, reference))
            if found is None:
                return FakeResponse(
                    request, 404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
                )
            body, media_type = found
            return FakeResponse(
                request,
                200,
                body if method == "GET" else None,
                {
                    "Content-Type": media_type,
                    "Docker-Content-Digest": _digest(body),
                    "Content-Length": str(len(body)),
                },
            )
        if kind == "blobs" and method == "GET":
            blob = reg.blobs.get((repo, reference))
            if blob is None:
                return FakeResponse(
                    request, 404, {"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]}
                )
            headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": _digest(blob)}
            wanted = request.headers.get("Range", "")
            if not wanted.startswith("bytes="):
                return FakeResponse(request, 200, blob, headers)
            first, _, last = wanted[len("bytes=") :].partition("-")
            start, end = int(first or 0), min(int(last or len(blob) - 1), len(blob) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(blob)}"
            return FakeResponse(request, 206, blob[start : end + 1], headers)
        return FakeResponse(request, 405, {"errors": [{"code": "UNSUPPORTED", "message": method}]})

    @staticmethod
    def _split(path: str) -> tuple[str | None, str, str]:
        rest = path[len("/v2/") :]
        for kind in ("manifests", "blobs"):
            marker = f"/{kind}/"
            if marker in rest:
                repo, _, reference = rest.rpartition(marker)
                return repo, kind, reference
        return None, "", ""

    def pulls(self, host: str | None = None) -> list[RegistryRequest]:
        """The manifest and blob reads served (for tests: what the library asked the registry)."""
        return [r for r in self.journal if r.path.startswith("/v2/") and (host is None or r.host == host)]

    def registries(self) -> Mapping[str, bool]:
        """Each declared registry host and whether it allows anonymous pulls."""
        return {host: reg.public for host, reg in self._registries.items()}
