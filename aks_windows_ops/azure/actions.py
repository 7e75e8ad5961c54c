"""The writes: every change the library makes to Azure, each returning a resumable operation handle.

Each ``begin_*`` sends exactly one write the way the Azure CLI does it (Service facts: How the Azure CLI does it) and returns a
continuation token (Service facts: ARM behaviour; Serving the SDK from an in-memory ARM) that :func:`wait` resumes on any client, in any process.
Reads used by the runbooks' ``check``/``verify`` (``get_cluster``, ``get_pool``) return wire JSON
(``as_dict()``) so that no SDK model leaves ``azure/``. Passwords go through :class:`~aks_windows_ops.secrets.Secret`
and are revealed only while the request body is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from azure.core import MatchConditions

from aks_windows_ops.azure import lro
from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.errors import translating
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.secrets import Secret

__all__ = [
    "NOT_MODIFIED",
    "TERMINAL_STATES",
    "abort",
    "begin_control_plane_upgrade",
    "begin_instance_license",
    "begin_node_image_upgrade",
    "begin_pool_create",
    "begin_pool_delete",
    "begin_pool_upgrade",
    "begin_windows_profile_update",
    "get_cluster",
    "get_pool",
    "get_pool_upgrade_profile",
    "is_busy",
    "wait",
]

NOT_MODIFIED = lro.NOT_MODIFIED
#: Provisioning states after which no operation runs (everything else is in flight; Service facts: ARM behaviour).
TERMINAL_STATES = frozenset({"Succeeded", "Failed", "Canceled"})


def is_busy(state: str | None) -> bool:
    """Whether a provisioning state means an operation is running (any non-terminal value, Service facts: ARM behaviour)."""
    return bool(state) and state not in TERMINAL_STATES


def get_cluster(clients: AzureClients, rg: str, name: str) -> dict[str, Any]:
    """GET the managed cluster and return its wire JSON."""
    with translating(f"reading cluster {rg}/{name}"):
        result: dict[str, Any] = clients.containerservice.managed_clusters.get(rg, name).as_dict()
    return result


def get_pool(clients: AzureClients, rg: str, name: str, pool: str) -> dict[str, Any]:
    """GET an agent pool and return its wire JSON (``properties`` holds the pool fields)."""
    with translating(f"reading pool {rg}/{name}/{pool}"):
        result: dict[str, Any] = clients.containerservice.agent_pools.get(rg, name, pool).as_dict()
    return result


def get_pool_upgrade_profile(clients: AzureClients, rg: str, name: str, pool: str) -> dict[str, Any]:
    """GET a pool's upgrade profile (``latestNodeImageVersion``, Service facts: How the Azure CLI does it) as wire JSON."""
    with translating(f"reading upgrade profile of {rg}/{name}/{pool}"):
        result: dict[str, Any] = clients.containerservice.agent_pools.get_upgrade_profile(
            rg, name, pool
        ).as_dict()
    return result


def _cluster_model(clients: AzureClients, rg: str, name: str, cached: Mapping[str, Any] | None) -> Any:
    from azure.mgmt.containerservice import models

    if cached is not None:
        return models.ManagedCluster(dict(cached))
    with translating(f"reading cluster {rg}/{name}"):
        return clients.containerservice.managed_clusters.get(rg, name)


def _put_cluster(
    clients: AzureClients,
    rg: str,
    name: str,
    mutate: Callable[[Any], None],
    cached: Mapping[str, Any] | None,
    context: str,
) -> str:
    """GET-modify-PUT the cluster with ``If-Match`` on the eTag read (Service facts: SDK shapes).

    Sent once: a 412 (:class:`~aks_windows_ops.errors.EtagMismatch`) means the cluster changed since it was
    read, and the caller reads it again and decides (``runbooks.steps.send_write``); it is never re-sent here.
    """
    model = _cluster_model(clients, rg, name, cached)
    mutate(model)
    kwargs: dict[str, Any] = {}
    etag = getattr(model, "e_tag", None)
    if etag:
        kwargs = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
    return lro.start(
        clients.containerservice.managed_clusters.begin_create_or_update,
        rg,
        name,
        model,
        context=context,
        **kwargs,
    )


def begin_control_plane_upgrade(
    clients: AzureClients, rg: str, name: str, version: str, *, cached: Mapping[str, Any] | None = None
) -> str:
    """Upgrade only the control plane (Service facts: How the Azure CLI does it, FAQ "How do I patch my Windows nodes?").

    As the CLI does it: set ``kubernetesVersion``, leave every pool's ``orchestratorVersion`` as read, and
    leave ``servicePrincipalProfile`` out of the body.

    Args:
        cached: the cluster's wire JSON read moments ago (saves a GET; the eTag guards against staleness).
    """

    def mutate(model: Any) -> None:
        model.properties.kubernetes_version = version
        model.properties.service_principal_profile = None

    return _put_cluster(clients, rg, name, mutate, cached, f"upgrading the control plane of {rg}/{name}")


