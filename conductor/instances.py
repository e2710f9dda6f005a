"""Instance record helpers shared by the conductor's flows."""

from __future__ import annotations

from datetime import datetime, timedelta

from common.compute_db.models import Instance
from common.db import utcnow
from common.messages import FlavorPayload, InstancePayload, RequestSpec


def to_payload(inst: Instance) -> InstancePayload:
    return InstancePayload(
        uuid=inst.uuid, display_name=inst.display_name, project_id=inst.project_id,
        user_id=inst.user_id, flavor=FlavorPayload.model_validate(inst.flavor),
        image_ref=inst.image_ref, vm_state=inst.vm_state, task_state=inst.task_state,
        power_state=inst.power_state, host=inst.host, node=inst.node,
        user_data=inst.user_data, metadata=dict(inst.metadata_items),
        key_name=inst.key_name,
    )


def to_request_spec(inst: Instance) -> RequestSpec:
    return RequestSpec(
        instance_uuid=inst.uuid, project_id=inst.project_id, user_id=inst.user_id,
        flavor=FlavorPayload.model_validate(inst.flavor), image_id=inst.image_ref,
        availability_zone=inst.availability_zone,
        ignore_hosts=list(inst.attempted_hosts or []),
    )


def deadline(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)
