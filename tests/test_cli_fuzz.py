"""Every CLI option fed malformed values: exit 4, one line naming the option, no traceback, zero requests.

The commands run against a simulated cluster (``--simulate``); every simulator made during a run is recorded
and must have answered no request, and no network connection may be opened.
"""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from aks_windows_ops.cli import app

runner = CliRunner()

DURATION_OK = re.compile(r"^\s*\d+(\.\d+)?\s*[smhdSMHD]?\s*$")
BAD_DURATIONS = st.one_of(
    st.sampled_from(
        ["5x", "-5m", "nan", "inf", "-inf", "0", "0s", "", " ", "1e400", "5 m m", "-1", "99999d", "1,5m"]
    ),
    st.text(max_size=8).filter(lambda t: not DURATION_OK.match(t) and "\x00" not in t),
)
BAD_INTS = st.one_of(
    st.sampled_from(["abc", "1.5", "", "1e3", "0x10", "--", "١٢"]), st.integers(max_value=-1).map(str)
)
BAD_NAMES = st.one_of(
    st.sampled_from(["", "Win1", "1win", "win-1", "windows7", "w" * 13, "wín", "a b", "a/b"]),
    st.from_regex(r"[A-Z_\-./ ]{1,8}", fullmatch=True),
)
BAD_URLS = st.sampled_from(
    ["notaurl", "http://v.vault.azure.net/secrets/x", "https://v/", "https://v.vault.azure.net/keys/x", ""]
)
BAD_ENV = st.one_of(
    st.sampled_from(["S3cret!pass", "1ABC", "A-B", "", "has space", "pa$$"]),
    st.from_regex(r"[0-9][A-Za-z0-9]{0,8}|[A-Za-z]*[^A-Za-z0-9_\x00]{1,3}", fullmatch=True).filter(
        lambda t: "\x00" not in t
    ),
)
BAD_SUBNET = st.sampled_from(
    [
        "notanid",
        "/subscriptions/x/resourceGroups/rg",
        "subnet-1",
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v",
    ]
)
BAD_SKU = st.sampled_from(["windows", "Windows2016", "Ubuntu", "win2022", "", "Windows 2030"])
BAD_VERSION = st.sampled_from(["latest", "1", "1.x", "one.two", "1.34.2.1", "", "v", "1..2"])
BAD_OUTPUT = st.sampled_from(["xml", "JSONL", "", "tabl", "csv "])
BAD_QUERY = st.sampled_from(["[", "foo[?", "a.b.", "&&", "`unterminated", "@@"])

