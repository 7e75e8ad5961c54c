"""ARM behaviours taken from recordings of the service: enum case, pools moved by Windows profile changes,
minor-only versions, current versions during an upgrade, GA fields kept, managed NAT gateway egress."""

from __future__ import annotations

from azure.mgmt.containerservice import models as m

from aks_windows_ops.azure import lro


def _pool(os_type: str, **kw: object) -> m.AgentPool:
    props = m.ManagedClusterAgentPoolProfileProperties(
        os_type=os_type, count=1, vm_size="Standard_D4s_v5", **kw
    )  # type: ignore[arg-type]
    return m.AgentPool(properties=props)


def test_enum_values_are_case_insensitive(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    pools = clients.containerservice.agent_pools
    created = pools.begin_create_or_update(
        rg, name, "wlow", _pool("windows", os_sku="windows2022", mode="user")
    ).result()
    assert (created.os_type, created.os_sku, created.mode) == ("Windows", "Windows2022", "User")
    assert fake.kube is None or all(
        n["metadata"]["labels"]["kubernetes.io/os"] == "windows" for n in fake.kube.nodes(pool="wlow")
    )
    # A later valid update of the same pool is accepted (osType did not change).
    created.count = 2
    assert pools.begin_create_or_update(rg, name, "wlow", created).result().count == 2


def test_gmsa_change_moves_every_pool_linux_included(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    mc.windows_profile.gmsa_profile = m.WindowsGmsaProfile(
        enabled=True, dns_server="10.0.0.4", root_domain_name="contoso.com"
    )
    token = lro.start(cs.managed_clusters.begin_create_or_update, rg, name, mc)
    states = {p.name: p.provisioning_state for p in cs.agent_pools.list(rg, name)}
    assert set(states.values()) == {"Updating"} and "system" in states
    lro.wait(
        cs.managed_clusters.begin_create_or_update,
        token,
        rg,
        name,
        {},
        clock=clients.clock,
        sleep=clients.sleep,
    )
    after = cs.managed_clusters.get(rg, name)
    gmsa = after.windows_profile.gmsa_profile
    assert (gmsa.enabled, gmsa.dns_server, gmsa.root_domain_name) == (True, "10.0.0.4", "contoso.com")
    assert {p.provisioning_state for p in cs.agent_pools.list(rg, name)} == {"Succeeded"}


def test_minor_only_version_resolves_to_the_latest_patch_and_current_versions_follow_at_once(
    scenario,
) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    mc = cs.managed_clusters.get(rg, name)
    old = mc.current_kubernetes_version
    major, minor = (int(x) for x in old.split(".")[:2])
    target_minor = f"{major}.{minor + 1}"
    latest = max(
        (v for v in fake.kubernetes_versions if v.startswith(f"{target_minor}.")),
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )
    mc.kubernetes_version = target_minor
    token = lro.start(cs.managed_clusters.begin_create_or_update, rg, name, mc)
    during = cs.managed_clusters.get(rg, name)
    assert during.kubernetes_version == latest and during.provisioning_state == "Upgrading"
    assert during.current_kubernetes_version == latest  # recorded: the target shows while Upgrading
    lro.wait(
        cs.managed_clusters.begin_create_or_update,
        token,
        rg,
        name,
        {},
        clock=clients.clock,
        sleep=clients.sleep,
    )
    assert cs.managed_clusters.get(rg, name).current_kubernetes_version == latest


def _cluster_body(**network: object) -> m.ManagedCluster:
    return m.ManagedCluster(
        location="westeurope",
        dns_prefix="fid",
        identity=m.ManagedClusterIdentity(type="SystemAssigned"),
        node_resource_group_profile=m.ManagedClusterNodeResourceGroupProfile(restriction_level="ReadOnly"),
        network_profile=m.ContainerServiceNetworkProfile(network_plugin="azure", **network),  # type: ignore[arg-type]
        agent_pool_profiles=[
            m.ManagedClusterAgentPoolProfile(
                name="system",
                mode="System",
                count=1,
                vm_size="Standard_D4s_v5",
                os_type="linux",
                gpu_profile=m.GPUProfile(driver="Install") if hasattr(m, "GPUProfile") else None,
            )
        ],
    )


def test_managed_nat_gateway_and_ga_fields_are_kept(scenario) -> None:  # type: ignore[no-untyped-def]
    fake, clients, rg, name = scenario("healthy")
    cs = clients.containerservice
    created = cs.managed_clusters.begin_create_or_update(
        rg, "natcluster", _cluster_body(outbound_type="managedNATGateway")
    ).result()
    network = created.network_profile
    assert network.outbound_type == "managedNATGateway"
    assert network.nat_gateway_profile is not None and network.nat_gateway_profile.effective_outbound_i_ps
    assert network.load_balancer_profile is None
    assert created.node_resource_group_profile.restriction_level == "ReadOnly"
    system = cs.agent_pools.get(rg, "natcluster", "system")
    assert system.os_type == "Linux"
    if hasattr(m, "GPUProfile"):
        assert system.gpu_profile is not None and system.gpu_profile.driver == "Install"
