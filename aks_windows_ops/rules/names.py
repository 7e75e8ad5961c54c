"""Names and Windows credentials: pool names, the admin username and password (FAQ "What can I name my Windows node pools?"; Service facts: Credentials).

No problem text ever contains a password (design principle "secrets never print").
"""

from __future__ import annotations

import re

from aks_windows_ops.models import OsType
from aks_windows_ops.rules.inputs import as_os_type, os_type_problem, raise_if
from aks_windows_ops.secrets import Secret

__all__ = [
    "ADMIN_PASSWORD_REMEDIATION",
    "ADMIN_USERNAME_FORBIDDEN_CHARACTERS",
    "ADMIN_USERNAME_REMEDIATION",
    "DISALLOWED_PASSWORDS",
    "LINUX_POOL_NAME_PATTERN",
    "PASSWORD_LENGTH_RANGE",
    "POOL_NAME_REMEDIATION",
    "RESERVED_ADMIN_USERNAMES",
    "WINDOWS_POOL_NAME_PATTERN",
    "check_admin_password",
    "check_admin_username",
    "check_pool_name",
    "validate_admin_password",
    "validate_admin_username",
    "validate_pool_name",
]

#: FAQ "What can I name my Windows node pools?": six characters; AKS also wants a leading lowercase letter.
WINDOWS_POOL_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,5}$")
#: AKS node pool naming rule for Linux pools: 1-12 lowercase alphanumerics, leading letter.
LINUX_POOL_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,11}$")

#: Service facts: Credentials (Azure VM username rules): names Azure refuses as a Windows admin username.
RESERVED_ADMIN_USERNAMES: frozenset[str] = frozenset(
    {
        "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123",
        "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner",
        "root", "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5",
    }
)  # fmt: skip
#: Characters the Azure VM username rules refuse (the Windows account-name set plus ``@`` and ``&``).
ADMIN_USERNAME_FORBIDDEN_CHARACTERS = frozenset('\\/"[]:|<>+=;,?*@&')

#: Service facts: Credentials: passwords Azure refuses outright.
DISALLOWED_PASSWORDS: frozenset[str] = frozenset(
    {
        "abc@123", "p@$$w0rd", "p@ssw0rd", "p@ssword123", "pa$$word", "pass@word1", "password!",
        "password1", "password22", "iloveyou!",
    }
)  # fmt: skip
#: FAQ "How do I change the administrator password ...": at least 14 characters (the API takes 8; the FAQ
#: and the CLI say 14); Azure's upper bound is 123.
PASSWORD_LENGTH_RANGE = (14, 123)

#: What to do about a refused pool name (FAQ "What can I name my Windows node pools?").
POOL_NAME_REMEDIATION = (
    "Choose a pool name that starts with a lowercase letter and has only lowercase letters and digits: "
    "at most 6 characters for a Windows pool, 12 for a Linux pool (for example win22)."
)
#: What to do about a refused admin username (Service facts: Credentials).
ADMIN_USERNAME_REMEDIATION = (
    'Choose a username of 1-20 characters without spaces or any of \\/"[]:|<>+=;,?*@&, not starting '
    "with '-' nor ending with '.', and not a reserved name such as admin or administrator; it cannot be "
    "changed after the cluster is created."
)
#: What to do about a refused admin password (FAQ "How do I change the administrator password ...").
ADMIN_PASSWORD_REMEDIATION = (
    "Use 14-123 characters with at least three of lowercase letters, uppercase letters, digits and special "
    "characters, without the admin username and not a common password; or let the tool generate one."
)

_PASSWORD_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("lowercase letter", re.compile(r"[a-z]")),
    ("uppercase letter", re.compile(r"[A-Z]")),
    ("digit", re.compile(r"[0-9]")),
    ("special character", re.compile(r"[\W_]", re.ASCII)),
)


# --- pool names -------------------------------------------------------------------------------------------


def check_pool_name(name: str, os_type: OsType | str) -> list[str]:
    """List the problems with a pool name.

    FAQ "What can I name my Windows node pools?": Windows pools take 1-6 characters
    (``^[a-z][a-z0-9]{0,5}$``); Linux pools 1-12 (``^[a-z][a-z0-9]{0,11}$``), Service facts: FAQ rules.

    Args:
        name: the pool name.
        os_type: the pool's OS type.

    Returns:
        One sentence per problem.
    """
    kind = as_os_type(os_type)
    if kind is None:
        return [os_type_problem(os_type)]
    if not isinstance(name, str):
        return [f"pool name must be a string, got {type(name).__name__}"]
    limit = 6 if kind is OsType.WINDOWS else 12
    pattern = WINDOWS_POOL_NAME_PATTERN if kind is OsType.WINDOWS else LINUX_POOL_NAME_PATTERN
    if pattern.fullmatch(name):
        return []
    problems: list[str] = []
    if not name:
        return ["pool name must not be empty"]
    if len(name) > limit:
        problems.append(
            f"{kind.value} pool name {name!r} has {len(name)} characters; at most {limit} are allowed"
            + (" (FAQ: What can I name my Windows node pools?)" if kind is OsType.WINDOWS else "")
        )
    if not ("a" <= name[0] <= "z"):
        problems.append(f"pool name {name!r} must start with a lowercase letter a-z")
    bad = sorted({ch for ch in name if not ("a" <= ch <= "z" or "0" <= ch <= "9")})
    if bad:
        problems.append(
            f"pool name {name!r} may contain only lowercase letters a-z and digits, not {''.join(bad)!r}"
        )
    return problems


