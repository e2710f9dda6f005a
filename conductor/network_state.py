"""What one host's network data plane should hold, computed from the compute database.

A host gets the ports bound to it (``binding_host_id``) with their networks, subnets and
resolved security group rules; for its vxlan networks, the VTEPs of the other hosts with
ports there and those ports' MACs; and the routers it hosts. A router is hosted by the
first host (by name) with a bound port on one of its interface networks, which then also
holds the router's other networks.

A host's VTEP address is the ``vtep_ip`` its compute service registered with (its
``[network] local_ip``); a host without one is left out of the others' VTEP lists.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.compute_db.models import Service
from common.compute_db.network_models import (
    FloatingIP,
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
    Router,
    RouterPort,
    SecurityGroupRule,
    Subnet,
)
from common.messages import (
    AddressPair,
    FixedIp,
    FloatingMapping,
    HostNetwork,
    HostNetworkState,
    HostPort,
    HostRouter,
    NetSubnet,
    RemotePort,
    RouterGateway,
    RouterInterface,
    SecurityRule,
)

DHCP_OWNER = "network:dhcp"
COMPUTE_BINARY = "kilonova-compute"
ROUTER_GATEWAY = "network:router_gateway"


def _guest_port(port: Port) -> bool:
    return not port.device_owner.startswith("network:")


def _addresses(session: Session, port_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID,
                                                                         list[IpAllocation]]:
    found: dict[uuid.UUID, list[IpAllocation]] = defaultdict(list)
    ids = list(port_ids)
    if ids:
        for row in session.scalars(select(IpAllocation).where(IpAllocation.port_id.in_(ids))
                                   .order_by(IpAllocation.id)):
            found[row.port_id].append(row)
    return found


def _rules(session: Session, ports: list[Port]) -> dict[uuid.UUID, list[SecurityRule]]:
    """Each port's rules, remote groups expanded into their members' addresses."""
    groups_of: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for link in session.scalars(select(PortSecurityGroup).where(
            PortSecurityGroup.port_id.in_([p.id for p in ports]))):
        groups_of[link.port_id].append(link.security_group_id)
    group_ids = {g for groups in groups_of.values() for g in groups}
    rules: dict[uuid.UUID, list[SecurityGroupRule]] = defaultdict(list)
    for rule in session.scalars(select(SecurityGroupRule).where(
            SecurityGroupRule.security_group_id.in_(group_ids)).order_by(
            SecurityGroupRule.created_at, SecurityGroupRule.id)):
        rules[rule.security_group_id].append(rule)
    remotes = {r.remote_group_id for rs in rules.values() for r in rs if r.remote_group_id}
    members: dict[uuid.UUID, list[str]] = defaultdict(list)
    if remotes:
        for group_id, address in session.execute(
                select(PortSecurityGroup.security_group_id, IpAllocation.ip_address)
                .join(IpAllocation, IpAllocation.port_id == PortSecurityGroup.port_id)
                .where(PortSecurityGroup.security_group_id.in_(remotes))):
            members[group_id].append(address)
    answer: dict[uuid.UUID, list[SecurityRule]] = {}
    for port in ports:
        answer[port.id] = [_rule(rule, members) for group in groups_of[port.id]
                           for rule in rules[group]]
    return answer


def _rule(rule: SecurityGroupRule, members: dict[uuid.UUID, list[str]]) -> SecurityRule:
    prefixes: list[str] | None = None
    if rule.remote_group_id is not None:
        version = 6 if rule.ethertype == "IPv6" else 4
        prefixes = sorted({a for a in members[rule.remote_group_id]
                           if ipaddress.ip_address(a).version == version})
    elif rule.remote_ip_prefix:
        # Kept as given (10.2.3.124/24, as Neutron shows it); the firewall takes networks.
        prefixes = [str(ipaddress.ip_network(rule.remote_ip_prefix, strict=False))]
    return SecurityRule(direction=rule.direction, ethertype=rule.ethertype,
                        protocol=rule.protocol, port_range_min=rule.port_range_min,
                        port_range_max=rule.port_range_max, remote_prefixes=prefixes)


def _network(network: Network, subnets: list[Subnet],
             dhcp_ips: dict[uuid.UUID, str]) -> HostNetwork:
    return HostNetwork(
        id=network.id, type=network.network_type, segmentation_id=network.segmentation_id,
        physical_network=network.physical_network, mtu=network.mtu,
        subnets=[NetSubnet(id=s.id, cidr=s.cidr, gateway_ip=s.gateway_ip, dhcp=s.enable_dhcp,
                           dns_nameservers=[str(d) for d in s.dns_nameservers],
                           dhcp_server_ip=dhcp_ips.get(s.id))
                 for s in subnets])


def _with_prefix(address: str, subnets: dict[uuid.UUID, Subnet], subnet_id: uuid.UUID) -> str:
    return f"{address}/{ipaddress.ip_network(subnets[subnet_id].cidr).prefixlen}"


def _router_hosts(session: Session, bound: list[Port]) -> tuple[
        dict[uuid.UUID, str], dict[uuid.UUID, list[tuple[RouterPort, Port]]]]:
    """Each router's host (see the module's docstring) and its ports."""
    hosts_on: dict[uuid.UUID, set[str]] = defaultdict(set)
    for port in bound:
        hosts_on[port.network_id].add(port.binding_host_id)
    legs: dict[uuid.UUID, list[tuple[RouterPort, Port]]] = defaultdict(list)
    for leg, port in session.execute(select(RouterPort, Port).join(
            Port, Port.id == RouterPort.port_id).order_by(Port.id)):
        legs[leg.router_id].append((leg, port))
    placed: dict[uuid.UUID, str] = {}
    for router_id, ports in legs.items():
        candidates = {h for leg, p in ports if leg.port_type != ROUTER_GATEWAY
                      for h in hosts_on[p.network_id]}
        if candidates:
            placed[router_id] = min(candidates)
    return placed, legs


def _router(session: Session, router: Router, legs: list[tuple[RouterPort, Port]],
            addresses: dict[uuid.UUID, list[IpAllocation]],
            subnets: dict[uuid.UUID, Subnet]) -> HostRouter:
    gateway: RouterGateway | None = None
    interfaces: list[RouterInterface] = []
    for leg, port in legs:
        ips = [a for a in addresses.get(port.id, [])
               if ipaddress.ip_address(a.ip_address).version == 4]
        if not ips:
            continue
        first = ips[0]
        if leg.port_type == ROUTER_GATEWAY:
            gateway = RouterGateway(
                port_id=port.id, network_id=port.network_id,
                ip_address=_with_prefix(first.ip_address, subnets, first.subnet_id),
                next_hop=subnets[first.subnet_id].gateway_ip)
        else:
            interfaces += [RouterInterface(
                port_id=port.id, network_id=port.network_id,
                ip_address=_with_prefix(a.ip_address, subnets, a.subnet_id)) for a in ips]
    floating = [FloatingMapping(floating_ip=f.floating_ip_address, fixed_ip=f.fixed_ip_address)
                for f in session.scalars(select(FloatingIP).where(
                    FloatingIP.router_id == router.id,
                    FloatingIP.fixed_ip_address.is_not(None)).order_by(FloatingIP.id))
                if f.fixed_ip_address]
    return HostRouter(id=router.id, gateway=gateway, interfaces=interfaces,
                      snat=router.enable_snat, floating=floating)


def _vteps(session: Session) -> dict[str, str]:
    return {host: vtep for host, vtep in session.execute(
        select(Service.host, Service.vtep_ip).where(Service.binary == COMPUTE_BINARY,
                                                    Service.vtep_ip.is_not(None))) if vtep}


def host_network_state(session: Session, host: str) -> HostNetworkState:
    """The desired network state of ``host`` (read only; no writes)."""
    bound = [p for p in session.scalars(select(Port).where(Port.binding_host_id != "")
                                        .order_by(Port.id)) if _guest_port(p)]
    mine = [p for p in bound if p.binding_host_id == host]
    placed, legs = _router_hosts(session, bound)
    routers = [r for r in session.scalars(select(Router).where(
        Router.id.in_([rid for rid, h in placed.items() if h == host])).order_by(Router.id))
        if r.admin_state_up]
    network_ids = {p.network_id for p in mine} | {
        port.network_id for r in routers for _, port in legs[r.id]}
    networks = list(session.scalars(select(Network).where(Network.id.in_(network_ids))
                                    .order_by(Network.id)))
    subnets = {s.id: s for s in session.scalars(select(Subnet).where(
        Subnet.network_id.in_(network_ids)).order_by(Subnet.created_at, Subnet.id))}
    dhcp_ports = list(session.scalars(select(Port).where(
        Port.network_id.in_(network_ids), Port.device_owner == DHCP_OWNER)))
    router_port_ids = [port.id for r in routers for _, port in legs[r.id]]
    addresses = _addresses(session, [p.id for p in mine + dhcp_ports] + router_port_ids)
    dhcp_ips = {a.subnet_id: a.ip_address for p in dhcp_ports for a in addresses[p.id]}
    rules = _rules(session, mine) if mine else {}
    ports = [HostPort(
        id=p.id, network_id=p.network_id, mac=p.mac_address,
        fixed_ips=[FixedIp(subnet_id=a.subnet_id, ip_address=a.ip_address)
                   for a in addresses[p.id]],
        security_group_rules=rules.get(p.id, []), port_security_enabled=p.port_security_enabled,
        allowed_address_pairs=[AddressPair(ip_address=str(pair["ip_address"]),
                                           mac_address=pair.get("mac_address"))
                               for pair in p.allowed_address_pairs])
        for p in mine]
    vtep_of = _vteps(session)
    vteps: dict[uuid.UUID, list[str]] = {}
    remote: list[RemotePort] = []
    for network in networks:
        if network.network_type != "vxlan":
            continue
        others = {p.binding_host_id for p in bound if p.network_id == network.id} | {
            placed[rid] for rid, ports_of in legs.items() if rid in placed
            for _, port in ports_of if port.network_id == network.id}
        others.discard(host)
        vteps[network.id] = sorted({vtep_of[h] for h in others if h in vtep_of})
        remote += [RemotePort(network_id=network.id, mac=p.mac_address,
                              vtep=vtep_of[p.binding_host_id])
                   for p in bound if p.network_id == network.id
                   and p.binding_host_id != host and p.binding_host_id in vtep_of]
    return HostNetworkState(
        networks=[_network(n, [s for s in subnets.values() if s.network_id == n.id], dhcp_ips)
                  for n in networks],
        ports=ports, vteps=vteps, remote_ports=remote,
        routers=[_router(session, r, legs[r.id], addresses, subnets) for r in routers])
