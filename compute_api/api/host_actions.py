"""Actions done on the server's own host: rebuild, rescue, unrescue, trigger_crash_dump,
changePassword. ``api/server_actions.py`` serves them (import its ``HANDLERS``)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import Field, ValidationError, field_validator

from common.errors import BadRequest, NotFound
from common.openapi import model_schema
from compute_api import host_actions, servers
from compute_api.api.errors import describe_validation
from compute_api.api.microversion import Version
from compute_api.api.schemas import (
    Name,
    ServerCreate,
    Strict,
    _ip_address,
    _no_edge_spaces,
    _string_not_null,
    check_personality,
)
from compute_api.api.server_actions import (
    ACCEPTED,
    NO_ARGS,
    Call,
    ServerAction,
    _accepted,
    _no_args,
    _object,
    args_schema,
)
from compute_api.api.servers import _full


class ServerRebuild(Strict):
    imageRef: str = Field(max_length=255)
    name: Name | None = None
    adminPass: str | None = None
    metadata: dict[str, str] | None = None
    preserve_ephemeral: bool = False
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: str | None = None
    accessIPv6: str | None = None
    personality: list[dict[str, str]] | None = None
    description: str | None = Field(None, max_length=255)
    key_name: str | None = Field(None, min_length=1, max_length=255)
    user_data: str | None = None
    trusted_image_certificates: list[str] | None = None
    hostname: str | None = Field(None, min_length=1, max_length=255)

    _name = field_validator("name")(_no_edge_spaces)
    _personality = field_validator("personality")(check_personality)
    _not_null = field_validator("name", "hostname", "adminPass", "metadata",
                                mode="before")(_string_not_null)
    _ipv4 = field_validator("accessIPv4")(_ip_address(4))
    _ipv6 = field_validator("accessIPv6")(_ip_address(6))
    _image = field_validator("imageRef")(ServerCreate._image_ref.__func__)  # type: ignore[attr-defined]
    _meta = field_validator("metadata")(ServerCreate._metadata.__func__)  # type: ignore[attr-defined]
    _user_data = field_validator("user_data")(ServerCreate._user_data.__func__)  # type: ignore[attr-defined]


# Fields a microversion range admits: (since, until-excluded).
_VERSIONED = {"description": ("2.19", None), "key_name": ("2.54", None),
              "personality": (None, "2.57"), "user_data": ("2.57", None),
              "trusted_image_certificates": ("2.63", None), "hostname": ("2.90", None)}
# Request field -> instance column it replaces.
_COLUMNS = {"name": "display_name", "description": "description", "metadata":
            "metadata_items", "accessIPv4": "access_ip_v4", "accessIPv6": "access_ip_v6",
            "key_name": "key_name", "user_data": "user_data", "hostname": "hostname"}


def _rebuild_args(args: Any, version: Version) -> host_actions.RebuildRequest:
    body = _object("rebuild", args, set(ServerRebuild.model_fields) | {"OS-DCF:diskConfig"},
                   {"imageRef"})
    for name, (since, until) in _VERSIONED.items():
        if name in body and ((since and not version.at_least(since))
                             or (until and version.at_least(until))):
            raise BadRequest(f"Additional properties are not allowed ('{name}' was "
                             "unexpected)")
    try:
        parsed = ServerRebuild.model_validate(body)
    except ValidationError as exc:
        raise BadRequest(describe_validation(
            [{**e, "loc": ("rebuild", *e["loc"])} for e in exc.errors()])) from None
    if parsed.hostname is not None:
        servers.check_hostname(parsed.hostname, fqdn=version.at_least("2.94"))
    if parsed.trusted_image_certificates:
        raise BadRequest("Image signature certificate validation support is not yet "
                         "enabled.")
    changes = {column: getattr(parsed, name) for name, column in _COLUMNS.items()
               if name in parsed.model_fields_set}
    if parsed.disk_config is not None:
        changes["disk_config"] = parsed.disk_config
    return host_actions.RebuildRequest(
        image_ref=parsed.imageRef, admin_pass=parsed.adminPass,
        preserve_ephemeral=parsed.preserve_ephemeral, personality=parsed.personality,
        changes=changes)


def _rebuild(call: Call) -> Response:
    req = _rebuild_args(call.args, call.version)
    started = host_actions.rebuild(call.session, call.ctx, call.server_id, req, call.runtime)
    call.after_commit(call.runtime.conductor.rebuild_instance, call.ctx,
                      started.instance_uuid, started.admin_pass, req.preserve_ephemeral)
    inst, fault = servers.get(call.session, call.ctx, call.server_id)
    version = call.version
    server = _full(call.session, inst, fault, call.request, version, call.ctx,
                   extended=version.at_least("2.75"))
    # As upstream's rebuild view: the key pair from 2.54, the user data as ``user_data``
    # from 2.57 and never as the extended attribute.
    server.pop("OS-EXT-SRV-ATTR:user_data", None)
    if version.at_least("2.54"):
        server["key_name"] = inst.key_name
    if started.admin_pass is not None:
        server["adminPass"] = started.admin_pass
    if version.at_least("2.57"):
        server["user_data"] = inst.user_data
    return JSONResponse({"server": server}, status_code=ACCEPTED,
                        headers={"Location": server["links"][0]["href"]})


def _rescue(call: Call) -> Response:
    args = {} if call.args is None else _object("rescue", call.args,
                                                 {"adminPass", "rescue_image_ref"})
    password, image_ref = args.get("adminPass"), args.get("rescue_image_ref")
    if password is not None and not isinstance(password, str):
        raise BadRequest(f"Invalid input for field/attribute adminPass. Value: {password}. "
                         f"{password!r} is not of type 'string'")
    if image_ref is not None:
        try:
            image_ref = str(uuid.UUID(str(image_ref).rstrip("/").rsplit("/", 1)[-1]))
        except ValueError:
            raise BadRequest(f"Invalid input for field/attribute rescue_image_ref. Value: "
                             f"{image_ref}. '{image_ref}' is not a 'uuid'") from None
    started = host_actions.rescue(call.session, call.ctx, call.server_id, password,
                                  image_ref, call.runtime)
    call.after_commit(call.runtime.conductor.rescue_instance, call.ctx,
                      started.instance_uuid, started.image_ref, started.admin_pass)
    if started.admin_pass is None:
        return JSONResponse({}, status_code=200)
    return JSONResponse({"adminPass": started.admin_pass}, status_code=200)


def _unrescue(call: Call) -> Response:
    _no_args("unrescue", call.args)
    started = host_actions.unrescue(call.session, call.ctx, call.server_id, call.runtime)
    call.after_commit(call.runtime.conductor.unrescue_instance, call.ctx,
                      started.instance_uuid)
    return _accepted()


def _crash_dump(call: Call) -> Response:
    if not call.version.at_least("2.17"):
        raise NotFound("The resource could not be found.")
    _no_args("trigger_crash_dump", call.args)
    instance_uuid = host_actions.trigger_crash_dump(call.session, call.ctx, call.server_id)
    call.after_commit(call.runtime.conductor.trigger_crash_dump, call.ctx, instance_uuid)
    return _accepted()


def _change_password(call: Call) -> Response:
    args = _object("changePassword", call.args, {"adminPass"}, {"adminPass"})
    password = args["adminPass"]
    if not isinstance(password, str):
        raise BadRequest(f"Invalid input for field/attribute adminPass. Value: {password}. "
                         f"{password!r} is not of type 'string'")
    instance_uuid = host_actions.change_password(call.session, call.ctx, call.server_id,
                                                 call.runtime)
    call.runtime.conductor.set_admin_password(call.ctx, instance_uuid, password)
    return _accepted()


def _rebuild_args_schema() -> dict[str, Any]:
    schema = model_schema(ServerRebuild)
    # The model's fields go by name too (``populate_by_name``).
    schema["properties"]["disk_config"] = schema["properties"]["OS-DCF:diskConfig"]
    return schema


HANDLERS: dict[str, ServerAction] = {
    "rebuild": ServerAction(_rebuild, _rebuild_args_schema()),
    "rescue": ServerAction(_rescue, args_schema(
        {"adminPass": {"type": ["string", "null"]}, "rescue_image_ref": {}}, nullable=True)),
    "unrescue": ServerAction(_unrescue, NO_ARGS),
    "trigger_crash_dump": ServerAction(_crash_dump, NO_ARGS),
    "changePassword": ServerAction(_change_password, args_schema(
        {"adminPass": {"type": "string"}}, {"adminPass"})),
}
