"""The Azure-backed step actions shared by every procedure (the patch procedure's action map).

Each action follows the runner's protocol (design principle "resumable by construction"): ``check`` re-reads the resource (or uses the
reading the plan was made from, once, on the first run), ``start`` sends the one write and returns the
continuation token, ``wait`` resumes that token on the clients' clock within the time budget, ``verify`` checks
the result. A 409 ``OperationNotAllowed`` never makes an action re-send a write that Azure accepted: the write
was refused, so the action waits for the running operation (or aborts it when asked) and sends it then
(Service facts: ARM behaviour).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aks_windows_ops.azure import actions as az
from aks_windows_ops.errors import (
    AksWindowsOpsError,
    AzureOperationFailed,
    EtagMismatch,
    InvalidInput,
    OperationConflict,
    Throttled,
)
from aks_windows_ops.rules import versions
from aks_windows_ops.runbooks.context import ClusterContext
from aks_windows_ops.runbooks.plan import Step
from aks_windows_ops.runbooks.runner import Action, RunContext, StepState

__all__ = [
    "AZURE_ACTIONS",
    "AwaitOperation",
    "ClusterContext",
    "VerifyStep",
    "await_operation_step",
    "cluster_busy_state",
    "cluster_of",
    "is_ambiguous",
    "operation_handle",
    "param_number",
    "properties_of",
    "send_write",
    "version_tuple",
    "wait_for_operation",
]

JsonOp = Mapping[str, Any]


def version_tuple(version: str | None) -> tuple[int, ...]:
    """``1.33.5`` -> ``(1, 33, 5)`` with the library's one version parser (a missing patch is 0; garbage is ``()``)."""
    if not version:
        return ()
    try:
        parsed = versions.parse_version(str(version))
    except InvalidInput:
        return ()
    return (parsed.major, parsed.minor, parsed.patch or 0)


def param_number(step: Step, key: str, default: float) -> float:
    """A numeric step parameter (JSON numbers and numeric strings), or ``default``."""
    value = step.params.get(key)
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            return default
    return default


def cluster_of(ctx: RunContext) -> ClusterContext:
    """The run's :class:`ClusterContext`, with the clients' deadline set to the run's budget (Service facts: ARM behaviour)."""
    cc = ctx.cluster
    if not isinstance(cc, ClusterContext):
        raise TypeError("the run has no cluster context: apply procedure plans with aks_windows_ops.apply")
    cc.clients.deadline = ctx.deadline
    return cc


def _status_reporter(ctx: RunContext, step: Step) -> Callable[[str, float], None]:
    def report(status: str, waited: float) -> None:
        expected = step.expected_seconds or 0
        progress = min(waited / expected, 0.99) if expected else None
        ctx.report(f"{status}: {waited / 60:.0f} of ~{expected / 60:.0f} min", progress=progress)

    return report


#: How many times :func:`send_write` may send one step's write in one run (each after reading the resource).
MAX_SENDS = 6


def is_ambiguous(err: AksWindowsOpsError) -> bool:
    """Whether a failed write may still have landed: a lost connection, a timeout or a 5xx (design notes, "Style").

    A 4xx answer (400, 404, 409, 412, 429) means Azure refused the write; anything else leaves the outcome
    unknown until the resource is read back.
    """
    if not isinstance(err, AzureOperationFailed):
        return False
    if err.code == "ConnectionError":
        return True
    return err.status_code is not None and err.status_code >= 500


