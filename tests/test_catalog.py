"""The simulator's version catalog agrees with the lifecycle data on the simulator's day (2026-11-26)."""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict

import pytest

from aks_windows_ops.rules import images
from aks_windows_ops.rules.lifecycle import builtin_lifecycle
from aks_windows_ops.testing import catalog
from aks_windows_ops.testing.fake_azure import FakeAzure


def _by_minor() -> dict[tuple[int, int], list[str]]:
    minors: dict[tuple[int, int], list[str]] = defaultdict(list)
    for version in catalog.KUBERNETES_VERSIONS:
        minors[catalog.minor_of(version)].append(version)
    return dict(minors)


def test_the_region_offers_the_minors_aks_supports_on_the_simulators_day() -> None:
    day = FakeAzure().now_date()
    data = builtin_lifecycle()
    offered = _by_minor()
    generally_available = sorted(m for m, e in data.kubernetes.items() if e.ga <= day)
    # AKS supports the three newest generally available minors: all offered
    assert set(generally_available[-3:]) <= set(offered)
    for minor, patches in offered.items():
        entry = data.minor(minor)
        assert entry is not None and entry.ga <= day, f"{minor} is not generally available on {day}"
        assert len(patches) >= 2, f"{minor} offers one patch only: {patches}"
        label = f"{minor[0]}.{minor[1]}"
        if label in catalog.LONG_TERM_SUPPORT_ONLY:
            assert entry.lts_end is not None
            assert entry.standard_support_end <= day < entry.lts_end, label
        else:
            assert day < entry.standard_support_end, (
                f"{label} left standard support on {entry.standard_support_end}"
            )
    assert (
        tuple(sorted(catalog.KUBERNETES_VERSIONS, key=catalog.parse_version)) == catalog.KUBERNETES_VERSIONS
    )


@pytest.mark.parametrize("sku", ["Windows2019", "Windows2022", "WindowsAnnual", "Windows2025"])
def test_each_windows_os_sku_gets_images_of_its_own_build(sku: str) -> None:
    entry = builtin_lifecycle().os_sku(sku)
    assert entry is not None
    build = entry.host_build.split(".")[-1]
    names = {catalog.image_name(sku, "Windows", release) for release in catalog.IMAGE_RELEASES}
    assert len(names) == len(catalog.IMAGE_RELEASES)
    for release in catalog.IMAGE_RELEASES:
        name = catalog.image_name(sku, "Windows", release)
        assert f"-{build}." in name, name
        assert images.image_date(name) == release


def test_the_newest_image_is_the_last_release_up_to_the_day() -> None:
    newest = catalog.latest_image("Windows2022", "Windows", today=_dt.date(2026, 11, 26), windows_cutoff=None)
    assert images.image_date(newest) == catalog.IMAGE_RELEASES[-1]
    held = catalog.latest_image(
        "Windows2022", "Windows", today=_dt.date(2026, 11, 26), windows_cutoff=_dt.date(2026, 8, 1)
    )
    assert images.image_date(held) == _dt.date(2026, 7, 15)
