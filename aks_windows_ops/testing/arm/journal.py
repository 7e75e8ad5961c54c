"""The request journal: every request the simulator served, with secrets masked, for assertions."""

from __future__ import annotations

import json
import re
from typing import Any

from azure.core.rest import HttpRequest

from aks_windows_ops.testing._http import JournalEntry
from aks_windows_ops.testing.arm.state import ArmState


def mask(body: Any) -> Any:
    """Copy a JSON body with every ``adminPassword`` masked (the journal must never hold a secret)."""
    if isinstance(body, dict):
        return {k: ("***" if k.lower() == "adminpassword" else mask(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [mask(v) for v in body]
    return body


def request_body(request: HttpRequest) -> Any:
    """The request's JSON body, or ``None`` when it has none."""
    raw = request.content
    if raw is None:
        return None
    if isinstance(raw, (bytes, bytearray)):
        text = raw.decode("utf-8")
    elif isinstance(raw, str):
        text = raw
    else:
        return None
    return json.loads(text) if text.strip() else None


def classify(method: str, path: str) -> str:
    """``poll``, ``read`` or ``write``: how ARM counts a request (reads and writes have separate limits)."""
    low = path.lower()
    if "/operations/" in low or "/operationresults/" in low:
        return "poll"
    if (
        method == "GET"
        or low.startswith("/providers/microsoft.resourcegraph/")
        or (method == "POST" and ("/listcluster" in low or low.endswith("/listcredential")))
    ):
        return "read"
    return "write"


class Journal(ArmState):
    """Records requests and answers questions about them."""

    def requests(
        self, *, kind: str | None = None, method: str | None = None, path: str | None = None
    ) -> list[JournalEntry]:
        """Return journaled requests filtered by kind (read/write/poll), method and a path regex."""
        out = []
        for e in list(self.journal):
            if kind and e.kind != kind:
                continue
            if method and e.method != method.upper():
                continue
            if path and not re.search(path, e.path, flags=re.IGNORECASE):
                continue
            out.append(e)
        return out

    def writes(self) -> list[JournalEntry]:
        """Return every journaled write (PUT, PATCH, DELETE and state-changing POST)."""
        return self.requests(kind="write")

    def clear_journal(self) -> None:
        """Forget the journal (between phases of a test)."""
        with self._lock:
            self.journal.clear()

    def _record(self, method: str, path: str, status: int, kind: str, body: Any) -> None:
        self._seq += 1
        self.journal.append(
            JournalEntry(self._seq, self.clock.monotonic(), method, path, status, kind, mask(body))
        )
