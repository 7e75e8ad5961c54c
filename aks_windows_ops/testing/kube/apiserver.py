"""The HTTPS face of the fake Kubernetes API server: bearer tokens, request bodies, JSON and ``Status`` errors.

Routing is in :mod:`.routes`, watches and logs in :mod:`.streams`, ``Table`` answers for ``kubectl get`` in
:mod:`.table`; ``pods/{name}/exec`` is a WebSocket upgrade served with :mod:`.podexec`. Protobuf bodies get 415
(only JSON and YAML are served). Every answer is journaled (:class:`RecordedRequest`, never the token).
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from aks_windows_ops.testing.kube import openapi, podexec
from aks_windows_ops.testing.kube.objects import KINDS, ApiError
from aks_windows_ops.testing.kube.patch import PATCH_TYPES
from aks_windows_ops.testing.kube.routes import Target, first, pick_container, resolve, route
from aks_windows_ops.testing.kube.state import ClusterState
from aks_windows_ops.testing.kube.streams import StreamingHandler
from aks_windows_ops.testing.kube.table import to_table, wants_table
from aks_windows_ops.testing.loopback import LoopbackServer

Obj = dict[str, Any]

__all__ = ["KubeHttpServer", "RecordedRequest"]

_EXEC_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/exec/?$")
_PROTOBUF = "application/vnd.kubernetes.protobuf"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake API server saw it (the token itself is never kept).

    Attributes:
        method: HTTP method.
        path: URL path without the query.
        query: raw query string.
        status: HTTP status answered.
        authorized: whether the bearer token was accepted.
    """

    method: str
    path: str
    query: str
    status: int
    authorized: bool


