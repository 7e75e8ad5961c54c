"""No credential reaches a log line or a --debug traceback: the leak test at DEBUG with the HTTP trace on.

The search looks for each secret in its plain, JSON-escaped and base64 forms. A positive control runs the
same kind of request through azure-core's own trace policy and proves the search finds the leak there.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.policies import NetworkTraceLoggingPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.containerservice import ContainerServiceClient

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.azure.redact import (
    REDACTED,
    RedactingFilter,
    RedactingNetworkTraceLoggingPolicy,
    format_exception_redacted,
    redact_text,
)
from aks_windows_ops.runbooks.checkpoints import MemoryCheckpointStore
from aks_windows_ops.runbooks.password import apply_password_rotation, plan_password_rotation
from aks_windows_ops.secrets import Secret
from aks_windows_ops.testing._http import FakeResponse
from aks_windows_ops.testing.fake_azure import FakeAzure

SUB, RG, NAME = "00000000-0000-0000-0000-000000000002", "rg-legacy-apps", "aks-apps"
TOKEN = "tok-Leak-Canary-7f3a9c0e5b1d"  # deliberately not JWT-shaped: found by context, not by shape
PASSWORD = 'Leak-Canary-Pa55w0rd!"quoted'


def _forms(secret: str) -> dict[str, str]:
    raw = secret.encode()
    forms = {
        "plain": secret,
        "json-escaped": json.dumps(secret)[1:-1],
        "base64": base64.b64encode(raw).decode(),
    }
    for shift in (1, 2):  # the same bytes inside a larger base64 document, at the other two alignments
        forms[f"base64+{shift}"] = base64.b64encode(b"{" * shift + raw).decode()[4:-4]
    return forms


def _leaks(text: str) -> list[str]:
    return [
        f"{name} {form}"
        for name, secret in (("token", TOKEN), ("password", PASSWORD))
        for form, value in _forms(secret).items()
        if value in text
    ]


class CanaryCredential:
    """Hands out :data:`TOKEN`, so every request carries it in ``Authorization``."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo(TOKEN, int(time.time()) + 3600)

    def close(self) -> None: ...


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def capture() -> Iterator[Capture]:
    handler = Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_positive_control_azure_core_alone_leaks_and_the_search_finds_it(capture: Capture) -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    client = ContainerServiceClient(
        CanaryCredential(),
        SUB,
        transport=fake,
        logging_enable=True,
        logging_policy=NetworkTraceLoggingPolicy(logging_enable=True),
    )
    cluster = client.managed_clusters.get(RG, NAME).as_dict()
    cluster["properties"]["windowsProfile"]["adminPassword"] = PASSWORD
    body = json.dumps(cluster)
    client._client.send_request(  # the raw body a rotation sends, in the trace
        HttpRequest("PATCH", f"https://management.azure.com/subscriptions/{SUB}/x", content=body)
    )
    found = _leaks(capture.text)
    assert "token plain" in found and "password json-escaped" in found


def test_a_rotation_at_debug_with_the_http_trace_leaks_nothing(capture: Capture) -> None:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    clients = AzureClients(
        SUB, credential=CanaryCredential(), transport=fake, polling_interval=60, logging_enable=True
    )
    plan, ctx = plan_password_rotation(clients, RG, NAME, new_password=Secret(PASSWORD))
    result = apply_password_rotation(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.ok, result.message
    text = capture.text
    assert "Request URL" in text and "'Authorization'" in text and "adminPassword" in text  # the trace ran
    assert _leaks(text) == []
    assert not logging.getLogger().filters and not logging.getLogger("azure").filters  # no global filter


def test_a_key_vault_secret_value_is_masked_in_the_trace(capture: Capture) -> None:
    from azure.keyvault.secrets import SecretClient

    class Vault:
        def __init__(self) -> None:
            self.calls = 0

        def send(self, request: Any, **kwargs: Any) -> FakeResponse:
            self.calls += 1
            if "authorization" not in {k.lower() for k in request.headers}:
                challenge = 'Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net"'
                return FakeResponse(
                    request, 401, {"error": {"code": "Unauthorized"}}, {"WWW-Authenticate": challenge}
                )
            return FakeResponse(
                request, 200, {"value": PASSWORD, "id": "https://ops.vault.azure.net/secrets/admin/1"}
            )

        def open(self) -> None: ...

        def close(self) -> None: ...

        def __enter__(self) -> Vault:
            return self

        def __exit__(self, *args: Any) -> None: ...

    client = SecretClient(
        "https://ops.vault.azure.net",
        CanaryCredential(),
        transport=Vault(),
        logging_enable=True,
        logging_policy=RedactingNetworkTraceLoggingPolicy(logging_enable=True),
        verify_challenge_resource=False,
    )
    assert client.get_secret("admin").value == PASSWORD
    assert "Response content" in capture.text and "ops.vault.azure.net/secrets/admin" in capture.text
    assert _leaks(capture.text) == []


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("'Authorization': 'Bearer abc.def-ghi'", "abc.def-ghi"),
        ("Authorization: SharedKey acct:c2lnbmF0dXJl", "c2lnbmF0dXJl"),
        ('{"access_token": "at-123456", "token_type": "Bearer"}', "at-123456"),
        ('{"refresh_token":"rt-9876543"}', "rt-9876543"),
        ("grant_type=refresh_token&refresh_token=rt-5555&client_secret=cs-7777", "rt-5555"),
        ("grant_type=refresh_token&refresh_token=rt-5555&client_secret=cs-7777", "cs-7777"),
        (
            "https://acct.blob.core.windows.net/c/b?sv=2024-01-01&se=2026-12-01&sp=rw&sig=AbC%2Bd%3D",
            "AbC%2Bd%3D",
        ),
        (
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5a2V5a2V5==;EndpointSuffix=x",
            "a2V5a2V5a2V5==",
        ),
        ("{'admin_password': 'Py-Repr-Pa55!'}", "Py-Repr-Pa55!"),
        ('{\\"adminPassword\\": \\"Nested-Pa55!\\"}', "Nested-Pa55!"),
        ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2ln", "eyJzdWIiOiIxMjM0NTY3ODkwIn0"),
    ],
)
def test_each_kind_of_credential_is_masked(text: str, secret: str) -> None:
    cleaned = redact_text(text)
    assert secret not in cleaned and REDACTED in cleaned