def send_write(
    ctx: RunContext,
    step: Step,
    send: Callable[[], str],
    state: Callable[[], str | None],
    landed: Callable[[], bool] | None = None,
) -> str | None:
    """Send a step's one write; after any outcome that is not a clear answer, read the resource and decide.

    design notes, "Style" and Service facts: ARM behaviour: azure-core never repeats a write (see
    ``aks_windows_ops.azure.retry.ReadRetryPolicy``), so every repetition is decided here, after a read:

    - a lost response, a timeout or a 5xx (the write may have landed), and a 412 or 409 that follows one: read
      ``landed()``; when it proves the write landed, nothing more is sent and ``None`` is returned (the caller
      then polls the resource); otherwise the write is sent again.
    - 409 ``OperationNotAllowed`` (refused: another operation runs): wait for it (or abort it when asked),
      then send.
    - 412 (the eTag read before the write is stale: someone else changed the resource): read it again and
      send with the new eTag.
    - 429 (refused): wait ``Retry-After`` within the budget, then send.

    Args:
        ctx: the run's context.
        step: the step whose write this is.
        send: sends the write once and returns its continuation token.
        state: reads the resource's provisioning state.
        landed: reads the resource and tells whether this step's write is in it (``None``: an operation
            running on the resource counts as the write having landed).

    Returns:
        The continuation token, or ``None`` when a read proved that an earlier send of this call landed.

    Raises:
        OperationConflict: the resource stayed busy and no write was accepted.
        Throttled: Azure asked for a longer wait than the run may spend; nothing was accepted.
    """
    cc = cluster_of(ctx)
    check_landed = landed or (lambda: az.is_busy(state()))
    maybe_landed = False
    for _attempt in range(MAX_SENDS):
        if maybe_landed:
            cc.forget(_pool_param(step))
            if check_landed():
                ctx.report("a read shows the write landed although its answer was lost; not sending it again")
                return None
        try:
            return send()
        except Throttled as err:
            wait = err.retry_after if err.retry_after is not None else cc.clients.polling_interval
            left = ctx.remaining()
            limit = cc.clients.max_retry_after if left is None else min(cc.clients.max_retry_after, left)
            if wait > limit:
                raise
            ctx.report(f"Azure is throttling; sending again in {wait:.0f} s")
            ctx.sleep(wait)
        except EtagMismatch:
            # The resource changed since it was read: perhaps by this very write, if an earlier answer was lost.
            maybe_landed = True
        except OperationConflict as err:
            if maybe_landed:
                cc.forget(_pool_param(step))
                if check_landed():
                    return None
            ctx.report(
                f"another operation is running ({getattr(err, 'code', '')}); waiting for it before sending"
            )
            if cc.abort_conflicting:
                try:
                    token = az.abort(cc.clients, cc.resource_group, cc.name, _pool_param(step))
                    if token != az.NOT_MODIFIED:
                        az.wait(cc.clients, "cluster", token, deadline=ctx.deadline)
                except OperationConflict:
                    pass  # it finished before the abort arrived
            ctx.sleep(ctx.capped(cc.clients.polling_interval))
            ctx.poll_until(
                lambda: not az.is_busy(state()),
                interval=cc.clients.polling_interval,
                what="the running operation to finish",
            )
        except AksWindowsOpsError as err:
            if not is_ambiguous(err):
                raise
            maybe_landed = True
            ctx.report(
                f"the answer to the write was lost ({getattr(err, 'code', '')}); reading it back before deciding"
            )
            ctx.ensure_time("reading back an unanswered write")
    if maybe_landed:
        cc.forget(_pool_param(step))
        if check_landed():
            return None
    raise OperationConflict(f"{step.title}: no write was accepted after {MAX_SENDS} tries; nothing changed")


def _pool_param(step: Step) -> str | None:
    pool = step.params.get("pool")
    return None if pool is None else str(pool)


def wait_for_operation(
    ctx: RunContext, step: Step, operation: JsonOp | None, state: Callable[[], str | None]
) -> None:
    """Wait for a step's operation: resume its token, or poll the resource until no operation runs (design principle "resumable by construction")."""
    cc = cluster_of(ctx)
    try:
        _wait(ctx, cc, step, operation, state)
    finally:
        # Whatever happened while waiting, earlier readings of this resource are stale now.
        results = dict(cc.results)
        cc.forget(_pool_param(step))
        cc.results.update(results)


