"""POST /servers/{id}/action: power, console, lock, images (createImage, createBackup,
shelve), deferred delete, resize and migrations."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.requests import Request

from common import validation
from common.context import RequestContext
from common.errors import BadRequest
from common.routes import BY_ACTION, ActionBody, BodySchema, Route
from common.states import POWER_RESULTS, Action
from compute_api import image_actions, server_actions, servers
from compute_api.api.deps import (
    AfterCommit,
    AfterCommitDep,
    BodyDep,
    ContextDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
    tell_data_planes,
)
from compute_api.api.errors import fault_response
from compute_api.api.microversion import Version
from compute_api.api.removed import GONE_MESSAGE
from compute_api.api.servers import hand_over_delete
from compute_api.policies import ACTIONS
from compute_api.runtime import Runtime


@dataclass
class Call:
    """One action request: who asks, about what, with which arguments."""

    server_id: str
    args: Any
    ctx: RequestContext
    session: Session
    runtime: Runtime
    version: Version
    request: Request
    after_commit: AfterCommit


@dataclass(frozen=True)
class ServerAction:
    """One action of the table: its handler and the JSON Schema of its arguments (the
    value under its key), one or per microversion. The schema accepts at least what the
    handler accepts; the handler's own checks give the messages."""

    run: Callable[[Call], Response]
    args: BodySchema


ACCEPTED = 202
# Arguments an action refuses unless absent or empty (``_no_args``).
NO_ARGS: dict[str, Any] = {"type": ["null", "object"], "maxProperties": 0}
# Arguments an action ignores.
ANY_ARGS: dict[str, Any] = {}


def args_schema(properties: dict[str, Any], required: Iterable[str] = (),
                nullable: bool = False) -> dict[str, Any]:
    """An object of ``properties`` only (``_object``), or also null if ``nullable``."""
    return {"type": ["object", "null"] if nullable else "object", "properties": properties,
            "required": sorted(required), "additionalProperties": False}


def _accepted() -> Response:
    return Response(status_code=ACCEPTED)


def _no_args(name: str, args: Any) -> None:
    if args is not None and args != {}:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {args}. "
                         f"{args!r} is not of type 'null'")


def _object(name: str, args: Any, allowed: set[str],
            required: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """``args`` as a dict with only ``allowed`` keys and every ``required`` one."""
    if not isinstance(args, dict):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {args}. "
                         f"{args!r} is not of type 'object'")
    extra = sorted(set(args) - allowed)
    if extra:
        raise BadRequest(f"Additional properties are not allowed ('{extra[0]}' was "
                         "unexpected)")
    missing = sorted(required - set(args))
    if missing:
        raise BadRequest(f"Invalid input for field/attribute {name}. '{missing[0]}' is a "
                         "required property")
    return args


def _power(action: Action) -> Callable[[Call], Response]:
    def run(call: Call) -> Response:
        instance_uuid = server_actions.power(call.session, call.ctx, call.server_id, action,
                                             call.runtime)
        call.after_commit(call.runtime.conductor.power_action, call.ctx, instance_uuid,
                          action.value)
        return _accepted()

    return run


def _simple_power(action: Action, name: str) -> Callable[[Call], Response]:
    run = _power(action)

    def checked(call: Call) -> Response:
        _no_args(name, call.args)
        return run(call)

    return checked


def _reboot(call: Call) -> Response:
    args = _object("reboot", call.args, {"type"}, {"type"})
    kind = args["type"]
    if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
        raise BadRequest(f"Invalid input for field/attribute type. Value: {kind}. "
                         f"{kind!r} is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', "
                         "'soft']")
    return _power(Action.REBOOT_HARD if kind.upper() == "HARD" else Action.REBOOT_SOFT)(call)


# The arguments of lock from 2.73 (upstream's schema).
LOCK_ARGS = {"type": ["object", "null"], "additionalProperties": False,
             "properties": {"locked_reason": {"type": "string", "minLength": 1,
                                              "maxLength": 255}}}


def _inject_network_info(call: Call) -> Response:
    """Upstream's admin action: the server's host applies its network information again
    (here: the hosts converge their data planes, as after any network change)."""
    _no_args("injectNetworkInfo", call.args)
    servers.find(call.session, call.ctx, call.server_id)
    tell_data_planes(call.runtime, call.after_commit)
    return _accepted()


