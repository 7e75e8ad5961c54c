"""Resume only towards Azure Resource Manager: check every URL a stored continuation token holds.

A continuation token is base64 JSON that azure-core writes when an operation starts: the initial request's
method and URL, and the response's status, polling headers (``Azure-AsyncOperation``, ``Location``,
``Operation-Location``) and body. When the token is resumed, azure-core sends the bearer token to whatever
polling URL the token names. A token read back from a checkpoint store is input, so before it is handed to
the SDK :func:`check_continuation_token` requires that:

- every URL uses ``https`` on the configured cloud's Resource Manager endpoint (the client's ``base_url``:
  ``https://management.azure.com`` in the public cloud, the simulator's in rehearsals), with no user name,
  password or other port;
- the initial request has the method and resource path of the operation being resumed (a managed cluster
  PUT, an agent pool PUT, DELETE or ``upgradeNodeImageVersion`` POST, a scale set instance PUT ...);
- each polling URL is an operation status or result of the same subscription, as Resource Manager issues
  them: ``/subscriptions/{id}/providers/{namespace}/locations/{region}/operations/{id}`` (or
  ``operationresults``, or a path under the resource itself).

Anything else raises :class:`~aks_windows_ops.errors.UntrustedCheckpoint` before a request is sent. The
shapes follow the Resource Manager asynchronous operations contract
(https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations).

Tokens are also stored smaller than azure-core writes them: :func:`reduce_continuation_token` keeps the
initial request's method, resource URL and correlation id, the response status and polling headers, and of the response body
only the provisioning state, so a checkpoint never holds the resource itself (a cluster's FQDN, identity
profile, admin user name ...). azure-core resumes such a token exactly as the full one: it polls the status
URL, then reads the resource from the resource URL.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from aks_windows_ops.errors import UntrustedCheckpoint

__all__ = [
    "PUBLIC_RESOURCE_MANAGER",
    "OperationShape",
    "check_arm_url",
    "check_continuation_token",
    "check_resume",
    "decode_continuation_token",
    "endpoint_of",
    "reduce_continuation_token",
    "shape_of",
]

#: The public cloud's Resource Manager endpoint (used when a client does not say its own).
PUBLIC_RESOURCE_MANAGER = "https://management.azure.com"

_SEG = r"[^/?#]+"
_SUB = rf"/subscriptions/(?P<sub>{_SEG})"
_RG = rf"{_SUB}/resourcegroups/{_SEG}"
_CLUSTER = rf"{_RG}/providers/microsoft\.containerservice/managedclusters/{_SEG}"
_POOL = rf"{_CLUSTER}/agentpools/{_SEG}"
_VM = rf"{_RG}/providers/microsoft\.compute/virtualmachinescalesets/{_SEG}/virtualmachines/{_SEG}"
_ANY_RESOURCE = rf"{_RG}/providers/[^/?#]+/.+"
_POLL = rf"{_SUB}/providers/(?P<ns>{_SEG})/locations/{_SEG}/(?:operations|operationresults)/{_SEG}"
_POLLING_HEADERS = ("azure-asyncoperation", "operation-location", "location")


@dataclass(frozen=True)
class OperationShape:
    """What the initial request of a resumable operation may look like.

    Attributes:
        name: the operation, for messages (``managed cluster update``).
        requests: the allowed (HTTP method, path regex) pairs of the initial request, matched on the
            lower-cased, percent-decoded path.
        namespaces: the resource providers whose operation status URLs may be polled (lower case); empty
            means any provider.
    """

    name: str
    requests: tuple[tuple[str, str], ...]
    namespaces: frozenset[str] = frozenset()


_ABORTS = (("POST", rf"{_CLUSTER}/abort"), ("POST", rf"{_POOL}/abort"))
_CS = frozenset({"microsoft.containerservice"})
_SHAPES: dict[tuple[str, str], OperationShape] = {
    ("ManagedClustersOperations", "begin_create_or_update"): OperationShape(
        "managed cluster update", (("PUT", _CLUSTER), *_ABORTS), _CS
    ),
    ("ManagedClustersOperations", "begin_abort_latest_operation"): OperationShape(
        "managed cluster abort", _ABORTS, _CS
    ),
    ("AgentPoolsOperations", "begin_create_or_update"): OperationShape(
        "agent pool update", (("PUT", _POOL), ("POST", rf"{_POOL}/abort")), _CS
    ),
    ("AgentPoolsOperations", "begin_delete"): OperationShape("agent pool delete", (("DELETE", _POOL),), _CS),
    ("AgentPoolsOperations", "begin_upgrade_node_image_version"): OperationShape(
        "node image upgrade", (("POST", rf"{_POOL}/upgradenodeimageversion"),), _CS
    ),
    ("AgentPoolsOperations", "begin_abort_latest_operation"): OperationShape(
        "agent pool abort", (("POST", rf"{_POOL}/abort"),), _CS
    ),
    ("VirtualMachineScaleSetVMsOperations", "begin_update"): OperationShape(
        "scale set instance update", (("PUT", _VM),), frozenset({"microsoft.compute"})
    ),
}
#: Any other ``begin_*``: a write to some resource of a resource group, polled on the same endpoint.
_GENERIC = OperationShape(
    "operation",
    (("PUT", _ANY_RESOURCE), ("PATCH", _ANY_RESOURCE), ("DELETE", _ANY_RESOURCE), ("POST", _ANY_RESOURCE)),
)


def _refuse(problem: str) -> UntrustedCheckpoint:
    return UntrustedCheckpoint(
        f"refusing to resume from a stored operation token: {problem}; nothing was sent"
    )


def endpoint_of(begin: Callable[..., Any]) -> str:
    """Return the Resource Manager endpoint the SDK client behind ``begin`` is configured for.

    The SDK clients keep it as ``_config.base_url`` (``https://management.azure.com/`` unless another cloud
    or endpoint was configured); :data:`PUBLIC_RESOURCE_MANAGER` when it cannot be read.
    """
    config = getattr(getattr(begin, "__self__", None), "_config", None)
    base = getattr(config, "base_url", None)
    return (
        str(base)
        if isinstance(base, str) and base.startswith(("https://", "http://"))
        else PUBLIC_RESOURCE_MANAGER
    )


def shape_of(begin: Callable[..., Any]) -> OperationShape:
    """Return the :class:`OperationShape` of a ``begin_*`` method (a generic resource write if unknown)."""
    owner = type(getattr(begin, "__self__", None)).__name__
    return _SHAPES.get((owner, getattr(begin, "__name__", "")), _GENERIC)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    default = {"https": 443, "http": 80}.get(scheme)
    return scheme, f"{(parts.hostname or '').lower()}:{port if port is not None else default}"


def check_arm_url(url: object, endpoint: str, pattern: str, *, what: str) -> re.Match[str]:
    """Check that ``url`` is on ``endpoint`` and its path matches ``pattern``; return the path match.

    Args:
        url: the URL read from a stored token.
        endpoint: the configured Resource Manager endpoint (scheme, host and port are compared).
        pattern: a regex the lower-cased, percent-decoded path must match in full.
        what: which URL this is, for the message.

    Raises:
        UntrustedCheckpoint: another scheme, host or port, user information in the URL, or another path.
    """
    if not isinstance(url, str) or not url:
        raise _refuse(f"its {what} is missing")
    parts = urlsplit(url)
    want_scheme, want_origin = _origin(endpoint)
    scheme, origin = _origin(url)
    if (
        parts.username is not None
        or parts.password is not None
        or "\\" in url
        or any(c.isspace() for c in url)
    ):
        raise _refuse(f"its {what} is not a plain Resource Manager URL")
    if scheme != want_scheme or origin != want_origin:
        host = parts.hostname or "no host"
        raise _refuse(f"its {what} points at {host}, not at the Resource Manager endpoint {endpoint}")
    path = unquote(parts.path).lower()
    if ".." in path.split("/") or "//" in path:
        raise _refuse(f"its {what} has an unusual path")
    match = re.fullmatch(pattern, path.rstrip("/"))
    if match is None:
        raise _refuse(f"its {what} is not shaped like this operation's Resource Manager path")
    return match


def decode_continuation_token(token: str) -> Mapping[str, Any]:
    """Decode azure-core's continuation token (base64 of ``{"version": 1, "data": {...}}``).

    Raises:
        UntrustedCheckpoint: the text is not such a token.
    """
    try:
        document = json.loads(base64.b64decode(token.encode("ascii"), validate=True).decode("utf-8"))
    except (UnicodeError, binascii.Error, ValueError):
        raise _refuse("it is not an operation token this library wrote") from None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise _refuse("it is not an operation token this library wrote")
    return data


def _polling_urls(response: Mapping[str, Any]) -> Iterable[tuple[str, object]]:
    headers = response.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise _refuse("its response headers are malformed")
    for name, value in headers.items():
        if str(name).lower() in _POLLING_HEADERS:
            yield str(name), value


def check_continuation_token(
    token: str, *, endpoint: str, shape: OperationShape, subscription: str | None = None
) -> None:
    """Check every URL inside a continuation token before it is resumed (see the module docstring).

    Args:
        token: the stored continuation token.
        endpoint: the client's Resource Manager endpoint (:func:`endpoint_of`).
        shape: the operation being resumed (:func:`shape_of`).
        subscription: the client's subscription; the token's URLs must name the same one.

    Raises:
        UntrustedCheckpoint: a URL is off the endpoint or off the operation's shape; nothing was sent.
    """
    data = decode_continuation_token(token)
    request, response = data.get("request"), data.get("response")
    if not isinstance(request, Mapping) or not isinstance(response, Mapping):
        raise _refuse("it has no initial request to check")
    method = str(request.get("method", "")).upper()
    url = request.get("url")
    allowed = [pattern for verb, pattern in shape.requests if verb == method]
    if not allowed:
        raise _refuse(f"its initial request ({method or 'no method'}) is not the {shape.name} being resumed")
    match: re.Match[str] | None = None
    for pattern in allowed:
        try:
            match = check_arm_url(url, endpoint, pattern, what="resource URL")
            break
        except UntrustedCheckpoint:
            if pattern == allowed[-1]:
                raise
    assert match is not None
    sub = match.group("sub")
    if subscription is not None and sub != subscription.lower():
        raise _refuse("its resource URL names another subscription than the client's")
    for name, value in _polling_urls(response):
        try:
            poll = check_arm_url(value, endpoint, _POLL, what=f"{name} URL")
        except UntrustedCheckpoint:
            # Some providers poll a path under the resource itself; it must be that same resource.
            under = rf"{re.escape(str(urlsplit(str(url)).path).lower().rstrip('/'))}(?:/.*)?"
            poll = check_arm_url(value, endpoint, under, what=f"{name} URL")
        if poll.groupdict().get("sub", sub) != sub:
            raise _refuse(f"its {name} URL names another subscription")
        namespace = poll.groupdict().get("ns")
        if shape.namespaces and namespace is not None and namespace not in shape.namespaces:
            raise _refuse(f"its {name} URL polls another resource provider ({namespace})")


def check_resume(begin: Callable[..., Any], token: str) -> None:
    """Check a stored continuation token against the client ``begin`` belongs to, before resuming it.

    Called by ``aks_windows_ops.azure.lro.wait`` for every resume: the endpoint, subscription and operation
    shape come from the SDK client, never from the token.

    Raises:
        UntrustedCheckpoint: the token points elsewhere; nothing was sent.
    """
    config = getattr(getattr(begin, "__self__", None), "_config", None)
    subscription = getattr(config, "subscription_id", None)
    check_continuation_token(
        token,
        endpoint=endpoint_of(begin),
        shape=shape_of(begin),
        subscription=str(subscription) if isinstance(subscription, str) and subscription else None,
    )


_KEPT_HEADERS = frozenset({*_POLLING_HEADERS, "retry-after"})


def _status_only(body: object) -> dict[str, Any] | None:
    if not isinstance(body, Mapping):
        return None
    kept: dict[str, Any] = {}
    if isinstance(body.get("status"), str):
        kept["status"] = body["status"]
    properties = body.get("properties")
    if isinstance(properties, Mapping) and isinstance(properties.get("provisioningState"), str):
        kept["properties"] = {"provisioningState": properties["provisioningState"]}
    return kept or None


def _request_id(request: Mapping[str, Any]) -> dict[str, str]:
    # azure-core polls with the initial request's correlation id (not a secret; ARM echoes it in its logs).
    headers = request.get("headers")
    if not isinstance(headers, Mapping):
        return {}
    return {str(k): str(v) for k, v in headers.items() if str(k).lower() == "x-ms-client-request-id"}


def reduce_continuation_token(token: str) -> str:
    """Return ``token`` with only what resuming needs (see the module docstring); the same token format.

    Args:
        token: a continuation token from an SDK poller (``poller.continuation_token()``).

    Raises:
        UntrustedCheckpoint: the text is not an azure-core continuation token.
    """
    data = decode_continuation_token(token)
    request = data.get("request") if isinstance(data.get("request"), Mapping) else None
    response = data.get("response") if isinstance(data.get("response"), Mapping) else {}
    assert response is not None
    try:
        raw = base64.b64decode(str(response.get("content") or ""))
        body = json.loads(raw) if raw else None
    except (binascii.Error, ValueError):
        body = None
    if body is None:
        context = data.get("context")
        body = context.get("deserialized_data") if isinstance(context, Mapping) else None
    kept_body = _status_only(body)
    headers = response.get("headers") if isinstance(response.get("headers"), Mapping) else {}
    assert headers is not None
    kept_headers = {k: v for k, v in headers.items() if str(k).lower() in _KEPT_HEADERS}
    if kept_body:
        kept_headers["Content-Type"] = "application/json"
    reduced = {
        "request": None
        if request is None
        else {"method": request.get("method"), "url": request.get("url"), "headers": _request_id(request)},
        "response": {
            "status_code": response.get("status_code"),
            "headers": kept_headers,
            "content": base64.b64encode(json.dumps(kept_body).encode() if kept_body else b"").decode("ascii"),
        },
        "context": {"deserialized_data": kept_body},
    }
    document = {"version": 1, "data": reduced}
    return base64.b64encode(json.dumps(document, separators=(",", ":")).encode("utf-8")).decode("ascii")
