"""Every input has limits, and each refusal does bounded work: no test here measures time.

Each test bounds what the refusal costs instead: the bytes read, the memory allocated (``tracemalloc``),
the objects built, or the regex matching that never runs.
"""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aks_windows_ops import limits
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.manifests import load_manifests
from aks_windows_ops.testing.fake_azure import FakeAzure
from aks_windows_ops.testing.scenario import load_scenario

MIB = 1 << 20


def _peak(action: Callable[[], Any]) -> tuple[BaseException | None, int]:
    """Run ``action``; return what it raised and the peak of memory it allocated, in bytes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        action()
    except BaseException as err:  # the refusal under test
        raised: BaseException | None = err
    else:
        raised = None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return raised, peak


def _refused(action: Callable[[], Any], match: str, *, memory: int) -> InvalidInput:
    raised, peak = _peak(action)
    assert isinstance(raised, InvalidInput), raised
    assert re.search(match, str(raised)), str(raised)
    assert peak < memory, f"{peak} bytes allocated"
    return raised


def _scenario(pools: str) -> str:
    return f"""
name: custom
subscriptions:
  - id: 00000000-0000-0000-0000-00000000000a
    resource_groups:
      - name: rg
        clusters:
          - name: aks
            pools:
{pools}
"""


@pytest.mark.parametrize("count", ["1e7", "10000000", "-5", "2.5", "true", "'3'"])
def test_pool_counts_out_of_range_are_refused_before_anything_is_built(count: str) -> None:
    text = _scenario(f"              - {{name: system, mode: System, count: {count}}}")
    error = _refused(
        lambda: load_scenario(text), r"pool system count must be a whole number from 0 to 1000", memory=MIB
    )
    assert count.strip("'").lower() in str(error).lower()


def test_a_pool_count_in_range_is_accepted() -> None:
    fake = load_scenario(_scenario("              - {name: system, mode: System, count: 1000.0}"))
    assert isinstance(fake, FakeAzure)


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join(f"*a{i - 1}" for _ in range(width))
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + f"\ndescription: *a{levels - 1}\n"


def test_an_alias_bomb_is_refused_from_its_count_in_bounded_memory() -> None:
    bomb = _alias_bomb()  # 9**9 (387 million) strings once expanded, in under 1 KiB of text
    assert len(bomb) < 1024
    _refused(
        lambda: load_scenario(bomb), r"more than 200,000 YAML nodes once aliases are expanded", memory=MIB
    )
    manifests = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" + bomb.replace("description", "data")
    _refused(lambda: load_manifests(manifests), r"more than 2,000,000 YAML nodes", memory=MIB)


def test_a_recursive_alias_is_refused() -> None:
    _refused(
        lambda: load_manifests("a: &x [1, *x]\nb: 2\n"), r"refers to a node that contains it", memory=MIB
    )


def test_deep_nesting_is_refused_without_recursion() -> None:
    deep = "a: " + "[" * 200 + "]" * 200 + "\n"
    _refused(lambda: load_manifests(deep), r"nested deeper than 128 levels", memory=MIB)
    deeper = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"  # libyaml's own limit (1000 levels) answers first
    _refused(lambda: load_manifests(deeper), r"maximum nesting depth", memory=4 * MIB)
    _refused(
        lambda: load_scenario("name: x\nd: " + "[" * 40 + "]" * 40), r"deeper than 32 levels", memory=MIB
    )


def test_too_many_documents_are_refused_while_counting() -> None:
    many = "---\na: 1\n" * 20_000  # 180 KiB of tiny documents, refused at the 101st: the rest is never parsed
    few = limits.YamlLimits(max_bytes=MIB, max_documents=100, max_nodes=10**6, max_depth=8)
    _refused(lambda: limits.load_yaml_documents(many, few), r"more than 100 YAML documents", memory=MIB)
    assert len(limits.load_yaml_documents("---\na: 1\n" * 10_000, limits.MANIFEST_LIMITS)) == 10_000
    with pytest.raises(InvalidInput, match="more than 10000 YAML documents"):
        load_manifests("---\na: 1\n" * 10_001)
    _refused(lambda: load_scenario("---\nname: a\n---\nname: b\n"), r"more than 1 YAML documents", memory=MIB)


@pytest.fixture
def huge_manifest(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * MIB)  # a sparse 50 MiB file: costs no disk, and reading it would cost 50 MiB
    yield path


def test_a_50_mib_manifest_is_refused_from_its_size_without_being_read(huge_manifest: Path) -> None:
    _refused(lambda: load_manifests(huge_manifest), r"50\.0 MiB, more than the 16\.0 MiB allowed", memory=MIB)
    _refused(lambda: load_manifests(huge_manifest.parent), r"huge\.yaml", memory=MIB)  # in a directory too


def test_a_large_scenario_file_and_large_text_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(2 * MIB)
    _refused(lambda: load_scenario(path), r"more than the 1\.0 MiB allowed", memory=MIB)
    text = "a: " + "x" * (17 * MIB) + "\n"
    raised, _ = _peak(lambda: load_manifests(text))
    assert isinstance(raised, InvalidInput) and "more than the 16.0 MiB allowed" in str(raised)


def test_a_device_that_never_ends_is_read_only_up_to_the_limit() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    small = limits.YamlLimits(max_bytes=64 * 1024, max_documents=1, max_nodes=10, max_depth=2)
    _refused(lambda: limits.read_text_limited("/dev/zero", small), r"more than the 65536 bytes", memory=MIB)


def test_a_huge_integer_is_a_clear_error() -> None:
    _refused(lambda: load_manifests("a: " + "9" * 5000 + "\n"), r"a value cannot be read", memory=MIB)


CATASTROPHIC = ["(a+)+$", "(a|aa)*b", "(.*a){20}", "(x+x+)+y", ".*a.*a.*a", r"(a)\1", "(?=a)a", "x" * 300]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_fault_path_patterns_that_could_backtrack_are_refused_before_matching(pattern: str) -> None:
    fake = FakeAzure.from_scenario("healthy")
    with pytest.raises(InvalidInput, match="pattern"):
        fake.add_fault("error", path=pattern)
    assert fake.faults == []  # refused when added: no request is ever matched against it
    with pytest.raises(InvalidInput, match="pattern"):
        load_scenario(
            _scenario("              - {name: system, mode: System}")
            + f"faults:\n  - {{kind: error, path: '{pattern}'}}\n"
        )


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        (
            "managedClusters/aks-prod$",
            "/subscriptions/s/resourceGroups/r/providers/x/managedClusters/aks-prod",
            True,
        ),
        ("upgradeNodeImageVersion", "/a/agentPools/win1/upgradeNodeImageVersion", True),
        ("agentPools/(win|lin)[0-9]+$", "/a/agentPools/win22", True),
        ("agentPools/(win|lin)[0-9]+$", "/a/agentPools/system", False),
    ],
)
def test_ordinary_fault_patterns_still_match(pattern: str, path: str, hit: bool) -> None:
    assert bool(limits.compile_path_pattern(pattern).search(path)) is hit


def test_a_kubeconfig_alias_bomb_is_refused() -> None:
    from aks_windows_ops.kube.client import load_kubeconfig

    bomb = _alias_bomb().replace("description", "clusters")
    _refused(lambda: load_kubeconfig(bomb.encode()), r"more than 2,000,000 YAML nodes", memory=MIB)
