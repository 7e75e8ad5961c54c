"""Node image names and their release dates (FAQ "How do I patch my Windows nodes?"; Service facts: How the Azure CLI does it)."""

from __future__ import annotations

import datetime as _dt
import re

__all__ = ["image_date", "image_lag_days"]

_LINUX_STAMP = re.compile(r"(\d{4})(\d{2})\.(\d{2})\.\d+$")
_WINDOWS_STAMP = re.compile(r"\.(\d{2})(\d{2})(\d{2})$")


def image_date(image: str | None) -> _dt.date | None:
    """Return the release date in a node image version's name.

    ``AKSWindows-2022-containerd-20348.4300.261111`` is 2026-11-11 (``yymmdd``);
    ``AKSUbuntu-2204gen2containerd-202611.11.0`` is 2026-11-11 (``yyyymm.dd.N``). ``None`` when the name
    carries no date.
    """
    if not image:
        return None
    text = image.strip()
    try:
        m = _LINUX_STAMP.search(text)
        if m:
            return _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _WINDOWS_STAMP.search(text)
        if m:
            return _dt.date(2000 + int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


def image_lag_days(current: str | None, latest: str | None) -> int | None:
    """Days between the node image a pool runs and the newest it may upgrade to; ``None`` without dates."""
    if current and latest and current == latest:
        return 0
    a, b = image_date(current), image_date(latest)
    if a is None or b is None:
        return None
    return max((b - a).days, 0)
