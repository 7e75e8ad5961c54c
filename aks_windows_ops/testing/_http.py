"""Plumbing for the ARM emulator: an azure-core response type, a virtual clock, faults and the journal."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.utils import case_insensitive_dict

from aks_windows_ops.limits import compile_path_pattern

__all__ = ["DEFAULT_EPOCH", "FakeResponse", "Fault", "JournalEntry", "SimulatedCrash", "VirtualClock"]

#: The simulated date and time at virtual second 0 unless a scenario or test says otherwise.
DEFAULT_EPOCH = datetime(2026, 11, 26, 8, 0, 0, tzinfo=timezone.utc)

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class SimulatedCrash(BaseException):
    """Raised by a ``crash`` fault: the process "dies" at that point (tests catch it and re-run).

    It derives from ``BaseException`` so that no ``except Exception`` in the library can swallow it.
    """


class VirtualClock:
    """A virtual clock (implements :class:`~aks_windows_ops.clock.Clock`): :meth:`sleep` advances it.

    The Azure SDK's poller and retry policy wait through the transport's ``sleep()``, and everything else that
    waits in a rehearsal (drains, replacement checks, the runner's time budget, the Kubernetes controllers'
    delays) waits on this clock, so a 14-minute operation or a 10-minute blocked drain costs milliseconds of
    real time while still reporting 14 or 10 minutes.

    Args:
        start: virtual seconds already elapsed (what :meth:`monotonic` returns at first).
        epoch: the date and time at virtual second 0 (UTC; a naive value is taken as UTC).
        record: keep every wait in :attr:`sleeps` (for tests that check how a caller waited).
    """

    def __init__(self, start: float = 0.0, *, epoch: datetime | None = None, record: bool = False) -> None:
        self._now = float(start)
        self._record = record
        #: Every :meth:`sleep`, in order, when built with ``record=True``.
        self.sleeps: list[float] = []
        epoch = epoch or DEFAULT_EPOCH
        self.epoch = epoch if epoch.tzinfo else epoch.replace(tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Return the virtual seconds elapsed since the epoch."""
        with self._lock:
            return self._now

    def now(self) -> datetime:
        """Return the virtual date and time (UTC): the epoch plus :meth:`monotonic` seconds."""
        return self.epoch + timedelta(seconds=self.monotonic())

    def advance(self, seconds: float) -> float:
        """Move time forward (never backwards) and return the new :meth:`monotonic` reading."""
        with self._lock:
            self._now += max(float(seconds), 0.0)
            return self._now

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` instead of waiting."""
        if self._record:
            with self._lock:
                self.sleeps.append(seconds)
        self.advance(seconds)

    __call__ = monotonic


@dataclass
class Fault:
    """A scripted fault (Service facts: ARM behaviour and design notes, "The simulator").

    Attributes:
        kind: ``throttle`` (429 + Retry-After), ``error`` (``status``, default 503), ``reset`` (connection
            reset), ``fail_operation`` (the next operation started by a matching request ends Failed with
            ``code``/``message``), ``stuck`` (that operation never finishes until aborted), ``crash_before`` /
            ``crash_after`` (raise :class:`SimulatedCrash` before the request is processed, or after it was
            applied but before the caller hears back), ``reset_after`` (the request is applied, then the
            connection resets before the response arrives: a lost response).
        method: HTTP method to match (any when ``None``).
        path: regular expression searched in the URL path (any when ``None``), from the linear-time subset
            that ``aks_windows_ops.limits.compile_path_pattern`` accepts.
        times: how many matching requests it affects (``0`` = every one).
        skip: let this many matching requests through first.
        status: the HTTP status for ``error``.
        retry_after: seconds for ``throttle`` (and ``error`` 503 when set).
        code: ARM error code for ``fail_operation``/``error``.
        message: ARM error message.
    """

    kind: str
    method: str | None = None
    path: str | None = None
    times: int = 1
    skip: int = 0
    status: int = 503
    retry_after: float | None = None
    code: str = "InternalServerError"
    message: str = "An internal error occurred."
    hits: int = field(default=0, init=False)
    seen: int = field(default=0, init=False)

    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Refuses patterns that could backtrack for ever (docs/security.md).
        self._pattern = None if self.path is None else compile_path_pattern(self.path)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request matches; counts it and honours ``skip`` and ``times``."""
        if self.method and self.method.upper() != method.upper():
            return False
        if self._pattern is not None and not self._pattern.search(path):
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass(frozen=True)
class JournalEntry:
    """One request the emulator received.

    Attributes:
        seq: order of arrival.
        time: virtual time when it arrived.
        method: HTTP method.
        path: URL path (no query).
        status: the status answered (0 when the request raised).
        kind: ``read``, ``write`` or ``poll`` (operation status / result polls).
        body: the JSON request body with any ``adminPassword`` masked.
    """

    seq: int
    time: float
    method: str
    path: str
    status: int
    kind: str
    body: Any = None

    @property
    def is_write(self) -> bool:
        """Whether the request changed (or tried to change) state."""
        return self.kind == "write"


class FakeResponse(HttpResponse):
    """A complete ``azure.core.rest.HttpResponse`` served from memory."""

    def __init__(
        self,
        request: HttpRequest,
        status_code: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._request = request
        self._status_code = status_code
        if body is None:
            self._content = b""
        elif isinstance(body, bytes):
            self._content = body
        else:
            self._content = json.dumps(body).encode("utf-8")
        hdrs: dict[str, str] = {"x-ms-request-id": "00000000-0000-0000-0000-000000000000"}
        if self._content:
            hdrs["Content-Type"] = "application/json; charset=utf-8"
        hdrs["Content-Length"] = str(len(self._content))
        hdrs.update(headers or {})
        self._headers: MutableMapping[str, str] = case_insensitive_dict(hdrs)
        self._closed = False
        self._consumed = False

    @property
    def request(self) -> HttpRequest:
        return self._request

    @property
    def status_code(self) -> int:
        return self._status_code

    @property
    def headers(self) -> MutableMapping[str, str]:
        return self._headers

    @property
    def reason(self) -> str:
        return _REASONS.get(self._status_code, "Unknown")

    @property
    def content_type(self) -> str | None:
        return self._headers.get("Content-Type")

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def is_stream_consumed(self) -> bool:
        return self._consumed

    @property
    def encoding(self) -> str | None:
        return "utf-8"

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        pass

    @property
    def url(self) -> str:
        return self._request.url

    @property
    def content(self) -> bytes:
        return self._content

    def text(self, encoding: str | None = None) -> str:
        return self._content.decode(encoding or "utf-8")

    def json(self) -> Any:
        return json.loads(self._content) if self._content else None

    def raise_for_status(self) -> None:
        if self._status_code >= 400:
            raise HttpResponseError(response=self)

    def read(self) -> bytes:
        self._consumed = True
        return self._content

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        self._consumed = True
        yield self._content

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        self._consumed = True
        yield self._content

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()
