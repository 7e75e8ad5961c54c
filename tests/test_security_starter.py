"""The Durable rollout starter: ADMIN key level, and an Entra ID caller with the rollout app role."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import azure.functions as func
import pytest
from azure.functions.decorators.core import AuthLevel

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.integrations import durable as D


def _functions(bp: Any) -> dict[str, Any]:
    app = func.FunctionApp()
    app.register_functions(bp)
    return {f.get_function_name(): f for f in app.get_functions()}


def _principal(*roles: str, role_typ: str | None = None, claim: str = "roles") -> str:
    document: dict[str, Any] = {"auth_typ": "aad", "claims": [{"typ": claim, "val": r} for r in roles]}
    if role_typ:
        document["role_typ"] = role_typ
    return base64.b64encode(json.dumps(document).encode()).decode()


class Client:
    def __init__(self) -> None:
        self.started: list[str] = []

    async def get_status(self, instance_id: str) -> Any:
        return None

    async def start_new(self, name: str, instance_id: str, client_input: Any) -> str:
        self.started.append(instance_id)
        return instance_id

    def create_check_status_response(self, request: Any, instance_id: str) -> func.HttpResponse:
        return func.HttpResponse(json.dumps({"id": instance_id}), status_code=202)


def _post(headers: dict[str, str], monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, Client]:
    starter = _functions(D.create_durable_blueprint())[D.STARTER_NAME].get_user_function().client_function
    body = {"name": "fleet", "clusters": ["s/rg/c"], "options": {"node_image_only": True}}
    request = func.HttpRequest(
        "POST", "http://h/api/aks-windows-ops/rollouts", body=json.dumps(body).encode(), headers=headers
    )
    client = Client()
    response: func.HttpResponse = asyncio.run(starter(request, client=client))
    return response.status_code, client


def test_the_starter_needs_the_master_key_not_a_function_key() -> None:
    trigger = _functions(D.create_durable_blueprint())[D.STARTER_NAME].get_trigger()
    assert trigger.auth_level is AuthLevel.ADMIN
    anonymous = _functions(D.create_durable_blueprint(auth_level="anonymous"))[D.STARTER_NAME].get_trigger()
    assert anonymous.auth_level is AuthLevel.ANONYMOUS
    with pytest.raises(InvalidInput, match="ADMIN or ANONYMOUS"):
        D.create_durable_blueprint(auth_level="function")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),  # no App Service authentication in front: nobody is signed in
        ({"X-MS-CLIENT-PRINCIPAL": "not base64 !"}, 401),
        ({"X-MS-CLIENT-PRINCIPAL": base64.b64encode(b"[1]").decode()}, 401),
        ({"X-MS-CLIENT-PRINCIPAL": _principal()}, 403),  # signed in, no role
        ({"X-MS-CLIENT-PRINCIPAL": _principal("Reader", "AksWindowsOps.Audit")}, 403),
        ({"X-MS-CLIENT-PRINCIPAL": _principal("AksWindowsOps.Rollout")}, 202),
        (
            {
                "x-ms-client-principal": _principal(
                    "AksWindowsOps.Rollout", claim="http://x/role", role_typ="http://x/role"
                )
            },
            202,
        ),
    ],
)
def test_only_a_signed_in_caller_with_the_app_role_starts_a_rollout(
    headers: dict[str, str], status: int
) -> None:
    code, client = _post(headers)
    assert code == status
    assert client.started == (["aks-windows-ops-rollout-fleet"] if status == 202 else [])


def test_another_required_role_can_be_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(D.ROLLOUT_ROLE_ENV, "Fleet.Operator")
    assert _post({"X-MS-CLIENT-PRINCIPAL": _principal("AksWindowsOps.Rollout")})[0] == 403
    assert _post({"X-MS-CLIENT-PRINCIPAL": _principal("Fleet.Operator")})[0] == 202
