"""The declared schema of scenario files (pydantic v2), and the errors a bad file gets.

A scenario describes subscriptions, resource groups, virtual networks, clusters, pools, workloads and scripted
faults (see :mod:`aks_windows_ops.testing.scenario` for the format). Every key is declared: an unknown key, a
value of the wrong type or outside its allowed values, or a state AKS cannot be in (a Windows pool in System
mode, a Linux OS SKU on a Windows pool, a pool newer than its control plane, autoscaler bounds the wrong way
round, a pool on a subnet the scenario does not declare) is an error that names the file, the key path, the
line when the file has one, and the allowed values. The same schema is what ``snapshot`` writes and what a
twin's scenario is stored as.

pydantic is imported with this module (loaded with the simulator, never by ``import aks_windows_ops``), so
that checking a scenario allocates little beyond the scenario itself.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from typing import TYPE_CHECKING, Any

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.rules import versions

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pydantic import BaseModel

__all__ = ["check_scenario", "scenario_model"]

_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_TAINT = re.compile(r"^[^:=\s]+(=[^:\s]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$")
_MODEL: Any = None
_FORMS = {
    "version": "a version like 1.33.5",
    "kubernetes_version": "a version like 1.33.5",
    "kubernetes_versions": "a version like 1.33.5",
    "shows": "a preflight finding code like NODE_IMAGE_OUTDATED",
    "id": "a subscription id (letters, digits and dashes, such as 00000000-0000-0000-0000-000000000001)",
    "name": "a pool name: a lowercase letter, then lowercase letters and digits",
}


def _version(value: str) -> tuple[int, int, int]:
    parsed = versions.parse_version(value)
    return parsed.major, parsed.minor, parsed.patch or 0


def scenario_model() -> type[BaseModel]:
    """The pydantic model of a whole scenario (built on first use)."""
    global _MODEL
    if _MODEL is None:
        _MODEL = _build()
    return _MODEL  # type: ignore[no-any-return]


def _build() -> type[BaseModel]:
    from typing import Annotated, Literal

    from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    class WindowsProfile(Strict):
        admin_username: str = "azureuser"
        license_type: Literal["Windows_Server", "None"] | None = None
        gmsa: bool = False

    class Pool(Strict):
        name: str = Field(min_length=1, max_length=12, pattern=r"^[a-z][a-z0-9]*$")
        mode: Literal["System", "User"] = "User"
        os_type: Literal["Linux", "Windows"] = "Linux"
        os_sku: (
            Literal["Ubuntu", "AzureLinux", "CBLMariner", "Windows2019", "Windows2022", "Windows2025"] | None
        ) = None
        count: Any = 1  # a whole number from 0 to 1000, checked (naming the pool) when the pool is built
        vm_size: str | None = None
        version: str | None = Field(default=None, pattern=_VERSION.pattern)
        node_image: str = "latest"
        max_pods: int | None = Field(default=None, ge=10, le=250)
        subnet: str | None = None
        max_surge: str | int | None = None
        labels: dict[str, str] = Field(default_factory=dict)
        taints: list[str] = Field(default_factory=list)
        zones: list[str] = Field(default_factory=list)
        unlicensed_instances: list[str | int] = Field(default_factory=list)
        min_count: int | None = Field(default=None, ge=0, le=1000)
        max_count: int | None = Field(default=None, ge=0, le=1000)
        autoscale: bool | None = None

        @field_validator("taints")
        @classmethod
        def _taints(cls, value: list[str]) -> list[str]:
            for taint in value:
                if not _TAINT.match(taint):
                    raise ValueError(
                        f"taint {taint!r} is not key=value:Effect with Effect NoSchedule, PreferNoSchedule or "
                        "NoExecute"
                    )
            return value

        @model_validator(mode="after")
        def _consistent(self) -> Pool:
            if self.os_sku is not None and self.os_sku.startswith("Windows") != (self.os_type == "Windows"):
                raise ValueError(f"os_sku {self.os_sku} does not run on os_type {self.os_type}")
            if self.os_type == "Windows" and self.mode == "System":
                raise ValueError("a Windows pool cannot be a System pool (AKS: system pools run Linux)")
            if self.os_type == "Windows" and len(self.name) > 6:
                raise ValueError(f"Windows pool name {self.name!r} is longer than 6 characters")
            if self.min_count is not None and self.max_count is not None and self.min_count > self.max_count:
                raise ValueError(f"min_count {self.min_count} is greater than max_count {self.max_count}")
            return self

    class Cluster(Strict):
        name: str = Field(min_length=1, max_length=63)
        location: str | None = None
        kubernetes_version: str = Field(default="1.35.7", pattern=_VERSION.pattern)
        network_plugin: Literal["azure", "kubenet", "none"] = "azure"
        network_plugin_mode: Literal["overlay"] | None = None
        identity: Literal["SystemAssigned", "UserAssigned", "service_principal"] = "SystemAssigned"
        created: _dt.date | None = None
        legacy_windows_image: bool = False
        windows_image_date: _dt.date | None = None
        auto_upgrade_channel: Literal["none", "patch", "stable", "rapid", "node-image"] = "none"
        windows_profile: WindowsProfile | None = None
        pools: list[Pool] = Field(default_factory=list)
        workloads: list[dict[str, Any]] = Field(default_factory=list)

        @model_validator(mode="after")
        def _consistent(self) -> Cluster:
            names = [p.name for p in self.pools]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"pool names repeat: {', '.join(duplicates)}")
            for pool in self.pools:
                if pool.version and _version(pool.version) > _version(self.kubernetes_version):
                    raise ValueError(
                        f"pool {pool.name} runs {pool.version}, newer than the control plane "
                        f"{self.kubernetes_version}"
                    )
            if any(p.os_type == "Windows" for p in self.pools) and self.network_plugin == "kubenet":
                raise ValueError("Windows pools need network_plugin azure (kubenet has no Windows support)")
            for manifest in self.workloads:
                if not manifest.get("kind") or not (manifest.get("metadata") or {}).get("name"):
                    raise ValueError("every workload needs a kind and metadata.name")
            return self

    class Vnet(Strict):
        name: str = Field(min_length=1)
        address_prefix: str = "10.0.0.0/8"
        subnets: dict[str, str] = Field(default_factory=dict)
        used: dict[str, int] = Field(default_factory=dict)

        @model_validator(mode="after")
        def _consistent(self) -> Vnet:
            try:
                space = ipaddress.ip_network(self.address_prefix, strict=False)
                for subnet, prefix in self.subnets.items():
                    net = ipaddress.ip_network(prefix, strict=False)
                    if not net.subnet_of(space):  # type: ignore[arg-type]
                        raise ValueError(f"subnet {subnet} ({prefix}) is outside {self.address_prefix}")
            except (TypeError, ValueError) as err:
                raise ValueError(str(err)) from err
            unknown = sorted(set(self.used) - set(self.subnets))
            if unknown:
                raise ValueError(f"used names subnets that are not declared: {', '.join(unknown)}")
            if any(v < 0 for v in self.used.values()):
                raise ValueError("used addresses cannot be negative")
            return self

    class ResourceGroup(Strict):
        name: str = Field(min_length=1, max_length=90)
        location: str = "westeurope"
        vnets: list[Vnet] = Field(default_factory=list)
        clusters: list[Cluster] = Field(default_factory=list)

        @model_validator(mode="after")
        def _consistent(self) -> ResourceGroup:
            declared = {f"{v.name}/{s}".lower() for v in self.vnets for s in v.subnets}
            for cluster in self.clusters:
                for pool in cluster.pools:
                    ref = pool.subnet
                    if ref and not ref.startswith("/subscriptions/") and ref.lower() not in declared:
                        raise ValueError(
                            f"pool {cluster.name}/{pool.name} uses subnet {ref!r}, which no vnet of resource "
                            f"group {self.name} declares"
                            + (f" (declared: {', '.join(sorted(declared))})" if declared else "")
                        )
            return self

    class Subscription(Strict):
        id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
        resource_groups: list[ResourceGroup] = Field(default_factory=list)

    class FaultSpec(Strict):
        kind: Literal["throttle", "error", "reset", "fail_operation", "stuck", "crash_before", "crash_after"]
        method: Literal["GET", "PUT", "POST", "PATCH", "DELETE"] | None = None
        path: str | None = None
        times: int = Field(default=1, ge=0)
        skip: int = Field(default=0, ge=0)
        status: int = Field(default=503, ge=400, le=599)
        retry_after: float | None = Field(default=None, ge=0)
        code: str = "InternalServerError"
        message: str = "An internal error occurred."

    class Image(Strict):
        # The image reference and its builds are checked where the registry takes them (entry by number).
        image: Any = None
        builds: list[Any] = Field(default_factory=list)
        os: Literal["windows", "linux"] = "windows"
        public: bool | None = None
        index: bool | None = None

    class Scenario(Strict):
        name: str | None = None
        description: str | None = None
        shows: list[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]] = Field(default_factory=list)
        today: _dt.date | None = None
        exported_at: str | None = None
        notes: list[str] = Field(default_factory=list)
        kubernetes_versions: list[Annotated[str, Field(pattern=_VERSION.pattern)]] = Field(
            default_factory=list
        )
        subscriptions: list[Subscription] = Field(default_factory=list)
        images: list[Image] = Field(default_factory=list)
        faults: list[FaultSpec] = Field(default_factory=list)

        @field_validator("exported_at", mode="before")
        @classmethod
        def _stamp(cls, value: Any) -> Any:
            return value.isoformat() if isinstance(value, (_dt.date, _dt.datetime)) else value

    return Scenario


def _line_of(text: str | None, path: tuple[Any, ...]) -> int | None:
    """The 1-based line of a key path in YAML text, as far down the path as the text goes."""
    if not text:
        return None
    import yaml

    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            key = next((k for k, _ in node.value if getattr(k, "value", None) == str(part)), None)
            if found is None:
                break
            line = (key or found).start_mark.line + 1
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def check_scenario(data: Any, *, source: str, text: str | None = None) -> dict[str, Any]:
    """Validate a scenario against the schema and return it (plain data, as given).

    Args:
        data: the parsed scenario.
        source: what to call it in messages (the file, or the built-in name).
        text: the YAML text, to give line numbers.

    Raises:
        InvalidInput: one problem per line: ``FILE: key.path (line N): what is wrong; allowed: ...``.
    """
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: a scenario must be a YAML mapping (name, subscriptions, faults ...)")
    try:
        scenario_model().model_validate(data)
    except ValidationError as err:
        problems = []
        for item in err.errors(include_url=False):
            loc = tuple(
                p for p in item["loc"] if not (isinstance(p, str) and p.startswith(("function-", "str")))
            )
            line = _line_of(text, loc)
            where = _dotted(loc) + (f" (line {line})" if line else "")
            message = str(item["msg"]).removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                allowed = _allowed_keys(loc[:-1])
                message = (
                    f"unknown key; allowed keys here: {', '.join(allowed)}" if allowed else "unknown key"
                )
            elif item["type"] == "string_pattern_mismatch":
                named = [part for part in loc if isinstance(part, str)]
                hint = _FORMS.get(named[-1] if named else "", "the documented form")
                message = f"{item.get('input')!r} is not {hint}"
            elif item["type"] == "literal_error":
                message = (
                    f"{item.get('input')!r} is not allowed; {message.replace('Input should be', 'allowed:')}"
                )
            problems.append(f"{source}: {where}: {message}")
        raise InvalidInput(problems) from None
    return data


def _allowed_keys(path: tuple[Any, ...]) -> list[str]:
    """The keys a mapping at ``path`` may hold, from the schema."""
    model: Any = scenario_model()
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _inner_model(field.annotation)
        if model is None:
            return []
    return sorted(model.model_fields)


def _inner_model(annotation: Any) -> Any:
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


scenario_model()  # built once, when the simulator is loaded
