"""Tables of the compute database.

Shared by the compute API, the conductor and the scheduler (read-only), which all
work on the same records; compute agents never import this module.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from common.db import NAMING_CONVENTION, UUIDStr, utcnow


class ComputeBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {uuid.UUID: UUIDStr, dict[str, Any]: JSON, list[str]: JSON}


class Service(ComputeBase):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4, unique=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str | None] = mapped_column(String(64))
    disabled: Mapped[bool] = mapped_column(default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(default=False)
    last_seen_up: Mapped[datetime | None]
    # The RPC server (queue) a compute host's messages go to: its agent process's, when
    # one process serves many (simulated) hosts; NULL: the host's own.
    rpc_server: Mapped[str | None] = mapped_column(String(255))
    # A compute host's VXLAN tunnel address (its `[network] local_ip`), as it registered.
    vtep_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class ComputeNode(ComputeBase):
    __tablename__ = "compute_nodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    hypervisor_hostname: Mapped[str] = mapped_column(String(255), unique=True)
    hypervisor_type: Mapped[str] = mapped_column(String(32))
    vcpus: Mapped[int]
    memory_mb: Mapped[int]
    local_gb: Mapped[int]
    cpu_allocation_ratio: Mapped[float]
    ram_allocation_ratio: Mapped[float]
    disk_allocation_ratio: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class Flavor(ComputeBase):
    __tablename__ = "flavors"

    id: Mapped[int] = mapped_column(primary_key=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    memory_mb: Mapped[int]
    vcpus: Mapped[int]
    root_gb: Mapped[int] = mapped_column(default=0)
    ephemeral_gb: Mapped[int] = mapped_column(default=0)
    swap: Mapped[int] = mapped_column(default=0)
    rxtx_factor: Mapped[float] = mapped_column(default=1.0)
    is_public: Mapped[bool] = mapped_column(default=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(Text)
    extra_specs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class FlavorProject(ComputeBase):
    """A project allowed to use a private flavor (os-flavor-access)."""

    __tablename__ = "flavor_projects"
    __table_args__ = (UniqueConstraint("flavor_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(255), index=True)


class Image(ComputeBase):
    """An image of the built-in image service (a Glance v2 subset)."""

    __tablename__ = "images"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(32), default="queued")
    disk_format: Mapped[str | None] = mapped_column(String(32))
    container_format: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int | None]
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    min_disk: Mapped[int] = mapped_column(default=0)
    min_ram: Mapped[int] = mapped_column(default=0)
    visibility: Mapped[str] = mapped_column(String(32), default="shared")
    protected: Mapped[bool] = mapped_column(default=False)
    owner: Mapped[str | None] = mapped_column(String(255))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Instance(ComputeBase):
    __tablename__ = "instances"
    __table_args__ = (
        Index(None, "project_id", "deleted", "created_at"),
        Index(None, "host", "deleted"),
        Index(None, "deleted", "cleaned"),
        Index(None, "task_state", "task_deadline"),
        # ``changes-since`` lists and the scheduler's recent build failures.
        Index(None, "updated_at"),
        # The neutron backend's sweep: servers whose ports are in an external Neutron.
        Index(None, "ports_host"),
    )

    # Integer id: the stable sort key behind markers and `instance-%08x` names.
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    display_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    image_ref: Mapped[str | None] = mapped_column(String(255))
    flavor: Mapped[dict[str, Any]]
    vm_state: Mapped[str] = mapped_column(String(32), index=True)
    task_state: Mapped[str | None] = mapped_column(String(32))
    task_deadline: Mapped[datetime | None]
    power_state: Mapped[int] = mapped_column(default=0)
    host: Mapped[str | None] = mapped_column(String(255))
    node: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    key_name: Mapped[str | None] = mapped_column(String(255))
    user_data: Mapped[str | None] = mapped_column(Text)
    config_drive: Mapped[str] = mapped_column(String(255), default="")
    # OS-DCF:diskConfig as asked at create, rebuild, resize or update: AUTO or MANUAL.
    disk_config: Mapped[str] = mapped_column(String(8), default="MANUAL",
                                             server_default="MANUAL")
    access_ip_v4: Mapped[str | None] = mapped_column(String(64))
    access_ip_v6: Mapped[str | None] = mapped_column(String(64))
    metadata_items: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[int] = mapped_column(default=0)
    reservation_id: Mapped[str] = mapped_column(String(255))
    launch_index: Mapped[int] = mapped_column(default=0)
    locked: Mapped[bool] = mapped_column(default=False)
    # Why it was locked (2.73); cleared on unlock.
    locked_reason: Mapped[str | None] = mapped_column(String(255))
    # The guest's administrator password as the metadata service received it (encrypted
    # with the key pair's public key by the guest); os-server-password shows it.
    password: Mapped[str | None] = mapped_column(Text)
    # The guest's hostname (2.90+ settable; derived from the name otherwise).
    hostname: Mapped[str | None] = mapped_column(String(255))
    # Hints as given at create (values as lists, the way upstream shows them at 2.100).
    scheduler_hints: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # 2.74: an admin's requested host / hypervisor node for the build.
    requested_host: Mapped[str | None] = mapped_column(String(255))
    requested_node: Mapped[str | None] = mapped_column(String(255))
    # The boot image's metadata at create time, as strings (shown at 2.98).
    image_meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The public key of key_name at create time (the config drive's public_keys).
    key_data: Mapped[str | None] = mapped_column(Text)
    # [network] backend = neutron only: the interfaces and security groups the create
    # asked for ({"interfaces": [{"network_id", "port_id", "fixed_ip"}],
    # "security_groups": [ids]}, handed-in ports included), kept until its ports in
    # Neutron are released; and the host those ports were last bound to ("" unbound;
    # NULL: the server has no ports in an external Neutron).
    # Where ports_host differs from host, or the server is deleted, the conductor's
    # sweep makes Neutron agree (conductor/neutron_ports.py).
    network_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ports_host: Mapped[str | None] = mapped_column(String(255))
    # The guest's addresses as the API shows them ({network: [{version, addr, ...}]}),
    # recorded by the conductor from what the host's agent learned (DHCP leases).
    addresses: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # While shelved: the snapshot the server is kept in (deleted once it is unshelved)
    # and when the shelve finished (the start of [compute] shelved_offload_time).
    shelved_image_id: Mapped[str | None] = mapped_column(String(36))
    shelved_at: Mapped[datetime | None]
    launched_at: Mapped[datetime | None]
    terminated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None]
    deleted: Mapped[bool] = mapped_column(default=False)
    # Hosts a build already failed on, so a reschedule avoids them.
    attempted_hosts: Mapped[list[str]] = mapped_column(default=list)
    # True once the server's placement allocations are known to be released.
    cleaned: Mapped[bool] = mapped_column(default=False)
    # Durable work: the conductor (its host name) driving the build, and since when.
    # Another conductor takes the build over when this one's heartbeat stops.
    work_owner: Mapped[str | None] = mapped_column(String(255))
    work_claimed_at: Mapped[datetime | None]

    faults: Mapped[list[InstanceFault]] = relationship(
        back_populates="instance", order_by="InstanceFault.id.desc()", lazy="raise"
    )


class InstanceFault(ComputeBase):
    __tablename__ = "instance_faults"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    code: Mapped[int]
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    instance: Mapped[Instance] = relationship(back_populates="faults", lazy="raise")


# --- identity (the builtin Keystone v3 subset) -------------------------------------


class IdentityUser(ComputeBase):
    __tablename__ = "identity_users"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64), default="default")
    # "scrypt$n$r$p$salt$hash", see compute_api/identity/passwords.py.
    password_hash: Mapped[str | None] = mapped_column(String(512))
    email: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Tokens issued before this instant are void (password change, disable, revoke-all).
    tokens_valid_after: Mapped[datetime | None]
    # Consecutive wrong passwords, and until when the user is locked out after too many.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    # A compute agent's credential: the only hosts (provider names) it may act for.
    service_hosts: Mapped[list[str] | None]


class RevokedToken(ComputeBase):
    """A builtin token revoked before its expiry (``DELETE /v3/auth/tokens``)."""

    __tablename__ = "identity_revoked_tokens"

    audit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # When the row may be purged: the token is dead by then anyway.
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityProject(ComputeBase):
    __tablename__ = "identity_projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64), default="default")
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoleAssignment(ComputeBase):
    __tablename__ = "identity_role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "project_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("identity_users.id", ondelete="CASCADE"),
                                         index=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("identity_projects.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(64))


# --- compute API resources ---------------------------------------------------------


class KeyPair(ComputeBase):
    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="ssh")
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServerGroup(ComputeBase):
    __tablename__ = "server_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(32))
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServerGroupMember(ComputeBase):
    __tablename__ = "server_group_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("server_groups.id", ondelete="CASCADE"),
                                          index=True)
    # A server belongs to at most one group.
    instance_uuid: Mapped[uuid.UUID] = mapped_column(unique=True)


class Quota(ComputeBase):
    """A project's limit for one resource, overriding the configured default."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(64))
    hard_limit: Mapped[int]


