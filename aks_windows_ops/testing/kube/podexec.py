"""The exec subresource of the fake API server: a WebSocket endpoint and a small Windows container shell.

``kubernetes.stream.stream(CoreV1Api.connect_get_namespaced_pod_exec, ...)`` opens a WebSocket (RFC 6455) to
``/api/v1/namespaces/{ns}/pods/{name}/exec?command=...`` offering the ``v5.channel.k8s.io`` and
``v4.channel.k8s.io`` subprotocols. Each binary message starts with a channel byte: 1 stdout, 2 stderr, 3 the
final ``Status`` (v4/v5: JSON; plain ``channel.k8s.io``: the error text only). The server then closes the
socket, which is how the client knows the command ended.

The framing is small enough to write out here (server frames are unmasked, client frames masked), which keeps
the fake on the standard library's ``ThreadingHTTPServer``.

What runs inside a container is emulated just far enough for the FAQ's "How do I change the time zone of a
running container?": ``powershell -Command`` (or ``pwsh``) with ``Get-TimeZone`` (``-ListAvailable``, ``-Id``,
``-Name``), ``(Get-TimeZone).Id``, ``Set-TimeZone -Id|-Name`` (``-PassThru``), the pipeline stages
``ConvertTo-Json``, ``Select-Object [-ExpandProperty] ...``, ``ForEach-Object { $_.Prop }``, ``Format-List``,
``Out-String``, plus ``Write-Output``/``echo`` and ``hostname``. Each container keeps its own time zone (``UTC``
until set) for as long as the pod lives: a recreated pod starts at ``UTC`` again, as a real one would. Linux
containers and nanoserver images have no PowerShell and fail the way containerd reports it; a container running
as ``ContainerUser`` may not change the time zone.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import hashlib
import json
import re
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

__all__ = [
    "SUPPORTED_PROTOCOLS",
    "ExecResult",
    "ExecState",
    "TimeZoneRecord",
    "choose_protocol",
    "encode_frame",
    "exec_status",
    "read_frame",
    "run_in_container",
    "session_frames",
    "websocket_accept",
    "windows_time_zones",
]

#: Subprotocols the endpoint speaks, best first (the client's order of preference decides among them).
SUPPORTED_PROTOCOLS: tuple[str, ...] = ("v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io")
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OPCODE_CONT, OPCODE_TEXT, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG = 0, 1, 2, 8, 9, 10
STDOUT, STDERR, ERROR = 1, 2, 3
_MAX_CLIENT_FRAME = 1 << 20
_POWERSHELL = ("powershell", "powershell.exe", "pwsh", "pwsh.exe")
_DEFAULT_ZONE = "UTC"


# --- WebSocket framing (RFC 6455) ---------------------------------------------------------------------------


def websocket_accept(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` answer to a client's ``Sec-WebSocket-Key``."""
    digest = hashlib.sha1((key.strip() + _WS_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def choose_protocol(offered: str | None) -> str | None:
    """Pick the first subprotocol the client offered that this server speaks (``None``: none of them)."""
    for item in (offered or "").split(","):
        name = item.strip()
        if name in SUPPORTED_PROTOCOLS:
            return name
    return None


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame (servers never mask)."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + struct.pack("!H", size)
    else:
        head += bytes([127]) + struct.pack("!Q", size)
    return head + payload


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError("the client closed the connection")
        data += chunk
    return data


def read_frame(stream: BinaryIO) -> tuple[int, bytes]:
    """Read one message from a client, joining continuation frames; return ``(opcode, payload)``.

    Raises:
        EOFError: the connection closed.
        ValueError: a frame breaks the protocol (unmasked, or larger than 1 MiB).
    """
    opcode_first: int | None = None
    parts: list[bytes] = []
    while True:
        b1, b2 = _read_exact(stream, 2)
        fin, opcode = bool(b1 & 0x80), b1 & 0x0F
        masked, size = bool(b2 & 0x80), b2 & 0x7F
        if size == 126:
            size = struct.unpack("!H", _read_exact(stream, 2))[0]
        elif size == 127:
            size = struct.unpack("!Q", _read_exact(stream, 8))[0]
        if not masked:
            raise ValueError("client frames must be masked")
        if size > _MAX_CLIENT_FRAME:
            raise ValueError("client frame too large")
        mask = _read_exact(stream, 4)
        raw = _read_exact(stream, size)
        payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(raw))
        if opcode >= OPCODE_CLOSE:  # control frames may arrive between fragments
            return opcode, payload
        if opcode_first is None:
            opcode_first = opcode
        parts.append(payload)
        if fin:
            return opcode_first, b"".join(parts)


# --- time zones ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeZoneRecord:
    """What ``Get-TimeZone`` shows for one Windows time zone (a ``System.TimeZoneInfo``)."""

    id: str
    display_name: str
    standard_name: str
    daylight_name: str
    base_offset_minutes: int
    supports_dst: bool

    def _offset_text(self) -> str:
        sign = "-" if self.base_offset_minutes < 0 else ""
        hours, minutes = divmod(abs(self.base_offset_minutes), 60)
        return f"{sign}{hours:02d}:{minutes:02d}:00"

    def properties(self) -> dict[str, Any]:
        """The object's properties in PowerShell's order (``BaseUtcOffset`` as ``ConvertTo-Json`` shows it)."""
        ticks = self.base_offset_minutes * 60 * 10_000_000
        hours, minutes = divmod(abs(self.base_offset_minutes), 60)
        sign = -1 if self.base_offset_minutes < 0 else 1
        return {
            "Id": self.id,
            "DisplayName": self.display_name,
            "StandardName": self.standard_name,
            "DaylightName": self.daylight_name,
            "BaseUtcOffset": {
                "Ticks": ticks,
                "Days": 0,
                "Hours": sign * hours,
                "Milliseconds": 0,
                "Minutes": sign * minutes,
                "Seconds": 0,
                "TotalDays": self.base_offset_minutes / 1440,
                "TotalHours": self.base_offset_minutes / 60,
                "TotalMilliseconds": self.base_offset_minutes * 60_000.0,
                "TotalMinutes": float(self.base_offset_minutes),
                "TotalSeconds": self.base_offset_minutes * 60.0,
            },
            "SupportsDaylightSavingTime": self.supports_dst,
        }

    def display_value(self, prop: str) -> str:
        """How the default formatter prints one property."""
        if prop == "BaseUtcOffset":
            return self._offset_text()
        value = self.properties()[prop]
        if isinstance(value, bool):
            return "True" if value else "False"
        return str(value)


def _offsets(iana: str) -> tuple[int, bool]:
    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(iana)
    except Exception:  # no tz database on this machine: every zone looks like UTC
        return 0, False
    values = []
    for month in (1, 7):
        moment = _dt.datetime(2026, month, 15, 12, tzinfo=zone)
        offset = moment.utcoffset() or _dt.timedelta(0)
        dst = moment.dst() or _dt.timedelta(0)
        values.append((int((offset - dst).total_seconds() // 60), bool(dst)))
    return values[0][0], values[0][1] or values[1][1]


@functools.lru_cache(maxsize=1)
def windows_time_zones() -> dict[str, TimeZoneRecord]:
    """The time zones a Windows Server container lists, by id (CLDR windowsZones, as ``tzlocal`` ships it)."""
    from tzlocal.windows_tz import win_tz

    out: dict[str, TimeZoneRecord] = {}
    for win_id in sorted(win_tz):
        iana = str(win_tz[win_id])
        minutes, dst = _offsets(iana)
        if win_id == "UTC":
            display = "(UTC) Coordinated Universal Time"
            standard = daylight = "Coordinated Universal Time"
        else:
            sign = "-" if minutes < 0 else "+"
            hours, rest = divmod(abs(minutes), 60)
            city = iana.rsplit("/", 1)[-1].replace("_", " ")
            display = f"(UTC{sign}{hours:02d}:{rest:02d}) {city}"
            standard = win_id
            daylight = win_id.replace("Standard Time", "Daylight Time")
        out[win_id] = TimeZoneRecord(win_id, display, standard, daylight, minutes, dst)
    return out


# --- container state ----------------------------------------------------------------------------------------


@dataclass
class ExecState:
    """Per-container state that commands change: the time zone, keyed by pod uid and container name."""

    time_zones: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def time_zone(self, pod_uid: str, container: str) -> str:
        """The container's current time zone id (``UTC`` until something sets it)."""
        with self.lock:
            return self.time_zones.get((pod_uid, container), _DEFAULT_ZONE)

    def set_time_zone(self, pod_uid: str, container: str, zone_id: str) -> None:
        """Change one container's time zone."""
        with self.lock:
            self.time_zones[(pod_uid, container)] = zone_id


@dataclass(frozen=True)
class ExecResult:
    """What a command printed and how it ended."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


@dataclass(frozen=True)
class _Container:
    pod_uid: str
    pod_name: str
    name: str
    image: str
    windows: bool
    run_as: str | None


def _container_info(pod: Mapping[str, Any], container: str, node: Mapping[str, Any] | None) -> _Container:
    spec = pod.get("spec") or {}
    entry: Mapping[str, Any] = next(
        (c for c in spec.get("containers") or [] if c.get("name") == container), {}
    )
    labels = ((node or {}).get("metadata") or {}).get("labels") or {}
    os_name = labels.get("kubernetes.io/os") or ((spec.get("os") or {}).get("name")) or "linux"
    pod_user = ((spec.get("securityContext") or {}).get("windowsOptions") or {}).get("runAsUserName")
    user = ((entry.get("securityContext") or {}).get("windowsOptions") or {}).get("runAsUserName") or pod_user
    return _Container(
        pod_uid=str((pod.get("metadata") or {}).get("uid")),
        pod_name=str((pod.get("metadata") or {}).get("name")),
        name=container,
        image=str(entry.get("image") or ""),
        windows=str(os_name).lower() == "windows",
        run_as=str(user) if user else None,
    )


# --- a little PowerShell ------------------------------------------------------------------------------------


class _PsError(Exception):
    """A non-terminating cmdlet error: PowerShell prints it and ``-Command`` exits 1."""


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quote, depth = [], "", "", 0
    for ch in text:
        if quote:
            current += ch
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch == separator and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


_TOKEN = re.compile(r'"([^"]*)"|\'([^\']*)\'|(\{[^}]*\})|(\S+)')


def _tokens(stage: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in _TOKEN.finditer(stage)]


def _parameters(tokens: Sequence[str], switches: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    named: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    lowered = [s.lower() for s in switches]
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("-") and len(token) > 1 and not token[1].isdigit():
            key = token[1:].rstrip(":").lower()
            if key in lowered or i + 1 >= len(tokens):
                named[key] = "true"
                i += 1
                continue
            named[key] = tokens[i + 1]
            i += 2
            continue
        positional.append(token)
        i += 1
    return named, positional


def _find_zone(value: str, *, by_name: bool = False, cmdlet: str = "Set-TimeZone") -> TimeZoneRecord:
    zones = windows_time_zones()
    for record in zones.values():
        key = record.standard_name if by_name else record.id
        if key.lower() == value.lower():
            return record
    raise _PsError(
        f"{cmdlet} : The time zone '{value}' was not found on the local computer.\r\n"
        f"    + CategoryInfo          : ObjectNotFound: (:) [{cmdlet}], TimeZoneNotFoundException"
    )


class _Shell:
    def __init__(self, container: _Container, state: ExecState) -> None:
        self.container = container
        self.state = state

    def current(self) -> TimeZoneRecord:
        zone_id = self.state.time_zone(self.container.pod_uid, self.container.name)
        return windows_time_zones().get(zone_id) or windows_time_zones()[_DEFAULT_ZONE]

    def run(self, script: str) -> ExecResult:
        out: list[str] = []
        for statement in _split_outside_quotes(script, ";"):
            try:
                values = self._pipeline(statement)
            except _PsError as err:
                rendered = "".join(out)
                return ExecResult(rendered, f"{err}\r\n", 1)
            out.append(_render(values))
        return ExecResult("".join(out), "", 0)

    def _pipeline(self, statement: str) -> list[Any]:
        stages = _split_outside_quotes(statement, "|")
        values = self._source(stages[0])
        for stage in stages[1:]:
            values = self._stage(stage, values)
        return values

    def _source(self, stage: str) -> list[Any]:
        member = re.fullmatch(r"\(\s*Get-TimeZone\s*\)\.(\w+)", stage, flags=re.IGNORECASE)
        if member:
            return [self._property(self.current(), member.group(1))]
        tokens = _tokens(stage)
        if not tokens:
            return []
        command = tokens[0].lower()
        if command == "get-timezone":
            named, positional = _parameters(tokens[1:], ["ListAvailable"])
            if "listavailable" in named:
                return list(windows_time_zones().values())
            if "id" in named:
                return [_find_zone(named["id"], cmdlet="Get-TimeZone")]
            if "name" in named or positional:
                return [_find_zone(named.get("name") or positional[0], by_name=True, cmdlet="Get-TimeZone")]
            return [self.current()]
        if command == "set-timezone":
            named, positional = _parameters(tokens[1:], ["PassThru", "WhatIf", "Confirm"])
            if self.container.run_as and self.container.run_as.lower() == "containeruser":
                raise _PsError(
                    "Set-TimeZone : Time zone can't be set: a required privilege is not held by the client.\r\n"
                    "    + CategoryInfo          : PermissionDenied: (:) [Set-TimeZone], "
                    "Win32Exception"
                )
            if "id" in named:
                record = _find_zone(named["id"])
            elif "name" in named or positional:
                record = _find_zone(named.get("name") or positional[0], by_name=True)
            else:
                raise _PsError(
                    "Set-TimeZone : Parameter set cannot be resolved using the specified named parameters."
                )
            if "whatif" not in named:
                self.state.set_time_zone(self.container.pod_uid, self.container.name, record.id)
            return [record] if "passthru" in named else []
        if command in ("write-output", "echo"):
            return [" ".join(tokens[1:])]
        if command in ("hostname", "hostname.exe"):
            return [self.container.pod_name]
        raise _PsError(
            f"{tokens[0]} : The term '{tokens[0]}' is not recognized as the name of a cmdlet, function, script "
            "file, or operable program. Check the spelling of the name, or if a path was included, verify that "
            "the path is correct and try again."
        )

    @staticmethod
    def _property(value: Any, prop: str) -> Any:
        if isinstance(value, TimeZoneRecord):
            props = value.properties()
            for key, item in props.items():
                if key.lower() == prop.lower():
                    return value.display_value(key) if key == "BaseUtcOffset" else item
            return None
        if isinstance(value, dict):
            for key, item in value.items():
                if key.lower() == prop.lower():
                    return item
        return None

    def _stage(self, stage: str, values: list[Any]) -> list[Any]:
        tokens = _tokens(stage)
        command = tokens[0].lower() if tokens else ""
        if command == "convertto-json":
            named, _ = _parameters(tokens[1:], ["Compress"])
            data = [v.properties() if isinstance(v, TimeZoneRecord) else v for v in values]
            payload: Any = data[0] if len(data) == 1 else data
            if "compress" in named:
                return [json.dumps(payload, separators=(",", ":"))]
            return [json.dumps(payload, indent=4)]
        if command == "select-object":
            named, positional = _parameters(tokens[1:], [])
            if "expandproperty" in named:
                return [self._property(v, named["expandproperty"]) for v in values]
            props = [
                p.strip() for p in ",".join([*positional, named.get("property", "")]).split(",") if p.strip()
            ]
            return [{p: self._property(v, p) for p in props} for v in values]
        if command in ("foreach-object", "%"):
            block = " ".join(tokens[1:])
            match = re.fullmatch(r"\{\s*\$_\.(\w+)\s*\}", block)
            if not match:
                raise _PsError(f"ForEach-Object : unsupported script block {block}")
            return [self._property(v, match.group(1)) for v in values]
        if command in ("format-list", "fl", "out-string"):
            return [_render(values)]
        raise _PsError(
            f"{tokens[0] if tokens else stage} : The term is not recognized as the name of a cmdlet, function, "
            "script file, or operable program."
        )


def _render(values: Sequence[Any]) -> str:
    """PowerShell's default output: strings as lines, objects as ``Name : Value`` lists."""
    lines: list[str] = []
    for value in values:
        if isinstance(value, TimeZoneRecord):
            names = list(value.properties())
            width = max(len(n) for n in names)
            lines.append("")
            lines.extend(f"{n.ljust(width)} : {value.display_value(n)}" for n in names)
            lines.append("")
        elif isinstance(value, dict):
            width = max((len(str(k)) for k in value), default=0)
            lines.append("")
            lines.extend(f"{str(k).ljust(width)} : {v}" for k, v in value.items())
            lines.append("")
        elif isinstance(value, bool):
            lines.append("True" if value else "False")
        elif value is not None:
            lines.append(str(value))
    return "".join(f"{line}\r\n" for line in lines)


def _powershell_script(args: Sequence[str]) -> str:
    i = 0
    while i < len(args):
        arg = args[i]
        low = arg.lower()
        if low in ("-command", "-c"):
            return " ".join(args[i + 1 :])
        if low in ("-noprofile", "-noninteractive", "-nologo", "-nop"):
            i += 1
            continue
        if low in ("-executionpolicy", "-ep", "-outputformat", "-inputformat"):
            i += 2
            continue
        return " ".join(args[i:])
    return ""


def run_in_container(
    pod: Mapping[str, Any],
    container: str,
    command: Sequence[str],
    state: ExecState,
    *,
    node: Mapping[str, Any] | None = None,
) -> ExecResult:
    """Run ``command`` in one container of ``pod`` (see the module docstring for what is emulated).

    Args:
        pod: the pod object.
        container: the container's name.
        command: the ``command`` query parameters, in order.
        state: per-container state.
        node: the node the pod runs on; its ``kubernetes.io/os`` label decides Windows or Linux.
    """
    info = _container_info(pod, container, node)
    if not command:
        return ExecResult("", "you must specify at least one command for the container\n", 1)
    executable = command[0].rsplit("\\", 1)[-1]
    wants_powershell = executable.lower() in _POWERSHELL
    if wants_powershell and (not info.windows or "nanoserver" in info.image.lower()):
        path = "%PATH%" if info.windows else "$PATH"
        return ExecResult(
            "",
            "OCI runtime exec failed: exec failed: unable to start container process: exec: "
            f'"{command[0]}": executable file not found in {path}: unknown\r\n',
            126,
        )
    if wants_powershell:
        return _Shell(info, state).run(_powershell_script(command[1:]))
    if executable.lower() in ("hostname", "hostname.exe"):
        return ExecResult(f"{info.pod_name}\n", "", 0)
    return ExecResult(
        "",
        "OCI runtime exec failed: exec failed: unable to start container process: exec: "
        f'"{command[0]}": executable file not found in {"%PATH%" if info.windows else "$PATH"}: unknown\r\n',
        126,
    )


def exec_status(result: ExecResult, command: Sequence[str]) -> dict[str, Any]:
    """The ``Status`` the API server writes on the error channel when the command ends."""
    if result.exit_code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": (
            "command terminated with non-zero exit code: error executing command "
            f"[{' '.join(command)}], exit code {result.exit_code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(result.exit_code)}]},
    }


def session_frames(result: ExecResult, command: Sequence[str], protocol: str) -> list[bytes]:
    """The WebSocket frames that carry a finished command's output, status and close."""
    frames = []
    for channel, text in ((STDOUT, result.stdout), (STDERR, result.stderr)):
        data = text.encode("utf-8")
        for start in range(0, len(data), 32 * 1024):
            frames.append(encode_frame(OPCODE_BINARY, bytes([channel]) + data[start : start + 32 * 1024]))
    status = exec_status(result, command)
    if protocol == "channel.k8s.io":
        if result.exit_code != 0:
            frames.append(encode_frame(OPCODE_BINARY, bytes([ERROR]) + status["message"].encode("utf-8")))
    else:
        frames.append(encode_frame(OPCODE_BINARY, bytes([ERROR]) + json.dumps(status).encode("utf-8")))
    frames.append(encode_frame(OPCODE_CLOSE, struct.pack("!H", 1000)))
    return frames