class KubeHttpServer(LoopbackServer):
    """A threading HTTP(S) server bound to a :class:`~.state.ClusterState` (TLS when given ``ssl_context``)."""

    def __init__(
        self,
        address: tuple[str, int],
        state: ClusterState,
        tokens: set[str],
        exec_state: podexec.ExecState | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        version: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(address, _Handler, ssl_context=ssl_context)
        self.state = state
        self.tokens = tokens
        self.exec_state = exec_state if exec_state is not None else podexec.ExecState()
        self.journal: list[RecordedRequest] = []
        self.journal_lock = threading.Lock()
        self.version = version or (lambda: "1.33.0")


class _Handler(StreamingHandler):
    server: KubeHttpServer

    def record(self, method: str, path: str, query: str, status: int, authorized: bool) -> None:
        """Journal one answered request."""
        with self.server.journal_lock:
            self.server.journal.append(RecordedRequest(method, path, query, status, authorized))

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        return not self.server.tokens or token in self.server.tokens

    def _send_json(
        self,
        status: int,
        payload: Any,
        *,
        method: str,
        path: str,
        query: str,
        authorized: bool,
        warnings: list[str] | None = None,
    ) -> None:
        # Journal first, so a client that has its answer always finds its request in the journal.
        self.record(method, path, query, status, authorized)
        self.send_response(status)
        for text in warnings or []:
            self.send_header("Warning", f"299 - {json.dumps(text)}")
        data = json.dumps(payload).encode("utf-8")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _exec(self, method: str, url: Any, namespace: str, name: str) -> None:
        """Serve ``pods/{name}/exec``: check the request, run the command, stream the result over a WebSocket."""
        authorized = self._authorized()
        query = parse_qs(url.query, keep_blank_values=True)
        command = query.get("command", [])
        offered = self.headers.get("Sec-WebSocket-Protocol")
        protocol = podexec.choose_protocol(offered) if offered else "channel.k8s.io"
        try:
            if not authorized:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            if (self.headers.get("Upgrade") or "").lower() != "websocket" or not self.headers.get(
                "Sec-WebSocket-Key"
            ):
                raise ApiError(400, "BadRequest", "Upgrade request required")
            if protocol is None:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"unable to upgrade: unable to negotiate a subprotocol from {offered!r}",
                )
            pod = self.server.state.get(KINDS["Pod"], namespace, name)
            container = pick_container(pod, first(query, "container"))
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                raise ApiError(
                    400,
                    "BadRequest",
                    f"cannot exec into a container in a completed pod; current phase is {phase}",
                )
            if phase != "Running":
                raise ApiError(
                    400, "BadRequest", f'unable to upgrade connection: container not found ("{container}")'
                )
            node = None
            node_name = (pod.get("spec") or {}).get("nodeName")
            if node_name:
                try:
                    node = self.server.state.get(KINDS["Node"], "", node_name)
                except ApiError:
                    node = None
            result = podexec.run_in_container(pod, container, command, self.server.exec_state, node=node)
        except Exception as exc:  # a bug in the fake must reach the client as a Status, not a dropped socket
            err = (
                exc
                if isinstance(exc, ApiError)
                else ApiError(500, "InternalError", f"fake exec error: {exc!r}")
            )
            self.close_connection = True
            self._send_json(
                err.code, err.status(), method=method, path=url.path, query=url.query, authorized=authorized
            )
            return
        self.record(method, url.path, url.query, 101, authorized)
        self.close_connection = True
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", podexec.websocket_accept(self.headers["Sec-WebSocket-Key"]))
        if offered:
            self.send_header("Sec-WebSocket-Protocol", protocol)
        self.end_headers()
        for frame in podexec.session_frames(result, command, protocol):
            self.wfile.write(frame)
        self.wfile.flush()
        # Wait briefly for the client's close reply (stdin frames, if any, are ignored), then hang up.
        try:
            self.connection.settimeout(5.0)
            while True:
                opcode, _ = podexec.read_frame(self.rfile)  # type: ignore[arg-type]
                if opcode == podexec.OPCODE_CLOSE:
                    break
        except (TimeoutError, EOFError, ValueError, OSError):
            pass

    def handle_method(self, method: str) -> None:
        """Serve one request: exec upgrades, watches and logs stream; everything else is one JSON answer."""
        url = urlsplit(self.path)
        exec_match = _EXEC_PATH.match(url.path)
        if exec_match and method in ("GET", "POST"):
            self._exec(method, url, exec_match.group(1), exec_match.group(2))
            return
        raw = self.read_body()
        authorized = self._authorized()
        query = parse_qs(url.query)
        accept = self.headers.get("Accept") or ""
        warnings: list[str] = []
        try:
            if not authorized:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            body = self._body(method, raw, content_type)
            target = resolve(url.path)
            if method == "GET" and isinstance(target, Target):
                if target.name is None and first(query, "watch") in ("true", "1"):
                    self.watch(target, query, url, wants_table(accept))
                    return
                if target.kind.name == "Pod" and target.sub == "log" and target.name is not None:
                    self.logs(target, query, url)
                    return
            if method in ("POST", "PUT", "PATCH") and isinstance(target, Target) and target.sub is None:
                warnings = openapi.validate_fields(
                    target.kind, method, body, content_type, first(query, "fieldValidation")
                )
            status, payload = route(
                self.server.state, self.server.version, method, url.path, query, body, content_type
            )
            if isinstance(target, Target) and target.sub is None and wants_table(accept) and status < 300:
                if isinstance(payload, dict) and payload.get("kind") != "Status":
                    payload = to_table(target.kind, payload, first(query, "includeObject"))
        except ApiError as err:
            status, payload = err.code, err.status()
        except Exception as err:  # a bug in the fake must reach the client as a 500, not a hung connection
            status, payload = 500, ApiError(500, "InternalError", f"fake API server error: {err!r}").status()
        self._send_json(
            status,
            payload,
            method=method,
            path=url.path,
            query=url.query,
            authorized=authorized,
            warnings=warnings if status < 400 else None,
        )

    @staticmethod
    def _body(method: str, raw: bytes, content_type: str) -> Any:
        """Decode a request body: JSON (YAML for server-side apply); protobuf and other types get 415."""
        if not raw:
            return None
        if content_type == _PROTOBUF or content_type.startswith("application/vnd.kubernetes.protobuf"):
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json, application/yaml",
            )
        if method == "PATCH" and content_type not in PATCH_TYPES:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join(sorted(PATCH_TYPES))}",
            )
        if content_type in ("application/apply-patch+yaml", "application/yaml"):
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as err:
                raise ApiError(400, "BadRequest", f"the request body is not YAML: {err}") from err
        if content_type not in ("", "application/json", *PATCH_TYPES):
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json, application/yaml",
            )
        try:
            return json.loads(raw)
        except ValueError as err:
            raise ApiError(400, "BadRequest", f"the request body is not JSON: {err}") from err
