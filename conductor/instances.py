"""Instance record helpers shared by the conductor's flows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.models import Instance, ServerGroup, ServerGroupMember
from common.compute_db.network_models import IpAllocation, Network, Subnet
from common.compute_db.network_queries import server_ports
from common.db import utcnow
from common.lifecycle import Target
from common.messages import (
    FlavorPayload,
    GroupPayload,
    HostSelection,
    InstancePayload,
    PortAddress,
    PortPayload,
    RequestSpec,
)


def to_payload(inst: Instance, scheduled: tuple[HostSelection, Target] | None = None,
               ports: list[PortPayload] | None = None) -> InstancePayload:
    """The record as agents get it; ``scheduled``: as it is once moved to that host and
    those states (a row read before the move, not read again); ``ports``: its ports
    (``port_payloads``), for a host that wires its guest."""
    vm, task, host, node = inst.vm_state, inst.task_state, inst.host, inst.node
    if scheduled is not None:
        selection, to = scheduled
        vm, task, host, node = to.vm, to.task, selection.host, selection.nodename
    return InstancePayload(
        uuid=inst.uuid, display_name=inst.display_name, project_id=inst.project_id,
        user_id=inst.user_id, flavor=FlavorPayload.model_validate(inst.flavor),
        image_ref=inst.image_ref, vm_state=vm, task_state=task,
        power_state=inst.power_state, host=host, node=node,
        user_data=inst.user_data, metadata=dict(inst.metadata_items),
        key_name=inst.key_name, key_data=inst.key_data, hostname=inst.hostname,
        availability_zone=inst.availability_zone, launch_index=inst.launch_index,
        ports=ports or [],
    )


def port_payloads(session: Session, instance_uuid: uuid.UUID,
                  only: uuid.UUID | None = None) -> list[PortPayload]:
    """The server's ports as its host wires them, in its guest's interface order;
    ``only``: just that one of them."""
    held = [p for p in server_ports(session, instance_uuid) if only in (None, p.id)]
    if not held:
        return []
    rows = session.execute(
        sa.select(IpAllocation.port_id, IpAllocation.subnet_id, IpAllocation.ip_address,
                  Subnet.ip_version)
        .join(Subnet, Subnet.id == IpAllocation.subnet_id)
        .where(IpAllocation.port_id.in_([p.id for p in held]))
        .order_by(IpAllocation.id)).all()
    mtus: dict[uuid.UUID, int] = {net: mtu for net, mtu in session.execute(
        sa.select(Network.id, Network.mtu).where(
            Network.id.in_({p.network_id for p in held})))}
    return [PortPayload(
        id=p.id, network_id=p.network_id, mac_address=p.mac_address,
        mtu=mtus.get(p.network_id),
        fixed_ips=[PortAddress(subnet_id=subnet, ip_address=ip, version=version)
                   for port_id, subnet, ip, version in rows if port_id == p.id])
        for p in held]


def to_request_spec(session: Session, inst: Instance) -> RequestSpec:
    return RequestSpec(
        instance_uuid=inst.uuid, project_id=inst.project_id, user_id=inst.user_id,
        flavor=FlavorPayload.model_validate(inst.flavor), image_id=inst.image_ref,
        image_properties={k: str(v) for k, v in (inst.image_meta or {}).items()},
        availability_zone=inst.availability_zone,
        ignore_hosts=list(inst.attempted_hosts or []),
        group=_group_of(session, inst.uuid),
        scheduler_hints=dict(inst.scheduler_hints or {}),
        same_host=_hinted_servers(inst, "same_host"),
        different_host=_hinted_servers(inst, "different_host"),
        requested_host=inst.requested_host, requested_node=inst.requested_node,
    )


def _hinted_servers(inst: Instance, hint: str) -> list[uuid.UUID]:
    """The server uuids of a same_host / different_host hint (validated by the API)."""
    values = (inst.scheduler_hints or {}).get(hint) or []
    return [uuid.UUID(str(v)) for v in values]


def _group_of(session: Session, instance_uuid: uuid.UUID) -> GroupPayload | None:
    """The server's group and its other live members, if it belongs to one."""
    group = session.scalar(
        sa.select(ServerGroup).join(ServerGroupMember,
                                    ServerGroupMember.group_id == ServerGroup.id)
        .where(ServerGroupMember.instance_uuid == instance_uuid)
    )
    if group is None:
        return None
    members = session.scalars(
        sa.select(ServerGroupMember.instance_uuid)
        .join(Instance, Instance.uuid == ServerGroupMember.instance_uuid)
        .where(ServerGroupMember.group_id == group.id,
               ServerGroupMember.instance_uuid != instance_uuid,
               Instance.deleted.is_(False))
    ).all()
    rules = dict(group.rules or {})
    return GroupPayload(id=group.uuid, policy=group.policy, members=list(members),
                        max_server_per_host=rules.get("max_server_per_host"))


def stamp(session: Session, instance_uuid: uuid.UUID, owner: str,
          unowned: bool = False) -> bool:
    """Record, in the caller's transaction, that the conductor ``owner`` drives this
    work from now on (``work.py``). ``unowned``: only if no conductor drives it yet;
    False if one does."""
    query = sa.update(Instance).where(Instance.uuid == instance_uuid)
    if unowned:
        query = query.where(Instance.work_owner.is_(None))
    result = session.execute(query.values(work_owner=owner, work_claimed_at=utcnow())
                             .execution_options(synchronize_session=False))
    return not unowned or bool(result.rowcount)  # type: ignore[attr-defined]


def deadline(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)