def _wait(
    ctx: RunContext, cc: ClusterContext, step: Step, operation: JsonOp | None, state: Callable[[], str | None]
) -> None:
    if operation is not None and operation.get("kind") == "lro":
        result = az.wait(
            cc.clients,
            str(operation["resume"]),
            str(operation["token"]),
            deadline=ctx.deadline,
            on_status=_status_reporter(ctx, step),
            context=step.title,
        )
        cc.results[step.id] = result
        return
    if operation is not None and operation.get("kind") == "not-modified":
        return
    ctx.poll_until(
        lambda: not az.is_busy(state()),
        interval=cc.clients.polling_interval,
        what=step.title,
        describe=lambda: f"{step.title}: an operation is running",
    )


def cluster_busy_state(cc: ClusterContext, wire: Mapping[str, Any] | None = None) -> str | None:
    """The cluster's state for a cluster-wide write: busy while the cluster or any of its pools is busy.

    Reads the cluster unless ``wire`` (a reading already at hand) is given.
    """
    props = properties_of(wire if wire is not None else cc.cluster(fresh_ok=False))
    for p in props.get("agentPoolProfiles") or []:
        if az.is_busy(p.get("provisioningState")):
            return str(p.get("provisioningState"))
    state = props.get("provisioningState")
    return None if state is None else str(state)


def operation_handle(token: str | None, resume: str) -> dict[str, Any] | None:
    """The checkpointed handle of a started operation (a continuation token; Service facts: Serving the SDK from an in-memory ARM).

    ``None`` (the write landed but its answer was lost; :func:`send_write`) has no handle: the step polls the
    resource instead.
    """
    if token is None:
        return None
    if token == az.NOT_MODIFIED:
        return {"kind": "not-modified"}
    return {"kind": "lro", "resume": resume, "token": token}


