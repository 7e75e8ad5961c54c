"""Request plumbing shared by the simulator's loopback servers (the served ARM endpoint and the Kubernetes API).

Both are ``http.server`` servers on ``127.0.0.1``: one thread per connection, HTTP/1.1 keep-alive, TLS with this
process's private CA (:mod:`.kube.tls`) set up in the connection's own thread (a slow handshake never blocks
the accept loop), and quiet logs (tests read the servers' journals instead).
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LoopbackHandler", "LoopbackServer", "serve_in_thread"]


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP(S) server; with ``ssl_context`` every connection is wrapped in TLS in its handler thread."""

    daemon_threads = True
    # Keep-alive connections park handler threads on a read; joining them on close would hang the stop.
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(address, handler)
        self.ssl_context = ssl_context
        #: Set when the server stops; long-lived answers (watches) end when it is.
        self.stopping = threading.Event()

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:<port>`` (``http://`` without TLS)."""
        host, port = self.server_address[:2]
        return f"{'https' if self.ssl_context is not None else 'http'}://{host!s}:{port}"

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
        """Stop serving and end long-lived answers."""
        self.stopping.set()
        super().shutdown()


def serve_in_thread(server: LoopbackServer, name: str) -> threading.Thread:
    """Start ``server.serve_forever`` in a daemon thread (a short poll keeps ``shutdown`` fast)."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=name, daemon=True
    )
    thread.start()
    return thread


class LoopbackHandler(BaseHTTPRequestHandler):
    """Dispatches every method to :meth:`handle_method`; subclasses implement it."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms to every response.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the servers keep journals instead."""

    def handle_method(self, method: str) -> None:
        """Serve one request (implemented by each server's handler)."""
        raise NotImplementedError

    def do_GET(self) -> None:
        self.handle_method("GET")

    def do_HEAD(self) -> None:
        self.handle_method("HEAD")

    def do_POST(self) -> None:
        self.handle_method("POST")

    def do_PUT(self) -> None:
        self.handle_method("PUT")

    def do_PATCH(self) -> None:
        self.handle_method("PATCH")

    def do_DELETE(self) -> None:
        self.handle_method("DELETE")

    def read_body(self) -> bytes:
        """The request body (``Content-Length`` bytes; none without the header)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_body(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        content_type: str | None = "application/json",
    ) -> None:
        """Answer with ``body`` and ``headers`` (plus ``content_type`` unless they name one); no body for HEAD."""
        self.send_response(status)
        sent = {k.lower() for k in headers or {}}
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if content_type and "content-type" not in sent:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
