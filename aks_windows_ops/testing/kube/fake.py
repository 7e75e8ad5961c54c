"""``FakeKubernetes``: a small Kubernetes API server on loopback that the real ``kubernetes`` client talks to.

No kube-apiserver can be installed here (Service facts: Moving pods), so this serves the slice of the API that the
library uses, over HTTPS (a private CA, see :mod:`.tls`) on ``127.0.0.1`` and an ephemeral port: nodes, pods (with the ``policy/v1``
eviction subresource and the WebSocket ``exec`` subresource), PodDisruptionBudgets, Deployments, ReplicaSets,
StatefulSets, DaemonSets, Services and Namespaces. Behind it run a controller, a scheduler and a kubelet (see :mod:`.state`), driven by the
requests themselves, so a test sees the same sequence of states for the same sequence of calls.

Usage::

    with FakeKubernetes(ready_delay=0) as kube:
        kube.sync_pool("win1", os_type="Windows", os_sku="Windows2022", count=2, labels={}, taints=[],
                       kubernetes_version="1.33.0", max_pods=30)
        kube.apply(deployment_yaml)
        api = kube.api_client()          # a kubernetes.client.ApiClient pointed at the fake

The ARM simulator calls :meth:`FakeKubernetes.sync_pool` and :meth:`FakeKubernetes.delete_pool` so that the
nodes follow the emulated agent pools; ``list_cluster_user_credentials`` returns :meth:`kubeconfig`.
"""

from __future__ import annotations

import base64
import copy
import ssl
import threading
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import yaml

from aks_windows_ops.clock import Clock
from aks_windows_ops.testing.kube.apiserver import KubeHttpServer, RecordedRequest
from aks_windows_ops.testing.kube.nodes import (
    OS_IMAGES,
    node_manifest,
    parse_taint,
    pool_node_labels,
    pool_node_name,
    version_tuple,
)
from aks_windows_ops.testing.kube.objects import KINDS, ApiError
from aks_windows_ops.testing.kube.podexec import ExecState
from aks_windows_ops.testing.kube.state import ClusterState, HistoryEntry
from aks_windows_ops.testing.kube.tls import loopback_tls
from aks_windows_ops.testing.loopback import serve_in_thread

__all__ = ["AAD_SERVER_ID", "ApiError", "FakeKubernetes", "HistoryEntry", "RecordedRequest", "parse_taint"]

#: The AKS Entra ID server application; kubeconfigs of Entra ID clusters ask kubelogin for a token for it.
AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


