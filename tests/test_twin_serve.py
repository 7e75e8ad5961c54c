"""``aks-windows-ops twin serve``: a twin served over HTTPS to real clients (kubectl, the Azure SDK over HTTP)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.containerservice import ContainerServiceClient

from aks_windows_ops.testing.fake_kube import FakeKubernetes
from aks_windows_ops.testing.scenario import load_scenario
from aks_windows_ops.testing.serve import TwinServer

KUBECTL = shutil.which("kubectl")
SUB = "00000000-0000-0000-0000-000000000001"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(HOME=str(home), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return env


class _Token:
    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("twin", int(time.time()) + 3600)


@pytest.mark.real_process  # the SDK's poller waits the served Retry-After (1 s) in wall time
def test_served_arm_answers_the_real_sdk_over_https_and_polls_point_back(tmp_path: Path) -> None:
    fake = load_scenario("healthy", kube=FakeKubernetes(ready_delay=0))
    server = TwinServer(fake, time_rate=0)
    endpoints = server.start()
    try:
        (sub, rg, name), _ = next(iter(fake.clusters.items()))
        transport = RequestsTransport(connection_verify=endpoints.ca_file, use_env_settings=False)
        client = ContainerServiceClient(
            _Token(), sub, base_url=endpoints.arm_url, transport=transport, polling_interval=0
        )
        cluster = client.managed_clusters.get(rg, name)
        assert cluster.name == name
        creds = client.managed_clusters.list_cluster_user_credentials(rg, name)
        kubeconfig = yaml.safe_load(creds.kubeconfigs[0].value)
        server_entry = kubeconfig["clusters"][0]["cluster"]
        assert (
            server_entry["server"].startswith("https://127.0.0.1:")
            and server_entry["certificate-authority-data"]
        )
        pools = [p.name for p in client.agent_pools.list(rg, name)]
        pool = client.agent_pools.get(rg, name, pools[-1])
        pool.count = (pool.count or 0) + 1
        poller = client.agent_pools.begin_create_or_update(rg, name, pools[-1], pool)
        poll_url = poller.polling_method()._operation.get_polling_url()  # type: ignore[attr-defined]
        assert poll_url.startswith(endpoints.arm_url)
        # Clients are told to poll every second, not every 30 s, while the operation runs.
        initial = poller.polling_method()._initial_response.http_response  # type: ignore[attr-defined]
        assert initial.headers["Retry-After"] == "1"
        while not poller.done():  # virtual time moves as the twin's clock is told to
            fake.clock.advance(60)
            poller.wait(0.01)
        pool = client.agent_pools.get(rg, name, pools[-1])
        assert pool.count == len(fake.kube.nodes(pool=pools[-1]))
        assert pool.provisioning_state == "Succeeded"
    finally:
        server.stop()


@pytest.mark.skipif(KUBECTL is None, reason="the kubectl binary is not installed")
@pytest.mark.real_process
def test_twin_serve_runs_until_sigterm_and_serves_kubectl(tmp_path: Path) -> None:
    kubeconfig, env_file = tmp_path / "twin.kubeconfig", tmp_path / "twin.env"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from aks_windows_ops.cli import main; main()",
            "twin",
            "serve",
            "healthy",
            "--kubeconfig",
            str(kubeconfig),
            "--env-file",
            str(env_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    try:
        deadline = time.monotonic() + 60
        while not kubeconfig.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the kubeconfig never appeared"
            time.sleep(0.1)
        env_lines = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        assert Path(env_lines["REQUESTS_CA_BUNDLE"]).exists() and env_lines["IDENTITY_ENDPOINT"].startswith(
            "https://"
        )
        assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
        done = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(kubeconfig), "get", "nodes"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(tmp_path),
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "Ready" in done.stdout and len(done.stdout.splitlines()) > 1
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "az login --identity" in out and "Stopped." in err


def test_twin_serve_check_prints_the_connection_document_and_refuses_an_unknown_twin(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aks_windows_ops.cli import app

    runner = CliRunner()
    kubeconfig = tmp_path / "kc"
    result = runner.invoke(
        app, ["twin", "serve", "healthy", "--check", "--kubeconfig", str(kubeconfig), "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["arm_url"].startswith("https://127.0.0.1:") and document["kube_url"].startswith(
        "https://"
    )
    assert "az login --identity" in document["az_commands"]
    assert yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["certificate-authority-data"]
    again = runner.invoke(app, ["twin", "serve", "healthy", "--check", "--reset", "-o", "json"])
    assert again.exit_code == 0, again.output
    bad = runner.invoke(app, ["twin", "serve", "no-such-twin", "-o", "json"])
    assert bad.exit_code == 4 and bad.stdout == ""
    assert json.loads(bad.stderr)["error"]["exit_code"] == 4


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.1)


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from aks_windows_ops.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(home),
        check=False,
    )


@pytest.mark.skipif(KUBECTL is None, reason="the kubectl binary is not installed")
@pytest.mark.real_process
def test_twin_serve_serves_the_persisted_twin_and_saves_what_clients_change(tmp_path: Path) -> None:
    # The twin exists before serving: a command with --simulate built it.
    before = _cli(tmp_path, "show", "--simulate", "healthy", "-o", "json")
    assert before.returncode == 0, before.stderr
    pools = {p["name"]: p["count"] for p in json.loads(before.stdout)["pools"]}
    pool = next(name for name in pools if name.startswith("win"))
    kubeconfig, env_file = tmp_path / "twin.kubeconfig", tmp_path / "twin.env"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from aks_windows_ops.cli import main; main()",
            "twin",
            "serve",
            "healthy",
            "--kubeconfig",
            str(kubeconfig),
            "--env-file",
            str(env_file),
            "--time-rate",
            "3600",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    try:
        _wait_for(kubeconfig, process)
        _wait_for(env_file, process)
        env_lines = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        arm_url = env_lines["IDENTITY_ENDPOINT"].removesuffix("/msi/token")
        transport = RequestsTransport(
            connection_verify=env_lines["REQUESTS_CA_BUNDLE"], use_env_settings=False
        )
        client = ContainerServiceClient(_Token(), SUB, base_url=arm_url, transport=transport)
        agent_pool = client.agent_pools.get("rg-prod", "aks-prod", pool)
        assert agent_pool.count == pools[pool]
        agent_pool.count = pools[pool] + 1
        poller = client.agent_pools.begin_create_or_update("rg-prod", "aks-prod", pool, agent_pool)
        # Like `az aks nodepool wait`: read the pool itself until it is done; virtual time moves meanwhile.
        deadline = time.monotonic() + 60
        while client.agent_pools.get("rg-prod", "aks-prod", pool).provisioning_state != "Succeeded":
            assert time.monotonic() < deadline, "the scale never finished"
            time.sleep(0.2)
        assert poller.result().count == pools[pool] + 1
        manifest = tmp_path / "web.yaml"
        manifest.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "rehearsed-web", "namespace": "default"},
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"app": "rehearsed-web"}},
                        "template": {
                            "metadata": {"labels": {"app": "rehearsed-web"}},
                            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                        },
                    },
                }
            )
        )
        applied = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(kubeconfig), "apply", "-f", str(manifest)],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(tmp_path),
            check=False,
        )
        assert applied.returncode == 0, applied.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    after = _cli(tmp_path, "show", "--simulate", "healthy", "-o", "json")
    assert after.returncode == 0, after.stderr
    assert {p["name"]: p["count"] for p in json.loads(after.stdout)["pools"]}[pool] == pools[pool] + 1
    snapshot = _cli(
        tmp_path, "snapshot", "--simulate", "healthy", "--with-workloads", "--out", "-", "-o", "json"
    )
    assert snapshot.returncode == 0, snapshot.stderr
    assert "rehearsed-web" in snapshot.stdout


def test_identity_tokens_are_shaped_as_jwts_naming_the_tenant() -> None:
    import base64

    fake = load_scenario("healthy", kube=FakeKubernetes(ready_delay=0))
    answer = TwinServer(fake, time_rate=0).token("https://127.0.0.1/")
    header, payload, signature = answer["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["tid"] == TwinServer(fake).subscriptions()[0]["tenantId"] and signature
    assert claims["aud"] == "https://127.0.0.1/" and int(answer["expires_on"]) == claims["exp"]


def test_changes_are_saved_once_no_operation_is_in_flight() -> None:
    from kubernetes import client as k8s

    fake = load_scenario("healthy", kube=FakeKubernetes(ready_delay=0))
    saves: list[float] = []
    server = TwinServer(fake, time_rate=0, persist=lambda: saves.append(fake.clock.monotonic()))
    endpoints = server.start()
    try:
        assert server.checkpoint() is False  # nothing changed yet
        (sub, rg, name), _ = next(iter(fake.clusters.items()))
        transport = RequestsTransport(connection_verify=endpoints.ca_file, use_env_settings=False)
        arm = ContainerServiceClient(_Token(), sub, base_url=endpoints.arm_url, transport=transport)
        pool_name = [p.name for p in arm.agent_pools.list(rg, name)][-1]
        pool = arm.agent_pools.get(rg, name, pool_name)
        pool.count = (pool.count or 0) + 1
        poller = arm.agent_pools.begin_create_or_update(rg, name, pool_name, pool, polling=False)
        assert server.checkpoint() is False and saves == []  # in flight: saved once it ends
        fake.clock.advance(3600)
        assert arm.agent_pools.get(rg, name, pool_name).provisioning_state == "Succeeded"
        assert server.checkpoint() is True and len(saves) == 1
        assert server.checkpoint() is False  # unchanged since
        core = k8s.CoreV1Api(fake.kube.api_client())
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="rehearsal")))
        assert server.checkpoint() is True and len(saves) == 2
        assert poller.result().count == pool.count
    finally:
        server.stop()
