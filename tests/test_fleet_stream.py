"""Rows written as they complete: the same content as the finished report, without keeping every row."""

from __future__ import annotations

import json

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.fleet import audit
from aks_windows_ops.fleet.stream import CsvStream, JsonStream
from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS, load_scenario, read_scenario


def mixed() -> tuple[AzureClients, list[str]]:
    subscriptions = []
    for name in BUILTIN_SCENARIOS:
        subscriptions += read_scenario(name)["subscriptions"]
    fake = load_scenario({"name": "mixed", "subscriptions": subscriptions})
    fake.add_fault("error", path="aks-apps$", status=500, times=0)
    subs = list(dict.fromkeys(s for s, _rg, _n in fake.clusters))
    return AzureClients.for_simulator(fake, subs[0]), subs


def test_json_stream_holds_every_row_and_the_summary_of_the_full_report() -> None:
    clients, subs = mixed()
    full = audit(clients, subscriptions=subs, source="arm")
    out: list[str] = []
    stream = JsonStream(out.append)
    lean = audit(clients, subscriptions=subs, source="arm", on_row=stream, keep_rows=False)
    stream.close(lean)
    data = json.loads("".join(out))
    key = lambda r: (r["subscription"], r["cluster"])  # noqa: E731
    expected = sorted(json.loads(full.to_json())["rows"], key=key)
    assert sorted(data["rows"], key=key) == expected and stream.rows == len(full.rows) == 4
    # the lean report kept only the failed row, and its totals are those of the full report
    assert [r.cluster for r in lean.rows] == ["aks-apps"]
    for field in (
        "clusters",
        "failed",
        "windows_pools",
        "ws2019_exposed",
        "ahub_drift",
        "errors",
        "warnings",
    ):
        assert data["summary"][field] == full.summary()[field], field
    assert lean.exit_code == full.exit_code == 2


def test_csv_stream_writes_the_same_lines_as_the_report() -> None:
    clients, subs = mixed()
    full = audit(clients, subscriptions=subs, source="arm")
    out: list[str] = []
    stream = CsvStream(out.append)
    stream.close(audit(clients, subscriptions=subs, source="arm", on_row=stream, keep_rows=False))
    streamed = "".join(out).splitlines()
    expected = full.to_csv().splitlines()
    assert streamed[0] == expected[0] and sorted(streamed[1:]) == sorted(expected[1:])


def test_an_empty_audit_still_writes_a_valid_document() -> None:
    fake = load_scenario({"name": "empty", "subscriptions": []})
    out: list[str] = []
    stream = JsonStream(out.append)
    sub = "00000000-0000-0000-0000-0000000000ee"
    stream.close(audit(AzureClients.for_simulator(fake, sub), on_row=stream, keep_rows=False, source="arm"))
    data = json.loads("".join(out))
    assert data["rows"] == [] and data["summary"]["clusters"] == 0
