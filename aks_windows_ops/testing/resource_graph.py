"""Azure Resource Graph for the simulator: ``POST /providers/Microsoft.ResourceGraph/resources``.

Answers the queries of the real ``azure-mgmt-resourcegraph`` client (``ResourceGraphClient.resources``) from the
same state the simulated ARM serves, so a fleet read through Resource Graph and one through ARM see the same
clusters, scale sets and instances (the real service lags ARM by seconds to minutes; the simulator does not).

Tables: ``Resources`` holds managed clusters (their ``properties`` carry ``agentPoolProfiles``) and scale sets
(``properties.virtualMachineProfile.licenseType``); ``ComputeResources`` holds scale-set VMs
(``properties.licenseType``, per instance). Each row has the service's columns: ``id``, ``name``, ``type`` (lower
case), ``location``, ``resourceGroup`` (lower case), ``subscriptionId``, ``tags``, ``sku``, ``identity``,
``properties``.

The query language subset (anything else is refused with ``400 BadRequest`` naming what is not supported, so
that the library cannot silently depend on more than the simulator checks):

- the first line names the table: ``Resources`` or ``ComputeResources``;
- ``where A op V [and A op V ...]`` with ``op`` one of ``=~`` (case-insensitive equal), ``==`` (equal), ``in~``
  (case-insensitive membership of a parenthesised list of string literals), and ``A`` a column or a dotted path
  into one (``properties.windowsProfile.licenseType``, ``tags['aks-managed-poolName']``);
- ``project`` of columns or paths, each optionally ``alias = path``;
- ``extend alias = path`` (nested properties brought up as columns);
- ``order by path [asc|desc], ...`` (descending by default, as in the query language).

Paging and limits, as "Guidance for throttled requests in Azure Resource Graph" (learn.microsoft.com) describes:
``options.$top`` rows per page (at most 1,000; 100 by default), ``$skipToken`` in the response while rows remain;
a per-user quota of ``quota`` queries per ``window`` seconds (15 per 5 s by default) reported on every response as
``x-ms-user-quota-remaining`` and ``x-ms-user-quota-resets-after`` (``hh:mm:ss``), a query over the quota answered
``429`` with the same headers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from azure.core.rest import HttpRequest

from aks_windows_ops.testing._http import FakeResponse

__all__ = ["QueryNotSupported", "ResourceGraph", "answer", "evaluate"]

_TABLES = ("resources", "computeresources")
_PATH = r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*|\[\s*'[^']*'\s*\]|\[\s*\"[^\"]*\"\s*\])*"
_COND = re.compile(rf"^\s*(?P<path>{_PATH})\s*(?P<op>=~|==|in~)\s*(?P<value>.+?)\s*$", re.DOTALL)
_ASSIGN = re.compile(rf"^\s*(?:(?P<alias>[A-Za-z_]\w*)\s*=\s*)?(?P<path>{_PATH})\s*$")
_ORDER = re.compile(rf"^\s*(?P<path>{_PATH})(?:\s+(?P<dir>asc|desc))?\s*$", re.IGNORECASE)
_STRING = re.compile(r"^'((?:[^'\\]|\\.)*)'$|^\"((?:[^\"\\]|\\.)*)\"$", re.DOTALL)
_SUPPORTED = (
    "Resources or ComputeResources, then where (=~, ==, in~ joined by 'and'), project, extend, order by"
)


class QueryNotSupported(ValueError):
    """The query uses something outside the simulator's documented subset of the query language."""


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside quotes and brackets."""
    out, cur, quote, depth, i = [], [], "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            cur.append(ch)
            if ch == "\\" and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch in "([":
            depth += 1
            cur.append(ch)
        elif ch in ")]":
            depth -= 1
            cur.append(ch)
        elif depth == 0 and text.startswith(sep, i):
            out.append("".join(cur))
            cur = []
            i += len(sep)
            continue
        else:
            cur.append(ch)
        i += 1
    if quote:
        raise QueryNotSupported("unterminated string literal")
    out.append("".join(cur))
    return out


def _path_parts(path: str) -> list[str]:
    parts: list[str] = []
    for m in re.finditer(r"([A-Za-z_]\w*)|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]", path):
        parts.append(m.group(1) or m.group(2) or m.group(3) or "")
    return parts


def _resolve(row: dict[str, Any], path: str) -> Any:
    cur: Any = row
    for key in _path_parts(path):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def _literal(text: str) -> str:
    m = _STRING.match(text.strip())
    if m is None:
        raise QueryNotSupported(f"expected a string literal, got {text.strip()!r}")
    value = m.group(1) if m.group(1) is not None else m.group(2)
    return re.sub(r"\\(.)", r"\1", value)


def _condition(text: str) -> Callable[[dict[str, Any]], bool]:
    m = _COND.match(text)
    if m is None:
        raise QueryNotSupported(
            f"unsupported condition {text.strip()!r} (supported: path =~ 'x', ==, in~ (...))"
        )
    path, op, value = m.group("path"), m.group("op"), m.group("value")
    if op == "in~":
        inner = value.strip()
        if not (inner.startswith("(") and inner.endswith(")")):
            raise QueryNotSupported(f"in~ needs a parenthesised list, got {value.strip()!r}")
        items = {_literal(v).lower() for v in _split(inner[1:-1], ",") if v.strip()}
        return lambda row: isinstance(_resolve(row, path), str) and _resolve(row, path).lower() in items
    literal = _literal(value)
    if op == "=~":
        low = literal.lower()
        return lambda row: isinstance(_resolve(row, path), str) and _resolve(row, path).lower() == low
    return lambda row: _resolve(row, path) == literal


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))


def _by(path: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda row: _sort_key(_resolve(row, path))


def evaluate(query: str, rows_of: Callable[[str], Iterable[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run a query of the documented subset (module docstring) over the rows of its table.

    Args:
        query: the query text.
        rows_of: the rows of a table, by lower-case table name.

    Raises:
        QueryNotSupported: the query uses anything outside the subset.
    """
    stages = [s.strip() for s in _split(query, "|")]
    table = stages[0].strip()
    if table.lower() not in _TABLES:
        raise QueryNotSupported(f"unknown table {table!r}; the simulator has Resources and ComputeResources")
    rows: list[dict[str, Any]] | None = None
    source = rows_of(table.lower())
    for stage in stages[1:]:
        word, _, rest = stage.partition(" ")
        word = word.lower()
        if word == "where":
            tests = [_condition(c) for c in re.split(r"\s+and\s+", rest) if c.strip()]
            if re.search(r"\s+or\s+", rest):
                raise QueryNotSupported("'or' is not supported in where")
            rows = [r for r in (source if rows is None else rows) if all(t(r) for t in tests)]
            continue
        current = list(source) if rows is None else rows
        if word in ("project", "extend"):
            fields = []
            for item in _split(rest, ","):
                m = _ASSIGN.match(item)
                if m is None:
                    raise QueryNotSupported(f"unsupported {word} item {item.strip()!r}")
                path = m.group("path")
                alias = m.group("alias") or _path_parts(path)[-1]
                if word == "extend" and not m.group("alias"):
                    raise QueryNotSupported(f"extend needs 'name = path', got {item.strip()!r}")
                fields.append((alias, path))
            if word == "project":
                rows = [{alias: _resolve(r, path) for alias, path in fields} for r in current]
            else:
                rows = [{**r, **{alias: _resolve(r, path) for alias, path in fields}} for r in current]
            continue
        if word == "order" and rest.lower().startswith("by "):
            keys = []
            for item in _split(rest[3:], ","):
                m = _ORDER.match(item)
                if m is None:
                    raise QueryNotSupported(f"unsupported order by item {item.strip()!r}")
                keys.append((m.group("path"), (m.group("dir") or "desc").lower() == "desc"))
            for path, descending in reversed(keys):  # stable sorts, last key first
                current = sorted(current, key=_by(path), reverse=descending)
            rows = current
            continue
        raise QueryNotSupported(f"unsupported operator {word!r}; the simulator supports {_SUPPORTED}")
    return list(source) if rows is None else rows