def properties_of(result: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``properties`` of a resource's wire JSON (empty when there is none)."""
    if not result:
        return {}
    return dict(result.get("properties") or {})


class VerifyStep:
    """Base of a verification step: it reads and sends nothing, and runs on every apply (``verify`` decides).

    The runner never skips it, even after it succeeded once: "done" is a fact read now.
    """

    #: Verification runs on every apply, even after it succeeded once (the runner never skips it).
    always_run = True

    def check(self, step: Step, ctx: RunContext) -> StepState:
        """Always ``READY``: the step has no write to skip."""
        return StepState.READY

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        """Send nothing."""
        return None

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        """Wait for nothing."""
        return None


class ControlPlaneUpgrade:
    """Upgrade the control plane only (FAQ patch order; Service facts: How the Azure CLI does it). Params: ``version``."""

    def check(self, step: Step, ctx: RunContext) -> StepState:
        cc = cluster_of(ctx)
        wire = cc.cluster()
        props = properties_of(wire)
        if az.is_busy(cluster_busy_state(cc, wire)):
            return StepState.IN_FLIGHT
        # Done is Succeeded plus the version: the service reports the target version as soon as an upgrade starts.
        if props.get("provisioningState") == "Succeeded" and version_tuple(
            props.get("currentKubernetesVersion")
        ) >= version_tuple(str(step.params["version"])):
            return StepState.DONE
        return StepState.READY

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        cc = cluster_of(ctx)
        cached = cc.cluster_wire
        cc.forget()

        def send() -> str:
            nonlocal cached
            c, cached = cached, None
            return az.begin_control_plane_upgrade(
                cc.clients, cc.resource_group, cc.name, str(step.params["version"]), cached=c
            )

        def landed() -> bool:
            # A Failed cluster keeps the version asked for earlier: only a running or finished operation counts.
            props = properties_of(cc.cluster(fresh_ok=False))
            return az.is_busy(props.get("provisioningState")) or (
                props.get("provisioningState") == "Succeeded"
                and version_tuple(props.get("kubernetesVersion"))
                >= version_tuple(str(step.params["version"]))
            )

        token = send_write(ctx, step, send, lambda: cluster_busy_state(cc), landed)
        return operation_handle(token, "cluster")

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        cc = cluster_of(ctx)
        wait_for_operation(ctx, step, operation, lambda: cluster_busy_state(cc))

    def verify(self, step: Step, ctx: RunContext) -> str:
        cc = cluster_of(ctx)
        result = cc.results.pop(step.id, None)
        cc.remember(result)
        props = properties_of(result) or properties_of(cc.cluster(fresh_ok=False))
        current = props.get("currentKubernetesVersion")
        if props.get("provisioningState") != "Succeeded" or version_tuple(current) < version_tuple(
            str(step.params["version"])
        ):
            raise AzureOperationFailed(
                f"control plane is {current} ({props.get('provisioningState')}), expected {step.params['version']}",
                code="VerificationFailed",
            )
        return f"control plane at {current}"


class _PoolAction:
    def _state(self, ctx: RunContext, pool: str) -> str | None:
        cc = cluster_of(ctx)
        cc.forget(pool)  # polling must see the service, not a reading
        props = cc.pool(pool)
        return None if props is None else props.get("provisioningState")


class PoolUpgrade(_PoolAction):
    """Upgrade one pool's Kubernetes version (Service facts: How the Azure CLI does it). Params: ``pool``, ``version``, settings."""

    def check(self, step: Step, ctx: RunContext) -> StepState:
        props = cluster_of(ctx).pool(str(step.params["pool"])) or {}
        if az.is_busy(props.get("provisioningState")):
            return StepState.IN_FLIGHT
        # Done is Succeeded plus the version: the service reports the target version as soon as an upgrade starts.
        if props.get("provisioningState") == "Succeeded" and version_tuple(
            props.get("currentOrchestratorVersion")
        ) >= version_tuple(str(step.params["version"])):
            return StepState.DONE
        return StepState.READY

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        cc = cluster_of(ctx)
        pool = str(step.params["pool"])
        cached = cc.pool(pool)
        cc.forget(pool)

        def send() -> str:
            nonlocal cached
            c, cached = cached, None
            return az.begin_pool_upgrade(
                cc.clients,
                cc.resource_group,
                cc.name,
                pool,
                str(step.params["version"]),
                max_surge=step.params.get("max_surge"),  # type: ignore[arg-type]
                drain_timeout_minutes=step.params.get("drain_timeout"),  # type: ignore[arg-type]
                node_soak_minutes=step.params.get("node_soak"),  # type: ignore[arg-type]
                cached=c,
            )

        def landed() -> bool:
            # A Failed pool keeps the version asked for earlier: only a running or finished operation counts.
            cc.forget(pool)
            props = cc.pool(pool) or {}
            return az.is_busy(props.get("provisioningState")) or (
                props.get("provisioningState") == "Succeeded"
                and version_tuple(props.get("orchestratorVersion"))
                >= version_tuple(str(step.params["version"]))
            )

        return operation_handle(send_write(ctx, step, send, lambda: self._state(ctx, pool), landed), "pool")

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        wait_for_operation(ctx, step, operation, lambda: self._state(ctx, str(step.params["pool"])))

    def verify(self, step: Step, ctx: RunContext) -> str:
        cc = cluster_of(ctx)
        pool = str(step.params["pool"])
        props = properties_of(cc.results.pop(step.id, None)) or (cc.pool(pool) or {})
        cc.forget(pool)
        current = props.get("currentOrchestratorVersion")
        if props.get("provisioningState") != "Succeeded" or version_tuple(current) < version_tuple(
            str(step.params["version"])
        ):
            raise AzureOperationFailed(
                f"pool {pool} is {current} ({props.get('provisioningState')}), expected {step.params['version']}",
                code="VerificationFailed",
            )
        return f"pool {pool} at {current}, node image {props.get('nodeImageVersion')}"


class NodeImageUpgrade(_PoolAction):
    """Upgrade one pool's node image (FAQ "How do I patch my Windows nodes?"). Params: ``pool``, ``latest``, ``windows``.

    "Already the newest image" is decided by a read before the write (the plan's ``latest`` from the pool's
    upgrade profile against the pool's ``nodeImageVersion``). Should the write still find nothing to do, the
    service answers 200 with the pool and starts no operation (https://github.com/Azure/AKS/issues/3355), or 304
    as older documentation described; both count as done only after a read-back shows the pool Succeeded.
    """

    def check(self, step: Step, ctx: RunContext) -> StepState:
        props = cluster_of(ctx).pool(str(step.params["pool"])) or {}
        if az.is_busy(props.get("provisioningState")):
            return StepState.IN_FLIGHT
        latest = step.params.get("latest")
        if latest and props.get("nodeImageVersion") == latest:
            return StepState.DONE
        return StepState.READY

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        cc = cluster_of(ctx)
        pool = str(step.params["pool"])
        # The image read before the write: an answer that leaves it unchanged means it was the newest already.
        cc.results[f"{step.id}:before"] = {"nodeImageVersion": (cc.pool(pool) or {}).get("nodeImageVersion")}
        cc.forget(pool)
        token = send_write(
            ctx,
            step,
            lambda: az.begin_node_image_upgrade(cc.clients, cc.resource_group, cc.name, pool),
            lambda: self._state(ctx, pool),
        )
        return operation_handle(token, "node_image")

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        wait_for_operation(ctx, step, operation, lambda: self._state(ctx, str(step.params["pool"])))
        if operation is not None and operation.get("kind") == "not-modified":
            cluster_of(ctx).results[step.id] = {"notModified": True}

    def verify(self, step: Step, ctx: RunContext) -> str:
        cc = cluster_of(ctx)
        pool = str(step.params["pool"])
        result = cc.results.pop(step.id, None)
        before = (cc.results.pop(f"{step.id}:before", None) or {}).get("nodeImageVersion")
        if result is None:
            # The operation's own status said Succeeded; the final verify step reads the images once for all pools.
            return f"pool {pool} node image upgrade finished"
        # A 304, or a 200 that may have started no operation, means "done" only once a read-back agrees.
        cc.forget(pool)
        props = cc.pool(pool) or {}
        image, state = props.get("nodeImageVersion"), props.get("provisioningState")
        latest = step.params.get("latest")
        if state != "Succeeded" or (latest and image != latest):
            raise AzureOperationFailed(
                f"pool {pool} has node image {image} ({state}), expected {latest or 'the newest image'}",
                code="VerificationFailed",
            )
        if result.get("notModified") or image == before:
            note = (
                " (Windows: a newer image is offered only after a control plane upgrade)"
                if step.params.get("windows")
                else ""
            )
            return f"pool {pool} already has the newest node image {image}{note}"
        return f"pool {pool} is on node image {image}"


def await_operation_step(
    resource: str, version: str, *, pool: str | None, title: str, reason: str, expected_seconds: float
) -> Step:
    """The plan step that waits for an operation already running and verifies it (:class:`AwaitOperation`).

    Used when a read shows a resource at the target while its ``provisioningState`` is not yet ``Succeeded``
    (Service facts: ARM behaviour: the service reports the target version while the upgrade runs).
    """
    key = "control-plane" if pool is None else f"pool:{pool}"
    return Step(
        id=f"{key}:running:{version}",
        kind="await_operation",
        title=title,
        resource=resource,
        reason=reason,
        expected_seconds=expected_seconds,
        restarts_nodes=False,
        params={"version": version, "pool": pool},
    )


class AwaitOperation:
    """Wait for an operation that was already running when the plan was made, then verify it; it never writes.

    The service reports the target version in ``currentKubernetesVersion`` / ``currentOrchestratorVersion``
    from the first read after an upgrade starts, while ``provisioningState`` is still ``Upgrading`` (Service
    facts: ARM behaviour), so a resource "at" the target is done only once it is ``Succeeded``. This step
    resumes the running operation by polling the resource (no write is sent, whatever it finds) and verifies
    ``Succeeded`` plus the version. Params: ``version``, ``pool`` (``None`` for the control plane).
    """

    def _props(self, step: Step, ctx: RunContext) -> Mapping[str, Any]:
        cc = cluster_of(ctx)
        pool = _pool_param(step)
        if pool is None:
            return properties_of(cc.cluster())
        return cc.pool(pool) or {}

    def _state(self, step: Step, ctx: RunContext) -> str | None:
        cc = cluster_of(ctx)
        pool = _pool_param(step)
        cc.forget(pool)  # polling must see the service, not a reading
        if pool is None:
            return cluster_busy_state(cc)
        return (cc.pool(pool) or {}).get("provisioningState")

    def check(self, step: Step, ctx: RunContext) -> StepState:
        """``IN_FLIGHT`` while the operation runs; otherwise ``DONE`` (``verify`` decides): never ``READY``."""
        cc = cluster_of(ctx)
        pool = _pool_param(step)
        busy = (
            cluster_busy_state(cc, cc.cluster())
            if pool is None
            else self._props(step, ctx).get("provisioningState")
        )
        return StepState.IN_FLIGHT if az.is_busy(busy) else StepState.DONE

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        """Send nothing: the operation was started before the plan was made."""
        return None

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        """Poll the resource until no operation runs on it."""
        wait_for_operation(ctx, step, None, lambda: self._state(step, ctx))

    def verify(self, step: Step, ctx: RunContext) -> str:
        """``Succeeded`` and at least the version, or a failure that says how to go on."""
        cc = cluster_of(ctx)
        pool = _pool_param(step)
        cc.forget(pool)
        props = self._props(step, ctx)
        field = "currentKubernetesVersion" if pool is None else "currentOrchestratorVersion"
        what = "control plane" if pool is None else f"pool {pool}"
        current, state = props.get(field), props.get("provisioningState")
        if state != "Succeeded" or version_tuple(current) < version_tuple(str(step.params["version"])):
            raise AzureOperationFailed(
                f"the operation that was running on the {what} ended with the {what} at {current} ({state}), "
                f"expected {step.params['version']} (Succeeded)",
                code="VerificationFailed",
                remediation="Plan the patch again: a failed upgrade is sent again with the same version, "
                "as the service allows (fix what made it fail first, e.g. a PodDisruptionBudget).",
            )
        return f"{what} at {current} (the running operation finished)"


class VerifyCluster(VerifyStep):
    """Read the cluster once and check every pool the plan touched (the plan's last step).

    Params: ``control_plane`` (version or null), ``pools`` ({name: {"version": v, "image": i, "image_before": b}}).
    """

    def verify(self, step: Step, ctx: RunContext) -> str:
        cc = cluster_of(ctx)
        props = properties_of(cc.cluster(fresh_ok=False))
        problems: list[str] = []
        cp = step.params.get("control_plane")
        if cp and version_tuple(props.get("currentKubernetesVersion")) < version_tuple(str(cp)):
            problems.append(f"control plane is {props.get('currentKubernetesVersion')}, expected {cp}")
        if props.get("provisioningState") != "Succeeded":
            problems.append(f"cluster is {props.get('provisioningState')}")
        expect = step.params.get("pools") or {}
        assert isinstance(expect, Mapping)
        pools = {str(p.get("name")): p for p in props.get("agentPoolProfiles") or []}
        for name, wanted in expect.items():
            want: Mapping[str, Any] = wanted if isinstance(wanted, Mapping) else {}
            got = pools.get(name)
            if got is None:
                problems.append(f"pool {name} is missing")
                continue
            if got.get("provisioningState") != "Succeeded":
                problems.append(f"pool {name} is {got.get('provisioningState')}")
            if want.get("version") and version_tuple(got.get("currentOrchestratorVersion")) < version_tuple(
                want["version"]
            ):
                problems.append(
                    f"pool {name} is {got.get('currentOrchestratorVersion')}, expected {want['version']}"
                )
            if want.get("image") and got.get("nodeImageVersion") != want["image"]:
                problems.append(
                    f"pool {name} has image {got.get('nodeImageVersion')}, expected {want['image']}"
                )
        if problems:
            raise AzureOperationFailed(
                "verification failed: " + "; ".join(problems), code="VerificationFailed"
            )
        return f"verified {len(expect)} pools" + (f" and control plane {cp}" if cp else "")


AZURE_ACTIONS: dict[str, Action] = {
    "update_control_plane": ControlPlaneUpgrade(),
    "upgrade_pool": PoolUpgrade(),
    "upgrade_node_image": NodeImageUpgrade(),
    "verify_cluster": VerifyCluster(),
    "await_operation": AwaitOperation(),
}
