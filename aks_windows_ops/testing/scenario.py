"""Scenario files: a YAML description of subscriptions, clusters, pools, subnets, workloads and faults.

The format (every key but the names is optional; defaults in brackets)::

    name: healthy                          # a short name
    description: one line for humans
    shows: [NODE_IMAGE_OUTDATED]           # preflight findings it exists to show: all its warnings and errors [none]
    kubernetes_versions: [1.17.0, 1.18.1]  # versions the simulated region also offers [the catalog's]
    subscriptions:
      - id: 00000000-0000-0000-0000-000000000001
        resource_groups:
          - name: rg-prod
            location: westeurope           # [westeurope]
            vnets:
              - name: vnet-prod
                address_prefix: 10.0.0.0/8
                subnets: {nodes: 10.240.0.0/16}
                used: {nodes: 40}          # addresses taken by things outside AKS
            clusters:
              - name: aks-prod
                kubernetes_version: 1.35.7 # [1.35.7]
                network_plugin: azure      # azure | kubenet [azure]
                network_plugin_mode: overlay   # overlay | null (node subnet) [null]
                identity: SystemAssigned   # SystemAssigned | UserAssigned | service_principal [SystemAssigned]
                created: 2024-03-01        # systemData.createdAt [today]
                legacy_windows_image: false    # created before Feb 2020, control plane never upgraded [false]
                windows_image_date: 2026-10-14 # last control plane upgrade: newest Windows image it may use [today]
                auto_upgrade_channel: none
                windows_profile: {admin_username: azureuser, license_type: Windows_Server, gmsa: false}
                pools:
                  - name: system
                    mode: System           # [User]
                    os_type: Linux         # [Linux]
                    os_sku: Ubuntu         # [Ubuntu / Windows2022 by version]
                    count: 3               # [1]
                    vm_size: Standard_D4s_v5
                    version: 1.35.7        # [the cluster's]
                    node_image: oldest     # oldest | latest | an image name [latest]
                    max_pods: 30
                    subnet: vnet-prod/nodes    # vnet/subnet in the same resource group, or a full id
                    max_surge: 10%
                    labels: {team: web}
                    taints: [os=windows:NoSchedule]
                    zones: ["1", "2"]
                    unlicensed_instances: ["1"]   # instances whose licenseType was removed by hand (drift)
                workloads: []              # Kubernetes manifests for FakeKubernetes
    images:                                # container images the simulated registries serve
      - image: mcr.microsoft.com/dotnet/framework/aspnet:4.8
        builds: [10.0.17763.6532, 10.0.20348.2849]   # one os.version per Windows platform of its index
        os: windows                        # windows | linux [windows]
        public: true                       # anonymous pulls [true, false for *.azurecr.io]
    faults:                                # scripted faults, as FakeAzure.add_fault takes them
      - {kind: throttle, path: agentPools, times: 2, retry_after: 3}

Built-in scenarios live beside this module (``scenarios/*.yaml``): ``healthy``, ``ws2019-retiring``,
``legacy-2019``, ``subnet-full`` (design notes, "The simulator").
"""

from __future__ import annotations

import datetime as _dt
from importlib import resources
from pathlib import Path
from typing import Any

from aks_windows_ops import limits
from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.testing import catalog
from aks_windows_ops.testing.scenario_schema import check_scenario

__all__ = ["BUILTIN_SCENARIOS", "load_scenario", "read_scenario", "scenario_path", "seed_cluster"]

BUILTIN_SCENARIOS: tuple[str, ...] = ("healthy", "ws2019-retiring", "legacy-2019", "subnet-full")


def scenario_path(name: str) -> Path:
    """Return the file of a built-in scenario.

    Raises:
        InvalidInput: no built-in scenario has that name (the message lists them).
    """
    if name not in BUILTIN_SCENARIOS:
        raise InvalidInput(
            f"unknown built-in scenario {name!r}; the built-in scenarios are {', '.join(BUILTIN_SCENARIOS)}"
        )
    return Path(str(resources.files("aks_windows_ops.testing") / "scenarios" / f"{name}.yaml"))


