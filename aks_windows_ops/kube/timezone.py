"""Change the time zone of a running Windows container (FAQ "How do I change the time zone of a running container?").

The FAQ's recipe is ``kubectl exec -it POD -- powershell`` then ``Set-TimeZone -Id "Russian Standard Time"``, and
``Get-TimeZone`` to check. Here the same commands run through the Kubernetes exec API
(``kubernetes.stream.stream(CoreV1Api.connect_get_namespaced_pod_exec, ...)``, Service facts: Libraries), one
``powershell -Command`` per step, after every check that can be made without exec'ing:

* the id must be a Windows time zone id (CLDR windowsZones via ``tzlocal.windows_tz``); ids are matched
  case-insensitively and returned in Windows' spelling. An IANA name such as ``Europe/Moscow`` is refused with the
  Windows id it maps to (``Russian Standard Time``) unless ``translate=True``: the mapping is many-to-one, so
  the caller confirms it. An unknown id is refused with the closest ids;
* the pod must exist, be Running, and run on Windows (``spec.os.name``, the ``kubernetes.io/os`` node selector,
  and the node's ``kubernetes.io/os`` label when the node can be read): Linux containers have no PowerShell and
  take their zone from the ``TZ`` variable;
* the container must be named when the pod has several;
* a HostProcess container is refused (``Set-TimeZone`` there changes the node's zone for every pod on it), and
  so is a container running as ``ContainerUser``, which lacks the privilege to change the zone.

The change lasts as long as the container: a restarted or recreated pod starts again at its image's zone (UTC on
the Windows base images). Validation happens before any request; the id reaches PowerShell only after it
matched the catalog, so nothing the caller types is ever interpreted as a script.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from kubernetes import client
from kubernetes.stream import stream

from aks_windows_ops.errors import AksWindowsOpsError, InvalidInput, NotFound, UnsafeOperation

__all__ = [
    "ContainerCommandFailed",
    "TimeZoneChoice",
    "get_container_timezone",
    "list_time_zones",
    "resolve_time_zone_id",
    "set_container_timezone",
    "windows_time_zone_ids",
]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# Every Windows id is made of these; checked again right before the id is placed in a PowerShell command.
_SAFE_ID = re.compile(r"^[A-Za-z0-9 .+()-]{1,64}$")
_DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


class ContainerCommandFailed(AksWindowsOpsError):
    """A command run in a container through the exec API failed or printed something unexpected.

    Args:
        message: what failed.
        exit_code: the command's exit code, when it ran.
        stderr: what it wrote to stderr (trimmed).
    """

    default_remediation = (
        "Check that the container image has PowerShell (Windows Server Core or Server; nanoserver has none) and "
        "that the container runs as ContainerAdministrator, then run again."
    )

    def __init__(
        self, message: str, *, exit_code: int | None = None, stderr: str = "", remediation: str | None = None
    ) -> None:
        self.exit_code = exit_code
        self.stderr = stderr
        super().__init__(message, remediation=remediation)


@dataclass(frozen=True)
class TimeZoneChoice:
    """A validated Windows time zone id, and where it came from.

    Attributes:
        requested: what the caller passed.
        windows_id: the Windows id to use, in Windows' spelling.
        translated_from: the IANA name it was translated from, when it was one.
    """

    requested: str
    windows_id: str
    translated_from: str | None = None

    @property
    def note(self) -> str | None:
        """A sentence saying what was translated, or ``None``."""
        if self.translated_from is None:
            return None
        return f"IANA time zone {self.translated_from!r} is Windows time zone {self.windows_id!r}"


def _catalog() -> tuple[dict[str, str], dict[str, str]]:
    from tzlocal.windows_tz import tz_win, win_tz

    # The CLDR table carries an empty alias; it names nothing a caller could type.
    return {k: v for k, v in win_tz.items() if k}, {k: v for k, v in tz_win.items() if k}


def windows_time_zone_ids() -> tuple[str, ...]:
    """Every Windows time zone id (CLDR windowsZones, as ``tzlocal.windows_tz.win_tz`` ships it), sorted."""
    return tuple(sorted(_catalog()[0]))


def resolve_time_zone_id(time_zone_id: str, *, translate: bool = False) -> TimeZoneChoice:
    """Validate a time zone for ``Set-TimeZone -Id`` (FAQ "How do I change the time zone of a running container?").

    Args:
        time_zone_id: a Windows id (``Russian Standard Time``, any case) or, with ``translate``, an IANA name.
        translate: accept an IANA name (``Europe/Moscow``) and use the Windows id CLDR maps it to.

    Returns:
        The Windows id to set, with the translation noted.

    Raises:
        InvalidInput: empty, an IANA name without ``translate`` (the message names the Windows id), or unknown
            (the message lists the closest ids).
    """
    text = (time_zone_id or "").strip()
    if not text:
        raise InvalidInput("the time zone id is empty; pass a Windows id such as 'Russian Standard Time'")
    win_tz, tz_win = _catalog()
    by_lower = {w.lower(): w for w in win_tz}
    if text.lower() in by_lower:
        return TimeZoneChoice(text, by_lower[text.lower()])
    iana = next((name for name in tz_win if name.lower() == text.lower()), None)
    if iana is not None:
        windows_id = tz_win[iana]
        if translate:
            return TimeZoneChoice(text, windows_id, translated_from=iana)
        raise InvalidInput(
            f"{text!r} is an IANA time zone name; Windows containers use Windows ids: {text!r} is "
            f"{windows_id!r}",
            remediation=f"Pass --id {windows_id!r} (or add --translate to accept the mapping).",
        )
    close = _suggestions(text, win_tz, tz_win)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise InvalidInput(
        f"{text!r} is not a Windows time zone id{hint}",
        remediation="List the ids with `aks-windows-ops timezone list` (Get-TimeZone -ListAvailable).",
    )


def _suggestions(
    text: str, win_tz: Mapping[str, str], tz_win: Mapping[str, str], limit: int = 3
) -> list[str]:
    """Windows ids close to ``text``: spelling neighbours, then ids or IANA cities sharing a word with it."""
    out: list[str] = []

    def add(candidate: str) -> None:
        if candidate not in out and len(out) < limit:
            out.append(candidate)

    by_lower = {w.lower(): w for w in win_tz}
    for match in difflib.get_close_matches(text.lower(), list(by_lower), n=limit, cutoff=0.6):
        add(by_lower[match])
    words = [
        w for w in re.split(r"[^a-z0-9]+", text.lower()) if len(w) >= 3 and w not in ("time", "standard")
    ]
    for word in words:
        for windows_id in sorted(win_tz):
            if word in windows_id.lower():
                add(windows_id)
        for iana in sorted(tz_win):
            if word in iana.lower().replace("_", " "):
                add(tz_win[iana])
    return out


def _check_names(namespace: str, pod: str, container: str | None) -> None:
    problems = []
    if not _DNS_LABEL.match(namespace or ""):
        problems.append(f"namespace {namespace!r} is not a valid Kubernetes namespace name")
    if not _DNS_SUBDOMAIN.match(pod or ""):
        problems.append(f"pod {pod!r} is not a valid Kubernetes pod name")
    if container is not None and not _DNS_LABEL.match(container):
        problems.append(f"container {container!r} is not a valid Kubernetes container name")
    if problems:
        raise InvalidInput(problems)


def _api_status(err: client.ApiException) -> int | None:
    if err.status:
        return int(err.status)
    match = re.search(r"Handshake status (\d{3})", str(err.reason or ""))
    return int(match.group(1)) if match else None


def _api_message(err: client.ApiException) -> str:
    for text in (err.body, str(err.reason or "").rsplit("-+-+-", 1)[-1]):
        try:
            data = json.loads(text or "")
        except (TypeError, ValueError):
            continue
        if isinstance(data, dict) and data.get("message"):
            return str(data["message"])
    return str(err.reason or err)


def _raise_api(err: client.ApiException, what: str) -> NoReturn:
    status = _api_status(err)
    message = _api_message(err)
    if status == 404:
        raise NotFound(f"{what}: {message}") from err
    if status in (401, 403):
        raise AksWindowsOpsError(
            f"{what}: the Kubernetes API refused access ({status}): {message}",
            remediation="Use credentials allowed to get pods and create pods/exec in the namespace.",
        ) from err
    if status == 400:
        raise InvalidInput(f"{what}: {message}") from err
    raise AksWindowsOpsError(f"{what}: {message}") from err


def _windows_options(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    options = ((obj or {}).get("securityContext") or {}).get("windowsOptions") or {}
    return options if isinstance(options, Mapping) else {}


def _pod_os(api_client: Any, pod: Mapping[str, Any]) -> str | None:
    spec = pod.get("spec") or {}
    node_name = spec.get("nodeName")
    if node_name:
        try:
            node = client.CoreV1Api(api_client).read_node(node_name)
        except client.ApiException as err:
            if err.status not in (401, 403, 404):
                raise
        else:
            labels = (node.metadata.labels if node.metadata else None) or {}
            if labels.get("kubernetes.io/os"):
                return str(labels["kubernetes.io/os"]).lower()
    os_name = (spec.get("os") or {}).get("name")
    if os_name:
        return str(os_name).lower()
    selector = spec.get("nodeSelector") or {}
    value = selector.get("kubernetes.io/os") or selector.get("beta.kubernetes.io/os")
    return str(value).lower() if value else None


def _target_container(
    api_client: Any, namespace: str, pod: str, container: str | None, *, changing: bool
) -> str:
    """Read the pod and make every check that does not need an exec; return the container to use."""
    core = client.CoreV1Api(api_client)
    where = f"pod {namespace}/{pod}"
    try:
        raw = core.read_namespaced_pod(pod, namespace)
    except client.ApiException as err:
        _raise_api(err, where)
    manifest: dict[str, Any] = api_client.sanitize_for_serialization(raw)
    spec = manifest.get("spec") or {}
    phase = (manifest.get("status") or {}).get("phase")
    if phase != "Running":
        raise InvalidInput(
            f"{where} is {phase or 'not running'}; exec needs a Running pod",
            remediation="Wait until the pod runs (kubectl get pod), then run again.",
        )
    os_name = _pod_os(api_client, manifest)
    if os_name is not None and os_name != "windows":
        raise InvalidInput(
            f"{where} runs on {os_name.capitalize()}; Set-TimeZone and Get-TimeZone are for Windows containers",
            remediation=(
                "For a Linux container set the TZ environment variable in the pod spec (for example "
                "TZ=Europe/Moscow) and restart the pod."
            ),
        )
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    if container is None:
        default = ((manifest.get("metadata") or {}).get("annotations") or {}).get(_DEFAULT_CONTAINER)
        if len(names) == 1:
            container = names[0]
        elif default in names:
            container = str(default)
        else:
            raise InvalidInput(
                f"{where} has {len(names)} containers ({', '.join(names)}); name one with --container",
            )
    if container not in names:
        raise InvalidInput(f"{where} has no container {container!r}; it has {', '.join(names) or 'none'}")
    entry = next(c for c in spec.get("containers") or [] if c.get("name") == container)
    if changing:
        pod_options, options = _windows_options(spec), _windows_options(entry)
        if options.get("hostProcess", pod_options.get("hostProcess")) is True:
            raise UnsafeOperation(
                f"{where} container {container} is a HostProcess container: Set-TimeZone there changes the "
                "node's time zone for every pod on the node",
                remediation="Change the time zone in an ordinary (process-isolated) Windows container instead.",
            )
        user = options.get("runAsUserName") or pod_options.get("runAsUserName")
        if isinstance(user, str) and user.lower() == "containeruser":
            raise InvalidInput(
                f"{where} container {container} runs as ContainerUser, which may not change the time zone",
                remediation=(
                    "Run the container as ContainerAdministrator (securityContext.windowsOptions.runAsUserName) "
                    'or bake the zone into the image (RUN tzutil /s "<id>").'
                ),
            )
    return container


def _powershell(
    api_client: Any, namespace: str, pod: str, container: str, script: str, *, timeout: float
) -> str:
    """Run ``powershell -Command <script>`` in the container through the exec API; return stdout."""
    core = client.CoreV1Api(api_client)
    command = ["powershell", "-NoProfile", "-NonInteractive", "-Command", script]
    where = f"pod {namespace}/{pod} container {container}"
    try:
        ws = stream(
            core.connect_get_namespaced_pod_exec,
            pod,
            namespace,
            command=command,
            container=container,
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            _preload_content=False,
        )
    except client.ApiException as err:
        _raise_api(err, f"exec in {where}")
    try:
        ws.run_forever(timeout=timeout)
        if ws.is_open():
            raise ContainerCommandFailed(
                f"{script!r} in {where} did not finish within {timeout:.0f} s",
                remediation="Check that the container is responsive (kubectl exec), then run again.",
            )
        stdout = str(ws.read_stdout() or "")
        stderr = str(ws.read_stderr() or "")
        exit_code = _exit_code(ws)
    finally:
        ws.close()
    if exit_code != 0:
        first = next((line.strip() for line in stderr.splitlines() if line.strip()), "no error output")
        remediation = None
        if "executable file not found" in stderr:
            remediation = (
                "The image has no PowerShell (nanoserver images have none; Linux images never do): use a Windows "
                'Server Core based image, or set the zone at build time (RUN tzutil /s "<id>").'
            )
        raise ContainerCommandFailed(
            f"{script!r} in {where} failed with exit code {exit_code}: {first}",
            exit_code=exit_code,
            stderr=stderr.strip()[:2000],
            remediation=remediation,
        )
    return stdout


def _exit_code(ws: Any) -> int:
    try:
        return int(ws.returncode)
    except (TypeError, KeyError, IndexError, ValueError, AttributeError):
        # The plain channel.k8s.io protocol writes to the error channel only on failure.
        return 0


def _ids_from_output(text: str) -> list[str]:
    """Time zone ids in ``Get-TimeZone`` output: JSON (object or array), ``Id : ...`` lists, or bare ids."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            data = [data]
        if isinstance(data, list):
            return [str(item["Id"]) for item in data if isinstance(item, dict) and item.get("Id")]
    listed = re.findall(r"^\s*Id\s*:\s*(.+?)\s*$", text, flags=re.MULTILINE)
    if listed:
        return listed
    return [line.strip() for line in text.splitlines() if line.strip()]


