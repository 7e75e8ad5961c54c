"""The HTTP face of the fake Kubernetes API server: REST paths, bearer tokens, JSON and ``Status`` errors.

Paths follow the Kubernetes API (``/api/v1/...`` for the core group, ``/apis/<group>/<version>/...``
otherwise). Watches, PUT, JSON patches and collection deletes are answered with a ``Status`` error rather than
being half-served. ``pods/{name}/exec`` is a WebSocket upgrade served by ``_kube_exec``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aks_windows_ops.testing import _kube_exec
from aks_windows_ops.testing._kube_cluster import ClusterState
from aks_windows_ops.testing._kube_objects import KINDS, ApiError, kind_for

__all__ = ["KubeHttpServer", "RecordedRequest"]

_VERSION = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.0",
    "gitCommit": "0" * 40,
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


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


class KubeHttpServer(ThreadingHTTPServer):
    """A threading HTTP server bound to a :class:`ClusterState`."""

    daemon_threads = True
    # Keep-alive connections park handler threads on a read; joining them on close would hang the stop.
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        state: ClusterState,
        tokens: set[str],
        exec_state: _kube_exec.ExecState | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.tokens = tokens
        self.exec_state = exec_state if exec_state is not None else _kube_exec.ExecState()
        self.journal: list[RecordedRequest] = []
        self.journal_lock = threading.Lock()


_EXEC_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/exec/?$")


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _route(
    state: ClusterState, method: str, path: str, query: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    segments = [s for s in path.split("/") if s]
    if segments == ["version"]:
        return 200, dict(_VERSION)
    if len(segments) >= 2 and segments[0] == "api":
        group, version, rest = "", segments[1], segments[2:]
    elif len(segments) >= 3 and segments[0] == "apis":
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    kind = kind_for(group, version, rest[0])
    if kind is None or (namespace is not None and not kind.namespaced):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if kind.namespaced and name is not None and namespace is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    ns = namespace or ""
    if name is None:
        if method == "GET":
            if _first(query, "watch") in ("true", "1"):
                raise ApiError(405, "MethodNotAllowed", "watch is not supported by this server")
            return 200, state.list_objects(
                kind,
                namespace,
                label_selector_text=_first(query, "labelSelector"),
                field_selector_text=_first(query, "fieldSelector"),
            )
        if method == "POST":
            return 201, state.create(kind, ns, body or {})
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on a collection")
    if sub is None:
        if method == "GET":
            return 200, state.get(kind, ns, name)
        if method == "PATCH":
            return 200, state.patch(kind, ns, name, body)
        if method == "DELETE":
            grace_text = _first(query, "gracePeriodSeconds")
            grace = (body or {}).get("gracePeriodSeconds") if isinstance(body, dict) else None
            if grace is None and grace_text is not None:
                grace = int(grace_text)
            return 200, state.delete(kind, ns, name, grace_period=grace)
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported")
    if sub == "eviction" and kind.name == "Pod" and method == "POST":
        return 201, state.evict(ns, name, body if isinstance(body, dict) else None)
    if sub == "status" and method == "GET":
        return 200, state.get(kind, ns, name)
    raise ApiError(404, "NotFound", "the server could not find the requested resource")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: KubeHttpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read the journal instead."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        return not self.server.tokens or token in self.server.tokens

    def _send_json(
        self, status: int, payload: Any, *, method: str, path: str, query: str, authorized: bool
    ) -> None:
        data = json.dumps(payload).encode("utf-8")
        # Journal first, so a client that has its answer always finds its request in the journal.
        with self.server.journal_lock:
            self.server.journal.append(RecordedRequest(method, path, query, status, authorized))
        self.send_response(status)
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
        protocol = _kube_exec.choose_protocol(offered) if offered else "channel.k8s.io"
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
            container = self._exec_container(pod, _first(query, "container"))
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
            result = _kube_exec.run_in_container(pod, container, command, self.server.exec_state, node=node)
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
        with self.server.journal_lock:
            self.server.journal.append(RecordedRequest(method, url.path, url.query, 101, authorized))
        self.close_connection = True
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header(
            "Sec-WebSocket-Accept", _kube_exec.websocket_accept(self.headers["Sec-WebSocket-Key"])
        )
        if offered:
            self.send_header("Sec-WebSocket-Protocol", protocol)
        self.end_headers()
        for frame in _kube_exec.session_frames(result, command, protocol):
            self.wfile.write(frame)
        self.wfile.flush()
        # Wait briefly for the client's close reply (stdin frames, if any, are ignored), then hang up.
        try:
            self.connection.settimeout(5.0)
            while True:
                opcode, _ = _kube_exec.read_frame(self.rfile)  # type: ignore[arg-type]
                if opcode == _kube_exec.OPCODE_CLOSE:
                    break
        except (TimeoutError, EOFError, ValueError, OSError):
            pass

    @staticmethod
    def _exec_container(pod: dict[str, Any], wanted: str | None) -> str:
        names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        pod_name = pod["metadata"]["name"]
        if wanted is None:
            if len(names) == 1:
                return names[0]
            raise ApiError(
                400,
                "BadRequest",
                f"a container name must be specified for pod {pod_name}, choose one of: [{' '.join(names)}]",
            )
        if wanted not in names:
            raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {pod_name}")
        return wanted

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        exec_match = _EXEC_PATH.match(url.path)
        if exec_match and method in ("GET", "POST"):
            self._exec(method, url, exec_match.group(1), exec_match.group(2))
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        authorized = self._authorized()
        try:
            if not authorized:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            try:
                body = json.loads(raw) if raw else None
            except ValueError as err:
                raise ApiError(400, "BadRequest", f"the request body is not JSON: {err}") from err
            if method == "PATCH" and content_type == "application/json-patch+json":
                raise ApiError(
                    415, "UnsupportedMediaType", "JSON patches are not supported; send a merge patch"
                )
            status, payload = _route(self.server.state, method, url.path, parse_qs(url.query), body)
        except ApiError as err:
            status, payload = err.code, err.status()
        except Exception as err:  # a bug in the fake must reach the client as a 500, not a hung connection
            status, payload = 500, ApiError(500, "InternalError", f"fake API server error: {err!r}").status()
        self._send_json(status, payload, method=method, path=url.path, query=url.query, authorized=authorized)
