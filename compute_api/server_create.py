"""Creating servers (POST /servers): the request checked against the records, the quota
and the microversion, then the instance records inserted (building, to be scheduled)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common import policy
from common.compute_db import queries
from common.compute_db.models import ComputeNode, Flavor, Instance, KeyPair
from common.compute_db.transition import created
from common.context import RequestContext
from common.db import utcnow
from common.errors import BadRequest, Forbidden, NotFound
from common.states import ImageStatus
from compute_api import (
    neutron_networks,
    quotas,
    server_groups,
    server_items,
    server_networks,
    zones,
)
from compute_api.images.source import ImageLookup, ImageRecord
from compute_api.runtime import Runtime
from compute_api.servers import (
    Accepts,
    check_auto_disk_config,
    check_hostname,
    flavor_snapshot,
    image_meta,
    unexpected_field,
)

# Fields of a create that came or went with microversions, in the order they are checked.
VERSIONED_CREATE = ("description", "tags", "personality", "trusted_image_certificates",
                    "host", "hypervisor_hostname", "hostname")


@dataclass(frozen=True)
class ServerSpec:
    """A create request as the HTTP layer validated it (``ServerCreate``); the checks
    that need the records, the quota or the microversion (``Accepts``) happen here."""

    name: str
    flavor_ref: str
    image_ref: str | None = None
    # 'auto', 'none' or the requested networks.
    networks: str | list[Any] | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    min_count: int = 1
    max_count: int | None = None
    key_name: str | None = None
    user_data: str | None = None
    availability_zone: str | None = None
    description: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    admin_pass: str | None = None
    config_drive: bool | str | None = None
    block_device_mapping_v2: list[dict[str, Any]] | None = None
    tags: list[str] | None = None
    personality: list[dict[str, str]] | None = None
    trusted_image_certificates: list[str] | None = None
    host: str | None = None
    hypervisor_hostname: str | None = None
    hostname: str | None = None
    security_groups: list[dict[str, str]] | None = None
    disk_config: str | None = None
    # The scheduler hints given, without nulls; checked and kept by ``stored_hints``.
    scheduler_hints: Mapping[str, Any] = field(default_factory=dict)


def _resolve_flavor(session: Session, ctx: RequestContext, ref: str) -> Flavor:
    try:
        flavor = queries.get_flavor(session, ref, None if ctx.is_admin else ctx.project_id)
    except NotFound:
        raise BadRequest("Invalid flavorRef provided.") from None
    if flavor.disabled:
        raise BadRequest("Invalid flavorRef provided.")
    return flavor


def _resolve_image(session: Session, ctx: RequestContext, images: ImageLookup,
                   ref: str | None, flavor: Flavor) -> ImageRecord | None:
    """The image a boot names, if the caller may use it. Raises BadRequest."""
    if ref is None:
        raise BadRequest("Invalid input for field/attribute imageRef. imageRef is required "
                         "when not booting from a volume")
    image = images.get(session, uuid.UUID(ref), ctx.project_id, ctx.is_admin)
    if image is None:
        raise BadRequest("Can not find requested image")
    if image.status != ImageStatus.ACTIVE:
        raise BadRequest(f"Image {ref} is not active.")
    if flavor.memory_mb < image.min_ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if flavor.root_gb and flavor.root_gb < image.min_disk:
        raise BadRequest("Flavor's disk is too small for requested image.")
    return image


def _check_networks(body: ServerSpec, required: bool) -> None:
    if required:
        if body.networks is None:
            raise BadRequest("Invalid input for field/attribute networks. 'networks' is a "
                             "required property")
    elif isinstance(body.networks, str):
        raise BadRequest(f"Invalid input for field/attribute networks. Value: "
                         f"{body.networks}. '{body.networks}' is not of type 'array'")


@dataclass
class Created:
    instances: list[Instance]
    reservation_id: str
    admin_pass: str


def _check_extras(session: Session, ctx: RequestContext, body: ServerSpec,
                  accepts: Accepts) -> None:
    """Fields that need a microversion, a lookup or support we do not have."""
    for field_name in VERSIONED_CREATE:
        if getattr(body, field_name) is not None and field_name not in accepts.fields:
            raise unexpected_field(field_name)
    if body.trusted_image_certificates:
        raise BadRequest("Image signature certificate validation support is not yet "
                         "enabled.")
    if body.key_name is not None and _key_data(session, ctx, body.key_name) is None:
        raise BadRequest("Invalid key_name provided.")
    _check_destination(session, ctx, body.host, body.hypervisor_hostname)
    if body.hostname is not None:
        check_hostname(body.hostname, fqdn=accepts.fqdn_hostname)
        if (body.max_count or body.min_count) > 1:
            raise BadRequest("Unable to specify a hostname when creating more than one "
                             "server.")


def _key_data(session: Session, ctx: RequestContext, name: str) -> str | None:
    """The public key of the caller's key pair ``name`` (None: no such key pair)."""
    return session.scalar(sa.select(KeyPair.public_key).where(
        KeyPair.user_id == ctx.user_id, KeyPair.name == name))