def _hms(seconds: float) -> str:
    s = max(0, math.ceil(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class ResourceGraph:
    """The simulator's Resource Graph settings and quota window; ``ResourceGraph().install(fake)``.

    Args:
        quota: queries allowed per window for the (single) simulated principal.
        window: the window's length in seconds.
        clock: seconds; the simulator's virtual clock by default (real time in a benchmark: ``time.monotonic``).
        default_top: rows per page when the request gives no ``$top``.
        page_limit: the most rows a page holds whatever ``$top`` asks (the service's 1,000 by default; smaller
            to make a small fleet span several pages).

    Attributes:
        queries: queries answered (not throttled).
        throttled: queries refused with 429.
        texts: the query texts seen, in order.
    """

    max_top = 1000

    def __init__(
        self,
        *,
        quota: int = 15,
        window: float = 5.0,
        clock: Callable[[], float] | None = None,
        default_top: int = 100,
        page_limit: int = 1000,
    ) -> None:
        self.quota = quota
        self.window = window
        self.clock = clock
        self.default_top = default_top
        self.page_limit = page_limit
        self._lock = threading.Lock()
        self._window_start: float | None = None
        self._used = 0
        self.queries = 0
        self.throttled = 0
        self.texts: list[str] = []
        self._results: dict[str, list[dict[str, Any]]] = {}

    def install(self, fake: Any) -> ResourceGraph:
        """Make this the simulator's Resource Graph and return it."""
        fake.resource_graph = self
        return self

    def admit(self, now: float) -> tuple[bool, int, float]:
        """Spend one query of the window's quota: ``(admitted, remaining, seconds until the window resets)``."""
        with self._lock:
            if self._window_start is None or now >= self._window_start + self.window:
                self._window_start = now
                self._used = 0
            resets = self._window_start + self.window - now
            if self._used >= self.quota:
                self.throttled += 1
                return False, 0, resets
            self._used += 1
            self.queries += 1
            return True, self.quota - self._used, resets


_TYPE_FILTER = re.compile(r"^\s*where\s+type\s*(?:=~|==)\s*'([^']*)'\s*(?:$|and\s)", re.IGNORECASE)
_CLUSTER_TYPE = "microsoft.containerservice/managedclusters"
_VMSS_TYPE = "microsoft.compute/virtualmachinescalesets"


def _kinds(query: str) -> set[str] | None:
    """The resource types a query's first ``where type =~ '...'`` keeps (``None``: any).

    Rows of other types need not be built at all (the ``where`` still runs on the rows that are).
    """
    stages = _split(query, "|")
    if len(stages) < 2:
        return None
    m = _TYPE_FILTER.match(stages[1])
    return {m.group(1).lower()} if m else None


def _rows(
    fake: Any, table: str, subscriptions: set[str] | None, kinds: set[str] | None = None
) -> list[dict[str, Any]]:
    def wanted(sub: str) -> bool:
        return subscriptions is None or sub.lower() in subscriptions

    out: list[dict[str, Any]] = []
    if table == "resources":
        for cluster in list(fake.clusters.values()) if kinds is None or _CLUSTER_TYPE in kinds else []:
            if not wanted(cluster.subscription):
                continue
            view = fake._cluster_view(cluster)
            out.append(
                {
                    "id": view.get("id"),
                    "name": view.get("name"),
                    "type": "microsoft.containerservice/managedclusters",
                    "location": view.get("location"),
                    "resourceGroup": cluster.resource_group.lower(),
                    "subscriptionId": cluster.subscription,
                    "tags": view.get("tags") or {},
                    "sku": view.get("sku"),
                    "identity": view.get("identity"),
                    "properties": view.get("properties") or {},
                }
            )
        for (sub, rg, _name), vmss in list(fake.vmss.items()) if kinds is None or _VMSS_TYPE in kinds else []:
            if wanted(sub):
                out.append(_row(vmss, "microsoft.compute/virtualmachinescalesets", sub, rg))
    else:
        for (sub, rg, _name), vms in list(fake.vms.items()):
            if wanted(sub):
                out.extend(
                    _row(vm, "microsoft.compute/virtualmachinescalesets/virtualmachines", sub, rg)
                    for vm in vms.values()
                )
    return out


def _row(body: dict[str, Any], kind: str, sub: str, rg: str) -> dict[str, Any]:
    # No copy: a page is serialised to JSON as it is answered, and the rows are never changed.
    return {
        "id": body.get("id"),
        "name": body.get("name"),
        "type": kind,
        "location": body.get("location"),
        "resourceGroup": rg.lower(),
        "subscriptionId": sub,
        "tags": body.get("tags") or {},
        "sku": body.get("sku"),
        "identity": body.get("identity"),
        "properties": body.get("properties") or {},
    }


class _GraphResponse(FakeResponse):
    """A response that also offers the ``body()`` of azure-core's compatibility layer.

    Older generated SDKs, such as the Resource Graph client's serializer, read the body through it.
    """

    def body(self) -> bytes:
        return self.content


def _error(
    request: HttpRequest, status: int, code: str, message: str, headers: dict[str, str]
) -> FakeResponse:
    return _GraphResponse(request, status, {"error": {"code": code, "message": message}}, headers)


def answer(fake: Any, request: HttpRequest, method: str, rest: list[str], body: Any) -> FakeResponse:
    """Serve ``/providers/Microsoft.ResourceGraph/{rest}`` for the simulator (``rest`` in lower case)."""
    if rest != ["resources"] or method != "POST":
        return _error(
            request, 404, "InvalidResourceType", f"The simulator has no Resource Graph route {rest}", {}
        )
    graph: ResourceGraph = getattr(fake, "resource_graph", None) or ResourceGraph().install(fake)
    now = graph.clock() if graph.clock is not None else fake.clock.now()
    admitted, remaining, resets = graph.admit(now)
    headers = {"x-ms-user-quota-remaining": str(remaining), "x-ms-user-quota-resets-after": _hms(resets)}
    if not admitted:
        return _error(
            request,
            429,
            "RateLimiting",
            "Please provide below info when asking for support: the request was throttled by the user quota.",
            headers,
        )
    body = body if isinstance(body, dict) else {}
    query = str(body.get("query") or "")
    options = body.get("options") or {}
    graph.texts.append(query)
    if str(options.get("resultFormat") or "objectArray") != "objectArray":
        return _error(
            request, 400, "BadRequest", "the simulator answers only resultFormat objectArray", headers
        )
    top = options.get("$top", graph.default_top)
    if not isinstance(top, int) or not 1 <= top <= graph.max_top:
        return _error(request, 400, "BadRequest", f"$top must be between 1 and {graph.max_top}", headers)
    top = min(top, graph.page_limit)
    subscriptions = body.get("subscriptions")
    scope = {str(s).lower() for s in subscriptions} if subscriptions else None
    fingerprint = hashlib.sha256(json.dumps([query, sorted(scope or [])]).encode()).hexdigest()[:16]
    offset = 0
    token = options.get("$skipToken")
    if token:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()).decode())
            offset, seen = int(decoded["o"]), str(decoded["f"])
        except (ValueError, KeyError, TypeError):
            return _error(request, 400, "BadRequest", "$skipToken is not valid", headers)
        if seen != fingerprint:
            return _error(request, 400, "BadRequest", "$skipToken belongs to another query", headers)
    # The pages of one query come from one evaluation (the service pages a consistent result).
    rows = graph._results.get(fingerprint) if offset else None
    if rows is None:
        try:
            kinds = _kinds(query)
            rows = evaluate(query, lambda table: _rows(fake, table, scope, kinds))
        except QueryNotSupported as err:
            return _error(
                request, 400, "BadRequest", f"Query is invalid: {err}. Supported: {_SUPPORTED}.", headers
            )
        graph._results[fingerprint] = rows
    page = rows[offset : offset + top]
    out: dict[str, Any] = {
        "totalRecords": len(rows),
        "count": len(page),
        "resultTruncated": "false",
        "facets": [],
        "data": page,
    }
    if offset + top >= len(rows):
        graph._results.pop(fingerprint, None)
    else:
        out["$skipToken"] = base64.urlsafe_b64encode(
            json.dumps({"o": offset + top, "f": fingerprint}).encode()
        ).decode()
    return _GraphResponse(request, 200, out, headers)