def _lock(locked: bool) -> Callable[[Call], Response]:
    def run(call: Call) -> Response:
        reason = None
        if locked and call.version.at_least("2.73") and call.args is not None:
            validation.check({"properties": {"lock": LOCK_ARGS}}, {"lock": call.args})
            reason = call.args.get("locked_reason")
        else:
            _no_args("lock" if locked else "unlock", call.args)
        server_actions.set_lock(call.session, call.ctx, call.server_id, locked, reason)
        return _accepted()

    return run


def _reset_state(call: Call) -> Response:
    state = _object("os-resetState", call.args, {"state"}, {"state"})["state"]
    if state not in ("active", "error"):
        raise BadRequest(f"Invalid input for field/attribute state. Value: {state}. "
                         f"{state!r} is not one of ['active', 'error']")
    server_actions.reset_state(call.session, call.ctx, call.server_id, state)
    return _accepted()


def _console(call: Call) -> JSONResponse:
    length = server_actions.parse_length(call.args)
    output = server_actions.console_output(call.session, call.ctx, call.server_id, length,
                                           call.runtime)
    return JSONResponse({"output": output})


def _check_image_metadata(args: dict[str, Any]) -> None:
    if args.get("metadata") is not None:
        validation.check({"properties": {"metadata": _IMAGE_METADATA}},
                         {"metadata": args["metadata"]})


def _create_image(call: Call) -> Response:
    args = _object("createImage", call.args, {"name", "metadata"}, {"name"})
    _check_image_metadata(args)
    snap = server_actions.create_image(call.session, call.ctx, call.server_id, args["name"],
                                       args.get("metadata"), call.runtime)
    call.after_commit(call.runtime.conductor.snapshot_instance, call.ctx, snap.instance_uuid,
                      snap.image_id)
    return _image_answer(call, snap.image_id, location=True)


def _image_answer(call: Call, image_id: uuid.UUID, location: bool) -> Response:
    """202 with ``{"image_id"}`` from 2.45, before it a ``Location`` (if ``location``)."""
    if call.version.at_least("2.45"):
        return JSONResponse({"image_id": str(image_id)}, status_code=ACCEPTED)
    if not location:
        return _accepted()
    image_root = call.runtime.catalog.get("image", "/image")
    if image_root.startswith("/"):
        image_root = str(call.request.base_url).rstrip("/") + image_root
    return Response(status_code=ACCEPTED,
                    headers={"Location": f"{image_root}/v2/images/{image_id}"})


def _create_backup(call: Call) -> Response:
    args = _object("createBackup", call.args, {"name", "backup_type", "rotation", "metadata"},
                   {"name", "backup_type", "rotation"})
    _check_image_metadata(args)
    rotation = image_actions.parse_rotation(args["rotation"])
    made = image_actions.backup(call.session, call.ctx, call.server_id, args["name"],
                                args["backup_type"], rotation, args.get("metadata"),
                                call.runtime)
    snap = made.snapshot
    call.after_commit(call.runtime.conductor.backup_instance, call.ctx, snap.instance_uuid,
                      snap.image_id, made.backup_type, made.rotation)
    # Upstream gives no Location when rotation 0 deletes the backup right away.
    return _image_answer(call, snap.image_id, location=rotation > 0)


def _shelve(call: Call) -> Response:
    snap = image_actions.shelve(call.session, call.ctx, call.server_id, call.runtime)
    call.after_commit(call.runtime.conductor.shelve_instance, call.ctx, snap.instance_uuid,
                      snap.image_id)
    return _accepted()


def _shelve_offload(call: Call) -> Response:
    instance_uuid = image_actions.shelve_offload(call.session, call.ctx, call.server_id,
                                                 call.runtime)
    call.after_commit(call.runtime.conductor.shelve_offload_instance, call.ctx,
                      instance_uuid)
    return _accepted()


def _unshelve_args(call: Call) -> dict[str, Any]:
    """The zone and host an unshelve names, as its microversion allows them."""
    if call.args is None or not call.version.at_least("2.77"):
        return {}
    if not call.version.at_least("2.91"):
        args = _object("unshelve", call.args, {"availability_zone"}, {"availability_zone"})
        zone = args["availability_zone"]
        if not isinstance(zone, str) or not zone.strip() or len(zone) > 255:
            raise BadRequest(f"Invalid input for field/attribute availability_zone. Value: "
                             f"{zone}. {zone!r} is not a valid name")
        return {"zone": zone}
    args = _object("unshelve", call.args, {"availability_zone", "host"})
    out: dict[str, Any] = {}
    if "availability_zone" in args:
        zone = args["availability_zone"]
        if zone is not None and not isinstance(zone, str):
            raise BadRequest(f"Invalid input for field/attribute availability_zone. Value: "
                             f"{zone}. {zone!r} is not of type 'string', 'null'")
        out["zone"] = zone
    if "host" in args:
        host = args["host"]
        if not isinstance(host, str):
            raise BadRequest(f"Invalid input for field/attribute host. Value: {host}. "
                             f"{host!r} is not of type 'string'")
        out["host"] = host
    return out


