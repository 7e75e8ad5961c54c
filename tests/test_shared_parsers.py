"""The library's one parser (or matcher, or renderer) of each kind, on the shapes its callers meet."""

from __future__ import annotations

from typing import Any

import pytest

from aks_windows_ops.htmltable import Html, html_table
from aks_windows_ops.models import ClusterRef, ResourceId
from aks_windows_ops.rules.selectors import selector_matches
from aks_windows_ops.rules.versions import minor_of

SUBNET = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/"
    "Microsoft.Network/virtualNetworks/vnet-a/subnets/nodes"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sub/rg/name", ClusterRef("sub", "rg", "name")),
        ("/sub/rg/name/", ClusterRef("sub", "rg", "name")),
        ("sub/rg", None),
        ("sub//name", None),
        ("a/b/c/d", None),
        ("", None),
    ],
)
def test_cluster_paths(text: str, expected: ClusterRef | None) -> None:
    assert ClusterRef.parse(text) == expected
    if expected is not None:
        assert ClusterRef.parse(expected.path) == expected


def test_resource_ids() -> None:
    rid = ResourceId.parse(SUBNET)
    assert rid is not None and str(rid) == SUBNET
    assert (rid.subscription_id, rid.resource_group, rid.names, rid.name) == (
        "00000000-0000-0000-0000-000000000001",
        "rg-net",
        ("vnet-a", "nodes"),
        "nodes",
    )
    assert rid.is_type("microsoft.network", "VirtualNetworks", "subnets")
    assert not rid.is_type("Microsoft.Network", "virtualNetworks")
    assert ResourceId.parse(SUBNET.lower()) is not None
    for bad in (
        None,
        "",
        "subnet-1",
        "/subscriptions/s/resourceGroups/g",
        SUBNET + "/extra",
        SUBNET.replace("/subnets/", "//"),
    ):
        assert ResourceId.parse(bad) is None, bad


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.33.2", (1, 33)),
        ("v1.31", (1, 31)),
        (" 1.30.0 ", (1, 30)),
        ("1", None),
        ("x.y", None),
        (None, None),
        ("", None),
    ],
)
def test_minor_of(text: str | None, expected: tuple[int, int] | None) -> None:
    assert minor_of(text) == expected


@pytest.mark.parametrize(
    ("selector", "labels", "empty_matches", "expected"),
    [
        ({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "1"}, True, True),
        ({"matchLabels": {"app": "web"}}, {"app": "api"}, True, False),
        (
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["1", "2"]}]},
            {"tier": "2"},
            True,
            True,
        ),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["1"]}]}, {}, True, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {}, True, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {}, True, True),
        ({"matchExpressions": [{"key": "n", "operator": "Gt", "values": ["3"]}]}, {"n": "4"}, True, True),
        ({"matchExpressions": [{"key": "n", "operator": "Bogus"}]}, {"n": "4"}, True, False),
        ({}, {"app": "web"}, True, True),
        ({}, {"app": "web"}, False, False),
        (None, {"app": "web"}, True, False),
    ],
)
def test_label_selectors(selector: Any, labels: dict[str, str], empty_matches: bool, expected: bool) -> None:
    assert selector_matches(selector, labels, empty_matches=empty_matches) is expected


def test_html_tables_escape_every_cell_but_markup() -> None:
    out = html_table(
        ("a<b", "c"),
        [("<script>", None), (Html("<code>x</code>"), 2)],
        css="t",
        caption="1 & 2",
        row_styles=["color:red", None],
    )
    assert out == (
        '<table class="t"><caption>1 &amp; 2</caption><thead><tr><th>a&lt;b</th><th>c</th></tr></thead><tbody>'
        '<tr style="color:red"><td>&lt;script&gt;</td><td>-</td></tr>'
        "<tr><td><code>x</code></td><td>2</td></tr></tbody></table>"
    )
