"""Options shared by the commands, as ``Annotated`` aliases, and the parsers that check their values.

A command declares ``resource_group: ResourceGroup = None`` and gets the same spelling, help and panel as every
other command (``az`` conventions: ``--resource-group/-g``, ``--name/-n``, ``--subscription``, ``--output/-o``,
``--query``). Values that click cannot check by type (durations, environment variable names, resource names)
are checked by the functions here before any request is sent; each error names the option and says what it
accepts, and never repeats the value of an option that may hold a secret.
"""

from __future__ import annotations

import enum
import math
import os
import re
from typing import Annotated

import typer

from aks_windows_ops import errors as E

__all__ = [
    "DEFAULT_TIME_BUDGET",
    "GLOBAL_PANEL",
    "RUN_PANEL",
    "TARGET_PANEL",
    "AllowIncompatibleImages",
    "Apply",
    "Checkpoint",
    "ClusterName",
    "NoWait",
    "Output",
    "OutputFormat",
    "PlanOnly",
    "Query",
    "ResourceGroup",
    "Simulate",
    "Subscription",
    "TimeBudget",
    "Yes",
    "check_env_name",
    "check_kubernetes_version",
    "check_password_fd",
    "check_windows_sku",
    "parse_duration",
]

#: Help panel of the options every command shares (``az`` calls them global arguments).
GLOBAL_PANEL = "Global options"
TARGET_PANEL = "Cluster"
RUN_PANEL = "Running the plan"

#: Overall limit of an apply when ``--time-budget`` is not given: a stuck operation ends, it does not hang.
DEFAULT_TIME_BUDGET = "6h"


class OutputFormat(str, enum.Enum):
    """The output formats of ``az`` (``--output``)."""

    json = "json"
    jsonc = "jsonc"
    yaml = "yaml"
    table = "table"
    tsv = "tsv"
    none = "none"


ResourceGroup = Annotated[
    str | None,
    typer.Option(
        "--resource-group",
        "-g",
        metavar="RESOURCE_GROUP",
        help="Resource group of the cluster.",
        rich_help_panel=TARGET_PANEL,
    ),
]
ClusterName = Annotated[
    str | None,
    typer.Option(
        "--name", "-n", metavar="CLUSTER", help="Name of the cluster.", rich_help_panel=TARGET_PANEL
    ),
]
Subscription = Annotated[
    str | None,
    typer.Option(
        "--subscription",
        metavar="SUBSCRIPTION",
        help="Subscription id or name (default: AZURE_SUBSCRIPTION_ID, else the default subscription of "
        "your az login).",
        rich_help_panel=TARGET_PANEL,
    ),
]
Simulate = Annotated[
    str | None,
    typer.Option(
        "--simulate",
        metavar="SCENARIO",
        help="Rehearse on a simulated cluster: a built-in scenario name or a scenario file.",
        rich_help_panel=TARGET_PANEL,
    ),
]
Output = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        help="Output format: json, jsonc, yaml, table, tsv or none.",
        case_sensitive=False,
        rich_help_panel=GLOBAL_PANEL,
    ),
]


def _check_query(value: str | None) -> str | None:
    if value is None:
        return None
    import jmespath

    try:
        jmespath.compile(value)
    except Exception:  # the parser raises its own errors, and ValueError or TypeError on odd input
        raise typer.BadParameter("not a valid JMESPath expression (see https://jmespath.org)") from None
    return value


Query = Annotated[
    str | None,
    typer.Option(
        "--query",
        metavar="JMESPATH",
        callback=_check_query,
        help="JMESPath query applied to the output document (see https://jmespath.org).",
        rich_help_panel=GLOBAL_PANEL,
    ),
]
AllowIncompatibleImages = Annotated[
    bool,
    typer.Option(
        "--allow-incompatible-images",
        help="Go ahead although a workload's image cannot run on the new pool's Windows build (its pods will "
        "not start).",
    ),
]
Apply = Annotated[
    bool,
    typer.Option("--apply", help="Apply the plan (default: show it only).", rich_help_panel=RUN_PANEL),
]
PlanOnly = Annotated[
    bool, typer.Option("--plan", help="Show the plan only (the default).", rich_help_panel=RUN_PANEL)
]
Yes = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Apply without asking for confirmation.", rich_help_panel=RUN_PANEL),
]
NoWait = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        help="Start the first change, print the plan id and return; follow it with status and resume.",
        rich_help_panel=RUN_PANEL,
    ),
]
Checkpoint = Annotated[
    str | None,
    typer.Option(
        "--checkpoint",
        metavar="FILE|URL",
        help="Where progress and leases are kept: a SQLite file (.sqlite, .db), a JSON file (single user), "
        "memory: or a Blob container URL. Default: AKS_WINDOWS_OPS_CHECKPOINTS, else the SQLite database "
        "checkpoints.sqlite in your state directory (AKS_WINDOWS_OPS_STATE_DIR, else "
        "~/.local/state/aks-windows-ops); with --simulate, the twin's own store, apart from real runs.",
        rich_help_panel=RUN_PANEL,
    ),
]
TimeBudget = Annotated[
    str | None,
    typer.Option(
        "--time-budget",
        metavar="DURATION",
        help=f"Stop cleanly after this long, e.g. 90s, 5m or 2h (default {DEFAULT_TIME_BUDGET}); run again "
        "to resume.",
        rich_help_panel=RUN_PANEL,
    ),
]