def _unshelve_args_schema(version: Version) -> dict[str, Any]:
    if not version.at_least("2.77"):
        return ANY_ARGS
    if not version.at_least("2.91"):
        return args_schema({"availability_zone": {"type": "string", "minLength": 1,
                                                  "maxLength": 255}},
                           {"availability_zone"}, nullable=True)
    return args_schema({"availability_zone": {"type": ["string", "null"]},
                        "host": {"type": "string"}}, nullable=True)


def _unshelve(call: Call) -> Response:
    started = image_actions.unshelve(call.session, call.ctx, call.server_id, call.runtime,
                                     **_unshelve_args(call))
    call.after_commit(call.runtime.conductor.unshelve_instance, call.ctx,
                      started.instance_uuid, started.host)
    return _accepted()


def _restore(call: Call) -> Response:
    instance_uuid = image_actions.restore(call.session, call.ctx, call.server_id,
                                          call.runtime)
    call.after_commit(call.runtime.conductor.power_action, call.ctx, instance_uuid,
                      Action.RESTORE.value)
    return _accepted()


def _force_delete(call: Call) -> Response:
    deleting = image_actions.force_delete(call.session, call.ctx, call.server_id,
                                          call.runtime)
    hand_over_delete(call.after_commit, call.runtime, call.ctx, deleting)
    return _accepted()


def _resize(call: Call) -> Response:
    args = _object("resize", call.args, {"flavorRef", "OS-DCF:diskConfig"}, {"flavorRef"})
    ref = args["flavorRef"]
    if isinstance(ref, bool) or not isinstance(ref, str | int) or str(ref) == "":
        raise BadRequest(f"Invalid input for field/attribute flavorRef. Value: {ref}. "
                         f"{ref!r} is not of type 'string', 'integer'")
    disk = args.get("OS-DCF:diskConfig")
    if disk is not None and disk not in ("AUTO", "MANUAL"):
        raise BadRequest(f"Invalid input for field/attribute OS-DCF:diskConfig. Value: "
                         f"{disk}. {disk!r} is not one of ['AUTO', 'MANUAL']")
    move = server_actions.resize(call.session, call.ctx, call.server_id, str(ref),
                                 call.runtime, disk_config=disk)
    call.after_commit(call.runtime.conductor.migrate_server, call.ctx, move.instance_uuid,
                      move.migration_uuid)
    return _accepted()


def _finish_resize(action: Action, status: int) -> Callable[[Call], Response]:
    def run(call: Call) -> Response:
        _no_args(action.value, call.args)
        move = server_actions.finish_resize(call.session, call.ctx, call.server_id, action,
                                            call.runtime)
        method = (call.runtime.conductor.confirm_resize if action is Action.CONFIRM_RESIZE
                  else call.runtime.conductor.revert_resize)
        call.after_commit(method, call.ctx, move.instance_uuid, move.migration_uuid)
        return Response(status_code=status)

    return run


def _host_arg(args: dict[str, Any]) -> str | None:
    host = args.get("host")
    if host is not None and (not isinstance(host, str) or not host or len(host) > 255):
        raise BadRequest(f"Invalid input for field/attribute host. Value: {host}. "
                         "It must be a host name")
    return host


def _migrate_args_schema(version: Version) -> dict[str, Any]:
    if not version.at_least("2.56"):
        return NO_ARGS
    return args_schema({"host": {"type": ["string", "null"]}}, nullable=True)


def _migrate(call: Call) -> Response:
    if call.args is None:
        host = None
    elif call.version.at_least("2.56"):
        host = _host_arg(_object("migrate", call.args, {"host"}))
    else:
        _no_args("migrate", call.args)
        host = None
    move = server_actions.migrate(call.session, call.ctx, call.server_id, host, call.runtime)
    call.after_commit(call.runtime.conductor.migrate_server, call.ctx, move.instance_uuid,
                      move.migration_uuid)
    return _accepted()


