"""/os-quota-class-sets: show and update quota classes; the ``default`` class is
every project's default limits."""

from __future__ import annotations

from typing import Any

from common.errors import BadRequest
from common.openapi import wrapped
from common.routes import Route
from compute_api import quota_classes, quotas
from compute_api.api.deps import (
    AdminContextDep,
    BodyDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version


def _shown(version: Version) -> quotas.Shown:
    """What a quota class shows at ``version``: 2.50 traded nova-network's limits for the
    server group ones."""
    return quotas.Shown(injected=not version.at_least("2.57"),
                        network=not version.at_least("2.50"),
                        server_groups=version.at_least("2.50"))


def show_quota_class(class_id: str, ctx: AdminContextDep, session: ReadSessionDep,
                     runtime: RuntimeDep, version: VersionDep) -> dict[str, Any]:
    values = quota_classes.view(session, runtime.settings.quota, class_id, _shown(version))
    return {"quota_class_set": {"id": class_id, **values}}


def update_quota_class(class_id: str, body: BodyDep, ctx: AdminContextDep,
                       session: SessionDep, runtime: RuntimeDep,
                       version: VersionDep) -> dict[str, Any]:
    data = body.get("quota_class_set") if isinstance(body, dict) else None
    if not isinstance(data, dict) or set(body) != {"quota_class_set"}:
        raise BadRequest("Invalid input for field/attribute quota_class_set. "
                         "'quota_class_set' is a required property")
    shown = _shown(version)
    quota_classes.update(session, class_id, data, shown)
    return {"quota_class_set": quota_classes.view(session, runtime.settings.quota, class_id,
                                                  shown)}


UPDATE_BODY = {**wrapped("quota_class_set", {"type": "object"}), "additionalProperties": False}


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-quota-class-sets/{class_id}", show_quota_class,
          "os_compute_api:os-quota-class-sets:show"),
    Route("PUT", "/v2.1/os-quota-class-sets/{class_id}", update_quota_class,
          "os_compute_api:os-quota-class-sets:update", body=UPDATE_BODY),
]
