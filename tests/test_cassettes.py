"""The simulator answers the recorded ``az aks`` traffic like real ARM did (status codes, LRO headers,
provisioning states, terminal operation status, field names)."""

from __future__ import annotations

import pytest
from cassette_replay import cassette_names, durations_agree, field_paths, replay


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


def test_per_pool_states_and_stable_values_are_compared() -> None:
    from cassette_replay import pool_states, stable_values

    body = {
        "properties": {
            "kubernetesVersion": "1.33.2",
            "fqdn": "x.hcp.westeurope.azmk8s.io",
            "agentPoolProfiles": [
                {"name": "system", "provisioningState": "Updating", "osType": "Linux", "count": 1},
                {"name": "npwin", "provisioningState": "Succeeded", "osType": "Windows", "count": 2},
            ],
        }
    }
    assert pool_states(body) == {"system": "Updating", "npwin": "Succeeded"}
    values = stable_values(body)
    assert values["properties.agentPoolProfiles[npwin].osType"] == "Windows"
    assert values["properties.kubernetesVersion"] == "1.33.2"
    assert not any("fqdn" in key for key in values)  # volatile values are not compared


def test_upgrade_current_versions_match_the_recording() -> None:
    """The recorded first read after an upgrade PUT already shows the target version while Upgrading."""
    outcome = replay("test_aks_upgrade_nodepool.yaml")
    assert outcome.mismatches == []
    assert outcome.known == []


def test_durations_are_compared_within_the_stated_tolerance() -> None:
    assert durations_agree(780, 780)
    assert durations_agree(780, 300)  # within a factor of three
    assert not durations_agree(780, 120)  # a 13-minute gMSA enable finished in 2 minutes
    assert durations_agree(60, 120)  # within three poll intervals
    outcome = replay("test_aks_update_with_windows_password.yaml")
    assert outcome.mismatches == []
    assert all(durations_agree(t.recorded, t.simulated) for t in outcome.timings)
    assert len(outcome.timings) == 3  # create, pool add, password update


def test_a_simulator_that_finishes_too_fast_fails_the_replay() -> None:
    fast = {"windows_profile_base": 60.0, "windows_profile_per_node": 0.0}
    outcome = replay("test_aks_update_with_windows_password.yaml", durations=fast)
    assert [m for m in outcome.mismatches if "operation took" in m.problem]