PLAN = ["--simulate", "healthy"]
#: (command words, option, malformed values): every option that takes a value, of every command.
CASES: list[tuple[list[str], str, Any]] = [
    (["patch", *PLAN, "--node-image-only"], "--time-budget", BAD_DURATIONS),
    (
        ["patch", *PLAN, "--node-image-only"],
        "--max-surge",
        st.sampled_from(["0", "-1", "abc", "101%", "1.5", ""]),
    ),
    (["patch", *PLAN], "--kubernetes-version", BAD_VERSION),
    (["patch", *PLAN], "--output", BAD_OUTPUT),
    (["patch", *PLAN], "--query", BAD_QUERY),
    (["rotate-password", *PLAN], "--password-fd", st.one_of(BAD_INTS, st.sampled_from(["987", "555"]))),
    (["rotate-password", *PLAN], "--password-env", BAD_ENV),
    (["rotate-password", *PLAN], "--key-vault-secret", BAD_URLS),
    (["rotate-password", *PLAN, "--password-env", "PW"], "--time-budget", BAD_DURATIONS),
    (["ahub", "enable", *PLAN], "--node", st.sampled_from(["win22", "a/b/c", "/3", "win22/", ""])),
    (["ahub", "enable", *PLAN], "--time-budget", BAD_DURATIONS),
    (["pool", "add", *PLAN], "--name", BAD_NAMES),
    (["pool", "add", *PLAN, "-n", "win3"], "--node-count", BAD_INTS),
    (
        ["pool", "add", *PLAN, "-n", "win3"],
        "--max-pods",
        st.one_of(BAD_INTS, st.sampled_from(["9", "251", "0"])),
    ),
    (["pool", "add", *PLAN, "-n", "win3"], "--pods", BAD_INTS),
    (["pool", "add", *PLAN, "-n", "win3"], "--label", st.sampled_from(["novalue", "=x", ""])),
    (
        ["pool", "add", *PLAN, "-n", "win3"],
        "--taint",
        st.sampled_from(["k=v", "k=v:Sometimes", ":NoSchedule", ""]),
    ),
    (["pool", "add", *PLAN, "-n", "win3"], "--vnet-subnet-id", BAD_SUBNET),
    (["pool", "add", *PLAN, "-n", "win3"], "--os-sku", BAD_SKU),
    (["pool", "add", *PLAN, "-n", "win3"], "--time-budget", BAD_DURATIONS),
    (
        ["migrate", "--simulate", "ws2019-retiring", "--reason", "os-upgrade"],
        "--pool",
        BAD_NAMES.filter(lambda n: n != "windows7"),
    ),
    (
        ["migrate", "--simulate", "ws2019-retiring", "--pool", "win19"],
        "--reason",
        st.sampled_from(["upgrade", "", "OS"]),
    ),
    (
        ["migrate", "--simulate", "ws2019-retiring", "--pool", "win19", "--reason", "custom"],
        "--drain-timeout",
        BAD_DURATIONS,
    ),
    (
        ["migrate", "--simulate", "ws2019-retiring", "--pool", "win19", "--reason", "custom"],
        "--new-pool",
        BAD_NAMES,
    ),
    (
        ["migrate", "--simulate", "ws2019-retiring", "--pool", "win19", "--reason", "custom"],
        "--os-sku",
        BAD_SKU,
    ),
    (
        ["migrate", "--simulate", "ws2019-retiring", "--pool", "win19", "--reason", "custom"],
        "--max-pods",
        st.sampled_from(["5", "300", "x"]),
    ),
    (["audit", *PLAN], "--concurrency", st.one_of(BAD_INTS, st.sampled_from(["0", "65"]))),
    (["audit", *PLAN], "--time-budget", BAD_DURATIONS),
    (["audit", *PLAN], "--output", BAD_OUTPUT),
    (["audit", *PLAN], "--source", st.sampled_from(["cache", "", "ARM2"])),
    (["show", *PLAN], "--output", BAD_OUTPUT),
    (["show"], "--simulate", st.sampled_from(["nosuch", "/nonexistent/twin.yaml", "healthy.yml"])),
    (["show", *PLAN], "--query", BAD_QUERY),
    (["preflight", *PLAN], "--query", BAD_QUERY),
    (
        ["preflight", *PLAN],
        "--as-of",
        st.sampled_from(["next week", "2026-13-01", "26/11/2026", "2026-11-31", ""]),
    ),
    (["preflight", *PLAN], "--lifecycle-data", st.sampled_from(["/nonexistent/lifecycle.yaml", ".", ""])),
    (["demo"], "--scenario", st.sampled_from(["nope", "", "../healthy"])),
    (["status"], "--output", BAD_OUTPUT),
    (["lease", "show"], "--plan", st.sampled_from(["", " ", "\t"])),
    (["lease", "break", "-g", "rg-prod", "--yes"], "--plan", st.sampled_from(["p1", "patch-0"])),
    (["resume", "x"], "--time-budget", BAD_DURATIONS),
    (["timezone", "get", *PLAN], "--output", BAD_OUTPUT),
    (
        ["twin", "serve", "healthy", "--check"],
        "--arm-port",
        st.one_of(BAD_INTS, st.sampled_from(["65536", "-1"])),
    ),
    (["twin", "serve", "healthy", "--check"], "--time-rate", st.sampled_from(["-1", "nan", "inf", "fast"])),
    (["twin", "serve", "healthy", "--check"], "--kubeconfig", st.sampled_from(["/nonexistent/dir/kc", "/"])),
    (["twin", "serve", "healthy", "--check"], "--env-file", st.sampled_from(["/nonexistent/dir/env", "/"])),
]


@pytest.fixture
def no_requests(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every simulator made, and refuse any network connection."""
    import aks_windows_ops.testing.scenario as scenario

    made: list[Any] = []
    original = scenario.load_scenario

    def load(*args: Any, **kwargs: Any) -> Any:
        fake = original(*args, **kwargs)
        made.append(fake)
        return fake

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a malformed option led to a network connection")

    monkeypatch.setattr(scenario, "load_scenario", load)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return made


def test_every_value_option_is_fuzzed() -> None:
    """Every option that takes a value, of every command, has malformed values above (or is free text)."""
    free_text = {
        "--resource-group",
        "--name",
        "--subscription",
        "--simulate",
        "--checkpoint",
        "--namespace",
        "--pod",
        "--container",
        "--id",
        "--deployment",
        "--service",
        "--out",
        "--node-vm-size",
        "--cluster-name",
        "--pool",
        "--windows-build",
        "--password-env",
        "--key-vault-secret",
    }
    fuzzed = {option for _, option, _ in CASES}

    def walk(command: Any) -> Any:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for sub in subcommands.values():
                yield from walk(sub)
        else:
            yield command

    missing = set()
    for command in walk(typer.main.get_command(app)):
        for param in command.params:
            if param.param_type_name != "option" or getattr(param, "is_flag", False) or param.hidden:
                continue
            name = param.opts[0]
            if name not in fuzzed and name not in free_text:
                missing.add(name)
    assert not missing, f"options without malformed values in this test: {sorted(missing)}"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_malformed_values_are_refused_before_any_request(data: st.DataObject, no_requests: list[Any]) -> None:
    words, option, values = data.draw(st.sampled_from(CASES), label="case")
    value = data.draw(values, label="value")
    before = len(no_requests)
    result = runner.invoke(app, [*words, f"{option}={value}"])
    assert result.exit_code == 4, (words, option, value, result.output)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("ERROR: ") and option in lines[0], (option, value, result.stderr)
    assert len(lines) <= 2, result.stderr
    for fake in no_requests[before:]:
        assert len(fake.journal) == 0, (option, value, [str(r) for r in fake.journal][:3])
