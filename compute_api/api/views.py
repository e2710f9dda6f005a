"""Response shapes of the compute API, per microversion."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Response
from starlette.requests import Request

from common import policy
from common.compute_db.models import Flavor, Instance, InstanceFault
from common.context import RequestContext
from common.states import status
from compute_api.aggregates import DEFAULT_ZONE
from compute_api.api.microversion import Version

PROGRESS_STATUSES = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}
EXTENDED_ATTRIBUTES_RULE = "os_compute_api:os-extended-server-attributes"


def json_response(body: dict[str, Any], status_code: int = 200) -> Response:
    """A JSON answer encoded by orjson, skipping FastAPI's per-value encoder walk.

    A detail page of 1000 servers is ~100k values: the generic encoder took longer
    than reading them from the database.
    """
    return Response(orjson.dumps(body), status_code=status_code,
                    media_type="application/json")


def isotime(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def links(base: str, collection: str, item_id: str) -> list[dict[str, str]]:
    root = base.rstrip("/")
    return [
        {"rel": "self", "href": f"{root}/v2.1/{collection}/{item_id}"},
        {"rel": "bookmark", "href": f"{root}/{collection}/{item_id}"},
    ]


def next_links(request: Request, base: str, count: int, limit: int, marker: str
               ) -> list[dict[str, str]]:
    """A collection's ``*_links``: upstream adds a "next" link when a page is full."""
    if not count or count < limit:
        return []
    params = dict(request.query_params)
    params["marker"] = marker
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    return [{"rel": "next", "href": f"{base}{path}?{urlencode(params)}"}]