def test_a_live_secret_is_masked_in_every_form_even_outside_a_named_field() -> None:
    secret = Secret("Free-Standing-Pa55!word")
    value = secret.reveal()
    blob = base64.b64encode(b'{"x": "' + value.encode() + b'"}').decode()
    for text in (f"message {value} end", json.dumps({"note": value}), blob):
        assert value not in redact_text(text)
        assert all(v not in redact_text(text) for k, v in _forms_of(value).items()), text


def _forms_of(value: str) -> dict[str, str]:
    raw = value.encode()
    return {"plain": value, "base64-core": base64.b64encode(b"\0" + raw).decode()[4:-4]}


def test_the_filter_masks_messages_and_exception_text_of_any_logger() -> None:
    secret = Secret("Filter-Canary-Pa55!")
    handler = Capture()
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("some.other.library")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        log.debug("sending %s with Authorization: Bearer %s", {"password": "p-123456"}, TOKEN)
        try:
            raise RuntimeError(f"failed with {secret.reveal()}")
        except RuntimeError:
            log.exception("boom")
    finally:
        log.removeHandler(handler)
    assert "p-123456" not in handler.text and TOKEN not in handler.text
    assert secret.reveal() not in handler.text and "RuntimeError" in handler.text


def test_debug_tracebacks_are_rendered_redacted() -> None:
    secret = Secret("Traceback-Canary-Pa55!")

    def fail(password: str) -> None:
        raise ValueError(f"rejected body {{'adminPassword': '{password}'}} Authorization: Bearer {TOKEN}")

    try:
        fail(secret.reveal())
    except ValueError as err:
        text = format_exception_redacted(err)
    assert "ValueError" in text and "fail(secret.reveal())" in text
    assert secret.reveal() not in text and TOKEN not in text


def _reachable(root: object, depth: int = 6) -> Iterator[object]:
    """Objects reachable from an error through attributes, containers and the chain of causes."""
    seen: set[int] = set()
    stack: list[tuple[object, int]] = [(root, depth)]
    while stack:
        obj, left = stack.pop()
        if id(obj) in seen or left < 0:
            continue
        seen.add(id(obj))
        yield obj
        children: list[object] = []
        if isinstance(obj, BaseException):
            children += [obj.__cause__, obj.__context__, *obj.args]
        if isinstance(obj, dict):
            children += [*obj.keys(), *obj.values()]
        elif isinstance(obj, (list, tuple, set)):
            children += list(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            children += list(vars(obj).values())
        for attr in ("body", "content", "_content", "request", "_request", "http_request"):
            if not isinstance(obj, (dict, list, tuple, set, str, bytes)) and hasattr(type(obj), attr):
                with contextlib.suppress(Exception):
                    children.append(getattr(obj, attr))
        stack += [(c, left - 1) for c in children if c is not None]


def _carries(error: BaseException, secret: str) -> bool:
    for obj in _reachable(error):
        if isinstance(obj, BaseException) and obj is not error and obj.__traceback__ is not None:
            frame_locals = [repr(v) for tb in _frames(obj) for v in tb.f_locals.values()]
            if any(secret in text for text in frame_locals):
                return True
        text = (
            obj.decode("utf-8", "replace")
            if isinstance(obj, (bytes, bytearray))
            else obj
            if isinstance(obj, str)
            else ""
        )
        if secret in text:
            return True
    return False


def _frames(error: BaseException) -> Iterator[Any]:
    tb = error.__traceback__
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


def _failing_rotation(password: str) -> BaseException:
    fake = FakeAzure.from_scenario("ws2019-retiring")
    fake.add_fault(
        "error", method="PUT", status=400, code="InvalidParameter", message="The request is invalid."
    )
    clients = AzureClients.for_simulator(fake, SUB, polling_interval=60)
    plan, ctx = plan_password_rotation(clients, RG, NAME, new_password=Secret(password))
    result = apply_password_rotation(plan, ctx, checkpoints=MemoryCheckpointStore())
    assert result.error is not None and "InvalidParameter" in str(result.error)
    return result.error


def test_public_errors_do_not_carry_the_raw_request() -> None:
    password = "Chained-Canary-Pa55!word"
    error = _failing_rotation(password)
    assert error.__cause__ is not None  # the Azure error is still chained, for its type and message
    assert not _carries(error, password)
    assert password not in format_exception_redacted(error)


def test_positive_control_a_raw_azure_error_carries_the_request_body() -> None:
    from azure.core.exceptions import HttpResponseError

    password = "Raw-Canary-Pa55!word"
    fake = FakeAzure.from_scenario("ws2019-retiring")
    fake.add_fault(
        "error", method="PUT", status=400, code="InvalidParameter", message="The request is invalid."
    )
    client = ContainerServiceClient(CanaryCredential(), SUB, transport=fake)
    cluster = client.managed_clusters.get(RG, NAME)
    cluster.windows_profile.admin_password = password
    with pytest.raises(HttpResponseError) as raised:
        client.managed_clusters.begin_create_or_update(RG, NAME, cluster)
    assert _carries(raised.value, password)
