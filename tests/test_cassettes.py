"""The simulator answers the recorded ``az aks`` traffic like real ARM did (status codes, LRO headers,
provisioning states, terminal operation status, field names)."""

from __future__ import annotations

import pytest
from cassette_replay import cassette_names, field_paths, replay


@pytest.mark.parametrize("name", cassette_names())
def test_cassette_replays_faithfully(name: str) -> None:
    outcome = replay(name)
    assert outcome.compared >= 4, "the cassette must contain management requests"
    assert outcome.operations >= 1, "at least one long-running operation must be driven to its end"
    assert outcome.mismatches == []


def test_there_are_ten_cassettes() -> None:
    assert len(cassette_names()) == 10


def test_field_paths_sees_nested_names() -> None:
    paths = field_paths({"properties": {"a": [{"b": 1}], "nodeLabels": {"x": "y"}}})
    assert "properties.a[].b" in paths
    assert "properties.nodeLabels.x" not in paths