def read_scenario(source: Any) -> dict[str, Any]:
    """Parse and validate a scenario from a dict, a built-in name, a path, or YAML text.

    The one place scenario YAML is read: every problem (no such file or built-in, malformed YAML, an unknown
    key, a wrong type, an impossible state) is an ``InvalidInput`` naming the file and, for schema problems,
    the key path, its line and the allowed values (see :mod:`aks_windows_ops.testing.scenario_schema`).

    Raises:
        InvalidInput: the scenario cannot be read or is not valid.
    """
    if isinstance(source, dict):
        return check_scenario(source, source=str(source.get("name") or "the scenario"))
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source):
        name = str(source)
        if name in BUILTIN_SCENARIOS:
            path, label = scenario_path(name), f"built-in scenario {name}"
        else:
            path, label = Path(name).expanduser(), name
            if not path.is_file():
                raise InvalidInput(
                    f"no scenario {name!r}: not a built-in scenario and no such file; "
                    f"the built-in scenarios are {', '.join(BUILTIN_SCENARIOS)}"
                )
        text = limits.read_text_limited(path, limits.SCENARIO_LIMITS, what="scenario file")
    else:
        text, label = str(source), "the scenario text"
    data = limits.load_yaml(text, limits.SCENARIO_LIMITS, source=label)
    return check_scenario(data, source=label, text=text)


