"""Secrets that never print (design principle "secrets never print").

A :class:`Secret` masks itself in ``repr``/``str``/``format`` and refuses pickling and JSON encoding, so a
password cannot reach a log line, a plan, a checkpoint, an exception or notebook output by accident. The value
is read only through :meth:`Secret.reveal`, which the Azure adapter calls at the moment it builds the request.
"""

from __future__ import annotations

import os
import secrets as _random
import string
import weakref
from typing import Any, NoReturn

__all__ = ["Secret", "generate_password", "live_secret_values"]

_MASK = "********"
#: Every Secret still alive, so that log and traceback redaction can mask its text wherever it appears.
_LIVE: weakref.WeakSet[Secret] = weakref.WeakSet()


def live_secret_values() -> list[str]:
    """Return the text of every :class:`Secret` still in memory (for redaction of logs and tracebacks only)."""
    return [s._value for s in list(_LIVE)]


class Secret:
    """A masked string value (a Windows admin password, a token).

    Args:
        value: the secret text.
        source: where it came from, for messages (``literal``, ``env:NAME``, ``keyvault:URL``); never the value.
    """

    __slots__ = ("__weakref__", "_source", "_value")

    def __init__(self, value: str, *, source: str = "literal") -> None:
        if not isinstance(value, str):
            raise TypeError("Secret value must be a str")
        self._value = value
        self._source = source
        _LIVE.add(self)

    @property
    def source(self) -> str:
        """Where the secret came from (never the value)."""
        return self._source

    def reveal(self) -> str:
        """Return the secret text. Call it only where the value is sent to Azure."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"Secret({_MASK}, source={self._source!r})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return _random.compare_digest(self._value.encode("utf-8"), other._value.encode("utf-8"))

    def __hash__(self) -> int:
        return hash((Secret, len(self._value)))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    @classmethod
    def from_env(cls, name: str, *, environ: dict[str, str] | None = None) -> Secret:
        """Read a secret from the environment variable ``name``.

        Raises:
            InvalidInput: the variable is unset or empty.
        """
        from aks_windows_ops.errors import InvalidInput

        value = (environ if environ is not None else os.environ).get(name)
        if not value:
            raise InvalidInput(f"environment variable {name} is not set or empty")
        return cls(value, source=f"env:{name}")


def generate_password(length: int = 24) -> Secret:
    """Generate a random password that meets the Windows admin password policy (Service facts: Credentials).

    The result has all four character classes, and ``length`` between 14 and 123.
    """
    from aks_windows_ops.errors import InvalidInput

    if not 14 <= length <= 123:
        raise InvalidInput(f"password length must be 14-123, got {length}")
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#%*+-=?@^_~"]
    alphabet = "".join(classes)
    while True:
        chars = [_random.choice(c) for c in classes]
        chars += [_random.choice(alphabet) for _ in range(length - len(chars))]
        _random.SystemRandom().shuffle(chars)
        value = "".join(chars)
        if all(any(ch in c for ch in value) for c in classes):
            return Secret(value, source="generated")
