"""Scenario files are validated against a declared schema; every error names the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aks_windows_ops.azure.clients import AzureClients
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.testing.scenario import BUILTIN_SCENARIOS, load_scenario, read_scenario, scenario_path
from aks_windows_ops.testing.scenario_schema import check_scenario

BASE = """\
name: mine
subscriptions:
  - id: 00000000-0000-0000-0000-000000000009
    resource_groups:
      - name: rg
        vnets:
          - {name: vnet, address_prefix: 10.0.0.0/8, subnets: {nodes: 10.240.0.0/16}}
        clusters:
          - name: aks
            kubernetes_version: 1.32.7
            pools:
              - {name: system, mode: System, count: 2, subnet: vnet/nodes}
              - {name: win1, os_type: Windows, os_sku: Windows2022, count: 2, subnet: vnet/nodes}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(source: object) -> str:
    with pytest.raises(InvalidInput) as err:
        read_scenario(source)
    return str(err.value)


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_built_in_scenarios_are_valid(name: str) -> None:
    assert read_scenario(name)["subscriptions"]


def test_a_valid_file_loads(tmp_path: Path) -> None:
    fake = load_scenario(_write(tmp_path, BASE))
    pools = fake.cluster_state("00000000-0000-0000-0000-000000000009", "rg", "aks")["properties"]
    assert [p["name"] for p in pools["agentPoolProfiles"]] == ["system", "win1"]


def test_unknown_key_names_file_path_line_and_allowed_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path, BASE.replace("            kubernetes_version:", "            kubernetes_verison:")
    )
    message = _error(path)
    assert str(path) in message
    assert "subscriptions[0].resource_groups[0].clusters[0].kubernetes_verison (line 10)" in message
    assert "unknown key" in message and "kubernetes_version" in message and "network_plugin" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("kubernetes_version: 1.32.7", "kubernetes_version: 1.32"), "is not a version like 1.33.5"),
        (("count: 2, subnet", "count: 2, max_pods: many, subnet"), "pools[0].max_pods"),
        (("os_sku: Windows2022", "os_sku: Windows2023"), "'Windows2019', 'Windows2022' or 'Windows2025'"),
        (("os_sku: Windows2022", "os_sku: Ubuntu"), "os_sku Ubuntu does not run on os_type Windows"),
        (("{name: win1, os_type", "{name: win1, mode: System, os_type"), "cannot be a System pool"),
        (("count: 2, subnet: vnet/nodes}\n", "count: 2, subnet: vnet/other}\n"), "which no vnet"),
        (("name: system, mode", "name: system, version: 1.33.5, mode"), "newer than the control plane"),
        (("{nodes: 10.240.0.0/16}", "{nodes: 11.240.0.0/16}"), "is outside 10.0.0.0/8"),
    ],
)
def test_wrong_types_and_impossible_states_are_named(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in BASE
    message = _error(_write(tmp_path, BASE.replace(old, new, 1)))
    assert expected in message
    assert str(tmp_path / "scenario.yaml") in message and "(line " in message


def test_unknown_built_in_lists_the_built_ins() -> None:
    message = _error("legacy-2091")
    assert all(name in message for name in BUILTIN_SCENARIOS)


def test_malformed_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: [mine\nsubscriptions: []\n")
    message = _error(path)
    assert str(path) in message and "not valid YAML" in message and "line 2" in message


def test_not_a_mapping_is_refused(tmp_path: Path) -> None:
    assert "must be a YAML mapping" in _error(_write(tmp_path, "- a\n- b\n"))


def test_snapshot_output_is_a_valid_scenario(tmp_path: Path) -> None:
    from aks_windows_ops.twin import export_twin, write_twin

    fake = load_scenario("ws2019-retiring")
    clients = AzureClients.for_simulator(fake, "00000000-0000-0000-0000-000000000002")
    exported = export_twin(clients, "rg-legacy-apps", "aks-apps")
    path = write_twin(exported, tmp_path / "twin.yaml")
    assert check_scenario(yaml.safe_load(path.read_text(encoding="utf-8")), source=str(path))
    assert read_scenario(path)["subscriptions"][0]["id"] == "00000000-0000-0000-0000-000000000002"


def test_import_stays_light() -> None:
    import subprocess
    import sys

    code = "import sys, aks_windows_ops, aks_windows_ops.cli; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert scenario_path("healthy").is_file()
