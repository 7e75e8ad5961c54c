"""One cluster PUT that changes the Windows profile, shared by the password rotation and Azure Hybrid Benefit.

FAQ "How do I change the administrator password for Windows Server nodes?" and "Can I use Azure Hybrid Benefit
with Windows nodes?": both are a cluster PUT of ``windowsProfile`` that reimages the Windows pools. The step
proves its write landed by reading it back (a license type) or by a tag sent in the same PUT (a password,
which ARM never returns).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aks_windows_ops.azure import actions as az
from aks_windows_ops.errors import AzureOperationFailed, InvalidInput
from aks_windows_ops.runbooks.plan import Step
from aks_windows_ops.runbooks.runner import RunContext, StepState
from aks_windows_ops.runbooks.steps import (
    JsonOp,
    cluster_busy_state,
    cluster_of,
    operation_handle,
    properties_of,
    send_write,
    wait_for_operation,
)
from aks_windows_ops.secrets import Secret

__all__ = ["MARKER_TAG", "WindowsProfileUpdate", "write_marker"]

#: The cluster tag whose value names the plan and step of the last password write (see :func:`write_marker`).
MARKER_TAG = "aks-windows-ops-write"


def write_marker(ctx: RunContext, step: Step) -> tuple[str, str]:
    """The tag that proves this step's password write landed: ``(MARKER_TAG, "<plan id>/<step id>")``.

    The admin password is write-only (ARM never returns it, FAQ password question), so the same cluster PUT
    also sets this tag, which ARM does return; no other write carries this plan's id.
    """
    return MARKER_TAG, f"{ctx.plan.id}/{step.id}"


def _marked(wire: Mapping[str, Any], marker: tuple[str, str]) -> bool:
    tags = wire.get("tags") or {}
    return isinstance(tags, Mapping) and tags.get(marker[0]) == marker[1]


class WindowsProfileUpdate:
    """One cluster PUT that changes ``windowsProfile`` (password or license type) and reimages Windows pools.

    Params: ``password`` (the name of a secret in the context, never the value) and/or ``license_type``.
    A license type is read back; a password is not (ARM never returns it), so its PUT also sets the
    :func:`write_marker` tag, and "done" means that tag is on the cluster now. Without it the write is sent
    (again): an eTag that changed since the plan proves nothing about which write landed.
    """

    def _landed(self, step: Step, ctx: RunContext, wire: Mapping[str, Any]) -> bool:
        wanted = step.params.get("license_type")
        if (
            wanted is not None
            and (properties_of(wire).get("windowsProfile") or {}).get("licenseType", "None") != wanted
        ):
            return False
        if step.params.get("password"):
            return _marked(wire, write_marker(ctx, step))
        return wanted is not None

    def check(self, step: Step, ctx: RunContext) -> StepState:
        cc = cluster_of(ctx)
        wire = cc.cluster()
        if az.is_busy(cluster_busy_state(cc, wire)):
            return StepState.IN_FLIGHT
        # The service sets licenseType and tags when it accepts the PUT: done only once the cluster Succeeded.
        succeeded = properties_of(wire).get("provisioningState") == "Succeeded"
        return StepState.DONE if succeeded and self._landed(step, ctx, wire) else StepState.READY

    def start(self, step: Step, ctx: RunContext) -> JsonOp | None:
        cc = cluster_of(ctx)
        password: Secret | None = None
        if step.params.get("password"):
            name = str(step.params["password"])
            if name not in cc.secrets:
                raise InvalidInput(
                    f"the secret {name!r} is not in this run's context: pass it again to resume"
                )
            password = cc.secrets[name]
        license_type = step.params.get("license_type")
        cached = cc.cluster_wire
        cc.forget()

        def send() -> str:
            nonlocal cached
            c, cached = cached, None
            return az.begin_windows_profile_update(
                cc.clients,
                cc.resource_group,
                cc.name,
                password=password,
                license_type=None if license_type is None else str(license_type),
                cached=c,
                marker=write_marker(ctx, step) if password is not None else None,
            )

        def landed() -> bool:
            # A cluster Failed with the setting already in it does not prove that this write landed.
            wire = cc.cluster(fresh_ok=False)
            if az.is_busy(cluster_busy_state(cc, wire)):
                return True
            return properties_of(wire).get("provisioningState") == "Succeeded" and self._landed(
                step, ctx, wire
            )

        return operation_handle(
            send_write(ctx, step, send, lambda: cluster_busy_state(cc), landed), "cluster"
        )

    def wait(self, step: Step, ctx: RunContext, operation: JsonOp | None) -> None:
        cc = cluster_of(ctx)
        wait_for_operation(ctx, step, operation, lambda: cluster_busy_state(cc))

    def verify(self, step: Step, ctx: RunContext) -> str:
        cc = cluster_of(ctx)
        result = cc.results.pop(step.id, None)
        cc.remember(result)
        wire: Mapping[str, Any] = result if result and properties_of(result) else cc.cluster(fresh_ok=False)
        props = properties_of(wire)
        windows = [p for p in props.get("agentPoolProfiles") or [] if str(p.get("osType")) == "Windows"]
        bad = [
            f"{p.get('name')} is {p.get('provisioningState')}"
            for p in windows
            if p.get("provisioningState") != "Succeeded"
        ]
        if props.get("provisioningState") != "Succeeded" or bad:
            raise AzureOperationFailed(
                f"after the update: cluster {props.get('provisioningState')}; " + "; ".join(bad),
                code="VerificationFailed",
            )
        wanted = step.params.get("license_type")
        if wanted is not None and (props.get("windowsProfile") or {}).get("licenseType", "None") != wanted:
            raise AzureOperationFailed(
                f"windowsProfile.licenseType is not {wanted}", code="VerificationFailed"
            )
        if step.params.get("password") and not _marked(wire, write_marker(ctx, step)):
            raise AzureOperationFailed(
                "the cluster does not carry the tag the password write sets, so the new password cannot be "
                "shown to have been sent; run again to send it",
                code="VerificationFailed",
            )
        done = "new admin password set; " if step.params.get("password") else ""
        return f"{done}{len(windows)} Windows pools back to Succeeded"
