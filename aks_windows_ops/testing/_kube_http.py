"""The HTTP(S) face of the fake Kubernetes API server: REST paths, bearer tokens, JSON and ``Status`` errors.

Paths follow the Kubernetes API (``/api/v1/...`` for the core group, ``/apis/<group>/<version>/...``
otherwise), with discovery (``_kube_discovery``), ``/version`` following the control plane, ``Table`` answers
for ``kubectl get`` (``_kube_table``), watches (chunked ``WatchEvent`` lines), ``pods/{name}/log``, the
``scale`` subresource, PUT, every patch type (``_kube_patch``) including server-side apply creating objects,
and 415 for protobuf bodies. Collection deletes are answered with a ``Status`` error rather than being
half-served. ``pods/{name}/exec`` is a WebSocket upgrade served by ``_kube_exec``.
"""

from __future__ import annotations

import copy
import json
import re
import select
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from aks_windows_ops.testing import _kube_discovery, _kube_exec, _kube_patch
from aks_windows_ops.testing._kube_cluster import ClusterState
from aks_windows_ops.testing._kube_match import merge_patch
from aks_windows_ops.testing._kube_objects import KINDS, ApiError, Kind, kind_for
from aks_windows_ops.testing._kube_patch import PATCH_TYPES
from aks_windows_ops.testing._kube_table import to_table, wants_table

Obj = dict[str, Any]

