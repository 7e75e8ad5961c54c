"""Replay the management requests of a recorded ``az aks`` session into FakeAzure and compare the answers."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from azure.core.rest import HttpRequest

from aks_windows_ops.testing import catalog
from aks_windows_ops.testing.fake_azure import FakeAzure

SHARED = Path(__file__).resolve().parents[2] / "shared" / "cassettes"
LOCAL = Path(__file__).resolve().parent / "cassettes"
CASSETTE_DIR = LOCAL if LOCAL.is_dir() else SHARED

#: Maps whose keys are data, not field names (labels, tags, per-plugin settings).
MAP_FIELDS = {
    "nodeLabels",
    "tags",
    "controlPlanePluginProfiles",
    "addonProfiles",
    "patchVersions",
    "capabilities",
}
#: Fields the 2025-09 preview API recorded that the simulator leaves out, with the reason (see the note).
PREVIEW_ONLY = {
    "upgradeSettingsBlueGreen",
    "nodeInitializationTaints",
    "podLinkLocalAccess",
    "controlPlanePluginProfiles",
}


#: Values that do not change from one recording to the next (ids, times, image dates and the like do).
STABLE_VALUES = (
    "osType",
    "osSKU",
    "mode",
    "count",
    "maxPods",
    "type",
    "enableAutoScaling",
    "licenseType",
    "networkPlugin",
    "outboundType",
    "orchestratorVersion",
    "currentOrchestratorVersion",
    "kubernetesVersion",
    "currentKubernetesVersion",
)


#: Recorded behaviours the simulator does not follow yet, with the reason; reported, not failed. Empty: the
#: current-version fields that used to be listed here now report the target as soon as an upgrade starts.
KNOWN_DIVERGENCES: dict[str, str] = {}


def _standard(statuses: list[str]) -> list[str]:
    """Only the ARM operation statuses: progress texts ("CreatingAgentPool: 0/1 ...") depend on when one polls."""
    return _deduped([s for s in statuses if s in ("InProgress", "Succeeded", "Failed", "Canceled")])


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    rest = iter(long)
    return all(any(item == other for other in rest) for item in short)


def pool_states(body: Any) -> dict[str, str]:
    """Provisioning state of each pool in a cluster body (``agentPoolProfiles``), by pool name."""
    props = (body or {}).get("properties") or {}
    return {
        str(p.get("name")): str(p.get("provisioningState"))
        for p in props.get("agentPoolProfiles") or []
        if isinstance(p, dict) and p.get("provisioningState")
    }


def stable_values(body: Any, prefix: str = "") -> dict[str, Any]:
    """The :data:`STABLE_VALUES` of a body, keyed by path (pools by name)."""
    out: dict[str, Any] = {}
    if isinstance(body, dict):
        for key, value in body.items():
            if key in MAP_FIELDS or key in PREVIEW_ONLY:
                continue
            path = f"{prefix}.{key}" if prefix else key
            if key in STABLE_VALUES and not isinstance(value, (dict, list)):
                out[path] = value
            elif isinstance(value, list):
                for item in value:
                    name = item.get("name") if isinstance(item, dict) else None
                    if name is not None:
                        out.update(stable_values(item, f"{path}[{name}]"))
            else:
                out.update(stable_values(value, path))
    return out


def _deduped(states: list[str]) -> list[str]:
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


@dataclass
class Mismatch:
    index: int
    request: str
    problem: str


@dataclass
class Timing:
    """How long one operation took: in the recording and in the simulator (seconds, to the first terminal poll)."""

    index: int
    request: str
    recorded: float
    simulated: float


#: A simulated duration may be at most this many times longer or shorter than the recorded one ...
DURATION_FACTOR = 3.0
#: ... or differ from it by at most this many seconds (three 30-second poll intervals), whichever allows more.
DURATION_FLOOR = 90.0


def durations_agree(recorded: float, simulated: float) -> bool:
    """Whether a simulated duration is within the stated tolerance of the recorded one.

    Both are measured the same way, from the write to the first poll that saw a terminal status, so each is
    known only to one poll interval (30 s in the recordings and in the replay). Real AKS durations vary a lot
    from run to run: the same cluster create took from 4 to 23 minutes across these recordings. Hence a factor
    of three either way, with a floor of three poll intervals: a 13-minute recording fails a simulator that
    finishes in 2 minutes.
    """
    if abs(simulated - recorded) <= DURATION_FLOOR:
        return True
    return recorded / DURATION_FACTOR <= simulated <= recorded * DURATION_FACTOR


@dataclass
class Outcome:
    compared: int = 0
    operations: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    known: list[Mismatch] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)


def field_paths(body: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            if key in MAP_FIELDS or key in PREVIEW_ONLY:
                continue
            out |= field_paths(value, path)
    elif isinstance(body, list):
        for item in body:
            out |= field_paths(item, prefix + "[]")
    return out


def is_management(method: str, path: str) -> bool:
    low = path.lower()
    if "/operations/" in low or "/operationresults/" in low:
        return False
    return "microsoft.containerservice" in low


def load(name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((CASSETTE_DIR / name).read_text())
    return list(data["interactions"])


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def replay(name: str, *, durations: dict[str, float] | None = None) -> Outcome:
    """Send a recording's management requests to a new simulator and compare each answer with the recorded one.

    ``durations`` overrides the simulator's operation durations (to check that the comparison notices).
    """
    interactions = load(name)
    versions: set[str] = set()
    for it in interactions:
        for m in re.finditer(
            r'"(?:kubernetesVersion|orchestratorVersion|currentKubernetesVersion)":\s*"(\d+\.\d+\.\d+)"',
            (it["response"]["body"] or {}).get("string") or "",
        ):
            versions.add(m.group(1))
    fake = FakeAzure(today=dt.date(2026, 6, 20), durations=durations)
    for it in interactions:
        if (
            it["request"]["method"] == "PUT"
            and it["response"]["status"]["code"] == 201
            and "/agentPools/" not in it["request"]["uri"]
        ):
            created = _json((it["response"].get("body") or {}).get("string")) or {}
            fake.default_kubernetes_version = (created.get("properties") or {}).get("kubernetesVersion")
            break
    fake.kubernetes_versions = sorted(set(fake.kubernetes_versions) | versions, key=catalog.parse_version)
    outcome = Outcome()
    for i, it in enumerate(interactions):
        req, rec = it["request"], it["response"]
        path = urlsplit(req["uri"]).path
        if not is_management(req["method"], path):
            continue
        if req["method"] == "POST" and path.lower().endswith("upgradenodeimageversion"):
            # Time passes between the recording's steps: a newer node image has been released since creation.
            fake.clock.advance(40 * 86400)
        body = req.get("body")
        request = HttpRequest(
            req["method"],
            req["uri"],
            content=body.encode() if isinstance(body, str) else None,
            headers={"Content-Type": "application/json"} if body else None,
        )
        resp = fake.send(request)
        outcome.compared += 1
        where = f"{req['method']} {path.split('/providers/')[-1]}"
        want = rec["status"]["code"]
        if resp.status_code != want:
            outcome.mismatches.append(
                Mismatch(i, where, f"status {resp.status_code} != recorded {want}: {resp.text()[:200]}")
            )
            continue
        rec_headers = {k.lower() for k in rec["headers"]}
        got_headers = {k.lower() for k in resp.headers}
        for header in ("azure-asyncoperation", "location"):
            if header in rec_headers and header not in got_headers:
                outcome.mismatches.append(Mismatch(i, where, f"missing header {header}"))
            if header in got_headers and header not in rec_headers and want < 300:
                outcome.mismatches.append(Mismatch(i, where, f"header {header} the service did not send"))
        rec_body = _json((rec.get("body") or {}).get("string"))
        got = resp.json() if resp.content else None
        if isinstance(rec_body, dict) and isinstance(got, dict):
            rec_state = (rec_body.get("properties") or {}).get("provisioningState")
            got_state = (got.get("properties") or {}).get("provisioningState")
            if rec_state and rec_state != got_state:
                outcome.mismatches.append(
                    Mismatch(i, where, f"provisioningState {got_state} != recorded {rec_state}")
                )
            rec_pools, got_pools = pool_states(rec_body), pool_states(got)
            for pool, state in rec_pools.items():
                if pool in got_pools and got_pools[pool] != state:
                    outcome.mismatches.append(
                        Mismatch(
                            i, where, f"pool {pool} provisioningState {got_pools[pool]} != recorded {state}"
                        )
                    )
            rec_values, got_values = stable_values(rec_body), stable_values(got)
            differ = []
            for k, v in sorted(rec_values.items()):
                if k in got_values and str(got_values[k]).lower() != str(v).lower():
                    text = f"{k}: {got_values[k]!r} != recorded {v!r}"
                    if k.rsplit(".", 1)[-1] in KNOWN_DIVERGENCES:
                        outcome.known.append(Mismatch(i, where, text))
                    else:
                        differ.append(text)
            if differ:
                outcome.mismatches.append(Mismatch(i, where, f"values differ: {differ[:8]}"))
            missing = sorted(
                p
                for p in field_paths(rec_body) - field_paths(got)
                if p.split(".")[-1].split("[")[0] not in PREVIEW_ONLY
            )
            if missing:
                outcome.mismatches.append(Mismatch(i, where, f"fields missing: {missing[:12]}"))
        op_url = resp.headers.get("Azure-AsyncOperation")
        if op_url:
            recorded = _recorded_statuses(interactions, i)
            if not recorded or recorded[-1] not in ("Succeeded", "Failed", "Canceled"):
                continue  # the recording did not wait (--no-wait): neither do we
            started = fake.clock.monotonic()
            statuses = _drive(fake, op_url)
            simulated = fake.clock.monotonic() - started
            outcome.operations += 1
            recorded_s = _recorded_duration(interactions, i)
            if recorded_s is not None:
                outcome.timings.append(Timing(i, where, recorded_s, simulated))
                if not durations_agree(recorded_s, simulated):
                    outcome.mismatches.append(
                        Mismatch(
                            i,
                            where,
                            f"operation took {simulated:.0f} s, recorded {recorded_s:.0f} s "
                            f"(tolerance: a factor of {DURATION_FACTOR:g} or {DURATION_FLOOR:.0f} s)",
                        )
                    )
            if statuses[-1] != recorded[-1]:
                outcome.mismatches.append(
                    Mismatch(i, where, f"operation ended {statuses[-1]}, recorded {recorded[-1]}")
                )
            elif not _is_subsequence(_standard(statuses), _standard(recorded)):
                outcome.mismatches.append(
                    Mismatch(i, where, f"operation statuses {statuses} != recorded {recorded}")
                )
    return outcome


def _recorded_statuses(interactions: list[dict[str, Any]], index: int) -> list[str]:
    """The statuses the recording's polls of one operation saw, in order, repeats removed."""
    url = None
    for k, v in interactions[index]["response"]["headers"].items():
        if k.lower() == "azure-asyncoperation":
            url = v[0]
    if not url:
        return []
    op_path = urlsplit(url).path
    seen: list[str] = []
    for it in interactions[index + 1 :]:
        if urlsplit(it["request"]["uri"]).path == op_path:
            body = _json((it["response"].get("body") or {}).get("string"))
            if isinstance(body, dict) and body.get("status"):
                seen.append(str(body["status"]))
    return _deduped(seen)