REQUESTED_DESTINATION_RULE = "compute:servers:create:requested_destination"


def _check_destination(session: Session, ctx: RequestContext, host: str | None,
                       node: str | None) -> None:
    """2.74: only admins may name a host / node, and it must exist."""
    if host is None and node is None:
        return
    if not policy.allowed(ctx, REQUESTED_DESTINATION_RULE):
        raise Forbidden(f"Policy doesn't allow {REQUESTED_DESTINATION_RULE} to be "
                        "performed.")
    if host is not None and session.scalar(
            sa.select(ComputeNode.id).where(ComputeNode.host == host).limit(1)) is None:
        raise BadRequest(f"Compute host {host} could not be found.")
    if node is not None:
        stmt = sa.select(ComputeNode.id).where(ComputeNode.hypervisor_hostname == node)
        if host is not None:
            stmt = stmt.where(ComputeNode.host == host)
        if session.scalar(stmt.limit(1)) is None:
            where = f" on host {host}" if host is not None else ""
            raise BadRequest(f"Compute node {node}{where} could not be found.")


def default_hostname(name: str) -> str:
    """A hostname derived from a display name, as upstream sanitises it."""
    cleaned = "".join(c if c.isalnum() or c in "-." else "-" for c in name.lower())
    cleaned = "-".join(part for part in cleaned.split("-") if part)
    return cleaned.strip(".-")[:63].rstrip(".-") or "server"


def stored_hints(hints: Mapping[str, Any]) -> dict[str, list[str]]:
    """Scheduler hints as kept with the server: every value a list of strings.

    Raises BadRequest for a same_host / different_host / group entry that is not a uuid.
    """
    out: dict[str, list[str]] = {}
    for key, value in hints.items():
        values = value if isinstance(value, list) else [value]
        if key in ("same_host", "different_host", "group"):
            for item in values:
                try:
                    uuid.UUID(str(item))
                except ValueError:
                    raise BadRequest(f"Invalid input for field/attribute {key}. Value: "
                                     f"{item}. '{item}' is not a 'uuid'") from None
        out[key] = [v if isinstance(v, str) else str(v) for v in values]
    return out


def _boot_image(body: ServerSpec) -> str | None:
    """The image to boot from: imageRef, or the one local image block device mapping."""
    image = body.image_ref
    for bdm in body.block_device_mapping_v2 or []:
        source, dest = bdm.get("source_type"), bdm.get("destination_type", "local")
        if source == "image" and dest == "local" and bdm.get("boot_index") in (0, "0"):
            if image is not None and str(bdm.get("uuid")) != image:
                raise BadRequest("The image of the boot block device mapping must be "
                                 "imageRef.")
            image = str(bdm.get("uuid"))
            continue
        raise BadRequest("Block device mappings other than booting the image locally are "
                         "not supported yet: there is no block storage service.")
    return image