_DURATION = re.compile(r"^\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
#: Longer than any operation could take; larger values are typing mistakes.
_MAX_SECONDS = 30 * 86400.0


def parse_duration(
    text: str | None, option: str = "--time-budget", *, default: str | None = None
) -> float | None:
    """Parse a duration such as ``90s``, ``5m``, ``2h``, ``1d`` or plain seconds, for a time limit option.

    Time budgets bound every wait of a procedure (a stuck operation ends with a clear error, the run can be
    resumed from its checkpoint).

    Args:
        text: the value given, or ``None``.
        option: the option's name, for the error message.
        default: used when ``text`` is ``None``.

    Raises:
        InvalidInput: not a positive, finite duration of at most 30 days.
    """
    if text is None:
        text = default
    if text is None:
        return None
    match = _DURATION.match(text)
    accepted = "a positive duration such as 90s, 5m, 2h or 1d"
    if match is None:
        raise E.InvalidInput(
            f"{option} must be {accepted}, got {text[:40]!r}",
            remediation="Give a number followed by s, m, h or d, e.g. 45m.",
        )
    seconds = float(match.group("value")) * _UNITS[match.group("unit").lower()]
    if not math.isfinite(seconds) or seconds <= 0 or seconds > _MAX_SECONDS:
        raise E.InvalidInput(
            f"{option} must be {accepted} (at most 30 days), got {text[:40]!r}",
            remediation="Give a duration above zero and at most 30 days, e.g. 45m.",
        )
    return seconds


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


def check_env_name(name: str, option: str = "--password-env") -> str:
    """Check that ``name`` looks like an environment variable name, without ever repeating it.

    A value given where a variable name belongs is likely the secret itself, so the message does not echo it.

    Raises:
        InvalidInput: not letters, digits and underscores starting with a letter or underscore.
    """
    if not _ENV_NAME.match(name):
        raise E.InvalidInput(
            f"{option} takes the name of an environment variable (letters, digits and underscores, e.g. "
            "NEW_WIN_PW), not the password itself; the value given is not shown",
            remediation="Put the password in an environment variable and pass that variable's name.",
        )
    return name


def check_password_fd(fd: int, option: str = "--password-fd") -> int:
    """Check that ``fd`` is an open file descriptor the password can be read from.

    Raises:
        InvalidInput: negative, or not open in this process.
    """
    if fd < 0:
        raise E.InvalidInput(
            f"{option} must be an open file descriptor number (0 or more), got {fd}",
            remediation="Redirect the password into a descriptor, e.g. `3< password.txt`, and pass its number.",
        )
    try:
        os.fstat(fd)
    except OSError:
        raise E.InvalidInput(
            f"{option} {fd}: file descriptor {fd} is not open; open it in the shell, e.g. "
            f"`{fd}< password.txt`",
            remediation="Redirect the password into that descriptor when you run the command.",
        ) from None
    return fd


_VERSION = re.compile(r"^v?\d{1,2}\.\d{1,3}(\.\d{1,3})?$")
_WINDOWS_SKU = re.compile(r"^windows[ -]?(2019|2022|2025)$", re.IGNORECASE)


def check_kubernetes_version(value: str | None, option: str = "--kubernetes-version") -> str | None:
    """Check the shape of a Kubernetes version (``1.36.3`` or ``1.36``); the region's list decides the rest.

    Raises:
        InvalidInput: not MAJOR.MINOR or MAJOR.MINOR.PATCH.
    """
    if value is not None and not _VERSION.match(value.strip()):
        raise E.InvalidInput(
            f"{option} must look like 1.36 or 1.36.3, got {value[:40]!r}",
            remediation="`az aks get-versions -l LOCATION -o table` lists the versions of your region.",
        )
    return value


def check_windows_sku(value: str | None, option: str = "--os-sku") -> str | None:
    """Check that an OS SKU names a Windows Server version AKS offers for node pools (FAQ: Windows Server versions).

    Raises:
        InvalidInput: not Windows2019, Windows2022 or Windows2025 (any case).
    """
    if value is not None and not _WINDOWS_SKU.match(value.strip()):
        raise E.InvalidInput(
            f"{option} must be Windows2022, Windows2025 or Windows2019, got {value[:40]!r}",
            remediation="Choose one of those Windows Server versions.",
        )
    return value