def begin_windows_profile_update(
    clients: AzureClients,
    rg: str,
    name: str,
    *,
    password: Secret | None = None,
    license_type: str | None = None,
    cached: Mapping[str, Any] | None = None,
    marker: tuple[str, str] | None = None,
) -> str:
    """Update ``windowsProfile`` (password and/or ``licenseType``) with one cluster PUT (Service facts: How the Azure CLI does it).

    Everything else in ``windowsProfile`` (username, gMSA, CSI proxy) is kept as read; the password is written
    only into the request body and never returned by ARM (Service facts: Credentials).

    Args:
        marker: a ``(tag name, value)`` set on the cluster in the same PUT. ARM returns tags but never the
            password, so the tag is the proof, read back later, that this very write landed.

    Raises:
        InvalidInput: the cluster has no Windows profile, or nothing to change.
    """
    if password is None and license_type is None:
        raise InvalidInput("nothing to update in windowsProfile")

    def mutate(model: Any) -> None:
        profile = model.properties.windows_profile
        if profile is None:
            raise InvalidInput(
                f"cluster {rg}/{name} has no Windows profile: it never had Windows admin credentials"
            )
        if password is not None:
            profile.admin_password = password.reveal()
        if license_type is not None:
            profile.license_type = license_type
        if marker is not None:
            model.tags = {**(model.tags or {}), marker[0]: marker[1]}
        model.properties.service_principal_profile = None

    return _put_cluster(clients, rg, name, mutate, cached, f"updating the Windows profile of {rg}/{name}")


def _pool_model(wire: Mapping[str, Any]) -> Any:
    from azure.mgmt.containerservice import models

    props = dict(wire.get("properties") or wire)
    props.pop("name", None)
    props.pop("eTag", None)
    return models.AgentPool({"properties": props})


def begin_pool_upgrade(
    clients: AzureClients,
    rg: str,
    name: str,
    pool: str,
    version: str,
    *,
    max_surge: str | None = None,
    drain_timeout_minutes: int | None = None,
    node_soak_minutes: int | None = None,
    cached: Mapping[str, Any] | None = None,
) -> str:
    """Upgrade a pool's Kubernetes version with one PUT of the whole pool (Service facts: How the Azure CLI does it).

    Args:
        cached: the pool's wire JSON (a GET of the pool, or its ``agentPoolProfiles`` entry) read moments ago.
    """
    from azure.mgmt.containerservice import models

    wire = dict(cached) if cached is not None else get_pool(clients, rg, name, pool)
    model = _pool_model(wire)
    model.properties.orchestrator_version = version
    settings = model.properties.upgrade_settings or models.AgentPoolUpgradeSettings()
    if max_surge is not None:
        settings.max_surge = max_surge
    if drain_timeout_minutes is not None:
        settings.drain_timeout_in_minutes = drain_timeout_minutes
    if node_soak_minutes is not None:
        settings.node_soak_duration_in_minutes = node_soak_minutes
    model.properties.upgrade_settings = settings
    # If-Match on the eTag read, as for cluster PUTs: a 412 means the pool changed since it was read, and the
    # step reads it again and decides (runbooks.steps.send_write); it is never re-sent here.
    etag = (wire.get("properties") or wire).get("eTag")
    kwargs: dict[str, Any] = {"etag": etag, "match_condition": MatchConditions.IfNotModified} if etag else {}
    return _start(
        clients.containerservice.agent_pools.begin_create_or_update,
        rg,
        name,
        pool,
        model,
        context=f"upgrading pool {pool}",
        **kwargs,
    )


def begin_pool_create(
    clients: AzureClients, rg: str, name: str, pool: str, properties: Mapping[str, Any]
) -> str:
    """Create an agent pool from wire properties (``osType``, ``osSKU``, ``mode``, ``count`` ...; Service facts: How the Azure CLI does it).

    Sent with ``If-None-Match: *``: if the pool exists already (an earlier send landed and its answer was lost),
    Azure refuses with 412 instead of updating it.
    """
    from azure.mgmt.containerservice import models

    model = models.AgentPool({"properties": dict(properties)})
    return _start(
        clients.containerservice.agent_pools.begin_create_or_update,
        rg,
        name,
        pool,
        model,
        context=f"creating pool {pool}",
        match_condition=MatchConditions.IfMissing,
    )


