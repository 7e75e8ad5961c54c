"""Time zone of a running Windows container (FAQ "How do I change the time zone of a running container?").

The real ``kubernetes`` client's exec (``kubernetes.stream``) talks WebSocket to FakeKubernetes.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import websocket
from kubernetes import client
from kubernetes.stream import stream
from typer.testing import CliRunner
from tzlocal.windows_tz import tz_win, win_tz

from aks_windows_ops import errors as E
from aks_windows_ops.cli import app
from aks_windows_ops.kube.timezone import (
    ContainerCommandFailed,
    get_container_timezone,
    list_time_zones,
    resolve_time_zone_id,
    set_container_timezone,
    windows_time_zone_ids,
)
from aks_windows_ops.testing.fake_kube import FakeKubernetes

runner = CliRunner()
SERVERCORE = "mcr.microsoft.com/windows/servercore:ltsc2022"
WIN_TOLERATION = {"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}


def _pod(name: str, *, os_name: str = "windows", containers: Any = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nodeSelector": {"kubernetes.io/os": os_name},
        "containers": containers
        or [{"name": "app", "image": SERVERCORE if os_name == "windows" else "nginx"}],
    }
    if os_name == "windows":
        body["tolerations"] = [WIN_TOLERATION]
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "apps"}, "spec": body}


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        os.environ.pop(name, None)
    with FakeKubernetes(ready_delay=0) as fake:
        fake.sync_pool(
            "win22",
            os_type="Windows",
            os_sku="Windows2022",
            count=2,
            taints=["os=windows:NoSchedule"],
            kubernetes_version="1.33.2",
            max_pods=30,
        )
        fake.sync_pool("system", count=1, kubernetes_version="1.33.2", mode="System")
        fake.apply(
            [
                _pod("web"),
                _pod("linux", os_name="linux"),
                _pod(
                    "sidecars",
                    containers=[
                        {"name": "app", "image": SERVERCORE},
                        {"name": "logger", "image": SERVERCORE},
                    ],
                ),
                _pod(
                    "nano",
                    containers=[{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}],
                ),
                _pod(
                    "agent",
                    securityContext={
                        "windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\SYSTEM"}
                    },
                    hostNetwork=True,
                ),
                _pod("limited", securityContext={"windowsOptions": {"runAsUserName": "ContainerUser"}}),
                _pod("waiting", nodeSelector={"kubernetes.io/os": "windows", "agentpool": "nosuchpool"}),
            ]
        )
        # A pod on a Linux node whose spec says nothing about the OS: only the node tells.
        fake.apply(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "unlabelled", "namespace": "apps"},
                "spec": {
                    "nodeSelector": {"agentpool": "system"},
                    "containers": [{"name": "app", "image": "nginx"}],
                },
            }
        )
        fake.settle()
        yield fake


@pytest.fixture
def api(kube: FakeKubernetes) -> Iterator[Any]:
    api_client = kube.api_client()
    yield api_client
    api_client.close()


def _execs(kube: FakeKubernetes) -> list[str]:
    return [urllib.parse.unquote(r.query) for r in kube.requests if r.path.endswith("/exec")]


# --- ids -------------------------------------------------------------------------------------------------------


def test_windows_ids_resolve_to_themselves_in_any_case() -> None:
    ids = windows_time_zone_ids()
    assert "Russian Standard Time" in ids and "UTC" in ids and len(ids) > 100
    for windows_id in ids:
        assert resolve_time_zone_id(windows_id.upper()).windows_id == windows_id


@pytest.mark.parametrize(
    "iana", ["Europe/Moscow", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "Etc/UTC"]
)
def test_iana_names_are_refused_with_the_windows_id_unless_translated(iana: str) -> None:
    with pytest.raises(E.InvalidInput) as info:
        resolve_time_zone_id(iana)
    assert tz_win[iana] in str(info.value) and "IANA" in str(info.value)
    choice = resolve_time_zone_id(iana.lower(), translate=True)
    assert choice.windows_id == tz_win[iana] and choice.translated_from == iana
    assert choice.note is not None and tz_win[iana] in choice.note


def test_every_iana_name_translates_to_a_listed_windows_id() -> None:
    for iana, windows_id in tz_win.items():
        if not iana:  # the CLDR table carries one empty alias
            continue
        assert resolve_time_zone_id(iana, translate=True).windows_id == windows_id
        assert windows_id in win_tz


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("Russian Standrd Time", "Russian Standard Time"),
        ("Moscow Time", "Russian Standard Time"),
        ("pacific", "Pacific Standard Time"),
    ],
)
def test_unknown_ids_are_refused_with_suggestions(text: str, suggested: str) -> None:
    with pytest.raises(E.InvalidInput) as info:
        resolve_time_zone_id(text)
    assert "did you mean" in str(info.value) and suggested in str(info.value)


@pytest.mark.parametrize("text", ["", "   ", 'UTC"; Remove-Item C:\\ -Recurse; "'])
def test_empty_and_injected_ids_are_refused(text: str) -> None:
    with pytest.raises(E.InvalidInput):
        resolve_time_zone_id(text)


# --- against the Kubernetes simulator -------------------------------------------------------------------------


def test_set_runs_set_timezone_then_reads_it_back(kube: FakeKubernetes, api: Any) -> None:
    assert get_container_timezone(api, "apps", "web") == "UTC"
    kube.clear_requests()
    assert set_container_timezone(api, "apps", "web", "russian standard time") == "Russian Standard Time"
    assert kube.container_time_zone("apps", "web") == "Russian Standard Time"
    execs = _execs(kube)
    assert len(execs) == 2
    assert "Set-TimeZone" in execs[0] and "Russian Standard Time" in execs[0] and "powershell" in execs[0]
    assert "Get-TimeZone" in execs[1]
    assert get_container_timezone(api, "apps", "web") == "Russian Standard Time"


def test_an_iana_name_is_set_only_when_translation_is_asked(kube: FakeKubernetes, api: Any) -> None:
    kube.clear_requests()
    with pytest.raises(E.InvalidInput):
        set_container_timezone(api, "apps", "web", "Asia/Tokyo")
    assert kube.requests == []  # refused before any request
    assert set_container_timezone(api, "apps", "web", "Asia/Tokyo", translate=True) == "Tokyo Standard Time"


@pytest.mark.parametrize("bad", [{"namespace": "Apps"}, {"pod": "Web_1"}, {"container": "A B"}])
def test_bad_names_are_refused_before_any_request(
    kube: FakeKubernetes, api: Any, bad: dict[str, str]
) -> None:
    args = {"namespace": "apps", "pod": "web", "container": None, **bad}
    kube.clear_requests()
    with pytest.raises(E.InvalidInput):
        set_container_timezone(api, args["namespace"], args["pod"], "UTC", args["container"])
    assert kube.requests == []


@pytest.mark.parametrize("pod", ["linux", "unlabelled"])
def test_linux_pods_are_refused_without_exec(kube: FakeKubernetes, api: Any, pod: str) -> None:
    kube.clear_requests()
    with pytest.raises(E.InvalidInput) as info:
        set_container_timezone(api, "apps", pod, "UTC")
    assert "Linux" in str(info.value) and "TZ" in info.value.remediation
    assert _execs(kube) == []


def test_host_process_containers_are_refused_as_unsafe(kube: FakeKubernetes, api: Any) -> None:
    kube.clear_requests()
    with pytest.raises(E.UnsafeOperation) as info:
        set_container_timezone(api, "apps", "agent", "UTC")
    assert "node" in str(info.value)
    assert _execs(kube) == []
    assert get_container_timezone(api, "apps", "agent") == "UTC"  # reading is harmless


def test_container_user_is_refused_before_exec_and_the_fake_agrees(kube: FakeKubernetes, api: Any) -> None:
    kube.clear_requests()
    with pytest.raises(E.InvalidInput) as info:
        set_container_timezone(api, "apps", "limited", "UTC")
    assert "ContainerAdministrator" in info.value.remediation
    assert _execs(kube) == []
    ws = stream(
        client.CoreV1Api(api).connect_get_namespaced_pod_exec,
        "limited",
        "apps",
        command=["powershell", "-Command", 'Set-TimeZone -Id "UTC"'],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    ws.run_forever(timeout=10)
    assert ws.returncode == 1 and "privilege" in ws.read_stderr()
    ws.close()


def test_an_image_without_powershell_fails_with_a_remediation(api: Any) -> None:
    with pytest.raises(ContainerCommandFailed) as info:
        set_container_timezone(api, "apps", "nano", "UTC")
    assert info.value.exit_code == 126
    assert "executable file not found" in info.value.stderr
    assert "nanoserver" in info.value.remediation


def test_a_pod_with_several_containers_needs_one_named(kube: FakeKubernetes, api: Any) -> None:
    with pytest.raises(E.InvalidInput) as info:
        set_container_timezone(api, "apps", "sidecars", "UTC")
    assert "app, logger" in str(info.value)
    with pytest.raises(E.InvalidInput):
        set_container_timezone(api, "apps", "sidecars", "UTC", "nosuch")
    set_container_timezone(api, "apps", "sidecars", "Tokyo Standard Time", "logger")
    assert kube.container_time_zone("apps", "sidecars", "logger") == "Tokyo Standard Time"
    assert kube.container_time_zone("apps", "sidecars", "app") == "UTC"


def test_pending_and_missing_pods(api: Any) -> None:
    with pytest.raises(E.InvalidInput) as info:
        set_container_timezone(api, "apps", "waiting", "UTC")
    assert "Pending" in str(info.value)
    with pytest.raises(E.NotFound):
        get_container_timezone(api, "apps", "ghost")


def test_list_returns_the_windows_catalog(api: Any) -> None:
    zones = list_time_zones(api, "apps", "web")
    assert set(zones) == set(windows_time_zone_ids())


def test_a_recreated_pod_starts_at_utc_again(kube: FakeKubernetes, api: Any) -> None:
    set_container_timezone(api, "apps", "web", "Russian Standard Time")
    kube.delete("Pod", "web", "apps")
    kube.apply(_pod("web"))
    kube.settle()
    assert get_container_timezone(api, "apps", "web") == "UTC"


# --- the fake's exec endpoint ----------------------------------------------------------------------------------


def _ws_url(kube: FakeKubernetes, pod: str, command: list[str]) -> str:
    query = "&".join(f"command={urllib.request.quote(c)}" for c in command)
    return f"{kube.url.replace('http', 'ws', 1)}/api/v1/namespaces/apps/pods/{pod}/exec?{query}&stdout=true&stderr=true"


def _collect(conn: websocket.WebSocket) -> dict[int, bytes]:
    channels: dict[int, bytes] = {}
    while True:
        opcode, data = conn.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return channels
        channels[data[0]] = channels.get(data[0], b"") + data[1:]


def test_the_plain_channel_protocol_and_powershell_list_output(kube: FakeKubernetes) -> None:
    kube.set_container_time_zone("apps", "web", "Tokyo Standard Time")
    conn = websocket.create_connection(
        _ws_url(kube, "web", ["powershell", "-Command", "Get-TimeZone"]),
        header=[f"Authorization: Bearer {kube.token}", "Sec-WebSocket-Protocol: channel.k8s.io"],
        sslopt={"ca_certs": kube.ca_file},
    )
    channels = _collect(conn)
    conn.close()
    assert conn.getheaders()["sec-websocket-protocol"] == "channel.k8s.io"
    assert "Id                         : Tokyo Standard Time" in channels[1].decode()
    assert 3 not in channels  # success writes nothing on the error channel of the plain protocol


def test_the_v4_protocol_reports_failures_as_a_status(kube: FakeKubernetes) -> None:
    conn = websocket.create_connection(
        _ws_url(kube, "web", ["powershell", "-Command", "Get-Date"]),
        header=[f"Authorization: Bearer {kube.token}", "Sec-WebSocket-Protocol: v4.channel.k8s.io"],
        sslopt={"ca_certs": kube.ca_file},
    )
    channels = _collect(conn)
    conn.close()
    status = json.loads(channels[3])
    assert status["reason"] == "NonZeroExitCode" and status["details"]["causes"][0]["message"] == "1"
    assert "not recognized" in channels[2].decode()


def test_exec_needs_a_token_and_an_upgrade(kube: FakeKubernetes) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(
            _ws_url(kube, "web", ["powershell"]),
            header=["Authorization: Bearer wrong"],
            sslopt={"ca_certs": kube.ca_file},
        )
    assert info.value.status_code == 401
    request = urllib.request.Request(
        f"{kube.url}/api/v1/namespaces/apps/pods/web/exec?command=hostname",
        headers={"Authorization": f"Bearer {kube.token}"},
    )
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=kube.ssl_context())
    )
    with pytest.raises(urllib.error.HTTPError) as http:
        opener.open(request, timeout=5)
    assert http.value.code == 400 and "Upgrade request required" in http.value.read().decode()


# --- CLI ------------------------------------------------------------------------------------------------------


def test_cli_sets_and_gets_on_a_simulated_cluster() -> None:
    result = runner.invoke(
        app, ["timezone", "set", "--simulate", "healthy", "--id", "Russian Standard Time", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "pod": "default/win-demo",
        "container": None,
        "time_zone": "Russian Standard Time",
    }
    got = runner.invoke(app, ["timezone", "get", "--simulate", "ws2019-retiring", "--namespace", "shop"])
    assert got.exit_code == 0, got.output
    assert "shop/win-demo: UTC" in got.stdout


def test_cli_translates_only_when_asked() -> None:
    refused = runner.invoke(app, ["timezone", "set", "--simulate", "healthy", "--id", "Europe/Moscow"])
    assert refused.exit_code == 4
    assert "Russian Standard Time" in refused.output
    done = runner.invoke(
        app,
        ["timezone", "set", "--simulate", "healthy", "--id", "Europe/Moscow", "--translate", "-o", "json"],
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["translated_from"] == "Europe/Moscow"


def test_cli_refuses_a_linux_pod_and_a_missing_target() -> None:
    linux = runner.invoke(app, ["timezone", "get", "--simulate", "subnet-full", "--pod", "linux-demo"])
    assert linux.exit_code == 4 and "Linux" in linux.output
    no_pod = runner.invoke(app, ["timezone", "get", "-g", "rg", "-n", "aks"])
    assert no_pod.exit_code == 4 and "--pod is required" in no_pod.output
    no_id = runner.invoke(app, ["timezone", "set", "--simulate", "healthy"])
    assert no_id.exit_code == 4 and "--id is required" in no_id.output
