"""Long answers of the fake Kubernetes API: watches (chunked ``WatchEvent`` lines) and ``pods/{name}/log``.

A watch sends ``ADDED`` for the objects that match (newer than ``resourceVersion`` when given), then
``ADDED``/``MODIFIED``/``DELETED`` as they change, until ``timeoutSeconds`` (at most the API server's default
``--min-request-timeout`` of 1800 s), the client hanging up, or the server stopping.

The watch waits in real time, on purpose: its reader is a real client (kubectl, the ``kubernetes`` package)
blocked on a socket, and ``timeoutSeconds`` is a promise about how long that socket stays open. What the watch
reports follows the cluster's own clock (each look at the objects reconciles them at the cluster's "now"), so
on a served twin pods turn Ready as virtual time advances, not as real seconds pass.
"""

from __future__ import annotations

import json
import select
import time
from typing import Any

from aks_windows_ops.testing.kube.objects import ApiError
from aks_windows_ops.testing.kube.routes import Target, first, pick_container
from aks_windows_ops.testing.kube.table import to_table
from aks_windows_ops.testing.loopback import LoopbackHandler

__all__ = ["StreamingHandler"]

Obj = dict[str, Any]
#: The longest a watch stays open (the API server's default ``--min-request-timeout`` is 1800 s).
_WATCH_LIMIT = 1800.0
#: How often (real seconds) a watch looks for changes and for a client that hung up.
_WATCH_POLL = 0.05


class StreamingHandler(LoopbackHandler):
    """Watches and logs for the API server's handler; the server gives ``state`` and ``stopping``."""

    server: Any

    def record(self, method: str, path: str, query: str, status: int, authorized: bool) -> None:
        """Journal one answered request (implemented by the API server's handler)."""
        raise NotImplementedError

    def _start_stream(self, content_type: str, path: str, query: str) -> None:
        self.record("GET", path, query, 200, True)
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

    def watch(self, target: Target, query: dict[str, list[str]], url: Any, table: bool) -> None:
        """Stream watch events (``ADDED``/``MODIFIED``/``DELETED``) as the objects change, until the timeout."""
        state = self.server.state
        kind = target.kind

        def snapshot() -> dict[str, Obj]:
            listing = state.list_objects(
                kind,
                target.namespace,
                label_selector_text=first(query, "labelSelector"),
                field_selector_text=first(query, "fieldSelector"),
            )
            return {item["metadata"]["uid"]: item for item in listing["items"]}

        def event(kind_text: str, obj: Obj) -> bytes:
            full = {"apiVersion": kind.api_version, "kind": kind.name, **obj}
            payload = to_table(kind, full, first(query, "includeObject")) if table else full
            return json.dumps({"type": kind_text, "object": payload}).encode() + b"\n"

        seen = snapshot()  # a bad selector fails here, before the stream starts, as a Status
        since = first(query, "resourceVersion")
        self._start_stream("application/json", url.path, url.query)
        try:
            for obj in seen.values():
                if since in (None, "", "0") or int(obj["metadata"]["resourceVersion"]) > int(since or 0):
                    self._chunk(event("ADDED", obj))
            timeout = float(first(query, "timeoutSeconds") or _WATCH_LIMIT)
            deadline = time.monotonic() + min(timeout, _WATCH_LIMIT)
            while time.monotonic() < deadline and not self.server.stopping.is_set():
                if self._client_gone(_WATCH_POLL):
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

    def logs(self, target: Target, query: dict[str, list[str]], url: Any) -> None:
        """``pods/{name}/log``: the container's output as text (what it printed since it started)."""
        pod = self.server.state.get(target.kind, target.namespace or "", target.name or "")
        container = pick_container(pod, first(query, "container"))
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
        tail = first(query, "tailLines")
        if tail is not None and tail.isdigit():
            lines = lines[-int(tail) :] if int(tail) else []
        data = "".join(line + "\n" for line in lines).encode()
        self.record("GET", url.path, url.query, 200, True)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