__all__ = ["KubeHttpServer", "RecordedRequest"]


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
    """A threading HTTP(S) server bound to a :class:`ClusterState`.

    With ``ssl_context`` every connection is wrapped in TLS in its own handler thread (so a slow handshake
    never blocks the accept loop).
    """

    daemon_threads = True
    # Keep-alive connections park handler threads on a read; joining them on close would hang the stop.
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        state: ClusterState,
        tokens: set[str],
        exec_state: _kube_exec.ExecState | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        version: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.tokens = tokens
        self.exec_state = exec_state if exec_state is not None else _kube_exec.ExecState()
        self.journal: list[RecordedRequest] = []
        self.journal_lock = threading.Lock()
        self.ssl_context = ssl_context
        self.version = version or (lambda: "1.33.0")
        self.stopping = threading.Event()

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the connection in TLS (in the handler thread), then serve it."""
        if self.ssl_context is not None:
            try:
                request.settimeout(10.0)
                request = self.ssl_context.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)

    def shutdown(self) -> None:
        """Stop serving and end open watches."""
        self.stopping.set()
        super().shutdown()


_EXEC_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/exec/?$")
_PROTOBUF = "application/vnd.kubernetes.protobuf"
#: The longest a watch stays open (the API server's default ``--min-request-timeout`` is 1800 s).
_WATCH_LIMIT = 1800.0


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


@dataclass(frozen=True)
class _Target:
    kind: Kind
    namespace: str | None
    name: str | None
    sub: str | None


def _resolve(path: str) -> _Target | Any:
    """Map a path to a served resource, or return the discovery document it names."""
    segments = [s for s in path.split("/") if s]
    if segments == ["api"]:
        return _kube_discovery.api_versions()
    if segments == ["apis"]:
        return _kube_discovery.api_group_list()
    if len(segments) == 2 and segments[0] == "apis":
        return _kube_discovery.api_group(segments[1]) or _not_found()
    if len(segments) == 2 and segments[0] == "api":
        return _kube_discovery.resource_list("", segments[1]) or _not_found()
    if len(segments) == 3 and segments[0] == "apis":
        return _kube_discovery.resource_list(segments[1], segments[2]) or _not_found()
    if len(segments) >= 2 and segments[0] == "api":
        group, version, rest = "", segments[1], segments[2:]
    elif len(segments) >= 3 and segments[0] == "apis":
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return _not_found()
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return _not_found()
    kind = kind_for(group, version, rest[0])
    if kind is None or (namespace is not None and not kind.namespaced):
        return _not_found()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if kind.namespaced and name is not None and namespace is None:
        return _not_found()
    return _Target(kind, namespace, name, sub)


def _scale(obj: Obj, kind: Kind) -> Obj:
    meta = obj["metadata"]
    selector = (obj["spec"].get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": int(obj["spec"].get("replicas", 1))},
        "status": {
            "replicas": int((obj.get("status") or {}).get("replicas", 0)),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


def _patcher(content_type: str) -> Callable[[Obj, Any], Any]:
    if content_type == "application/json-patch+json":
        return _kube_patch.json_patch
    if content_type == "application/merge-patch+json":
        return merge_patch
    return _kube_patch.strategic_merge


def _route(
    server: KubeHttpServer,
    method: str,
    path: str,
    query: dict[str, list[str]],
    body: Any,
    content_type: str,
) -> tuple[int, Any]:
    state = server.state
    segments = [s for s in path.split("/") if s]
    if segments == ["version"]:
        return 200, _kube_discovery.version_info(server.version())
    target = _resolve(path)
    if isinstance(target, ApiError):
        raise target
    if not isinstance(target, _Target):
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported")
        return 200, target
    kind, namespace, name, sub = target.kind, target.namespace, target.name, target.sub
    ns = namespace or ""
    if name is None:
        if method == "GET":
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
            if content_type == "application/apply-patch+yaml":
                try:
                    return 200, state.patch(kind, ns, name, body, apply_patch=_kube_patch.strategic_merge)
                except ApiError as err:
                    if err.code != 404 or not isinstance(body, dict):
                        raise
                    meta = body.setdefault("metadata", {})
                    if meta.get("name") not in (None, name):
                        raise ApiError(
                            400, "BadRequest", "the name of the object does not match the URL"
                        ) from err
                    meta["name"] = name
                    return 201, state.create(kind, ns, body)
            return 200, state.patch(kind, ns, name, body, apply_patch=_patcher(content_type))
        if method == "PUT":
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the request body is not an object")
            return 200, state.patch(kind, ns, name, body, apply_patch=lambda _old, new: copy.deepcopy(new))
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
    if sub == "scale" and kind.name in ("Deployment", "ReplicaSet", "StatefulSet"):
        if method == "GET":
            return 200, _scale(state.get(kind, ns, name), kind)
        if method in ("PATCH", "PUT"):
            current = _scale(state.get(kind, ns, name), kind)
            wanted = body if method == "PUT" else _patcher(content_type)(current, body)
            replicas = ((wanted or {}).get("spec") or {}).get("replicas")
            if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, "Invalid", "spec.replicas: Invalid value: must be a non-negative integer")
            updated = state.patch(kind, ns, name, {"spec": {"replicas": replicas}})
            return 200, _scale(updated, kind)
    raise _not_found()


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
        query = parse_qs(url.query)
        accept = self.headers.get("Accept") or ""
        try:
            if not authorized:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            body = self._body(method, raw, content_type)
            target = _resolve(url.path)
            if method == "GET" and isinstance(target, _Target):
                if target.name is None and _first(query, "watch") in ("true", "1"):
                    self._watch(target, query, url, wants_table(accept))
                    return
                if target.kind.name == "Pod" and target.sub == "log" and target.name is not None:
                    self._logs(target, query, url)
                    return
            status, payload = _route(self.server, method, url.path, query, body, content_type)
            if isinstance(target, _Target) and target.sub is None and wants_table(accept) and status < 300:
                if isinstance(payload, dict) and payload.get("kind") != "Status":
                    payload = to_table(target.kind, payload, _first(query, "includeObject"))
        except ApiError as err:
            status, payload = err.code, err.status()
        except Exception as err:  # a bug in the fake must reach the client as a 500, not a hung connection
            status, payload = 500, ApiError(500, "InternalError", f"fake API server error: {err!r}").status()
        self._send_json(status, payload, method=method, path=url.path, query=url.query, authorized=authorized)

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

    def _start_stream(self, content_type: str, path: str, query: str) -> None:
        with self.server.journal_lock:
            self.server.journal.append(RecordedRequest("GET", path, query, 200, True))
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _client_gone(self, wait: float) -> bool:
        """Wait up to ``wait`` real seconds; whether the client hung up meanwhile."""
        try:
            readable, _, _ = select.select([self.connection], [], [], wait)
            return bool(readable) and not self.connection.recv(1)
        except (OSError, ValueError):
            return True

    def _watch(self, target: _Target, query: dict[str, list[str]], url: Any, table: bool) -> None:
        """Stream watch events (``ADDED``/``MODIFIED``/``DELETED``) as the objects change, until the timeout."""
        state = self.server.state
        kind = target.kind

        def snapshot() -> dict[str, Obj]:
            listing = state.list_objects(
                kind,
                target.namespace,
                label_selector_text=_first(query, "labelSelector"),
                field_selector_text=_first(query, "fieldSelector"),
            )
            return {item["metadata"]["uid"]: item for item in listing["items"]}

        def event(kind_text: str, obj: Obj) -> bytes:
            full = {"apiVersion": kind.api_version, "kind": kind.name, **obj}
            payload = to_table(kind, full, _first(query, "includeObject")) if table else full
            return json.dumps({"type": kind_text, "object": payload}).encode() + b"\n"

        seen = snapshot()  # a bad selector fails here, before the stream starts, as a Status
        since = _first(query, "resourceVersion")
        self._start_stream("application/json", url.path, url.query)
        try:
            for obj in seen.values():
                if since in (None, "", "0") or int(obj["metadata"]["resourceVersion"]) > int(since or 0):
                    self._chunk(event("ADDED", obj))
            timeout = float(_first(query, "timeoutSeconds") or _WATCH_LIMIT)
            deadline = time.monotonic() + min(timeout, _WATCH_LIMIT)
            while time.monotonic() < deadline and not self.server.stopping.is_set():
                if self._client_gone(0.05):
                    return
                now = snapshot()
                for uid, obj in now.items():
                    old = seen.get(uid)
                    if old is None:
                        self._chunk(event("ADDED", obj))
                    elif old["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                        self._chunk(event("MODIFIED", obj))
                for uid, obj in seen.items():
                    if uid not in now:
                        self._chunk(event("DELETED", obj))
                seen = now
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, ValueError):
            return

    def _logs(self, target: _Target, query: dict[str, list[str]], url: Any) -> None:
        """``pods/{name}/log``: the container's output as text (what it printed since it started)."""
        pod = self.server.state.get(target.kind, target.namespace or "", target.name or "")
        container = self._exec_container(pod, _first(query, "container"))
        statuses = {s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []}
        running = ((statuses.get(container) or {}).get("state") or {}).get("running")
        if not running:
            raise ApiError(
                400,
                "BadRequest",
                f'container "{container}" in pod "{target.name}" is waiting to start: ContainerCreating',
            )
        image = next(c.get("image") for c in pod["spec"]["containers"] if c.get("name") == container)
        started = running.get("startedAt", "")
        lines = [
            f"{started} container {container} started from image {image}",
            f"{started} {container} is running on node {pod['spec'].get('nodeName', '')}",
        ]
        tail = _first(query, "tailLines")
        if tail is not None and tail.isdigit():
            lines = lines[-int(tail) :] if int(tail) else []
        data = "".join(line + "\n" for line in lines).encode()
        with self.server.journal_lock:
            self.server.journal.append(RecordedRequest("GET", url.path, url.query, 200, True))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