def get_container_timezone(
    api_client: Any, namespace: str, pod: str, container: str | None = None, *, timeout: float = 60.0
) -> str:
    """Return a running Windows container's time zone id (``Get-TimeZone``).

    Implements the read side of the FAQ "How do I change the time zone of a running container?".

    Args:
        api_client: a ``kubernetes.client.ApiClient`` (``aks_windows_ops.kube.api_client_from_kubeconfig``).
        namespace: the pod's namespace.
        pod: the pod's name.
        container: the container; required when the pod has several (unless it names a default container).
        timeout: seconds to wait for the command.

    Raises:
        InvalidInput: bad names, the pod is not Running, runs on Linux, or the container is ambiguous.
        NotFound: no such pod.
        ContainerCommandFailed: PowerShell failed or printed no id.
    """
    _check_names(namespace, pod, container)
    chosen = _target_container(api_client, namespace, pod, container, changing=False)
    out = _powershell(
        api_client, namespace, pod, chosen, "Get-TimeZone | ConvertTo-Json -Compress", timeout=timeout
    )
    ids = _ids_from_output(out)
    if not ids:
        raise ContainerCommandFailed(f"Get-TimeZone in pod {namespace}/{pod} printed no time zone id")
    return ids[0]


def list_time_zones(
    api_client: Any, namespace: str, pod: str, container: str | None = None, *, timeout: float = 60.0
) -> list[str]:
    """Return the time zone ids a running Windows container offers (``Get-TimeZone -ListAvailable``).

    Implements the FAQ "How do I change the time zone of a running container?" ("an available list of time
    zones").

    Args:
        api_client: a ``kubernetes.client.ApiClient``.
        namespace: the pod's namespace.
        pod: the pod's name.
        container: the container; required when the pod has several.
        timeout: seconds to wait for the command.

    Raises:
        InvalidInput: bad names, the pod is not Running, runs on Linux, or the container is ambiguous.
        NotFound: no such pod.
        ContainerCommandFailed: PowerShell failed.
    """
    _check_names(namespace, pod, container)
    chosen = _target_container(api_client, namespace, pod, container, changing=False)
    out = _powershell(
        api_client,
        namespace,
        pod,
        chosen,
        "Get-TimeZone -ListAvailable | ConvertTo-Json -Compress",
        timeout=timeout,
    )
    return _ids_from_output(out)


