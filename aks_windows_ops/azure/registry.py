"""Read the Windows builds a container image supports from its registry (OCI distribution API).

Process isolation needs the image's Windows build to run on the host (FAQ "Which Windows operating systems are
supported?"). When the tag names no build, the registry decides: the image index (OCI image index or Docker
manifest list) lists one manifest per platform with ``platform.os.version``; a single manifest's config blob
holds ``os.version``. Reads go through ``azure.containerregistry.ContainerRegistryClient``: with the user's
credential for Azure Container Registry (``*.azurecr.io``), anonymously for public registries such as
``mcr.microsoft.com``. Docker Hub is not read (its token service lives on another host); such images stay
unknown unless their tag names a build.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from aks_windows_ops.clock import Clock, system_clock
from aks_windows_ops.rules.image_builds import (
    ImageBuilds,
    builds_from_index,
    parse_image_reference,
    tag_evidence,
)

__all__ = ["RegistryReader", "registry_reader_for"]

_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_ACR_SUFFIXES = (".azurecr.io", ".azurecr.cn", ".azurecr.us")
_UNREAD = ("docker.io", "index.docker.io", "registry-1.docker.io")
_MAX_CONFIG_BYTES = 1024 * 1024


class RegistryReader:
    """Resolve images to the Windows builds they support (tag first, then the registry), caching per image.

    Args:
        credential: an azure-identity credential used for Azure Container Registry hosts (anonymous elsewhere).
            ``None`` reads every registry anonymously.
        transport: an azure-core ``HttpTransport`` (the simulator's ``FakeRegistry``); the default transport
            otherwise.
        offline: never contact a registry (images whose tag names no build stay unknown).
        clock: the clock retried reads wait on (the library's one retry layer, ``azure.retry``); the
            simulator's virtual clock in rehearsals.
        retries: how many times a registry read is sent again after a transient answer.
    """

    def __init__(
        self,
        credential: Any = None,
        *,
        transport: Any = None,
        offline: bool = False,
        clock: Clock = system_clock,
        retries: int = 2,
    ) -> None:
        self._credential = credential
        self._clock = clock
        self._retries = retries
        self._transport = transport
        self._offline = offline
        self._cache: dict[str, ImageBuilds] = {}
        self._clients: dict[tuple[str, bool], Any] = {}
        self._lock = threading.Lock()

    def image_builds(self, image: str) -> ImageBuilds:
        """The Windows builds ``image`` supports, with the evidence (never raises for a registry problem)."""
        with self._lock:
            cached = self._cache.get(image)
        if cached is not None:
            return cached
        found = self._resolve(image)
        with self._lock:
            self._cache[image] = found
        return found

    __call__ = image_builds

    def _resolve(self, image: str) -> ImageBuilds:
        from_tag = tag_evidence(image)
        if from_tag is not None:
            return from_tag
        ref = parse_image_reference(image)
        if ref is None:
            return ImageBuilds(None, "not an image reference")
        if self._offline:
            return ImageBuilds(None, f"tag {ref.tag or ref.digest} names no Windows build; registry not read")
        if ref.registry in _UNREAD:
            return ImageBuilds(
                None, f"tag {ref.tag or ref.digest} names no Windows build; Docker Hub is not read"
            )
        from azure.core.exceptions import AzureError, ClientAuthenticationError, ResourceNotFoundError

        private = ref.registry.endswith(_ACR_SUFFIXES) and self._credential is not None
        try:
            client = self._client(ref.registry, private)
            result = client.get_manifest(ref.repository, ref.reference)
            manifest = result.manifest if isinstance(result.manifest, dict) else {}
            media_type = str(result.media_type or manifest.get("mediaType") or "").split(";")[0].strip()
            if media_type in _INDEX_TYPES or "manifests" in manifest:
                return builds_from_index(
                    [dict(m.get("platform") or {}) for m in manifest.get("manifests") or []]
                )
            config_digest = str((manifest.get("config") or {}).get("digest") or "")
            if not config_digest:
                return ImageBuilds(None, f"manifest of {media_type or 'unknown type'} names no config")
            data = b""
            for chunk in client.download_blob(ref.repository, config_digest):
                data += chunk
                if len(data) > _MAX_CONFIG_BYTES:
                    return ImageBuilds(None, "image config too large to read")
            config = json.loads(data.decode("utf-8"))
            found = builds_from_index([config if isinstance(config, dict) else {}])
            return ImageBuilds(
                found.builds, found.evidence.replace("index", "image config", 1), found.linux_only
            )
        except ClientAuthenticationError:
            return ImageBuilds(None, f"registry {ref.registry} refused access")
        except ResourceNotFoundError:
            return ImageBuilds(None, f"{ref.repository}:{ref.reference} not found in {ref.registry}")
        except (AzureError, ValueError, OSError) as err:
            return ImageBuilds(None, f"registry {ref.registry} not readable ({type(err).__name__})")

    def _client(self, host: str, private: bool) -> Any:
        from azure.containerregistry import ContainerRegistryClient

        key = (host, private)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                from aks_windows_ops.azure.retry import ReadRetryPolicy

                # The library's one retry layer replaces azure-core's: reads again on the run's clock.
                policy = ReadRetryPolicy(sleep=self._clock.sleep, retries=self._retries, now=self._clock.now)
                kwargs: dict[str, Any] = {"retry_policy": policy}
                if self._transport is not None:
                    kwargs["transport"] = self._transport
                client = ContainerRegistryClient(
                    f"https://{host}", self._credential if private else None, **kwargs
                )
                self._clients[key] = client
        return client


def registry_reader_for(clients: Any) -> RegistryReader:
    """A reader with the clients' credential; in a rehearsal, the simulator's registry (or none at all).

    A client bundle built on a simulator transport never reaches a real registry: it reads the simulator's
    ``registry`` when it has one, otherwise nothing (images whose tag names no build stay unknown).
    """
    transport = getattr(clients, "transport", None)
    clock = getattr(clients, "run_clock", system_clock)
    if transport is None:
        return RegistryReader(clients.credential, clock=clock)
    registry = getattr(transport, "registry", None)
    if registry is None:
        return RegistryReader(offline=True)
    return RegistryReader(clients.credential, transport=registry, clock=clock)
