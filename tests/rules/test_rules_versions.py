from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.rules.versions import (
    MAX_POOL_MINOR_SKEW,
    KubernetesVersion,
    check_pool_skew,
    check_upgrade_path,
    compare_versions,
    parse_version,
    plan_version_hops,
    validate_pool_skew,
    validate_upgrade_path,
    version_at_least,
)

PROPS = settings(max_examples=60, deadline=None)

parts = st.integers(0, 60)
versions_text = st.one_of(
    st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.just(1), parts, parts),
    st.builds(lambda a, b: f"{a}.{b}", st.just(1), parts),
)
VERSION_RE_ANCHOR = re.compile(r"\Av?(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(\.(0|[1-9][0-9]{0,3}))?\Z")


@PROPS
@given(versions_text)
def test_valid_versions_round_trip(text: str) -> None:
    parsed = parse_version(text)
    assert str(parsed) == text
    assert parse_version("v" + text) == parsed
    assert parse_version(parsed) is parsed


@PROPS
@given(st.text(max_size=12))
def test_invalid_versions_rejected(text: str) -> None:
    assume(VERSION_RE_ANCHOR.fullmatch(text.strip()) is None)
    with pytest.raises(InvalidInput):
        parse_version(text)


@pytest.mark.parametrize("bad", ["1", "1.2.3.4", "1.31.2-hotfix", "01.31", "latest", "", "1..2", "1.31\n.2"])
def test_invalid_version_examples(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_version(bad)


def test_compare_treats_minor_alias_as_any_patch() -> None:
    assert compare_versions("1.31", "1.31.7") == 0
    assert compare_versions("1.31.2", "1.31.10") < 0
    assert compare_versions("1.32", "1.31.10") > 0
    assert version_at_least("1.33.0", "1.33")
    assert not version_at_least("1.32.9", "1.33")
    assert KubernetesVersion(1, 31).sort_key > KubernetesVersion(1, 31, 99).sort_key


@pytest.mark.parametrize(
    ("current", "target", "allow_skip", "fragment"),
    [
        ("1.31.2", "1.31.2", False, None),
        ("1.31.2", "1.31.5", False, None),
        ("1.31.2", "1.32.0", False, None),
        ("1.31", "1.32", False, None),
        ("1.31.2", "1.33.0", True, None),
        ("1.31.2", "1.33.0", False, "cannot skip minor versions"),
        ("1.31.5", "1.31.2", False, "cannot downgrade"),
        ("1.31.0", "1.30.9", False, "cannot downgrade"),
        ("1.31.0", "2.0.0", False, "major"),
        ("1.31.0", "nope", False, "target version"),
    ],
)
def test_upgrade_path(current: str, target: str, allow_skip: bool, fragment: str | None) -> None:
    problems = check_upgrade_path(current, target, allow_skip=allow_skip)
    if fragment is None:
        assert problems == []
        validate_upgrade_path(current, target, allow_skip=allow_skip)
    else:
        assert problems and fragment in problems[0]
        with pytest.raises(InvalidInput):
            validate_upgrade_path(current, target, allow_skip=allow_skip)


@PROPS
@given(st.integers(20, 40), st.integers(0, 9), st.integers(2, 8))
def test_minor_skips_always_rejected_and_hops_fix_them(minor: int, patch: int, jump: int) -> None:
    current, target = f"1.{minor}.{patch}", f"1.{minor + jump}.0"
    with pytest.raises(InvalidInput):
        validate_upgrade_path(current, target)
    available = [f"1.{m}.{p}" for m in range(minor, minor + jump + 1) for p in (1, 3)]
    hops = plan_version_hops(current, target, available)
    assert hops[-1] == target
    assert len(hops) == jump
    chain = [current, *hops]
    for a, b in itertools.pairwise(chain):
        assert check_upgrade_path(a, b) == []
    assert all(h.endswith(".3") for h in hops[:-1])


@PROPS
@given(st.integers(20, 40), st.integers(0, 9), st.integers(1, 5))
def test_downgrades_always_rejected(minor: int, patch: int, back: int) -> None:
    with pytest.raises(InvalidInput, match="downgrade"):
        validate_upgrade_path(f"1.{minor}.{patch}", f"1.{minor - back}.{patch}")


def test_plan_hops_examples() -> None:
    assert plan_version_hops("1.30.1", "1.30.1", []) == []
    assert plan_version_hops("1.30.1", "1.30.4", []) == ["1.30.4"]
    assert plan_version_hops("1.30.1", "1.31.2", []) == ["1.31.2"]
    assert plan_version_hops(
        "1.29.9", "1.32.1", ["1.30", "1.30.4", "1.31.1", "1.31.10", "1.32.1", "2.0.0"]
    ) == [
        "1.30.4",
        "1.31.10",
        "1.32.1",
    ]
    assert plan_version_hops("1.29.9", "1.31.1", ["1.30"]) == ["1.30", "1.31.1"]


def test_plan_hops_errors() -> None:
    with pytest.raises(InvalidInput, match=r"intermediate minor 1\.31"):
        plan_version_hops("1.30.1", "1.32.0", ["1.32.0"])
    with pytest.raises(InvalidInput, match="downgrade"):
        plan_version_hops("1.30.1", "1.29.0", [])
    with pytest.raises(InvalidInput, match="non-versions"):
        plan_version_hops("1.30.1", "1.32.0", ["1.31.1", "stable"])
    with pytest.raises(InvalidInput):
        plan_version_hops("x", "1.32.0", [])


@pytest.mark.parametrize(
    ("control_plane", "pool", "fragment"),
    [
        ("1.31.2", "1.31.2", None),
        ("1.31.2", "1.31", None),
        ("1.31.2", "1.28.15", None),
        ("1.31", "1.28.0", None),
        ("1.31.2", "1.27.9", "4 minor versions behind"),
        ("1.31.2", "1.31.3", "above the control plane"),
        ("1.31.2", "1.32.0", "above the control plane"),
        ("1.31.2", "2.31.0", "different major"),
        ("garbage", "1.31.0", "control plane version"),
    ],
)
def test_pool_skew(control_plane: str, pool: str, fragment: str | None) -> None:
    problems = check_pool_skew(control_plane, pool)
    if fragment is None:
        assert problems == []
        validate_pool_skew(control_plane, pool)
    else:
        assert problems and fragment in problems[0]
        with pytest.raises(InvalidInput):
            validate_pool_skew(control_plane, pool)


@PROPS
@given(st.integers(28, 40), st.integers(0, 10))
def test_skew_boundary(cp_minor: int, behind: int) -> None:
    ok = check_pool_skew(f"1.{cp_minor}.0", f"1.{cp_minor - behind}.0") == []
    assert ok is (behind <= MAX_POOL_MINOR_SKEW)