def _live_args(call: Call) -> tuple[str | None, bool, bool]:
    version = call.version
    if version.at_least("2.25"):
        allowed = {"host", "block_migration"}
        if version.at_least("2.30") and not version.at_least("2.68"):
            allowed.add("force")
        args = _object("os-migrateLive", call.args, allowed, {"host", "block_migration"})
        block = args["block_migration"]
        if block != "auto" and not isinstance(block, bool):
            raise BadRequest(f"Invalid input for field/attribute block_migration. Value: "
                             f"{block}. {block!r} is not one of [True, False, 'auto']")
    else:
        args = _object("os-migrateLive", call.args,
                       {"host", "block_migration", "disk_over_commit"},
                       {"host", "block_migration", "disk_over_commit"})
        block = args["block_migration"]
        for key in ("block_migration", "disk_over_commit"):
            if not isinstance(args[key], bool):
                raise BadRequest(f"Invalid input for field/attribute {key}. Value: "
                                 f"{args[key]}. {args[key]!r} is not of type 'boolean'")
    force = args.get("force", False)
    if not isinstance(force, bool):
        raise BadRequest(f"Invalid input for field/attribute force. Value: {force}. "
                         f"{force!r} is not of type 'boolean'")
    # No shared storage here: "auto" means copying the disks along.
    return _host_arg(args), block in ("auto", True), force


def _live_args_schema(version: Version) -> dict[str, Any]:
    host = {"type": ["string", "null"]}
    if not version.at_least("2.25"):
        flag = {"type": "boolean"}
        return args_schema({"host": host, "block_migration": flag, "disk_over_commit": flag},
                           {"host", "block_migration", "disk_over_commit"})
    fields: dict[str, Any] = {"host": host, "block_migration": {"enum": [True, False, "auto"]}}
    if version.at_least("2.30") and not version.at_least("2.68"):
        fields["force"] = {"type": "boolean"}
    return args_schema(fields, {"host", "block_migration"})


def _live_migrate(call: Call) -> Response:
    host, block, force = _live_args(call)
    move = server_actions.live_migrate(call.session, call.ctx, call.server_id, host, block,
                                       force, call.runtime)
    call.after_commit(call.runtime.conductor.live_migrate_server, call.ctx,
                      move.instance_uuid, move.migration_uuid)
    return _accepted()


def _evacuate_args(call: Call) -> tuple[str | None, bool, str | None]:
    """(host, force, adminPass) from the body as each microversion shapes it."""
    version = call.version
    allowed = {"host", "adminPass"}
    required: set[str] = set()
    if not version.at_least("2.14"):
        allowed.add("onSharedStorage")
        required.add("onSharedStorage")
    if version.at_least("2.29") and not version.at_least("2.68"):
        allowed.add("force")
    args = _object("evacuate", call.args, allowed, required)
    for key in ("onSharedStorage", "force"):
        if key in args and not isinstance(args[key], bool):
            raise BadRequest(f"Invalid input for field/attribute {key}. Value: {args[key]}. "
                             f"{args[key]!r} is not of type 'boolean'")
    password = args.get("adminPass")
    if password is not None and (not isinstance(password, str) or len(password) > 255):
        raise BadRequest(f"Invalid input for field/attribute adminPass. Value: {password}. "
                         f"{password!r} is not of type 'string'")
    return _host_arg(args), bool(args.get("force", False)), password


def _evacuate_args_schema(version: Version) -> dict[str, Any]:
    fields: dict[str, Any] = {"host": {"type": ["string", "null"]},
                              "adminPass": {"type": ["string", "null"], "maxLength": 255}}
    required = set()
    if not version.at_least("2.14"):
        fields["onSharedStorage"] = {"type": "boolean"}
        required.add("onSharedStorage")
    if version.at_least("2.29") and not version.at_least("2.68"):
        fields["force"] = {"type": "boolean"}
    return args_schema(fields, required)


def _evacuate(call: Call) -> Response:
    host, force, password = _evacuate_args(call)
    move = server_actions.evacuate(call.session, call.ctx, call.server_id, host, force,
                                   call.runtime)
    # From 2.95 an evacuated server stays stopped on its new host, as upstream.
    call.after_commit(call.runtime.conductor.evacuate_server, call.ctx, move.instance_uuid,
                      move.migration_uuid, not call.version.at_least("2.95"))
    if call.version.at_least("2.14"):
        return Response(status_code=200)
    return JSONResponse({"adminPass": password or secrets.token_urlsafe(9)})


