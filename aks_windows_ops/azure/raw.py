"""Bulk reads without SDK models: the same clients and pipeline, the response's JSON parsed once.

The generated SDK clients turn every response into model objects (``azure.mgmt.*._utils.model_base``), and
the library then turns those back into the wire shape with ``as_dict()`` before building its own immutable
snapshot. On a fleet audit that round trip is most of the CPU. Here the same operations run through the same
clients (credential, retry policy with the ``Retry-After`` cap, redacting logger, transport), but:

- single GETs pass ``stream=True`` and a ``cls`` callback, so the SDK hands back the HTTP response without
  deserializing it, and the body is parsed once with :func:`json.loads`;
- lists send the SDK's own request (its URL template and API version, from the generated request builders)
  with the client's public ``send_request`` and follow ``nextLink`` as the SDK's pagers do.

Errors are raised exactly as the SDK raises them (``ResourceNotFoundError``, ``HttpResponseError`` with the
ARM error body), so ``azure.errors.translating`` maps them to the library's errors unchanged. The parsers that
build the snapshot from the JSON are the ones in :mod:`aks_windows_ops.azure.facts`; the result is equal to
``facts.read_snapshot``'s, which reads through the SDK models.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    map_error,
)
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core.exceptions import ARMErrorFormat

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.errors import translating
from aks_windows_ops.azure.facts import (
    cluster_ids_from_wire,
    control_plane_upgrades_from_wire,
    scale_set_from_wire,
    snapshot_from_wire,
    usage_from_wire,
    vnets_of,
    windows_pool_names,
)
from aks_windows_ops.models import ClusterRef, ClusterSnapshot, SubnetUsage, VmssSnapshot

__all__ = [
    "complete_snapshot",
    "get_json",
    "list_cluster_bodies",
    "list_clusters_raw",
    "list_json",
    "read_snapshot_raw",
]

_ERRORS: dict[int, type[HttpResponseError]] = {
    401: ClientAuthenticationError,
    404: ResourceNotFoundError,
    409: ResourceExistsError,
}


def _keep_response(pipeline_response: Any, _deserialized: Any, _headers: Any) -> Any:
    return pipeline_response.http_response


def get_json(operation: Callable[..., Any], *args: Any) -> dict[str, Any]:
    """Call one SDK GET operation and return its body as parsed JSON, without building the SDK model.

    Args:
        operation: a bound SDK operation (``clients.containerservice.managed_clusters.get`` ...).
        *args: its positional arguments.

    Raises:
        HttpResponseError: as the SDK raises it for the same request.
    """
    response = operation(*args, stream=True, cls=_keep_response)
    body = response.read()
    value = json.loads(body) if body else {}
    return value if isinstance(value, dict) else {}


def _check(response: HttpResponse) -> None:
    if response.status_code == 200:
        return
    response.read()
    map_error(status_code=response.status_code, response=response, error_map=_ERRORS)
    raise HttpResponseError(response=response, error_format=ARMErrorFormat)


def list_json(client: Any, request: HttpRequest) -> Iterator[dict[str, Any]]:
    """Send a list request built by the SDK's request builder through ``client`` and yield each item's JSON.

    Follows ``nextLink`` as the SDK's pagers do: its query is kept and ``api-version`` set to the client's.

    Args:
        client: the SDK client whose pipeline sends the request (its public ``send_request``).
        request: the first page's request.
    """
    first = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(request.url).query))
    api_version = first.get("api-version")
    next_request: HttpRequest | None = request
    while next_request is not None:
        response = client.send_request(next_request)
        _check(response)
        page = json.loads(response.read() or b"{}")
        yield from page.get("value") or []
        link = page.get("nextLink")
        if not link:
            next_request = None
        else:
            parsed = urllib.parse.urlparse(link)
            query = dict(urllib.parse.parse_qsl(parsed.query))
            if api_version:
                query["api-version"] = api_version
            next_request = HttpRequest("GET", parsed._replace(query="").geturl(), params=query)


def _api(client: Any) -> dict[str, str]:
    # The API version the SDK's own operations send: the client's when it has one, else the builder's default.
    version = getattr(getattr(client, "_config", None), "api_version", None)
    return {"api_version": str(version)} if version else {}


def _scale_sets(clients: AzureClients, node_rg: str, windows: set[str]) -> list[VmssSnapshot]:
    from azure.mgmt.compute.operations._operations import (
        build_virtual_machine_scale_set_vms_list_request,
        build_virtual_machine_scale_sets_list_request,
    )

    compute = clients.compute
    sub = clients.subscription_id
    out: list[VmssSnapshot] = []
    request = build_virtual_machine_scale_sets_list_request(node_rg, sub, **_api(compute))
    for vmss in list_json(compute, request):
        pool = (vmss.get("tags") or {}).get("aks-managed-poolName")
        if pool not in windows:
            continue
        vms = list_json(
            compute,
            build_virtual_machine_scale_set_vms_list_request(
                node_rg, str(vmss["name"]), sub, **_api(compute)
            ),
        )
        out.append(scale_set_from_wire(vmss, node_rg, str(pool), vms))
    return out


def _subnet_usage(clients: AzureClients, subnet_ids: list[str]) -> list[SubnetUsage]:
    from azure.mgmt.network.operations._operations import build_virtual_networks_list_usage_request

    network = clients.network
    wanted, vnets = vnets_of(subnet_ids)
    out: list[SubnetUsage] = []
    for rg, vnet in vnets:
        request = build_virtual_networks_list_usage_request(
            rg, vnet, clients.subscription_id, **_api(network)
        )
        out.extend(
            u
            for u in (usage_from_wire(item) for item in list_json(network, request))
            if u.subnet_id.lower() in wanted
        )
    return out


def complete_snapshot(
    clients: AzureClients,
    ref: ClusterRef,
    wire: Mapping[str, Any],
    *,
    upgrade_profiles: bool = True,
    scale_sets: bool | Sequence[VmssSnapshot] = True,
    subnets: bool = True,
    control_plane_upgrades: Sequence[str] | None = None,
) -> ClusterSnapshot:
    """Build a cluster's snapshot from its JSON (a GET or a list entry) and the reads it still needs.

    Args:
        clients: the bundle for the cluster's subscription.
        ref: the cluster.
        wire: the cluster's JSON as ARM returns it (``agentPoolProfiles`` included).
        upgrade_profiles: read the control plane and pool upgrade profiles (node image age).
        scale_sets: ``True`` reads the Windows pools' scale sets and instances from ARM, ``False`` none, or the
            scale sets already read elsewhere (Resource Graph).
        subnets: read the pools' subnet usage.
        control_plane_upgrades: the control plane's upgrades when already known (the region's Kubernetes
            versions): the cluster's upgrade profile is then not read, only the pools'.
    """
    cs = clients.containerservice
    rg, name = ref.resource_group, ref.name
    with translating(f"reading cluster {rg}/{name}"):
        props: Mapping[str, Any] = wire.get("properties") or {}
        profiles = props.get("agentPoolProfiles") or []
        pool_profiles: dict[str, Mapping[str, Any]] = {}
        cp_upgrades: list[str] = []
        if upgrade_profiles and control_plane_upgrades is not None:
            cp_upgrades = list(control_plane_upgrades)
        elif upgrade_profiles:
            cp_upgrades = control_plane_upgrades_from_wire(
                get_json(cs.managed_clusters.get_upgrade_profile, rg, name)
            )
        if upgrade_profiles:
            for p in profiles:
                pname = str(p.get("name"))
                pool_profiles[pname] = get_json(cs.agent_pools.get_upgrade_profile, rg, name, pname)
        vmss: list[VmssSnapshot] = []
        windows = windows_pool_names(profiles)
        if scale_sets is True:
            if windows and props.get("nodeResourceGroup"):
                vmss = _scale_sets(clients, str(props["nodeResourceGroup"]), windows)
        elif scale_sets is not False:
            vmss = list(scale_sets)
        usage: list[SubnetUsage] = []
        if subnets:
            usage = _subnet_usage(clients, [str(p.get("vnetSubnetID") or "") for p in profiles])
    return snapshot_from_wire(
        ref,
        wire,
        pool_profiles=pool_profiles,
        control_plane_upgrades=cp_upgrades,
        scale_sets=vmss,
        subnets=usage,
    )


def read_snapshot_raw(
    clients: AzureClients,
    resource_group: str,
    name: str,
    *,
    upgrade_profiles: bool = True,
    scale_sets: bool = True,
    subnets: bool = True,
) -> ClusterSnapshot:
    """Read a cluster like :func:`~aks_windows_ops.azure.facts.read_snapshot`, the same requests, no SDK models.

    The same requests in the same order as ``facts.read_snapshot`` (the cluster GET carries every pool; upgrade
    profiles for node image age, FAQ "How do I patch my Windows nodes?"; the node resource group's scale sets
    and the Windows ones' instances for Azure Hybrid Benefit, FAQ "Can I use Azure Hybrid Benefit with Windows
    nodes?"; subnet usage per virtual network), and an equal snapshot.

    Raises:
        NotFound: no such cluster.
        AksWindowsOpsError: any other Azure failure, translated.
    """
    ref = ClusterRef(clients.subscription_id, resource_group, name)
    with translating(f"reading cluster {resource_group}/{name}"):
        wire = get_json(clients.containerservice.managed_clusters.get, resource_group, name)
    return complete_snapshot(
        clients, ref, wire, upgrade_profiles=upgrade_profiles, scale_sets=scale_sets, subnets=subnets
    )


def list_cluster_bodies(clients: AzureClients, resource_group: str | None = None) -> list[dict[str, Any]]:
    """Every cluster of the subscription (or one resource group) as ARM lists them: full JSON, pools included."""
    from azure.mgmt.containerservice.operations._operations import (
        build_managed_clusters_list_by_resource_group_request,
        build_managed_clusters_list_request,
    )

    cs = clients.containerservice
    sub = clients.subscription_id
    request = (
        build_managed_clusters_list_by_resource_group_request(resource_group, sub, **_api(cs))
        if resource_group
        else build_managed_clusters_list_request(sub, **_api(cs))
    )
    with translating("listing clusters"):
        return list(list_json(cs, request))


def list_clusters_raw(clients: AzureClients, resource_group: str | None = None) -> list[tuple[str, str]]:
    """Return ``(resource_group, name)`` of every cluster in the subscription (or one group), no SDK models."""
    return cluster_ids_from_wire(list_cluster_bodies(clients, resource_group), resource_group)
