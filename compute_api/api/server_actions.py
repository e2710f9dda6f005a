"""POST /servers/{id}/action: power, console, lock, createImage, resize and migrations."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.requests import Request

from common.context import RequestContext
from common.errors import BadRequest
from common.states import POWER_RESULTS, Action
from compute_api import server_actions
from compute_api.api.deps import (
    AfterCommit,
    AfterCommitDep,
    BodyDep,
    ContextDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.errors import fault_response
from compute_api.api.microversion import Version
from compute_api.api.removed import GONE_MESSAGE
from compute_api.policies import ACTIONS
from compute_api.runtime import Runtime

router = APIRouter(prefix="/v2.1/servers/{server_id}")


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


ACCEPTED = 202


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


def _lock(locked: bool) -> Callable[[Call], Response]:
    def run(call: Call) -> Response:
        if locked and call.version.at_least("2.73") and call.args is not None:
            reason = _object("lock", call.args, {"locked_reason"}).get("locked_reason")
            if reason is not None and (not isinstance(reason, str) or len(reason) > 255):
                raise BadRequest("Invalid input for field/attribute locked_reason.")
        else:
            _no_args("lock" if locked else "unlock", call.args)
        server_actions.set_lock(call.session, call.ctx, call.server_id, locked)
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


def _create_image(call: Call) -> Response:
    args = _object("createImage", call.args, {"name", "metadata"}, {"name"})
    snap = server_actions.create_image(call.session, call.ctx, call.server_id, args["name"],
                                       args.get("metadata"), call.runtime)
    call.after_commit(call.runtime.conductor.snapshot_instance, call.ctx, snap.instance_uuid,
                      snap.image_id)
    if call.version.at_least("2.45"):
        return JSONResponse({"image_id": str(snap.image_id)}, status_code=ACCEPTED)
    image_root = call.runtime.catalog.get("image", "/image")
    if image_root.startswith("/"):
        image_root = str(call.request.base_url).rstrip("/") + image_root
    return Response(status_code=ACCEPTED,
                    headers={"Location": f"{image_root}/v2/images/{snap.image_id}"})


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
                                 call.runtime)
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
_SIMPLE_POWER = {key: _simple_power(rule.starts[0], key) for key, rule in ACTIONS.items()
                 if len(rule.starts) == 1 and rule.starts[0] in POWER_RESULTS}

HANDLERS: dict[str, Callable[[Call], Response]] = {
    **_SIMPLE_POWER,
    "reboot": _reboot,
    "os-resetState": _reset_state,
    "lock": _lock(True),
    "unlock": _lock(False),
    "os-getConsoleOutput": _console,
    "createImage": _create_image,
    "resize": _resize,
    "confirmResize": _finish_resize(Action.CONFIRM_RESIZE, 204),
    "revertResize": _finish_resize(Action.REVERT_RESIZE, ACCEPTED),
    "migrate": _migrate,
    "os-migrateLive": _live_migrate,
    "evacuate": _evacuate,
}


# Actions upstream removed (nova-network's): 410 Gone, as upstream answers.
REMOVED_ACTIONS = frozenset({"resetNetwork"})


@router.post("/action")
def server_action(server_id: str, body: BodyDep, request: Request, ctx: ContextDep,
                  session: SessionDep, runtime: RuntimeDep, version: VersionDep,
                  after_commit: AfterCommitDep) -> Response:
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: exactly one action is expected")
    (name, args), = body.items()
    handler = HANDLERS.get(name)
    if name in REMOVED_ACTIONS:
        return fault_response(410, GONE_MESSAGE)
    if handler is None:
        # Upstream answers an action it does not know with 400, not 404.
        raise BadRequest(f"There is no such action: {name}")
    return handler(Call(server_id, args, ctx, session, runtime, version, request,
                        after_commit))