# Power actions without arguments: one handler each, straight from the action table.
_SIMPLE_POWER = {key: ServerAction(_simple_power(rule.starts[0], key), NO_ARGS)
                 for key, rule in ACTIONS.items()
                 if len(rule.starts) == 1 and rule.starts[0] in POWER_RESULTS}
# An image's metadata as upstream's schema allows it: keys of 1-255 of these characters,
# string values of at most 255.
_IMAGE_METADATA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255}}}
_IMAGE_ARGS: dict[str, Any] = {"name": {}, "metadata": _IMAGE_METADATA}

HANDLERS: dict[str, ServerAction] = {
    **_SIMPLE_POWER,
    "reboot": ServerAction(_reboot, args_schema({"type": {"type": "string"}}, {"type"})),
    "os-resetState": ServerAction(_reset_state, args_schema(
        {"state": {"enum": ["active", "error"]}}, {"state"})),
    "lock": ServerAction(_lock(True), LOCK_ARGS),
    "injectNetworkInfo": ServerAction(_inject_network_info, NO_ARGS),
    "unlock": ServerAction(_lock(False), NO_ARGS),
    "os-getConsoleOutput": ServerAction(_console, args_schema(
        {"length": {"type": ["integer", "string", "null"]}}, nullable=True)),
    "createImage": ServerAction(_create_image, args_schema(_IMAGE_ARGS, {"name"})),
    "createBackup": ServerAction(_create_backup, args_schema(
        {**_IMAGE_ARGS, "backup_type": {}, "rotation": {}},
        {"name", "backup_type", "rotation"})),
    "shelve": ServerAction(_shelve, ANY_ARGS),
    "shelveOffload": ServerAction(_shelve_offload, ANY_ARGS),
    "unshelve": ServerAction(_unshelve, _unshelve_args_schema),
    "restore": ServerAction(_restore, ANY_ARGS),
    "forceDelete": ServerAction(_force_delete, ANY_ARGS),
    "resize": ServerAction(_resize, args_schema(
        {"flavorRef": {"type": ["string", "integer"]},
         "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL", None]}}, {"flavorRef"})),
    "confirmResize": ServerAction(_finish_resize(Action.CONFIRM_RESIZE, 204), NO_ARGS),
    "revertResize": ServerAction(_finish_resize(Action.REVERT_RESIZE, ACCEPTED), NO_ARGS),
    "migrate": ServerAction(_migrate, _migrate_args_schema),
    "os-migrateLive": ServerAction(_live_migrate, _live_args_schema),
    "evacuate": ServerAction(_evacuate, _evacuate_args_schema),
}

# Actions on the server's own host (rebuild, rescue, ...); that module builds on ``Call``.
from compute_api.api.host_actions import HANDLERS as _HOST_HANDLERS  # noqa: E402

HANDLERS.update(_HOST_HANDLERS)
# Security groups and floating IPs of the server's ports.
from compute_api.api.server_network_actions import (  # noqa: E402
    HANDLERS as _NETWORK_HANDLERS,
)

HANDLERS.update(_NETWORK_HANDLERS)


# Actions upstream removed (nova-network's): 410 Gone, as upstream answers.
REMOVED_ACTIONS = frozenset({"resetNetwork"})


def server_action(server_id: str, body: BodyDep, request: Request, ctx: ContextDep,
                  session: SessionDep, runtime: RuntimeDep, version: VersionDep,
                  after_commit: AfterCommitDep) -> Response:
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: exactly one action is expected")
    (name, args), = body.items()
    action = HANDLERS.get(name)
    if name in REMOVED_ACTIONS:
        return fault_response(410, GONE_MESSAGE)
    if action is None:
        # Upstream answers an action it does not know with 400, not 404.
        raise BadRequest(f"There is no such action: {name}")
    return action.run(Call(server_id, args, ctx, session, runtime, version, request,
                        after_commit))


# The action route's body: each served action's policy rule and argument schema.
ACTION_BODIES = {key: ActionBody(ACTIONS[key].name, action.args)
                 for key, action in HANDLERS.items()}


ROUTES: list[Route] = [
    Route("POST", "/v2.1/servers/{server_id}/action", server_action, BY_ACTION,
          actions=ACTION_BODIES),
]