def validate_pool_name(name: str, os_type: OsType | str) -> None:
    """Raise if :func:`check_pool_name` finds problems (FAQ "What can I name my Windows node pools?").

    Raises:
        InvalidInput: with every problem.
    """
    raise_if(check_pool_name(name, os_type), POOL_NAME_REMEDIATION)


# --- Windows credentials ----------------------------------------------------------------------------------


def check_admin_username(username: str) -> list[str]:
    r"""List the problems with a Windows admin username (Service facts: Credentials).

    Rules: 1-20 characters, must not end in ``.``, must not start with ``-``, no whitespace nor any of
    ``\\/"[]:|<>+=;,?*@&``, and not a reserved name (``admin``, ``administrator`` ... case-insensitive).
    The username cannot be changed after the cluster is created.

    Args:
        username: ``windowsProfile.adminUsername``.

    Returns:
        One sentence per problem.
    """
    if not isinstance(username, str):
        return [f"admin username must be a string, got {type(username).__name__}"]
    if not username:
        return ["admin username must not be empty (1-20 characters)"]
    problems: list[str] = []
    if len(username) > 20:
        problems.append(f"admin username has {len(username)} characters; at most 20 are allowed")
    if username.endswith("."):
        problems.append("admin username must not end with '.'")
    if username.startswith("-"):
        problems.append("admin username must not start with '-'")
    bad = sorted({ch for ch in username if ch in ADMIN_USERNAME_FORBIDDEN_CHARACTERS})
    if bad:
        problems.append(f"admin username must not contain {''.join(bad)!r}")
    if any(ch.isspace() or not ch.isprintable() for ch in username):
        problems.append("admin username must not contain whitespace or control characters")
    if username.lower() in RESERVED_ADMIN_USERNAMES:
        problems.append(f"admin username {username!r} is a reserved name that Azure refuses")
    return problems


def validate_admin_username(username: str) -> None:
    """Raise if :func:`check_admin_username` finds problems (Service facts: Credentials).

    Raises:
        InvalidInput: with every problem.
    """
    raise_if(check_admin_username(username), ADMIN_USERNAME_REMEDIATION)


def check_admin_password(password: Secret | str, *, username: str | None = None) -> list[str]:
    """List the problems with a Windows admin password, never quoting it (Service facts: Credentials).

    FAQ "How do I change the administrator password for Windows Server nodes on my cluster?": at least 14
    characters and the Windows Server complexity rules: 3 of 4 classes (lowercase, uppercase, digit,
    special), not containing the username (case-insensitive, when it has 3 or more characters), at most 123
    characters, and not one of Azure's refused passwords.

    Args:
        password: the new password; a :class:`~aks_windows_ops.secrets.Secret` or a plain ``str``.
        username: the admin username, to check containment.

    Returns:
        One sentence per problem; none of them contains the password or a part of it.
    """
    if isinstance(password, Secret):
        value = password.reveal()
    elif isinstance(password, str):
        value = password
    else:
        return [f"admin password must be a str or Secret, got {type(password).__name__}"]
    low, high = PASSWORD_LENGTH_RANGE
    problems: list[str] = []
    if not low <= len(value) <= high:
        problems.append(f"admin password must be {low}-{high} characters long")
    missing = [label for label, pattern in _PASSWORD_CLASSES if not pattern.search(value)]
    if len(missing) > 1:
        problems.append(
            "admin password must contain 3 of: lowercase letter, uppercase letter, digit, special character "
            f"(missing {' and '.join(missing)})"
        )
    if isinstance(username, str) and len(username) >= 3 and username.lower() in value.lower():
        problems.append("admin password must not contain the admin username")
    if value.lower() in DISALLOWED_PASSWORDS:
        problems.append("admin password is on Azure's list of refused common passwords")
    return problems


def validate_admin_password(password: Secret | str, *, username: str | None = None) -> None:
    """Raise if :func:`check_admin_password` finds problems (Service facts: Credentials).

    Raises:
        InvalidInput: with every problem; the exception never carries the password.
    """
    raise_if(check_admin_password(password, username=username), ADMIN_PASSWORD_REMEDIATION)
