"""Tables of the network API (a Neutron v2.0 subset), in the compute database.

Uniqueness that must hold under concurrent requests is the database's job: an address
is allocated once per subnet (``ip_allocations``), a MAC once per network (``ports``), a
segment once per type and physical network (``networks.segment_key``) and a project has
one default security group (``default_security_groups``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.compute_db.models import ComputeBase
from common.db import utcnow


class Network(ComputeBase):
    __tablename__ = "networks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    shared: Mapped[bool] = mapped_column(default=False)
    external: Mapped[bool] = mapped_column(default=False)
    mtu: Mapped[int]
    network_type: Mapped[str] = mapped_column(String(16))
    physical_network: Mapped[str | None] = mapped_column(String(64))
    segmentation_id: Mapped[int | None]
    # "<type>:<physical network>:<segmentation id>": one network per segment.
    segment_key: Mapped[str] = mapped_column(String(128), unique=True)
    port_security_enabled: Mapped[bool] = mapped_column(default=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subnet(ComputeBase):
    __tablename__ = "subnets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    network_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int]
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    allocation_pools: Mapped[list[Any]] = mapped_column(JSON, default=list)
    dns_nameservers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    host_routes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    enable_dhcp: Mapped[bool] = mapped_column(default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(32))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Port(ComputeBase):
    __tablename__ = "ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    # Not cascading: a network with ports is refused deletion (NetworkInUse).
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(default=True)
    # Made for a server (not handed in by its user): deleted when the server goes.
    delete_with_device: Mapped[bool] = mapped_column(default=False)
    allowed_address_pairs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    binding_host_id: Mapped[str] = mapped_column(String(255), default="")
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vnic_type: Mapped[str] = mapped_column(String(32), default="normal")
    binding_profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    binding_vif_details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IpAllocation(ComputeBase):
    """One address of a port; the unique (subnet, address) makes allocation race-free."""

    __tablename__ = "ip_allocations"
    __table_args__ = (UniqueConstraint("subnet_id", "ip_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    port_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    # Not cascading: a subnet with allocations is refused deletion (SubnetInUse).
    subnet_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subnets.id"))
    network_id: Mapped[uuid.UUID] = mapped_column(index=True)
    ip_address: Mapped[str] = mapped_column(String(64))


class SecurityGroup(ComputeBase):
    __tablename__ = "security_groups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    stateful: Mapped[bool] = mapped_column(default=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DefaultSecurityGroup(ComputeBase):
    """A project's "default" group: the primary key makes its creation on demand safe."""

    __tablename__ = "default_security_groups"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    security_group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), unique=True)


class SecurityGroupRule(ComputeBase):
    __tablename__ = "security_group_rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    security_group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None]
    port_range_max: Mapped[int | None]
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    revision_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PortSecurityGroup(ComputeBase):
    __tablename__ = "port_security_groups"

    port_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    # Not cascading: a group a port uses is refused deletion (SecurityGroupInUse).
    security_group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("security_groups.id"), primary_key=True, index=True)


class NetworkQuota(ComputeBase):
    """A project's network limit for one resource, overriding the default."""

    __tablename__ = "network_quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(64))
    hard_limit: Mapped[int]


class Router(ComputeBase):
    __tablename__ = "routers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    enable_snat: Mapped[bool] = mapped_column(default=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RouterPort(ComputeBase):
    """A router's gateway port or one of its interface ports (``port_type`` says which)."""

    __tablename__ = "router_ports"

    port_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    # Not cascading: a router with interfaces is refused deletion (RouterInUse).
    router_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routers.id"), index=True)
    port_type: Mapped[str] = mapped_column(String(255))


class FloatingIP(ComputeBase):
    """An external address, held through its own port's ``ip_allocations`` row.

    One floating IP per fixed address: the unique (fixed_port_id, fixed_ip_address) makes
    concurrent associations safe. Deleting the fixed port disassociates (SET NULL).
    """

    __tablename__ = "floating_ips"
    __table_args__ = (UniqueConstraint("fixed_port_id", "fixed_ip_address"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    floating_network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id"),
                                                           index=True)
    floating_port_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), unique=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    fixed_port_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ports.id", ondelete="SET NULL"), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("routers.id", ondelete="SET NULL"), index=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["DefaultSecurityGroup", "FloatingIP", "IpAllocation", "Network", "NetworkQuota",
           "Port", "PortSecurityGroup", "Router", "RouterPort", "SecurityGroup",
           "SecurityGroupRule", "Subnet"]