class FakeKubernetes:
    """A Kubernetes API server emulator for tests and rehearsals.

    The controllers, the scheduler and the kubelet run on ``clock`` (a virtual clock): a pod turns Ready
    ``ready_delay`` seconds after it is bound *on that clock*, so they advance when virtual time advances (a
    drain or a runner waiting on the same clock) and nothing here waits in real time.

    Args:
        ready_delay: seconds on ``clock`` from a pod being bound to a node until it is Running and Ready
            (0 = at once).
        termination_delay: seconds on ``clock`` a deleted running pod stays Terminating (0 = gone at once).
        clock: the clock to run on; a new virtual clock by default. ``FakeAzure(kube=...)`` puts the cluster
            on its own clock, so Azure operations and Kubernetes controllers share one timeline.
        token: the bearer token the server accepts (more with :meth:`allow_token`).
        seed: seed for generated pod names and uids.
        host: the loopback address to bind.
        tls: serve HTTPS with this process's private CA (kubectl sends a bearer token only over TLS); the
            kubeconfig then carries ``certificate-authority-data``, as an AKS kubeconfig does.
    """

    def __init__(
        self,
        *,
        ready_delay: float = 0.05,
        termination_delay: float = 0.0,
        token: str = "sim-token",
        seed: int = 0,
        host: str = "127.0.0.1",
        clock: Clock | None = None,
        tls: bool = True,
    ) -> None:
        self.state = ClusterState(
            ready_delay=ready_delay, termination_delay=termination_delay, seed=seed, clock=clock
        )
        self.tls = tls
        #: The control plane's Kubernetes version that ``/version`` reports (the ARM simulator keeps it current);
        #: ``None`` = the highest kubelet version among the nodes.
        self.control_plane_version: str | None = None
        self.token = token
        self._tokens = {token}
        self._host = host
        self._server: KubeHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._pool_next: dict[str, int] = {}
        #: What exec'd commands change inside containers (their time zones); survives stop() and start().
        self.exec_state = ExecState()

    # ------------------------------------------------------------------ time
    @property
    def clock(self) -> Clock:
        """The clock the cluster's controllers run on; wait on it (``clock.sleep``) to let them progress."""
        return self.state.clock

    def use_clock(self, clock: Clock) -> None:
        """Run the cluster on ``clock`` from now on (the ARM simulator shares its clock this way)."""
        with self.state.lock:
            self.state.clock = clock

    def use_registry(self, registry: Any) -> None:
        """Take image builds from a ``FakeRegistry`` (the tag decides for images it does not hold).

        A container whose image build the node's ``node.kubernetes.io/windows-build`` cannot run never starts:
        the pod stays Pending with ``CreateContainerError`` (process isolation; see :mod:`.images`).
        """
        from aks_windows_ops.testing.kube.images import tag_resolver

        def resolve(image: str) -> frozenset[str] | None:
            found: frozenset[str] | None = registry.builds_of(image)
            return found or tag_resolver(image)

        with self.state.lock:
            self.state.image_builds = resolve

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeKubernetes:
        """Start serving on an ephemeral port (idempotent)."""
        if self._server is None:
            self._server = KubeHttpServer(
                (self._host, 0),
                self.state,
                self._tokens,
                self.exec_state,
                ssl_context=loopback_tls().server_context() if self.tls else None,
                version=self.server_version,
            )
            self._thread = serve_in_thread(self._server, "fake-kube")
        return self

    def stop(self) -> None:
        """Stop serving; the cluster state stays readable."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None

    def __enter__(self) -> FakeKubernetes:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``https://127.0.0.1:<port>`` (``http://`` when started with ``tls=False``).

        Raises:
            RuntimeError: the server is not running.
        """
        if self._server is None:
            raise RuntimeError("FakeKubernetes is not started; use start() or a with block")
        return self._server.base_url

    @property
    def ca_file(self) -> str | None:
        """The CA certificate file clients must trust (``None`` without TLS)."""
        return str(loopback_tls().ca_file) if self.tls else None

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client ``ssl.SSLContext`` trusting this server (``None`` without TLS)."""
        return loopback_tls().client_context() if self.tls else None

    def server_version(self) -> str:
        """The Kubernetes version ``/version`` reports: the control plane's, else the newest kubelet's."""
        if self.control_plane_version:
            return self.control_plane_version
        versions = [
            str((n.get("status") or {}).get("nodeInfo", {}).get("kubeletVersion", "")).lstrip("v")
            for n in self.state.objects("Node")
        ]
        return max((v for v in versions if v), key=version_tuple, default="1.33.0")

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request served so far, oldest first."""
        if self._server is None:
            return []
        with self._server.journal_lock:
            return list(self._server.journal)

    def clear_requests(self) -> None:
        """Forget the request journal."""
        if self._server is not None:
            with self._server.journal_lock:
                self._server.journal.clear()

    def allow_token(self, token: str) -> None:
        """Accept another bearer token (for example one an Entra ID credential hands out)."""
        self._tokens.add(token)

    # ------------------------------------------------------------------ clients
    def kubeconfig(self, cluster_name: str = "sim", *, aad: bool = False) -> dict[str, Any]:
        """A kubeconfig dict for this server, shaped like the one AKS returns.

        Args:
            cluster_name: the cluster, context and user name stem.
            aad: give the user the kubelogin exec plugin of an Entra ID cluster instead of a bearer token.
        """
        user_name = f"clusterUser_{cluster_name}"
        user: dict[str, Any] = {"token": self.token}
        if aad:
            user = {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "kubelogin",
                    "args": ["get-token", "--login", "azurecli", "--server-id", AAD_SERVER_ID],
                    "env": None,
                    "interactiveMode": "IfAvailable",
                    "provideClusterInfo": False,
                }
            }
        cluster: dict[str, Any] = {"server": self.url}
        if self.tls:
            cluster["certificate-authority-data"] = base64.b64encode(loopback_tls().ca_pem).decode()
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": cluster}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": user_name}}],
            "current-context": cluster_name,
            "users": [{"name": user_name, "user": user}],
            "preferences": {},
        }

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` for this server that ignores proxy settings."""
        from kubernetes import client

        cfg = client.Configuration(host=self.url, api_key={"BearerToken": f"Bearer {self.token}"})
        cfg.proxy = None
        cfg.no_proxy = "*"
        if self.tls:
            cfg.ssl_ca_cert = str(loopback_tls().ca_file)
        return client.ApiClient(configuration=cfg)

    # ------------------------------------------------------------------ nodes and pools
    def add_node(
        self,
        name: str,
        *,
        labels: Mapping[str, str] | None = None,
        taints: Sequence[str | Mapping[str, str]] | None = None,
        allocatable_pods: int = 110,
        ready: bool = True,
        os_type: str = "Linux",
        kubelet_version: str = "1.33.0",
        os_image: str | None = None,
    ) -> dict[str, Any]:
        """Add (or replace) a node.

        Args:
            name: node name.
            labels: node labels; ``kubernetes.io/os``, ``kubernetes.io/arch`` and ``kubernetes.io/hostname`` are
                added unless given.
            taints: ``key=value:Effect`` strings or taint dicts.
            allocatable_pods: ``status.allocatable.pods``, the scheduler's capacity for the node.
            ready: the node's Ready condition.
            os_type: ``Linux`` or ``Windows``.
            kubelet_version: reported as ``v<version>``.
            os_image: ``status.nodeInfo.osImage``.
        """
        existing = self.node(name)
        node = node_manifest(
            name,
            labels=labels,
            taints=taints,
            allocatable_pods=allocatable_pods,
            ready=ready,
            os_type=os_type,
            kubelet_version=kubelet_version,
            os_image=os_image,
            index=len(self.state.objects("Node")),
            now=self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        if existing is not None:
            # Re-syncing a pool must not uncordon its nodes or move their addresses.
            if existing["spec"].get("unschedulable"):
                node["spec"]["unschedulable"] = True
            node["status"]["addresses"] = existing["status"].get("addresses", node["status"]["addresses"])
        return self.state.apply(node)

    def remove_node(self, name: str) -> bool:
        """Delete a node as a scale-in does; its pods go at once and their controllers recreate them elsewhere."""
        return self.state.remove("Node", "", name)

    def set_node_ready(self, name: str, ready: bool) -> None:
        """Flip a node's Ready condition (pods on a NotReady node stop being Ready)."""

        def change(node: dict[str, Any]) -> None:
            for cond in node["status"]["conditions"]:
                if cond["type"] == "Ready":
                    cond["status"] = "True" if ready else "False"
                    cond["reason"] = "KubeletReady" if ready else "KubeletNotReady"

        self.state.mutate("Node", "", name, change)

    def pool_node_name(self, pool: str, index: int, *, os_type: str) -> str:
        """The AKS node name of a pool's instance: ``aks-<pool>-12345678-vmss00000<i>`` or ``aks<pool>00000<i>``."""
        return pool_node_name(pool, index, os_type=os_type)

    def sync_pool(
        self,
        name: str,
        *,
        os_type: str = "Linux",
        os_sku: str | None = None,
        count: int,
        labels: Mapping[str, str] | None = None,
        taints: Sequence[str] | None = None,
        kubernetes_version: str = "1.33.0",
        max_pods: int = 110,
        mode: str = "User",
    ) -> list[str]:
        """Make the nodes of AKS pool ``name`` match the pool: count, labels, taints, version, max pods.

        New nodes get the next instance index (scale sets never reuse one); a scale-in removes the highest
        indexes. Nodes carry the AKS labels (Service facts: Moving pods): ``kubernetes.io/os``, ``agentpool``,
        ``kubernetes.azure.com/agentpool``, ``kubernetes.azure.com/os-sku``, ``kubernetes.azure.com/mode`` and,
        on Windows, ``node.kubernetes.io/windows-build`` of the OS SKU (FAQ: process isolation only).

        Args:
            name: the agent pool name.
            os_type: ``Linux`` or ``Windows``.
            os_sku: e.g. ``Windows2022``; by default what AKS picks (Windows2019 below 1.25, Windows2022 up to 1.36, then Windows2025; Ubuntu).
            count: the node count to reach.
            labels: the pool's ``nodeLabels``.
            taints: the pool's ``nodeTaints`` (``key=value:Effect``).
            kubernetes_version: the pool's current orchestrator version (the kubelet version).
            max_pods: the pool's ``maxPods``, which becomes each node's ``allocatable.pods``.
            mode: ``System`` or ``User`` (the ``kubernetes.azure.com/mode`` label).

        Returns:
            The pool's node names after the change.
        """
        windows = str(os_type).lower() == "windows"
        sku, node_labels = pool_node_labels(
            name,
            os_type=os_type,
            os_sku=None if os_sku is None else str(os_sku),
            kubernetes_version=kubernetes_version,
            mode=str(getattr(mode, "value", mode)),
            labels=labels,
        )
        existing = self._pool_nodes(name)
        index_of = {n: self._pool_index(n) for n in existing}
        keep = sorted(existing, key=lambda n: index_of[n])[: max(count, 0)]
        for node_name in existing:
            if node_name not in keep:
                self.remove_node(node_name)
        next_index = max([*index_of.values(), self._pool_next.get(name, 0) - 1], default=-1) + 1
        names = list(keep)
        while len(names) < count:
            names.append(pool_node_name(name, next_index, os_type="Windows" if windows else "Linux"))
            next_index += 1
        self._pool_next[name] = next_index
        for node_name in names:
            self.add_node(
                node_name,
                labels=node_labels,
                taints=list(taints or []),
                allocatable_pods=max_pods,
                os_type="Windows" if windows else "Linux",
                kubelet_version=kubernetes_version,
                os_image=OS_IMAGES.get(sku, "Ubuntu 22.04.5 LTS" if not windows else None),
            )
        return names

    def delete_pool(self, name: str) -> list[str]:
        """Remove every node of AKS pool ``name`` (their pods are recreated elsewhere); return their names."""
        removed = self._pool_nodes(name)
        for node_name in removed:
            self.remove_node(node_name)
        self._pool_next.pop(name, None)
        return removed

    def _pool_nodes(self, pool: str) -> list[str]:
        return [
            n["metadata"]["name"]
            for n in self.state.objects("Node")
            if (n["metadata"].get("labels") or {}).get("kubernetes.azure.com/agentpool") == pool
        ]

    @staticmethod
    def _pool_index(node_name: str) -> int:
        try:
            return int(node_name[-6:], 36)
        except ValueError:
            return 0

    # ------------------------------------------------------------------ objects
    def apply(self, manifest: str | Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Create or replace objects from a manifest dict, a list of them, or YAML text (multi-document).

        Namespaces that do not exist yet are created. A ``List`` kind is unpacked.

        Returns:
            The stored objects, as the API would return them.

        Raises:
            ApiError: an object is invalid (the same checks as a POST).
        """
        docs: list[Any]
        if isinstance(manifest, str):
            docs = [d for d in yaml.safe_load_all(manifest) if d]
        elif isinstance(manifest, Mapping):
            docs = [manifest]
        else:
            docs = list(manifest)
        out = []
        for doc in docs:
            if doc.get("kind") == "List":
                out.extend(self.apply(doc.get("items") or []))
                continue
            out.append(self.state.apply(copy.deepcopy(dict(doc))))
        return out

    def delete(self, kind: str, name: str, namespace: str = "default") -> bool:
        """Delete an object at once (owned objects follow by garbage collection); return whether it existed."""
        return self.state.remove(kind, namespace, name)

    def set_pod_phase(self, namespace: str, name: str, phase: str) -> None:
        """Force a pod's phase, e.g. ``Succeeded`` for a finished pod."""

        def change(pod: dict[str, Any]) -> None:
            pod["status"]["phase"] = phase
            if phase in ("Succeeded", "Failed"):
                for cond in pod["status"].get("conditions") or []:
                    if cond["type"] in ("Ready", "ContainersReady"):
                        cond["status"] = "False"
                        cond["reason"] = "PodCompleted"

        self.state.mutate("Pod", namespace, name, change)

    # ------------------------------------------------------------------ containers
    def container_time_zone(self, namespace: str, pod: str, container: str | None = None) -> str:
        """The Windows time zone id a container currently has (``UTC`` until an exec sets it).

        Raises:
            KeyError: no such pod or container.
        """
        obj, name = self._container(namespace, pod, container)
        return self.exec_state.time_zone(obj["metadata"]["uid"], name)

    def set_container_time_zone(
        self, namespace: str, pod: str, zone_id: str, container: str | None = None
    ) -> None:
        """Set a container's time zone directly, as if ``Set-TimeZone`` had run in it.

        Raises:
            KeyError: no such pod or container.
        """
        obj, name = self._container(namespace, pod, container)
        self.exec_state.set_time_zone(obj["metadata"]["uid"], name, zone_id)

    def _container(self, namespace: str, pod: str, container: str | None) -> tuple[dict[str, Any], str]:
        obj = self.get("Pod", pod, namespace)
        if obj is None:
            raise KeyError(f"{namespace}/{pod}")
        names = [c["name"] for c in obj["spec"].get("containers") or []]
        name = container or (names[0] if names else "")
        if name not in names:
            raise KeyError(f"{namespace}/{pod}/{name}")
        return obj, name

    # ------------------------------------------------------------------ reads
    def get(self, kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        """One object, or ``None``."""
        try:
            return self.state.get(KINDS[kind], namespace, name)
        except ApiError:
            return None

    def node(self, name: str) -> dict[str, Any] | None:
        """One node, or ``None``."""
        return self.get("Node", name, "")

    def nodes(self, *, pool: str | None = None) -> list[dict[str, Any]]:
        """All nodes (of one AKS pool when ``pool`` is given), by name."""
        nodes = self.state.objects("Node")
        if pool is not None:
            nodes = [
                n
                for n in nodes
                if (n["metadata"].get("labels") or {}).get("kubernetes.azure.com/agentpool") == pool
            ]
        return nodes

    def pods(self, namespace: str | None = None, *, node: str | None = None) -> list[dict[str, Any]]:
        """All pods (of one namespace and/or node), by namespace and name."""
        pods = self.state.objects("Pod", namespace)
        if node is not None:
            pods = [p for p in pods if p["spec"].get("nodeName") == node]
        return pods

    def objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """All objects of a kind (``Deployment``, ``PodDisruptionBudget`` ...)."""
        return self.state.objects(kind, namespace)

    def settle(self, timeout: float = 600.0) -> None:
        """Advance the cluster's clock until no pod is terminating and every bound pod is Ready.

        Time moves on :attr:`clock` (virtual: no real waiting), straight to the next pod that turns Ready or
        goes away.

        Raises:
            TimeoutError: still moving after ``timeout`` seconds on the clock.
        """
        clock = self.clock
        deadline = clock.monotonic() + timeout
        while not self.state.settled():
            due = self.state.next_due()
            now = clock.monotonic()
            if due is None or due > deadline or now >= deadline:
                raise TimeoutError("the fake cluster did not settle")
            clock.sleep(max(due - now, 1e-3))

    # ------------------------------------------------------------------ availability history
    def history_mark(self) -> int:
        """A position in the history; pass it as ``since`` to look only at what happened after it."""
        return self.state.history_length()

    def history(self, *, since: int = 0) -> list[HistoryEntry]:
        """Snapshots of Ready counts per controller and healthy/desired per budget, one per state change."""
        return self.state.history(since)

    def ready_history(self, owner: str, *, since: int = 0) -> list[int]:
        """Ready (non-terminating) pods of one controller over time.

        Args:
            owner: ``Kind/namespace/name``, e.g. ``Deployment/default/web``.
            since: a :meth:`history_mark`.
        """
        values = [e.ready[owner] for e in self.state.history(since) if owner in e.ready]
        return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]

    def pdb_history(self, pdb: str, *, since: int = 0) -> list[tuple[int, int]]:
        """``(currentHealthy, desiredHealthy)`` of one budget (``namespace/name``) over time."""
        values = [e.pdbs[pdb] for e in self.state.history(since) if pdb in e.pdbs]
        return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]

    def pdb_violations(self, *, since: int = 0) -> list[str]:
        """Every moment since the mark at which a budget had fewer healthy pods than it requires."""
        problems = []
        for entry in self.state.history(since):
            for name, (healthy, desired) in sorted(entry.pdbs.items()):
                if healthy < desired:
                    problems.append(f"#{entry.seq} {name}: {healthy} healthy < {desired} desired")
        return problems