def load_scenario(source: Any, **kwargs: Any) -> Any:
    """Build a ``FakeAzure`` from a scenario (see the module docstring for the format).

    Keyword arguments go to ``FakeAzure`` (``kube=``, ``latency=`` ...).
    """
    from aks_windows_ops.testing.fake_azure import FakeAzure

    data = read_scenario(source)
    if "today" in data and "today" not in kwargs:
        kwargs["today"] = _date(data["today"])
    fake = FakeAzure(**kwargs)
    fake.scenario = data  # type: ignore[attr-defined]
    extra = [str(v) for v in data.get("kubernetes_versions") or [] if str(v) not in fake.kubernetes_versions]
    if extra:
        fake.kubernetes_versions = sorted([*extra, *fake.kubernetes_versions], key=catalog.parse_version)
    for number, entry in enumerate(data.get("images") or [], 1):
        try:
            fake.registry.add_image(
                str(entry["image"]),
                [str(b) for b in entry.get("builds") or []],
                os=str(entry.get("os", "windows")),
                public=entry.get("public"),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise ValueError(f"scenario images entry {number}: {err} (expected image: and builds:)") from None
    for sub in data.get("subscriptions") or []:
        sub_id = str(sub["id"])
        for rg in sub.get("resource_groups") or []:
            location = rg.get("location", "westeurope")
            fake.add_resource_group(sub_id, rg["name"], location)
            for vnet in rg.get("vnets") or []:
                fake.add_vnet(
                    sub_id,
                    rg["name"],
                    vnet["name"],
                    address_prefix=vnet.get("address_prefix", "10.0.0.0/8"),
                    subnets=dict(vnet.get("subnets") or {}),
                    used=dict(vnet.get("used") or {}),
                    location=location,
                )
            for cluster in rg.get("clusters") or []:
                spec = dict(cluster)
                spec.setdefault("location", location)
                fake.add_cluster(sub_id, rg["name"], spec.pop("name"), **spec)
    for fault in data.get("faults") or []:
        spec = dict(fault)
        fake.add_fault(spec.pop("kind"), **spec)
    return fake


def _date(value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    return _dt.date.fromisoformat(str(value))


def _subnet_id(sub: str, rg: str, ref: str | None) -> str | None:
    if not ref:
        return None
    if ref.startswith("/subscriptions/"):
        return ref
    vnet, subnet = ref.split("/", 1)
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}"


def seed_cluster(fake: Any, sub: str, rg: str, name: str, spec: dict[str, Any]) -> None:
    """Create a running cluster in ``fake`` from a scenario cluster entry (no operation, no journal entry)."""
    from aks_windows_ops.testing.arm.bodies import build_cluster, complete_cluster, pool_defaults
    from aks_windows_ops.testing.arm.state import iso as _iso

    version = str(spec.get("kubernetes_version", "1.35.7"))
    identity = spec.get("identity", "SystemAssigned")
    network: dict[str, Any] = {"networkPlugin": spec.get("network_plugin", "azure")}
    if spec.get("network_plugin_mode"):
        network["networkPluginMode"] = spec["network_plugin_mode"]
    props: dict[str, Any] = {
        "kubernetesVersion": version,
        "dnsPrefix": f"{name}-dns",
        "networkProfile": network,
        "autoUpgradeProfile": {
            "upgradeChannel": spec.get("auto_upgrade_channel", "none"),
            "nodeOSUpgradeChannel": "NodeImage",
        },
    }
    win = spec.get("windows_profile")
    if win is not None:
        props["windowsProfile"] = {
            "adminUsername": win.get("admin_username", "azureuser"),
            "enableCSIProxy": True,
        }
        if win.get("license_type"):
            props["windowsProfile"]["licenseType"] = str(win["license_type"])
        if win.get("gmsa"):
            props["windowsProfile"]["gmsaProfile"] = {"enabled": True}
    body: dict[str, Any] = {"location": spec.get("location", "westeurope"), "properties": props}
    if identity == "service_principal":
        props["servicePrincipalProfile"] = {"clientId": "11111111-2222-3333-4444-555555555555"}
    else:
        body["identity"] = {"type": identity}
    fake.add_resource_group(sub, rg, body["location"])
    cluster = build_cluster(fake, sub, rg, name, body)
    created = spec.get("created")
    if created:
        stamp = _dt.datetime.combine(_date(created), _dt.time(9, 0))
        cluster.body["systemData"]["createdAt"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    cluster.legacy_windows_image = bool(spec.get("legacy_windows_image", False))
    if spec.get("windows_image_date"):
        cluster.windows_image_cutoff = _date(spec["windows_image_date"])
    elif cluster.legacy_windows_image:
        cluster.windows_image_cutoff = catalog.IMAGE_RELEASES[0]
    complete_cluster(cluster)
    fake.clusters[cluster.key] = cluster
    for pool_spec in spec.get("pools") or []:
        pname = pool_spec["name"]
        os_type = pool_spec.get("os_type", "Linux")
        props_in: dict[str, Any] = {
            "osType": os_type,
            "mode": pool_spec.get("mode", "User"),
            "count": limits.bounded_int(
                pool_spec.get("count", 1),
                name=f"pool {pname} count",
                minimum=0,
                maximum=limits.MAX_POOL_NODES,
            ),
            "orchestratorVersion": str(pool_spec.get("version", version)),
        }
        for src, dst in (
            ("os_sku", "osSKU"),
            ("vm_size", "vmSize"),
            ("max_pods", "maxPods"),
            ("labels", "nodeLabels"),
            ("taints", "nodeTaints"),
            ("zones", "availabilityZones"),
            ("min_count", "minCount"),
            ("max_count", "maxCount"),
            ("autoscale", "enableAutoScaling"),
        ):
            if pool_spec.get(src) is not None:
                props_in[dst] = pool_spec[src]
        if pool_spec.get("max_surge") is not None:
            props_in["upgradeSettings"] = {"maxSurge": str(pool_spec["max_surge"]), "maxUnavailable": "0"}
        subnet = _subnet_id(sub, rg, pool_spec.get("subnet"))
        if subnet:
            props_in["vnetSubnetID"] = subnet
        pool = pool_defaults(fake, cluster, pname, props_in)
        image = pool_spec.get("node_image", "latest")
        if image == "oldest":
            pool["nodeImageVersion"] = catalog.oldest_image(pool["osSKU"], os_type)
        elif image != "latest":
            pool["nodeImageVersion"] = str(image)
        cluster.pools[pname] = pool
        fake._create_vmss(cluster, pname)
        for instance in pool_spec.get("unlicensed_instances") or []:
            fake.set_instance_license(sub, rg, name, pname, str(instance), None)
        fake._sync_kube(cluster, pname)
    cluster.etag = f"etag-{name}"
    cluster.body["systemData"]["lastModifiedAt"] = _iso(fake.base_time, fake.clock.monotonic())
    if fake.kube is not None and spec.get("workloads"):
        for manifest in spec["workloads"]:
            fake.kube.apply(manifest)