def _date(interaction: dict[str, Any]) -> dt.datetime | None:
    for k, v in interaction["response"]["headers"].items():
        if k.lower() == "date":
            return email.utils.parsedate_to_datetime(v[0] if isinstance(v, list) else str(v))
    return None


def _recorded_duration(interactions: list[dict[str, Any]], index: int) -> float | None:
    """Seconds from the recorded write to the first recorded poll of its operation with a terminal status."""
    url = None
    for k, v in interactions[index]["response"]["headers"].items():
        if k.lower() == "azure-asyncoperation":
            url = v[0]
    began = _date(interactions[index])
    if not url or began is None:
        return None
    op_path = urlsplit(url).path
    for it in interactions[index + 1 :]:
        if urlsplit(it["request"]["uri"]).path != op_path:
            continue
        body = _json((it["response"].get("body") or {}).get("string"))
        if isinstance(body, dict) and body.get("status") in ("Succeeded", "Failed", "Canceled"):
            ended = _date(it)
            return None if ended is None else (ended - began).total_seconds()
    return None


def _drive(fake: FakeAzure, url: str) -> list[str]:
    """Poll an operation of the simulator to its end; the statuses seen, in order, repeats removed."""
    seen: list[str] = []
    for _ in range(2000):
        body = fake.send(HttpRequest("GET", url)).json()
        seen.append(str(body["status"]))
        if body["status"] in ("Succeeded", "Failed", "Canceled"):
            return _deduped(seen)
        fake.sleep(30)
    return [*_deduped(seen), "Timeout"]


def cassette_names() -> list[str]:
    return sorted(p.name for p in CASSETTE_DIR.glob("test_*.yaml"))