def set_container_timezone(
    api_client: Any,
    namespace: str,
    pod: str,
    time_zone_id: str,
    container: str | None = None,
    *,
    translate: bool = False,
    timeout: float = 60.0,
) -> str:
    """Set a running Windows container's time zone and read it back (FAQ "How do I change the time zone ...").

    Runs ``powershell -Command Set-TimeZone -Id "<id>"`` and then ``Get-TimeZone`` through the exec API. Every
    check in the module docstring runs first; the id is validated before any request.

    Args:
        api_client: a ``kubernetes.client.ApiClient``.
        namespace: the pod's namespace.
        pod: the pod's name.
        time_zone_id: a Windows time zone id (any case), or an IANA name with ``translate=True``.
        container: the container; required when the pod has several (unless it names a default container).
        translate: accept an IANA name and use the Windows id it maps to (see :func:`resolve_time_zone_id`).
        timeout: seconds to wait for each command.

    Returns:
        The container's time zone id as ``Get-TimeZone`` reports it afterwards.

    Raises:
        InvalidInput: an unknown or IANA id, bad names, the pod is not Running, runs on Linux, runs as
            ContainerUser, or the container is ambiguous.
        UnsafeOperation: a HostProcess container (the change would hit the whole node).
        NotFound: no such pod.
        ContainerCommandFailed: PowerShell failed, or the zone read back differs.
    """
    choice = resolve_time_zone_id(time_zone_id, translate=translate)
    _check_names(namespace, pod, container)
    if not _SAFE_ID.match(choice.windows_id):  # pragma: no cover - the catalog holds no such id
        raise InvalidInput(f"refusing time zone id {choice.windows_id!r}: unexpected characters")
    chosen = _target_container(api_client, namespace, pod, container, changing=True)
    _powershell(
        api_client, namespace, pod, chosen, f'Set-TimeZone -Id "{choice.windows_id}"', timeout=timeout
    )
    current = get_container_timezone(api_client, namespace, pod, chosen, timeout=timeout)
    if current.lower() != choice.windows_id.lower():
        raise ContainerCommandFailed(
            f"Set-TimeZone ran in pod {namespace}/{pod} but Get-TimeZone reports {current!r}, not "
            f"{choice.windows_id!r}",
        )
    return current
