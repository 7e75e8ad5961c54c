"""The rollout's HTTP starter (Entra ID app role required) and the Durable Functions blueprint (Service facts: Where it runs)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.integrations.durable.activities import (
    apply_cluster,
    discover_clusters,
    plan_cluster,
    rollout_report,
)
from aks_windows_ops.integrations.durable.orchestrator import rollout_orchestrator
from aks_windows_ops.integrations.durable.request import (
    APPLY_ACTIVITY,
    DISCOVER_ACTIVITY,
    ORCHESTRATOR_NAME,
    PLAN_ACTIVITY,
    REPORT_ACTIVITY,
    ROLLOUT_ROLE,
    ROLLOUT_ROLE_ENV,
    STARTER_NAME,
    instance_id_for,
    normalize_request,
)

__all__ = ["caller_roles", "create_durable_blueprint", "start_rollout"]

_ROLE_CLAIMS = ("roles", "role", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")

_log = logging.getLogger("aks_windows_ops.durable")


def caller_roles(headers: Mapping[str, str]) -> tuple[str | None, frozenset[str]]:
    """Return the caller's name and app roles from App Service authentication's ``X-MS-CLIENT-PRINCIPAL``.

    App Service authentication (Entra ID) validates the caller's token before the function runs, removes any
    ``X-MS-CLIENT-*`` header the caller sent, and passes the token's claims in that header (base64 JSON:
    https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities). Without it (the
    header absent or unreadable) there is no caller: ``(None, frozenset())``.
    """
    import base64
    import binascii
    import json

    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    raw = lowered.get("x-ms-client-principal", "")
    try:
        principal = json.loads(base64.b64decode(raw, validate=True)) if raw else None
    except (binascii.Error, ValueError):
        principal = None
    if not isinstance(principal, dict) or not isinstance(principal.get("claims"), list):
        return None, frozenset()
    role_type = str(principal.get("role_typ") or "")
    roles = frozenset(
        str(c.get("val"))
        for c in principal["claims"]
        if isinstance(c, dict) and (c.get("typ") in _ROLE_CLAIMS or (role_type and c.get("typ") == role_type))
    )
    name = lowered.get("x-ms-client-principal-name") or lowered.get("x-ms-client-principal-id")
    return name or "unnamed principal", roles


async def start_rollout(req: Any, client: Any) -> Any:
    """HTTP starter: check the caller, validate the request, refuse a second running instance, start it.

    ``POST /api/aks-windows-ops/rollouts`` with the request as JSON. One call can start writes on every
    cluster of a fleet, so the caller must be signed in with Entra ID through App Service authentication and
    hold the app role :data:`ROLLOUT_ROLE` (or the one named by ``AKS_WINDOWS_OPS_ROLLOUT_ROLE``): 401
    without a signed-in caller, 403 without the role (docs/security.md). Then 400 for an invalid request, 409
    with the running instance's status when the rollout already runs, else 202 with the status URLs.
    """
    import json

    import azure.functions as func

    caller, roles = caller_roles(dict(req.headers))
    required = os.environ.get(ROLLOUT_ROLE_ENV, "").strip() or ROLLOUT_ROLE
    if caller is None or required not in roles:
        status = 401 if caller is None else 403
        _log.warning(
            "rollout start refused (%s): caller %s lacks app role %s", status, caller or "-", required
        )
        return func.HttpResponse(
            json.dumps(
                {
                    "error": "sign in with Entra ID (App Service authentication)"
                    if caller is None
                    else f"the caller lacks the app role {required}"
                }
            ),
            status_code=status,
            mimetype="application/json",
        )
    try:
        body = req.get_json()
    except ValueError:
        body = None
    try:
        request = normalize_request(body)
    except InvalidInput as err:
        return func.HttpResponse(
            json.dumps({"error": "invalid request", "problems": err.problems}),
            status_code=400,
            mimetype="application/json",
        )
    request["state"] = None
    instance_id = instance_id_for(request["name"])
    status = await client.get_status(instance_id)
    runtime = getattr(
        getattr(status, "runtime_status", None), "value", getattr(status, "runtime_status", None)
    )
    if runtime in ("Running", "Pending", "ContinuedAsNew", "Suspended"):
        return func.HttpResponse(
            json.dumps(
                {
                    "error": f"rollout {request['name']!r} is already {runtime}",
                    "instance_id": instance_id,
                    "custom_status": getattr(status, "custom_status", None),
                }
            ),
            status_code=409,
            mimetype="application/json",
        )
    await client.start_new(ORCHESTRATOR_NAME, instance_id, request)
    _log.info("rollout %s started by %s", request["name"], caller)
    return client.create_check_status_response(req, instance_id)


def create_durable_blueprint(*, route: str = "aks-windows-ops/rollouts", auth_level: str = "ADMIN") -> Any:
    """Build the ``azure.durable_functions.Blueprint`` with the rollout orchestration (Service facts: Where it runs).

    Register it in ``function_app.py`` with ``app.register_functions(create_durable_blueprint())`` on a
    ``df.DFApp`` (or a ``func.FunctionApp``).

    The starter runs at the ``ADMIN`` authorization level: a function key (which anyone allowed to list a
    function's keys can read) is not enough, only the host's master key is. Turn on App Service
    authentication with Entra ID as well: the starter answers only callers it signed in who hold the app role
    :data:`ROLLOUT_ROLE`. Where App Service authentication rejects unauthenticated requests itself, the
    ``ANONYMOUS`` level removes the key and leaves Entra ID alone in charge (docs/security.md).

    Args:
        route: the HTTP route of the starter (``POST``).
        auth_level: ``ADMIN`` (default) or ``ANONYMOUS``; ``FUNCTION`` is refused.

    Raises:
        InvalidInput: another authorization level.
    """
    level = auth_level.strip().upper()
    if level not in ("ADMIN", "ANONYMOUS"):
        raise InvalidInput(
            f"the rollout starter's authorization level must be ADMIN or ANONYMOUS, not {auth_level!r}: "
            "a function key alone must not start writes across a fleet"
        )
    import azure.durable_functions as df
    import azure.functions as func

    bp = df.Blueprint()

    def aks_windows_ops_rollout_discover(payload: Any) -> dict[str, Any]:
        return discover_clusters(payload)

    def aks_windows_ops_rollout_plan(payload: Any) -> dict[str, Any]:
        return plan_cluster(payload)

    def aks_windows_ops_rollout_apply(payload: Any) -> dict[str, Any]:
        return apply_cluster(payload)

    def aks_windows_ops_rollout_report(payload: Any) -> str:
        return rollout_report(payload)

    async def aks_windows_ops_rollout_start(req: Any, client: Any) -> Any:
        return await start_rollout(req, client)

    # Real types (not strings): the worker resolves annotations against this module's globals.
    for activity, result in (
        (aks_windows_ops_rollout_discover, dict),
        (aks_windows_ops_rollout_plan, dict),
        (aks_windows_ops_rollout_apply, dict),
        (aks_windows_ops_rollout_report, str),
    ):
        activity.__annotations__ = {"payload": dict, "return": result}
    aks_windows_ops_rollout_start.__annotations__ = {
        "req": func.HttpRequest,
        "client": str,
        "return": func.HttpResponse,
    }
    # The worker sees the orchestrator through the SDK's handle (its own annotations); ``orchestrator_function``
    # on that handle is rollout_orchestrator itself.
    bp.function_name(ORCHESTRATOR_NAME)(
        bp.orchestration_trigger(context_name="context")(rollout_orchestrator)
    )
    for activity, name in (
        (aks_windows_ops_rollout_discover, DISCOVER_ACTIVITY),
        (aks_windows_ops_rollout_plan, PLAN_ACTIVITY),
        (aks_windows_ops_rollout_apply, APPLY_ACTIVITY),
        (aks_windows_ops_rollout_report, REPORT_ACTIVITY),
    ):
        bp.function_name(name)(bp.activity_trigger(input_name="payload")(activity))
    starter = bp.durable_client_input(client_name="client")(aks_windows_ops_rollout_start)
    starter = bp.route(route=route, methods=["POST"], auth_level=getattr(func.AuthLevel, level))(starter)
    bp.function_name(STARTER_NAME)(starter)
    return bp