def begin_pool_delete(
    clients: AzureClients, rg: str, name: str, pool: str, *, ignore_pdb: bool = False
) -> str:
    """Delete an agent pool; the service drains it honouring PodDisruptionBudgets unless told otherwise."""
    return _start(
        clients.containerservice.agent_pools.begin_delete,
        rg,
        name,
        pool,
        ignore_pod_disruption_budget=True if ignore_pdb else None,
        context=f"deleting pool {pool}",
    )


def begin_node_image_upgrade(clients: AzureClients, rg: str, name: str, pool: str) -> str:
    """POST ``upgradeNodeImageVersion``; :data:`NOT_MODIFIED` when the service started no operation.

    A pool already on the newest image gets a 200 with the pool and no operation
    (https://github.com/Azure/AKS/issues/3355), or a 304 as older documentation described; the caller reads the
    pool back before calling it done.
    """
    return _start(
        clients.containerservice.agent_pools.begin_upgrade_node_image_version,
        rg,
        name,
        pool,
        context=f"upgrading the node image of {pool}",
        done_at_once=lro.NOT_MODIFIED,
    )


def begin_instance_license(
    clients: AzureClients, node_rg: str, vmss: str, instance_id: str, license_type: str | None
) -> str:
    """Set ``licenseType`` on one scale set instance (FAQ: apply Azure Hybrid Benefit to individual nodes)."""
    compute = clients.compute
    with translating(f"reading instance {vmss}/{instance_id}"):
        vm = compute.virtual_machine_scale_set_vms.get(node_rg, vmss, instance_id)
    if vm.properties is None:  # pragma: no cover - ARM always returns properties
        raise InvalidInput(f"instance {vmss}/{instance_id} has no properties")
    vm.properties.license_type = license_type or "None"
    return _start(
        compute.virtual_machine_scale_set_vms.begin_update,
        node_rg,
        vmss,
        instance_id,
        vm,
        context=f"licensing instance {vmss}/{instance_id}",
    )


def _start(begin: Callable[..., Any], *args: Any, context: str, **kwargs: Any) -> str:
    return lro.start(begin, *args, context=context, **kwargs)


#: How each operation kind is resumed: the ``begin_*`` to call with the token, and placeholder arguments.
_RESUMERS: dict[str, Callable[[AzureClients], tuple[Callable[..., Any], tuple[Any, ...]]]] = {
    "cluster": lambda c: (c.containerservice.managed_clusters.begin_create_or_update, ("rg", "name", {})),
    "pool": lambda c: (c.containerservice.agent_pools.begin_create_or_update, ("rg", "name", "pool", {})),
    "pool_delete": lambda c: (c.containerservice.agent_pools.begin_delete, ("rg", "name", "pool")),
    "node_image": lambda c: (
        c.containerservice.agent_pools.begin_upgrade_node_image_version,
        ("rg", "name", "pool"),
    ),
    "vm": lambda c: (c.compute.virtual_machine_scale_set_vms.begin_update, ("rg", "vmss", "0", {})),
}


def wait(
    clients: AzureClients,
    kind: str,
    token: str,
    *,
    deadline: float | None = None,
    on_status: Callable[[str, float], None] | None = None,
    context: str = "",
) -> dict[str, Any] | None:
    """Resume an operation from its token and wait for it on the clients' clock (Service facts: ARM behaviour).

    ``kind`` is ``cluster``, ``pool``, ``pool_delete``, ``node_image`` or ``vm``. Returns the final
    resource's wire JSON, if the operation has one.

    Raises:
        BudgetExhausted: ``deadline`` passed first; resume later with the same token.
        AksWindowsOpsError: the operation failed or was canceled (translated).
    """
    begin, placeholders = _RESUMERS[kind](clients)
    result = lro.wait(
        begin,
        token,
        *placeholders,
        clock=clients.clock,
        sleep=clients.sleep,
        interval=clients.polling_interval,
        deadline=deadline,
        on_status=on_status,
        context=context,
    )
    if result is None:
        return None
    as_dict = getattr(result, "as_dict", None)
    return dict(as_dict()) if callable(as_dict) else None


def abort(clients: AzureClients, rg: str, name: str, pool: str | None = None) -> str:
    """Abort the latest operation on the cluster or a pool (Service facts: ARM behaviour); returns the abort's token."""
    cs = clients.containerservice
    if pool is None:
        return lro.start(cs.managed_clusters.begin_abort_latest_operation, rg, name)
    return lro.start(cs.agent_pools.begin_abort_latest_operation, rg, name, pool)