class QuotaLock(ComputeBase):
    """One row per project, locked (SELECT ... FOR UPDATE) while usage is counted and
    new servers are inserted, so concurrent creates cannot both fit under one limit."""

    __tablename__ = "quota_locks"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class InstanceAction(ComputeBase):
    __tablename__ = "instance_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_uuid: Mapped[uuid.UUID] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InstanceTag(ComputeBase):
    __tablename__ = "instance_tags"

    instance_id: Mapped[int] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(80), primary_key=True)


class InstanceActionEvent(ComputeBase):
    """One step of an instance action (e.g. ``compute_stop_instance``) and its result."""

    __tablename__ = "instance_action_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(default=utcnow)
    finish_time: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String(255))
    traceback: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)


class Migration(ComputeBase):
    """A resize, cold migration or live migration of one server.

    Its ``uuid`` is the placement consumer that holds the source host's resources
    while the move is in progress (upstream's allocation handling).
    """

    __tablename__ = "migrations"
    __table_args__ = (Index(None, "instance_uuid", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Before ``uuid``: that attribute shadows the module for the annotations below it.
    instance_uuid: Mapped[uuid.UUID]
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    migration_type: Mapped[str] = mapped_column(String(32))  # resize|migration|live-migration
    status: Mapped[str] = mapped_column(String(32), index=True)
    source_compute: Mapped[str | None] = mapped_column(String(255))
    source_node: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    dest_node: Mapped[str | None] = mapped_column(String(255))
    # The host an admin asked for (migrate 2.56, live migration), None: the scheduler's pick.
    requested_host: Mapped[str | None] = mapped_column(String(255))
    force: Mapped[bool] = mapped_column(default=False)
    block_migration: Mapped[bool] = mapped_column(default=False)
    old_flavor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    new_flavor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The vm_state to return to once the move is confirmed or reverted (active|stopped).
    old_vm_state: Mapped[str] = mapped_column(String(32), default="active")
    project_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- host aggregates ---------------------------------------------------------------


class Aggregate(ComputeBase):
    """A named group of compute hosts; its ``availability_zone`` metadata makes a zone.

    Its ``uuid`` is also the placement aggregate the hosts' providers are members of.
    """

    __tablename__ = "aggregates"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class AggregateHost(ComputeBase):
    __tablename__ = "aggregate_hosts"
    __table_args__ = (UniqueConstraint("aggregate_id", "host"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregates.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(255), index=True)


class AggregateMetadata(ComputeBase):
    __tablename__ = "aggregate_metadata"
    __table_args__ = (UniqueConstraint("aggregate_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregates.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[str] = mapped_column(String(255))


class QuotaClass(ComputeBase):
    """A limit of a quota class; the ``default`` class overrides the configured defaults."""

    __tablename__ = "quota_classes"
    __table_args__ = (UniqueConstraint("class_name", "resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_name: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(64))
    hard_limit: Mapped[int]


# The network API's tables share this metadata (and the compute database's migrations).
from common.compute_db import network_models as network_models  # noqa: E402