def create(session: Session, ctx: RequestContext, body: ServerSpec, accepts: Accepts,
           runtime: Runtime) -> Created:
    """Validate, check quota and insert the servers of one request (building/scheduling).

    Raises BadRequest, QuotaExceeded (the count and the insert share the project's quota
    lock, so concurrent requests cannot overshoot a limit).
    """
    _check_networks(body, accepts.networks_required)
    max_count = body.max_count or body.min_count
    if body.min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    _check_extras(session, ctx, body, accepts)
    neutron = runtime.neutron
    external: dict[str, Any] | None = None
    if neutron is not None:
        # Ports live in an external Neutron: checked here, made by the conductor.
        external = {
            "interfaces": neutron_networks.requested(neutron, ctx, body.networks,
                                                     max_count),
            "security_groups": neutron_networks.group_ids(neutron, ctx,
                                                          body.security_groups)}
        interfaces: list[server_networks.Interface] | None = []
        groups: list[str] | None = None
    else:
        interfaces = server_networks.requested(session, ctx, body.networks, max_count)
        groups = server_networks.group_ids(session, ctx, body.security_groups)
    zone = zones.requested(session, ctx, body.availability_zone,
                           runtime.settings.scheduler.default_schedule_zone)
    flavor = _resolve_flavor(session, ctx, body.flavor_ref)
    image_ref = _boot_image(body)
    image = _resolve_image(session, ctx, runtime.images, image_ref, flavor)
    if image is not None:
        check_auto_disk_config(image.id, image.properties, body.disk_config)
    kept_hints = stored_hints(body.scheduler_hints)
    group = kept_hints["group"][0] if "group" in kept_hints else None
    key_data = _key_data(session, ctx, body.key_name) if body.key_name else None
    settings = runtime.settings
    project = ctx.project_id or ""
    quotas.check_metadata(session, settings.quota, project, body.metadata)
    if body.personality is not None:
        quotas.check_count(session, settings.quota, project, "injected_files", 0,
                           len(body.personality))
    count = quotas.fit_instances(session, settings.quota, project, body.min_count,
                                 max_count, flavor.vcpus, flavor.memory_mb)
    reservation_id = f"r-{secrets.token_hex(4)}"
    now = utcnow()
    deadline = now + timedelta(seconds=settings.conductor.build_timeout)
    instances = []
    for index in range(count):
        name = body.name if max_count == 1 else f"{body.name}-{index + 1}"
        instances.append(Instance(
            hostname=body.hostname or default_hostname(name),
            disk_config=body.disk_config or "MANUAL",
            scheduler_hints=kept_hints, image_meta=image_meta(image),
            key_data=key_data,
            requested_host=body.host or zone.host,
            requested_node=body.hypervisor_hostname or zone.node,
            display_name=name, description=body.description,
            project_id=project, user_id=ctx.user_id,
            image_ref=image_ref, flavor=flavor_snapshot(flavor),
            availability_zone=zone.zone, key_name=body.key_name,
            user_data=body.user_data, metadata_items=dict(body.metadata),
            access_ip_v4=body.access_ip_v4, access_ip_v6=body.access_ip_v6,
            config_drive="True" if body.config_drive in (True, "True", "true") else "",
            reservation_id=reservation_id, launch_index=index, attempted_hosts=[],
            network_request=external, ports_host="" if external is not None else None,
            created_at=now, updated_at=now,
        ))
    for inst in instances:
        created(inst, deadline)
    queries.add_instances(session, instances)
    if interfaces is None:
        interfaces = [server_networks.auto_network(session, ctx)]
    server_networks.attach(session, ctx, instances, interfaces, groups)
    for inst in instances:
        server_items.record_action(session, ctx, inst.uuid, "create")
        if body.tags:
            server_items.set_tags(session, inst, body.tags)
    if group is not None:
        server_groups.add_members(session, settings.quota, ctx, group,
                                  [i.uuid for i in instances])
    return Created(instances, reservation_id, body.admin_pass or secrets.token_urlsafe(9))