def flavor_brief(flavor: Flavor, base: str, version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {"id": flavor.flavorid, "name": flavor.name,
                           "links": links(base, "flavors", flavor.flavorid)}
    if version.at_least("2.55"):
        out["description"] = flavor.description
    return out


def flavor_detail(flavor: Flavor, base: str, version: Version) -> dict[str, Any]:
    out = flavor_brief(flavor, base, version)
    out.update({
        "ram": flavor.memory_mb, "disk": flavor.root_gb, "vcpus": flavor.vcpus,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "swap": flavor.swap if version.at_least("2.75") else (flavor.swap or ""),
        "os-flavor-access:is_public": flavor.is_public,
    })
    if not version.at_least("2.102"):
        out.update({"rxtx_factor": flavor.rxtx_factor,
                    "OS-FLV-DISABLED:disabled": flavor.disabled})
    if version.at_least("2.61"):
        out["extra_specs"] = dict(flavor.extra_specs or {})
    return out


def host_id(project_id: str, host: str | None) -> str:
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def server_brief(inst: Instance, base: str) -> dict[str, Any]:
    sid = str(inst.uuid)
    return {"id": sid, "links": links(base, "servers", sid), "name": inst.display_name}


def server_detail(inst: Instance, fault: InstanceFault | None, base: str, version: Version,
                  ctx: RequestContext, tags: list[str] | None = None,
                  groups: list[str] | None = None,
                  host_states: dict[str, str] | None = None,
                  extended: bool = True,
                  host_zones: Mapping[str, str] | None = None,
                  security_groups: Sequence[str] = ()) -> dict[str, Any]:
    """The full server; ``groups`` (2.71+) is given by show and update only.

    ``extended=False`` is the update response before 2.75: upstream left out the
    zone, config drive, key, usage, extended attributes, states and volumes there.
    """
    state = status(inst.vm_state, inst.task_state)
    flavor = inst.flavor
    out = server_brief(inst, base)
    out.update({
        "status": state,
        "tenant_id": inst.project_id,
        "user_id": inst.user_id,
        "metadata": dict(inst.metadata_items),
        "hostId": host_id(inst.project_id, inst.host),
        "image": _image_ref(inst, base, version),
        "flavor": _flavor_ref(flavor, base, version),
        "created": isotime(inst.created_at),
        "updated": isotime(inst.updated_at),
        "addresses": _addresses(inst.addresses or {}, extended),
        "accessIPv4": inst.access_ip_v4 or "",
        "accessIPv6": inst.access_ip_v6 or "",
        "OS-DCF:diskConfig": inst.disk_config or "MANUAL",
    })
    if extended:
        out.update({
            "OS-EXT-AZ:availability_zone": shown_zone(inst, host_zones),
            "config_drive": inst.config_drive or "",
            "key_name": inst.key_name,
            "OS-SRV-USG:launched_at": usage_time(inst.launched_at),
            "OS-SRV-USG:terminated_at": usage_time(inst.terminated_at),
            "OS-EXT-STS:task_state": inst.task_state,
            "OS-EXT-STS:vm_state": inst.vm_state,
            "OS-EXT-STS:power_state": inst.power_state,
            "os-extended-volumes:volumes_attached": [],
        })
    if state in PROGRESS_STATUSES:
        out["progress"] = inst.progress or 0
    if extended and policy.allowed(ctx, EXTENDED_ATTRIBUTES_RULE):
        out["OS-EXT-SRV-ATTR:host"] = inst.host
        out["OS-EXT-SRV-ATTR:hypervisor_hostname"] = inst.node
        out["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{inst.id:08x}"
    _versioned_fields(out, inst, version, ctx, extended)
    if version.at_least("2.26"):
        out["tags"] = list(tags or [])
    if (version.at_least("2.16") and host_states is not None and extended
            and policy.allowed(ctx, "os_compute_api:servers:show:host_status")):
        out["host_status"] = host_states.get(inst.host or "", "")
    if version.at_least("2.71") and groups is not None:
        out["server_groups"] = groups
    if security_groups and extended:
        out["security_groups"] = [{"name": name} for name in security_groups]
    if fault is not None and state in ("ERROR", "DELETED"):
        out["fault"] = fault_view(fault, ctx)
    return out


def _addresses(found: dict[str, Any], extended: bool) -> dict[str, Any]:
    """The addresses; without the extended ``OS-EXT-IPS*`` keys where upstream's view
    leaves them out (the update and rebuild answers before 2.75)."""
    if extended:
        return found
    return {label: [{"version": a["version"], "addr": a["addr"]} for a in entries]
            for label, entries in found.items()}


def shown_zone(inst: Instance, host_zones: Mapping[str, str] | None) -> str:
    """The zone of the server's host now (its aggregate's, or the default zone); before
    it has a host, the zone it asked for ("" if none), as upstream shows it."""
    if inst.host and host_zones is not None:
        return host_zones.get(inst.host, DEFAULT_ZONE)
    if inst.host:
        return inst.availability_zone or DEFAULT_ZONE
    return inst.availability_zone or ""


def _versioned_fields(out: dict[str, Any], inst: Instance, version: Version,
                      ctx: RequestContext, extended: bool) -> None:
    hostname = inst.hostname or _hostname(inst.display_name)
    if version.at_least("2.3") and extended and policy.allowed(ctx, EXTENDED_ATTRIBUTES_RULE):
        out.update({
            "OS-EXT-SRV-ATTR:reservation_id": inst.reservation_id,
            "OS-EXT-SRV-ATTR:launch_index": inst.launch_index,
            "OS-EXT-SRV-ATTR:hostname": hostname,
            "OS-EXT-SRV-ATTR:kernel_id": "",
            "OS-EXT-SRV-ATTR:ramdisk_id": "",
            "OS-EXT-SRV-ATTR:root_device_name": None,
            "OS-EXT-SRV-ATTR:user_data": inst.user_data,
        })
    if version.at_least("2.9"):
        out["locked"] = inst.locked
    if version.at_least("2.19"):
        out["description"] = inst.description
    if version.at_least("2.63"):
        out["trusted_image_certificates"] = None
    if version.at_least("2.73"):
        out["locked_reason"] = inst.locked_reason
    if version.at_least("2.90"):
        # From 2.90 every user sees the hostname (it can be set at create and update).
        out["OS-EXT-SRV-ATTR:hostname"] = hostname
    if version.at_least("2.96"):
        out["pinned_availability_zone"] = inst.availability_zone or None
    if version.at_least("2.100"):
        out["scheduler_hints"] = dict(inst.scheduler_hints or {})


def _hostname(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "-" else "-" for c in name.lower())
    return cleaned.strip("-")[:63] or "server"


def _image_ref(inst: Instance, base: str, version: Version) -> dict[str, Any] | str:
    if not inst.image_ref:
        return ""
    root = base.rstrip("/")
    out: dict[str, Any] = {
        "id": inst.image_ref,
        "links": [{"rel": "bookmark", "href": f"{root}/images/{inst.image_ref}"}]}
    if version.at_least("2.98"):
        out["properties"] = dict(inst.image_meta or {})
    return out


def _flavor_ref(flavor: dict[str, Any], base: str, version: Version) -> dict[str, Any]:
    if version.at_least("2.47"):
        return {
            "vcpus": flavor["vcpus"], "ram": flavor["memory_mb"], "disk": flavor["root_gb"],
            "ephemeral": flavor.get("ephemeral_gb", 0), "swap": flavor.get("swap", 0),
            "original_name": flavor["name"], "extra_specs": dict(flavor.get("extra_specs", {})),
        }
    root = base.rstrip("/")
    return {"id": flavor["flavorid"],
            "links": [{"rel": "bookmark", "href": f"{root}/flavors/{flavor['flavorid']}"}]}


def fault_view(fault: InstanceFault, ctx: RequestContext) -> dict[str, Any]:
    out: dict[str, Any] = {"code": fault.code, "created": isotime(fault.created_at),
                           "message": fault.message}
    if fault.details and (ctx.is_admin or fault.code != 500):
        out["details"] = fault.details
    return out
