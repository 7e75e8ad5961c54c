"""What every input validator shares: reading enum-like values, and raising every problem at once.

Every rule comes as a pair: ``check_*`` returns the list of problems (one sentence each, empty when valid) and
``validate_*`` raises :class:`~aks_windows_ops.errors.InvalidInput` carrying all of them with the rule's own
remediation, so that a caller fixes everything in one go (Service facts: FAQ rules).
"""

from __future__ import annotations

from collections.abc import Iterable

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import OsType, PoolMode

__all__ = ["OS_TYPE_REMEDIATION", "as_mode", "as_os_type", "is_int", "os_type_problem", "raise_if"]

#: What to do about an OS type that is neither Linux nor Windows.
OS_TYPE_REMEDIATION = "Give the OS type as Linux or Windows."


def raise_if(problems: Iterable[str], remediation: str) -> None:
    """Raise :class:`~aks_windows_ops.errors.InvalidInput` with every problem and ``remediation``, if any.

    Raises:
        InvalidInput: there was at least one problem.
    """
    found = list(problems)
    if found:
        raise InvalidInput(found, remediation=remediation)


def as_os_type(os_type: OsType | str) -> OsType | None:
    """The :class:`~aks_windows_ops.models.OsType` named (any case), or ``None``."""
    if isinstance(os_type, OsType):
        return os_type
    if isinstance(os_type, str):
        for member in OsType:
            if member.value.lower() == os_type.strip().lower():
                return member
    return None


def as_mode(mode: PoolMode | str) -> PoolMode | None:
    """The :class:`~aks_windows_ops.models.PoolMode` named (any case), or ``None``."""
    if isinstance(mode, PoolMode):
        return mode
    if isinstance(mode, str):
        for member in PoolMode:
            if member.value.lower() == mode.strip().lower():
                return member
    return None


def is_int(value: object) -> bool:
    """Whether ``value`` is a whole number (``bool`` is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def os_type_problem(os_type: object) -> str:
    """The problem sentence for an OS type that is neither Linux nor Windows."""
    return f"OS type must be Linux or Windows, got {os_type!r}"
